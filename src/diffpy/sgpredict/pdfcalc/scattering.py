"""Scattering weights of the elements for the PDF calculators.

Two tables ship with the package, under ``diffpy/sgpredict/data/scattering``:

* ``xray``: the X-ray form factor at :math:`Q = 0` of each neutral
  element, :math:`f_0(0) = c + \\sum_{i=1}^{5} a_i` from the
  Waasmaier-Kirfel parametrisation (Acta Cryst. A51, 416, 1995), in
  electrons;
* ``neutron``: the bound coherent scattering length :math:`b_c` (fm) of
  each element in natural abundance (Sears, Neutron News 3, 26, 1992).

Both match the tables diffpy.srreal uses (the data files' headers say
where the numbers come from).  Atom labels are read by
:func:`diffpy.sgpredict.chemistry.element_symbol`: a label carrying an
oxidation state or an isotope prefix (``O2-``, ``Ti4+``, ``Ti0+``,
``13C``) or written in an odd case (``TI``) scatters as the neutral
element; deuterium (``D``, ``2H``) has its own neutron length and
scatters X-rays as H.
"""

import csv
import functools
from importlib import resources

from diffpy.sgpredict import chemistry
from diffpy.sgpredict.errors import InputError

__all__ = [
    "TABLES",
    "element_symbol",
    "scattering_table",
    "scattering_weight",
]

TABLES = {
    "xray": "xray_f0_waasmaier_kirfel.csv",
    "neutron": "neutron_b_sears.csv",
}

_ALIASES = {"x-ray": "xray", "x": "xray", "n": "neutron"}


def _table_name(table):
    name = str(table).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in TABLES:
        raise InputError(
            f"unknown scattering table {table!r}; use one of: "
            + ", ".join(sorted(TABLES))
        )
    return name


@functools.lru_cache(maxsize=None)
def _read_table(name):
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data", "scattering", TABLES[name]
    )
    with ref.open("r", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    rows = csv.DictReader(lines)
    column = "f0" if name == "xray" else "b"
    return {row["symbol"]: float(row[column]) for row in rows}


def scattering_table(table="xray"):
    """Return the scattering weight of every tabulated element.

    Parameters
    ----------
    table : {"xray", "neutron"}
        ``"xray"`` for :math:`f(Q=0)` in electrons, ``"neutron"`` for the
        coherent scattering length in fm.

    Returns
    -------
    dict
        Element symbol to weight (a new dict, safe to change).

    Examples
    --------
    >>> round(scattering_table("xray")["Ni"], 3)
    27.993
    >>> scattering_table("neutron")["Ti"]
    -3.37
    """
    return dict(_read_table(_table_name(table)))


def element_symbol(label):
    """Return the element symbol that scatters for an atom label.

    A thin alias of :func:`diffpy.sgpredict.chemistry.element_symbol`
    (the one home of element labels) that keeps deuterium and tritium.

    Parameters
    ----------
    label : str
        Atom type or element label, e.g. ``"O2-"`` or ``"Ti4+"``.

    Returns
    -------
    str
        The element symbol, e.g. ``"O"`` or ``"Ti"``; an empty string
        when the label names no element H to Cf.

    Examples
    --------
    >>> [element_symbol(s) for s in ("O2-", "Ti0+", "FE3+", "13C", "D")]
    ['O', 'Ti', 'Fe', 'C', 'D']
    """
    return chemistry.element_symbol(label, isotopes=True, strict=False) or ""


def scattering_weight(label, table="xray"):
    """Return the scattering weight of the element named by ``label``.

    Parameters
    ----------
    label : str
        Atom label; see :func:`element_symbol`.
    table : {"xray", "neutron"}
        Which table.

    Returns
    -------
    float
        :math:`f(0)` in electrons or :math:`b` in fm.

    Raises
    ------
    InputError
        When the element is not in the table.

    Examples
    --------
    >>> round(scattering_weight("O2-"), 4)
    7.9997
    >>> scattering_weight("Mn3+", "neutron")
    -3.75
    """
    name = _table_name(table)
    values = _read_table(name)
    symbol = element_symbol(label)
    if symbol in values:
        return values[symbol]
    if symbol in ("D", "T") and name == "xray":  # X-rays see hydrogen
        return values["H"]
    raise InputError(f"no {name} scattering factor for element " f"{label!r}")
