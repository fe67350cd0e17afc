"""One candidate's refinement, as run in a worker process.

:func:`fit_task` takes a task (a plain dict: data file, group,
composition, limits, output folder), makes the starting structures of
every route (:func:`task_starts`), refines the most promising ones
within the task's budget with one BLAS thread
(:func:`~diffpy.sgpredict.runtime.blas_threads`: one fit runs per core),
keeps the best, writes
``start.cif``, ``refined.cif``, ``fit.png`` and ``fit.dat`` into the
task's folder and returns a plain-data row for the ranking.
Structures cross the process boundary as :func:`structure_to_dict`.

Examples
--------
>>> from diffpy.sgpredict.refine import settings
>>> from diffpy.sgpredict.refine.candidate_fit import (
...     structure_from_dict, structure_to_dict)
>>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
>>> len(structure_from_dict(structure_to_dict(ni)))
4
"""

import dataclasses
import time
import traceback
import warnings
from pathlib import Path

import numpy
from diffpy.structure import Atom, Lattice, Structure

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.refine.cifout import write_cif
from diffpy.sgpredict.refine.fitdata import prepare_data
from diffpy.sgpredict.refine.fitting import (
    adp_parameter_counts,
    fit_structure,
    is_anisotropic,
    profile_values,
    with_anisotropic_adps,
)
from diffpy.sgpredict.refine.plots import plot_fit
from diffpy.sgpredict.refine.score import combined_score, independent_points
from diffpy.sgpredict.refine.starting import (
    starting_structures,
    wyckoff_starts,
)
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.subgroups import to_subgroup
from diffpy.sgpredict.refine.work import (
    CAPPED_NOTE,
    ENUMERATION_BUDGET,
    WorkMeter,
)
from diffpy.sgpredict.runtime import blas_threads

__all__ = [
    "structure_to_dict",
    "structure_from_dict",
    "task_starts",
    "pick_starts",
    "ADP_MODES",
    "MAX_EXTRA_ADPS",
    "FIT_ERRORS",
    "fit_task",
]

#: ADP models of a fit: ``"iso"`` (one Uiso per orbit), ``"aniso"``
#: (the Uij the site symmetry allows, refined after the isotropic fit)
#: and ``"auto"`` (both; the anisotropic fit is kept when it lowers the
#: score of :func:`~diffpy.sgpredict.refine.score.combined_score`).
ADP_MODES = ("auto", "iso", "aniso")

#: ``adp="auto"`` skips the anisotropic fit when it would add more ADP
#: variables than this (large cells: slow, and rarely determined by a
#: PDF).
MAX_EXTRA_ADPS = 24

#: ``adp="auto"`` skips the anisotropic fit when less work than this
#: (seconds) is left of the candidate's budget: the least any fit gets.
#: A refit from a relative (a quarter of 20 s) has 1.9 s left after its
#: isotropic fit; at 2 s it never reached this stage and ranked with
#: isotropic ADPs against a relative's anisotropic fit.
ANISO_MIN_SECONDS = 1.0

