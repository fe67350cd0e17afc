"""Run the refinements of several candidate groups and rank them.

:func:`fit_candidates` refines one starting structure per candidate
group, each in its own process with a time limit, and ranks the
candidates by their weighted residual Rw.  A failing or overrunning fit
is reported in the table and does not stop the others.

Examples
--------
>>> from diffpy.sgpredict.refine import fit_candidates
>>> table = fit_candidates("Ni.gr", [225, 221], "fits")  # doctest: +SKIP
>>> table[0]["symbol"], table[0]["rw"] < 0.15            # doctest: +SKIP
('Fm-3m', True)
"""

import json
import multiprocessing
import os
import time
import traceback
import warnings
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import SgpredictError

__all__ = ["Candidate", "fit_candidates", "format_table", "plot_fit"]


class Candidate:
    """A candidate space group with its predicted probability.

    Examples
    --------
    >>> Candidate(225, 0.9).symbol
    'Fm-3m'
    """

    def __init__(self, number, probability=None):
        info = spacegroups.lookup(number)
        self.number = info.number
        self.symbol = info.symbol
        self.crystal_system = info.crystal_system
        self.probability = probability

    def __repr__(self):
        return f"Candidate({self.number}, {self.probability})"


def as_candidates(groups):
    """Turn numbers, symbols or prediction candidates into Candidates.

    Examples
    --------
    >>> [c.number for c in as_candidates([225, "Pm-3m"])]
    [225, 221]
    """
    out = []
    for item in groups:
        if isinstance(item, Candidate):
            out.append(item)
        elif hasattr(item, "number"):
            out.append(
                Candidate(item.number, getattr(item, "probability", None))
            )
        else:
            out.append(Candidate(item))
    return out


def plot_fit(result, path, title=""):
    """Write a PNG with the data, the fit and the difference curve.

    Examples
    --------
    >>> plot_fit(result, "fit.png", "Fm-3m")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = numpy.asarray(result["r"])
    gobs = numpy.asarray(result["gobs"])
    gcalc = numpy.asarray(result["gcalc"])
    diff = gobs - gcalc
    offset = gobs.min() - 0.1 * numpy.ptp(gobs) - diff.max()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(r, gobs, "o", ms=2.5, mfc="none", color="tab:blue", label="data")
    ax.plot(r, gcalc, "-", color="tab:red", lw=1.2, label="fit")
    ax.plot(r, diff + offset, "-", color="tab:green", lw=1, label="diff")
    ax.axhline(offset, color="0.6", lw=0.6, ls="--")
    ax.set_xlabel(r"r ($\mathrm{\AA}$)")
    ax.set_ylabel(r"G ($\mathrm{\AA}^{-2}$)")
    ax.set_title(f"{title}  Rw = {result['rw']:.4f}")
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def _fit_one(task):
    """Worker: build the start, refine it, write files, return a row."""
    warnings.simplefilter("ignore")
    from diffpy.sgpredict.refine.fitting import fit_structure, prepare_data
    from diffpy.sgpredict.refine.starting import (
        first_strong_peak,
        starting_structure,
    )

    t0 = time.time()
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
        start = starting_structure(
            task["number"],
            composition=task["composition"],
            cif=task["cif"],
            r1=first_strong_peak(data.r, data.g),
        )
        start.to_cif(folder / "start.cif")
        budget = task["timeout"] - (time.time() - t0) - 2.0
        res = fit_structure(
            data,
            start,
            calculator=task["calculator"],
            timeout=max(budget, 1.0),
            max_nfev=task["max_nfev"],
        )
        res["structure"].write(str(folder / "refined.cif"), "cif")
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
            notes=start.notes + res["notes"],
            png=str(folder / "fit.png"),
        )
    except SgpredictError as exc:
        row["message"] = str(exc)
    except Exception as exc:  # one broken fit must not stop the others
        row["message"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["seconds"] = round(time.time() - t0, 2)
    return row


def _worker(task, conn):
    try:
        conn.send(_fit_one(task))
    finally:
        conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _run_all(tasks, jobs, timeout):
    """Run tasks in processes, ``jobs`` at a time, each bounded."""
    ctx = _context()
    pending = list(enumerate(tasks))
    active = {}
    results = [None] * len(tasks)
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
                    results[i] = conn.recv()
                except EOFError:
                    results[i] = None
                proc.join(5)
                del active[i]
            elif not proc.is_alive():
                proc.join()
                results[i] = {
                    "status": "failed",
                    "message": f"fit process died (exit {proc.exitcode})",
                    "seconds": round(time.time() - started, 2),
                }
                del active[i]
            elif time.time() - started > timeout + 10:
                proc.kill()
                proc.join()
                results[i] = {
                    "status": "timeout",
                    "message": f"no result within {timeout:g} s",
                    "seconds": round(time.time() - started, 2),
                }
                del active[i]
    return results


def fit_candidates(
    data,
    groups,
    outdir,
    composition=None,
    cif=None,
    jobs=None,
    timeout=300.0,
    rmin=1.5,
    rmax=20.0,
    rstep=0.02,
    qmax=None,
    calculator="auto",
    max_nfev=60,
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
        One sub-folder per candidate receives ``start.cif``,
        ``refined.cif``, ``fit.png`` and ``fit.dat``; the folder itself
        ``ranking.txt``, ``ranking.csv`` and ``ranking.json``.
    composition : str, optional
        Chemical formula; default: the data header's composition.
    cif : str or path, optional
        The user's structure (used for the groups it belongs to).
    jobs : int, optional
        Fits run at the same time (processes); default: CPU count,
        at most the number of candidates.
    timeout : float
        Seconds allowed per fit.
    rmin, rmax, rstep : float
        Fit range and point spacing (A).
    qmax : float, optional
        Overrides the data header's Qmax.
    calculator : {"auto", "builtin", "srreal"}
        PDF engine.
    max_nfev : int
        Function evaluations per refinement step.

    Returns
    -------
    list of dict
        One row per candidate, best Rw first (failed fits last), with
        keys ``rank``, ``number``, ``symbol``, ``probability``, ``rw``,
        ``cell``, ``nfree``, ``status``, ``message``, ``seconds``,
        ``notes``, ``folder``.

    Examples
    --------
    >>> rows = fit_candidates("Ni.gr", [225, 221, 227], "fits",
    ...                       timeout=60)  # doctest: +SKIP
    >>> [r["number"] for r in rows][:1]      # doctest: +SKIP
    [225]
    """
    from diffpy.sgpredict.refine.fitting import prepare_data
    from diffpy.sgpredict.refine.templates import folder_name

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    candidates = as_candidates(groups)
    from diffpy.sgpredict.refine.templates import usable_cif

    probe = prepare_data(data, rmin, rmax, rstep, qmax)  # fail early
    cif, cif_note = usable_cif(cif)
    if cif_note:
        probe.notes.append(cif_note)
    header = _header(data)
    if composition is None:
        composition = header.get("composition")
    tasks = []
    for cand in candidates:
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
            }
        )
    if jobs is None:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(int(jobs), len(tasks)))
    results = _run_all(tasks, jobs, float(timeout))
    rows = []
    for cand, task, res in zip(candidates, tasks, results):
        res = res or {"status": "failed", "message": "no result"}
        row = {
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
            "calculator": res.get("calculator"),
            "notes": _merge(probe.notes, res.get("notes") or []),
            "variables": res.get("variables"),
            "folder": task["folder"],
        }
        rows.append(row)
    rows.sort(
        key=lambda x: (x["rw"] is None, x["rw"] if x["rw"] is not None else 0)
    )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    _write_tables(rows, outdir)
    return rows


