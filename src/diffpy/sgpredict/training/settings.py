"""The training recipe: :class:`TrainSettings` and what derives from it.

One home for the settings of :func:`diffpy.sgpredict.training.train`:
the checked dataclass the command line builds, the architecture
defaults of each model family, the recipe record stored in the card and
in every checkpoint, and the names of the files a model folder holds.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID

__all__ = [
    "CNN_DEFAULTS",
    "RESNET_DEFAULTS",
    "HELDOUT_NAME",
    "TRAINING_SET_NAME",
    "CHECKPOINT_NAME",
    "TrainSettings",
    "TrainResult",
    "canonical_config",
    "recipe_record",
    "recipe_key",
    "same_recipe",
]

#: The paper's best network (ensemble of three of these).
CNN_DEFAULTS = {"filters": [256, 64], "kernel": 32, "hidden": 128}

#: The residual network (:mod:`diffpy.sgpredict.models.resnet`).
RESNET_DEFAULTS = {
    "channels": [32, 64, 128],
    "kernel": 7,
    "hidden": 256,
    "radiation_input": True,
    "stem_pool": True,
}

#: File of the held-out test rows' ids in a model folder.
HELDOUT_NAME = "heldout.json"

#: File of the (formula, group) pairs and prototype keys of the data.
TRAINING_SET_NAME = "training_set.json"

#: Checkpoint file of one ensemble member.
CHECKPOINT_NAME = "checkpoint.pt"

#: Recipe entries that may change between runs that resume each other
#: (a larger ensemble reuses the members already trained; the monitored
#: score and the patience choose which epoch's weights are kept and when
#: to stop, but do not change the weights of any epoch).
NOT_IN_KEY = ("command", "max_minutes", "ensemble", "monitor", "patience")


@dataclass(frozen=True)
class TrainSettings:
    """What to train and how: the recipe of a model, checked on creation.

    The attributes are those of :func:`diffpy.sgpredict.training.train`
    with the same names; the command line builds one of these from its
    options.

    Raises
    ------
    InputError
        For values outside their meaningful range (one line naming the
        setting).

    Examples
    --------
    >>> TrainSettings(model="resnet", epochs=30).lr
    0.001
    >>> TrainSettings(model="resnet", config={"dropout": 0.5}).config
    {'dropout': 0.5}
    >>> TrainSettings(lr=-1)
    Traceback (most recent call last):
        ...
    diffpy.sgpredict.errors.InputError: lr must be positive, not -1
    """

    model: str = "cnn"
    config: dict = None
    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-3
    schedule: str = "cosine"
    weight_decay: float = 0.0
    patience: int = 15
    monitor: str = "loss"
    seed: int = 0
    device: str = "auto"
    val_fraction: float = 0.1
    split: str = "grouped"
    test_fraction: float = 0.0
    ensemble: int = 1
    augment: bool = True
    augment_config: object = None
    class_weights: str = "inverse"
    max_rows: int = None
    logreg_options: dict = None
    init_from: str = None

    def __post_init__(self):
        checks = [
            (
                self.model in ("cnn", "resnet", "logreg"),
                f"unknown model {self.model!r}; use cnn, resnet or logreg",
            ),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.lr > 0, f"lr must be positive, not {self.lr}"),
            (self.weight_decay >= 0, "weight_decay must not be negative"),
            (self.patience >= 1, "patience must be at least 1"),
            (
                self.monitor in ("loss", "top1", "top6"),
                f"unknown monitor {self.monitor!r}; use loss, top1, top6",
            ),
            (
                0 < self.val_fraction < 1,
                "val_fraction must lie between 0 and 1",
            ),
            (
                0 <= self.test_fraction < 0.5,
                "test_fraction must lie in [0, 0.5)",
            ),
            (
                self.split in ("grouped", "random"),
                f"unknown split {self.split!r}; use grouped or random",
            ),
            (self.ensemble >= 1, "ensemble must be at least 1"),
            (
                self.max_rows is None or self.max_rows >= 2,
                "max_rows must be at least 2",
            ),
            (
                self.init_from is None or self.model != "logreg",
                "init_from: the logreg baseline is fitted, not fine-tuned",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


@dataclass
class TrainResult:
    """What :func:`diffpy.sgpredict.training.train` returns.

    Attributes
    ----------
    model_dir : Path
        The written model folder.
    card : dict
        Its card.
    history : list of list of dict
        Per ensemble member, one record per epoch.
    """

    model_dir: Path
    card: dict
    history: list


def canonical_config(model, config):
    """Return the full architecture settings of a model family.

    The family's defaults, updated by ``config``, with the input length
    and the number of classes.

    Examples
    --------
    >>> canonical_config("cnn", {"kernel": 9})["filters"]
    [256, 64]
    >>> canonical_config("logreg", None)["quadratic"]
    True
    """
    defaults = {
        "cnn": CNN_DEFAULTS,
        "resnet": RESNET_DEFAULTS,
        "logreg": {"quadratic": True},
    }
    if model not in defaults:
        raise InputError(f"unknown model {model!r}; use cnn, resnet or logreg")
    cfg = dict(defaults[model])
    cfg.update(config or {})
    for key in ("filters", "channels"):
        if key in cfg and model in ("cnn", "resnet"):
            cfg[key] = [int(v) for v in cfg[key]]
    cfg.setdefault("npoints", MODEL_GRID.npoints)
    cfg.setdefault("nclasses", len(spacegroups.NUMBERS))
    return cfg


def recipe_record(recipe, config, aconf, data, max_minutes, command):
    """The recipe as stored in the card and in every checkpoint.

    Parameters
    ----------
    recipe : TrainSettings
        The settings of the run.
    config : dict
        :func:`canonical_config` of the model.
    aconf : AugmentConfig
        The augmentation used (recorded only when augmenting).
    data : dict
        The training data (:func:`load_training_data`): its row count
        and a hash of its row ids make a resumed run refuse other data.
    max_minutes : float or None
        Time budget of this call.
    command : str or None
        The command line.
    """
    record = {
        "model": recipe.model,
        "config": config,
        "epochs": int(recipe.epochs),
        "batch_size": int(recipe.batch_size),
        "lr": float(recipe.lr),
        "schedule": recipe.schedule,
        "weight_decay": float(recipe.weight_decay),
        "patience": int(recipe.patience),
        "monitor": recipe.monitor,
        "seed": int(recipe.seed),
        "val_fraction": float(recipe.val_fraction),
        "split": recipe.split,
        "test_fraction": float(recipe.test_fraction),
        "ensemble": int(recipe.ensemble),
        "augment": bool(recipe.augment),
        "augment_config": aconf.to_dict() if recipe.augment else None,
        "class_weights": recipe.class_weights,
        "max_rows": recipe.max_rows,
        "data_rows": int(len(data["y"])),
        "data_ids_sha256": hashlib.sha256(
            "\n".join(data["id"]).encode()
        ).hexdigest(),
        "max_minutes": max_minutes,
        "command": command,
    }
    if recipe.init_from:
        # only when set, so that the recipes (and checkpoints) of runs
        # from scratch keep their key
        record["init_from"] = str(recipe.init_from)
    return record


def recipe_key(record):
    """The text that identifies a recipe for resuming (free entries out).

    Examples
    --------
    >>> recipe_key({"lr": 0.1, "command": "x"})
    '{"lr": 0.1}'
    """
    return json.dumps(
        {k: record[k] for k in sorted(record) if k not in NOT_IN_KEY},
        sort_keys=True,
        default=str,
    )


def same_recipe(stored, current):
    """Whether a checkpoint's recipe key matches, ignoring free entries.

    Examples
    --------
    >>> same_recipe('{"lr": 0.1, "patience": 3}', '{"lr": 0.1}')
    True
    >>> same_recipe('{"lr": 0.1}', '{"lr": 0.2}')
    False
    """
    try:
        a, b = json.loads(stored), json.loads(current)
    except (TypeError, ValueError):
        return False
    for d in (a, b):
        for key in NOT_IN_KEY:
            d.pop(key, None)
    return a == b
