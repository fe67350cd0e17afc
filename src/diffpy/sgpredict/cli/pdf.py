"""``diffpy.sgpredict pdf``: compute G(r) of a structure and write a .gr."""

import math
from pathlib import Path

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


def register(subparsers):
    """Add the ``pdf`` subcommand."""
    import argparse

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
    num = {"type": float, "metavar": "X"}
    parser.add_argument("--rmin", default=1.5, help="default 1.5 A", **num)
    parser.add_argument("--rmax", default=30.0, help="default 30 A", **num)
    parser.add_argument(
        "--rstep", default=math.pi / 23, help="default pi/23 A", **num
    )
    parser.add_argument("--qmin", default=0.5, help="default 0.5 1/A", **num)
    parser.add_argument("--qmax", default=23.0, help="default 23 1/A", **num)
    parser.add_argument(
        "--qdamp", default=0.04, help="default 0.04 1/A", **num
    )
    parser.add_argument(
        "--qbroad", default=0.01, help="default 0.01 1/A", **num
    )
    parser.add_argument("--delta1", default=0.0, help="default 0 A", **num)
    parser.add_argument("--delta2", default=0.0, help="default 0 A^2", **num)
    parser.add_argument("--scale", default=1.0, help="default 1", **num)
    adp = parser.add_mutually_exclusive_group()
    adp.add_argument(
        "--uiso",
        default=0.008,
        help="isotropic ADP given to every atom (default 0.008 A^2)",
        **num,
    )
    adp.add_argument(
        "--keep-adps",
        action="store_true",
        help="use the structure's own ADPs instead of --uiso",
    )
    parser.add_argument(
        "--scattering",
        choices=["xray", "neutron"],
        default="xray",
        help="scattering-factor table (default xray)",
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


def _composition(stru):
    from diffpy.sgpredict.pdfcalc.scattering import element_symbol

    counts = {}
    for atom in stru:
        el = element_symbol(atom.element) or str(atom.element)
        counts[el] = counts.get(el, 0.0) + float(atom.occupancy)
    parts = []
    for el in sorted(counts):
        n = counts[el]
        parts.append(f"{el}{n:g}")
    return " ".join(parts)


def header_lines(settings, calculator, source, stru):
    """Return the ``key = value`` header lines of the output file.

    Examples
    --------
    >>> from diffpy.sgpredict.pdfcalc import PDFSettings
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice())
    >>> lines = header_lines(PDFSettings(), "builtin", "ni.cif", s)
    >>> [ln for ln in lines if ln.startswith("qmax")]
    ['qmax = 23.0']
    """
    from diffpy.sgpredict.version import __version__

    values = settings.to_dict()
    lines = [
        "# G(r) computed by diffpy.sgpredict pdf",
        f"program = diffpy.sgpredict {__version__}",
        f"version = {__version__}",
        f"calculator = {calculator}",
        f"source = {str(source).replace('=', '_')}",
        f"composition = {_composition(stru)}",
        f"natoms = {len(stru)}",
    ]
    from diffpy.sgpredict.pdfcalc import NUMERIC_SETTINGS

    for key in NUMERIC_SETTINGS:
        lines.append(f"{key} = {float(values[key])!r}")
    lines.append(f"scattering = {values['scattering']}")
    uiso = values["uiso"]
    lines.append(
        f"uiso = {float(uiso)!r}" if uiso is not None else "uiso = structure"
    )
    return lines


def write_gr(path, r, g, lines):
    """Write a two-column .gr file with a header."""
    import numpy

    data = numpy.column_stack([r, g])
    text = "\n".join(lines) + "\n#### start data\n#L r(A) G(A^-2)\n"
    body = "\n".join(f"{a:.9f} {b:.9e}" for a, b in data)
    Path(path).write_text(text + body + "\n", encoding="utf-8")


def _plot(path, r, g, title):
    from matplotlib.figure import Figure

    from diffpy.sgpredict.results import save_figure

    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    ax.plot(r, g, lw=1)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("G (Å$^{-2}$)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def has_adps(stru):
    """Return True when any atom of the structure carries a non-zero ADP.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice())
    >>> has_adps(s)
    False
    >>> s[0].Uisoequiv = 0.005
    >>> has_adps(s)
    True
    """
    import numpy

    return any(numpy.any(numpy.abs(atom.U) > 0) for atom in stru)


def output_path(output, structure):
    """Return the .gr path to write; a folder gets ``STRUCTURE.gr`` inside.

    Raises
    ------
    InputError
        When the folder of the output does not exist.

    Examples
    --------
    >>> output_path(None, "dir/Ni.cif").name
    'Ni.gr'
    """
    from diffpy.sgpredict.errors import InputError

    default = Path(structure).with_suffix(".gr").name
    if output is None:
        return Path(default)
    out = Path(output)
    if out.is_dir():
        return out / default
    if str(output).endswith(("/", "\\")):
        raise InputError(f"{output}: folder does not exist; create it first")
    if not out.parent.is_dir():
        raise InputError(
            f"{out}: folder {out.parent} does not exist; create it first"
        )
    return out


def _check_structure_file(name):
    """Refuse empty files and CIFs without atom sites in one line.

    (diffpy.structure returns no structure at all for them.)
    """
    from diffpy.sgpredict.errors import InputError

    source = Path(name)
    if not source.is_file():
        return  # load_structure says "no such file"
    text = source.read_bytes()
    if not text.strip():
        raise InputError(f"{name}: file is empty; give a structure file")
    if source.suffix.lower() in (".cif", ".mcif"):
        low = text.lower()
        atoms = b"_atom_site_fract_" in low or b"_atom_site_cartn_" in low
        if b"data_" in low and not atoms:
            raise InputError(
                f"{name}: the file holds no atoms (no _atom_site_ loop); "
                "give a CIF with atom positions"
            )


def run(args):
    """Run ``pdf``; return the exit status."""
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.pdfcalc import (
        NUMERIC_SETTINGS,
        PDFSettings,
        get_calculator,
        load_structure,
    )

    settings = PDFSettings(
        **{key: getattr(args, key) for key in NUMERIC_SETTINGS},
        scattering=args.scattering,
        uiso=None if args.keep_adps else args.uiso,
    )
    backend = get_calculator(args.calculator)
    out = output_path(args.output, args.structure)
    if args.plot:
        plot = Path(args.plot)
        if plot.is_dir() or not plot.parent.is_dir():
            raise InputError(
                f"{plot}: give an image file name in an existing folder"
            )
    _check_structure_file(args.structure)
    stru = load_structure(args.structure)
    if args.keep_adps and not has_adps(stru):
        raise InputError(
            f"{args.structure}: --keep-adps, but the structure has no "
            "displacement parameters (all ADPs are zero, which would give "
            "a peakless G(r)); give --uiso instead"
        )
    try:
        r, g = backend(stru, settings)
    except InputError as exc:
        raise InputError(f"{args.structure}: {exc}") from None
    lines = header_lines(settings, args.calculator, args.structure, stru)
    try:
        write_gr(out, r, g, lines)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from None
    print(f"wrote {out}: {len(r)} points, r = {r[0]:.4f} .. {r[-1]:.4f} A")
    if args.plot:
        _plot(
            args.plot,
            r,
            g,
            f"{Path(args.structure).name} "
            f"({args.calculator}, {settings.scattering})",
        )
        print(f"wrote {args.plot}")
    return 0
