"""``diffpy.sgpredict evaluate``: score a model on held-out data."""

HELP = "score a model on a dataset, CIF folder or measured PDFs"

EPILOG = """\
examples:
  diffpy.sgpredict evaluate model/ real_eval.h5 -o eval/
  diffpy.sgpredict evaluate model/ shared/data/exp_pdfs \\
      --csv shared/data/exp_pdfs.csv --prior icsd
  diffpy.sgpredict evaluate model/ shared/data/structures \\
      --csv shared/data/structures.csv --exclude-training --json
  diffpy.sgpredict evaluate model/ train.h5 --heldout structure_type
  diffpy.sgpredict evaluate model/ table2.h5 --heldout random \\
      --prior paper --weight-groups paper
  diffpy.sgpredict evaluate model/ shared/data/structures \\
      --csv shared/data/structures.csv --composition prior
"""


def register(subparsers):
    """Add the ``evaluate`` subcommand."""
    import argparse

    p = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="model folder")
    p.add_argument(
        "data",
        metavar="DATA",
        help="HDF5 dataset, folder of CIFs or folder of .gr files",
    )
    p.add_argument(
        "--csv",
        metavar="KNOWN.csv",
        help="known groups of the folder's files (columns file, sg_number)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="write per_group.png, confusion.png and evaluation.json here",
    )
    p.add_argument(
        "--prior",
        default="icsd",
        choices=["icsd", "paper", "uniform", "train", "none"],
        help="class prior of the probabilities (default icsd; train/none: "
        "the network's own output)",
    )
    p.add_argument(
        "--exclude-training",
        nargs="?",
        const="all",
        choices=["all", "seeds"],
        help="leave out rows seen in training: 'all' (the default when "
        "given alone) by the (formula, group) of every training row and "
        "prototype seed; 'seeds' by those of the real structures used "
        "(prototype seeds, CIF rows) only",
    )
    p.add_argument(
        "--heldout",
        choices=["random", "structure_type"],
        help="for the model's training dataset: score only the test rows "
        "that training set aside (heldout.json)",
    )
    p.add_argument(
        "--radiation",
        default="auto",
        choices=["auto", "xray", "neutron"],
        help="score only rows of this radiation; PDFs of CIFs are "
        "computed with it (default auto: all rows, CIFs as X-ray)",
    )
    p.add_argument(
        "--hide-radiation",
        action="store_true",
        help="do not tell the model the radiation of the rows (a model "
        "that reads it then averages both)",
    )
    p.add_argument(
        "--composition",
        choices=["filter", "prior"],
        help="tell the predictor each row's formula: 'filter' drops the "
        "groups that cannot hold it, 'prior' also weights the groups by "
        "how often they hold its stoichiometry (as predict --composition)",
    )
    p.add_argument(
        "--weight-groups",
        choices=["icsd", "paper"],
        help="also give the top-k a test set with the groups in these "
        "frequencies would show ('paper': the ICSD random split of Liu et "
        "al. 2019)",
    )
    p.add_argument(
        "--no-neighbours",
        action="store_true",
        help="score the network alone, without the model's search-match "
        "library",
    )
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument(
        "--json", action="store_true", help="print the result as JSON"
    )
    p.set_defaults(func=run)
    return p


def run(args):
    """Run ``evaluate``; return the exit status."""
    import json

    from diffpy.sgpredict.evaluate import evaluate, format_report

    result = evaluate(
        args.model,
        args.data,
        csv_path=args.csv,
        prior=args.prior,
        exclude_training=args.exclude_training,
        output_dir=args.output,
        device=args.device,
        heldout=args.heldout,
        radiation=args.radiation,
        tell_radiation=not args.hide_radiation,
        composition=args.composition,
        weight_groups=args.weight_groups,
        neighbours=not args.no_neighbours,
    )
    if args.json:
        slim = {k: v for k, v in result.items() if k != "confusion_matrix"}
        print(json.dumps(slim, indent=1))
    else:
        print(format_report(result))
    return 0
