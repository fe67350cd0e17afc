"""Run the refinements of several candidate groups and rank them.

:func:`fit_candidates` refines every candidate group, each in its own
process with a time limit, from every starting structure the group has
(the user's CIF, bundled structure types, Wyckoff enumeration and, in a
second round, the refined structure of a better-fitting supergroup
written exactly in the candidate's setting), keeps the best fit of each
group and ranks the groups by a combined score (:func:`combined_score`)
of fit, free parameters and the network's probability.  A failing or
overrunning fit is reported in the table and does not stop the others;
Ctrl-C stops the fits still running and keeps the ranking of those done.

Examples
--------
>>> from diffpy.sgpredict.refine import fit_candidates
>>> table = fit_candidates("Ni.gr", [225, 221], "fits")  # doctest: +SKIP
>>> table[0]["symbol"], table[0]["rw"] < 0.15            # doctest: +SKIP
('Fm-3m', True)
"""

import csv
import json
import math
import multiprocessing
import os
import signal
import time
import traceback
import warnings
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.refine.candidates import (
    Candidate,
    as_candidates,
    folder_name,
    header_composition,
    usable_cif,
)
from diffpy.sgpredict.refine.plots import plot_fit

__all__ = [
    "Candidate",
    "as_candidates",
    "combined_score",
    "independent_points",
    "hamilton_significant",
    "fit_candidates",
    "format_table",
    "plot_fit",
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


def structure_to_dict(structure):
    """Plain-data form of a diffpy Structure (to pass between processes).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> s = settings.expand([3.5] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> len(structure_to_dict(s)["atoms"])
    4
    """
    lat = structure.lattice
    return {
        "lattice": [
            float(v)
            for v in (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
        ],
        "atoms": [
            [str(a.element), *[float(v) for v in a.xyz], float(a.Uisoequiv)]
            for a in structure
        ],
    }


def structure_from_dict(data):
    """Inverse of :func:`structure_to_dict`."""
    from diffpy.structure import Atom, Lattice, Structure

    atoms = []
    for el, x, y, z, u in data["atoms"]:
        atom = Atom(el, [x, y, z])
        atom.Uisoequiv = u
        atoms.append(atom)
    stru = Structure(atoms, lattice=Lattice(*data["lattice"]))
    for i, atom in enumerate(stru):
        atom.label = f"{atom.element}{i + 1}"
    return stru


def _task_starts(task, data):
    """Starting structures of a task: its routes or a supergroup's."""
    from diffpy.sgpredict.refine.starting import (
        StartingStructure,
        starting_structures,
    )

    sup = task.get("supergroup")
    if sup:
        from diffpy.sgpredict.refine.subgroups import to_subgroup

        stru = to_subgroup(
            structure_from_dict(sup["structure"]),
            sup["number"],
            task["number"],
        )
        info = spacegroups.get(task["number"])
        note = (
            f"refined {spacegroups.get(sup['number']).symbol} "
            f"({sup['number']}) structure, Rw {sup['rw']:.4f}, written "
            f"exactly in {info.symbol}"
        )
        start = StartingStructure(
            task["number"],
            info.symbol,
            stru,
            "supergroup",
            f"from {sup['number']}",
            "refined",
            notes=[note],
        )
        return [start], []
    rng = numpy.random.default_rng(task.get("seed", 0))
    return starting_structures(
        task["number"],
        composition=task["composition"],
        cif=task["cif"],
        data=data,
        enumerate_budget=task.get("enumerate_budget", 15.0),
        rng=rng,
        library=task.get("library"),
    )


def _pick_starts(starts, limit):
    """At most ``limit`` starts, one per route first."""
    first, rest, seen = [], [], set()
    for start in starts:
        (rest if start.source in seen else first).append(start)
        seen.add(start.source)
    return (first + rest)[:limit]


#: What a single fit may raise (numerics, srfit, pyxtal, files); the row
#: of that candidate reports it and the other candidates go on.
_FIT_ERRORS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    OSError,
    RuntimeError,
    TypeError,
    ValueError,
)


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
    from scipy.stats import f as fdist

    b = int(k_sub) - int(k_head)
    dof = float(n_eff) - float(k_sub)
    if b <= 0 or dof <= 1:
        return rw_sub < rw_head
    crit = math.sqrt(1.0 + b / dof * float(fdist.ppf(1.0 - alpha, b, dof)))
    return rw_head / rw_sub > crit


def _family_rule(rows, n_eff):
    """A subgroup ranks below its supergroup (the family head) unless
    Hamilton's test says the data demand the lower symmetry."""
    fitted = [r for r in rows if r.get("score") is not None]
    for row in fitted:
        heads = [
            g
            for g in fitted
            if g is not row
            and g["nfree"] < row["nfree"]
            and spacegroups.is_subgroup(row["number"], g["number"])
        ]
        if not heads:
            continue
        head = min(heads, key=lambda g: g["score"])
        if hamilton_significant(
            head["rw"], row["rw"], head["nfree"], row["nfree"], n_eff
        ):
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
            f"(Rw {head['rw']:.4f} -> {row['rw']:.4f}, "
            f"+{row['nfree'] - head['nfree']} parameters); ranked after it"
        ]


