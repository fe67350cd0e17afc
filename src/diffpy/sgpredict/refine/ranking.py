"""Run the refinements of several candidate groups and rank them.

:func:`fit_candidates` refines every candidate group, each in its own
process with a time limit (:func:`diffpy.sgpredict.parallel.run_killable`
running :func:`~diffpy.sgpredict.refine.candidate_fit.fit_task`), from
every starting structure the group has (the user's CIF, bundled
structure types, Wyckoff enumeration and, in a second round, the refined
structure of a better-fitting supergroup written exactly in the
candidate's setting), keeps the best fit of each group and ranks the
groups by the rule of :mod:`~diffpy.sgpredict.refine.score`.  A failing
or overrunning fit is reported in the table and does not stop the
others; Ctrl-C stops the fits still running and keeps the ranking of
those done.

Examples
--------
>>> from diffpy.sgpredict.refine import fit_candidates
>>> table = fit_candidates("Ni.gr", [225, 221], "fits")  # doctest: +SKIP
>>> table[0]["symbol"], table[0]["rw"] < 0.15            # doctest: +SKIP
('Fm-3m', True)
"""

import os
import shutil
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.parallel import TaskStopped, run_killable
from diffpy.sgpredict.refine.candidate_fit import (
    ADP_MODES,
    fit_task,
    structure_from_dict,
    structure_to_dict,
)
from diffpy.sgpredict.refine.candidates import (
    as_candidates,
    check_options,
    folder_name,
    header_composition,
)
from diffpy.sgpredict.refine.fitdata import prepare_data
from diffpy.sgpredict.refine.fitting import profile_values
from diffpy.sgpredict.refine.report import write_tables
from diffpy.sgpredict.refine.score import (
    OVERLAP,
    POOR_FIT_RW,
    combined_score,
    independent_points,
    iso_fit,
    rank_rows,
    structure_shortest_distance,
)
from diffpy.sgpredict.refine.subgroups import to_supergroup
from diffpy.sgpredict.refine.templates import refresh_templates
from diffpy.sgpredict.refine.work import (
    CANDIDATE_BUDGET,
    ENUMERATION_BUDGET,
    RELATIVE_SHARE,
    RESUME_SHARE,
)

__all__ = ["second_round_tasks", "fit_candidates"]


def _run_round(tasks, jobs, wall_limit, progress, labels):
    """Run the tasks (:func:`fit_task`) in killable processes.

    Returns the rows of the tasks (None for those not run) and whether
    Ctrl-C stopped the round; a killed or dead worker becomes a row with
    status ``timeout`` or ``failed``.
    """

    def as_row(res):
        if not isinstance(res, TaskStopped):
            return res
        status = "timeout" if res.reason == "wall_limit" else "failed"
        message = res.message if status == "timeout" else f"fit {res.message}"
        return {"status": status, "message": message, "seconds": res.seconds}

    def on_done(done, total, i, res):
        if progress is not None:
            progress(done, total, labels[i], as_row(res))

    results, stopped = run_killable(
        fit_task, tasks, jobs=jobs, wall_limit=wall_limit, on_done=on_done
    )
    return [as_row(r) for r in results], stopped


def _symmetrized(structure, number):
    """:func:`to_supergroup` of a row's refined structure (plain dict):
    ``(dict, tolerance)`` or None."""
    found = to_supergroup(
        structure_from_dict(structure, isotropic=True), number
    )
    if found is None:
        return None
    return structure_to_dict(found[0]), found[1]


