"""Train the two-phase mixture detector that ships with diffpy.sgpredict.

One command rebuilds ``src/diffpy/sgpredict/data/mixture``::

    nice -n 10 python scripts/train_mixture_detector.py

(about 23 minutes on two threads, 45 CPU minutes, nearly all of them
training; ``--threads`` to change).

Data: the Materials Project physics dataset (``/work/runs/mp_physics.h5``
by default, raw G(r) with per-row radiation and Qmax on the model grid),
*only* rows of the shipped model's training side: the ids of its
held-out test sets (``data/model/heldout.json``) are left out.  The
remaining rows are split by structure type (the ``prototype`` key) into
training and validation structures.

Examples: a single phase is one row; a mixture is two rows of different
structure types, the same radiation and nearly the same Qmax (neighbours
in Qmax order), mixed by their share of the signal ``w`` in 0.2-0.5
(:func:`diffpy.sgpredict.mixture.mix_pdfs`).  Both then go through the
training augmentation of the model
(:meth:`diffpy.sgpredict.augment.AugmentConfig.for_physics_data`:
noise, baseline, scale, extra Uiso, strain, truncation at 20-30 A) and
the min-max normalisation.  Half of every batch is mixtures.

The threshold is the score that flags ``--max-false-alarm`` (10 %, the
false-alarm budget issue 10 allows on single-phase data) of the
single-phase validation PDFs; the metadata records it with the detection
rates of the validation mixtures at w = 0.5, 0.35, 0.2 and the
trade-off table (threshold and rates at 1-20 % false alarms, area under
the ROC curve) that the script prints.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy

from diffpy.sgpredict.augment import AugmentConfig, Augmenter
from diffpy.sgpredict.dataset import load_arrays
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.metrics import detection_auc, detection_rates
from diffpy.sgpredict.mixture import (
    DEFAULT_CONFIG,
    MixtureDetector,
    build_network,
    input_channels,
    mix_pdfs,
    save_detector,
)
from diffpy.sgpredict.runtime import restores_torch_state, torch_threads

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = ROOT / "src" / "diffpy" / "sgpredict" / "data"
FIELDS = [
    "G",
    "id",
    "prototype",
    "sg_number",
    "settings/neutron",
    "settings/qmax",
]
VAL_FRACTIONS = (0.5, 0.35, 0.2)


def load_rows(path, heldout_path):
    """Return the training-side rows and the number of held-out rows."""
    data = load_arrays(path, FIELDS)
    held = json.loads(Path(heldout_path).read_text())
    held_ids = {i for ids in held.values() for i in ids}
    keep = ~numpy.isin(data["id"], list(held_ids))
    rows = {k: v[keep] for k, v in data.items()}
    return rows, int((~keep).sum())


def grouped_split(prototype, fraction, rng):
    """Return (train, val) row indices, whole structure types in each."""
    keys, inverse, counts = numpy.unique(
        prototype, return_inverse=True, return_counts=True
    )
    order = rng.permutation(len(keys))
    taken = numpy.cumsum(counts[order]) <= fraction * len(prototype)
    val_keys = numpy.zeros(len(keys), bool)
    val_keys[order[taken]] = True
    is_val = val_keys[inverse]
    return numpy.flatnonzero(~is_val), numpy.flatnonzero(is_val)


def draw_pairs(idx, rows, n, rng, window=40):
    """Draw ``n`` pairs of rows with the same radiation, close Qmax and
    different structure types (neighbours in (radiation, Qmax) order)."""
    neutron, qmax = rows["settings/neutron"], rows["settings/qmax"]
    proto = rows["prototype"]
    order = idx[numpy.lexsort((qmax[idx], neutron[idx]))]
    a_out, b_out = [], []
    got = 0
    while got < n:
        pos = rng.integers(0, len(order), 2 * n)
        step = rng.integers(1, window + 1, 2 * n) * rng.choice([-1, 1], 2 * n)
        a = order[pos]
        b = order[numpy.clip(pos + step, 0, len(order) - 1)]
        ok = (neutron[a] == neutron[b]) & (proto[a] != proto[b])
        a_out.append(a[ok])
        b_out.append(b[ok])
        got += int(ok.sum())
    return numpy.concatenate(a_out)[:n], numpy.concatenate(b_out)[:n]


def raw_batch(rows, singles, pairs, fractions):
    """Stack raw single-phase and mixed G(r) with labels 0 and 1."""
    g = rows["G"]
    single = g[singles].astype(float)
    span = numpy.ptp(single, axis=1, keepdims=True)
    single = single / numpy.where(span > 0, span, 1.0)
    mixed = mix_pdfs(g[pairs[0]], g[pairs[1]], fractions)
    raw = numpy.concatenate([single, mixed]).astype(numpy.float32)
    labels = numpy.r_[numpy.zeros(len(single)), numpy.ones(len(mixed))]
    return raw, labels.astype(numpy.float32)


def augmented_inputs(augmenter, raw, generator, chunk=1024):
    """Augment and normalise raw G(r); return detector inputs (numpy)."""
    import torch

    out = []
    for i in range(0, len(raw), chunk):
        x, nvalid = augmenter(
            torch.as_tensor(raw[i : i + chunk]), generator=generator
        )
        out.append(input_channels(x.numpy(), nvalid.numpy()))
    return numpy.concatenate(out)


def validation_set(rows, val_idx, augmenter, rng, generator, n_single):
    """Fixed validation inputs: singles and mixtures at each fraction.

    Returns the inputs of each set and the row indices of the singles.
    """
    singles = rng.choice(val_idx, min(n_single, len(val_idx)), replace=False)
    n_mix = len(singles) // 2
    sets = {}
    raw, _ = raw_batch(rows, singles, (singles[:0], singles[:0]), [])
    sets["single"] = augmented_inputs(augmenter, raw, generator)
    for w in VAL_FRACTIONS:
        a, b = draw_pairs(val_idx, rows, n_mix, rng)
        mixed = mix_pdfs(rows["G"][a], rows["G"][b], numpy.full(n_mix, w))
        sets[f"w={w}"] = augmented_inputs(
            augmenter, mixed.astype(numpy.float32), generator
        )
    return sets, singles


@restores_torch_state
def train(rows, train_idx, args, num_threads=1):
    """Train the network; return it and the CPU seconds spent."""
    import torch

    torch.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed + 1)
    gen = torch.Generator().manual_seed(args.seed + 2)
    augmenter = Augmenter(MODEL_GRID.r, AugmentConfig.for_physics_data())
    net = build_network(network_config(args))
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps = args.epochs * math.ceil(2 * args.per_epoch / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=steps
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    cpu0 = time.process_time()
    for epoch in range(args.epochs):
        singles = rng.choice(train_idx, args.per_epoch)
        pairs = draw_pairs(train_idx, rows, args.per_epoch, rng)
        fractions = rng.uniform(0.2, 0.5, args.per_epoch)
        raw, labels = raw_batch(rows, singles, pairs, fractions)
        inputs = torch.as_tensor(augmented_inputs(augmenter, raw, gen))
        labels = torch.as_tensor(labels)
        perm = torch.randperm(len(labels), generator=gen)
        net.train()
        total = 0.0
        for i in range(0, len(perm), args.batch):
            b = perm[i : i + args.batch]
            loss = loss_fn(net(inputs[b]), labels[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss "
            f"{total / len(perm):.4f}, cpu {time.process_time() - cpu0:.0f} s",
            flush=True,
        )
    net.eval()
    return net, time.process_time() - cpu0


def parse_args(argv=None):
    """The command line (its defaults rebuild the shipped detector)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/runs/mp_physics.h5")
    parser.add_argument(
        "--heldout", default=str(PACKAGE_DATA / "model" / "heldout.json")
    )
    parser.add_argument("--out", default=str(PACKAGE_DATA / "mixture"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--per-epoch", type=int, default=32768)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--val-rows", type=int, default=3000)
    parser.add_argument("--max-false-alarm", type=float, default=0.10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--channels",
        type=int,
        nargs="+",
        default=DEFAULT_CONFIG["channels"],
        help="channels of the convolutions (one number per layer)",
    )
    parser.add_argument(
        "--kernels",
        type=int,
        nargs="+",
        default=DEFAULT_CONFIG["kernels"],
        help="kernel sizes of the convolutions (one per layer)",
    )
    parser.add_argument("--hidden", type=int, default=DEFAULT_CONFIG["hidden"])
    args = parser.parse_args(argv)
    if len(args.channels) != len(args.kernels):
        parser.error("--channels and --kernels need one number per layer")
    return args


def network_config(args):
    """The detector architecture the command line asks for."""
    return dict(
        DEFAULT_CONFIG,
        channels=list(args.channels),
        kernels=list(args.kernels),
        hidden=args.hidden,
    )


#: false-alarm rates of the table the script prints and stores
ROC_LEVELS = (0.01, 0.03, 0.05, 0.10, 0.20)


def choose_threshold(net, rows, val_idx, args):
    """Score the validation set with the forward pass that ships.

    Returns the threshold (flags ``max_false_alarm`` of the singles),
    the threshold of each radiation (flags that share of its singles),
    the flagged share and the size of each validation set, and the
    trade-off table: the threshold and flagged shares at each rate of
    :data:`ROC_LEVELS` and the area under the ROC curve of each mixture
    fraction.
    """
    import torch

    augmenter = Augmenter(MODEL_GRID.r, AugmentConfig.for_physics_data())
    gen = torch.Generator().manual_seed(args.seed + 3)
    rng = numpy.random.default_rng(args.seed + 4)
    val, singles = validation_set(
        rows, val_idx, augmenter, rng, gen, args.val_rows
    )
    tensors = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    probe = MixtureDetector(
        tensors, {"threshold": 0.5, "config": network_config(args)}
    )
    scores = {k: probe.scores(v[:, 0], v[:, 1].sum(1)) for k, v in val.items()}
    single = scores.pop("single")
    (shipped,) = detection_rates(single, scores, [args.max_false_alarm])
    threshold = shipped["threshold"]
    rates = {"single": shipped["flagged"]}
    rates.update({k: shipped[k] for k in scores})
    sizes = {"single": len(single)}
    sizes.update({k: len(s) for k, s in scores.items()})
    # the same rule within each radiation: their singles differ (neutron
    # PDFs of compounds, with peaks of both signs, score higher)
    neutron = rows["settings/neutron"][singles].astype(bool)
    thresholds = {}
    for name, part in (("xray", ~neutron), ("neutron", neutron)):
        (row,) = detection_rates(single[part], {}, [args.max_false_alarm])
        thresholds[name] = row["threshold"]
        sizes[f"single {name}"] = int(part.sum())
        rates[f"single {name}"] = row["flagged"]
    table = {
        "rates": [
            {k: round(v, 4) for k, v in row.items()}
            for row in detection_rates(single, scores, ROC_LEVELS)
        ],
        "auc": {
            k: round(detection_auc(single, s), 4) for k, s in scores.items()
        },
    }
    return threshold, thresholds, rates, sizes, table


def print_table(table):
    """Print the trade-off table (the one in ``doc/source/predict.rst``)."""
    names = list(table["auc"])
    print("single-phase flagged  threshold  " + "  ".join(names))
    for row in table["rates"]:
        cells = "  ".join(f"{100 * row[k]:6.1f} %" for k in names)
        print(
            f"{100 * row['false_alarm']:5.0f} %"
            f"{row['threshold']:19.3f}  {cells}"
        )
    print(
        "area under the ROC curve: "
        + ", ".join(f"{k} {v:.2f}" for k, v in table["auc"].items())
    )


def detector_meta(args, argv, thresholds, rates, sizes, counts, cpu, table):
    """The metadata stored beside the weights.

    ``thresholds``: the overall threshold and that of each radiation.
    """
    n_train, n_val, n_held = counts
    threshold, per_radiation = thresholds
    return {
        "threshold": threshold,
        "thresholds": per_radiation,
        "config": network_config(args),
        "score": "logistic of the network's logit: P(mixture)",
        "threshold_rule": (
            f"flags {100 * args.max_false_alarm:g} % of the single-phase "
            "validation PDFs (threshold: data of unstated radiation), and "
            "as many of those of each radiation (thresholds)"
        ),
        "validation": {
            "rows": sizes,
            "flagged": {k: round(v, 4) for k, v in rates.items()},
            "trade_off": table,
            "split": (
                "whole structure types (prototype key), "
                f"{args.val_fraction:g} of the training-side rows"
            ),
        },
        "training": {
            "data": Path(args.data).name,
            "rows": n_train,
            "validation_rows": n_val,
            "heldout_rows_left_out": n_held,
            "mixing": (
                "two rows of different structure types, same radiation, "
                "neighbours in Qmax; w*G1/ptp(G1) + (1-w)*G2/ptp(G2), "
                "w uniform in 0.2-0.5"
            ),
            "augment": AugmentConfig.for_physics_data().to_dict(),
            "epochs": args.epochs,
            "per_epoch": 2 * args.per_epoch,
            "batch": args.batch,
            "lr": args.lr,
            "seed": args.seed,
            "cpu_minutes": round(cpu / 60, 1),
            "command": "python scripts/train_mixture_detector.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
        },
    }


def main(argv=None):
    args = parse_args(argv)
    rows, n_held = load_rows(args.data, args.heldout)
    rng = numpy.random.default_rng(args.seed)
    train_idx, val_idx = grouped_split(
        rows["prototype"], args.val_fraction, rng
    )
    print(
        f"{len(rows['id'])} training-side rows ({n_held} held-out rows left "
        f"out): {len(train_idx)} train, {len(val_idx)} validation rows",
        flush=True,
    )
    net, cpu = train(rows, train_idx, args, num_threads=args.threads)
    with torch_threads(args.threads):
        threshold, per_radiation, rates, sizes, table = choose_threshold(
            net, rows, val_idx, args
        )
    for k, rate in rates.items():
        print(f"validation {k:<8} n={sizes[k]:5d} flagged {100 * rate:.1f} %")
    print_table(table)
    print(
        f"threshold {threshold:.4f} (X-rays {per_radiation['xray']:.4f}, "
        f"neutrons {per_radiation['neutron']:.4f}); {cpu / 60:.1f} CPU "
        "minutes training"
    )
    counts = (len(train_idx), len(val_idx), n_held)
    meta = detector_meta(
        args,
        argv,
        (threshold, per_radiation),
        rates,
        sizes,
        counts,
        cpu,
        table,
    )
    path = save_detector(args.out, net, meta)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
