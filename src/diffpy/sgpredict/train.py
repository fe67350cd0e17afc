"""Training: from a dataset file to a model folder with its card.

:func:`train` reads an HDF5 dataset (:mod:`diffpy.sgpredict.dataset`),
splits off a validation part (grouped by prototype key by default, so
near-duplicates stay on one side), and trains

* ``model="cnn"``: the network of Liu et al. (2019) or a smaller one,
  with class weights, Adam, a learning-rate schedule, early stopping on
  the validation loss, on-the-fly augmentation
  (:mod:`diffpy.sgpredict.augment`), an ensemble of several networks,
  and a checkpoint after every epoch from which the same command
  resumes after a kill;
* ``model="logreg"``: the elastic-net logistic-regression baseline
  (:mod:`diffpy.sgpredict.models.logreg`).

The result is a model folder (:func:`diffpy.sgpredict.card.save_model`)
holding the weights, the card (architecture, configuration, labels,
input grid, training data, class prior of training, recipe, validation
metrics) and ``training_set.json``, the (formula, group) pairs and
prototype keys of the training rows, for deduplicating evaluation sets.

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

Checkpoints
-----------
``output_dir/checkpoints/member<i>/checkpoint.pt`` holds plain tensors
and containers only (model, optimiser and scheduler state, best weights,
random-generator states, epoch, history), written atomically after each
epoch and read with ``torch.load(weights_only=True)``; ``state.json``
beside it is a human-readable summary.  Restarting the same command
resumes from the last finished epoch and, on the same machine and
thread count, ends with the same weights as an uninterrupted run.
"""

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.metrics import (
    class_weights_for,
    effective_prior,
    topk_accuracy,
)
from diffpy.sgpredict.runtime import restores_torch_state

