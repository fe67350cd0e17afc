"""The ranking rule: how fitted candidates are ordered.

Each fitted candidate gets the BIC-like score of :func:`combined_score`
(fit, free parameters and the network's probability, or the ICSD
frequency when there is none: :func:`icsd_prior`) plus the density
prior of its refined structure (:func:`density_penalty`); then the
family rule (:func:`family_rule`) ranks a subgroup below its best
supergroup of the same density unless Hamilton's R-ratio test
(:func:`hamilton_significant`) says the data demand the lower
symmetry and the subgroup's refined structure is distorted from the
supergroup's (:func:`keeps_head_symmetry`).  :func:`rank_rows`
applies both and numbers the rows; when no candidate fits better than
:data:`MISFIT_RW` it ranks them by probability alone.

Examples
--------
>>> from diffpy.sgpredict.refine.score import combined_score
>>> round(combined_score(0.05, 6, 0.9, 147.2), 1)
-851.8
"""

import math
from collections import Counter

from diffpy.structure import Lattice
from scipy.stats import f as fdist

from diffpy.sgpredict import spacegroups, structures
from diffpy.sgpredict.chemistry import (
    element_symbol,
    expected_volume,
    volume_spread,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine.wyckoff_model import (
    cell_base,
    shortest_distance,
)

__all__ = [
    "independent_points",
    "combined_score",
    "volume_per_atom",
    "density_penalty",
    "SAME_DENSITY",
    "OVERLAP",
    "structure_shortest_distance",
    "HAMILTON_ALPHA",
    "hamilton_significant",
    "SAME_SYMMETRY_TOL",
    "keeps_head_symmetry",
    "iso_fit",
    "family_rule",
    "icsd_prior",
    "POOR_FIT_RW",
    "MISFIT_RW",
    "poor_fit_note",
    "rank_rows",
]


def independent_points(rmin, rmax, qmax):
    """Number of independent points of a PDF fit range.

    .. math::

        n_{eff} = \\frac{(r_{max} - r_{min})\\, Q_{max}}{\\pi}

    Examples
    --------
    >>> round(independent_points(1.5, 20.0, 25.0), 1)
    147.2
    """
    return max((float(rmax) - float(rmin)) * float(qmax) / math.pi, 1.0)


def combined_score(rw, nfree, probability, n_eff):
    """Return the BIC-like score of a fitted candidate (lower is better).

    .. math::

        S = n_{eff} \\ln R_w^2 + k \\ln n_{eff} - 2 \\ln p

    with :math:`k` the number of refined parameters, :math:`n_{eff}`
    the independent points (:func:`independent_points`) and :math:`p`
    the network's probability of the group (the term is left out when
    no probability is known; :math:`p \\ge 10^{-4}`).  For a Gaussian
    misfit :math:`n_{eff} \\ln R_w^2` is, up to a constant, minus twice
    the log-likelihood, so :math:`S` is the Bayesian information
    criterion with the network output as prior.  A subgroup, which has
    more free parameters, wins over its supergroup only when it lowers
    :math:`R_w` by more than a factor
    :math:`n_{eff}^{-\\Delta k / 2 n_{eff}}` (about 1.7 % per extra
    parameter for 147 points) or the network prefers it.

    Examples
    --------
    >>> a = combined_score(0.100, 6, None, 147.0)
    >>> b = combined_score(0.099, 8, None, 147.0)   # 1 % better, +2
    >>> c = combined_score(0.080, 8, None, 147.0)   # 20 % better, +2
    >>> a < b, c < a
    (True, True)
    """
    if rw is None or not rw > 0 or nfree is None:
        return None
    value = n_eff * math.log(rw * rw) + nfree * math.log(n_eff)
    if probability is not None:
        value -= 2.0 * math.log(max(float(probability), 1e-4))
    return value


def volume_per_atom(structure):
    """Cell volume per atom (A^3) of a structure in plain-data form
    (``lattice`` a, b, c, alpha, beta, gamma and ``atoms`` rows).

    Examples
    --------
    >>> ni = {"lattice": [3.52, 3.52, 3.52, 90, 90, 90],
    ...       "atoms": [["Ni", 0, 0, 0, 0.005]] * 4}
    >>> round(volume_per_atom(ni), 2)
    10.9
    """
    natoms = len(structure["atoms"])
    if not natoms:
        return None
    return float(Lattice(*structure["lattice"]).volume) / natoms


def density_penalty(structure):
    """The density prior of a refined structure: minus twice its log.

    A PDF fitted with a free scale factor cannot tell a structure from
    one with twice the atoms in the same cell when the extra atoms
    repeat its pair distances (CdSe in P6_3/mmc with Cd and Se on 4f:
    Rw 0.168 against wurtzite's 0.156), but chemistry can: cell volumes
    follow from atomic volumes within a few per cent.  With
    :math:`V` the cell volume, :math:`V_e` the volume its atoms fill
    (:func:`~diffpy.sgpredict.chemistry.expected_volume`) and
    :math:`\\sigma` the spread of :math:`\\ln(V/V_e)` over real
    structures (:func:`~diffpy.sgpredict.chemistry.volume_spread`, about
    0.12), the log-normal prior gives

    .. math::

        P_V = \\left(\\frac{\\ln(V / V_e)}{\\sigma}\\right)^2,

    added to :func:`combined_score`: 0.4 for wurtzite CdSe, 35 for the
    doubled model.  Candidates of one material with the same density
    get the same penalty, so it orders only models of different
    density.

    Returns
    -------
    penalty : float
        0 when an element has no atomic volume.
    ratio : float or None
        :math:`V / V_e`.

    Examples
    --------
    >>> cdse = {"lattice": [4.30, 4.30, 7.01, 90, 90, 120],
    ...         "atoms": [["Cd", 0, 0, 0, 0.01], ["Se", 0, 0, 0, 0.01]] * 2}
    >>> penalty, ratio = density_penalty(cdse)
    >>> round(ratio, 2), penalty < 1
    (1.07, True)
    >>> doubled = dict(cdse, atoms=cdse["atoms"] * 2)
    >>> density_penalty(doubled)[0] > 25
    True
    """
    counts = Counter(element_symbol(a[0]) for a in structure["atoms"])
    expected = expected_volume(dict(counts)) if counts else None
    if not expected:
        return 0.0, None
    volume = float(Lattice(*structure["lattice"]).volume)
    ratio = volume / expected
    return (math.log(ratio) / volume_spread()) ** 2, ratio


#: Atoms closer than this (A) overlap: the fit is no structure (the
#: shortest real distance, H-H in H2, is 0.74 A).
OVERLAP = 0.5


def structure_shortest_distance(structure):
    """Shortest distance (A) between two atoms of a structure in
    plain-data form (atoms on one spot: 0).

    Examples
    --------
    >>> nacl = {"lattice": [5.64, 5.64, 5.64, 90, 90, 90],
    ...         "atoms": [["Na", 0, 0, 0, 0.01], ["Cl", 0.5, 0, 0, 0.01]]}
    >>> structure_shortest_distance(nacl)
    2.82
    """
    frac = [a[1:4] for a in structure["atoms"]]
    return shortest_distance(cell_base(structure["lattice"]), frac)


#: Two fits are of the same structure for the family rule only when
#: their volumes per atom agree within this relative difference.
SAME_DENSITY = 0.1


#: Significance level of Hamilton's test in the family rule.  Residuals
#: of measured PDFs are dominated by correlated model error, so the
#: nominal n_eff overstates the independent information; at 1e-6 the
#: true group ranks first for 4 of 5 measured materials (Ni, NaCl, Si,
#: (Ba,K)(Zn,Mn)2As2; not rutile), at 0.01 for 2 of 5 (same fits).
HAMILTON_ALPHA = 1e-6


def hamilton_significant(
    rw_head, rw_sub, k_head, k_sub, n_eff, alpha=HAMILTON_ALPHA
):
    """Hamilton's R-ratio test: does the subgroup fit significantly better?

    .. math::

        \\frac{R_{w,head}}{R_{w,sub}} > \\sqrt{1 + \\frac{b}{n_{eff} - k_{sub}}
            F_{b,\\,n_{eff} - k_{sub},\\,\\alpha}},
        \\qquad b = k_{sub} - k_{head}

    (Hamilton, Acta Cryst. 18, 502, 1965).

    Examples
    --------
    >>> hamilton_significant(0.0218, 0.0214, 6, 7, 147.2)  # fcc Ni
    False
    >>> hamilton_significant(0.20, 0.10, 6, 8, 147.2)
    True
    """
    b = int(k_sub) - int(k_head)
    dof = float(n_eff) - float(k_sub)
    if b <= 0 or dof <= 1:
        return rw_sub < rw_head
    crit = math.sqrt(1.0 + b / dof * float(fdist.ppf(1.0 - alpha, b, dof)))
    return rw_head / rw_sub > crit


#: A subgroup fit whose refined structure has its head's symmetry within
#: this tolerance (A, spglib's; the smallest with which
#: :func:`~diffpy.sgpredict.refine.subgroups.to_supergroup` symmetrizes)
#: has found no distortion, whatever its Rw (:func:`keeps_head_symmetry`).
SAME_SYMMETRY_TOL = 0.02


def keeps_head_symmetry(structure, number, head, tol=SAME_SYMMETRY_TOL):
    """Whether a structure (plain-data form, as :func:`volume_per_atom`
    takes it) refined in group ``number`` has the symmetry of its
    supergroup ``head`` within ``tol`` (A).

    spglib's group of the structure at ``tol`` must be ``head`` or a
    supergroup of it among the 45 groups.  Such a subgroup fit found no
    distortion: its lower Rw comes from what its lower symmetry frees
    besides positions, such as separate ADPs for atoms that the head
    holds on one site (measured Ni, neutrons to 20 A: P-3m1 from the
    Pm-3m fit splits the fcc atoms over three sites and lowers the
    isotropic Rw from 0.054 to 0.047, which Hamilton's test calls
    significant, with every atom within 0.02 A of fcc).

    Examples
    --------
    >>> ni = {"lattice": [2.49, 2.49, 3.52, 90, 90, 90],   # I4/mmm
    ...       "atoms": [["Ni", 0, 0, 0, 0.005], ["Ni", .5, .5, .5, 0.005]]}
    >>> keeps_head_symmetry(ni, 139, 225)
    True
    >>> ni["lattice"][2] = 3.52 * 1.05
    >>> keeps_head_symmetry(ni, 139, 225)
    False
    """
    atoms = structure["atoms"]
    found = structures.spglib_group(
        Lattice(*structure["lattice"]).base,
        [a[1:4] for a in atoms],
        [element_symbol(a[0]) for a in atoms],
        tol,
    )
    if found == int(head):
        return True
    try:
        return found != int(number) and spacegroups.is_subgroup(head, found)
    except (KeyError, ValueError, InputError):  # not one of the 45
        return False


def iso_fit(row):
    """Rw and free parameters of a fitted row's isotropic-ADP fit.

    When a fit kept anisotropic ADPs (``refine --adp``) the row holds
    its isotropic fit as ``rw_iso`` and ``nfree_iso``.  The family rule
    judges symmetry on these, with the same displacement model for the
    head and the subgroup: anisotropic ADPs absorb correlated motion
    and model error, and a subgroup's site symmetries allow more of
    them than its head's, which is no evidence of lower symmetry.

    Examples
    --------
    >>> iso_fit({"rw": 0.11, "nfree": 13, "rw_iso": 0.13, "nfree_iso": 9})
    (0.13, 9)
    >>> iso_fit({"rw": 0.11, "nfree": 9})
    (0.11, 9)
    """
    rw = row.get("rw_iso")
    if rw is None:
        return row["rw"], row["nfree"]
    return rw, row["nfree_iso"]


def family_rule(rows, n_eff):
    """A subgroup ranks below its supergroup (the family head) unless
    Hamilton's test says the data demand the lower symmetry and its
    refined structure lacks the head's symmetry
    (:func:`keeps_head_symmetry`).

    Heads and the test use the isotropic-ADP fits (:func:`iso_fit`).
    A head must be a fit of the same structure in the higher symmetry:
    a supergroup fit whose volume per atom differs by more than
    :data:`SAME_DENSITY` (another Z in a cell of the same size) is not
    the subgroup's head.  The rows (dicts with ``number``, ``symbol``,
    ``rw``, ``nfree``, ``score``, ``notes``, optionally ``rw_iso``,
    ``nfree_iso`` and ``structure``) are changed in place: a subgroup
    without a
    significant gain gets a score just above its head's, its
    ``family_head`` and a note; one with a significant gain a note.

    Examples
    --------
    >>> rows = [{"number": n, "symbol": s, "rw": rw, "nfree": k,
    ...          "notes": [], "score": combined_score(rw, k, None, 147.2)}
    ...         for n, s, rw, k in [(225, "Fm-3m", 0.0218, 6),
    ...                             (139, "I4/mmm", 0.0214, 7)]]
    >>> family_rule(rows, 147.2)
    >>> rows[1]["family_head"], rows[1]["score"] > rows[0]["score"]
    (225, True)
    """
    fitted = [r for r in rows if r.get("score") is not None]
    # fewest parameters first: a head's score is final before its
    # subgroups are ranked after it (Fm-3m, then R-3m, then P-3m1)
    for row in sorted(fitted, key=lambda r: iso_fit(r)[1]):
        heads = [
            g
            for g in fitted
            if g is not row
            and iso_fit(g)[1] < iso_fit(row)[1]
            and spacegroups.is_subgroup(row["number"], g["number"])
            and _same_density(g, row)
        ]
        if not heads:
            continue
        head = min(heads, key=lambda g: g["score"])
        (rw_head, k_head), (rw_sub, k_sub) = iso_fit(head), iso_fit(row)
        words = (
            f"(isotropic fits: Rw {rw_head:.4f} -> {rw_sub:.4f}, "
            f"{k_head} -> {k_sub} parameters)"
        )
        if not hamilton_significant(rw_head, rw_sub, k_head, k_sub, n_eff):
            words = (
                f"Hamilton test: no significant gain over {head['symbol']} "
                f"{words}; ranked after it"
            )
        elif row.get("structure") is not None and keeps_head_symmetry(
            row["structure"], row["number"], head["number"]
        ):
            words = (
                f"its structure has the symmetry of {head['symbol']} "
                f"within {SAME_SYMMETRY_TOL:g} A: no distortion found, "
                f"although Hamilton's test calls the gain significant "
                f"{words}; ranked after it"
            )
        else:
            row["notes"] = row["notes"] + [
                f"Hamilton test: fits significantly better than "
                f"{head['symbol']} (level {HAMILTON_ALPHA:g})"
            ]
            continue
        if row["score"] < head["score"]:
            row["score"] = head["score"] + 0.01
        row["family_head"] = head["number"]
        row["notes"] = row["notes"] + [words]


def _same_density(a, b):
    """Whether two fitted rows have volumes per atom within
    :data:`SAME_DENSITY` (true when either lacks a structure)."""
    va = volume_per_atom(a["structure"]) if a.get("structure") else None
    vb = volume_per_atom(b["structure"]) if b.get("structure") else None
    if not va or not vb:
        return True
    return abs(math.log(va / vb)) < math.log1p(SAME_DENSITY)


def icsd_prior(candidates):
    """ICSD frequencies of the candidates, normalised over them: the
    stand-in for the network's probability when none is given.

    Returns
    -------
    dict
        Group number -> prior; empty when any candidate has a
        probability.

    Examples
    --------
    >>> from diffpy.sgpredict.results import Candidate
    >>> p = icsd_prior([Candidate.for_group(225), Candidate.for_group(221)])
    >>> round(sum(p.values()), 6), p[225] > p[221]
    (1.0, True)
    """
    if any(c.probability is not None for c in candidates):
        return {}
    freq = spacegroups.icsd_prior()
    values = {
        c.number: float(freq[spacegroups.index_of(c.number)])
        for c in candidates
    }
    total = sum(values.values()) or 1.0
    return {k: v / total for k, v in values.items()}


#: Rw above which even the best candidate is not taken as a solved
#: structure.  Solved measured single-phase PDFs fit at 0.02-0.17 here
#: (Ni, Si, NaCl, Ag, rutile, CdSe, the pnictide), computed ones at the
#: noise level; fits of wrong structures end at 0.4-0.9.
POOR_FIT_RW = 0.3


#: Rw above which no fit is evidence for its group: when even the best
#: candidate fits worse, the rows are ranked by probability alone.
#: Fits of wrong structures differ in Rw by chance (how far the search
#: got), and the likelihood term :math:`n_{eff} \ln R_w^2` turns those
#: differences (0.6 against 0.7: 45 for 147 points) into orders that
#: the probability (:math:`-2 \ln p`, 2-6) cannot move.  It was 0.5,
#: so that partial solutions between it and :data:`POOR_FIT_RW` (a
#: bulk model of nanoparticle data, a structure with some atoms
#: misplaced) still counted; re-ranking the stored rows of the
#: synthetic refinement benchmark (``benchmarks/refine_synthetic.py``)
#: with 0.3 put the true group first for 24 of the 30 bulk PDFs instead
#: of 23 (Mn5O8 gained) and for 15 of the same 30 as 3 nm particles
#: instead of 13 (Mn5O8, LiMnF4 and ReS2 gained, Ti3O5 in C2/c lost),
#: and changed none of the measured PDFs of
#: ``benchmarks/refine_targets.py``.
MISFIT_RW = POOR_FIT_RW


def poor_fit_note(rows):
    """The warning for a ranking whose best fit is still poor, or None.

    Examples
    --------
    >>> poor_fit_note([{"rw": 0.05}, {"rw": 0.7}]) is None
    True
    >>> poor_fit_note([{"rw": 0.62}, {"rw": None}])[:38]
    'no candidate fits well (best Rw 0.620 '
    """
    rws = [r["rw"] for r in rows if r.get("rw") is not None]
    if not rws or min(rws) <= POOR_FIT_RW:
        return None
    # MISFIT_RW equals POOR_FIT_RW: a poor ranking is one by probability
    return (
        f"no candidate fits well (best Rw {min(rws):.3f} > "
        f"{POOR_FIT_RW:g}): the rows are ranked by probability alone; "
        "give a structure (--cif, --library), more --enumerate time, or "
        "check that the data are one crystalline phase"
    )


def rank_rows(rows, candidates, n_eff):
    """Score the rows, apply the family rule, sort and number them.

    Parameters
    ----------
    rows : list of dict
        One per candidate, with ``number``, ``symbol``, ``probability``,
        ``rw``, ``nfree``, ``notes``; changed in place (``score``,
        ``n_eff``, ``rank``).
    candidates : list of diffpy.sgpredict.results.Candidate
        For the prior when no probability is given.
    n_eff : float
        Independent points of the fit range.

    Returns
    -------
    list of dict
        The rows, best score first, unfitted rows and fits with
        overlapping atoms last; when even the best Rw exceeds
        :data:`MISFIT_RW` (:data:`POOR_FIT_RW`) most probable first
        instead (fits with overlapping atoms among them), and the first
        row's notes end with :func:`poor_fit_note`'s warning.

    Examples
    --------
    >>> rows = [{"number": 221, "symbol": "Pm-3m", "probability": None,
    ...          "rw": 0.2, "nfree": 7, "notes": []},
    ...         {"number": 225, "symbol": "Fm-3m", "probability": None,
    ...          "rw": 0.05, "nfree": 6, "notes": []}]
    >>> [r["number"] for r in rank_rows(rows, [], 147.2)]
    [225, 221]
    """
    prior = icsd_prior(candidates)
    for row in rows:
        prob = row["probability"]
        if prob is None:
            prob = prior.get(row["number"])
        row["score"] = combined_score(row["rw"], row["nfree"], prob, n_eff)
        row["n_eff"] = n_eff
        if row["score"] is not None and row.get("structure"):
            dmin = structure_shortest_distance(row["structure"])
            if dmin < OVERLAP:
                row["score"] = None
                row["status"] = "overlap"
                row["notes"] = row["notes"] + [
                    f"atoms {dmin:.2f} A apart overlap: the fit is no "
                    "structure and is ranked last"
                ]
                continue
            penalty, ratio = density_penalty(row["structure"])
            row["score"] += penalty
            row["density_penalty"] = penalty
            if penalty > 9.0:
                row["notes"] = row["notes"] + [
                    f"density: the cell volume is {ratio:.2f} times what "
                    "its atoms fill (atomic volumes); score +"
                    f"{penalty:.1f}"
                ]
    family_rule(rows, n_eff)
    rws = [r["rw"] for r in rows if r.get("rw") is not None]
    misfits = bool(rws) and min(rws) > MISFIT_RW  # as poor_fit_note says

    def order(row):
        prob = row["probability"]
        if prob is None:
            prob = prior.get(row["number"], 0.0)
        # among misfits a fit with overlapping atoms is no more evidence
        # against its group than any other: only unfitted rows go last
        last = row.get("rw") is None if misfits else row["score"] is None
        return (
            last,
            -prob if misfits else 0.0,
            row["score"] if row["score"] is not None else 0.0,
        )

    rows.sort(key=order)
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    note = poor_fit_note(rows)
    if note:
        rows[0]["notes"] = rows[0]["notes"] + [note]
    return rows
