"""Training one network: epochs, validation, checkpoints, resume.

:func:`train_member` trains (or resumes, or reloads) one member of an
ensemble.  Its state lives in :class:`MemberRun`: the network, the
optimiser and schedule, the shuffling and augmentation generators, the
best weights so far and a small record (epoch, best score, history).
After every epoch the whole state is written atomically to
``checkpoint.pt`` (plain tensors and containers only, read back with
``torch.load(weights_only=True)``) and summarised in ``state.json``, so
that the same command resumes after a kill and, on the same machine and
thread count, ends with the weights of an uninterrupted run.
"""

import json
import math
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch
from tqdm import tqdm

from diffpy.sgpredict.augment import Augmenter, minmax_truncate
from diffpy.sgpredict.card import load_model
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.metrics import topk_accuracy
from diffpy.sgpredict.models import build_model
from diffpy.sgpredict.training.settings import (
    CHECKPOINT_NAME,
    recipe_key,
    same_recipe,
)

__all__ = [
    "MemberInputs",
    "MemberRun",
    "train_member",
    "resolve_device",
    "batched_logits",
    "score_logits",
    "make_schedule",
    "initial_weights",
]


def resolve_device(device):
    """The torch device of a ``device`` setting (``auto``: CUDA if any)."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' asked for, but CUDA is unavailable")
    return dev


def _atomic_torch_save(obj, path):
    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _clone_state(module):
    return {
        k: v.detach().cpu().clone() for k, v in module.state_dict().items()
    }


def batched_logits(net, x, device, radiation=None, batch=1024):
    """The network's outputs for the rows of ``x``, in batches."""
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


def score_logits(logits, y, weights):
    """Loss (class-weighted and plain) and top-1..6 of logits."""
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


def make_schedule(optimizer, schedule, epochs):
    """The learning-rate schedule: cosine, the paper's steps, constant."""
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


def initial_weights(model_dir, record, member):
    """Weights of a trained model's member to start fine-tuning from.

    Member ``member`` of the new run starts from member ``member % n``
    of the ``n`` members of the model in ``model_dir`` (checksum
    verified on load).

    Raises
    ------
    InputError
        When the model's architecture or configuration differ from the
        recipe's.
    """
    net, card = load_model(model_dir)
    if (
        card["architecture"] != record["model"]
        or card["config"] != record["config"]
    ):
        raise InputError(
            f"--init-from {model_dir}: its network ({card['architecture']} "
            f"{card['config']}) is not the one asked for ({record['model']} "
            f"{record['config']}); give the same architecture options"
        )
    members = list(getattr(net, "members", [net]))
    return _clone_state(members[member % len(members)])


@dataclass
class MemberInputs:
    """What every member trains and validates on.

    Attributes
    ----------
    data : dict
        :func:`~diffpy.sgpredict.training.data.load_training_data`.
    train, validation : ndarray of int
        Row indices.
    xval, xval_aug : ndarray
        Fixed validation inputs, clean and augmented (or None).
    weights : ndarray
        Class weights of the loss.
    record : dict
        The recipe record (:func:`~.settings.recipe_record`).
    aconf : AugmentConfig
        The augmentation of training batches.
    device : torch.device
        Where to train.
    """

    data: dict
    train: numpy.ndarray
    validation: numpy.ndarray
    xval: numpy.ndarray
    xval_aug: object
    weights: numpy.ndarray
    record: dict
    aconf: object
    device: object