__all__ = [
    "CNN_DEFAULTS",
    "TrainSettings",
    "TrainResult",
    "train",
    "class_weights_for",
    "effective_prior",
    "load_training_data",
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

#: Names of the held-out test sets :func:`train` can set aside.
HELDOUT_NAME = "heldout.json"

#: Data must reach this r (A) at least; matches the truncation range.
MIN_RMAX = 19.9

CHECKPOINT_NAME = "checkpoint.pt"

#: Recipe entries that may change between runs that resume each other
#: (a larger ensemble reuses the members already trained; the monitored
#: score and the patience choose which epoch's weights are kept and when
#: to stop, but do not change the weights of any epoch).
_NOT_IN_KEY = ("command", "max_minutes", "ensemble", "monitor", "patience")
TRAINING_SET_NAME = "training_set.json"


@dataclass(frozen=True)
class TrainSettings:
    """What to train and how: the recipe of a model, checked on creation.

    The attributes are those of :func:`train` with the same names; the
    command line builds one of these from its options.

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
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


@dataclass
class TrainResult:
    """What :func:`train` returns.

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


# -- data ----------------------------------------------------------------
def _load_arrays(path, fields):
    """Read fields of a dataset file (``dataset.load_arrays``)."""
    from diffpy.sgpredict.dataset import load_arrays

    return load_arrays(path, fields)


def _provenance(path):
    try:
        from diffpy.sgpredict.dataset import read_provenance

        return read_provenance(path)
    except Exception:  # provenance is informative only
        return {}


def _optional_setting(path, name, n):
    """A per-row setting, or NaN for files built without it."""
    try:
        return _load_arrays(path, [f"settings/{name}"])[f"settings/{name}"]
    except InputError:
        return numpy.full(n, numpy.nan)


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
    arrays = _load_arrays(path, base)
    qdamp = _optional_setting(path, "qdamp", len(arrays["sg_number"]))
    neutron = _optional_setting(path, "neutron", len(arrays["sg_number"]))
    neutron = numpy.nan_to_num(neutron, nan=0.0)
    sg = numpy.asarray(arrays["sg_number"], dtype=int)
    keep = numpy.isin(sg, spacegroups.NUMBERS)
    r = numpy.asarray(arrays["r"], dtype=float)
    G = numpy.asarray(arrays["G"], dtype=numpy.float32)[keep]
    rg = MODEL_GRID.r
    if len(r) == len(rg) and numpy.allclose(r, rg, atol=1e-6):
        pass
    else:
        from diffpy.sgpredict.grid import resample

        if r[0] > rg[0] + 1e-6 or r[-1] < rg[-1] - 1e-6:
            raise InputError(
                f"{path}: the dataset grid covers {r[0]:.4g}-{r[-1]:.4g} A; "
                f"training needs {rg[0]:.4g}-{rg[-1]:.4g} A: rebuild the "
                "dataset on the model grid"
            )
        G = numpy.stack([resample(r, row, rg) for row in G]).astype(
            numpy.float32
        )
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


# -- helpers ---------------------------------------------------------------
def _resolve_device(device):
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' asked for, but CUDA is unavailable")
    return dev


def _atomic_torch_save(obj, path):
    import torch

    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _clone_state(module):
    return {
        k: v.detach().cpu().clone() for k, v in module.state_dict().items()
    }


def _batched_logits(net, x, device, radiation=None, batch=1024):
    import torch

    net.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            xb = torch.as_tensor(x[s : s + batch]).to(device)
            rb = None
            if radiation is not None:
                rb = torch.as_tensor(radiation[s : s + batch]).to(device)
            out.append(net(xb, rb).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 45)


def _metrics(logits, y, weights):
    """Loss (class-weighted and plain) and top-1..6 of logits."""
    import torch

    y_t = torch.as_tensor(y, dtype=torch.long)
    w = torch.as_tensor(weights, dtype=torch.float32)
    loss = torch.nn.functional.cross_entropy(logits, y_t, weight=w).item()
    plain = torch.nn.functional.cross_entropy(logits, y_t).item()
    acc = topk_accuracy(logits.numpy(), numpy.asarray(y), 6)
    return {
        "loss": loss,
        "loss_unweighted": plain,
        **{f"top{k}": float(acc[k - 1]) for k in range(1, 7)},
    }


def _schedule(optimizer, schedule, epochs, steps=None):
    import torch

    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(epochs, 1), eta_min=0.0
        )
    if schedule == "step":
        # the paper: /10 at 81 and 122 of 164 epochs
        m = [
            max(1, round(epochs * 81 / 164)),
            max(1, round(epochs * 122 / 164)),
        ]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, m, 0.1)
    if schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 1.0)
    raise InputError(
        f"unknown schedule {schedule!r}; use cosine, step or constant"
    )


def _canonical_config(model, config):
    if model == "cnn":
        cfg = dict(CNN_DEFAULTS)
        cfg.update(config or {})
        cfg["filters"] = [int(f) for f in cfg["filters"]]
        cfg.setdefault("npoints", MODEL_GRID.npoints)
        cfg.setdefault("nclasses", len(spacegroups.NUMBERS))
        return cfg
    if model == "resnet":
        cfg = dict(RESNET_DEFAULTS)
        cfg.update(config or {})
        cfg["channels"] = [int(c) for c in cfg["channels"]]
        cfg.setdefault("npoints", MODEL_GRID.npoints)
        cfg.setdefault("nclasses", len(spacegroups.NUMBERS))
        return cfg
    if model == "logreg":
        cfg = {"quadratic": True}
        cfg.update(config or {})
        cfg.setdefault("npoints", MODEL_GRID.npoints)
        cfg.setdefault("nclasses", len(spacegroups.NUMBERS))
        return cfg
    raise InputError(f"unknown model {model!r}; use cnn, resnet or logreg")


def _same_recipe(stored, current):
    """Whether a checkpoint's recipe key matches, ignoring free entries."""
    try:
        a, b = json.loads(stored), json.loads(current)
    except (TypeError, ValueError):
        return False
    for d in (a, b):
        for key in _NOT_IN_KEY:
            d.pop(key, None)
    return a == b