def _source(row, fitted):
    """The better-fitting relative a candidate is refitted from: a
    supergroup (its structure written in the candidate's setting) or a
    subgroup whose refined structure has the candidate's symmetry
    within a tolerance; ``(kind, row, structure, tolerance)`` or None.

    A supergroup qualifies when it fits better with no more free
    parameters, or when it fits at all (isotropic Rw at most
    :data:`~diffpy.sgpredict.refine.score.POOR_FIT_RW`) whatever its
    parameters: a candidate fitted in a small wrong cell (known
    SmCo(BO2)5 in P2_1/c at Rw 0.038 with 76 parameters, P-1 from the
    enumeration at 0.76 with 39) then still gets its supergroup's
    structure, so that it never fits worse than the supergroup."""
    better = [
        r
        for r in fitted
        if r["number"] != row["number"]
        and (row.get("rw") is None or iso_fit(r)[0] < iso_fit(row)[0])
    ]
    sups = [
        r
        for r in better
        if spacegroups.is_subgroup(row["number"], r["number"])
        and (
            row.get("nfree") is None
            or iso_fit(r)[1] <= iso_fit(row)[1]
            or iso_fit(r)[0] <= POOR_FIT_RW
        )
    ]
    if sups:
        sup = min(sups, key=lambda r: iso_fit(r)[0])
        return "supergroup", sup, sup["structure"], None
    subs = sorted(
        (
            r
            for r in better
            if spacegroups.is_subgroup(r["number"], row["number"])
        ),
        key=lambda r: iso_fit(r)[0],
    )
    for sub in subs[:2]:
        found = _symmetrized(sub["structure"], row["number"])
        if found is not None:
            return "subgroup", sub, found[0], found[1]
    return None


def second_round_tasks(rows, tasks):
    """Second-round tasks: each candidate refitted from a better-fitting
    relative, or its own fit resumed.

    A candidate is refitted from its best-fitting supergroup among the
    candidates when that fits better with no more free parameters, or
    fits at all (:func:`_source`; its refined structure written exactly
    in the candidate's setting by the worker), otherwise from a
    better-fitting subgroup whose refined structure has the candidate's
    symmetry within a tolerance
    (:func:`~diffpy.sgpredict.refine.subgroups.to_supergroup`, done
    here).  Rw and free parameters are those of the isotropic fits.  A
    candidate with neither whose fit ran out of its budget on the way to
    a fit (:func:`_resumes`) is resumed from its own refined structure
    with :data:`~diffpy.sgpredict.refine.work.RESUME_SHARE` (twice)
    its budget.

    Parameters
    ----------
    rows : list of dict
        First-round rows (``number``, ``rw``, ``nfree``, ``structure``
        as :func:`~diffpy.sgpredict.refine.candidate_fit.structure_to_dict`).
    tasks : list of dict
        Their tasks.

    Returns
    -------
    list of (dict, dict)
        Row and new task; the task holds ``supergroup`` or ``subgroup``
        (``number``, ``rw``, ``structure``, ``tolerance``),
        :data:`~diffpy.sgpredict.refine.work.RELATIVE_SHARE` of the
        time and a ``from-supergroup`` / ``from-subgroup`` folder.  A
        task from a supergroup that fits (Rw at most
        :data:`~diffpy.sgpredict.refine.score.POOR_FIT_RW`) and is no
        more probable, with a composition, keeps the whole time and its
        enumeration budget and enumerates Wyckoff assignments again in
        the supergroup's cell
        (:func:`~diffpy.sgpredict.refine.candidate_fit.task_starts`).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> from diffpy.sgpredict.refine.candidate_fit import structure_to_dict
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> rows = [{"number": 225, "rw": 0.02, "nfree": 6,
    ...          "structure": structure_to_dict(ni)},
    ...         {"number": 139, "rw": 0.4, "nfree": 7,
    ...          "structure": structure_to_dict(ni)}]
    >>> tasks = [{"number": 225, "folder": "a", "timeout": 20.0},
    ...          {"number": 139, "folder": "b", "timeout": 20.0}]
    >>> [(t["number"], t["supergroup"]["number"], t["folder"])
    ...  for _, t in second_round_tasks(rows, tasks)]
    [(139, 225, 'b/from-supergroup')]
    """
    out = []
    fitted = [
        r
        for r in rows
        if r.get("rw") is not None
        and r["structure"]
        and not _overlapping(r["structure"])
    ]
    for row, task in zip(rows, tasks):
        found = _source(row, fitted)
        if found is None:
            if _resumes(row):
                out.append((row, _resume_task(row, task)))
            continue
        kind, rel, structure, tol = found
        new = dict(task)
        new[kind] = {
            "number": rel["number"],
            "rw": rel["rw"],
            "structure": structure,
            "tolerance": tol,
            "profile": profile_values(rel.get("variables") or {}),
        }
        new["folder"] = task["folder"] + f"/from-{kind}"
        if _enumerates_again(kind, row, rel, task):
            new["timeout"] = task["timeout"]
        else:
            new["timeout"] = task["timeout"] * RELATIVE_SHARE
            new["enumerate_budget"] = 0.0
        out.append((row, new))
    return out