def _merge(first, second):
    out = list(first)
    out.extend(n for n in second if n not in out)
    return out


def _header(data):
    try:
        from diffpy.sgpredict.io import load_pdf

        meta = load_pdf(data).meta or {}
    except Exception:
        meta = {}
    out = {}
    comp = meta.get("composition")
    if comp:
        out["composition"] = str(comp)
    return out


def _fmt(value, fmt):
    return "-" if value is None else format(value, fmt)


def format_table(rows):
    """Return the ranking as an aligned text table.

    Examples
    --------
    >>> print(format_table([{"rank": 1, "number": 225, "symbol": "Fm-3m",
    ...     "probability": 0.9, "rw": 0.05, "cell": [3.52] * 3 + [90] * 3,
    ...     "nfree": 6, "status": "ok", "seconds": 2.0}]))
    ... # doctest: +NORMALIZE_WHITESPACE
    rank  group  symbol  prob   Rw      a      b      c      alpha  beta
      gamma  nfree  time_s  status
    1     225    Fm-3m   0.900  0.0500  3.520  3.520  3.520  90.00  90.00
      90.00  6      2.0     ok
    """
    head = (
        "rank",
        "group",
        "symbol",
        "prob",
        "Rw",
        "a",
        "b",
        "c",
        "alpha",
        "beta",
        "gamma",
        "nfree",
        "time_s",
        "status",
    )
    lines = [head]
    for row in rows:
        cell = row.get("cell") or [None] * 6
        lines.append(
            (
                str(row["rank"]),
                str(row["number"]),
                row["symbol"],
                _fmt(row.get("probability"), ".3f"),
                _fmt(row.get("rw"), ".4f"),
                *(_fmt(v, ".3f") for v in cell[:3]),
                *(_fmt(v, ".2f") for v in cell[3:]),
                _fmt(row.get("nfree"), "d"),
                _fmt(row.get("seconds"), ".1f"),
                row.get("status") or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
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


def _write_tables(rows, outdir):
    outdir = Path(outdir)
    (outdir / "ranking.txt").write_text(format_table(rows) + "\n")
    (outdir / "ranking.json").write_text(
        json.dumps(_jsonable(rows), indent=1) + "\n"
    )
    import csv

    with open(outdir / "ranking.csv", "w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(
            [
                "rank",
                "number",
                "symbol",
                "probability",
                "rw",
                "a",
                "b",
                "c",
                "alpha",
                "beta",
                "gamma",
                "nfree",
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
                    *[("" if v == "" else f"{v:.5f}") for v in cell],
                    "" if row["nfree"] is None else row["nfree"],
                    row.get("seconds"),
                    row.get("status"),
                    row.get("start") or "",
                    row.get("message") or "",
                ]
            )
