"""Teach a trained network what the number of species says.

The PDF of an element in fcc and of an ordered A3B alloy in Pm-3m
(L1_2) are nearly the same, and so are those of diamond Si and a
chalcopyrite in I-42d; the composition tells them apart.  The
stoichiometry prior (:mod:`diffpy.sgpredict.chemprior`) weighs whole
groups by composition, but cannot say "fcc-like peaks *and* one
element": that needs the PDF's features and the composition together.

:func:`fit_species_head` adds that to a trained residual network
(:mod:`diffpy.sgpredict.models.resnet`, ``species_input``): per species
code ``s`` a bias :math:`B_s` and a matrix :math:`V_s` on the network's
dense features :math:`h`,

.. math::

    z_g(s) = w_g \\cdot h + b_g + B_{sg} + V_{sg} \\cdot h .

Everything already trained stays fixed, so a PDF without a composition
gets exactly the output it had.  The new parameters are fitted on the
training rows only (several augmented copies of each, drawn as in
training), with the same class weights, by minimising

.. math::

    -\\frac{1}{\\sum_i c_{y_i}} \\sum_i c_{y_i}
        \\log \\operatorname{softmax}(z(s_i))_{y_i}
    + \\mu \\sum_s \\lVert V_s \\rVert^2 ,

(Adam); the validation rows (whole structure types) are scored before
and after, and both scores go into the card.  The held-out test rows
are never read.

A *supplement* may join the training rows: crystals of one element made
from the training rows' compound structures
(``scripts/build_decoloured.py``), because the Materials Project holds
few elements and none in the diamond structure, so the code for "one
species" would otherwise never meet an element with, say, four
tetrahedral neighbours.

The correction makes the networks surer of themselves, so predictions
told the species get a temperature of their own,
``calibration["temperature_species"]``, fitted like the first one
(:func:`diffpy.sgpredict.training.card.calibrate`) on the augmented
validation rows with their species codes (:func:`species_temperature`).

Examples
--------
>>> from diffpy.sgpredict.training.species_head import SpeciesHeadSettings
>>> SpeciesHeadSettings().codes
4
"""

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy

from diffpy.sgpredict.card import load_model, read_card, save_model
from diffpy.sgpredict.chemistry import formula_key, species_code
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.paths import without_folders
from diffpy.sgpredict.runtime import restores_torch_state
from diffpy.sgpredict.training.data import (
    dataset_provenance,
    default_augment_config,
    load_training_data,
    model_split,
    validation_inputs,
)
from diffpy.sgpredict.training.settings import (
    HELDOUT_NAME,
    TRAINING_SET_NAME,
)

__all__ = [
    "SpeciesHeadSettings",
    "fit_species_head",
    "species_temperature",
    "DESCRIPTION",
    "describe",
]

#: What the card's description says of the correction.
DESCRIPTION = (
    "Given a composition, the networks also read its number of species "
    "(1, 2, 3, 4 or more), through a correction of the last layer fitted "
    "on the training rows with the networks fixed."
)
#: Added when the correction also saw one-element crystals.
SUPPLEMENT_DESCRIPTION = (
    "It also saw crystals of one element made from the training rows' "
    "compounds (a zincblende of one element is diamond), which the "
    "Materials Project table lacks."
)


def describe(card):
    """What a card's description says of its species correction."""
    supplement = (card.get("species_head") or {}).get("supplement")
    if supplement:
        return DESCRIPTION + " " + SUPPLEMENT_DESCRIPTION
    return DESCRIPTION


@dataclass(frozen=True)
class SpeciesHeadSettings:
    """Settings of :func:`fit_species_head`.

    Attributes
    ----------
    codes : int
        Species codes: 1, 2, ..., ``codes`` or more species.
    passes : int
        Augmented copies of every training row.
    epochs : int
        Passes of Adam over those copies.
    batch_size : int
    lr : float
        Adam's learning rate.
    weight_decay : float
        :math:`\\mu`, the L2 penalty on the matrices :math:`V_s`.
    seed : int
        Seeds the augmentation and the shuffling.
    """

    codes: int = 4
    passes: int = 3
    epochs: int = 6
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        for name in ("codes", "passes", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr}")
        if not self.weight_decay >= 0:
            raise InputError(
                f"weight_decay must be 0 or more, got {self.weight_decay}"
            )


def _members(net):
    return list(getattr(net, "members", [net]))


