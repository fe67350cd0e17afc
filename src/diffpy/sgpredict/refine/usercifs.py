"""The user's structures: one CIF (``--cif``) or a folder of CIFs
(``--library``, a COD or ICSD export), read with the package's CIF
reader and put into diffpy's setting of a candidate group.

Examples
--------
>>> from diffpy.sgpredict.refine.usercifs import library_starts
>>> library_starts(225, {"Ni": 1}, "no-such-folder")
[]
"""

from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.substitution import element_mapping
from diffpy.sgpredict.structures.cifs import find_cifs, read_structure

__all__ = ["read_cif", "drop_duplicates", "cif_composition", "library_starts"]


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
    return drop_duplicates(stru)


def drop_duplicates(stru, tol=0.01):
    """Remove atoms that sit on another atom of the same element.

    diffpy.structure expands some CIFs with an atom twice (its issue
    86); the copies would double the weight of the site.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0]), Atom("Ni", [0, 0, 1.0])],
    ...               lattice=Lattice(3.5, 3.5, 3.5, 90, 90, 90))
    >>> len(drop_duplicates(s))
    1
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


def cif_composition(structure):
    """Element -> amount (occupancy-weighted) of a structure.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Na", [0, 0, 0]), Atom("Cl", [0.5, 0.5, 0.5])],
    ...               lattice=Lattice(5.6, 5.6, 5.6, 90, 90, 90))
    >>> cif_composition(s)
    {'Na': 1.0, 'Cl': 1.0}
    """
    comp = {}
    for atom in structure:
        el = element_symbol(atom.element)
        comp[el] = comp.get(el, 0.0) + atom.occupancy
    return comp


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
            mapping = element_mapping(formula, comp)
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
