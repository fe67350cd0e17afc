"""Evaluation of a model folder on held-out data.

:func:`evaluate` scores a model on

* an HDF5 dataset (:mod:`diffpy.sgpredict.dataset`),
* a folder of CIF files, whose PDFs are computed at the paper's Table-2
  settings (labels from a CSV with ``file`` and ``sg_number`` columns,
  e.g. ``structures.csv``, or from spglib), or
* a folder of measured ``.gr`` files with a CSV of known groups
  (columns ``file`` and ``sg_number``, as ``exp_pdfs.csv``).

Every PDF goes through :meth:`diffpy.sgpredict.predictor.Predictor.prepare`
or :func:`diffpy.sgpredict.grid.to_model_input` and
:meth:`~diffpy.sgpredict.predictor.Predictor.predict_proba`, the path of
prediction, including its prior correction.

It reports top-1 ... top-6 accuracy and the gains between consecutive
k, accuracy per group, the confusion matrix and the most frequent
confusions with their group-subgroup relation, and writes two figures.
With ``exclude_training="all"`` (or ``True``) rows whose (reduced
formula, group) pair or prototype key occurs in the model's
``training_set.json``, or is that of a prototype behind its rows, are
left out first.  ``exclude_training="seeds"`` leaves out only the real
structures used in training: the prototypes that seeded its rows and
the CIFs it was built from; a generated crystal that happens to share a
formula and group with an evaluation sample is not that sample.

Examples
--------
>>> res = evaluate("model/", "real_eval.h5")            # doctest: +SKIP
>>> round(res["topk"][0], 3)                           # doctest: +SKIP
0.25
"""

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.metrics import (
    expected_calibration_error,
    reliability_curve,
    topk_accuracy,
)

__all__ = [
    "topk_accuracy",
    "canonical_formula",
    "confusion_matrix",
    "top_confusions",
    "load_eval_set",
    "evaluate",
    "format_report",
]

#: Prior options: "train" is the network's own output (no correction).
PRIOR_CHOICES = ("icsd", "paper", "uniform", "train", "none")


def _parse_formula(text):
    """Return element counts of a formula with nested parentheses."""
    stack = [Counter()]
    pos = 0
    token = re.compile(r"([A-Z][a-z]?|\(|\)|\[|\])(\d*\.?\d*)")
    while pos < len(text):
        m = token.match(text, pos)
        if m is None:
            raise ValueError(text)
        sym, num = m.groups()
        mult = float(num) if num else 1.0
        if sym in "([":
            if num:
                raise ValueError(text)
            stack.append(Counter())
        elif sym in ")]":
            if len(stack) == 1:
                raise ValueError(text)
            inner = stack.pop()
            for el, n in inner.items():
                stack[-1][el] += n * mult
        else:
            stack[-1][sym] += mult
        pos = m.end()
    if len(stack) != 1 or not stack[0]:
        raise ValueError(text)
    return stack[0]