#: What a single fit may raise (numerics, srfit, pyxtal, files); the row
#: of that candidate reports it and the other candidates go on.
FIT_ERRORS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    OSError,
    RuntimeError,
    TypeError,
    ValueError,
)


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
    out = {
        "lattice": [
            float(v)
            for v in (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
        ],
        "atoms": [
            [str(a.element), *[float(v) for v in a.xyz], float(a.Uisoequiv)]
            for a in structure
        ],
    }
    if is_anisotropic(structure):
        out["U"] = [numpy.asarray(a.U, float).tolist() for a in structure]
    return out


def structure_from_dict(data, isotropic=False):
    """Inverse of :func:`structure_to_dict`; with ``isotropic`` the
    anisotropic ADPs are dropped (each atom keeps its Uiso equivalent).

    Examples
    --------
    >>> from diffpy.sgpredict.refine.fitting import with_anisotropic_adps
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.5] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> d = structure_to_dict(with_anisotropic_adps(ni))
    >>> [structure_from_dict(d, iso)[0].anisotropy for iso in (False, True)]
    [True, False]
    """
    atoms = []
    for el, x, y, z, u in data["atoms"]:
        atom = Atom(el, [x, y, z])
        atom.Uisoequiv = u
        atoms.append(atom)
    stru = Structure(atoms, lattice=Lattice(*data["lattice"]))
    for i, atom in enumerate(stru):
        atom.label = f"{atom.element}{i + 1}"
        if "U" in data and not isotropic:
            atom.anisotropy = True
            atom.U = numpy.array(data["U"][i], float)
    return stru


def _supergroup_start(task):
    """The refined supergroup structure of a second-round task, written
    exactly in the candidate's setting."""
    sup = task["supergroup"]
    # isotropic: the anisotropic stage of the subgroup's task refines Uij
    stru = to_subgroup(
        structure_from_dict(sup["structure"], isotropic=True),
        sup["number"],
        task["number"],
    )
    info = spacegroups.get(task["number"])
    note = (
        f"refined {spacegroups.get(sup['number']).symbol} "
        f"({sup['number']}) structure, Rw {sup['rw']:.4f}, written "
        f"exactly in {info.symbol}"
    )
    return StartingStructure(
        task["number"],
        info.symbol,
        stru,
        "supergroup",
        f"from {sup['number']}",
        "refined",
        notes=[note],
        profile=dict(sup.get("profile") or {}),
    )


def _subgroup_start(task):
    """The refined structure of a better-fitting subgroup, symmetrized
    into the candidate's group (the ranking's second round)."""
    sub = task["subgroup"]
    info = spacegroups.get(task["number"])
    note = (
        f"refined {spacegroups.get(sub['number']).symbol} "
        f"({sub['number']}) structure, Rw {sub['rw']:.4f}, has the "
        f"symmetry of {info.symbol} within {sub['tolerance']:g} A "
        "(spglib) and was symmetrized into it"
    )
    return StartingStructure(
        task["number"],
        info.symbol,
        structure_from_dict(sub["structure"]),
        "subgroup",
        f"from {sub['number']}",
        "refined",
        notes=[note],
        profile=dict(sub.get("profile") or {}),
    )


def _resumed_start(task):
    """A fit that ran out of its budget, resumed from its own refined
    structure, scale and profile (the ranking's second round)."""
    own = task["resume"]
    info = spacegroups.get(task["number"])
    note = (
        f"fit resumed from its own refined structure (Rw {own['rw']:.4f}), "
        "which ran out of its budget while it fitted"
    )
    return StartingStructure(
        task["number"],
        info.symbol,
        structure_from_dict(own["structure"], isotropic=True),
        own["start_source"] or "resumed",
        own["start"] or "resumed",
        "refined",
        notes=[note],
        profile=dict(own.get("profile") or {}),
    )


def _enumerated_in_cell(task, data, meter, start):
    """Wyckoff enumeration of the candidate's composition in the cell
    of its supergroup's structure written in its setting (``start``),
    when the second round gave the task an enumeration budget.

    A subgroup structure need not be a small distortion of the
    supergroup's structure (its atoms may order on other sites), but
    its cell is close to the supergroup's cell: the enumeration of
    Li2Ti(OF3)2 in C2/m (10 s, three seeds) reached quick-fit Rw
    0.047-0.069 in the cell of its P-3m1 fit (Rw 0.14), 0.075-0.46
    from the grid of cell shapes, against 0.05 for the true structure
    (scratch ``seeded.py``)."""
    budget = task.get("enumerate_budget", 0.0)
    if not (budget > 0 and task.get("composition")):
        return [], []
    options = dict(
        budget=budget,
        keep=2,
        rng=numpy.random.default_rng(task.get("seed", 0)),
        uiso=DEFAULT_UISO,
        meter=meter,
        cells=[start.structure.lattice.abcABG()],
    )
    found, notes = wyckoff_starts(
        task["number"], task["composition"], data, options
    )
    sup = task["supergroup"]
    where = (
        f"enumerated in the cell of the refined "
        f"{spacegroups.get(sup['number']).symbol} ({sup['number']}) "
        f"structure, Rw {sup['rw']:.4f}"
    )
    for item in found:
        item.notes = [where] + item.notes
    return found, notes


def task_starts(task, data, meter=None):
    """Starting structures of a task: its routes or a relative's
    (``meter`` counts the enumeration's work).

    Returns
    -------
    starts : list of StartingStructure
    notes : list of str
        Routes that gave nothing, and why.
    """
    if task.get("supergroup"):
        start = _supergroup_start(task)
        found, notes = _enumerated_in_cell(task, data, meter, start)
        return [start] + found, notes
    if task.get("subgroup"):
        return [_subgroup_start(task)], []
    if task.get("resume"):
        return [_resumed_start(task)], []
    rng = numpy.random.default_rng(task.get("seed", 0))
    return starting_structures(
        task["number"],
        composition=task["composition"],
        cif=task["cif"],
        data=data,
        enumerate_budget=task.get("enumerate_budget", ENUMERATION_BUDGET),
        rng=rng,
        library=task.get("library"),
        meter=meter,
        known=task.get("known", True),
    )


def pick_starts(starts, limit):
    """At most ``limit`` starts, one per route first.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> starts = [S(source="prototype", n=1), S(source="prototype", n=2),
    ...           S(source="wyckoff", n=3)]
    >>> [s.n for s in pick_starts(starts, 2)]
    [1, 3]
    """
    first, rest, seen = [], [], set()
    for start in starts:
        (rest if start.source in seen else first).append(start)
        seen.add(start.source)
    return (first + rest)[:limit]


def _fit(task, data, start, seconds, meter, max_nfev=None):
    """:func:`fit_structure` with the task's engine, at least 1 s of
    work on ``meter`` and the task's function evaluations unless
    ``max_nfev`` is given."""
    return fit_structure(
        data,
        start,
        calculator=task["calculator"],
        timeout=max(seconds, 1.0),
        max_nfev=max_nfev or task["max_nfev"],
        meter=meter,
    )


def _refine_best(task, data, starts, meter):
    """Refine the starts within the task's budget (``task["timeout"]``
    seconds of work on ``meter``,
    :class:`~diffpy.sgpredict.refine.work.WorkMeter`); keep the best.

    With several starts each gets a short refinement (a quarter of the
    function evaluations) and the best one a full one, which goes on
    from where its short one ended (measured alpha-ZrP, two known
    structures: Rw 0.179 in 20 s, 0.206 when the full fit started
    again from the start).

    Returns
    -------
    start : StartingStructure
    res : dict
        :func:`~diffpy.sgpredict.refine.fitting.fit_structure`'s result.
    tried : list of dict
        Route, start name and Rw of every start refined.
    """
    tried = []
    best = None
    quick = max(10, task["max_nfev"] // 4) if len(starts) > 1 else None
    # a single start's fit leaves half the budget to the anisotropic
    # stage, or takes it all when that stage will not run
    aniso = _anisotropic_extra(task, starts[0]) is not None
    share = 2 if quick or aniso else 1
    budget = task["timeout"]
    for start in starts:
        left = budget - meter.now() - 1.0
        if left < 1.0 and best is not None:
            break
        start.initial = structure_to_dict(start.structure)
        res = _fit(task, data, start, left / share, meter, quick)
        tried.append(
            {"route": start.source, "start": start.name, "rw": res["rw"]}
        )
        if best is None or res["rw"] < best[1]["rw"]:
            best = (start, res)
    start, res = best
    if quick:
        # the full fit goes on from where the best short one ended
        left = budget - meter.now() - 1.0
        res2 = _fit(task, data, _continued(start, res), left, meter)
        if res2["rw"] <= res["rw"]:
            res = res2
    start, res = _anisotropic_stage(task, data, start, res, meter, tried)
    return start, res, tried


def _continued(start, res):
    """The start of a fit that goes on from a fit's result: its refined
    structure, scale and profile, the start's route and name."""
    return dataclasses.replace(
        start,
        structure=res["structure"],
        profile=profile_values(res.get("variables") or {}),
    )


def _anisotropic_extra(task, start, structure=None):
    """ADP variables that :func:`_anisotropic_stage` adds to a fit of
    ``structure`` (default the start's), or None when, time aside, it
    does not run: never with ``task["adp"]`` "iso", always with
    "aniso", with "auto" when the site symmetries allow between 1 and
    :data:`MAX_EXTRA_ADPS` extra variables."""
    mode = task.get("adp", "auto")
    if mode == "iso":
        return None
    n_iso, n_aniso = adp_parameter_counts(
        structure or start.structure, start.number
    )
    extra = n_aniso - n_iso
    if mode == "auto" and not 0 < extra <= MAX_EXTRA_ADPS:
        return None
    return extra


def _anisotropic_stage(task, data, start, res, meter, tried):
    """Refine the best isotropic fit again with anisotropic ADPs.

    ``task["adp"]`` ``"iso"``: nothing; ``"aniso"``: the anisotropic fit
    is kept; ``"auto"``: it is kept when it lowers the BIC-like score
    (:func:`~diffpy.sgpredict.refine.score.combined_score`, the same
    rule that ranks the candidates), and it is skipped when the site
    symmetries allow no extra ADP variable or more than
    :data:`MAX_EXTRA_ADPS`, or less than :data:`ANISO_MIN_SECONDS` of
    the candidate's budget
    is left (it gets what the isotropic fits left).  The starting
    structure of an anisotropic fit (``start.cif``) is the refined
    isotropic one with its ADPs written as tensors.
    """
    mode = task.get("adp", "auto")
    # what the isotropic fits left of the candidate's budget
    left = task["timeout"] - meter.now() - 1.0
    extra = _anisotropic_extra(task, start, res["structure"])
    if extra is None or (mode == "auto" and left < ANISO_MIN_SECONDS):
        return start, res
    aniso = StartingStructure(
        start.number,
        start.symbol,
        with_anisotropic_adps(res["structure"]),
        start.source,
        start.name,
        start.licence,
        start.scale,
        notes=list(start.notes),
        profile=profile_values(res.get("variables") or {}),
    )
    aniso.initial = structure_to_dict(aniso.structure)
    try:
        ares = _fit(task, data, aniso, left, meter)
    except FIT_ERRORS as exc:  # the isotropic fit stands
        res["notes"] = res["notes"] + [
            f"anisotropic ADPs failed ({type(exc).__name__}: {exc}); "
            "isotropic fit kept"
        ]
        return start, res
    tried.append({"route": "anisotropic ADPs", "start": start.name,
                  "rw": ares["rw"]})  # fmt: skip
    n_eff = independent_points(data.r[0], data.r[-1], data.qmax)
    keep = mode == "aniso" or combined_score(
        ares["rw"], ares["nfree"], None, n_eff
    ) < combined_score(res["rw"], res["nfree"], None, n_eff)
    words = (
        f"anisotropic ADPs (+{extra} variables): Rw {res['rw']:.4f} -> "
        f"{ares['rw']:.4f}"
    )
    if keep:
        ares["notes"] = ares["notes"] + [words + "; kept"]
        ares["rw_iso"], ares["nfree_iso"] = res["rw"], res["nfree"]
        return aniso, ares
    res["notes"] = res["notes"] + [words + "; not kept (score)"]
    return start, res


def _write_outputs(folder, start, res):
    """Write ``start.cif``, ``refined.cif`` (in the candidate's group),
    ``fit.png`` and ``fit.dat``."""
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


def fit_task(task):
    """Make the starts of one candidate, refine them, write the files.

    A batch boundary: whatever one candidate's fit raises among
    :data:`FIT_ERRORS` (and every :class:`SgpredictError`) is recorded
    in its row (``status`` ``"failed"``, ``message``, ``traceback``)
    so that one broken candidate does not end the ranking of the others.

    Parameters
    ----------
    task : dict
        Made by :func:`diffpy.sgpredict.refine.ranking.fit_candidates`.

    Returns
    -------
    dict
        ``status``, ``message``, ``seconds`` and, after a fit, ``rw``,
        ``cell``, ``nfree``, ``rw_iso`` and ``nfree_iso`` (of the
        isotropic fit; equal to ``rw`` and ``nfree`` unless anisotropic
        ADPs were kept), ``variables``, ``calculator``, ``start``,
        ``start_source``, ``tried``, ``notes``, ``png``, ``structure``.
    """
    t0 = time.time()
    meter = WorkMeter()
    folder = Path(task["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    row = {"status": "failed", "message": ""}
    try:
        with warnings.catch_warnings(), blas_threads(1):
            warnings.simplefilter("ignore")
            data = prepare_data(
                task["data"],
                task["rmin"],
                task["rmax"],
                task["rstep"],
                task["qmax"],
                task.get("radiation"),
            )
            starts, route_notes = task_starts(task, data, meter)
            starts = pick_starts(starts, task.get("max_starts", 3))
            start, res, tried = _refine_best(task, data, starts, meter)
            if meter.capped:
                res["notes"] = res["notes"] + [CAPPED_NOTE]
            _write_outputs(folder, start, res)
        row.update(
            status="stopped" if res["stopped"] else "ok",
            rw=res["rw"],
            cell=res["cell"],
            nfree=res["nfree"],
            rw_iso=res.get("rw_iso", res["rw"]),
            nfree_iso=res.get("nfree_iso", res["nfree"]),
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
    except FIT_ERRORS as exc:  # one broken fit must not stop the others
        row["message"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["seconds"] = round(time.time() - t0, 2)
    return row
