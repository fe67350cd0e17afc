"""What a trained model folder says about itself.

:func:`make_card` writes the card (architecture, labels, input grid,
training data, the effective class prior, recipe, validation metrics),
:func:`calibrate` its temperature, and :func:`write_training_set` the
(formula, group) keys and prototype keys of every row, by which
evaluation sets leave out what the model has seen.

Class prior of training
-----------------------
With a per-class loss weight :math:`w_c` and :math:`n_c` training rows
in class c, the weighted loss is the unweighted loss of a data set whose
class frequencies are :math:`\\pi_c \\propto n_c w_c`, so the network
estimates :math:`p(c \\mid X)` under that prior.  With inverse-frequency
weights (the paper's) :math:`\\pi` is uniform over the classes present.
The card stores this effective prior as ``prior.train``; the predictor
turns it into the prior of real materials by adding
:math:`\\log(\\pi_{target} / \\pi_{train})` to the log-probabilities.
Classes without training rows get the smallest prior of the others (the
network has learned nothing about them, and a zero would make the
correction infinite).  Augmentation does not change labels, so it does
not change the prior.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy
import torch

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import formula_key
from diffpy.sgpredict.dataset import source_kinds
from diffpy.sgpredict.grid import MIN_RMAX, MODEL_GRID
from diffpy.sgpredict.metrics import (
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from diffpy.sgpredict.training.data import dataset_provenance
from diffpy.sgpredict.training.settings import TRAINING_SET_NAME
from diffpy.sgpredict.version import __version__

__all__ = ["calibrate", "make_card", "write_training_set"]


def calibrate(logits, y):
    """Temperature of the validation logits, ECE before and after.

    Fitted on the validation rows as the model sees them (augmented
    when training augments), with the training prior: the predictor
    divides the network's log-probabilities by it before the prior
    correction.
    """
    y = numpy.asarray(y, dtype=int)
    t = fit_temperature(logits, y)
    return {
        "temperature": round(t, 4),
        "fitted_on": "validation rows (augmented when training augments)",
        "n": int(len(y)),
        "ece_before": round(expected_calibration_error(softmax(logits), y), 4),
        "ece_after": round(
            expected_calibration_error(softmax(logits, t), y), 4
        ),
    }


def _prior_note(class_weights):
    if class_weights == "inverse":
        return (
            "effective class prior of the class-weighted loss: weights "
            "1/n_c make the loss that of a class-balanced set, so the "
            "network estimates p(group | X) under a uniform prior over the "
            "groups present in training; groups absent from training get "
            "the smallest value of the others. Shift log-probabilities by "
            "log(target / train) for real-material frequencies."
        )
    return (
        f"effective class prior pi_c ~ n_c * w_c of the loss with "
        f"{class_weights!r} class weights; groups absent from "
        "training get the smallest value of the others."
    )


def make_card(dataset_path, data, split, balance, rc, metrics, info):
    """The card of a trained model (before calibration and extras).

    Parameters
    ----------
    dataset_path : str or Path
        The dataset (named by its file name only).
    data : dict
        The training data.
    split : Split
        Train / validation rows.
    balance : tuple
        ``(counts, weights, prior)`` of the training classes.
    rc : dict
        The recipe record.
    metrics : dict
        Validation metrics.
    info : dict
        Per-member or baseline facts added to the recipe.
    """
    counts, weights, prior = balance
    name = f"sgpredict-{rc['model']}" + (
        f"-x{rc['ensemble']}" if rc["ensemble"] > 1 else ""
    )
    nums = spacegroups.NUMBERS
    per_group = {str(n): int(c) for n, c in zip(nums, counts) if c}
    recipe = dict(rc)
    recipe["package_version"] = __version__
    recipe["torch_version"] = torch.__version__
    recipe["python"] = sys.version.split()[0]
    recipe.update(info)
    return {
        "name": name,
        "architecture": rc["model"],
        "config": rc["config"],
        "labels": list(nums),
        "input": {
            **MODEL_GRID.to_dict(),
            "npoints": MODEL_GRID.npoints,
            "normalization": "minmax",
            "padding": "zeros beyond data",
            "min_rmax": MIN_RMAX,
        },
        "output": (
            "mean log-softmax of the members"
            if rc["ensemble"] > 1
            else "logits"
        ),
        "training_data": {
            "path": os.path.basename(os.fspath(dataset_path)),
            "provenance": dataset_provenance(dataset_path),
            "n_rows": int(len(data["y"])),
            "n_train": int(len(split.train)),
            "n_validation": int(len(split.validation)),
            "dropped_rows": int(data["dropped"]),
            "per_group_train": per_group,
            "training_set_file": TRAINING_SET_NAME,
        },
        "prior": {
            "train": [float(p) for p in prior],
            "train_counts": [int(c) for c in counts],
            "class_weights": [float(w) for w in weights],
            "note": _prior_note(rc["class_weights"]),
        },
        "recipe": recipe,
        "metrics": metrics,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_training_set(output_dir, data, dataset_path):
    """Store the (formula, group) keys and prototype keys of the data.

    The formula part is :func:`diffpy.sgpredict.chemistry.formula_key`,
    the package's one matching key.
    """
    pairs = sorted(
        {
            (formula_key(f), int(s))
            for f, s in zip(data["formula"], data["sg_number"])
        }
    )
    protos = sorted({p for p in data["prototype"] if p and p != "None"})
    cif = source_kinds(data["source"]) == "cif"
    cif_pairs = sorted(
        {
            (formula_key(f), int(s))
            for f, s in zip(data["formula"][cif], data["sg_number"][cif])
        }
    )
    payload = {
        "dataset": os.path.basename(os.fspath(dataset_path)),
        "note": "every row of the dataset (training and validation sides); "
        "cif_formula_sg: the rows made from real structures (CIFs)",
        "formula_sg": [list(p) for p in pairs],
        "cif_formula_sg": [list(p) for p in cif_pairs],
        "prototypes": protos,
    }
    (Path(output_dir) / TRAINING_SET_NAME).write_text(
        json.dumps(payload, indent=0) + "\n"
    )
