"""The structure-type library: one file of real structure types.

``data/structure_types/structure_types.json.gz`` is the package's one
library of structure types, used by the generator of training crystals
(:mod:`diffpy.sgpredict.structures.generate`) and by the refinement's
starting structures (:mod:`diffpy.sgpredict.refine.library_lookup`).
Each entry is stored as an asymmetric unit plus its setting:

``key``
    unique id, ``source:label`` (``aflow:AB_cF8_225_a_b``, ``ase:fcc``,
    ``published:ThCr2Si2``...); datasets record it as their
    ``prototype`` field.
``id``, ``name``
    the structure-type label (AFLOW label where there is one) and a
    common name (mineral, Strukturbericht or formula).
``number``, ``hall``
    space-group number and spglib's Hall number of the setting: the
    setting of :func:`diffpy.structure.spacegroups.GetSpaceGroup`
    (origin choice 1, hexagonal axes), what diffpy.srfit constrains.
``lattice``, ``sites``, ``wyckoff``
    a, b, c (A), alpha, beta, gamma (deg); one ``[element, x, y, z]``
    per orbit; its Wyckoff position (multiplicity and letter).
``composition``, ``formula``, ``natoms``
    atoms per conventional cell, reduced formula, their total.
``source``, ``licence``, ``citation``
    where the entry comes from (see the file's ``sources``) and what
    to cite: the AFLOW paper, or the publication of the Wyckoff
    description for types entered by hand.
``uses``
    ``"generate"`` and/or ``"refine"``: structures of the evaluation
    set are never generator seeds, and a type that another source
    already holds with the same Wyckoff description is not tried twice
    by the refinement.
``preferred``
    the commonest structure type(s) of its group; the file is in the
    one preferred order: by group, preferred types first, then by
    size.

The maintainers' script ``scripts/build_structure_types.py`` writes the
file from the open sources it names; users need none of them.

Examples
--------
>>> entry = get_type("aflow:AB_cF8_225_a_b")
>>> entry["number"], entry["formula"], entry["sites"]
(225, 'NaCl', [['Cl', 0.0, 0.0, 0.0], ['Na', 0.5, 0.0, 0.0]])
>>> expand(entry).natoms, expand(entry, primitive=True).natoms
(8, 2)
>>> [e["id"] for e in find_types(139, "SrFe2As2")][:1]
['AB2C2_tI10_139_a_d_e']
"""

import gzip
import json
import os
from functools import lru_cache

import numpy
import spglib
from diffpy.structure import Lattice

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import (
    ELEMENTS,
    atomic_number,
    stoichiometry,
)
from diffpy.sgpredict.structures import Crystal

__all__ = [
    "LIBRARY_PATH",
    "USES",
    "library_info",
    "load_types",
    "get_type",
    "expand",
    "lattice_matrix",
    "generator_types",
    "find_types",
]

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
#: The library shipped with the package.
LIBRARY_PATH = os.path.join(
    _DATA, "structure_types", "structure_types.json.gz"
)
#: The uses an entry can serve.
USES = ("generate", "refine")
_SYMBOLS = {atomic_number(symbol): symbol for symbol in ELEMENTS}