class MemberRun:
    """The state of one member's training, with one method per step."""

    def __init__(self, member, inputs, ckdir):
        rc = inputs.record
        self.member, self.inputs, self.ckdir = member, inputs, ckdir
        self.ckpath = ckdir / CHECKPOINT_NAME
        seed = int(rc["seed"]) * 1000 + member
        # weight initialisation draws from torch's global generator; the
        # caller (train) restores it afterwards
        torch.manual_seed(seed)
        self.net = build_model(rc["model"], rc["config"])
        if rc.get("init_from"):
            self.net.load_state_dict(
                initial_weights(rc["init_from"], rc, member)
            )
        self.net.to(inputs.device)
        self.opt = torch.optim.Adam(
            self.net.parameters(),
            lr=rc["lr"],
            weight_decay=rc["weight_decay"],
        )
        self.sched = make_schedule(self.opt, rc["schedule"], rc["epochs"])
        self.gen_shuffle = torch.Generator().manual_seed(seed + 1)
        self.gen_aug = torch.Generator().manual_seed(seed + 2)
        self.state = {
            "epoch": 0,
            "best": math.inf,
            "best_epoch": 0,
            "bad_epochs": 0,
            "history": [],
            "done": False,
            "stop_reason": "",
        }
        self.best_weights = _clone_state(self.net)
        self.key = recipe_key(rc)

    # -- checkpoints ------------------------------------------------------
    def restore(self, log):
        """Load the checkpoint when there is one; refuse another recipe."""
        if not self.ckpath.is_file():
            return
        try:
            ck = torch.load(self.ckpath, map_location="cpu", weights_only=True)
        except (
            OSError,
            RuntimeError,
            EOFError,
            ValueError,
            pickle.UnpicklingError,
        ) as exc:
            raise ModelError(
                f"{self.ckpath}: cannot read the checkpoint ({exc}); "
                "delete it or train with --restart"
            ) from exc
        if not same_recipe(ck.get("recipe"), self.key):
            raise InputError(
                f"{self.ckpath}: the checkpoint belongs to other settings "
                "or other data; use the same options (and --max-rows for "
                "a dataset that has grown since) to resume, or --restart "
                "to start over"
            )
        self.net.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        self.sched.load_state_dict(ck["scheduler"])
        self.best_weights = ck["best_model"]
        self.gen_shuffle.set_state(ck["gen_shuffle"])
        self.gen_aug.set_state(ck["gen_aug"])
        torch.set_rng_state(ck["rng"])
        if self.inputs.device.type == "cuda" and "cuda_rng" in ck:
            torch.cuda.set_rng_state(ck["cuda_rng"])
        self.state = json.loads(ck["state"])
        log(
            f"member {self.member}: resumed after epoch "
            f"{self.state['epoch']}"
            + (" (finished)" if self.state["done"] else "")
        )

    def save(self):
        """Write the checkpoint atomically and its readable summary."""
        ck = {
            "model": _clone_state(self.net),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "best_model": self.best_weights,
            "gen_shuffle": self.gen_shuffle.get_state(),
            "gen_aug": self.gen_aug.get_state(),
            "rng": torch.get_rng_state(),
            "state": json.dumps(self.state),
            "recipe": self.key,
        }
        if self.inputs.device.type == "cuda":
            ck["cuda_rng"] = torch.cuda.get_rng_state()
        _atomic_torch_save(ck, self.ckpath)
        (self.ckdir / "state.json").write_text(
            json.dumps(self.state, indent=1) + "\n"
        )

    # -- one epoch --------------------------------------------------------
    def _batches(self):
        """Yield (inputs, radiation, labels) of the shuffled training rows."""
        inp, rc = self.inputs, self.inputs.record
        data = inp.data
        G = torch.from_numpy(data["G"])
        tr = torch.as_tensor(inp.train, dtype=torch.long)
        bs = int(rc["batch_size"])
        nbatches = max(1, len(tr) // bs) if len(tr) >= bs else 1
        aug = Augmenter(MODEL_GRID.r, inp.aconf) if rc["augment"] else None
        qd = torch.as_tensor(data["qdamp"], dtype=torch.float64)
        rad = torch.as_tensor(data["radiation"], dtype=torch.float32)
        y = torch.as_tensor(data["y"], dtype=torch.long)
        perm = tr[torch.randperm(len(tr), generator=self.gen_shuffle)]
        for b in range(nbatches):
            idx = perm[b * bs : (b + 1) * bs] if nbatches > 1 else perm
            if aug is not None:
                params = aug.sample(len(idx), self.gen_aug, qd[idx])
                with torch.no_grad():
                    raw, nvalid = aug.transform(G[idx], params)
                    xb = minmax_truncate(raw, nvalid)
            else:
                full = torch.full((len(idx),), G.shape[1], dtype=torch.long)
                xb = minmax_truncate(G[idx], full)
            yield xb, rad[idx], y[idx], nbatches

    def run_epoch(self, epoch, progress):
        """Train one epoch; return the training loss and accuracies."""
        dev = self.inputs.device
        w_t = torch.as_tensor(self.inputs.weights, dtype=torch.float32)
        w_t = w_t.to(dev)
        self.net.train()
        tot = {"loss": 0.0, "top1": 0.0, "top6": 0.0, "n": 0}
        bar = None
        for xb, rb, yb, nbatches in self._batches():
            if progress and bar is None:
                bar = tqdm(
                    total=nbatches,
                    desc=f"m{self.member} epoch {epoch}/"
                    f"{self.inputs.record['epochs']}",
                    leave=False,
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            xb, yb = xb.to(dev), yb.to(dev)
            logits = self.net(xb, rb.to(dev))
            loss = torch.nn.functional.cross_entropy(logits, yb, weight=w_t)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            with torch.no_grad():
                top6 = logits.topk(min(6, logits.shape[1]), dim=1).indices
                hit = top6 == yb[:, None]
                tot["loss"] += loss.item() * len(yb)
                tot["top1"] += hit[:, 0].float().sum().item()
                tot["top6"] += hit.any(1).float().sum().item()
                tot["n"] += len(yb)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    **{
                        k: f"{tot[k] / tot['n']:.3f}"
                        for k in ("loss", "top1", "top6")
                    }
                )
        if bar is not None:
            bar.close()
        self.sched.step()
        n = max(tot["n"], 1)
        return {
            "epoch": epoch,
            "lr": float(self.opt.param_groups[0]["lr"]),
            "train_loss": tot["loss"] / n,
            "train_top1": tot["top1"] / n,
            "train_top6": tot["top6"] / n,
        }

    def validate(self, rec):
        """Add the validation scores to an epoch's record."""
        inp = self.inputs
        va = inp.validation
        rad_val = inp.data["radiation"][va]
        sets = [("val_", inp.xval)]
        if inp.xval_aug is not None:
            sets.append(("valaug_", inp.xval_aug))
        for prefix, x in sets:
            logits = batched_logits(self.net, x, inp.device, rad_val)
            scores = score_logits(logits, inp.data["y"][va], inp.weights)
            rec.update({prefix + k: v for k, v in scores.items()})
        return rec

    def update_state(self, rec):
        """Keep the best weights, count bad epochs, decide to stop."""
        rc, state = self.inputs.record, self.state
        prefix = "valaug_" if self.inputs.xval_aug is not None else "val_"
        metric = rc.get("monitor", "loss")
        # lower is better: the loss, or minus an accuracy
        score = rec[prefix + metric] * (1.0 if metric == "loss" else -1.0)
        if score < state["best"] - 1e-6:
            state["best"] = score
            state["best_epoch"] = rec["epoch"]
            state["bad_epochs"] = 0
            self.best_weights = _clone_state(self.net)
        else:
            state["bad_epochs"] += 1
        state["history"].append(rec)
        state["epoch"] = rec["epoch"]
        if state["bad_epochs"] >= rc["patience"]:
            state["done"] = True
            state["stop_reason"] = f"early stop (patience {rc['patience']})"
        elif rec["epoch"] >= rc["epochs"]:
            state["done"] = True
            state["stop_reason"] = "all epochs"

    def best_model(self):
        """A fresh network with the best weights, in eval mode."""
        rc = self.inputs.record
        final = build_model(rc["model"], rc["config"])
        final.load_state_dict(self.best_weights)
        final.eval()
        return final


def _epoch_line(member, rec):
    msg = (
        f"m{member} epoch {rec['epoch']:3d}  loss {rec['train_loss']:.3f}  "
        f"train top1 {rec['train_top1']:.3f} top6 "
        f"{rec['train_top6']:.3f} | val loss {rec['val_loss']:.3f} "
        f"top1 {rec['val_top1']:.3f} top6 {rec['val_top6']:.3f}"
    )
    if "valaug_top1" in rec:
        msg += (
            f" | aug-val top1 {rec['valaug_top1']:.3f} "
            f"top6 {rec['valaug_top6']:.3f}"
        )
    return msg + f"  ({rec['seconds']:.0f} s)"


def train_member(
    member,
    inputs,
    ckdir,
    resume=True,
    deadline=None,
    log=print,
    progress=False,
    callback=None,
):
    """Train (or resume, or reload) one ensemble member.

    Parameters
    ----------
    member : int
        Index of the member (its seed is ``seed * 1000 + member``).
    inputs : MemberInputs
        Data, split, validation inputs, weights and recipe.
    ckdir : Path
        The member's checkpoint folder.
    resume : bool
        Continue from the checkpoint there.
    deadline : float, optional
        ``time.time()`` after which no new epoch starts (an epoch starts
        only when it is expected to end before it).
    log : callable
        Receives one line per epoch.
    progress : bool
        Show a progress bar per epoch.
    callback : callable, optional
        ``callback(member, record)`` after each epoch's checkpoint.

    Returns
    -------
    net : torch.nn.Module
        The member with its best weights.
    state : dict
        Epochs run, best epoch, history, stop reason.
    """
    ckdir = Path(ckdir)
    ckdir.mkdir(parents=True, exist_ok=True)
    run = MemberRun(member, inputs, ckdir)
    if resume:
        run.restore(log)
    last_epoch_time = 0.0
    epochs = inputs.record["epochs"]
    while not run.state["done"] and run.state["epoch"] < epochs:
        if deadline and time.time() + last_epoch_time > deadline:
            run.state["stop_reason"] = "time budget"
            break
        t0 = time.time()
        rec = run.validate(run.run_epoch(run.state["epoch"] + 1, progress))
        rec["seconds"] = last_epoch_time = time.time() - t0
        run.update_state(rec)
        log(_epoch_line(member, rec))
        run.save()
        if callback is not None:
            callback(member, rec)
    return run.best_model(), run.state
