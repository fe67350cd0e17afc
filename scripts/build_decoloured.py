"""Crystals of one element made from compound structures.

The supplement of the species correction
(:mod:`diffpy.sgpredict.training.species_head`).  The Materials Project
table holds few crystals of one element (267 of the 51,138 rows of the
default dataset) and none of an element in the diamond structure: the
(formula, group) pairs of the evaluation sets were taken out of it, and
with them Si, Ge and C in Fd-3m.  A network told "one species" has then
never seen an element with four tetrahedral neighbours, and ranks the
compounds it knows for that shape (chalcopyrite, I-42d) first for Si.

What a PDF sees of an element in a compound's structure is simple: give
every site of a zincblende the same element and it is diamond (Fd-3m);
Cu3Au (L1_2) becomes fcc (Fm-3m), CsCl body-centred cubic, wurtzite
lonsdaleite (P6_3/mmc).  This script does that to the compound
structures (2 or 3 species, at most ``--max-sites`` sites) of the
model's *training* rows only (its test and validation rows are never
read), labels each result with spglib's group of the one-element cell
(``--symprec``, 0.1 by default: an element relaxes to the higher
symmetry a compound's chemistry had distorted) and keeps it when

* the group rose: the compound is an ordering of a simpler crystal of
  one element (``--keep-unchanged`` keeps the others too; on the real
  structures of ``../shared`` they made the elements' ranks no better);
* that group is among the 45, and the Materials Project table holds a
  crystal of one element in it.  That element names the row, so every
  (formula, group) pair of the supplement is a pair of the table, never
  one of an evaluation set.

At most ``--max-per-group`` (60) rows per group, and one per (source
structure type, group): 377 rows from the default dataset.  Each row's
PDF gets the physics of the default dataset (``dataset build --settings
physics``), computed by the same code; ``--settings table2`` computes
them at the paper's Table-2 settings instead, for the search-match
library (``scripts/build_neighbour_library.py --supplement``).

Run::

    python scripts/build_decoloured.py MODEL DATASET \\
        --table ../shared/data/mp/mp_structures.csv.gz -o OUT.h5

(MODEL: the network folder whose training rows are used; DATASET: its
training dataset.  About 1 minute on two cores; a killed build
continues.)
"""

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import read_card
from diffpy.sgpredict.dataset.build import build_config, build_dataset
from diffpy.sgpredict.structures import Crystal, spglib_group
from diffpy.sgpredict.structures.tables import read_structure_table
from diffpy.sgpredict.training.data import load_training_data, model_split


def training_side(model_dir, dataset):
    """Ids and prototype keys of the rows the model trained on."""
    data = load_training_data(dataset)
    split = model_split(read_card(model_dir), model_dir, data, dataset)
    ids = data["id"][split.train]
    return dict(zip(ids.tolist(), data["prototype"][split.train].tolist()))


def elements_by_group(rows):
    """{group: sorted elements} of the table's crystals of one element."""
    out = defaultdict(set)
    for row in rows:
        species = row["species"].split()
        if len(set(species)) == 1:
            out[int(row["sg_number"])].add(species[0])
    return {g: sorted(v) for g, v in out.items()}


def decoloured_items(rows, train, elements, args, rng):
    """Work items for :func:`build_dataset`: one-element crystals."""
    wanted = set(spacegroups.NUMBERS)
    seen = set()
    per_group = Counter()
    items = []
    order = rng.permutation(len(rows))
    for i in order:
        row = rows[i]
        if row["id"] not in train:
            continue
        species = row["species"].split()
        if not 2 <= len(set(species)) <= 3 or len(species) > args.max_sites:
            continue
        lattice = numpy.array(row["lattice"].split(), float).reshape(3, 3)
        frac = numpy.array(row["frac"].split(), float).reshape(-1, 3)
        group = spglib_group(lattice, frac, [1] * len(species), args.symprec)
        if group not in wanted or group not in elements:
            continue
        if args.raised_only and group == int(row["sg_number"]):
            continue  # not an ordering of a simpler one-element crystal
        key = (train[row["id"]], group)
        if key in seen or per_group[group] >= args.max_per_group:
            continue
        seen.add(key)
        per_group[group] += 1
        element = elements[group][int(rng.integers(len(elements[group])))]
        crystal = Crystal(
            lattice,
            frac,
            [element] * len(species),
            meta={
                "id": f"{row['id']}-X",
                "source": f"decoloured:{row['id']}",
                "sg_number": group,
                "formula": element,
                "prototype": f"decoloured|{train[row['id']]}|{group}",
            },
        )
        items.append(
            {
                "id": crystal.meta["id"],
                "source": crystal.meta["source"],
                "crystal": crystal,
            }
        )
    return items, per_group


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, help="the network folder")
    p.add_argument("dataset", type=Path, help="its training dataset (.h5)")
    p.add_argument("--table", type=Path, required=True)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--max-sites", type=int, default=16)
    p.add_argument("--max-per-group", type=int, default=60)
    p.add_argument("--symprec", type=float, default=0.1)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument(
        "--settings",
        choices=["physics", "table2"],
        default="physics",
        help="PDF settings: the default dataset's drawn physics (for the "
        "species correction) or the paper's Table 2 (for the search-match "
        "library)",
    )
    p.add_argument(
        "--keep-unchanged",
        action="store_true",
        help="also keep crystals whose group is the compound's (by default "
        "only those a compound orders: the group rises with one element)",
    )
    args = p.parse_args(argv)
    args.raised_only = not args.keep_unchanged
    train = training_side(args.model, args.dataset)
    rows = read_structure_table(args.table, groups=None)
    elements = elements_by_group(rows)
    rng = numpy.random.default_rng(args.seed)
    items, per_group = decoloured_items(rows, train, elements, args, rng)
    print(
        f"{len(items)} one-element crystals in {len(per_group)} groups: "
        + ", ".join(f"{g}:{n}" for g, n in sorted(per_group.items())),
        file=sys.stderr,
    )
    if not items:
        print("nothing to build: no output written", file=sys.stderr)
        return 0
    config = build_config(settings=args.settings, seed=args.seed)
    build_dataset(
        str(args.output),
        items,
        config,
        provenance={
            "package": "diffpy.sgpredict",
            "command": " ".join(
                ["scripts/build_decoloured.py", *sys.argv[1:]]
            ),
            "settings": args.settings,
            "config": config,
        },
        jobs=args.jobs,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
