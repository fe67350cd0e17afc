"""Give a model its search-match library of training PDFs.

Usage::

    python scripts/build_neighbour_library.py MODEL PHYSICS.h5 TABLE2.h5 \\
        [--supplement ONE_ELEMENT.h5] [-o OUT] [--k 20] [--tau 0.02] \\
        [--weight 0.3] [--floor 0.01]

``MODEL`` is a trained model folder, ``PHYSICS.h5`` the dataset it was
trained on and ``TABLE2.h5`` the same structures at the paper's Table-2
settings (``dataset build --settings table2``, the same ids).  The
model's split is re-drawn and checked against its held-out test rows
(:func:`~diffpy.sgpredict.training.data.model_split`); only its
*training* rows enter the library, as their Table-2 PDFs on the model
grid (:mod:`diffpy.sgpredict.neighbours`), and with ``--supplement`` the
crystals of one element that the species correction also learns from
(``scripts/build_decoloured.py --settings table2``: the Materials
Project table holds no element in the diamond structure, so without
them an element told "one species" would only meet other elements'
structures).

On the validation rows (whole structure types the network never saw)
the script then

- scores the network alone and network plus library (clean inputs,
  no prior), and writes both into the card;
- fits the temperature of the combination on the augmented validation
  inputs, as training calibrates the network, once for rows without and
  once for rows told their number of species.

The folder written (``OUT``, default ``MODEL`` itself) holds
``neighbours.safetensors`` and a card with a ``neighbours`` entry
(file, SHA-256, settings, temperatures, validation scores).  About two
minutes on two cores.
"""

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import numpy
import torch

from diffpy.sgpredict import metrics
from diffpy.sgpredict.augment import minmax_truncate
from diffpy.sgpredict.card import CARD_NAME, read_card
from diffpy.sgpredict.chemistry import species_code
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.neighbours import (
    LIBRARY_NAME,
    NeighbourLibrary,
    NeighbourSettings,
    first_pass_basis,
    save_library,
)
from diffpy.sgpredict.paths import without_folders
from diffpy.sgpredict.predictor import Predictor
from diffpy.sgpredict.training.data import (
    default_augment_config,
    load_training_data,
    model_split,
    validation_inputs,
)


def library_curves(table2, ids):
    """Normalised Table-2 curves of the rows ``ids``, in that order."""
    pos = {i: k for k, i in enumerate(table2["id"])}
    missing = [i for i in ids if i not in pos]
    if missing:
        raise InputError(
            f"the Table-2 dataset lacks {len(missing)} training ids (first "
            f"{missing[0]}); build it from the same table with the same "
            "filters"
        )
    G = torch.from_numpy(table2["G"][[pos[i] for i in ids]])
    n = torch.full((len(G),), G.shape[1], dtype=torch.long)
    return minmax_truncate(G, n).numpy()


def _topk(probs, y):
    acc = numpy.asarray(metrics.topk_accuracy(probs, y, 6))
    return [round(float(acc[0]), 4), round(float(acc[5]), 4)]


def _fit(net_logp, x, y, library, species=None):
    z = library.combine(net_logp, x, species)
    t = metrics.fit_temperature(z, y)
    return {
        "temperature": round(t, 4),
        "n": int(len(y)),
        "ece_after": round(
            metrics.expected_calibration_error(metrics.softmax(z, t), y), 4
        ),
    }


