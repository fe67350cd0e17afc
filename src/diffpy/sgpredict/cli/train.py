"""``diffpy.sgpredict train``: train a model on a dataset file."""

import argparse
import shlex
import sys

from diffpy.sgpredict.cli import as_option_error
from diffpy.sgpredict.errors import InputError

HELP = "train a space-group model on an HDF5 dataset"

EPILOG = """\
examples:
  diffpy.sgpredict train train.h5 -o model/
  diffpy.sgpredict train train.h5 -o model/ --filters 256 64 --kernel 32 \\
      --hidden 128 --ensemble 3 --epochs 164 --schedule step --lr 1e-3
  diffpy.sgpredict train train.h5 -o small/ --filters 64 64 --max-minutes 25
  diffpy.sgpredict train train.h5 -o logreg/ --model logreg
  diffpy.sgpredict train train.h5 -o tuned/ --model resnet --epochs 8 \\
      --lr 5e-4 --init-from model/

Run the same command again after an interruption to resume from the last
finished epoch; --restart starts over.
"""


def register(subparsers):
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA.h5", help="training dataset")
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="model folder"
    )
    _add_model_options(p)
    _add_optimiser_options(p)
    _add_data_options(p)
    _add_run_options(p)
    p.set_defaults(func=run)
    return p


def _add_model_options(p):
    """The model family and its architecture."""
    p.add_argument(
        "--model",
        choices=["cnn", "resnet", "logreg"],
        default="cnn",
        help="the paper's CNN (default), the residual CNN that also reads "
        "the radiation, or the logistic-regression baseline",
    )
    p.add_argument(
        "--filters",
        type=int,
        nargs="+",
        default=None,
        help="cnn: channels of the convolutions (default 256 64); "
        "resnet: channels of the stages (default 32 64 128)",
    )
    p.add_argument(
        "--kernel", type=int, help="kernel length (cnn 32, resnet 7)"
    )
    p.add_argument(
        "--hidden", type=int, help="dense units (cnn 128, resnet 256)"
    )
    p.add_argument("--dropout", type=float, default=0.3, help="default 0.3")
    p.add_argument(
        "--linear",
        action="store_true",
        help="logreg on X instead of the quadratic features X_i X_j",
    )
    p.add_argument(
        "--logreg-rows",
        type=int,
        help="rows the logreg baseline is fitted on (default 25000; the "
        "quadratic features of 25,000 rows take 2.2 GB of memory)",
    )
    p.add_argument("--ensemble", type=int, default=1, help="networks averaged")
    p.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="start every network from the weights of this model folder "
        "(fine-tuning; same architecture, dataset, --seed and "
        "--test-fraction, so that its test rows stay unseen)",
    )


def _add_optimiser_options(p):
    """Epochs, learning rate, stopping."""
    p.add_argument("--epochs", type=int, default=60, help="default 60")
    p.add_argument("--batch-size", type=int, default=64, help="default 64")
    p.add_argument("--lr", type=float, default=1e-3, help="default 1e-3")
    p.add_argument(
        "--schedule",
        choices=["cosine", "step", "constant"],
        default="cosine",
        help="learning-rate schedule (default cosine; step: /10 at 49 %% "
        "and 74 %% of the epochs, as the paper)",
    )
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument(
        "--patience",
        type=int,
        default=15,
        help="epochs without better validation loss before stopping",
    )
    p.add_argument(
        "--monitor",
        choices=["loss", "top1", "top6"],
        default="loss",
        help="validation score for early stopping and the kept weights",
    )
    p.add_argument(
        "--class-weights",
        choices=["inverse", "sqrt", "none"],
        default="inverse",
    )
    p.add_argument("--seed", type=int, default=0)


def _add_data_options(p):
    """Splits, rows and augmentation."""
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.0,
        help="set aside two test sets of this share each (whole structure "
        "types, and a random share per group) before the validation "
        "split; their ids go to heldout.json (default 0)",
    )
    p.add_argument(
        "--split",
        choices=["grouped", "random"],
        default="grouped",
        help="grouped (default): rows of one prototype stay on one side",
    )
    p.add_argument(
        "--max-rows",
        type=int,
        help="use only the first N rows (reproducible on a growing file)",
    )
    p.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="train on the computed PDFs as they are",
    )


def _add_run_options(p):
    """Where and how long this call runs."""
    p.add_argument(
        "--device", default="auto", help="cpu, cuda or auto (default)"
    )
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument(
        "--max-minutes",
        type=float,
        help="time budget; stops at an epoch boundary (resume later)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=True,
        help="continue from checkpoints in the output folder (default)",
    )
    group.add_argument(
        "--restart",
        dest="resume",
        action="store_false",
        help="ignore existing checkpoints",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _check(args):
    """One-line errors for options outside their meaningful range."""
    # the recipe's own numbers are checked by TrainSettings (see run);
    # these are the options it does not hold
    checks = [
        (
            0 <= args.dropout < 1,
            f"--dropout must lie in [0, 1), not {args.dropout}",
        ),
        (
            args.filters is None or min(args.filters) >= 1,
            "--filters: every number of channels must be at least 1",
        ),
        (args.kernel is None or args.kernel >= 1, "--kernel must be >= 1"),
        (args.hidden is None or args.hidden >= 1, "--hidden must be >= 1"),
        (
            args.threads is None or args.threads >= 1,
            "--threads must be at least 1",
        ),
        (
            args.max_minutes is None or args.max_minutes > 0,
            "--max-minutes must be positive",
        ),
        (
            args.device == "auto"
            or args.device.split(":")[0] in ("cpu", "cuda", "mps"),
            f"--device {args.device!r}: use cpu, cuda, cuda:N or auto",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise InputError(message)


def _settings(args, config):
    """The training recipe the options describe."""
    from diffpy.sgpredict.training import TrainSettings

    return TrainSettings(
        model=args.model,
        config=config,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        patience=args.patience,
        monitor=args.monitor,
        seed=args.seed,
        device=args.device,
        val_fraction=args.val_fraction,
        split=args.split,
        test_fraction=args.test_fraction,
        ensemble=args.ensemble,
        augment=args.augment,
        class_weights=args.class_weights,
        max_rows=args.max_rows,
        logreg_options=(
            {"max_samples": args.logreg_rows} if args.logreg_rows else None
        ),
        init_from=args.init_from,
    )


def run(args):
    """Run ``train``; return the exit status."""
    from diffpy.sgpredict.training import TrainSettings, train

    _check(args)
    if args.model == "logreg":
        config = {"quadratic": not args.linear}
    else:
        # the family's defaults (training.settings) fill what is not given
        given = {
            "channels" if args.model == "resnet" else "filters": args.filters,
            "kernel": args.kernel,
            "hidden": args.hidden,
            "dropout": args.dropout,
        }
        config = {k: v for k, v in given.items() if v is not None}
    command = "diffpy.sgpredict " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    try:
        settings = _settings(args, config)
    except InputError as exc:
        raise as_option_error(exc, TrainSettings) from None
    result = train(
        args.data,
        args.output,
        settings,
        resume=args.resume,
        max_minutes=args.max_minutes,
        num_threads=args.threads,
        progress=not args.quiet,
        command=command,
    )
    v = result.card["metrics"]["validation"]
    nval = result.card["training_data"]["n_validation"]
    print(
        f"{result.model_dir}: validation top-1 {100 * v['top1']:.1f} %, "
        f"top-6 {100 * v['top6']:.1f} % ({nval} held-out generated rows)"
    )
    return 0