def _resumes(row):
    """Whether a first-round fit is resumed: it ran out of its budget
    (status ``stopped``) on the way to a fit (isotropic Rw at most
    :data:`~diffpy.sgpredict.refine.score.POOR_FIT_RW`) and has no
    better-fitting relative to start from.  alpha-Zr(HPO4)2.H2O (56
    free parameters) stops at Rw 0.18 from its known structure in the
    default 20 s and goes on to 0.11 (measured)."""
    return (
        row.get("status") == "stopped"
        and row.get("rw") is not None
        and bool(row.get("structure"))
        and iso_fit(row)[0] <= POOR_FIT_RW
        and not _overlapping(row["structure"])
    )


def _resume_task(row, task):
    """The second-round task that resumes a row's own fit with
    :data:`~diffpy.sgpredict.refine.work.RESUME_SHARE` of the
    candidate's budget."""
    new = dict(task)
    new["resume"] = {
        "number": row["number"],
        "rw": iso_fit(row)[0],
        "structure": row["structure"],
        "profile": profile_values(row.get("variables") or {}),
        "start": row.get("start"),
        "start_source": row.get("start_source"),
    }
    new["folder"] = task["folder"] + "/resumed"
    new["timeout"] = task["timeout"] * RESUME_SHARE
    new["enumerate_budget"] = 0.0
    return new


def _enumerates_again(kind, row, rel, task):
    """Whether a second-round task also enumerates Wyckoff assignments
    in its supergroup's cell: a supergroup that fits (isotropic Rw at
    most :data:`~diffpy.sgpredict.refine.score.POOR_FIT_RW`) has about
    the candidate's cell; the network finds the candidate at least as
    likely as the supergroup (or one of the two probabilities is
    unknown), so that the search is spent where the subgroup may win
    (with the supergroup more likely, the five subgroups of the doped
    pnictide's I4/mmm enumerated for nothing and took its top 6 from
    56 to 120 s); and the task knows the composition and may
    enumerate."""
    mine, theirs = row.get("probability"), rel.get("probability")
    return (
        kind == "supergroup"
        and iso_fit(rel)[0] <= POOR_FIT_RW
        and (mine is None or theirs is None or mine >= theirs)
        and bool(task.get("composition"))
        and task.get("enumerate_budget", 0.0) > 0
    )


def _overlapping(structure):
    """Whether a refined structure has overlapping atoms (no structure
    to start a relative from)."""
    return structure_shortest_distance(structure) < OVERLAP


def _row(cand, task, res, notes):
    res = res or {"status": "interrupted", "message": "not run (Ctrl-C)"}
    return {
        "number": cand.number,
        "symbol": cand.symbol,
        "crystal_system": cand.crystal_system,
        "probability": cand.probability,
        "rw": res.get("rw"),
        "cell": res.get("cell"),
        "nfree": res.get("nfree"),
        "rw_iso": res.get("rw_iso"),
        "nfree_iso": res.get("nfree_iso"),
        "status": res.get("status"),
        "message": res.get("message", ""),
        "seconds": res.get("seconds"),
        "start": res.get("start"),
        "start_source": res.get("start_source"),
        "tried": res.get("tried") or [],
        "calculator": res.get("calculator"),
        "notes": _merge(notes, res.get("notes") or []),
        "variables": res.get("variables"),
        "structure": res.get("structure"),
        "folder": task["folder"],
    }


def _adopt(row, res, n_eff):
    """Take a second-round result when its score (fit and free
    parameters, :func:`combined_score`) is better."""
    if not res or res.get("rw") is None:
        return
    new = combined_score(res["rw"], res["nfree"], None, n_eff)
    old = combined_score(row.get("rw"), row.get("nfree"), None, n_eff)
    if old is not None and new >= old:
        row["tried"] = row["tried"] + (res.get("tried") or [])
        return
    sub = Path(res["folder"])
    for name in ("start.cif", "refined.cif", "fit.png", "fit.dat"):
        if (sub / name).exists():
            shutil.copyfile(sub / name, Path(row["folder"]) / name)
    for key in (
        "rw",
        "cell",
        "nfree",
        "rw_iso",
        "nfree_iso",
        "variables",
        "calculator",
        "start",
        "start_source",
        "structure",
        "status",
    ):
        row[key] = res.get(key)
    row["message"] = ""
    row["tried"] = row["tried"] + (res.get("tried") or [])
    row["notes"] = _merge(row["notes"], res.get("notes") or [])


