"""Evaluation of a model folder on held-out data.

:func:`evaluate` scores a model on an evaluation set
(:func:`diffpy.sgpredict.evalsets.load_eval_set`):

* an HDF5 dataset (:mod:`diffpy.sgpredict.dataset`), optionally only
  the test rows its training set aside,
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
confusions with their group-subgroup relation, the calibration error,
and writes three figures (:mod:`diffpy.sgpredict.evalplots`).  With
``exclude_training="all"`` (or ``True``) rows whose (formula, group)
key (:func:`diffpy.sgpredict.chemistry.formula_key`) or prototype key
occurs in the model's ``training_set.json``, or is that of a prototype
behind its rows, are left out first.  ``exclude_training="seeds"``
leaves out only the real structures used in training: the prototypes
that seeded its rows and the CIFs it was built from; a generated
crystal that happens to share a formula and group with an evaluation
sample is not that sample.

Examples
--------
>>> res = evaluate("model/", "real_eval.h5")            # doctest: +SKIP
>>> round(res["topk"][0], 3)                           # doctest: +SKIP
0.25
"""

import json
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.evalplots import (
    plot_confusion,
    plot_per_group,
    plot_reliability,
)
from diffpy.sgpredict.evalsets import (
    heldout_ids,
    load_eval_set,
    training_keys,
)
from diffpy.sgpredict.metrics import (
    confusion_matrix,
    expected_calibration_error,
    top_confusions,
    topk_accuracy,
    true_rank,
    weighted_topk_accuracy,
)
from diffpy.sgpredict.predictor import Predictor

__all__ = [
    "evaluate",
    "format_report",
    "PRIOR_CHOICES",
    "COMPOSITION_CHOICES",
    "WEIGHT_CHOICES",
]

#: Prior options: "train" is the network's own output (no correction).
PRIOR_CHOICES = ("icsd", "paper", "uniform", "train", "none")
#: What the predictor is told of each row's composition.
COMPOSITION_CHOICES = (None, "filter", "prior")
#: Group frequencies a score can be weighted to (``weight_groups``).
WEIGHT_CHOICES = (None, "icsd", "paper")