@lru_cache(maxsize=None)
def _read(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def library_info(path=None):
    """Return the library's header: format, setting, sources, counts.

    Examples
    --------
    >>> sorted(library_info()["sources"])
    ['aflow', 'ase', 'published', 'pyxtal', 'shared']
    """
    data = _read(path or LIBRARY_PATH)
    return {k: v for k, v in data.items() if k != "types"}


def load_types(path=None):
    """Return every entry of the library, in the preferred order.

    Parameters
    ----------
    path : str, optional
        A library file; default the one shipped with the package.

    Returns
    -------
    list of dict
        The entries (see the module docstring); do not modify them.

    Examples
    --------
    >>> types = load_types()
    >>> len(types) > 200, len({e["key"] for e in types}) == len(types)
    (True, True)
    """
    return _read(path or LIBRARY_PATH)["types"]


@lru_cache(maxsize=None)
def _by_key(path):
    return {e["key"]: e for e in load_types(path)}


def get_type(key, path=None):
    """Return the entry with this key.

    Raises
    ------
    KeyError
        When the library holds no such key.
    """
    return _by_key(path or LIBRARY_PATH)[key]


def lattice_matrix(params):
    """Lattice vectors (rows, A) of a, b, c, alpha, beta, gamma.

    The orientation is diffpy.structure's, so a crystal expanded here
    and a ``diffpy.structure.Structure`` of the same entry agree.

    Examples
    --------
    >>> numpy.round(lattice_matrix([4, 4, 4, 90, 90, 90]), 6).tolist()
    [[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]]
    """
    return numpy.array(Lattice(*params).base, dtype=float)


@lru_cache(maxsize=None)
def _operations(hall):
    ops = spglib.get_symmetry_from_database(int(hall))
    return (
        numpy.asarray(ops["rotations"], dtype=float),
        numpy.asarray(ops["translations"], dtype=float),
    )


def _orbit(xyz, rotations, translations, tol=1e-4):
    """Distinct images of one position under the operations (mod 1)."""
    images = (rotations @ numpy.asarray(xyz, float) + translations) % 1.0
    out = []
    for p in images:
        if not any(
            numpy.all(numpy.abs((p - q + 0.5) % 1.0 - 0.5) < tol) for q in out
        ):
            out.append(p)
    return out


def expand(entry, primitive=False, symprec=1e-3):
    """Return the crystal of an entry: all atoms of its cell.

    The asymmetric unit is expanded with the operations of the entry's
    setting (spglib's database for its Hall number): every image
    :math:`\\mathbf{x}' = (R\\mathbf{x} + \\mathbf{t}) \\bmod 1` once.

    Parameters
    ----------
    entry : dict
        A library entry.
    primitive : bool
        Return spglib's primitive cell instead of the conventional one
        (fewer atoms, same structure; the generator uses it).
    symprec : float
        spglib tolerance for the primitive cell (A).

    Returns
    -------
    Crystal
        ``meta`` holds ``prototype`` (the key) and ``sg_number``.

    Examples
    --------
    >>> c = expand(get_type("aflow:A_cF8_227_a"))
    >>> c.natoms, c.label()
    (8, 227)
    """
    rotations, translations = _operations(entry["hall"])
    species, frac = [], []
    for element, *xyz in entry["sites"]:
        orbit = _orbit(xyz, rotations, translations)
        frac.extend(orbit)
        species.extend([element] * len(orbit))
    lattice = lattice_matrix(entry["lattice"])
    meta = {"prototype": entry["key"], "sg_number": entry["number"]}
    if primitive:
        numbers = [atomic_number(s) for s in species]
        cell = spglib.standardize_cell(
            (lattice, numpy.array(frac), numbers),
            to_primitive=True,
            no_idealize=True,
            symprec=symprec,
        )
        if cell is not None:
            lattice, frac, numbers = cell
            species = [_SYMBOLS[int(z)] for z in numbers]
    return Crystal(lattice, numpy.asarray(frac) % 1.0, species, meta=meta)


def generator_types(groups=None, path=None):
    """Entries the generator makes variants of, by key.

    Parameters
    ----------
    groups : iterable of int, optional
        Space groups; default the 45 of the package.
    path : str, optional
        A library file.

    Returns
    -------
    dict
        key -> entry, in the preferred order, only entries whose
        ``uses`` holds ``"generate"`` (evaluation-set structures never
        seed training data).

    Examples
    --------
    >>> keys = list(generator_types([225]))
    >>> keys[:3]
    ['aflow:A_cF4_225_a', 'aflow:AB_cF8_225_a_b', 'aflow:AB2_cF12_225_a_c']
    """
    wanted = set(spacegroups.NUMBERS if groups is None else groups)
    return {
        e["key"]: e
        for e in load_types(path)
        if e["number"] in wanted and "generate" in e["uses"]
    }


def find_types(number, composition=None, use="refine", path=None):
    """Entries of a group for one use, matching a stoichiometry.

    Parameters
    ----------
    number : int
        Space-group number.
    composition : str or dict, optional
        Entries whose integer element ratio equals this one's (same
        stoichiometry, any elements) are returned; None returns all
        entries of the group.
    use : {"refine", "generate"}
        Only entries that serve this use.
    path : str, optional
        A library file.

    Returns
    -------
    list of dict
        In the preferred order.

    Examples
    --------
    >>> [e["name"] for e in find_types(136, "SnO2")][:1]
    ['Rutile']
    >>> find_types(225, "Ni")[0]["key"]
    'aflow:A_cF4_225_a'
    """
    if use not in USES:
        raise ValueError(f"use must be one of {USES}, not {use!r}")
    entries = [
        e
        for e in load_types(path)
        if e["number"] == int(number) and use in e["uses"]
    ]
    if composition is None:
        return entries
    want = stoichiometry(composition)
    if want is None:
        return []
    return [e for e in entries if stoichiometry(e["composition"]) == want]
