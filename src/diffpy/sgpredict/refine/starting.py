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
import warnings
from dataclasses import dataclass, field
from importlib import resources

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import (
    composition_allowed,
    element_symbol,
    parse_composition,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.peaks import first_strong_peak

__all__ = [
    "StartingStructure",
    "starting_structure",
    "starting_structures",
    "library_starts",
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
# compositions: parse_composition is diffpy.sgpredict.chemistry's


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
    except ImportError:  # pragma: no cover - pymatgen ships with pyxtal
        Element = None
    if Element is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = Element(element_symbol(elem)).X
        if value and not math.isnan(value):
            return float(value)
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
        from pyxtal.msg import Error as PyxtalError
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
    species = list(ratio)
    last_error = ""
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
            except (
                PyxtalError,
                RuntimeError,
                ValueError,
                IndexError,
                KeyError,
            ) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
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
        "120 atoms" + (f" ({last_error})" if last_error else "")
    )


def _fmt(comp):
    return "".join(
        f"{k}{'' if v == 1 else ('%g' % v)}" for k, v in comp.items()
    )


# --------------------------------------------------------------------
# peak matching


def _model_first_peak(structure):
    """First strong peak of the structure's PDF (or shortest bond)."""
    from diffpy.sgpredict.pdfcalc import calculate_pdf

    try:
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
    except InputError:
        return _weighted_first_peak(structure)
    return first_strong_peak(r, g) or _weighted_first_peak(structure)


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
                el = element_symbol(atom.element)
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

    from diffpy.sgpredict.structures.cifs import read_structure

    path = Path(str(path))
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        stru = read_structure(path, fmt="cif")
    except InputError as exc:
        msg = str(exc).split(": ", 1)[-1].strip().splitlines()[0]
        raise InputError(
            f"{path.name}: not a readable CIF ({msg}); fix the file or "
            "leave out --cif"
        ) from None
    for atom in stru:
        atom.element = element_symbol(atom.element, isotopes=True)
    return _drop_duplicates(stru)


def _drop_duplicates(stru, tol=0.01):
    """Remove atoms that sit on another atom of the same element.

    diffpy.structure expands some CIFs with an atom twice (its issue
    86); the copies would double the weight of the site.
    """
    xyz = numpy.array(stru.xyz, dtype=float) % 1.0
    lat = numpy.array(stru.lattice.base, dtype=float)
    keep = []
    for i in range(len(stru)):
        dup = False
        for j in keep:
            if stru[j].element != stru[i].element:
                continue
            d = xyz[i] - xyz[j]
            d -= numpy.round(d)
            if numpy.linalg.norm(d @ lat) < tol:
                dup = True
                break
        if not dup:
            keep.append(i)
    if len(keep) == len(stru):
        return stru
    out = stru.copy()
    del out[:]
    out.extend([stru[i] for i in keep])
    return out


#: Note given when no composition is known.
NO_COMPOSITION_NOTE = (
    "no composition given (--composition, or a 'composition' line in the "
    "data header): the prototype's elements were kept, so Rw ranks "
    "structure shapes, not chemistry"
)


def _prototype_starts(number, comp, uiso, limit):
    """Prototype entries of a group that fit the composition."""
    info = spacegroups.get(number)
    entries = [
        e for e in load_prototypes()["prototypes"] if e["number"] == number
    ]
    out = []
    for entry in entries:
        mapping = None
        if comp:
            mapping = _substitution(entry["formula"], comp)
            if mapping is None:
                continue
        stru = _prototype_structure(entry, mapping, uiso)
        label = entry["name"] or entry["id"]
        if mapping and any(k != v for k, v in mapping.items()):
            subst = ", ".join(f"{k}->{v}" for k, v in mapping.items())
            note = f"prototype {entry['id']} ({label}) with {subst}"
        else:
            note = f"prototype {entry['id']} ({label})"
        if not comp:
            elements = sorted({a.element for a in stru})
            note += f"; elements {', '.join(elements)} kept"
        out.append(
            StartingStructure(
                number,
                info.symbol,
                stru,
                "prototype",
                entry["id"],
                entry["licence"],
                notes=[note],
            )
        )
        if len(out) >= limit:
            break
    return out


def library_starts(number, comp, library, uiso=DEFAULT_UISO, limit=2):
    """Structures of a CIF folder in a group, fitted to a composition.

    Every CIF below ``library`` (a COD or ICSD export) whose spglib
    group is ``number`` and whose stoichiometry matches ``comp`` (or any,
    without a composition) is put into diffpy's setting of the group,
    with the elements substituted when only the stoichiometry matches.
    Files that cannot be read are passed over.  Reads every file, so
    keep the folder to a few hundred CIFs.

    Returns
    -------
    list of StartingStructure
        At most ``limit``, in file order; ``source`` is ``"library"``.

    Examples
    --------
    >>> library_starts(225, {"Ni": 1}, "no-such-folder")
    []
    """
    from pathlib import Path

    from diffpy.sgpredict.structures.cifs import find_cifs

    info = spacegroups.get(number)
    folder = Path(str(library))
    if not folder.is_dir():
        return []
    out = []
    for rel in find_cifs(folder):
        try:
            stru = read_cif(folder / rel)
            if settings.spglib_group(stru) != number:
                continue
            std = settings.standardize(stru, number, uiso=uiso)
        except InputError:
            continue
        formula = {}
        for atom in std:
            formula[atom.element] = formula.get(atom.element, 0) + 1
        mapping = None
        if comp:
            mapping = _substitution(formula, comp)
            if mapping is None:
                continue
            for atom in std:
                atom.element = mapping.get(atom.element, atom.element)
        note = f"library CIF {rel}"
        if mapping and any(k != v for k, v in mapping.items()):
            note += " with " + ", ".join(
                f"{k}->{v}" for k, v in mapping.items()
            )
        out.append(
            StartingStructure(
                number,
                info.symbol,
                std,
                "library",
                rel,
                "user library",
                notes=[note],
            )
        )
        if len(out) >= limit:
            break
    return out


def starting_structures(
    number,
    composition=None,
    cif=None,
    data=None,
    enumerate_budget=15.0,
    prototypes=2,
    enumerated=2,
    uiso=DEFAULT_UISO,
    rng=None,
    library=None,
):
    """Return every starting structure of a group, by route.

    The routes, in this order:

    ``cif``
        the user's CIF when spglib finds the group in it;
    ``library``
        up to two CIFs of the folder ``library`` (:func:`library_starts`);
    ``prototype``
        up to ``prototypes`` structure types of the bundled library
        with the composition's stoichiometry (elements substituted);
        without a composition the group's first structure type with
        its own elements (and a note that says so);
    ``wyckoff``
        the ``enumerated`` best Wyckoff assignments of the composition
        (:func:`diffpy.sgpredict.refine.wyckoff.enumerate_starts`),
        when the data are given and the group can hold the composition;
    ``pyxtal``
        a random pyxtal structure, only when no other route gave one.

    Supergroup starts are added by
    :func:`~diffpy.sgpredict.refine.fit_candidates` once the
    supergroups are refined.

    Parameters
    ----------
    number : int or str
        Space group.
    composition : str or dict, optional
        Formula.
    cif : str or path, optional
        The user's structure.
    data : FitData, optional
        The measured PDF cut to the fit range (needed for the
        enumeration and the cell scaling).
    enumerate_budget : float
        Seconds for the Wyckoff enumeration (0 switches it off).
    prototypes, enumerated : int
        How many starts each route contributes at most.
    uiso : float
        Starting isotropic ADP (A^2).
    rng : numpy.random.Generator, optional
        For the enumeration's random draws.
    library : str or path, optional
        A folder of CIFs searched by group and composition.

    Returns
    -------
    starts : list of StartingStructure
    notes : list of str
        Routes that gave nothing, and why.

    Examples
    --------
    >>> starts, notes = starting_structures(225, "NaCl")
    >>> [s.source for s in starts], notes
    (['prototype'], [])
    """
    info = spacegroups.lookup(number)
    number = info.number
    comp = parse_composition(composition) if composition else None
    r1 = None
    if data is not None:
        r1 = first_strong_peak(data.r, data.g)
    starts, notes = [], []
    if cif is not None:
        try:
            start = starting_structure(number, cif=cif, r1=r1, uiso=uiso)
        except InputError as exc:
            notes.append(str(exc))
        else:
            if start.source == "cif":
                starts.append(start)
            else:
                notes.extend(start.notes[:1])
            if comp is None:
                stru = read_cif(cif)
                comp = {}
                for atom in stru:
                    el = element_symbol(atom.element)
                    comp[el] = comp.get(el, 0.0) + atom.occupancy
    if library is not None:
        for start in library_starts(number, comp, library, uiso):
            start.scale = _scale_to_peak(start.structure, r1)
            starts.append(start)
    if comp is None:
        notes.append(NO_COMPOSITION_NOTE)
    for start in _prototype_starts(number, comp, uiso, prototypes):
        start.scale = _scale_to_peak(start.structure, r1)
        starts.append(start)
    if comp and data is not None and enumerate_budget > 0:
        from diffpy.sgpredict.refine.wyckoff import enumerate_starts

        if composition_allowed(comp, number):
            try:
                found = enumerate_starts(
                    number,
                    comp,
                    data,
                    budget=enumerate_budget,
                    keep=enumerated,
                    rng=rng,
                    uiso=uiso,
                )
                for item in found:
                    start = StartingStructure(
                        number,
                        info.symbol,
                        item.structure,
                        "wyckoff",
                        item.name,
                        "generated",
                        notes=item.notes,
                    )
                    start.quick_rw = item.quick_rw
                    starts.append(start)
            except InputError as exc:
                notes.append(f"Wyckoff enumeration: {exc}")
        else:
            notes.append(
                f"Wyckoff enumeration: {_fmt(comp)} fits no Wyckoff "
                f"combination of {info.symbol} with Z <= 8"
            )
    if not starts:
        start = starting_structure(number, composition=comp, r1=r1, uiso=uiso)
        starts.append(start)
    return starts, notes