# -- one network ----------------------------------------------------------
def _train_member(
    member,
    data,
    tr,
    va,
    xval,
    xval_aug,
    weights,
    rc,
    aconf,
    device,
    ckdir,
    resume,
    deadline,
    log,
    progress,
    callback=None,
):
    """Train (or resume, or reload) one ensemble member."""
    import torch

    from diffpy.sgpredict.augment import Augmenter, minmax_truncate
    from diffpy.sgpredict.models import build_model

    ckdir.mkdir(parents=True, exist_ok=True)
    ckpath = ckdir / CHECKPOINT_NAME
    seed = int(rc["seed"]) * 1000 + member
    torch.manual_seed(seed)
    net = build_model(rc["model"], rc["config"]).to(device)
    opt = torch.optim.Adam(
        net.parameters(), lr=rc["lr"], weight_decay=rc["weight_decay"]
    )
    sched = _schedule(opt, rc["schedule"], rc["epochs"])
    gen_shuffle = torch.Generator().manual_seed(seed + 1)
    gen_aug = torch.Generator().manual_seed(seed + 2)
    state = {
        "epoch": 0,
        "best": math.inf,
        "best_epoch": 0,
        "bad_epochs": 0,
        "history": [],
        "done": False,
        "stop_reason": "",
    }
    best_weights = _clone_state(net)
    recipe_key = json.dumps(
        {k: rc[k] for k in sorted(rc) if k not in _NOT_IN_KEY},
        sort_keys=True,
        default=str,
    )
    if resume and ckpath.is_file():
        try:
            ck = torch.load(ckpath, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(
                f"{ckpath}: cannot read the checkpoint ({exc}); delete it or "
                "train with --restart"
            )
        if not _same_recipe(ck.get("recipe"), recipe_key):
            raise InputError(
                f"{ckpath}: the checkpoint belongs to other settings or "
                "other data; use the same options (and --max-rows for a "
                "dataset that has grown since) to resume, or --restart to "
                "start over"
            )
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        best_weights = ck["best_model"]
        gen_shuffle.set_state(ck["gen_shuffle"])
        gen_aug.set_state(ck["gen_aug"])
        torch.set_rng_state(ck["rng"])
        if device.type == "cuda" and "cuda_rng" in ck:
            torch.cuda.set_rng_state(ck["cuda_rng"])
        state = json.loads(ck["state"])
        log(
            f"member {member}: resumed after epoch {state['epoch']}"
            + (" (finished)" if state["done"] else "")
        )
    aug = Augmenter(MODEL_GRID.r, aconf) if rc["augment"] else None
    G = torch.from_numpy(data["G"])
    y_all = torch.as_tensor(data["y"], dtype=torch.long)
    qd_all = torch.as_tensor(data["qdamp"], dtype=torch.float64)
    rad_all = torch.as_tensor(data["radiation"], dtype=torch.float32)
    rad_val = data["radiation"][va]
    full = torch.full((G.shape[0],), G.shape[1], dtype=torch.long)
    w_t = torch.as_tensor(weights, dtype=torch.float32).to(device)
    tr_t = torch.as_tensor(tr, dtype=torch.long)
    bs = int(rc["batch_size"])
    nbatches = max(1, len(tr) // bs) if len(tr) >= bs else 1
    monitor = "aug" if xval_aug is not None else "clean"
    last_epoch_time = 0.0
    while not state["done"] and state["epoch"] < rc["epochs"]:
        if deadline and time.time() + last_epoch_time > deadline:
            state["stop_reason"] = "time budget"
            break
        t0 = time.time()
        epoch = state["epoch"] + 1
        net.train()
        perm = tr_t[torch.randperm(len(tr_t), generator=gen_shuffle)]
        tot = {"loss": 0.0, "top1": 0.0, "top6": 0.0, "n": 0}
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=nbatches,
                desc=f"m{member} epoch {epoch}/{rc['epochs']}",
                leave=False,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        for b in range(nbatches):
            idx = perm[b * bs : (b + 1) * bs] if nbatches > 1 else perm
            gb = G[idx]
            if aug is not None:
                params = aug.sample(len(idx), gen_aug, qd_all[idx])
                with torch.no_grad():
                    raw, nvalid = aug.transform(gb, params)
                    xb = minmax_truncate(raw, nvalid)
            else:
                xb = minmax_truncate(gb, full[idx])
            xb = xb.to(device)
            yb = y_all[idx].to(device)
            logits = net(xb, rad_all[idx].to(device))
            loss = torch.nn.functional.cross_entropy(logits, yb, weight=w_t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                top6 = logits.topk(min(6, logits.shape[1]), dim=1).indices
                hit = top6 == yb[:, None]
                nb = len(idx)
                tot["loss"] += loss.item() * nb
                tot["top1"] += hit[:, 0].float().sum().item()
                tot["top6"] += hit.any(1).float().sum().item()
                tot["n"] += nb
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    loss=f"{tot['loss'] / tot['n']:.3f}",
                    top1=f"{tot['top1'] / tot['n']:.3f}",
                    top6=f"{tot['top6'] / tot['n']:.3f}",
                )
        if bar is not None:
            bar.close()
        sched.step()
        n = max(tot["n"], 1)
        rec = {
            "epoch": epoch,
            "lr": float(opt.param_groups[0]["lr"]),
            "train_loss": tot["loss"] / n,
            "train_top1": tot["top1"] / n,
            "train_top6": tot["top6"] / n,
        }
        vm = _metrics(
            _batched_logits(net, xval, device, rad_val),
            data["y"][va],
            weights,
        )
        rec.update({f"val_{k}": v for k, v in vm.items()})
        if xval_aug is not None:
            am = _metrics(
                _batched_logits(net, xval_aug, device, rad_val),
                data["y"][va],
                weights,
            )
            rec.update({f"valaug_{k}": v for k, v in am.items()})
        prefix = "valaug_" if monitor == "aug" else "val_"
        metric = rc.get("monitor", "loss")
        # lower is better: the loss, or minus an accuracy
        score = rec[prefix + metric] * (1.0 if metric == "loss" else -1.0)
        if score < state["best"] - 1e-6:
            state["best"] = score
            state["best_epoch"] = epoch
            state["bad_epochs"] = 0
            best_weights = _clone_state(net)
        else:
            state["bad_epochs"] += 1
        rec["seconds"] = time.time() - t0
        last_epoch_time = rec["seconds"]
        state["history"].append(rec)
        state["epoch"] = epoch
        if state["bad_epochs"] >= rc["patience"]:
            state["done"] = True
            state["stop_reason"] = f"early stop (patience {rc['patience']})"
        elif epoch >= rc["epochs"]:
            state["done"] = True
            state["stop_reason"] = "all epochs"
        msg = (
            f"m{member} epoch {epoch:3d}  loss {rec['train_loss']:.3f}  "
            f"train top1 {rec['train_top1']:.3f} top6 "
            f"{rec['train_top6']:.3f} | val loss {rec['val_loss']:.3f} "
            f"top1 {rec['val_top1']:.3f} top6 {rec['val_top6']:.3f}"
        )
        if xval_aug is not None:
            msg += (
                f" | aug-val top1 {rec['valaug_top1']:.3f} "
                f"top6 {rec['valaug_top6']:.3f}"
            )
        log(msg + f"  ({rec['seconds']:.0f} s)")
        ck = {
            "model": _clone_state(net),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "best_model": best_weights,
            "gen_shuffle": gen_shuffle.get_state(),
            "gen_aug": gen_aug.get_state(),
            "rng": torch.get_rng_state(),
            "state": json.dumps(state),
            "recipe": recipe_key,
        }
        if device.type == "cuda":
            ck["cuda_rng"] = torch.cuda.get_rng_state()
        _atomic_torch_save(ck, ckpath)
        (ckdir / "state.json").write_text(json.dumps(state, indent=1) + "\n")
        if callback is not None:
            callback(member, rec)
    final = build_model(rc["model"], rc["config"])
    final.load_state_dict(best_weights)
    final.eval()
    return final, state


# -- the public function -----------------------------------------------------
@restores_torch_state
def train(
    dataset_path,
    output_dir,
    settings=None,
    *,
    resume=True,
    max_minutes=None,
    num_threads=None,
    progress=True,
    command=None,
    callback=None,
    **overrides,
):
    """Train a space-group classifier and write a model folder.

    The recipe is a :class:`TrainSettings` (``settings``), changed by
    any of its attributes given as keywords (``epochs=8``); the other
    keywords say how this call runs.  The body of this function is one
    sequence (data, split, members, calibration, card) kept together so
    that the recipe reads top to bottom.

    Parameters
    ----------
    dataset_path : str or Path
        HDF5 dataset (see :mod:`diffpy.sgpredict.dataset`).
    output_dir : str or Path
        Model folder to write (checkpoints go to its ``checkpoints/``).
    settings : TrainSettings, optional
        The recipe; default ``TrainSettings()``.  Its attributes:
    model : {"cnn", "resnet", "logreg"}
        The paper's network, the residual network that also reads the
        radiation, or the elastic-net baseline.
    config : dict, optional
        Architecture settings; for ``cnn`` default :data:`CNN_DEFAULTS`
        (``filters``, ``kernel``, ``hidden``, ``dropout``, ...), for
        ``logreg`` ``{"quadratic": True}``.
    epochs, batch_size, lr : int, int, float
        Length of training, mini-batch size, Adam learning rate.
    schedule : {"cosine", "step", "constant"}
        Learning-rate schedule; ``step`` divides by 10 at 49 % and 74 %
        of the epochs as the paper did (81 and 122 of 164).
    weight_decay : float
        Adam weight decay.
    patience : int
        Stop after this many epochs without a better validation score
        (on the augmented validation set when augmenting); the weights of
        the best epoch are kept.
    monitor : {"loss", "top1", "top6"}
        The validation score: the class-weighted loss (a proper score,
        which also punishes overconfidence) or an accuracy.
    seed : int
        Seed of the split, the initial weights, shuffling and
        augmentation.
    device : {"auto", "cpu", "cuda"} or str
        Torch device; ``auto`` takes CUDA when available.
    val_fraction : float
        Share of rows held out for validation.
    split : {"grouped", "random"}
        ``grouped`` keeps rows of one prototype key on one side.
    test_fraction : float
        Before the validation split, set aside two test sets of about
        this share each, never used in training or model choice: whole
        structure types (prototype keys) and a random share of the
        remaining rows per group (the paper's protocol).  Their row ids
        are written to ``heldout.json`` in the model folder for
        :func:`diffpy.sgpredict.evaluate.evaluate`.
    ensemble : int
        Number of networks, each with its own seed, averaged in
        log-probability.
    augment : bool
        Augment training batches on the fly (and validate on a fixed,
        augmented copy of the validation rows as well).
    augment_config : AugmentConfig, optional
        Ranges and probabilities of the augmentation.
    class_weights : {"inverse", "sqrt", "none"}
        Per-class loss weights.
    resume : bool
        Continue from checkpoints in ``output_dir``; ``False`` starts
        over.
    max_minutes : float, optional
        Time budget of this call; members stop at an epoch boundary when
        the next epoch would not fit, and the best weights so far are
        written.  Run the command again to continue.
    max_rows : int, optional
        Use only the first ``max_rows`` usable rows of the file, so that
        a dataset that is still growing gives the same training set (and
        resumes) later.
    logreg_options : dict, optional
        Keyword arguments of
        :func:`diffpy.sgpredict.models.logreg.fit_logreg` and
        ``max_samples``, the most training rows used (default 25000).
    num_threads : int, optional
        CPU threads for torch during the call (restored afterwards);
        default: torch's current setting.
    progress : bool
        Show progress bars and per-epoch lines on stderr.
    command : str, optional
        The command line, recorded in the card.
    callback : callable, optional
        Called as ``callback(member, record)`` after every epoch, once its
        checkpoint is written (an exception raised there stops training
        as a kill would).

    Returns
    -------
    TrainResult

    Raises
    ------
    InputError
        For unusable data or options.

    Examples
    --------
    >>> res = train("train.h5", "model/", epochs=2,
    ...             config={"filters": [16, 8], "kernel": 8,
    ...                     "hidden": 32})            # doctest: +SKIP
    >>> res.card["metrics"]["validation"]["top1"]   # doctest: +SKIP
    0.31
    """
    import torch

    from diffpy.sgpredict.augment import (
        AugmentConfig,
        Augmenter,
        minmax_truncate,
    )
    from diffpy.sgpredict.dataset import split_indices

    try:
        recipe = replace(settings or TrainSettings(), **overrides)
    except TypeError as exc:
        raise InputError(f"train: {exc}") from None
    model, config, epochs = recipe.model, recipe.config, recipe.epochs
    batch_size, lr, schedule = recipe.batch_size, recipe.lr, recipe.schedule
    weight_decay, patience = recipe.weight_decay, recipe.patience
    monitor, seed, device = recipe.monitor, recipe.seed, recipe.device
    val_fraction, split = recipe.val_fraction, recipe.split
    test_fraction, ensemble = recipe.test_fraction, recipe.ensemble
    augment, augment_config = recipe.augment, recipe.augment_config
    class_weights, max_rows = recipe.class_weights, recipe.max_rows
    logreg_options = recipe.logreg_options
    t_start = time.time()
    deadline = t_start + 60.0 * max_minutes if max_minutes else None
    output_dir = Path(output_dir)
    num_threads = torch.get_num_threads()  # set by restores_torch_state
    dev = _resolve_device(device)
    cfg = _canonical_config(model, config)
    log = (
        (lambda m: print(m, file=sys.stderr, flush=True))
        if progress
        else (lambda m: None)
    )
    data = load_training_data(dataset_path)
    nall = len(data["y"])
    if max_rows and nall > int(max_rows):
        pick = numpy.arange(int(max_rows))
        data = {
            k: (v[pick] if isinstance(v, numpy.ndarray) else v)
            for k, v in data.items()
        }
    groups = data["prototype"].copy()
    empty = (groups == "") | (groups == "None")
    groups[empty] = numpy.char.add(
        numpy.char.add(data["formula"][empty], "|"),
        data["sg_number"][empty].astype(str),
    )
    heldout = {}
    pool = numpy.arange(len(data["y"]))
    if test_fraction:
        pool, te_type = split_indices(
            data["sg_number"],
            groups,
            float(test_fraction),
            int(seed) + 11,
            "grouped",
        )
        keep, te_rand = split_indices(
            data["sg_number"][pool],
            None,
            float(test_fraction),
            int(seed) + 12,
            "random",
        )
        heldout = {
            "structure_type": data["id"][te_type].tolist(),
            "random": data["id"][pool[te_rand]].tolist(),
        }
        pool = pool[keep]
    tr, va = split_indices(
        data["sg_number"][pool],
        groups[pool],
        float(val_fraction),
        int(seed),
        split,
    )
    tr, va = pool[tr], pool[va]
    if len(va) == 0 or len(tr) == 0:
        raise InputError(
            f"{dataset_path}: the {split} split left an empty side; use more "
            "data, a larger val_fraction or split='random'"
        )
    ncls = len(spacegroups.NUMBERS)
    counts = numpy.bincount(data["y"][tr], minlength=ncls)
    weights = class_weights_for(counts, class_weights)
    prior = effective_prior(counts, weights)
    if augment_config is None:
        built = _provenance(dataset_path).get("config", {}).get("settings")
        augment_config = (
            AugmentConfig.for_physics_data()
            if built == "physics"
            else AugmentConfig()
        )
    aconf = augment_config
    rc = {
        "model": model,
        "config": cfg,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "schedule": schedule,
        "weight_decay": float(weight_decay),
        "patience": int(patience),
        "monitor": monitor,
        "seed": int(seed),
        "val_fraction": float(val_fraction),
        "split": split,
        "test_fraction": float(test_fraction),
        "ensemble": int(ensemble),
        "augment": bool(augment),
        "augment_config": aconf.to_dict() if augment else None,
        "class_weights": class_weights,
        "max_rows": max_rows,
        "data_rows": int(len(data["y"])),
        "data_ids_sha256": hashlib.sha256(
            "\n".join(data["id"]).encode()
        ).hexdigest(),
        "max_minutes": max_minutes,
        "command": command,
    }
    log(
        f"{nall} rows ({data['dropped']} outside the 45 groups dropped); "
        f"train {len(tr)}, validation {len(va)} ({split} split), "
        f"held out {sum(len(v) for v in heldout.values())}; "
        f"{int((counts > 0).sum())} groups present; device {dev}"
    )
    Gv = torch.from_numpy(data["G"][va])
    xval = minmax_truncate(
        Gv, torch.full((len(va),), Gv.shape[1], dtype=torch.long)
    ).numpy()
    xval_aug = None
    if augment:
        vgen = torch.Generator().manual_seed(int(seed) + 7919)
        xval_aug, _ = Augmenter(MODEL_GRID.r, aconf)(
            Gv, generator=vgen, qdamp0=data["qdamp"][va]
        )
        xval_aug = xval_aug.numpy()
    histories = []
    info = {}
    if model in ("cnn", "resnet"):
        members, states = [], []
        for m in range(int(ensemble)):
            ckdir = output_dir / "checkpoints" / f"member{m}"
            if not resume and (ckdir / CHECKPOINT_NAME).exists():
                (ckdir / CHECKPOINT_NAME).unlink()
            # share what is left of the time budget among the members
            # still to train (finished members return at once)
            member_deadline = None
            if deadline:
                left = deadline - time.time()
                member_deadline = time.time() + left / (int(ensemble) - m)
            net, st = _train_member(
                m,
                data,
                tr,
                va,
                xval,
                xval_aug,
                weights,
                rc,
                aconf,
                dev,
                ckdir,
                resume,
                member_deadline,
                log,
                progress,
                callback,
            )
            histories.append(st["history"])
            if st["epoch"] == 0:
                log(f"member {m}: no epoch fitted in the time budget")
                continue
            members.append(net)
            states.append(st)
        if not members:
            raise InputError(
                "no epoch fitted in the time budget; give more --max-minutes"
            )
        info["members"] = [
            {
                "epochs_run": st["epoch"],
                "best_epoch": st["best_epoch"],
                "finished": st["done"],
                "stop_reason": st["stop_reason"],
            }
            for st in states
        ]
    else:
        from diffpy.sgpredict.models.logreg import fit_logreg

        opts = dict(logreg_options or {})
        max_samples = int(opts.pop("max_samples", 25000))
        sub = tr
        if len(sub) > max_samples:
            rng = numpy.random.default_rng(seed)
            sub = numpy.sort(rng.choice(tr, max_samples, replace=False))
        Gt = torch.from_numpy(data["G"][sub])
        if augment:
            tgen = torch.Generator().manual_seed(int(seed) + 104729)
            xt, _ = Augmenter(MODEL_GRID.r, aconf)(
                Gt, generator=tgen, qdamp0=data["qdamp"][sub]
            )
            xt = xt.numpy()
        else:
            xt = minmax_truncate(
                Gt, torch.full((len(sub),), Gt.shape[1], dtype=torch.long)
            ).numpy()
        log(f"fitting elastic-net logistic regression on {len(sub)} rows")
        net, linfo = fit_logreg(
            xt,
            data["y"][sub],
            quadratic=cfg["quadratic"],
            nclasses=cfg["nclasses"],
            class_weight="balanced" if class_weights == "inverse" else None,
            seed=int(seed),
            progress=log,
            **opts,
        )
        members = [net]
        info["logreg"] = dict(linfo, n_samples=int(len(sub)))
        rc["logreg_options"] = dict(opts, max_samples=max_samples)
        if class_weights not in ("inverse", "none"):
            raise InputError("logreg takes class_weights inverse or none")
        histories.append([])
    # final validation metrics of the whole model
    from diffpy.sgpredict.models import Ensemble

    whole = members[0] if len(members) == 1 else Ensemble(members)
    whole.eval()
    cpu = torch.device("cpu")
    rad_val = data["radiation"][va]
    val_logits = _batched_logits(whole, xval, cpu, rad_val)
    metrics = {"validation": _metrics(val_logits, data["y"][va], weights)}
    if xval_aug is not None:
        val_logits = _batched_logits(whole, xval_aug, cpu, rad_val)
        metrics["validation_augmented"] = _metrics(
            val_logits, data["y"][va], weights
        )
    calibration = _calibrate(val_logits.numpy(), data["y"][va])
    metrics["note"] = (
        "held-out rows of the training dataset (generated data, "
        f"{split} split by prototype key, {len(va)} rows); not real data"
    )
    card = _make_card(
        dataset_path, data, tr, va, counts, weights, prior, rc, metrics, info
    )
    card["calibration"] = calibration
    card["inputs"] = {"radiation": bool(cfg.get("radiation_input", False))}
    if heldout:
        card["training_data"]["heldout"] = {
            k: len(v) for k, v in heldout.items()
        }
    card["recipe"]["minutes"] = round((time.time() - t_start) / 60.0, 2)
    card["recipe"]["device"] = str(dev)
    card["recipe"]["torch_threads"] = int(num_threads)
    from diffpy.sgpredict.card import save_model

    save_model(output_dir, [m.cpu() for m in members], card)
    if heldout:
        (output_dir / HELDOUT_NAME).write_text(
            json.dumps(heldout, indent=0) + "\n"
        )
    _write_training_set(output_dir, data, dataset_path)
    from diffpy.sgpredict.card import read_card

    card = read_card(output_dir)
    v = metrics["validation"]
    log(
        f"wrote {output_dir}: validation top-1 {v['top1']:.3f}, "
        f"top-6 {v['top6']:.3f}"
    )
    return TrainResult(output_dir, card, histories)


def _calibrate(logits, y):
    """Temperature of the validation logits, ECE before and after.

    Fitted on the validation rows as the model sees them (augmented
    when training augments), with the training prior: the predictor
    divides the network's log-probabilities by it before the prior
    correction.
    """
    from diffpy.sgpredict.metrics import (
        expected_calibration_error,
        fit_temperature,
        softmax,
    )

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


def _make_card(
    dataset_path, data, tr, va, counts, weights, prior, rc, metrics, info
):
    from diffpy.sgpredict.version import __version__

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover
        torch_version = None
    name = f"sgpredict-{rc['model']}" + (
        f"-x{rc['ensemble']}" if rc["ensemble"] > 1 else ""
    )
    nums = spacegroups.NUMBERS
    per_group = {str(n): int(c) for n, c in zip(nums, counts) if c}
    if rc["class_weights"] in ("inverse",):
        note = (
            "effective class prior of the class-weighted loss: weights "
            "1/n_c make the loss that of a class-balanced set, so the "
            "network estimates p(group | X) under a uniform prior over the "
            "groups present in training; groups absent from training get "
            "the smallest value of the others. Shift log-probabilities by "
            "log(target / train) for real-material frequencies."
        )
    else:
        note = (
            f"effective class prior pi_c ~ n_c * w_c of the loss with "
            f"{rc['class_weights']!r} class weights; groups absent from "
            "training get the smallest value of the others."
        )
    recipe = dict(rc)
    recipe["package_version"] = __version__
    recipe["torch_version"] = torch_version
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
            "provenance": _provenance(dataset_path),
            "n_rows": int(len(data["y"])),
            "n_train": int(len(tr)),
            "n_validation": int(len(va)),
            "dropped_rows": int(data["dropped"]),
            "per_group_train": per_group,
            "training_set_file": TRAINING_SET_NAME,
        },
        "prior": {
            "train": [float(p) for p in prior],
            "train_counts": [int(c) for c in counts],
            "class_weights": [float(w) for w in weights],
            "note": note,
        },
        "recipe": recipe,
        "metrics": metrics,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _write_training_set(output_dir, data, dataset_path):
    """Store the (formula, group) pairs and prototype keys of the data."""
    from diffpy.sgpredict.dataset import source_kinds
    from diffpy.sgpredict.evaluate import canonical_formula

    pairs = sorted(
        {
            (canonical_formula(f), int(s))
            for f, s in zip(data["formula"], data["sg_number"])
        }
    )
    protos = sorted({p for p in data["prototype"] if p and p != "None"})
    cif = source_kinds(data["source"]) == "cif"
    cif_pairs = sorted(
        {
            (canonical_formula(f), int(s))
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