def _make_tasks(data, candidates, outdir, composition, cif, library, opts):
    """One task (a plain dict for the worker) per candidate; its
    random draws are seeded by ``(opts["seed"], group number)``."""
    tasks = []
    for cand in candidates:
        task = {
            "data": str(data),
            "number": cand.number,
            "composition": composition,
            "cif": None if cif is None else str(cif),
            "folder": str(outdir / folder_name(cand)),
            "library": None if library is None else str(library),
        }
        task.update(opts)
        task["seed"] = [int(opts["seed"]), int(cand.number)]
        tasks.append(task)
    return tasks


def _supergroup_round(rows, tasks, jobs, wall_limit, progress, n_eff):
    """Refit each candidate from its best better-fitting supergroup and
    keep the better fit; return whether Ctrl-C stopped the round."""
    second = second_round_tasks(rows, tasks)
    if not second:
        return False
    labels = [_second_label(row, task) for row, task in second]
    results, stopped = _run_round(
        [t for _, t in second], jobs, wall_limit, progress, labels
    )
    for (row, task), res in zip(second, results):
        if res:
            res["folder"] = task["folder"]
        _adopt(row, res, n_eff)
    return stopped


def _second_label(row, task):
    """Progress label of a second-round task."""
    if task.get("resume"):
        return f"{row['number']} {row['symbol']} resumed"
    rel = task.get("supergroup") or task.get("subgroup")
    return f"{row['number']} {row['symbol']} from {rel['number']}"