def canonical_formula(formula):
    """Return a reduced formula with elements in alphabetical order.

    Parentheses are expanded and integer counts divided by their
    greatest common divisor; a text that is not a formula is returned
    stripped as it is.

    Examples
    --------
    >>> canonical_formula("Ti2O4"), canonical_formula("O2Ti")
    ('O2Ti', 'O2Ti')
    >>> canonical_formula("NaCl"), canonical_formula("Na2LiB5(PO7)2")
    ('ClNa', 'B5LiNa2O14P2')
    """
    text = str(formula).replace(" ", "")
    try:
        counts = _parse_formula(text)
    except ValueError:
        return str(formula).strip()
    values = list(counts.values())
    if all(abs(v - round(v)) < 1e-6 for v in values):
        g = 0
        for v in values:
            g = math.gcd(g, int(round(v)))
        values = [int(round(v)) // max(g, 1) for v in values]
    else:
        values = [round(v, 4) for v in values]
    out = ""
    for el, v in sorted(zip(counts, values)):
        out += el + ("" if v == 1 else f"{v:g}")
    return out


def confusion_matrix(y_true, y_pred, nclasses=45):
    """Return counts ``C[i, j]`` of true class i predicted as j.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1], 2).tolist()
    [[1, 1], [0, 1]]
    """
    c = numpy.zeros((nclasses, nclasses), dtype=int)
    numpy.add.at(c, (numpy.asarray(y_true), numpy.asarray(y_pred)), 1)
    return c


def top_confusions(cm, labels, n=10):
    """List the most frequent off-diagonal entries of a confusion matrix.

    Returns
    -------
    list of dict
        ``true``, ``predicted`` (group numbers), ``count``, and
        ``relation``: ``"predicted is a subgroup"``, ``"predicted is a
        supergroup"``, ``"both"`` (klassengleiche cycles) or ``"none"``.

    Examples
    --------
    >>> cm = numpy.zeros((45, 45), int)
    >>> cm[spacegroups.index_of(14), spacegroups.index_of(2)] = 3
    >>> top_confusions(cm, spacegroups.NUMBERS)[0]["relation"]
    'predicted is a subgroup'
    """
    off = numpy.array(cm, copy=True)
    numpy.fill_diagonal(off, 0)
    order = numpy.argsort(off, axis=None)[::-1]
    out = []
    for flat in order[:n]:
        i, j = numpy.unravel_index(flat, off.shape)
        if off[i, j] <= 0:
            break
        t, p = int(labels[i]), int(labels[j])
        sub = spacegroups.is_subgroup(p, t)
        sup = spacegroups.is_subgroup(t, p)
        relation = (
            "both"
            if sub and sup
            else (
                "predicted is a subgroup"
                if sub
                else "predicted is a supergroup" if sup else "none"
            )
        )
        out.append(
            {
                "true": t,
                "predicted": p,
                "count": int(off[i, j]),
                "relation": relation,
            }
        )
    return out


# -- reading evaluation sets -------------------------------------------------
def _read_csv(path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such CSV file")
    with open(path, newline="") as fp:
        rows = list(csv.DictReader(fp))
    if not rows or "file" not in rows[0] or "sg_number" not in rows[0]:
        raise InputError(
            f"{path}: the CSV needs the columns 'file' and 'sg_number'"
        )
    return rows


def _find_file(folder, csv_path, name):
    """Locate a CSV ``file`` entry relative to the folder or the CSV."""
    for base in (Path(folder), Path(csv_path).parent):
        for cand in (base / name, base / Path(name).name):
            if cand.is_file():
                return cand
    return None


def _sg_from_row(row, path):
    try:
        return int(float(row["sg_number"]))
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: sg_number {row.get('sg_number')!r} is not a number"
        ) from None


def _formula_of(row):
    for key in ("formula", "reduced_formula", "material"):
        text = (row.get(key) or "").strip()
        if text:
            first = text.split()[0]
            try:
                _parse_formula(first)
            except ValueError:
                continue
            return canonical_formula(first)
    return ""


def _hdf5_set(path, grid, min_rmax, ids=None):
    from diffpy.sgpredict.dataset import load_arrays
    from diffpy.sgpredict.grid import to_model_input

    arrays = load_arrays(path, ["r", "G", "sg_number", "formula", "id"])
    n = len(arrays["id"])
    try:
        proto = load_arrays(path, ["prototype"])["prototype"]
    except InputError:
        proto = numpy.full(n, "")
    try:
        neutron = load_arrays(path, ["settings/neutron"])["settings/neutron"]
    except InputError:
        neutron = numpy.zeros(n)
    if ids is not None:
        pick = numpy.isin(numpy.asarray(arrays["id"]).astype(str), ids)
        arrays = {k: (v[pick] if k != "r" else v) for k, v in arrays.items()}
        proto, neutron = proto[pick], neutron[pick]
    r = arrays["r"]
    xs, nv = [], []
    for row in arrays["G"]:
        x, n = to_model_input(r, row, grid, min_rmax)
        xs.append(x)
        nv.append(n)
    return {
        "name": numpy.asarray(arrays["id"]).astype(str),
        "x": numpy.array(xs, dtype=numpy.float32).reshape(-1, grid.npoints),
        "sg_number": numpy.asarray(arrays["sg_number"], dtype=int),
        "formula": numpy.array(
            [canonical_formula(f) for f in arrays["formula"]], dtype=object
        ),
        "prototype": numpy.asarray(proto).astype(str),
        "radiation": numpy.nan_to_num(numpy.asarray(neutron, float)),
        "material": numpy.asarray(arrays["id"]).astype(str),
    }


def _radiation_of(row):
    """0 for X-rays, 1 for neutrons, NaN when the CSV does not say."""
    text = str(row.get("radiation", "")).strip().lower()
    if text.startswith("neutron"):
        return 1.0
    if text.startswith(("x", "synchrotron")):
        return 0.0
    return numpy.nan


def _gr_set(folder, csv_path, predictor):
    rows = _read_csv(csv_path)
    names, xs, sgs, forms, unreadable = [], [], [], [], []
    rads, mats = [], []
    for row in rows:
        path = _find_file(folder, csv_path, row["file"])
        if path is None:
            raise InputError(
                f"{csv_path}: file {row['file']!r} not found in {folder}"
            )
        try:
            name, x, _, _ = predictor.prepare(str(path))
        except InputError as exc:
            unreadable.append(
                {"name": Path(row["file"]).name, "reason": str(exc)}
            )
            continue
        names.append(Path(row["file"]).name)
        xs.append(x)
        sgs.append(_sg_from_row(row, csv_path))
        forms.append(_formula_of(row))
        rads.append(_radiation_of(row))
        mats.append(row.get("group") or row.get("material") or names[-1])
    return {
        "name": numpy.array(names),
        "x": numpy.array(xs, dtype=numpy.float32),
        "sg_number": numpy.array(sgs, dtype=int),
        "formula": numpy.array(forms, dtype=object),
        "prototype": numpy.full(len(names), ""),
        "radiation": numpy.array(rads, dtype=float),
        "material": numpy.array(mats, dtype=str),
        "unreadable": unreadable,
    }


def _cif_set(folder, csv_path, grid, min_rmax, radiation="xray"):
    from diffpy.sgpredict.grid import to_model_input

    try:
        from diffpy.sgpredict.pdfcalc import calculate_pdf
    except ImportError as exc:
        raise InputError(
            f"computing PDFs of CIFs needs diffpy.sgpredict.pdfcalc ({exc})"
        ) from None
    if csv_path is not None:
        items = []
        for row in _read_csv(csv_path):
            path = _find_file(folder, csv_path, row["file"])
            if path is not None:
                items.append(
                    (path, _sg_from_row(row, csv_path), _formula_of(row))
                )
        if not items:
            raise InputError(
                f"{csv_path}: none of its files were found in {folder}"
            )
    else:
        from diffpy.sgpredict.structures.cifs import SkipStructure, read_cif

        items = []
        for path in sorted(Path(folder).glob("*.cif")):
            try:
                meta = read_cif(str(path)).meta
            except SkipStructure:
                continue
            items.append(
                (
                    path,
                    int(meta["sg_number"]),
                    canonical_formula(meta["formula"]),
                )
            )
    names, xs, sgs, forms, unreadable = [], [], [], [], []
    for path, sg, formula in items:
        try:
            r, g = calculate_pdf(str(path), scattering=radiation)
            x, _ = to_model_input(r, g, grid, min_rmax, Path(path).name)
        except Exception as exc:  # one bad structure must not stop the rest
            unreadable.append({"name": Path(path).name, "reason": str(exc)})
            continue
        names.append(Path(path).name)
        xs.append(x)
        sgs.append(sg)
        forms.append(formula)
    return {
        "name": numpy.array(names),
        "x": numpy.array(xs, dtype=numpy.float32),
        "sg_number": numpy.array(sgs, dtype=int),
        "formula": numpy.array(forms, dtype=object),
        "prototype": numpy.full(len(names), ""),
        "radiation": numpy.full(len(names), float(radiation == "neutron")),
        "material": numpy.array(names, dtype=str),
        "unreadable": unreadable,
    }


def load_eval_set(
    data, predictor, csv_path=None, ids=None, cif_radiation="xray"
):
    """Read an evaluation set into model inputs and labels.

    Parameters
    ----------
    data : str or Path
        HDF5 dataset, a folder of CIFs or a folder of ``.gr`` files.
    predictor : diffpy.sgpredict.predictor.Predictor
        Supplies the input grid and the reading path of measured data.
    csv_path : str or Path, optional
        Known groups (``file``, ``sg_number``); required for ``.gr``
        folders; looked for as ``<folder>.csv`` beside the folder when
        not given.  Its ``radiation`` column (``xray``/``neutron``) and
        its ``group`` (material or series) column are used when present.
    ids : collection of str, optional
        For a dataset: only these row ids.
    cif_radiation : {"xray", "neutron"}
        Radiation of the PDFs computed from CIFs.

    Returns
    -------
    dict
        ``name``, ``x`` (n, npoints), ``sg_number``, ``formula``
        (canonical, "" when unknown), ``prototype``, ``radiation`` (0
        X-ray, 1 neutron, NaN unknown), ``material`` (the unit that is
        counted once in material-balanced scores), ``kind``.
    """
    data = Path(data)
    grid, min_rmax = predictor.grid, predictor.min_rmax
    if data.is_file():
        out = _hdf5_set(data, grid, min_rmax, ids)
        out["kind"] = "hdf5"
        return out
    if not data.is_dir():
        raise InputError(f"{data}: no such file or folder")
    if csv_path is None:
        guess = data.parent / (data.name + ".csv")
        csv_path = guess if guess.is_file() else None
    grs = sorted(data.glob("*.gr"))
    cifs = sorted(data.glob("*.cif"))
    if grs and not cifs:
        if csv_path is None:
            raise InputError(
                f"{data}: measured PDFs need a CSV with their known groups "
                "(columns file, sg_number); give it with --csv"
            )
        out = _gr_set(data, csv_path, predictor)
        out["kind"] = "measured"
        return out
    if cifs:
        out = _cif_set(data, csv_path, grid, min_rmax, cif_radiation)
        out["kind"] = "cif"
        return out
    raise InputError(f"{data}: the folder holds no .gr or .cif files")


def _training_set(model_dir, seeds_only=False):
    path = Path(model_dir) / "training_set.json"
    if not path.is_file():
        raise InputError(
            f"{path}: missing; this model has no record of its training "
            "data, so --exclude-training cannot be applied"
        )
    from diffpy.sgpredict.structures.prototypes import seed_pairs

    info = json.loads(path.read_text())
    prototypes = set(info.get("prototypes", []))
    if seeds_only:
        # real structures only: CIF rows (keyed by their formula) and the
        # library prototypes; generated crystals (stat:...) are not
        prototypes = {p for p in prototypes if not str(p).startswith("stat:")}
        pairs = set()
        if info.get("cif_formula_sg"):
            pairs = {
                (canonical_formula(f), int(s))
                for f, s in info["cif_formula_sg"]
            }
    else:
        pairs = {(canonical_formula(f), int(s)) for f, s in info["formula_sg"]}
    # the structure types the prototype-driven rows were made from count
    # as seen in training too
    pairs |= {(canonical_formula(f), s) for f, s in seed_pairs(prototypes)}
    return pairs, prototypes


# -- evaluation ----------------------------------------------------------
def _heldout_ids(model_dir, name):
    path = Path(model_dir) / "heldout.json"
    if not path.is_file():
        raise InputError(
            f"{path}: missing; this model set no test rows aside (train "
            "with --test-fraction)"
        )
    sets = json.loads(path.read_text())
    if name not in sets:
        raise InputError(
            f"heldout={name!r}: the model has the test sets "
            f"{', '.join(sorted(sets))}"
        )
    return numpy.asarray(sets[name], dtype=str)


def _predict(predictor, x, radiation):
    """Probabilities; rows of unknown radiation get the model's average."""
    if radiation is None:
        return predictor.predict_proba(x)
    rad = numpy.asarray(radiation, dtype=float)
    known = numpy.isfinite(rad)
    probs = numpy.empty((len(x), len(predictor.labels)))
    if known.any():
        probs[known] = predictor.predict_proba(x[known], radiation=rad[known])
    if (~known).any():
        probs[~known] = predictor.predict_proba(x[~known])
    return probs


def evaluate(
    model_dir,
    data,
    *,
    csv_path=None,
    prior="icsd",
    exclude_training=False,
    output_dir=None,
    device="cpu",
    top_confusion=10,
    heldout=None,
    radiation="auto",
    tell_radiation=True,
):
    """Score a model on an evaluation set.

    Parameters
    ----------
    model_dir : str or Path
        Model folder written by :func:`diffpy.sgpredict.train.train`.
    data : str or Path
        HDF5 dataset, folder of CIFs or folder of ``.gr`` files.
    csv_path : str or Path, optional
        Known groups of the files of a folder.
    prior : {"icsd", "paper", "uniform", "train", "none"}
        Class prior the probabilities are corrected to (see
        :mod:`diffpy.sgpredict.predictor`); ``train`` and ``none`` keep
        the network's output.
    exclude_training : {False, "all", "seeds"}
        Leave out rows seen in training: ``"all"`` (or ``True``) by the
        (reduced formula, group) pairs and prototype keys of every
        training row and seed; ``"seeds"`` by those of the real
        structures used (prototype seeds and CIF rows) only.
    output_dir : str or Path, optional
        Where to write ``per_group.png``, ``confusion.png`` and
        ``evaluation.json``.
    device : str
        Torch device.
    top_confusion : int
        Number of confusions listed.
    heldout : {None, "random", "structure_type"}
        For a dataset: score only the rows of that test set, which
        :func:`diffpy.sgpredict.train.train` set aside (``heldout.json``
        in the model folder).
    radiation : {"auto", "xray", "neutron"}
        ``auto`` keeps every row; otherwise only rows of that radiation
        are scored, and PDFs of CIFs are computed with it.
    tell_radiation : bool
        Give the model the radiation each row was measured with; False
        lets a model that reads it average both.

    Returns
    -------
    dict
        ``n``, ``topk`` (top-1 ... top-6), ``gains`` (top-k minus
        top-(k-1)), ``per_group``, ``confusions``, ``confusion_matrix``,
        ``predictions``, ``excluded``, ``skipped`` (labels outside the
        45), ``unreadable`` (files that failed to load, with the reason),
        ``prior``, ``model``, ``data``, ``figures``.

    Raises
    ------
    InputError
        For unreadable data or an empty evaluation set.

    Examples
    --------
    >>> res = evaluate("model/", "shared/data/exp_pdfs",
    ...                csv_path="shared/data/exp_pdfs.csv")  # doctest: +SKIP
    >>> res["topk"][5]                                       # doctest: +SKIP
    0.62
    """
    from diffpy.sgpredict.predictor import Predictor

    if prior not in PRIOR_CHOICES:
        raise InputError(
            f"unknown prior {prior!r}; use {', '.join(PRIOR_CHOICES)}"
        )
    predictor = Predictor(
        model_dir, prior="none" if prior == "train" else prior, device=device
    )
    labels = predictor.labels
    ids = None
    if heldout is not None:
        ids = _heldout_ids(model_dir, heldout)
    if radiation not in ("auto", "xray", "neutron"):
        raise InputError(f"radiation={radiation!r}: use auto, xray or neutron")
    ev = load_eval_set(
        data,
        predictor,
        csv_path,
        ids=ids,
        cif_radiation="neutron" if radiation == "neutron" else "xray",
    )
    n_read = len(ev["sg_number"])
    known = numpy.isin(ev["sg_number"], labels)
    skipped = [
        {"name": str(nm), "sg_number": int(s)}
        for nm, s in zip(ev["name"][~known], ev["sg_number"][~known])
    ]
    keep = known.copy()
    if radiation != "auto":
        keep &= ev["radiation"] == float(radiation == "neutron")
    excluded = []
    if exclude_training:
        if exclude_training not in (True, "all", "seeds"):
            raise InputError(
                f"exclude_training={exclude_training!r}: use 'all' or "
                "'seeds'"
            )
        pairs, protos = _training_set(
            model_dir, seeds_only=exclude_training == "seeds"
        )
        for i in numpy.flatnonzero(keep):
            f, s = ev["formula"][i], int(ev["sg_number"][i])
            p = ev["prototype"][i]
            if (f and (f, s) in pairs) or (p and p in protos):
                keep[i] = False
                excluded.append(str(ev["name"][i]))
    idx = numpy.flatnonzero(keep)
    if len(idx) == 0:
        raise InputError(
            f"{data}: no rows left to evaluate ({n_read} read, "
            f"{len(skipped)} outside the model's groups, {len(excluded)} "
            "in the training set)"
        )
    rad = ev["radiation"][idx] if tell_radiation else None
    probs = _predict(predictor, ev["x"][idx], rad)
    lab_index = {n: i for i, n in enumerate(labels)}
    y = numpy.array([lab_index[int(s)] for s in ev["sg_number"][idx]])
    topk = topk_accuracy(probs, y, 6)
    materials = ev["material"][idx]
    material_topk = numpy.mean(
        [
            topk_accuracy(probs[materials == m], y[materials == m], 6)
            for m in numpy.unique(materials)
        ],
        axis=0,
    )
    gains = numpy.diff(numpy.concatenate([[0.0], topk]))
    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(labels))
    order = numpy.argsort(-probs, axis=1)[:, :6]
    ranks = (probs > probs[numpy.arange(len(y)), y][:, None]).sum(1)
    train_counts = predictor.card.get("prior", {}).get("train_counts")
    per_group = []
    for c, number in enumerate(labels):
        rows = y == c
        if not rows.any():
            continue
        per_group.append(
            {
                "number": int(number),
                "symbol": spacegroups.get(number).symbol,
                "crystal_system": spacegroups.get(number).crystal_system,
                "n": int(rows.sum()),
                "top1": float((ranks[rows] < 1).mean()),
                "top6": float((ranks[rows] < 6).mean()),
                "train_count": (
                    int(train_counts[c]) if train_counts is not None else None
                ),
            }
        )
    predictions = [
        {
            "name": str(ev["name"][i]),
            "true": int(ev["sg_number"][i]),
            "rank": int(ranks[k]) + 1,
            "top6": [int(labels[j]) for j in order[k]],
            "p_true": float(probs[k, y[k]]),
        }
        for k, i in enumerate(idx)
    ]
    result = {
        "model": str(model_dir),
        "data": str(data),
        "kind": ev["kind"],
        "prior": prior,
        "n": int(len(idx)),
        "n_read": int(n_read) + len(ev.get("unreadable", [])),
        "topk": [float(v) for v in topk],
        "n_materials": int(len(numpy.unique(materials))),
        "material_topk": [float(v) for v in material_topk],
        "ece": expected_calibration_error(probs, y),
        "heldout": heldout,
        "radiation": radiation,
        "tell_radiation": bool(tell_radiation),
        "gains": [float(v) for v in gains],
        "per_group": per_group,
        "confusions": top_confusions(cm, labels, top_confusion),
        "confusion_matrix": cm.tolist(),
        "predictions": predictions,
        "excluded": excluded,
        "exclude_training": (
            "all" if exclude_training is True else exclude_training or None
        ),
        "skipped": skipped,
        "unreadable": ev.get("unreadable", []),
        "figures": {},
    }
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        result["figures"] = {
            "per_group": str(plot_per_group(per_group, out / "per_group.png")),
            "confusion": str(
                plot_confusion(cm, labels, out / "confusion.png")
            ),
            "reliability": str(
                plot_reliability(probs, y, out / "reliability.png")
            ),
        }
        (out / "evaluation.json").write_text(json.dumps(result, indent=1))
    return result


