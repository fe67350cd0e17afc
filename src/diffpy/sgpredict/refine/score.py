"""The ranking rule: how fitted candidates are ordered.

Each fitted candidate gets the BIC-like score of :func:`combined_score`
(fit, free parameters and the network's probability, or the ICSD
frequency when there is none: :func:`icsd_prior`); then the family rule
(:func:`family_rule`) ranks a subgroup below its best supergroup unless
Hamilton's R-ratio test (:func:`hamilton_significant`) says the data
demand the lower symmetry.  :func:`rank_rows` applies both and numbers
the rows.

Examples
--------
>>> from diffpy.sgpredict.refine.score import combined_score
>>> round(combined_score(0.05, 6, 0.9, 147.2), 1)
-851.8
"""

import math

from scipy.stats import f as fdist

from diffpy.sgpredict import spacegroups

__all__ = [
    "independent_points",
    "combined_score",
    "HAMILTON_ALPHA",
    "hamilton_significant",
    "iso_fit",
    "family_rule",
    "icsd_prior",
    "POOR_FIT_RW",
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
    Hamilton's test says the data demand the lower symmetry.

    Heads and the test use the isotropic-ADP fits (:func:`iso_fit`).
    The rows (dicts with ``number``, ``symbol``, ``rw``, ``nfree``,
    ``score``, ``notes``, optionally ``rw_iso``, ``nfree_iso``) are
    changed in place: a subgroup without a
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
    for row in fitted:
        heads = [
            g
            for g in fitted
            if g is not row
            and iso_fit(g)[1] < iso_fit(row)[1]
            and spacegroups.is_subgroup(row["number"], g["number"])
        ]
        if not heads:
            continue
        head = min(heads, key=lambda g: g["score"])
        (rw_head, k_head), (rw_sub, k_sub) = iso_fit(head), iso_fit(row)
        if hamilton_significant(rw_head, rw_sub, k_head, k_sub, n_eff):
            row["notes"] = row["notes"] + [
                f"Hamilton test: fits significantly better than "
                f"{head['symbol']} (level {HAMILTON_ALPHA:g})"
            ]
            continue
        if row["score"] < head["score"]:
            row["score"] = head["score"] + 0.01
        row["family_head"] = head["number"]
        row["notes"] = row["notes"] + [
            f"Hamilton test: no significant gain over {head['symbol']} "
            f"(isotropic fits: Rw {rw_head:.4f} -> {rw_sub:.4f}, "
            f"{k_head} -> {k_sub} parameters); ranked after it"
        ]


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
    return (
        f"no candidate fits well (best Rw {min(rws):.3f} > "
        f"{POOR_FIT_RW:g}): the ranking orders misfits, not solved "
        "structures; give a structure (--cif, --library), more "
        "--enumerate time, or check that the data are one crystalline "
        "phase"
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
        The rows, best score first, unfitted rows last; when even the
        best Rw exceeds :data:`POOR_FIT_RW` the first row's notes end
        with :func:`poor_fit_note`'s warning.

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
    family_rule(rows, n_eff)
    rows.sort(
        key=lambda x: (
            x["score"] is None,
            x["score"] if x["score"] is not None else 0.0,
        )
    )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    note = poor_fit_note(rows)
    if note:
        rows[0]["notes"] = rows[0]["notes"] + [note]
    return rows