def fit_candidates(
    data,
    groups,
    outdir,
    composition=None,
    cif=None,
    jobs=None,
    timeout=CANDIDATE_BUDGET,
    rmin=1.5,
    rmax=20.0,
    rstep=0.02,
    qmax=None,
    calculator="auto",
    max_nfev=60,
    enumerate_budget=ENUMERATION_BUDGET,
    adp="auto",
    supergroups=True,
    progress=None,
    wall_limit=None,
    library=None,
    radiation=None,
    seed=0,
    known=True,
):
    """Refine every candidate group against the data and rank them.

    Long only in this docstring (one entry per option); the rounds,
    the worker and the ranking rule are their own functions.

    Parameters
    ----------
    data : str or path
        The measured PDF file.
    groups : list
        Space-group numbers or symbols, or the candidates of a
        prediction (objects with ``number`` and ``probability``).
    outdir : str or path
        One sub-folder per candidate receives ``refined.cif`` (in the
        candidate's space group), ``fit.png`` and ``fit.dat``; the folder
        itself ``ranking.txt``, ``ranking.csv`` and ``ranking.json``.
    composition : str, optional
        Chemical formula; default: the data header's composition.
        Without one the prototypes keep their own elements (the notes
        say so) and no Wyckoff enumeration is done.
    cif : str or path, optional
        The user's structure (used for the groups it belongs to).
    jobs : int, optional
        Fits run at the same time (processes); default: CPU count,
        at most the number of candidates.
    timeout : float
        Seconds of counted work
        (:class:`~diffpy.sgpredict.refine.work.WorkMeter`: the same
        steps on any machine, about CPU seconds of a 2-core x86_64
        one) per candidate in the first round,
        :data:`~diffpy.sgpredict.refine.work.RELATIVE_SHARE` of it in the
        supergroup round (a fit that runs out of it reports the values
        it has reached, status ``stopped``); a worker still running
        after ``wall_limit`` seconds of wall time is stopped.
    rmin, rmax, rstep : float
        Fit range and point spacing (A).
    qmax : float, optional
        Overrides the data header's Qmax.
    calculator : {"auto", "builtin", "srreal"}
        PDF engine.
    max_nfev : int
        Function evaluations per refinement step.
    enumerate_budget : float
        Seconds of counted work of Wyckoff enumeration per candidate
        (0: none), part of ``timeout``.
    adp : {"auto", "iso", "aniso"}
        ADP model (:data:`~diffpy.sgpredict.refine.candidate_fit.ADP_MODES`):
        one Uiso per orbit; the Uij the site symmetry allows, refined
        after the isotropic fit; or those only where they lower the
        score.
    supergroups : bool
        Run the second round, in which a candidate is refined again from
        the refined structure of a better-fitting relative among the
        candidates, or a fit that ran out of its budget with Rw at most
        0.3 is resumed.
    progress : callable, optional
        ``progress(done, total, label, result)`` after every fit.
    wall_limit : float, optional
        Wall seconds after which a worker is killed (default
        ``4 timeout + 60``).
    library : str or path, optional
        A folder of CIFs (COD or ICSD export) searched for structures
        of each candidate group with the composition's stoichiometry
        (route ``library``).
    radiation : {"xray", "neutron"}, optional
        The radiation of the data when the header does not say (or to
        override it); without either, the data are fitted as X-ray data
        and the notes say so.
    seed : int
        Seed of the random draws of the Wyckoff enumeration.  Each group
        draws from ``(seed, group number)``, so that its search does not
        depend on the other candidates or their order; another seed
        draws other guesses (worth a try when the true structure is
        believed to be in a group that fits badly).
    known : bool
        Start each group also from the known compound of the
        composition's formula in it (route ``known``,
        :mod:`~diffpy.sgpredict.refine.known`); False fits the data as
        those of a new material.

    Returns
    -------
    list of dict
        One row per candidate, best combined score first (failed fits
        last), with keys ``rank``, ``number``, ``symbol``,
        ``probability``, ``rw``, ``cell``, ``nfree``, ``score``,
        ``route``, ``status``, ``message``, ``seconds``, ``notes``,
        ``tried``, ``folder``.  After Ctrl-C the rows of the fits done
        are ranked, the others have status ``interrupted``, and every
        row's ``interrupted`` is True.

    Examples
    --------
    >>> rows = fit_candidates("Ni.gr", [225, 221, 227], "fits",
    ...                       timeout=60)  # doctest: +SKIP
    >>> [r["number"] for r in rows][:1]      # doctest: +SKIP
    [225]
    """
    check_options(
        composition=composition,
        cif=cif,
        library=library,
        rmin=rmin,
        rmax=rmax,
        qmax=qmax,
        timeout=timeout,
        jobs=jobs,
        enumerate_budget=enumerate_budget,
        radiation=radiation,
        seed=seed,
    )
    candidates = as_candidates(groups)
    probe = prepare_data(data, rmin, rmax, rstep, qmax, radiation)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if composition is None:
        composition = header_composition(data)
        if composition is not None:
            probe.notes.append(
                f"composition {composition} from the data header"
            )
    opts = {
        "rmin": rmin,
        "rmax": rmax,
        "rstep": rstep,
        "qmax": qmax,
        "radiation": radiation,
        "timeout": float(timeout),
        "calculator": calculator,
        "max_nfev": max_nfev,
        "enumerate_budget": float(enumerate_budget),
        "adp": _checked_adp(adp),
        "seed": seed,
        "known": bool(known),
    }
    tasks = _make_tasks(
        data, candidates, outdir, composition, cif, library, opts
    )
    if jobs is None:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(int(jobs), len(tasks)))
    if wall_limit is None:
        wall_limit = 4 * float(timeout) + 60
    labels = [f"{c.number} {c.symbol}" for c in candidates]
    results, stopped = _run_round(tasks, jobs, wall_limit, progress, labels)
    rows = [
        _row(cand, task, res, probe.notes)
        for cand, task, res in zip(candidates, tasks, results)
    ]
    n_eff = independent_points(probe.r[0], probe.r[-1], probe.qmax)
    if supergroups and not stopped:
        stopped = _supergroup_round(
            rows, tasks, jobs, wall_limit, progress, n_eff
        )
    for row in rows:
        row["route"] = row.get("start_source")
        row["interrupted"] = stopped
    rank_rows(rows, candidates, n_eff)
    for row in rows:
        refresh_templates(
            row["folder"], row, probe, Path(data).name, rmin, rmax
        )
    write_tables(rows, outdir)
    return rows


def _checked_adp(adp):
    if adp not in ADP_MODES:
        raise InputError(
            f"adp must be one of {', '.join(ADP_MODES)}, not {adp!r}"
        )
    return adp


def _merge(first, second):
    out = list(first)
    out.extend(n for n in second if n not in out)
    return out
