"""Build the stoichiometry prior that ships with diffpy.sgpredict.

Run from the repository root::

    python scripts/build_stoichiometry_prior.py \\
        [--table ../shared/data/mp/mp_structures.csv.gz] \\
        [--dataset /work/runs/mp_physics.h5] [--out CSV]

Writes ``stoichiometry_groups.csv`` into the model folder (``--model``,
default the shipped ``src/diffpy/sgpredict/data/model``; ``--out`` to
write elsewhere), the table of :mod:`diffpy.sgpredict.chemprior` that
:class:`~diffpy.sgpredict.predictor.Predictor` uses with that model:

1. *counts*: the rows of the Materials Project table (CC BY 4.0; Jain et
   al., APL Materials 1, 011002 (2013)) in the 45 groups, one per
   distinct (reduced formula, group) pair, without the pairs of the
   shipped model's held-out test sets (``data/model/heldout.json``) and
   of the evaluation sets (``--exclude``: the CSVs of the real
   structures and measured PDFs beside the table), so that those sets
   stay unseen; each counted under the kind of its
   formula (site counts and element blocks, ``"1d:2p"``);
2. *smoothing*: :math:`\\alpha` and :math:`\\beta` (stoichiometry
   class), then :math:`\\gamma` (kind) that maximise the leave-one-out
   log-likelihood of the counts (grids);
3. *strength*: with ``--dataset`` (the HDF5 dataset the shipped model
   was trained from, whose rows include the held-out ones), the shipped
   model predicts the held-out rows; half of each test set (by
   structure type: the md5 of the prototype key, even) is the
   validation half, on which the strength :math:`\\lambda` in 0-1 that
   minimises the mean negative log-likelihood of the true group (over
   the two sets) is chosen.  The other half is reported, with and
   without the prior.  Without ``--dataset`` the strength is 0.5.

About 2 minutes on two cores (1 for the counts, 1 for the network on
5,051 held-out rows).
"""

import argparse
import csv
import gzip
import hashlib
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import default_model_dir
from diffpy.sgpredict.chemistry import (
    composition_kind,
    formula_key,
    kind_stoichiometry,
    parse_composition,
)
from diffpy.sgpredict.chemprior import StoichiometryPrior, species_of
from diffpy.sgpredict.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"
DEFAULT_OUT = (
    REPO
    / "src"
    / "diffpy"
    / "sgpredict"
    / "data"
    / "model"
    / "stoichiometry_groups.csv"
)
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0)
BETAS = (10.0, 100.0, 1000.0, 10000.0)
GAMMAS = (1.0, 3.0, 10.0, 30.0, 100.0)
#: Fewest held-out rows of a test set used to choose the strength.
MIN_ROWS = 40
STRENGTHS = numpy.round(numpy.arange(0.0, 1.0001, 0.05), 2)


def evaluation_pairs(paths):
    """(formula key, group) of the rows of evaluation CSVs (columns
    ``formula`` or ``material``, and ``sg_number``); rows whose material
    is not a formula are skipped."""
    pairs = set()
    for path in paths:
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                text = row.get("formula") or row.get("material") or ""
                first = text.replace("_", " ").split()[:1]
                try:
                    group = int(float(row["sg_number"]))
                    parse_composition(first[0])
                except (KeyError, IndexError, ValueError, InputError):
                    continue
                pairs.add((formula_key(first[0]), group))
    return pairs


