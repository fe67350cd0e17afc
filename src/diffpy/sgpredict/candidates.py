"""From group probabilities to the candidates a scientist reads.

:func:`filter_composition` drops (or marks) the groups whose Wyckoff
multiplicities cannot hold the sample's composition,
:func:`rank_candidates` orders the rest into :class:`Candidate` records
with their families (:mod:`diffpy.sgpredict.families`), and
:func:`crystal_system_probabilities` sums the probabilities per crystal
system.  All three are pure functions of numpy arrays.
"""

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.families import group_families
from diffpy.sgpredict.results import Candidate

__all__ = [
    "filter_composition",
    "rank_candidates",
    "crystal_system_probabilities",
]


def filter_composition(probs, labels, possible, head, top, options):
    """Zero (or mark) the groups that cannot hold the composition.

    Parameters
    ----------
    probs : ndarray
        Probabilities in the order of ``labels``.
    labels : list of int
        Group numbers.
    possible : ndarray of bool
        Which groups can hold the composition
        (:func:`diffpy.sgpredict.wyckoff.composition_allowed`).
    head : str
        Start of the note, e.g. ``"composition Ni (given)"``.
    top : int
        Number of candidates shown (the note names those dropped).
    options : dict
        ``zmax`` and ``keep_impossible``.

    Returns
    -------
    probs : ndarray
        Renormalised over the possible groups unless
        ``keep_impossible``.
    possible : ndarray of bool
        All true when no group can hold the composition (then nothing
        is dropped and the note says so).
    impossible : list of int
        The groups ruled out.
    notes : list of str
        What the filter did, in words.

    Examples
    --------
    >>> p, ok, gone, notes = filter_composition(
    ...     numpy.array([0.5, 0.3, 0.2]), [225, 221, 230],
    ...     numpy.array([True, True, False]), "composition Ni (given)", 2,
    ...     {"zmax": 8, "keep_impossible": False})
    >>> p.round(3).tolist(), gone
    ([0.625, 0.375, 0.0], [230])
    """
    zmax = options["zmax"]
    possible = numpy.asarray(possible, bool)
    impossible = [n for n, ok in zip(labels, possible) if not ok]
    if not possible.any():
        note = (
            f"{head}: no group of the 45 holds it for Z <= {zmax}; "
            "check the composition (nothing dropped)"
        )
        return probs, numpy.ones(len(labels), bool), [], [note]
    if not impossible:
        note = f"{head}: every group can hold it for Z <= {zmax}"
        return probs, possible, [], [note]
    kept = options["keep_impossible"]
    top_gone = [
        spacegroups.get(labels[k]).symbol
        for k in numpy.argsort(probs)[::-1][:top]
        if not possible[k]
    ]
    tail = (
        f", {len(top_gone)} of the top {top} before the filter "
        f"({', '.join(top_gone)})"
        if top_gone
        else ""
    )
    groups = "group" if len(impossible) == 1 else "groups"
    verb = "was" if len(impossible) == 1 else "were"
    note = (
        f"{head}: {len(impossible)} {groups} cannot hold it for Z <= "
        f"{zmax} and {verb} {'marked x' if kept else 'dropped'}{tail}"
    )
    if not kept:
        probs = numpy.where(possible, probs, 0.0)
        probs = probs / probs.sum()
    return probs, possible, impossible, [note]


def rank_candidates(probs, labels, top, only=None, possible=None):
    """The ``top`` most probable groups as candidates, with families.

    Parameters
    ----------
    probs : ndarray
        Probabilities in the order of ``labels``.
    labels : list of int
        Group numbers.
    top : int
        Number of candidates.
    only : ndarray of bool, optional
        Rank only these groups.
    possible : ndarray of bool, optional
        Recorded in each candidate (``possible=False`` is shown marked).

    Returns
    -------
    candidates : list of Candidate
    families : list of Family

    Examples
    --------
    >>> cands, fams = rank_candidates(numpy.array([0.2, 0.7, 0.1]),
    ...                               [221, 225, 139], 2)
    >>> [c.symbol for c in cands], fams[0].head
    (['Fm-3m', 'Pm-3m'], 225)
    """
    order = numpy.argsort(probs)[::-1]
    if only is not None:
        order = [k for k in order if only[k]]
    order = list(order)[:top]
    if possible is None:
        possible = numpy.ones(len(labels), bool)
    info = [spacegroups.get(labels[k]) for k in order]
    fams = group_families([i.number for i in info], [probs[k] for k in order])
    head_of = {n: f.head for f in fams for n in f.members}
    cands = [
        Candidate(
            rank=i + 1,
            number=g.number,
            symbol=g.symbol,
            crystal_system=g.crystal_system,
            probability=float(probs[k]),
            family=head_of[g.number],
            possible=bool(possible[k]),
        )
        for i, (k, g) in enumerate(zip(order, info))
    ]
    return cands, fams


def crystal_system_probabilities(probs, labels):
    """Probability of each crystal system: the sum over its groups.

    Examples
    --------
    >>> p = crystal_system_probabilities([0.6, 0.4], [225, 14])
    >>> p["cubic"], p["monoclinic"], p["triclinic"]
    (0.6, 0.4, 0.0)
    """
    systems = {s: 0.0 for s in spacegroups.CRYSTAL_SYSTEMS}
    for number, p in zip(labels, probs):
        systems[spacegroups.get(number).crystal_system] += float(p)
    return systems
