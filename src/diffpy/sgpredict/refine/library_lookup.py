"""The bundled structure-type library of the refinement, and its search.

``data/refine_prototypes/prototypes.json`` holds at least one real
structure type for each of the 45 groups (asymmetric unit, lattice,
source and licence).  :func:`prototype_starts` returns the entries of a
group that fit a composition, with their elements substituted.

This module is the only place that reads or searches the library (the
structure-library merge replaces its insides, not its names).

Examples
--------
>>> from diffpy.sgpredict.refine.library_lookup import prototype_starts
>>> [s.name for s in prototype_starts(225, {"Mg": 1.0, "O": 1.0})]
['AB_cF8_225_a_b']
"""

import functools
import json
from importlib import resources

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.substitution import element_mapping

__all__ = ["load_prototypes", "prototype_structure", "prototype_starts"]


@functools.lru_cache(maxsize=1)
def load_prototypes():
    """Return the bundled prototype library.

    Returns
    -------
    dict
        With keys ``sources`` and ``prototypes`` (list of entries with
        ``id``, ``name``, ``number``, ``formula``, ``lattice``,
        ``sites``, ``source``, ``licence``).

    Examples
    --------
    >>> lib = load_prototypes()
    >>> len({p["number"] for p in lib["prototypes"]})
    45
    """
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data/refine_prototypes/prototypes.json"
    )
    return json.loads(ref.read_text())


def prototype_structure(entry, mapping=None, uiso=DEFAULT_UISO):
    """The full cell of a library entry, elements renamed by ``mapping``.

    Examples
    --------
    >>> entry = load_prototypes()["prototypes"][0]
    >>> len(prototype_structure(entry)) >= len(entry["sites"])
    True
    """
    sites = [
        [mapping.get(s[0], s[0]) if mapping else s[0], *s[1:]]
        for s in entry["sites"]
    ]
    return settings.expand(entry["lattice"], sites, entry["number"], uiso)


def prototype_starts(number, comp, uiso=DEFAULT_UISO, limit=2):
    """Library entries of a group that fit the composition, as starts.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : dict or None
        Element -> amount.  Entries with the same integer ratio are
        used with their elements substituted; without a composition the
        entries keep their own elements (the note says so).
    uiso : float
        Isotropic ADP of every atom (A^2).
    limit : int
        Most entries returned, in library order (the preferred first).

    Returns
    -------
    list of StartingStructure
        ``source`` is ``"prototype"``; unscaled.

    Examples
    --------
    >>> [s.notes[0] for s in prototype_starts(227, None, limit=1)]
    ['prototype A_cF8_227_a (diamond); elements C kept']
    """
    info = spacegroups.get(number)
    entries = [
        e for e in load_prototypes()["prototypes"] if e["number"] == number
    ]
    out = []
    for entry in entries:
        mapping = None
        if comp:
            mapping = element_mapping(entry["formula"], comp)
            if mapping is None:
                continue
        stru = prototype_structure(entry, mapping, uiso)
        label = entry["name"] or entry["id"]
        if mapping and any(k != v for k, v in mapping.items()):
            subst = ", ".join(f"{k}->{v}" for k, v in mapping.items())
            note = f"prototype {entry['id']} ({label}) with {subst}"
        else:
            note = f"prototype {entry['id']} ({label})"
        if not comp:
            elements = sorted({a.element for a in stru})
            note += f"; elements {', '.join(elements)} kept"
        out.append(
            StartingStructure(
                number,
                info.symbol,
                stru,
                "prototype",
                entry["id"],
                entry["licence"],
                notes=[note],
            )
        )
        if len(out) >= limit:
            break
    return out
