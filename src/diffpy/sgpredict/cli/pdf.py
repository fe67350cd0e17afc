"""``diffpy.sgpredict pdf``: compute G(r) of a structure and write a .gr."""

import argparse
from pathlib import Path

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import NUMERIC_SETTINGS, PDFSettings

# PDFSettings gives the option defaults (their one home; 0.1 s more at
# start-up, measured); pdfcalc.files (structure reading, matplotlib) is
# imported when the command runs: every command's parser is built at
# start-up

HELP = "compute the PDF G(r) of a crystal structure and write it as .gr"

EPILOG = """\
The defaults are the settings of Table 2 of Liu et al. (2019): the grid
r_k = k*pi/23 for 1.5 <= r_k < 30 A (209 points), Qmin 0.5, Qmax 23,
Qdamp 0.04, Qbroad 0.01, Uiso 0.008 A^2 on every atom, X-rays.

examples:
  diffpy.sgpredict pdf Ni.cif -o Ni.gr
  diffpy.sgpredict pdf TiO2.cif -o TiO2.gr --scattering neutron --qmax 30
  diffpy.sgpredict pdf TiO2.cif -o TiO2.gr --keep-adps --rmax 50 --rstep 0.01
  diffpy.sgpredict pdf Ni.cif -o Ni.gr --calculator srreal --plot Ni.png
"""


#: Units of the numeric settings in the option help.
_UNITS = {
    "rmin": " A",
    "rmax": " A",
    "rstep": " A",
    "qmin": " 1/A",
    "qmax": " 1/A",
    "qdamp": " 1/A",
    "qbroad": " 1/A",
    "delta1": " A",
    "delta2": " A^2",
}


def register(subparsers):
    """Add the ``pdf`` subcommand."""
    parser = subparsers.add_parser(
        "pdf",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "structure", metavar="STRUCTURE", help="structure file (CIF, ...)"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT.gr",
        help="output file, or an existing folder to write STRUCTURE.gr into "
        "(default: the structure's name with .gr here)",
    )
    # defaults and units from PDFSettings, the one home of Table 2
    defaults = PDFSettings()
    for key in NUMERIC_SETTINGS:
        value = getattr(defaults, key)
        unit = _UNITS.get(key, "")
        text = "pi/23" if key == "rstep" else f"{value:g}"
        parser.add_argument(
            f"--{key}",
            type=float,
            metavar="X",
            default=value,
            help=f"default {text}{unit}",
        )
    adp = parser.add_mutually_exclusive_group()
    adp.add_argument(
        "--uiso",
        type=float,
        metavar="X",
        default=defaults.uiso,
        help="isotropic ADP given to every atom (default "
        f"{defaults.uiso:g} A^2)",
    )
    adp.add_argument(
        "--keep-adps",
        action="store_true",
        help="use the structure's own ADPs instead of --uiso",
    )
    parser.add_argument(
        "--scattering",
        choices=["xray", "neutron"],
        default=defaults.scattering,
        help=f"scattering-factor table (default {defaults.scattering})",
    )
    parser.add_argument(
        "--calculator",
        default="builtin",
        metavar="NAME",
        help="PDF backend: builtin (default), srreal or a plug-in",
    )
    parser.add_argument(
        "--plot", metavar="OUT.png", help="also draw G(r) into an image"
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run ``pdf``; return the exit status."""
    from diffpy.sgpredict.pdfcalc.files import pdf_figure, pdf_to_file
    from diffpy.sgpredict.results import save_figure

    settings = PDFSettings(
        **{key: getattr(args, key) for key in NUMERIC_SETTINGS},
        scattering=args.scattering,
        uiso=None if args.keep_adps else args.uiso,
    )
    if args.plot:
        plot = Path(args.plot)
        if plot.is_dir() or not plot.parent.is_dir():
            raise InputError(
                f"{plot}: give an image file name in an existing folder"
            )
    done = pdf_to_file(args.structure, args.output, settings, args.calculator)
    r = done.r
    print(
        f"wrote {done.path}: {len(r)} points, r = {r[0]:.4f} .. "
        f"{r[-1]:.4f} A"
    )
    if args.plot:
        title = (
            f"{Path(args.structure).name} "
            f"({args.calculator}, {settings.scattering})"
        )
        save_figure(pdf_figure(r, done.g, title), args.plot)
        print(f"wrote {args.plot}")
    return 0
