"""``diffpy.sgpredict predict``: rank space groups for measured PDFs."""

import sys
from pathlib import Path

HELP = "predict the space group of one or more PDF files"

EPILOG = """\
FILE may be a file, a folder (its .gr/.dat/.txt/.csv files) or a quoted
glob.
Under each table: the families of candidates the data cannot tell apart,
what the composition filter did, and the in-domain verdict with reasons.

examples:
  diffpy.sgpredict predict Ni.gr
  diffpy.sgpredict predict sample.gr --composition SrFe2As2
  diffpy.sgpredict predict *.gr --top 3 --json > predictions.json
  diffpy.sgpredict predict series/ --csv series.csv --series-plot series.png
  diffpy.sgpredict predict sample.gr --plot sample.png
"""


def _positive_int(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers):
    """Add the ``predict`` subcommand."""
    import argparse

    parser = subparsers.add_parser(
        "predict",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="G(r) files, folders or glob patterns",
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
        help="draw the measured G(r), the candidates and the verdict; with "
        "several files a distinct name per file is added to the stem; a "
        "folder (existing, or ending in /) gets one PNG per file",
    )
    parser.add_argument(
        "--csv",
        metavar="OUT.csv",
        help="write one row per file: verdict, top groups, crystal systems, "
        "temperature or value parsed from header or name",
    )
    parser.add_argument(
        "--series-plot",
        metavar="OUT.png",
        help="draw the top groups' probabilities along the series",
    )
    _add_sample_options(parser)
    _add_model_options(parser)
    parser.set_defaults(func=run)
    return parser


def _add_sample_options(parser):
    """What the user knows about the sample."""
    parser.add_argument(
        "--composition",
        metavar="FORMULA",
        help="drop groups that cannot hold this composition and weight the "
        "rest by how often they hold its stoichiometry (default: the file "
        "header's composition, if any)",
    )
    parser.add_argument(
        "--no-stoichiometry-prior",
        dest="stoichiometry_prior",
        action="store_false",
        help="with a composition, only drop the impossible groups; do not "
        "weight the others by how often they hold its stoichiometry",
    )
    parser.add_argument(
        "--zmax",
        type=_positive_int,
        default=8,
        metavar="Z",
        help="largest number of formula units per cell the composition "
        "filter tries (default 8)",
    )
    parser.add_argument(
        "--keep-impossible",
        action="store_true",
        help="list the groups the composition rules out, marked x",
    )
    parser.add_argument(
        "--radiation",
        choices=["xray", "neutron"],
        help="radiation of the data when the header does not say",
    )


def _add_model_options(parser):
    """Which model runs, how, and with which prior."""
    parser.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="torch threads for inference (default 1; the CLI predicts one "
        "file at a time)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar",
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


def run(args):
    """Run ``predict``; return the exit status."""
    import json

    from diffpy.sgpredict.errors import SgpredictError
    from diffpy.sgpredict.paths import (
        check_output,
        expand_inputs,
        image_paths,
    )
    from diffpy.sgpredict.predictor import Predictor
    from diffpy.sgpredict.results import save_figure
    from diffpy.sgpredict.series import series_figure, write_csv

    if args.top < 1:
        raise SgpredictError(f"--top must be at least 1, got {args.top}")
    plot_folder = args.plot and (
        Path(args.plot).is_dir() or args.plot.endswith(("/", "\\"))
    )
    if args.plot:
        check_output(args.plot, "--plot", folder=plot_folder)
    if args.csv:
        check_output(args.csv, "--csv")
    if args.series_plot:
        check_output(args.series_plot, "--series-plot")
    files = expand_inputs(args.files)
    predictor = Predictor(args.model, prior=args.prior, threads=args.threads)
    if not 1 <= args.top <= len(predictor.labels):
        raise SgpredictError(
            f"--top must be between 1 and {len(predictor.labels)}"
        )
    if args.composition:
        predictor.allowed(args.composition, args.zmax)
    if plot_folder:
        Path(args.plot).mkdir(exist_ok=True)
    plots = image_paths(args.plot, files) if args.plot else [None] * len(files)
    progress = len(files) > 1 and not args.quiet and sys.stderr.isatty()
    iterator = zip(files, plots)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(
            list(iterator), desc="predict", unit="file", file=sys.stderr
        )
    status = 0
    results = []
    for fname, plot in iterator:
        try:
            result = predictor.predict(
                fname,
                top=args.top,
                composition=args.composition,
                keep_impossible=args.keep_impossible,
                zmax=args.zmax,
                radiation=args.radiation,
                stoichiometry_prior=args.stoichiometry_prior,
            )
        except SgpredictError as exc:
            print(f"diffpy.sgpredict predict: error: {exc}", file=sys.stderr)
            status = 2
            continue
        results.append(result)
        if plot is not None:
            save_figure(result.figure(), plot)
            if not args.json:
                print(f"plot written to {plot}")
        if not args.json:
            print(result.table())
            print()
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    if results and args.csv:
        write_csv(results, args.csv, top=args.top)
        if not args.json:
            print(f"table written to {args.csv}")
    if results and args.series_plot:
        save_figure(series_figure(results), args.series_plot)
        if not args.json:
            print(f"series plot written to {args.series_plot}")
    return status