def count_pairs(table, heldout_ids, experimental_only=False, exclude=()):
    """``{kind: Counter(group)}``, the numbers behind it and the ids of
    the experimental rows.  Pairs of the held-out rows and the pairs in
    ``exclude`` are not counted."""
    labels = set(spacegroups.NUMBERS)
    csv.field_size_limit(1 << 30)
    rows, experimental = [], set()
    with gzip.open(table, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            group = int(row["sg_number"])
            if row.get("experimental") == "1":
                experimental.add(row["id"])
            if group in labels:
                rows.append((row["id"], row["formula"], group))
    held = {(formula_key(f), g) for i, f, g in rows if i in heldout_ids}
    skip = held | set(exclude)
    counts, seen = defaultdict(Counter), set()
    skipped = 0
    for row_id, formula, group in rows:
        if experimental_only and row_id not in experimental:
            continue
        pair = (formula_key(formula), group)
        if pair in skip or pair in seen:
            continue
        seen.add(pair)
        key = composition_kind(formula)
        if key is None:
            skipped += 1
            continue
        counts[key][group] += 1
    info = {
        "rows": len(rows),
        "pairs": len(seen) - skipped,
        "held": len(held),
        "no_class": skipped,
    }
    return counts, info, experimental


def leave_one_out(counts, alpha, beta, gamma=math.inf):
    """Mean log-likelihood of each counted structure's group, predicted
    from all the others (its count taken out at every level);
    ``gamma=inf`` scores the stoichiometry class alone."""
    prior = StoichiometryPrior(counts, alpha=alpha, beta=beta, gamma=1.0)
    labels = prior.labels
    n_all = prior.total.sum()
    total, ll = 0, 0.0
    for key, groups in counts.items():
        cls = kind_stoichiometry(key)
        nb = prior.kind_counts[key]
        nc = prior.class_counts[cls]
        nk = prior.species_counts[species_of(cls)]
        for group, m in groups.items():
            j = labels.index(group)
            marg = (prior.total[j] - 1 + 1.0) / (n_all - 1 + len(labels))
            pk = (nk[j] - 1 + beta * marg) / (nk.sum() - 1 + beta)
            p = (nc[j] - 1 + alpha * pk) / (nc.sum() - 1 + alpha)
            if math.isfinite(gamma):
                p = (nb[j] - 1 + gamma * p) / (nb.sum() - 1 + gamma)
            ll += m * math.log(max(p, 1e-12))
            total += m
    return ll / total


def heldout_scores(prior, dataset, model_dir, experimental):
    """Fit the strength on half of the held-out rows, report the other.

    Only the rows of relaxed experimental structures (``experimental``
    ids) count: those are the materials users measure."""
    from diffpy.sgpredict.evalsets import heldout_ids, load_eval_set
    from diffpy.sgpredict.metrics import topk_accuracy
    from diffpy.sgpredict.predictor import Predictor

    # the network alone, as when the shipped table was built (the
    # search-match library is added to the model after this step)
    predictor = Predictor(model_dir, threads=2, neighbours=False)
    sets = {}
    for name in ("random", "structure_type"):
        ids = [
            i for i in heldout_ids(model_dir, name) if str(i) in experimental
        ]
        if len(ids) < MIN_ROWS:
            print(f"{name}: {len(ids)} held-out rows, too few; not used")
            continue
        ev = load_eval_set(dataset, predictor, ids=numpy.asarray(ids))
        # a model that reads the number of species is told it, as
        # predict tells it from the composition
        probs = predictor.predict_proba(
            ev["x"], radiation=ev["radiation"], composition=ev["formula"]
        )
        y = numpy.array(
            [predictor.labels.index(int(s)) for s in ev["sg_number"]]
        )
        half = numpy.array(
            [
                int(hashlib.md5(p.encode()).hexdigest(), 16) % 2
                for p in ev["prototype"]
            ]
        )
        ratio = numpy.zeros_like(probs)
        allowed = numpy.ones_like(probs, dtype=bool)
        for i, f in enumerate(ev["formula"]):
            r = prior.log_ratio(f)
            if r is not None:
                ratio[i] = r
            allowed[i] = predictor.allowed(f)
        sets[name] = (probs, y, half, ratio, allowed)

    if not sets:
        return None

    def scores(name, h, lam):
        probs, y, half, ratio, allowed = sets[name]
        rows = half == h
        logp = numpy.log(numpy.clip(probs[rows], 1e-300, None))
        logp = logp + lam * ratio[rows]
        logp[~allowed[rows]] = -numpy.inf
        logp -= logp.max(1, keepdims=True)
        logp -= numpy.log(numpy.exp(logp).sum(1, keepdims=True))
        yy = y[rows]
        true = logp[numpy.arange(len(yy)), yy]
        ok = numpy.isfinite(true)
        top = topk_accuracy(numpy.exp(logp), yy, 6)
        return -float(true[ok].mean()), float(top[0]), float(top[5]), len(yy)

    fit = {
        float(lam): numpy.mean([scores(n, 0, lam)[0] for n in sets])
        for lam in STRENGTHS
    }
    best = min(fit, key=fit.get)
    report = {}
    for name in sets:
        for h, role in ((0, "validation"), (1, "test")):
            for lam in (0.0, best):
                nll, t1, t6, n = scores(name, h, lam)
                report[f"{name} {role} strength {lam:g}"] = (nll, t1, t6, n)
    return best, fit, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE))
    parser.add_argument("--dataset", help="HDF5 dataset of the model")
    parser.add_argument("--model", default=str(default_model_dir()))
    parser.add_argument("--out", help="default MODEL/stoichiometry_groups.csv")
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="CSV",
        help="leave out the (formula, group) pairs of an evaluation set's "
        "CSV (default: ../shared/data/structures.csv and exp_pdfs.csv "
        "beside the table, when there)",
    )
    parser.add_argument(
        "--experimental-only",
        action="store_true",
        help="count only the relaxed experimental structures",
    )
    args = parser.parse_args(argv)

    heldout = json.loads((Path(args.model) / "heldout.json").read_text())
    ids = {i for rows in heldout.values() for i in rows}
    if args.exclude is None:
        shared = Path(args.table).resolve().parents[1]
        args.exclude = [
            str(shared / name)
            for name in ("structures.csv", "exp_pdfs.csv")
            if (shared / name).is_file()
        ]
    excluded = evaluation_pairs(args.exclude)
    counts, info, experimental = count_pairs(
        args.table, ids, args.experimental_only, excluded
    )
    print(
        f"{len(excluded)} (formula, group) pairs of the evaluation sets "
        f"left out ({', '.join(Path(p).name for p in args.exclude)})"
    )
    print(
        f"{info['rows']} rows in the 45 groups; {info['pairs']} distinct "
        f"(formula, group) pairs counted in {len(counts)} kinds; "
        f"{info['held']} held-out pairs left out; {info['no_class']} "
        "without a kind (no whole sites)"
    )
    loo = {(a, b): leave_one_out(counts, a, b) for a in ALPHAS for b in BETAS}
    alpha, beta = max(loo, key=loo.get)
    by_kind = {g: leave_one_out(counts, alpha, beta, g) for g in GAMMAS}
    gamma = max(by_kind, key=by_kind.get)
    totals = sum(counts.values(), Counter())
    n_all = sum(totals.values())
    flat = (
        sum(
            m * math.log((m - 1 + 1.0) / (n_all - 1 + 45))
            for m in totals.values()
        )
        / n_all
    )
    print(
        f"leave-one-out log-likelihood: group frequencies alone {flat:.3f}; "
        f"stoichiometry class {loo[alpha, beta]:.3f} (alpha {alpha:g}, "
        f"beta {beta:g}); kind {by_kind[gamma]:.3f} (gamma {gamma:g})"
    )
    strength, note = 0.5, "default (no --dataset given)"
    if args.dataset:
        prior = StoichiometryPrior(counts, alpha=alpha, beta=beta, gamma=gamma)
        found = heldout_scores(prior, args.dataset, args.model, experimental)
    if args.dataset and found is None:
        note = "default (too few held-out rows to choose it)"
    elif args.dataset:
        strength, fit, report = found
        note = (
            "minimum mean NLL on the validation halves of the model's "
            "held-out sets (experimental structures)"
        )
        print("strength  mean NLL (validation halves)")
        for lam, v in fit.items():
            print(
                f"  {lam:4.2f}    {v:.4f}{'  <-' if lam == strength else ''}"
            )
        print(f"{'set':45s} {'NLL':>7s} {'top-1':>6s} {'top-6':>6s} {'n':>5s}")
        for key, (nll, t1, t6, n) in report.items():
            print(f"{key:45s} {nll:7.3f} {100*t1:6.1f} {100*t6:6.1f} {n:5d}")
    out = Path(args.out or Path(args.model) / DEFAULT_OUT.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            "# source: Materials Project table (Jain et al., APL Materials "
            "1, 011002 (2013)), licence CC BY 4.0\n"
            "# short source: Materials Project\n"
            "# rule: distinct (reduced formula, group) pairs in the 45 "
            "groups"
            + (" of the experimental rows" if args.experimental_only else "")
            + f", without the {info['held']} pairs of the model's "
            "held-out test sets and of the evaluation sets ("
            + ", ".join(Path(p).name for p in args.exclude)
            + "), counted per kind (site counts and element blocks)\n"
            f"# pairs: {info['pairs']}\n"
            f"# alpha: {alpha:g}\n"
            f"# beta: {beta:g}\n"
            f"# gamma: {gamma:g}\n"
            f"# strength: {strength:g}\n"
            f"# strength chosen by: {note}\n"
            "# built by: python scripts/build_stoichiometry_prior.py\n"
        )
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["kind", "sg_number", "count"])
        for key in sorted(counts, key=lambda k: (len(k.split(":")), k)):
            for group in sorted(counts[key]):
                writer.writerow([key, group, counts[key][group]])
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
