"""A structure's G(r) written as a ``.gr`` file a PDF user can read.

:func:`pdf_to_file` is what the ``diffpy.sgpredict pdf`` command runs:
read a structure, check it, compute G(r) with a
:class:`~diffpy.sgpredict.pdfcalc.PDFSettings` and a backend, and write
the two columns (:func:`diffpy.sgpredict.io.write_gr`) under a header
of ``key = value`` lines that ``diffpy.utils``' ``load_data`` and this
package's reader understand (calculator, source, composition and every
setting).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.io import write_gr
from diffpy.sgpredict.pdfcalc import (
    NUMERIC_SETTINGS,
    PDFSettings,
    get_calculator,
    load_structure,
)
from diffpy.sgpredict.pdfcalc.scattering import element_symbol
from diffpy.sgpredict.version import __version__

__all__ = [
    "PDFFile",
    "pdf_to_file",
    "header_lines",
    "has_adps",
    "output_path",
    "check_structure_file",
    "pdf_figure",
]


def _composition(stru):
    """Amount of each element, ``"Cl4 Na4"``, occupancies included."""
    counts = {}
    for atom in stru:
        el = element_symbol(atom.element) or str(atom.element)
        counts[el] = counts.get(el, 0.0) + float(atom.occupancy)
    return " ".join(f"{el}{counts[el]:g}" for el in sorted(counts))


def header_lines(settings, calculator, source, stru):
    """Return the ``key = value`` header lines of the output file.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice())
    >>> lines = header_lines(PDFSettings(), "builtin", "ni.cif", s)
    >>> [ln for ln in lines if ln.startswith("qmax")]
    ['qmax = 23.0']
    """
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
    for key in NUMERIC_SETTINGS:
        lines.append(f"{key} = {float(values[key])!r}")
    lines.append(f"scattering = {values['scattering']}")
    uiso = values["uiso"]
    lines.append(
        f"uiso = {float(uiso)!r}" if uiso is not None else "uiso = structure"
    )
    return lines


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


def check_structure_file(name):
    """Refuse empty files and CIFs without atom sites in one line.

    diffpy.structure returns no structure at all for them; a missing
    file is left to :func:`~diffpy.sgpredict.pdfcalc.load_structure`,
    which says so.
    """
    source = Path(name)
    if not source.is_file():
        return
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


def pdf_figure(r, g, title):
    """G(r) as a PDF user reads it, on a figure of its own (no pyplot)."""
    # matplotlib is imported for plots only (0.3 s of start-up otherwise)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    ax.plot(r, g, lw=1)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("G (Å$^{-2}$)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


@dataclass
class PDFFile:
    """What :func:`pdf_to_file` wrote.

    Attributes
    ----------
    path : Path
        The ``.gr`` file.
    r, g : numpy.ndarray
        The computed G(r).
    settings : PDFSettings
        The settings used.
    """

    path: Path
    r: numpy.ndarray
    g: numpy.ndarray
    settings: PDFSettings


def pdf_to_file(structure, output=None, settings=None, calculator="builtin"):
    """Compute the G(r) of a structure file and write it as a ``.gr``.

    Parameters
    ----------
    structure : str or Path
        A structure file (CIF, ...).
    output : str or Path, optional
        The ``.gr`` to write, or an existing folder to write
        ``STRUCTURE.gr`` into; default ``STRUCTURE.gr`` here.
    settings : PDFSettings, optional
        Default: the paper's Table 2.  ``uiso=None`` keeps the
        structure's own displacement parameters.
    calculator : str
        A registered backend (``builtin``, ``srreal``, a plug-in).

    Returns
    -------
    PDFFile

    Raises
    ------
    InputError
        For a missing output folder, an empty or atom-less file, a
        structure without ADPs when its own ADPs are asked for, a
        calculation the backend refuses, or a file that cannot be
        written (one line naming the file).

    Examples
    --------
    >>> from diffpy.sgpredict.structures.cifs import example_cif
    ...                                                # doctest: +SKIP
    >>> out = pdf_to_file("Ni.cif", "Ni.gr")            # doctest: +SKIP
    >>> len(out.r)                                      # doctest: +SKIP
    209
    """
    settings = settings or PDFSettings()
    backend = get_calculator(calculator)
    out = output_path(output, structure)
    check_structure_file(structure)
    stru = load_structure(structure)
    if settings.uiso is None and not has_adps(stru):
        raise InputError(
            f"{structure}: --keep-adps, but the structure has no "
            "displacement parameters (all ADPs are zero, which would give "
            "a peakless G(r)); give --uiso instead"
        )
    try:
        r, g = backend(stru, settings)
    except InputError as exc:
        raise InputError(f"{structure}: {exc}") from None
    lines = header_lines(settings, calculator, structure, stru)
    try:
        write_gr(out, r, g, lines)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from None
    return PDFFile(out, r, g, settings)
