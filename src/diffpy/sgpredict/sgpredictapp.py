"""The ``diffpy.sgpredict`` command.

One command with argparse subcommands.  Subcommands are found through
the entry-point group ``diffpy.sgpredict.commands`` (read with the
``entrypoints`` package), so other packages can add their own: an entry
point names a function ``register(subparsers)`` that adds a parser and
sets its ``func`` default to a callable taking the parsed arguments and
returning an exit status.

The command line holds no logic of its own: each subcommand calls the
Python functions of the package and prints what they return.  Errors in
the user's input are printed as one line and give exit status 2.
"""

import argparse
import os
import sys

from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.plugins import entry_points
from diffpy.sgpredict.version import __version__

COMMAND_GROUP = "diffpy.sgpredict.commands"

_DESCRIPTION = """\
Predict the space group of a material from its atomic pair distribution
function (PDF) and prepare refinements of the best candidates.

examples:
  diffpy.sgpredict predict sample.gr
  diffpy.sgpredict predict *.gr --top 6 --json
  diffpy.sgpredict pdf structure.cif -o structure.gr
  diffpy.sgpredict info
"""


def _command_entry_points():
    """Return the command entry points, sorted by name."""
    return list(entry_points(COMMAND_GROUP).values())


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line with exit 2."""

    def error(self, message):
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit 2."""
        self.exit(
            2, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def build_parser():
    """Build the argument parser with every registered subcommand.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["predict", "a.gr"]).command
    'predict'
    """
    parser = _Parser(
        prog="diffpy.sgpredict",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"diffpy.sgpredict {__version__}",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of unexpected errors",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser._sgpredict_broken = []
    for ep in _command_entry_points():
        try:
            register = ep.load()
            register(subparsers)
        except Exception as exc:  # a broken plugin must not stop the rest
            parser._sgpredict_broken.append((ep.name, exc))
    return parser


def main(argv=None):
    """Run the command line and return its exit status.

    Ctrl-C anywhere (while the parser is built, while a command runs)
    ends with one line on stderr and status 130, never a traceback.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input, 1 for unexpected errors.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    diffpy.sgpredict 0.1.0
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("diffpy.sgpredict: interrupted", file=sys.stderr)
        return 130


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        for name, exc in parser._sgpredict_broken:
            print(
                f"diffpy.sgpredict: command {name!r} could not be loaded: "
                f"{exc}",
                file=sys.stderr,
            )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 1
    try:
        status = func(args)
    except SgpredictError as exc:
        print(
            f"diffpy.sgpredict {args.command}: error: {exc}", file=sys.stderr
        )
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"diffpy.sgpredict {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into a reader that stopped early (``| head``): not
        # an error; keep Python from complaining again at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"diffpy.sgpredict {args.command}: unexpected error: "
            f"{type(exc).__name__}: {exc} (run again with --debug for the "
            "traceback and report it)",
            file=sys.stderr,
        )
        return 1
    return int(status or 0)


if __name__ == "__main__":
    raise SystemExit(main())