def _fit_one(task):
    """Worker: make the starts, refine them, write files, return a row."""
    warnings.simplefilter("ignore")
    from diffpy.sgpredict.refine.cifout import write_cif
    from diffpy.sgpredict.refine.fitting import fit_structure, prepare_data

    t0 = time.time()
    c0 = time.process_time()
    folder = Path(task["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    row = {"status": "failed", "message": ""}
    try:
        data = prepare_data(
            task["data"],
            task["rmin"],
            task["rmax"],
            task["rstep"],
            task["qmax"],
        )
        starts, route_notes = _task_starts(task, data)
        starts = _pick_starts(starts, task.get("max_starts", 3))
        tried = []
        best = None
        quick = max(10, task["max_nfev"] // 4) if len(starts) > 1 else None
        for start in starts:
            left = task["timeout"] - (time.process_time() - c0) - 1.0
            if left < 1.0 and best is not None:
                break
            start.initial = structure_to_dict(start.structure)
            res = fit_structure(
                data,
                start,
                calculator=task["calculator"],
                timeout=max(left / 2, 1.0),
                max_nfev=quick or task["max_nfev"],
            )
            tried.append(
                {
                    "route": start.source,
                    "start": start.name,
                    "rw": res["rw"],
                }
            )
            if best is None or res["rw"] < best[1]["rw"]:
                best = (start, res)
        start, res = best
        if quick:
            left = task["timeout"] - (time.process_time() - c0) - 1.0
            res2 = fit_structure(
                data,
                start,
                calculator=task["calculator"],
                timeout=max(left, 1.0),
                max_nfev=task["max_nfev"],
            )
            if res2["rw"] <= res["rw"]:
                res = res2
        write_cif(
            structure_from_dict(start.initial),
            start.number,
            folder / "start.cif",
            title=f"{start.symbol}_start",
        )
        write_cif(
            res["structure"],
            start.number,
            folder / "refined.cif",
            title=f"{start.symbol}_refined",
        )
        plot_fit(
            res,
            folder / "fit.png",
            f"{start.symbol} ({start.number}) {start.name}",
        )
        numpy.savetxt(
            folder / "fit.dat",
            numpy.column_stack([res["r"], res["gobs"], res["gcalc"]]),
            header="r Gobs Gcalc",
        )
        row.update(
            status="stopped" if res["stopped"] else "ok",
            rw=res["rw"],
            cell=res["cell"],
            nfree=res["nfree"],
            variables=res["variables"],
            calculator=res["calculator"],
            start=start.name,
            start_source=start.source,
            tried=tried,
            notes=route_notes + start.notes + res["notes"],
            png=str(folder / "fit.png"),
            structure=structure_to_dict(res["structure"]),
        )
    except SgpredictError as exc:
        row["message"] = str(exc)
    except _FIT_ERRORS as exc:  # one broken fit must not stop the others
        row["message"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["seconds"] = round(time.time() - t0, 2)
    return row


def _worker(task, conn):
    # the parent handles Ctrl-C and stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(_fit_one(task))
    finally:
        conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _run_all(tasks, jobs, timeout, progress=None, labels=None, wall=None):
    """Run tasks in processes, ``jobs`` at a time, each bounded.

    Returns the results (None for tasks not run) and whether Ctrl-C
    stopped the run; on Ctrl-C the running workers are killed and the
    results already in are kept.
    """
    ctx = _context()
    wall_limit = wall if wall is not None else 4 * timeout + 60
    pending = list(enumerate(tasks))
    active = {}
    results = [None] * len(tasks)
    done = 0

    def finished(i, res):
        nonlocal done
        results[i] = res
        done += 1
        if progress is not None:
            progress(done, len(tasks), labels[i] if labels else i, res)

    try:
        while pending or active:
            while pending and len(active) < max(1, jobs):
                i, task = pending.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(task, child))
                proc.daemon = True
                proc.start()
                child.close()
                active[i] = (proc, parent, time.time())
            time.sleep(0.05)
            for i, (proc, conn, started) in list(active.items()):
                if conn.poll():
                    try:
                        res = conn.recv()
                    except EOFError:
                        res = None
                    proc.join(5)
                    del active[i]
                    finished(i, res)
                elif not proc.is_alive():
                    proc.join()
                    del active[i]
                    finished(
                        i,
                        {
                            "status": "failed",
                            "message": "fit process died (exit "
                            f"{proc.exitcode})",
                            "seconds": round(time.time() - started, 2),
                        },
                    )
                elif time.time() - started > wall_limit:
                    # a safety net only: the fits keep to ``timeout`` CPU
                    # seconds themselves; wall time stretches on a
                    # machine that other programs load
                    proc.kill()
                    proc.join()
                    del active[i]
                    finished(
                        i,
                        {
                            "status": "timeout",
                            "message": "no result within "
                            f"{wall_limit:g} s of wall time",
                            "seconds": round(time.time() - started, 2),
                        },
                    )
    except KeyboardInterrupt:
        for proc, _, _ in active.values():
            proc.kill()
            proc.join()
        return results, True
    return results, False


def _supergroup_tasks(rows, tasks):
    """Second-round tasks: each candidate from its best supergroup."""
    out = []
    fitted = [r for r in rows if r.get("rw") is not None and r["structure"]]
    for row, task in zip(rows, tasks):
        sups = [
            r
            for r in fitted
            if r["number"] != row["number"]
            and spacegroups.is_subgroup(row["number"], r["number"])
            and (row.get("nfree") is None or r["nfree"] <= row["nfree"])
            and (row.get("rw") is None or r["rw"] < row["rw"])
        ]
        if not sups:
            continue
        sup = min(sups, key=lambda r: r["rw"])
        new = dict(task)
        new["supergroup"] = {
            "number": sup["number"],
            "rw": sup["rw"],
            "structure": sup["structure"],
        }
        new["folder"] = task["folder"] + "/from-supergroup"
        # the start is the supergroup's optimum: half the time is plenty
        new["timeout"] = task["timeout"] / 2.0
        out.append((row, new))
    return out


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


def _adopt(row, res):
    """Take a second-round result when it fits better."""
    import shutil

    if not res or res.get("rw") is None:
        return
    if row.get("rw") is not None and res["rw"] >= row["rw"]:
        row["tried"] = row["tried"] + (res.get("tried") or [])
        return
    sub = Path(row["folder"]) / "from-supergroup"
    for name in ("start.cif", "refined.cif", "fit.png", "fit.dat"):
        if (sub / name).exists():
            shutil.copyfile(sub / name, Path(row["folder"]) / name)
    for key in (
        "rw",
        "cell",
        "nfree",
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


def fit_candidates(
    data,
    groups,
    outdir,
    composition=None,
    cif=None,
    jobs=None,
    timeout=25.0,
    rmin=1.5,
    rmax=20.0,
    rstep=0.02,
    qmax=None,
    calculator="auto",
    max_nfev=60,
    enumerate_budget=8.0,
    supergroups=True,
    progress=None,
    wall_limit=None,
    library=None,
):
    """Refine every candidate group against the data and rank them.

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
        CPU seconds allowed per candidate in the first round, half of it
        in the supergroup round (a fit that runs
        out of time reports the values it has reached, status
        ``stopped``); a worker still running after ``wall_limit``
        seconds of wall time is stopped.
    rmin, rmax, rstep : float
        Fit range and point spacing (A).
    qmax : float, optional
        Overrides the data header's Qmax.
    calculator : {"auto", "builtin", "srreal"}
        PDF engine.
    max_nfev : int
        Function evaluations per refinement step.
    enumerate_budget : float
        Seconds of Wyckoff enumeration per candidate (0: none).
    supergroups : bool
        Run the second round, in which a candidate is refined again from
        the refined structure of a better-fitting supergroup among the
        candidates.
    progress : callable, optional
        ``progress(done, total, label, result)`` after every fit.
    wall_limit : float, optional
        Wall seconds after which a worker is killed (default
        ``4 timeout + 60``).
    library : str or path, optional
        A folder of CIFs (COD or ICSD export) searched for structures
        of each candidate group with the composition's stoichiometry
        (route ``library``).

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
    from diffpy.sgpredict.refine.fitting import prepare_data

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    candidates = as_candidates(groups)
    probe = prepare_data(data, rmin, rmax, rstep, qmax)  # fail early
    cif, cif_note = usable_cif(cif)
    if cif_note:
        probe.notes.append(cif_note)
    if composition is None:
        composition = header_composition(data)
        if composition is not None:
            probe.notes.append(
                f"composition {composition} from the data header"
            )
    tasks = []
    for i, cand in enumerate(candidates):
        tasks.append(
            {
                "data": str(data),
                "number": cand.number,
                "composition": composition,
                "cif": None if cif is None else str(cif),
                "folder": str(outdir / folder_name(cand)),
                "rmin": rmin,
                "rmax": rmax,
                "rstep": rstep,
                "qmax": qmax,
                "timeout": float(timeout),
                "calculator": calculator,
                "max_nfev": max_nfev,
                "enumerate_budget": float(enumerate_budget),
                "seed": i,
                "library": None if library is None else str(library),
            }
        )
    if jobs is None:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(int(jobs), len(tasks)))
    labels = [f"{c.number} {c.symbol}" for c in candidates]
    results, stopped = _run_all(
        tasks, jobs, float(timeout), progress, labels, wall_limit
    )
    rows = [
        _row(cand, task, res, probe.notes)
        for cand, task, res in zip(candidates, tasks, results)
    ]
    if supergroups and not stopped:
        second = _supergroup_tasks(rows, tasks)
        if second:
            labels2 = [
                f"{row['number']} {row['symbol']} from "
                f"{task['supergroup']['number']}"
                for row, task in second
            ]
            res2, stopped = _run_all(
                [t for _, t in second],
                jobs,
                float(timeout),
                progress,
                labels2,
                wall_limit,
            )
            for (row, _), res in zip(second, res2):
                _adopt(row, res)
    n_eff = independent_points(probe.r[0], probe.r[-1], probe.qmax)
    prior = _prior(candidates)
    for row in rows:
        prob = row["probability"]
        if prob is None:
            prob = prior.get(row["number"])
        row["score"] = combined_score(row["rw"], row["nfree"], prob, n_eff)
        row["route"] = row.get("start_source")
        row["n_eff"] = n_eff
        row["interrupted"] = stopped
    _family_rule(rows, n_eff)
    rows.sort(
        key=lambda x: (
            x["score"] is None,
            x["score"] if x["score"] is not None else 0.0,
        )
    )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    _write_tables(rows, outdir)
    return rows


def _prior(candidates):
    """ICSD frequencies of the candidates, normalised over them: the
    stand-in for the network's probability when none is given."""
    if any(c.probability is not None for c in candidates):
        return {}
    freq = spacegroups.icsd_prior()
    values = {
        c.number: float(freq[spacegroups.index_of(c.number)])
        for c in candidates
    }
    total = sum(values.values()) or 1.0
    return {k: v / total for k, v in values.items()}


def _merge(first, second):
    out = list(first)
    out.extend(n for n in second if n not in out)
    return out


def _fmt(value, fmt):
    return "-" if value is None else format(value, fmt)


_COLUMNS = (
    "rank",
    "group",
    "symbol",
    "prob",
    "Rw",
    "nfree",
    "score",
    "route",
    "a",
    "b",
    "c",
    "alpha",
    "beta",
    "gamma",
    "time_s",
    "status",
)


def format_table(rows):
    """Return the ranking as an aligned text table.

    Examples
    --------
    >>> print(format_table([{"rank": 1, "number": 225, "symbol": "Fm-3m",
    ...     "probability": 0.9, "rw": 0.05, "cell": [3.52] * 3 + [90] * 3,
    ...     "nfree": 6, "score": -850.2, "route": "prototype",
    ...     "status": "ok", "seconds": 2.0}]))
    ... # doctest: +NORMALIZE_WHITESPACE
    rank  group  symbol  prob   Rw      nfree  score   route      a      b
      c      alpha  beta   gamma  time_s  status
    1     225    Fm-3m   0.900  0.0500  6      -850.2  prototype  3.520
      3.520  3.520  90.00  90.00  90.00  2.0     ok
    """
    lines = [_COLUMNS]
    for row in rows:
        cell = row.get("cell") or [None] * 6
        lines.append(
            (
                str(row["rank"]),
                str(row["number"]),
                row["symbol"],
                _fmt(row.get("probability"), ".3f"),
                _fmt(row.get("rw"), ".4f"),
                _fmt(row.get("nfree"), "d"),
                _fmt(row.get("score"), ".1f"),
                row.get("route") or "-",
                *(_fmt(v, ".3f") for v in cell[:3]),
                *(_fmt(v, ".2f") for v in cell[3:]),
                _fmt(row.get("seconds"), ".1f"),
                row.get("status") or "-",
            )
        )
    widths = [
        max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))
    ]
    text = [
        "  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip()
        for line in lines
    ]
    for row in rows:
        if row.get("message"):
            text.append(f"# {row['number']} {row['symbol']}: {row['message']}")
    return "\n".join(text)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (numpy.floating, numpy.integer)):
        return obj.item()
    return obj


#: Keys of a ranking row that ``--json`` and ``ranking.json`` give.
JSON_KEYS = (
    "rank",
    "number",
    "symbol",
    "probability",
    "rw",
    "cell",
    "nfree",
    "score",
    "route",
    "status",
    "message",
    "seconds",
    "start",
    "tried",
    "notes",
    "folder",
)


def rows_for_json(rows):
    """Rows reduced to :data:`JSON_KEYS`, JSON-ready.

    Examples
    --------
    >>> rows_for_json([{"rank": 1, "rw": numpy.float64(0.1)}])
    [{'rank': 1, 'rw': 0.1}]
    """
    return [_jsonable({k: r[k] for k in JSON_KEYS if k in r}) for r in rows]


def _write_tables(rows, outdir):
    outdir = Path(outdir)
    text = format_table(rows)
    if rows and rows[0].get("n_eff"):
        text += (
            "\n# score = n_eff ln(Rw^2) + nfree ln(n_eff) - 2 ln(prob), "
            f"n_eff = {rows[0]['n_eff']:.0f}; lower is better"
        )
    (outdir / "ranking.txt").write_text(text + "\n")
    (outdir / "ranking.json").write_text(
        json.dumps(rows_for_json(rows), indent=1) + "\n"
    )
    with open(outdir / "ranking.csv", "w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(
            [
                "rank",
                "number",
                "symbol",
                "probability",
                "rw",
                "nfree",
                "score",
                "route",
                "a",
                "b",
                "c",
                "alpha",
                "beta",
                "gamma",
                "seconds",
                "status",
                "start",
                "message",
            ]
        )
        for row in rows:
            cell = row.get("cell") or [""] * 6
            w.writerow(
                [
                    row["rank"],
                    row["number"],
                    row["symbol"],
                    "" if row["probability"] is None else row["probability"],
                    "" if row["rw"] is None else f"{row['rw']:.5f}",
                    "" if row["nfree"] is None else row["nfree"],
                    "" if row.get("score") is None else f"{row['score']:.2f}",
                    row.get("route") or "",
                    *[("" if v == "" else f"{v:.5f}") for v in cell],
                    row.get("seconds"),
                    row.get("status"),
                    row.get("start") or "",
                    row.get("message") or "",
                ]
            )