def build(model, physics, table2_path, out, settings, supplement=None):
    """Write the library and the card entry; return the entry."""
    card = read_card(model)
    data = load_training_data(physics)
    split = model_split(card, model, data, physics)
    table2 = load_training_data(table2_path)
    train_ids = data["id"][split.train]
    curves = library_curves(table2, train_ids)
    labels = data["y"][split.train]
    formulas = list(data["formula"][split.train])
    if supplement is not None:
        extra = load_training_data(supplement, min_rows=1)
        curves = numpy.concatenate(
            [curves, library_curves(extra, extra["id"])]
        )
        labels = numpy.concatenate([labels, extra["y"]])
        formulas += list(extra["formula"])
    out = Path(out)
    if out.resolve() != Path(model).resolve():
        shutil.copytree(model, out, dirs_exist_ok=True)
    ncodes = int(card["config"].get("species_input", 0)) or 4
    species = numpy.array([species_code(f, ncodes) for f in formulas])
    basis = first_pass_basis(curves, MODEL_GRID.r, settings)
    sha = save_library(out / LIBRARY_NAME, curves, labels, species, basis)
    entry = {
        "file": LIBRARY_NAME,
        "sha256": sha,
        "rows": int(len(labels)),
        "training_rows": int(len(train_ids)),
        "source": "the model's training rows at the paper's Table-2 "
        "settings (X-rays, bulk), min-max normalised on the model grid, "
        "8-bit",
        "dataset": without_folders(str(table2_path)),
        "supplement": (
            None
            if supplement is None
            else {
                "dataset": without_folders(str(supplement)),
                "rows": int(len(labels) - len(train_ids)),
                "what": "crystals of one element made from the training "
                "rows' compound structures (scripts/build_decoloured.py "
                "--settings table2), as in the species correction",
            }
        ),
        "settings": settings.to_dict(),
    }
    nclasses = len(card["labels"])
    library = NeighbourLibrary(
        curves, labels, nclasses, MODEL_GRID.r, species, settings, basis
    )
    net = Predictor(out, prior="none", threads=2, neighbours=False)
    rows = split.validation
    y = data["y"][rows]
    rad = data["radiation"][rows]
    formulas = list(data["formula"][rows])
    clean, augmented = validation_inputs(
        data,
        rows,
        default_augment_config(physics),
        True,
        card["recipe"]["seed"],
    )
    # the choice: clean validation inputs, network alone and combined
    q = net.predict_proba(clean, radiation=rad)
    both = library.combine(numpy.log(q), clean)
    entry["validation"] = {
        "rows": "validation rows of the model (whole structure types), "
        "clean, no prior: [top-1, top-6]",
        "network": _topk(q, y),
        "network_and_library": _topk(both, y),
    }
    codes = numpy.array([species_code(f, net.species_input) for f in formulas])
    known = codes >= 0
    if net.species_input and known.any():
        told = [f for f, k in zip(formulas, known) if k]
        qs = net.predict_proba(
            clean[known], radiation=rad[known], composition=told
        )
        entry["validation"]["network_told_species"] = _topk(qs, y[known])
        entry["validation"]["network_and_library_told_species"] = _topk(
            library.combine(numpy.log(qs), clean[known], codes[known]),
            y[known],
        )
    # calibration on the augmented inputs, as training calibrates
    x = augmented if augmented is not None else clean
    q = net.predict_proba(x, radiation=rad)
    entry["calibration"] = _fit(numpy.log(q), x, y, library)
    if net.species_input and known.any():
        qs = net.predict_proba(
            x[known],
            radiation=rad[known],
            composition=[f for f, k in zip(formulas, known) if k],
        )
        entry["calibration_species"] = _fit(
            numpy.log(qs), x[known], y[known], library, codes[known]
        )
    entry["temperature"] = entry["calibration"]["temperature"]
    entry["temperature_species"] = entry.get(
        "calibration_species", entry["calibration"]
    )["temperature"]
    entry["fitted_on"] = (
        "validation rows (augmented as in training), the combination of "
        "the calibrated network and the library vote"
    )
    raw = json.loads((out / CARD_NAME).read_text())
    raw["neighbours"] = entry
    (out / CARD_NAME).write_text(json.dumps(raw, indent=2) + "\n")
    return entry


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", type=Path, help="trained model folder")
    p.add_argument("physics", type=Path, help="the model's dataset")
    p.add_argument("table2", type=Path, help="its Table-2 twin")
    p.add_argument("-o", "--out", type=Path, help="output model folder")
    p.add_argument(
        "--supplement",
        type=Path,
        help="crystals of one element at Table-2 settings "
        "(scripts/build_decoloured.py --settings table2) added to the "
        "library",
    )
    # one option per setting, named and typed as the dataclass field
    for field in dataclasses.fields(NeighbourSettings):
        p.add_argument(
            "--" + field.name.replace("_", "-"),
            type=type(field.default),
            default=field.default,
            help=f"NeighbourSettings.{field.name} (default {field.default})",
        )
    args = p.parse_args(argv)
    try:
        settings = NeighbourSettings(
            **{
                f.name: getattr(args, f.name)
                for f in dataclasses.fields(NeighbourSettings)
            }
        )
        t0 = time.time()
        entry = build(
            args.model,
            args.physics,
            args.table2,
            args.out or args.model,
            settings,
            args.supplement,
        )
    except (InputError, ModelError) as exc:
        print(f"build_neighbour_library: error: {exc}", file=sys.stderr)
        return 2
    v = entry["validation"]
    print(
        f"library of {entry['rows']} rows ({entry['training_rows']} training "
        "rows); validation top-1/top-6 "
        f"network {v['network']}, with the library "
        f"{v['network_and_library']}; told the species "
        f"{v.get('network_told_species')} -> "
        f"{v.get('network_and_library_told_species')}; "
        f"T = {entry['temperature']}, "
        f"T_species = {entry['temperature_species']} "
        f"({time.time() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
