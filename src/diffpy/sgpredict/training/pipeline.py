"""The training pipeline: data, split, members, calibration, card."""

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy
import torch

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.augment import Augmenter, minmax_truncate
from diffpy.sgpredict.card import read_card, save_model
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.metrics import class_weights_for, effective_prior
from diffpy.sgpredict.models import Ensemble
from diffpy.sgpredict.runtime import restores_torch_state
from diffpy.sgpredict.training.card import (
    calibrate,
    make_card,
    write_training_set,
)
from diffpy.sgpredict.training.data import (
    check_same_test_rows,
    default_augment_config,
    limit_rows,
    load_training_data,
    split_rows,
    validation_inputs,
)
from diffpy.sgpredict.training.logreg import fit_logreg
from diffpy.sgpredict.training.loop import (
    MemberInputs,
    batched_logits,
    resolve_device,
    score_logits,
    train_member,
)
from diffpy.sgpredict.training.settings import (
    CHECKPOINT_NAME,
    HELDOUT_NAME,
    TrainResult,
    TrainSettings,
    canonical_config,
    recipe_record,
)

__all__ = ["train"]


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
    keywords say how this call runs.  The body is the pipeline in order
    (data, split, members, calibration, card), each step one call, kept
    in one function so that it reads top to bottom.

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
        Architecture settings; for ``cnn`` default
        :data:`~diffpy.sgpredict.training.settings.CNN_DEFAULTS`
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
    max_rows : int, optional
        Use only the first ``max_rows`` usable rows of the file, so that
        a dataset that is still growing gives the same training set (and
        resumes) later.
    logreg_options : dict, optional
        Keyword arguments of
        :func:`diffpy.sgpredict.training.logreg.fit_logreg` and
        ``max_samples``, the most training rows used (default 25000).
    resume : bool
        Continue from checkpoints in ``output_dir``; ``False`` starts
        over.
    max_minutes : float, optional
        Time budget of this call; members stop at an epoch boundary when
        the next epoch would not fit, and the best weights so far are
        written.  Run the command again to continue.
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
    try:
        recipe = replace(settings or TrainSettings(), **overrides)
    except TypeError as exc:
        raise InputError(f"train: {exc}") from None
    t_start = time.time()
    output_dir = Path(output_dir)
    log = _logger(progress)
    dev = resolve_device(recipe.device)
    data = load_training_data(dataset_path)
    nall = len(data["y"])
    data = limit_rows(data, recipe.max_rows)
    split = split_rows(data, recipe, dataset_path)
    if recipe.init_from:
        check_same_test_rows(recipe.init_from, split)
    counts = numpy.bincount(
        data["y"][split.train], minlength=len(spacegroups.NUMBERS)
    )
    weights = class_weights_for(counts, recipe.class_weights)
    aconf = recipe.augment_config or default_augment_config(dataset_path)
    rc = recipe_record(
        recipe,
        canonical_config(recipe.model, recipe.config),
        aconf,
        data,
        max_minutes,
        command,
    )
    log(
        f"{nall} rows ({data['dropped']} outside the 45 groups dropped); "
        f"train {len(split.train)}, validation {len(split.validation)} "
        f"({recipe.split} split), held out "
        f"{sum(len(v) for v in split.heldout.values())}; "
        f"{int((counts > 0).sum())} groups present; device {dev}"
    )
    xval, xval_aug = validation_inputs(
        data, split.validation, aconf, recipe.augment, recipe.seed
    )
    inputs = MemberInputs(
        data, split.train, split.validation, xval, xval_aug, weights, rc,
        aconf, dev,
    )  # fmt: skip
    deadline = t_start + 60.0 * max_minutes if max_minutes else None
    if recipe.model in ("cnn", "resnet"):
        members, histories, info = _train_networks(
            inputs, output_dir, resume, deadline, log, progress, callback
        )
    else:
        members, histories, info = _fit_baseline(
            inputs, recipe.logreg_options, log
        )
    metrics, calibration = _validation_metrics(members, inputs, recipe)
    card = make_card(
        dataset_path,
        data,
        split,
        (counts, weights, effective_prior(counts, weights)),
        rc,
        metrics,
        info,
    )
    card["calibration"] = calibration
    card["recipe"].update(
        minutes=round((time.time() - t_start) / 60.0, 2),
        device=str(dev),
        torch_threads=int(torch.get_num_threads()),
    )
    _write_model(output_dir, members, card, split, data, dataset_path)
    v = metrics["validation"]
    log(
        f"wrote {output_dir}: validation top-1 {v['top1']:.3f}, "
        f"top-6 {v['top6']:.3f}"
    )
    return TrainResult(output_dir, read_card(output_dir), histories)


