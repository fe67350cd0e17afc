"""Starting structures for refinements of candidate space groups.

For a candidate group the starting structure comes, in this order, from

1. the user's own CIF, when spglib finds that same group in it (a CIF
   in another group is reported, never silently re-symmetrised);
2. the bundled prototype library
   (``data/refine_prototypes/prototypes.json``: at least one real
   structure type for each of the 45 groups, with source and licence),
   with element substitution when a composition is known;
3. a structure generated with pyxtal for the composition in that group.

Every structure is put into the setting of
:func:`diffpy.structure.spacegroups.GetSpaceGroup` (what
:func:`diffpy.srfit.structure.constrainAsSpaceGroup` expects) and its
cell is scaled so that the first strong peak of its PDF lies at the
first strong peak of the data.

Examples
--------
>>> from diffpy.sgpredict.refine import starting_structure
>>> start = starting_structure(225, composition="Ni", r1=2.49)
>>> start.source, round(start.structure.lattice.a, 2)
('prototype', 3.52)
"""

import functools
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine import settings

__all__ = [
    "StartingStructure",
    "starting_structure",
    "parse_composition",
    "load_prototypes",
    "first_strong_peak",
]

DEFAULT_UISO = 0.005


@dataclass
class StartingStructure:
    """A starting structure for one candidate space group.

    Attributes
    ----------
    number : int
        Space-group number.
    symbol : str
        Hermann-Mauguin symbol (diffpy spelling).
    structure : diffpy.structure.Structure
        All atoms of the conventional cell in diffpy's setting.
    source : str
        ``"cif"``, ``"prototype"`` or ``"pyxtal"``.
    name : str
        Prototype id, CIF file name or a pyxtal description.
    licence : str
        Licence of the structure source.
    scale : float
        Factor applied to the cell edges to match the data.
    notes : list of str
        What was done, in words (substitutions, skipped CIF...).
    """

    number: int
    symbol: str
    structure: object
    source: str
    name: str
    licence: str = ""
    scale: float = 1.0
    notes: list = field(default_factory=list)

    @property
    def diffpy_name(self):
        """Name of the group for ``GetSpaceGroup``."""
        return spacegroups.get(self.number).diffpy_name

    def to_cif(self, path):
        """Write the structure as a CIF file (all atoms, P1 listing).

        Examples
        --------
        >>> start = starting_structure(225, composition="Ni")
        >>> start.to_cif("/tmp/start.cif")  # doctest: +SKIP
        """
        self.structure.title = (
            f"{self.name} start for {self.symbol} ({self.number})"
        )
        self.structure.write(str(path), "cif")
        return str(path)


# --------------------------------------------------------------------
# compositions


_TOKEN = re.compile(r"([A-Z][a-z]?)|(\()|(\))|(\d+(?:\.\d*)?|\.\d+)")


def parse_composition(text):
    """Return a composition as an ordered dict of element -> amount.

    Parentheses, fractional amounts and spaces are allowed.

    Parameters
    ----------
    text : str
        A formula such as ``"LaMnO3"``, ``"Cd Se"`` or
        ``"Ba0.7K0.3(Zn0.85Mn0.15)2As2"``.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        If the formula cannot be read.

    Examples
    --------
    >>> parse_composition("LaMnO3")
    {'La': 1.0, 'Mn': 1.0, 'O': 3.0}
    >>> parse_composition("Ca(OH)2")
    {'Ca': 1.0, 'O': 2.0, 'H': 2.0}
    """
    src = str(text).replace(" ", "").replace(",", "")
    pos = 0
    stack = [{}]
    last = None
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise InputError(
                f"composition {text!r}: cannot read {src[pos:]!r}; give a "
                "formula such as LaMnO3"
            )
        pos = m.end()
        elem, opening, closing, number = m.groups()
        if elem:
            try:
                elem = settings.bare_element(elem)
            except InputError:
                raise InputError(
                    f"composition {text!r}: {elem!r} is not an element"
                ) from None
            stack[-1][elem] = stack[-1].get(elem, 0.0) + 1.0
            last = ("elem", elem)
        elif opening:
            stack.append({})
            last = None
        elif closing:
            if len(stack) == 1:
                raise InputError(f"composition {text!r}: unbalanced ')'")
            group = stack.pop()
            for k, v in group.items():
                stack[-1][k] = stack[-1].get(k, 0.0) + v
            last = ("group", group)
        else:
            amount = float(number)
            if last is None:
                raise InputError(
                    f"composition {text!r}: number {number} follows nothing"
                )
            if last[0] == "elem":
                stack[-1][last[1]] += amount - 1.0
            else:
                for k, v in last[1].items():
                    stack[-1][k] += v * (amount - 1.0)
            last = None
    if len(stack) != 1 or not stack[0]:
        raise InputError(f"composition {text!r}: not a formula")
    return {k: float(v) for k, v in stack[0].items() if v > 0}