def _features(member, x, radiation, batch=1024):
    """Dense features of ``member`` for inputs ``x`` (no gradients)."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            xb = torch.as_tensor(x[start : start + batch])
            rb = torch.as_tensor(radiation[start : start + batch])
            out.append(member.features(xb, rb))
    return torch.cat(out)


def _augmented_inputs(data, rows, dataset, passes, generator):
    """``passes`` augmented copies of the rows, as training draws them."""
    import torch

    from diffpy.sgpredict.augment import Augmenter, minmax_truncate
    from diffpy.sgpredict.grid import MODEL_GRID

    aug = Augmenter(MODEL_GRID.r, default_augment_config(dataset))
    G = torch.from_numpy(data["G"])
    qd = torch.as_tensor(data["qdamp"], dtype=torch.float64)
    idx = torch.as_tensor(rows, dtype=torch.long)
    copies = []
    for _ in range(passes):
        for start in range(0, len(idx), 4096):
            part = idx[start : start + 4096]
            params = aug.sample(len(part), generator, qd[part])
            with torch.no_grad():
                raw, nvalid = aug.transform(G[part], params)
                copies.append(minmax_truncate(raw, nvalid).numpy())
    return numpy.concatenate(copies)


def _scores(member, h, y, codes, weights):
    """Weighted cross-entropy and top-1 of features ``h``."""
    import torch

    with torch.inference_mode():
        logits = member.species_logits(h, torch.as_tensor(codes))
        loss = torch.nn.functional.cross_entropy(
            logits, torch.as_tensor(y), weight=weights
        )
        top1 = (logits.argmax(1) == torch.as_tensor(y)).float().mean()
    return {"loss": float(loss), "top1": float(top1)}


@restores_torch_state
def fit_species_head(
    model_dir,
    dataset,
    output_dir,
    settings=None,
    *,
    supplement=None,
    num_threads=None,
    progress=None,
):
    """Add the species correction to a trained model; write a new folder.

    Parameters
    ----------
    model_dir : str or Path
        A trained residual-network model folder (its test rows must be
        those of ``dataset``: the same data, seed and test fraction).
    dataset : str or Path
        The HDF5 dataset the model was trained on.
    output_dir : str or Path
        The new model folder (weights, card, ``heldout.json``,
        ``training_set.json``).
    settings : SpeciesHeadSettings, optional
    supplement : str or Path, optional
        An HDF5 dataset of extra training rows (all of it trains), made
        from the model's training rows only, such as the one-element
        crystals of ``scripts/build_decoloured.py``.  Its (formula,
        group) pairs join ``training_set.json``.
    num_threads : int, optional
        Torch threads (restored afterwards).
    progress : callable, optional
        Called with one line of text per step.

    Returns
    -------
    Path
        The new card's path.

    Raises
    ------
    InputError
        For a model that is not a residual network, or other test rows.
    """
    import torch

    settings = settings or SpeciesHeadSettings()
    say = progress or (lambda line: None)
    card = read_card(model_dir)
    if card.get("architecture") != "resnet":
        raise InputError(
            f"{model_dir}: the species correction needs a residual network "
            f"(architecture 'resnet'), not {card.get('architecture')!r}"
        )
    if int(card["config"].get("species_input", 0)):
        raise InputError(f"{model_dir}: the model already reads the species")
    net, _ = load_model(model_dir)
    data = load_training_data(dataset)
    rc = card["recipe"]
    split = model_split(card, model_dir, data, dataset)
    ncodes = int(settings.codes)
    codes = numpy.array([species_code(f, ncodes) for f in data["formula"]])
    weights = torch.tensor(card["prior"]["class_weights"], dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(settings.seed))
    say(f"drawing {settings.passes} augmented copies of {len(split.train)}")
    x_tr = _augmented_inputs(data, split.train, dataset, settings.passes, gen)
    rows = numpy.tile(split.train, settings.passes)
    y_tr, c_tr = data["y"][rows], codes[rows]
    r_tr = data["radiation"][rows]
    extra = None
    if supplement is not None:
        extra = load_training_data(supplement, min_rows=1)
        every = numpy.arange(len(extra["y"]))
        say(f"and of the {len(every)} supplement rows")
        sup_rows = numpy.tile(every, settings.passes)
        x_tr = numpy.concatenate(
            [
                x_tr,
                _augmented_inputs(
                    extra, every, supplement, settings.passes, gen
                ),
            ]
        )
        y_tr = numpy.concatenate([y_tr, extra["y"][sup_rows]])
        sup_codes = numpy.array(
            [species_code(f, ncodes) for f in extra["formula"]]
        )
        c_tr = numpy.concatenate([c_tr, sup_codes[sup_rows]])
        r_tr = numpy.concatenate([r_tr, extra["radiation"][sup_rows]])
    x_va = validation_inputs(data, split.validation, None, False, 0)[0]
    y_va, c_va = data["y"][split.validation], codes[split.validation]
    config = dict(card["config"], species_input=ncodes)
    new_members, report = [], []
    from diffpy.sgpredict.models import build_model

    for m, old in enumerate(_members(net)):
        member = build_model(card["architecture"], config)
        # everything but the new species parameters comes from the model
        member.load_state_dict(old.state_dict(), strict=False)
        member.eval()
        for name, p in member.named_parameters():
            p.requires_grad_(name.startswith("species_"))
        h_tr = _features(member, x_tr, r_tr)
        h_va = _features(member, x_va, data["radiation"][split.validation])
        before = _scores(member, h_va, y_va, c_va, weights)
        params = [member.species_bias, member.species_weight]
        opt = torch.optim.Adam(params, lr=settings.lr)
        y_t, c_t = torch.as_tensor(y_tr), torch.as_tensor(c_tr)
        for epoch in range(settings.epochs):
            perm = torch.randperm(len(y_t), generator=gen)
            total = 0.0
            for start in range(0, len(perm), settings.batch_size):
                i = perm[start : start + settings.batch_size]
                logits = member.species_logits(h_tr[i], c_t[i])
                loss = torch.nn.functional.cross_entropy(
                    logits, y_t[i], weight=weights
                )
                loss = (
                    loss
                    + settings.weight_decay * (member.species_weight**2).sum()
                )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(i)
            say(
                f"member {m} epoch {epoch + 1}/{settings.epochs}: "
                f"loss {total / len(perm):.4f}"
            )
        member.requires_grad_(True)
        after = _scores(member, h_va, y_va, c_va, weights)
        say(
            f"member {m} validation: loss {before['loss']:.4f} -> "
            f"{after['loss']:.4f}, top-1 {before['top1']:.3f} -> "
            f"{after['top1']:.3f}"
        )
        report.append({"before": before, "after": after})
        new_members.append(member)
    new = dict(card)
    new["name"] = f"{card.get('name', 'model')}-species"
    new["config"] = config
    new["inputs"] = dict(card.get("inputs") or {}, species=ncodes)
    new["species_head"] = {
        "settings": asdict(settings),
        "from_model": card.get("name"),
        "rows": int(len(split.train)),
        "supplement": (
            None
            if extra is None
            else {
                "dataset": Path(supplement).name,
                "rows": int(len(extra["y"])),
                "command": without_folders(
                    dataset_provenance(supplement).get("command") or ""
                ),
            }
        ),
        "validation": report,
        "note": (
            "species correction fitted on the training rows with the "
            "network fixed; validation: weighted cross-entropy and top-1 "
            "of each member on the clean validation rows, without and "
            "with it"
        ),
    }
    new["description"] = (
        card.get("description", "").rstrip() + " " + describe(new)
    ).strip()
    new["recipe"] = dict(rc, species_head=asdict(settings))
    from diffpy.sgpredict.models import Ensemble

    cal = species_temperature(
        Ensemble(new_members), data, split.validation, dataset, rc["seed"]
    )
    new["calibration"] = dict(
        card.get("calibration") or {},
        temperature_species=cal["temperature"],
        species_calibration=cal,
    )
    say(f"temperature with the species: {cal['temperature']}")
    output_dir = Path(output_dir)
    card_path = save_model(output_dir, new_members, new)
    for name in (HELDOUT_NAME, TRAINING_SET_NAME):
        src = Path(model_dir) / name
        if src.is_file() and src.resolve() != (output_dir / name).resolve():
            shutil.copyfile(src, output_dir / name)
    if extra is not None:
        _add_training_pairs(output_dir / TRAINING_SET_NAME, extra)
    say(f"wrote {card_path}")
    return card_path


def _add_training_pairs(path, extra):
    """Add the supplement's (formula, group) pairs to ``training_set.json``
    (what ``evaluate --exclude-training`` leaves out)."""
    info = json.loads(path.read_text()) if path.is_file() else {}
    pairs = {tuple(p) for p in info.get("formula_sg", [])}
    pairs |= {
        (formula_key(f), int(g))
        for f, g in zip(extra["formula"], extra["sg_number"])
    }
    info["formula_sg"] = sorted([f, g] for f, g in pairs)
    path.write_text(json.dumps(info, indent=0) + "\n")


def species_temperature(net, data, rows, dataset, seed):
    """Calibrate predictions told the species, as training calibrates.

    Parameters
    ----------
    net : torch.nn.Module
        The model (its mean log-softmax for an ensemble).
    data : dict
        :func:`~diffpy.sgpredict.training.data.load_training_data`.
    rows : array_like of int
        The validation rows.
    dataset : str or Path
        The dataset's path (for its augmentation).
    seed : int
        The training seed (the validation draws of training).

    Returns
    -------
    dict
        :func:`diffpy.sgpredict.training.card.calibrate` on the rows
        whose formula gives a species code.
    """
    import torch

    from diffpy.sgpredict.training.card import calibrate

    ncodes = max(int(getattr(m, "species_input", 0)) for m in _members(net))
    codes = numpy.array(
        [species_code(f, ncodes) for f in data["formula"][rows]]
    )
    known = codes >= 0
    clean, augmented = validation_inputs(
        data, rows, default_augment_config(dataset), True, seed
    )
    x = augmented if augmented is not None else clean
    with torch.inference_mode():
        logits = net(
            torch.as_tensor(x[known]),
            torch.as_tensor(data["radiation"][rows][known]),
            torch.as_tensor(codes[known]),
        )
    out = calibrate(logits.numpy(), data["y"][rows][known])
    out["fitted_on"] = (
        "validation rows told their number of species (augmented)"
    )
    return out