def _predict(predictor, x, radiation, formulas=None):
    """Probabilities; rows of unknown radiation get the model's average.

    ``formulas`` (one per row, or None) reach models that read the
    number of species, as ``predict`` passes a composition.
    """
    if radiation is None:
        return predictor.predict_proba(x, composition=formulas)
    rad = numpy.asarray(radiation, dtype=float)
    known = numpy.isfinite(rad)
    probs = numpy.empty((len(x), len(predictor.labels)))
    for rows, value in ((known, rad), (~known, None)):
        if rows.any():
            probs[rows] = predictor.predict_proba(
                x[rows],
                radiation=None if value is None else value[rows],
                composition=None if formulas is None else formulas[rows],
            )
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
    composition=None,
    weight_groups=None,
    neighbours=True,
):
    """Score a model on an evaluation set.

    Parameters
    ----------
    model_dir : str or Path
        Model folder written by :func:`diffpy.sgpredict.training.train`.
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
        :func:`diffpy.sgpredict.training.train` set aside (``heldout.json``
        in the model folder).
    radiation : {"auto", "xray", "neutron"}
        ``auto`` keeps every row; otherwise only rows of that radiation
        are scored, and PDFs of CIFs are computed with it.
    tell_radiation : bool
        Give the model the radiation each row was measured with; False
        lets a model that reads it average both.
    composition : {None, "filter", "prior"}
        Tell the predictor each row's formula, as a user would with
        ``--composition``: ``"filter"`` drops the groups that cannot
        hold it, ``"prior"`` also applies the stoichiometry prior
        (:meth:`~diffpy.sgpredict.predictor.Predictor.condition`).
        Rows without a formula are scored as they are.
    weight_groups : {None, "icsd", "paper"}
        Also give the top-k accuracy that a test set with the groups in
        these frequencies would show
        (:func:`~diffpy.sgpredict.metrics.weighted_topk_accuracy`):
        ``"paper"`` for the ICSD random split of Liu et al. (2019), whose
        figures are quoted for it.
    neighbours : bool
        Combine the network with the model's search-match library when
        its card has one (:mod:`diffpy.sgpredict.neighbours`); False
        scores the network alone.

    Returns
    -------
    dict
        ``n``, ``topk`` (top-1 ... top-6), ``weighted_topk`` (with
        ``weight_groups``: ``{"frequencies", "topk"}``, else None),
        ``gains`` (top-k minus
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
    if prior not in PRIOR_CHOICES:
        raise InputError(
            f"unknown prior {prior!r}; use {', '.join(PRIOR_CHOICES)}"
        )
    if radiation not in ("auto", "xray", "neutron"):
        raise InputError(f"radiation={radiation!r}: use auto, xray or neutron")
    if composition not in COMPOSITION_CHOICES:
        raise InputError(
            f"composition={composition!r}: use "
            f"{', '.join(str(c) for c in COMPOSITION_CHOICES)}"
        )
    if weight_groups not in WEIGHT_CHOICES:
        raise InputError(f"weight_groups={weight_groups!r}: use icsd or paper")
    if exclude_training not in (False, None, True, "all", "seeds"):
        raise InputError(
            f"exclude_training={exclude_training!r}: use 'all' or 'seeds'"
        )
    predictor = Predictor(
        model_dir,
        prior="none" if prior == "train" else prior,
        device=device,
        neighbours=neighbours,
    )
    ids = heldout_ids(model_dir, heldout) if heldout is not None else None
    ev = load_eval_set(
        data,
        predictor,
        csv_path,
        ids=ids,
        cif_radiation="neutron" if radiation == "neutron" else "xray",
    )
    idx, skipped, excluded = _select_rows(
        ev, predictor.labels, model_dir, radiation, exclude_training
    )
    if len(idx) == 0:
        raise InputError(
            f"{data}: no rows left to evaluate ({len(ev['sg_number'])} "
            f"read, {len(skipped)} outside the model's groups, "
            f"{len(excluded)} in the training set)"
        )
    rad = ev["radiation"][idx] if tell_radiation else None
    formulas = ev["formula"][idx] if composition else None
    probs = _predict(predictor, ev["x"][idx], rad, formulas)
    if composition:
        probs = _with_composition(
            predictor, probs, ev["formula"][idx], composition == "prior"
        )
    lab_index = {n: i for i, n in enumerate(predictor.labels)}
    y = numpy.array([lab_index[int(s)] for s in ev["sg_number"][idx]])
    result = {
        "model": str(model_dir),
        "data": str(data),
        "kind": ev["kind"],
        "prior": prior,
        "neighbours": predictor.neighbours is not None,
        "composition": composition,
        "n": int(len(idx)),
        "n_read": int(len(ev["sg_number"])) + len(ev.get("unreadable", [])),
        **_scores(probs, y, ev["material"][idx], predictor, top_confusion),
        "weighted_topk": _weighted(probs, y, predictor.labels, weight_groups),
        "heldout": heldout,
        "radiation": radiation,
        "tell_radiation": bool(tell_radiation),
        "predictions": _predictions(ev, idx, probs, y, predictor.labels),
        "excluded": excluded,
        "exclude_training": (
            "all" if exclude_training is True else exclude_training or None
        ),
        "skipped": skipped,
        "unreadable": ev.get("unreadable", []),
        "figures": {},
    }
    if output_dir is not None:
        result["figures"] = _write_outputs(
            result, probs, y, predictor.labels, Path(output_dir)
        )
    return result


def _weighted(probs, y, labels, weight_groups):
    """Top-k for the groups in the frequencies of ``weight_groups``."""
    if weight_groups is None:
        return None
    full = spacegroups.icsd_prior(weight_groups)
    freq = numpy.array([full[spacegroups.index_of(n)] for n in labels])
    return {
        "frequencies": weight_groups,
        "topk": [float(v) for v in weighted_topk_accuracy(probs, y, freq)],
    }


def _with_composition(predictor, probs, formulas, stoichiometry_prior):
    """Condition each row with a formula on it, as ``predict`` does."""
    out = numpy.array(probs, dtype=float)
    for k, formula in enumerate(formulas):
        if not formula:
            continue
        try:
            out[k] = predictor.condition(
                out[k], formula, stoichiometry_prior=stoichiometry_prior
            )[0]
        except InputError:
            continue  # a material name, not a formula
    return out


def _select_rows(ev, labels, model_dir, radiation, exclude_training):
    """Rows to score; those outside the labels; those seen in training."""
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
        pairs, protos = training_keys(
            model_dir, seeds_only=exclude_training == "seeds"
        )
        for i in numpy.flatnonzero(keep):
            f, s = ev["formula"][i], int(ev["sg_number"][i])
            p = ev["prototype"][i]
            if (f and (f, s) in pairs) or (p and p in protos):
                keep[i] = False
                excluded.append(str(ev["name"][i]))
    return numpy.flatnonzero(keep), skipped, excluded


def _scores(probs, y, materials, predictor, top_confusion):
    """Top-k (per row and per material), gains, ECE, groups, confusions."""
    labels = predictor.labels
    topk = topk_accuracy(probs, y, 6)
    material_topk = numpy.mean(
        [
            topk_accuracy(probs[materials == m], y[materials == m], 6)
            for m in numpy.unique(materials)
        ],
        axis=0,
    )
    cm = confusion_matrix(y, probs.argmax(axis=1), len(labels))
    ranks = true_rank(probs, y)
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
    return {
        "topk": [float(v) for v in topk],
        "n_materials": int(len(numpy.unique(materials))),
        "material_topk": [float(v) for v in material_topk],
        "ece": expected_calibration_error(probs, y),
        "gains": [
            float(v) for v in numpy.diff(numpy.concatenate([[0], topk]))
        ],
        "per_group": per_group,
        "confusions": top_confusions(cm, labels, top_confusion),
        "confusion_matrix": cm.tolist(),
    }


def _predictions(ev, idx, probs, y, labels):
    """One record per scored row: true group, its rank, the top six."""
    order = numpy.argsort(-probs, axis=1)[:, :6]
    ranks = true_rank(probs, y)
    return [
        {
            "name": str(ev["name"][i]),
            "true": int(ev["sg_number"][i]),
            "rank": int(ranks[k]) + 1,
            "top6": [int(labels[j]) for j in order[k]],
            "p_true": float(probs[k, y[k]]),
        }
        for k, i in enumerate(idx)
    ]


def _write_outputs(result, probs, y, labels, out):
    """Write the three figures and ``evaluation.json``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    cm = numpy.asarray(result["confusion_matrix"])
    figures = {
        "per_group": str(
            plot_per_group(result["per_group"], out / "per_group.png")
        ),
        "confusion": str(plot_confusion(cm, labels, out / "confusion.png")),
        "reliability": str(
            plot_reliability(probs, y, out / "reliability.png")
        ),
    }
    (out / "evaluation.json").write_text(
        json.dumps(dict(result, figures=figures), indent=1)
    )
    return figures


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
        f"{result['n_read']} rows, prior {result['prior']}"
        + (
            ", with the search-match library"
            if result.get("neighbours")
            else ""
        )
        + (
            f", composition: {result['composition']}"
            if result.get("composition")
            else ""
        )
        + ")"
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
    weighted = result.get("weighted_topk")
    if weighted:
        lines.append(
            f"  weighted to the {weighted['frequencies']} group frequencies"
        )
        lines.append(
            "  top-k  " + "".join(f"{100 * v:7.1f}%" for v in weighted["topk"])
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