def _integer_ratio(comp, maxmult=12):
    """Return the smallest integer counts proportional to ``comp``."""
    values = numpy.array(list(comp.values()), dtype=float)
    values = values / values.min()
    for mult in range(1, maxmult + 1):
        scaled = values * mult
        if numpy.allclose(scaled, numpy.round(scaled), atol=0.02):
            ints = numpy.round(scaled).astype(int)
            g = math.gcd(*ints.tolist()) if len(ints) > 1 else ints[0]
            return dict(zip(comp, (ints // g).tolist()))
    return None


def _electronegativity(elem):
    try:
        from pymatgen.core import Element

        value = Element(elem).X
        if value and not math.isnan(value):
            return float(value)
    except Exception:
        pass
    return float(settings.atomic_number(elem)) / 40.0


def _substitution(proto_formula, comp):
    """Map prototype elements to composition elements, or None."""
    target = _integer_ratio(comp)
    proto = _integer_ratio({k: float(v) for k, v in proto_formula.items()})
    if target is None or proto is None or len(target) != len(proto):
        return None
    if sorted(target.values()) != sorted(proto.values()):
        return None
    mapping = {}
    for count in set(target.values()):
        pe = [e for e, c in proto.items() if c == count]
        te = [e for e, c in target.items() if c == count]
        pe.sort(key=_electronegativity)
        te.sort(key=_electronegativity)
        mapping.update(zip(pe, te))
    return mapping


# --------------------------------------------------------------------
# prototypes


@functools.lru_cache(maxsize=1)
def load_prototypes():
    """Return the bundled prototype library.

    Returns
    -------
    dict
        With keys ``sources`` and ``prototypes`` (list of entries with
        ``id``, ``name``, ``number``, ``formula``, ``lattice``,
        ``sites``, ``source``, ``licence``).

    Examples
    --------
    >>> lib = load_prototypes()
    >>> len({p["number"] for p in lib["prototypes"]})
    45
    """
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data/refine_prototypes/prototypes.json"
    )
    return json.loads(ref.read_text())


def _prototype_structure(entry, mapping=None, uiso=DEFAULT_UISO):
    sites = [
        [mapping.get(s[0], s[0]) if mapping else s[0], *s[1:]]
        for s in entry["sites"]
    ]
    return settings.expand(entry["lattice"], sites, entry["number"], uiso)


def _pyxtal_structure(number, comp, uiso=DEFAULT_UISO, seed=7):
    try:
        from pyxtal import pyxtal
    except ImportError:
        raise InputError(
            f"composition {_fmt(comp)}: no bundled prototype of group "
            f"{number} fits it and pyxtal (pip install pyxtal) is not "
            "installed to generate one"
        ) from None
    ratio = _integer_ratio(comp)
    if ratio is None:
        raise InputError(
            f"composition {_fmt(comp)}: fractional amounts cannot be "
            f"placed on the Wyckoff sites of group {number}; give an "
            "integer formula"
        )
    numpy.random.seed(seed)
    species = list(ratio)
    for z in range(1, 17):
        counts = [ratio[e] * z for e in species]
        if sum(counts) > 120:
            break
        for attempt in range(3):
            crystal = pyxtal()
            try:
                crystal.from_random(
                    3, number, species, counts, factor=1.1, random_state=seed
                )
            except Exception:
                continue
            if not crystal.valid:
                continue
            pmg = crystal.to_pymatgen()
            stru = settings.structure_from_cell(
                pmg.lattice.matrix,
                pmg.frac_coords,
                [sp.Z for sp in pmg.species],
                uiso=uiso,
            )
            try:
                return settings.standardize(stru, number, uiso=uiso), z
            except InputError:
                continue
    raise InputError(
        f"composition {_fmt(comp)} fits no Wyckoff combination of space "
        f"group {number} ({spacegroups.get(number).symbol}) with up to "
        "120 atoms"
    )


def _fmt(comp):
    return "".join(
        f"{k}{'' if v == 1 else ('%g' % v)}" for k, v in comp.items()
    )


# --------------------------------------------------------------------
# peak matching


def first_strong_peak(r, g, rmin=1.0, fraction=0.3):
    """Return the position of the first strong peak of a PDF.

    The first local maximum above ``rmin`` whose height is at least
    ``fraction`` of the largest value of G beyond ``rmin``; refined by a
    parabola through the three top points.

    Parameters
    ----------
    r, g : array_like
        The PDF.
    rmin : float
        Ignore everything below this distance (termination ripples).
    fraction : float
        Relative height that makes a peak strong.

    Returns
    -------
    float or None

    Examples
    --------
    >>> r = numpy.linspace(0, 10, 1001)
    >>> g = numpy.exp(-((r - 2.5) ** 2) / 0.01) + 0.1 * numpy.sin(3 * r)
    >>> round(first_strong_peak(r, g), 2)
    2.5
    """
    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    keep = r >= rmin
    r, g = r[keep], g[keep]
    if len(r) < 5:
        return None
    top = numpy.max(g)
    if top <= 0:
        return None
    for i in range(1, len(g) - 1):
        if g[i] >= fraction * top and g[i] >= g[i - 1] and g[i] > g[i + 1]:
            y0, y1, y2 = g[i - 1], g[i], g[i + 1]
            den = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            return float(r[i] + shift * (r[i + 1] - r[i - 1]) / 2)
    return None


def _model_first_peak(structure):
    """First strong peak of the structure's PDF (or shortest bond)."""
    try:
        from diffpy.sgpredict.pdfcalc import calculate_pdf

        r, g = calculate_pdf(
            structure,
            rmin=0.5,
            rmax=8.0,
            rstep=0.01,
            qmax=30.0,
            qdamp=0.0,
            qbroad=0.0,
            uiso=0.003,
        )
        peak = first_strong_peak(r, g)
        if peak:
            return peak
    except Exception:
        pass
    return _weighted_first_peak(structure)


def _weighted_first_peak(structure):
    """First strong peak of a Z-weighted pair-distance histogram."""
    xyz = structure.xyz_cartn
    lat = numpy.array(structure.lattice.base, dtype=float)
    z = numpy.array([settings.atomic_number(a.element) for a in structure])
    rgrid = numpy.arange(0.5, 8.0, 0.01)
    prof = numpy.zeros_like(rgrid)
    shifts = numpy.array(
        [
            [i, j, k]
            for i in (-2, -1, 0, 1, 2)
            for j in (-2, -1, 0, 1, 2)
            for k in (-2, -1, 0, 1, 2)
        ],
        dtype=float,
    )
    images = shifts @ lat
    for i in range(len(xyz)):
        d = xyz[None, :, :] + images[:, None, :] - xyz[i]
        dist = numpy.sqrt((d**2).sum(axis=2))
        w = z[i] * z[None, :] * numpy.ones_like(dist)
        ok = (dist > 0.3) & (dist < 8.0)
        for dd, ww in zip(dist[ok], w[ok]):
            prof += ww / dd * numpy.exp(-0.5 * ((rgrid - dd) / 0.05) ** 2)
    return first_strong_peak(rgrid, prof)


def _scale_to_peak(structure, r1):
    """Scale the cell so that its first strong peak lies at ``r1``."""
    if not r1:
        return 1.0
    peak = _model_first_peak(structure)
    if not peak:
        return 1.0
    factor = float(r1) / peak
    lat = structure.lattice
    structure.lattice.setLatPar(lat.a * factor, lat.b * factor, lat.c * factor)
    return factor


# --------------------------------------------------------------------
# the entry point


def starting_structure(
    number,
    composition=None,
    cif=None,
    r1=None,
    data=None,
    uiso=DEFAULT_UISO,
):
    """Return a starting structure for a candidate space group.

    Parameters
    ----------
    number : int or str
        Space-group number or symbol (one of the 45 groups).
    composition : str or dict, optional
        Chemical formula; prototypes with the same stoichiometry get
        their elements substituted, otherwise pyxtal generates one.
    cif : str or path, optional
        The user's structure; used when spglib finds ``number`` in it.
    r1 : float, optional
        Position of the first strong peak of the data (A).  When not
        given and ``data`` is, it is found in the data.
    data : (r, g) or object with ``.r`` and ``.g``, optional
        The measured PDF, used to find ``r1``.
    uiso : float
        Isotropic ADP of every atom (A^2).

    Returns
    -------
    StartingStructure

    Raises
    ------
    InputError
        For an unreadable CIF, an unknown group or a composition that
        fits no Wyckoff combination of the group.

    Examples
    --------
    >>> s = starting_structure(221, composition="LaMnO3")
    >>> s.name, sorted({a.element for a in s.structure})
    ('AB3C_cP5_221_a_c_b', ['La', 'Mn', 'O'])
    """
    info = spacegroups.lookup(number)
    number = info.number
    if isinstance(composition, str):
        comp = parse_composition(composition)
    else:
        comp = dict(composition) if composition else None
    if r1 is None and data is not None:
        r, g = (data.r, data.g) if hasattr(data, "r") else data
        r1 = first_strong_peak(r, g)
    notes = []
    if cif is not None:
        stru = read_cif(cif)
        found = settings.spglib_group(stru)
        if found == number:
            std = settings.standardize(stru, number, uiso=uiso)
            start = StartingStructure(
                number, info.symbol, std, "cif", _basename(cif), "user"
            )
            start.scale = _scale_to_peak(std, r1)
            return start
        notes.append(
            f"{_basename(cif)} is in space group {found}, not {number}; "
            "its symmetry was not changed and a prototype is used instead"
        )
        if comp is None:
            comp = {}
            for atom in stru:
                el = settings.bare_element(atom.element)
                comp[el] = comp.get(el, 0.0) + atom.occupancy
    entries = [
        e for e in load_prototypes()["prototypes"] if e["number"] == number
    ]
    chosen = None
    mapping = None
    if comp:
        for entry in entries:
            mapping = _substitution(entry["formula"], comp)
            if mapping is not None:
                chosen = entry
                break
    elif entries:
        chosen = entries[0]
    if chosen is not None:
        stru = _prototype_structure(chosen, mapping, uiso)
        label = chosen["name"] or chosen["id"]
        if mapping and any(k != v for k, v in mapping.items()):
            subst = ", ".join(f"{k}->{v}" for k, v in mapping.items())
            notes.append(f"prototype {chosen['id']} ({label}) with {subst}")
        else:
            notes.append(f"prototype {chosen['id']} ({label})")
        start = StartingStructure(
            number,
            info.symbol,
            stru,
            "prototype",
            chosen["id"],
            chosen["licence"],
            notes=notes,
        )
    else:
        stru, z = _pyxtal_structure(number, comp, uiso)
        notes.append(
            f"generated with pyxtal: {_fmt(comp)} x {z} in {info.symbol}"
        )
        start = StartingStructure(
            number,
            info.symbol,
            stru,
            "pyxtal",
            f"pyxtal-{_fmt(comp)}-Z{z}",
            "generated",
            notes=notes,
        )
    start.scale = _scale_to_peak(start.structure, r1)
    return start


def _basename(path):
    from pathlib import Path

    return Path(str(path)).name


def read_cif(path):
    """Read a CIF into a diffpy Structure with neutral element symbols.

    Raises
    ------
    InputError
        If the file is missing or not a readable CIF.

    Examples
    --------
    >>> read_cif("missing.cif")
    Traceback (most recent call last):
    ...
    diffpy.sgpredict.errors.InputError: missing.cif: file not found
    """
    from pathlib import Path

    from diffpy.structure import loadStructure

    path = Path(str(path))
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        stru = loadStructure(str(path), fmt="cif")
    except Exception as exc:
        msg = str(exc).strip().splitlines()
        msg = msg[0] if msg else type(exc).__name__
        raise InputError(
            f"{path.name}: not a readable CIF ({msg}); fix the file or "
            "leave out --cif"
        ) from None
    if len(stru) == 0:
        raise InputError(f"{path.name}: CIF has no atoms")
    for atom in stru:
        atom.element = settings.bare_element(atom.element)
    return stru
