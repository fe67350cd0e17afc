"""Add the species correction to a trained model (a new model folder).

Run: ``python scripts/fit_species_head.py MODEL DATASET -o OUT`` (about
10 minutes on two CPU cores for the shipped model's 43,665 training
rows).  It is step 3 of ``scripts/train_default_model.sh``; see
:mod:`diffpy.sgpredict.training.species_head`.
"""

import argparse
import sys

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.training.species_head import (
    SpeciesHeadSettings,
    fit_species_head,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="trained residual-network model folder")
    parser.add_argument("dataset", help="the HDF5 dataset it was trained on")
    parser.add_argument("-o", "--output", required=True, help="new folder")
    parser.add_argument(
        "--supplement",
        help="extra training rows (.h5), e.g. scripts/build_decoloured.py's",
    )
    defaults = SpeciesHeadSettings()
    parser.add_argument("--passes", type=int, default=defaults.passes)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument(
        "--weight-decay", type=float, default=defaults.weight_decay
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        settings = SpeciesHeadSettings(
            passes=args.passes,
            epochs=args.epochs,
            weight_decay=args.weight_decay,
            seed=args.seed,
        )
        fit_species_head(
            args.model,
            args.dataset,
            args.output,
            settings,
            supplement=args.supplement,
            num_threads=args.threads,
            progress=lambda line: print(line, flush=True),
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
