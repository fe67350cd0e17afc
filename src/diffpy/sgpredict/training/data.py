"""Training data: a dataset file on the model grid, split three ways.

:func:`load_training_data` reads the rows a model can learn from;
:func:`split_rows` sets aside the held-out test rows and the validation
rows (grouped by prototype key, so near-duplicates stay on one side);
:func:`validation_inputs` makes the fixed validation inputs, clean and
augmented, that every epoch is scored on.
"""

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.augment import AugmentConfig, Augmenter, minmax_truncate
from diffpy.sgpredict.dataset import (
    load_arrays,
    read_provenance,
    split_indices,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID, resample
from diffpy.sgpredict.training.settings import HELDOUT_NAME

__all__ = [
    "load_training_data",
    "dataset_provenance",
    "limit_rows",
    "Split",
    "split_rows",
    "default_augment_config",
    "validation_inputs",
    "check_same_test_rows",
    "model_split",
]

logger = logging.getLogger(__name__)


def dataset_provenance(path):
    """The provenance record of a dataset, or ``{}`` when unreadable.

    Provenance is informative only (it goes into the card), so an
    unreadable record is logged, not raised.
    """
    try:
        return read_provenance(path)
    except (InputError, OSError, ValueError) as exc:
        logger.warning("%s: no provenance record (%s)", path, exc)
        return {}


def _optional_setting(path, name, n):
    """A per-row setting, or NaN for files built without it."""
    try:
        return load_arrays(path, [f"settings/{name}"])[f"settings/{name}"]
    except InputError:
        return numpy.full(n, numpy.nan)


def _on_model_grid(path, r, G):
    """Rows resampled onto :data:`MODEL_GRID` (as they are when on it)."""
    rg = MODEL_GRID.r
    if len(r) == len(rg) and numpy.allclose(r, rg, atol=1e-6):
        return G
    if r[0] > rg[0] + 1e-6 or r[-1] < rg[-1] - 1e-6:
        raise InputError(
            f"{path}: the dataset grid covers {r[0]:.4g}-{r[-1]:.4g} A; "
            f"training needs {rg[0]:.4g}-{rg[-1]:.4g} A: rebuild the "
            "dataset on the model grid"
        )
    return numpy.stack([resample(r, row, rg) for row in G]).astype(
        numpy.float32
    )


def load_training_data(path, min_rows=2):
    """Read a dataset and bring its PDFs onto the model grid.

    Parameters
    ----------
    path : str or Path
        HDF5 dataset.
    min_rows : int
        Fewest usable rows accepted.

    Returns
    -------
    dict
        ``G`` (n, 209) float32 raw PDFs on :data:`MODEL_GRID`, ``y``
        class indices, ``sg_number``, ``formula``, ``prototype``, ``id``,
        ``qdamp`` (NaN when unknown), ``radiation`` (0 X-ray, 1 neutron;
        X-ray when the file does not say), ``dropped`` (rows outside the
        45 groups).

    Raises
    ------
    InputError
        For a missing or unsuitable file.

    Examples
    --------
    >>> data = load_training_data("train.h5")   # doctest: +SKIP
    >>> data["G"].shape[1]                      # doctest: +SKIP
    209
    """
    path = os.fspath(path)
    base = ["r", "G", "sg_number", "formula", "prototype", "id", "source"]
    arrays = load_arrays(path, base)
    n = len(arrays["sg_number"])
    # the rows of the first read, also for a file a build is still writing
    qdamp = _optional_setting(path, "qdamp", n)[:n]
    neutron = _optional_setting(path, "neutron", n)[:n]
    neutron = numpy.nan_to_num(neutron, nan=0.0)
    sg = numpy.asarray(arrays["sg_number"], dtype=int)
    keep = numpy.isin(sg, spacegroups.NUMBERS)
    r = numpy.asarray(arrays["r"], dtype=float)
    G = numpy.asarray(arrays["G"], dtype=numpy.float32)[keep]
    G = _on_model_grid(path, r, G)
    finite = numpy.isfinite(G).all(axis=1)
    idx = numpy.flatnonzero(keep)[finite]
    G = G[finite]
    if len(idx) < min_rows:
        raise InputError(
            f"{path}: only {len(idx)} usable rows (labels among the 45 "
            "groups, finite G); build a larger dataset"
        )
    sgk = sg[idx]
    return {
        "G": G,
        "y": numpy.array([spacegroups.index_of(n) for n in sgk]),
        "sg_number": sgk,
        "formula": numpy.asarray(arrays["formula"])[idx].astype(str),
        "prototype": numpy.asarray(arrays["prototype"])[idx].astype(str),
        "id": numpy.asarray(arrays["id"])[idx].astype(str),
        "source": numpy.asarray(arrays["source"])[idx].astype(str),
        "qdamp": numpy.asarray(qdamp, dtype=float)[idx],
        "radiation": numpy.asarray(neutron, dtype=numpy.float32)[idx],
        "dropped": int(len(sg) - len(idx)),
    }


def limit_rows(data, max_rows):
    """The first ``max_rows`` rows of the data (all when None).

    So that a dataset that is still growing gives the same training set
    (and resumes) later.
    """
    if not max_rows or len(data["y"]) <= int(max_rows):
        return data
    pick = numpy.arange(int(max_rows))
    return {
        k: (v[pick] if isinstance(v, numpy.ndarray) else v)
        for k, v in data.items()
    }


@dataclass
class Split:
    """Row indices of a training run.

    Attributes
    ----------
    train, validation : ndarray of int
        Rows trained on and rows that choose the epoch and calibrate.
    heldout : dict
        ``{"structure_type": ids, "random": ids}`` of the test rows set
        aside (empty without a test fraction).
    """

    train: numpy.ndarray
    validation: numpy.ndarray
    heldout: dict


def _grouping_keys(data):
    """Prototype key per row; (formula|group) where a row has none."""
    groups = data["prototype"].copy()
    empty = (groups == "") | (groups == "None")
    groups[empty] = numpy.char.add(
        numpy.char.add(data["formula"][empty], "|"),
        data["sg_number"][empty].astype(str),
    )
    return groups


def split_rows(data, recipe, dataset_path=""):
    """Set aside test rows, then split the rest into train / validation.

    With ``recipe.test_fraction`` two test sets of about that share
    each are taken first, never used in training or model choice: whole
    structure types (prototype keys), then a random share of the
    remaining rows per group (the paper's protocol).

    Parameters
    ----------
    data : dict
        :func:`load_training_data`.
    recipe : TrainSettings
        Its ``test_fraction``, ``val_fraction``, ``split`` and ``seed``.
    dataset_path : str
        Named in the error message.

    Returns
    -------
    Split
    """
    seed = int(recipe.seed)
    groups = _grouping_keys(data)
    sg = data["sg_number"]
    heldout = {}
    pool = numpy.arange(len(data["y"]))
    if recipe.test_fraction:
        frac = float(recipe.test_fraction)
        pool, te_type = split_indices(sg, groups, frac, seed + 11, "grouped")
        keep, te_rand = split_indices(
            sg[pool], None, frac, seed + 12, "random"
        )
        heldout = {
            "structure_type": data["id"][te_type].tolist(),
            "random": data["id"][pool[te_rand]].tolist(),
        }
        pool = pool[keep]
    tr, va = split_indices(
        sg[pool],
        groups[pool],
        float(recipe.val_fraction),
        seed,
        recipe.split,
    )
    tr, va = pool[tr], pool[va]
    if len(va) == 0 or len(tr) == 0:
        raise InputError(
            f"{dataset_path}: the {recipe.split} split left an empty side; "
            "use more data, a larger val_fraction or split='random'"
        )
    return Split(tr, va, heldout)


def check_same_test_rows(model_dir, split):
    """Refuse to fine-tune a model whose test rows differ from this run's.

    A model trained on other rows may have trained on this run's test
    rows (and the reverse), so its scores would no longer be scores on
    unseen data.  Fine-tuning needs the same data, seed and test
    fraction as the run being continued.
    """
    path = Path(model_dir) / HELDOUT_NAME
    mine = {k: sorted(v) for k, v in split.heldout.items()}
    if not mine and not path.is_file():
        return
    theirs = {}
    if path.is_file():
        theirs = {
            k: sorted(v) for k, v in json.loads(path.read_text()).items()
        }
    if mine != theirs:
        raise InputError(
            f"--init-from {model_dir}: its held-out test rows are not this "
            "run's; fine-tune on the same dataset with the same --seed and "
            "--test-fraction, so that no test row was trained on"
        )


def model_split(card, model_dir, data, dataset_path):
    """The rows a trained model was trained, validated and tested on.

    Re-draws the split of the model's recipe (``card["recipe"]``: seed,
    test and validation fractions, split kind) on ``data`` and checks
    that its test rows are those the model set aside, so a step after
    training (the species correction, its supplement) never reads them.

    Parameters
    ----------
    card : dict
        The model's card.
    model_dir : str or Path
        The model folder (its ``heldout.json``).
    data : dict
        :func:`load_training_data` of the model's dataset.
    dataset_path : str or Path
        That dataset, named in errors.

    Returns
    -------
    Split

    Raises
    ------
    InputError
        When the test rows differ (another dataset, seed or fraction).
    """
    from types import SimpleNamespace

    rc = card["recipe"]
    split = split_rows(
        data,
        SimpleNamespace(
            seed=rc["seed"],
            test_fraction=rc.get("test_fraction", 0.0),
            val_fraction=rc["val_fraction"],
            split=rc["split"],
        ),
        str(dataset_path),
    )
    check_same_test_rows(model_dir, split)
    return split


def default_augment_config(dataset_path):
    """The augmentation that suits how a dataset was built.

    Datasets built with ``--settings physics`` already carry measured-
    data physics per row, so they get
    :meth:`AugmentConfig.for_physics_data`; others the full default.
    """
    built = dataset_provenance(dataset_path).get("config", {})
    if built.get("settings") == "physics":
        return AugmentConfig.for_physics_data()
    return AugmentConfig()


def validation_inputs(data, rows, aconf, augment, seed):
    """The fixed validation inputs: clean, and augmented (or None).

    The augmented copy is drawn once with its own generator (seed
    ``seed + 7919``), so every epoch and every resumed run is scored on
    the same inputs.
    """
    Gv = torch.from_numpy(data["G"][rows])
    clean = minmax_truncate(
        Gv, torch.full((len(rows),), Gv.shape[1], dtype=torch.long)
    ).numpy()
    if not augment:
        return clean, None
    vgen = torch.Generator().manual_seed(int(seed) + 7919)
    augmented, _ = Augmenter(MODEL_GRID.r, aconf)(
        Gv, generator=vgen, qdamp0=data["qdamp"][rows]
    )
    return clean, augmented.numpy()