# -- figures -------------------------------------------------------------
def record_metrics(model_dir, name, result):
    """Store an evaluation's accuracies in the model's card.

    Parameters
    ----------
    model_dir : str or Path
        The model folder whose ``card.json`` is updated.
    name : str
        Key under ``metrics`` (for example ``"real_structures"``).
    result : dict
        What :func:`evaluate` returned.

    Returns
    -------
    dict
        The stored entry: ``topk`` (top-1 ... top-6), ``n``, ``data``,
        ``prior``, ``excluded`` (rows left out as seen in training).

    Examples
    --------
    >>> res = evaluate("model/", "real.h5", exclude_training=True)
    ...                                                 # doctest: +SKIP
    >>> record_metrics("model/", "real_structures", res)  # doctest: +SKIP
    """
    card_path = Path(model_dir) / "card.json"
    card = json.loads(card_path.read_text())
    entry = {
        "topk": [round(float(v), 4) for v in result["topk"]],
        "n": int(result["n"]),
        "data": str(result["data"]),
        "prior": result["prior"],
        "excluded": len(result.get("excluded", [])),
        "exclude_training": result.get("exclude_training"),
    }
    card.setdefault("metrics", {})[name] = entry
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return entry


def _figure(size):
    """A matplotlib Figure not tied to pyplot (no backend is changed)."""
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def plot_per_group(per_group, path):
    """Plot top-1 and top-6 accuracy per group against group number.

    Marker area follows the training count of the group (from the model
    card), colour the crystal system.

    Returns
    -------
    Path
        The written PNG.
    """
    from matplotlib import colormaps

    colours = colormaps["tab10"]
    fig = _figure((9, 4.5))
    ax = fig.subplots()
    counts = [g["train_count"] or 0 for g in per_group]
    cmax = max(max(counts), 1)
    for sysi, name in enumerate(spacegroups.CRYSTAL_SYSTEMS):
        rows = [g for g in per_group if g["crystal_system"] == name]
        if not rows:
            continue
        num = [g["number"] for g in rows]
        size = [20 + 280 * (g["train_count"] or 0) / cmax for g in rows]
        ax.scatter(
            num,
            [g["top1"] for g in rows],
            s=size,
            color=colours(sysi),
            alpha=0.8,
            label=name,
        )
        ax.scatter(
            num,
            [g["top6"] for g in rows],
            s=size,
            facecolors="none",
            edgecolors=colours(sysi),
            alpha=0.8,
        )
    ax.set_xlabel("space-group number")
    ax.set_ylabel("accuracy (filled: top-1, open: top-6)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(0, 232)
    ax.legend(fontsize=8, loc="lower right", markerscale=0.5)
    ax.set_title("accuracy per group (marker area: training rows)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_confusion(cm, labels, path):
    """Plot the row-normalised confusion matrix.

    Returns
    -------
    Path
        The written PNG.
    """
    cm = numpy.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    frac = numpy.divide(cm, rows, out=numpy.zeros_like(cm), where=rows > 0)
    fig = _figure((8.5, 7.5))
    ax = fig.subplots()
    im = ax.imshow(frac, cmap="viridis", vmin=0, vmax=1)
    ticks = numpy.arange(len(labels))
    names = [spacegroups.get(n).symbol for n in labels]
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=6)
    ax.set_xlabel("predicted (top-1)")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, label="fraction of the true group")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_reliability(probs, y, path, nbins=15):
    """Reliability diagram: accuracy of the top group against confidence.

    Returns
    -------
    Path
        The written PNG.
    """
    rc = reliability_curve(probs, y, nbins)
    fig = _figure((4.8, 4.5))
    ax = fig.subplots()
    centres = 0.5 * (rc["edges"][1:] + rc["edges"][:-1])
    width = rc["edges"][1] - rc["edges"][0]
    ok = rc["count"] > 0
    ax.bar(
        centres[ok],
        rc["accuracy"][ok],
        width=width * 0.9,
        color="tab:blue",
        alpha=0.8,
        label="accuracy",
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.plot(
        rc["confidence"][ok],
        rc["accuracy"][ok],
        "o",
        color="tab:orange",
        ms=3,
    )
    ax.set_xlabel("probability of the top group")
    ax.set_ylabel("share right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ece = expected_calibration_error(probs, y, nbins)
    ax.set_title(f"reliability (ECE {ece:.3f}, n = {len(y)})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def format_report(result):
    """Return the evaluation summary as plain text.

    Examples
    --------
    >>> print(format_report({"model": "m", "data": "d", "prior": "icsd",
    ...     "n": 2, "n_read": 2, "topk": [0.5] * 6, "gains": [0.5] + [0] * 5,
    ...     "excluded": [], "skipped": [], "confusions": [],
    ...     "per_group": []}).splitlines()[0])
    model m on d (2 of 2 rows, prior icsd)
    """
    lines = [
        f"model {result['model']} on {result['data']} ({result['n']} of "
        f"{result['n_read']} rows, prior {result['prior']})"
    ]
    if result["excluded"]:
        lines.append(
            f"  {len(result['excluded'])} rows left out: in the training set"
        )
    if result["skipped"]:
        lines.append(
            f"  {len(result['skipped'])} rows left out: group not among the "
            "model's labels"
        )
    lines.append("  k      " + "".join(f"{k:>8d}" for k in range(1, 7)))
    lines.append(
        "  top-k  " + "".join(f"{100 * v:7.1f}%" for v in result["topk"])
    )
    lines.append(
        "  gain   " + "".join(f"{100 * v:7.1f}%" for v in result["gains"])
    )
    if result.get("n_materials") and result["n_materials"] < result["n"]:
        lines.append(
            f"  per material ({result['n_materials']}, each counted once)"
        )
        lines.append(
            "  top-k  "
            + "".join(f"{100 * v:7.1f}%" for v in result["material_topk"])
        )
    if result.get("ece") is not None:
        lines.append(
            f"  expected calibration error of the top group: "
            f"{result['ece']:.3f}"
        )
    for item in result.get("unreadable", []):
        lines.append(f"  left out, unreadable: {item['reason']}")
    if result["confusions"]:
        lines.append("  most frequent confusions (true -> predicted):")
        for c in result["confusions"]:
            t, p = spacegroups.get(c["true"]), spacegroups.get(c["predicted"])
            lines.append(
                f"    {t.symbol:>8s} ({t.number:3d}) -> {p.symbol:<8s} "
                f"({p.number:3d})  {c['count']:4d}  {c['relation']}"
            )
    return "\n".join(lines)