def _write_model(output_dir, members, card, split, data, dataset_path):
    """Write the model folder: weights and card, test rows, training set."""
    card["inputs"] = {
        "radiation": bool(card["config"].get("radiation_input", False))
    }
    if split.heldout:
        card["training_data"]["heldout"] = {
            k: len(v) for k, v in split.heldout.items()
        }
    save_model(output_dir, [m.cpu() for m in members], card)
    if split.heldout:
        (output_dir / HELDOUT_NAME).write_text(
            json.dumps(split.heldout, indent=0) + "\n"
        )
    write_training_set(output_dir, data, dataset_path)


def _logger(progress):
    if progress:
        return lambda m: print(m, file=sys.stderr, flush=True)
    return lambda m: None


def _train_networks(inputs, output_dir, resume, deadline, log, progress, cb):
    """Train the ensemble members one after the other.

    What is left of the time budget is shared among the members still
    to train (finished members return at once).
    """
    ensemble = inputs.record["ensemble"]
    members, states, histories = [], [], []
    for m in range(ensemble):
        ckdir = output_dir / "checkpoints" / f"member{m}"
        if not resume and (ckdir / CHECKPOINT_NAME).exists():
            (ckdir / CHECKPOINT_NAME).unlink()
        member_deadline = None
        if deadline:
            left = deadline - time.time()
            member_deadline = time.time() + left / (ensemble - m)
        net, st = train_member(
            m, inputs, ckdir, resume, member_deadline, log, progress, cb
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
    info = {
        "members": [
            {
                "epochs_run": st["epoch"],
                "best_epoch": st["best_epoch"],
                "finished": st["done"],
                "stop_reason": st["stop_reason"],
            }
            for st in states
        ]
    }
    return members, histories, info


def _fit_baseline(inputs, logreg_options, log):
    """Fit the elastic-net baseline on (at most ``max_samples``) rows."""
    rc, data = inputs.record, inputs.data
    opts = dict(logreg_options or {})
    max_samples = int(opts.pop("max_samples", 25000))
    sub = inputs.train
    seed = int(rc["seed"])
    if len(sub) > max_samples:
        rng = numpy.random.default_rng(seed)
        sub = numpy.sort(rng.choice(sub, max_samples, replace=False))
    Gt = torch.from_numpy(data["G"][sub])
    if rc["augment"]:
        tgen = torch.Generator().manual_seed(seed + 104729)
        xt, _ = Augmenter(MODEL_GRID.r, inputs.aconf)(
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
        quadratic=rc["config"]["quadratic"],
        nclasses=rc["config"]["nclasses"],
        class_weight=(
            "balanced" if rc["class_weights"] == "inverse" else None
        ),
        seed=seed,
        progress=log,
        **opts,
    )
    rc["logreg_options"] = dict(opts, max_samples=max_samples)
    if rc["class_weights"] not in ("inverse", "none"):
        raise InputError("logreg takes class_weights inverse or none")
    info = {"logreg": dict(linfo, n_samples=int(len(sub)))}
    return [net], [[]], info


def _validation_metrics(members, inputs, recipe):
    """Validation scores of the whole model, and its calibration."""
    whole = members[0] if len(members) == 1 else Ensemble(members)
    whole.eval()
    cpu = torch.device("cpu")
    va = inputs.validation
    y = inputs.data["y"][va]
    rad_val = inputs.data["radiation"][va]
    logits = batched_logits(whole, inputs.xval, cpu, rad_val)
    metrics = {"validation": score_logits(logits, y, inputs.weights)}
    if inputs.xval_aug is not None:
        logits = batched_logits(whole, inputs.xval_aug, cpu, rad_val)
        metrics["validation_augmented"] = score_logits(
            logits, y, inputs.weights
        )
    metrics["note"] = (
        "held-out rows of the training dataset (generated data, "
        f"{recipe.split} split by prototype key, {len(va)} rows); not "
        "real data"
    )
    return metrics, calibrate(logits.numpy(), y)
