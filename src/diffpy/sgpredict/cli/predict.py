"""``diffpy.sgpredict predict``: rank space groups for measured PDFs."""

import sys
from pathlib import Path

HELP = "predict the space group of one or more PDF files"

EPILOG = """\
examples:
  diffpy.sgpredict predict Ni.gr
  diffpy.sgpredict predict *.gr --top 3 --json > predictions.json
  diffpy.sgpredict predict sample.gr --plot sample.png
"""


def register(subparsers):
    """Add the ``predict`` subcommand."""
    import argparse

    parser = subparsers.add_parser(
        "predict",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="G(r) files (.gr)"
    )
    parser.add_argument(
        "--top",
        type=int,
        default=6,
        help="number of candidates to show (default 6)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list with one object per file",
    )
    parser.add_argument(
        "--plot",
        metavar="OUT.png",
        help="draw the model input and the candidates; with several files "
        "the file stem is added to the name",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model folder (default: the model shipped with the package)",
    )
    parser.add_argument(
        "--prior",
        default="icsd",
        choices=["icsd", "paper", "uniform", "none"],
        help="class prior the probabilities refer to (default icsd: how "
        "often each group occurs in real materials)",
    )
    parser.set_defaults(func=run)
    return parser


def _plot_path(plot, name, several):
    path = Path(plot)
    if not several:
        return path
    return path.with_name(f"{path.stem}_{Path(name).stem}{path.suffix}")


def run(args):
    """Run ``predict``; return the exit status."""
    import json

    from diffpy.sgpredict.errors import SgpredictError
    from diffpy.sgpredict.predictor import Predictor

    predictor = Predictor(args.model, prior=args.prior)
    if not 1 <= args.top <= len(predictor.labels):
        raise SgpredictError(
            f"--top must be between 1 and {len(predictor.labels)}"
        )
    status = 0
    results = []
    several = len(args.files) > 1
    for fname in args.files:
        try:
            result = predictor.predict(fname, top=args.top)
        except SgpredictError as exc:
            print(f"diffpy.sgpredict predict: error: {exc}", file=sys.stderr)
            status = 2
            continue
        results.append(result)
        if args.plot:
            out = _plot_path(args.plot, result.name, several)
            result.plot(out)
            if not args.json:
                print(f"plot written to {out}")
        if not args.json:
            print(result.table())
            print()
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    return status
