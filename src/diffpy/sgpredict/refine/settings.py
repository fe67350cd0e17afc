"""Crystal settings: put a structure into diffpy's setting of its group.

:func:`diffpy.srfit.structure.constrainAsSpaceGroup` finds the free
coordinates of each site from the symmetry operations of
:func:`diffpy.structure.spacegroups.GetSpaceGroup`.  A structure handed
to it must therefore be written in that same setting (origin choice,
hexagonal axes for rhombohedral groups).  This module finds, for each
space group, the Hall setting of spglib whose operations are those of
diffpy.structure and standardises structures into it.

Examples
--------
>>> from diffpy.sgpredict.refine.settings import hall_number
>>> hall_number(225)
523
"""

import functools

import numpy
import spglib
from diffpy.structure import Atom, Lattice, Structure
from diffpy.structure.spacegroups import GetSpaceGroup
from diffpy.structure.symmetryutilities import ExpandAsymmetricUnit

from diffpy.sgpredict import spacegroups, structures
from diffpy.sgpredict.chemistry import atomic_number as _atomic_number
from diffpy.sgpredict.errors import InputError

__all__ = [
    "ELEMENTS",
    "atomic_number",
    "hall_number",
    "spglib_group",
    "standardize",
    "asymmetric_unit",
    "orbits",
    "structure_from_cell",
    "cell_from_structure",
]

#: Element symbols in order of atomic number (index 0 is a placeholder).
ELEMENTS = (
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe "
    "Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn "
    "Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W "
    "Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf "
    "Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og"
).split()


def atomic_number(symbol):
    """Return the atomic number of an element symbol or atom type.

    :func:`diffpy.sgpredict.chemistry.atomic_number`'s rules; kept here
    for scripts/build_structure_types.py.

    Examples
    --------
    >>> atomic_number("Ni")
    28
    """
    return _atomic_number(symbol)


def _key(rot, trans):
    t = numpy.round(numpy.mod(numpy.asarray(trans, float), 1.0), 4) % 1.0
    return (tuple(int(v) for v in numpy.ravel(rot)), tuple(t.tolist()))


@functools.lru_cache(maxsize=None)
def hall_number(number):
    """Return spglib's Hall number for diffpy's setting of a group.

    Parameters
    ----------
    number : int
        Space-group number (one of the 45 groups or any group that
        :func:`diffpy.structure.spacegroups.GetSpaceGroup` knows).

    Returns
    -------
    int
        Hall number whose operations equal those of diffpy.structure.

    Examples
    --------
    >>> hall_number(227) in (525, 526)
    True
    """
    try:
        name = spacegroups.get(number).diffpy_name
    except KeyError:  # not one of the 45: diffpy knows it by number
        name = number
    sg = GetSpaceGroup(name)
    ref = {_key(op.R, op.t) for op in sg.iter_symops()}
    for hall in range(1, 531):
        if spglib.get_spacegroup_type(hall).number != number:
            continue
        ops = spglib.get_symmetry_from_database(hall)
        keys = {
            _key(r, t) for r, t in zip(ops["rotations"], ops["translations"])
        }
        if keys == ref:
            return hall
    raise InputError(f"space group {number}: no spglib setting matches")


def cell_from_structure(structure):
    """Return an spglib cell ``(lattice, positions, numbers)``.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice(3, 3, 3,
    ...     90, 90, 90))
    >>> cell_from_structure(s)[2]
    [28]
    """
    lattice = numpy.array(structure.lattice.base, dtype=float)
    positions = numpy.array([a.xyz for a in structure], dtype=float)
    numbers = [atomic_number(a.element) for a in structure]
    return lattice, positions, numbers


def spglib_group(structure, symprec=0.01):
    """Return the space-group number spglib finds for a structure.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Po", [0, 0, 0])], lattice=Lattice(3, 3, 3,
    ...     90, 90, 90))
    >>> spglib_group(s)
    221
    """

    found = structures.spglib_group(*cell_from_structure(structure), symprec)
    return found if found != structures.NO_GROUP else None


def structure_from_cell(lattice, positions, numbers, uiso=0.005):
    """Build a diffpy Structure from a lattice matrix and positions.

    Examples
    --------
    >>> s = structure_from_cell(numpy.eye(3) * 3.5, [[0, 0, 0]], [28])
    >>> s[0].element, round(s.lattice.a, 3)
    ('Ni', 3.5)
    """

    lattice = numpy.asarray(lattice, dtype=float)
    lengths = numpy.sqrt((lattice**2).sum(axis=1))
    a, b, c = lattice

    def angle(u, v):
        cosang = numpy.dot(u, v) / numpy.linalg.norm(u) / numpy.linalg.norm(v)
        return float(numpy.degrees(numpy.arccos(numpy.clip(cosang, -1, 1))))

    angles = [angle(b, c), angle(a, c), angle(a, b)]
    # exact special angles: srfit tests ``gamma == 120`` for trigonal cells
    angles = [
        next((v for v in (60.0, 90.0, 120.0) if abs(x - v) < 1e-4), x)
        for x in angles
    ]
    lengths = lengths.tolist()
    for i in range(3):
        for j in range(i):
            if abs(lengths[i] - lengths[j]) < 1e-6:
                lengths[i] = lengths[j]
    lat = Lattice(*lengths, *angles)
    atoms = []
    for xyz, z in zip(numpy.asarray(positions, float), numbers):
        elem = ELEMENTS[int(z)] if not isinstance(z, str) else z
        atom = Atom(elem, numpy.mod(xyz, 1.0) % 1.0)
        atom.Uisoequiv = uiso
        atoms.append(atom)
    stru = Structure(atoms, lattice=lat)
    for i, atom in enumerate(stru):
        atom.label = f"{atom.element}{i + 1}"
    return stru


def standardize(structure, number, symprec=0.01, uiso=0.005):
    """Return a structure in diffpy's standard setting of a group.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        Any cell of the crystal (all atoms, P1 expanded).
    number : int
        Space-group number the structure must have.
    symprec : float
        spglib tolerance in A.
    uiso : float
        Isotropic ADP given to every atom.

    Returns
    -------
    diffpy.structure.Structure
        The conventional cell in the setting of
        ``GetSpaceGroup(spacegroups.get(number).diffpy_name)``.

    Raises
    ------
    InputError
        If spglib finds another group.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Cu", [0, 0, 0])], lattice=Lattice(2.55, 2.55,
    ...     2.55, 60, 60, 60))
    >>> len(standardize(s, 225))
    4
    """

    cell = cell_from_structure(structure)
    # the plain search is fast; a forced Hall setting can take seconds
    plain = structures.symmetry_dataset(*cell, symprec)
    found = None if plain is None else int(plain.number)
    if found != int(number):
        raise InputError(f"structure is in space group {found}, not {number}")
    data = structures.symmetry_dataset(
        *cell, symprec, hall_number=hall_number(number)
    )
    if data is None or int(data.number) != int(number):
        raise InputError(
            f"structure in space group {number} could not be put in "
            "diffpy's setting of that group"
        )
    return structure_from_cell(
        data.std_lattice, data.std_positions, data.std_types, uiso=uiso
    )


def asymmetric_unit(structure, number, symprec=0.01):
    """Return one ``(element, x, y, z)`` per orbit of a standard cell.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Cu", [0, 0, 0])], lattice=Lattice(2.55, 2.55,
    ...     2.55, 60, 60, 60))
    >>> asymmetric_unit(standardize(s, 225), 225)
    [('Cu', 0.0, 0.0, 0.0)]
    """
    return [site for site, _ in orbits(structure, number, symprec)]


def orbits(structure, number, symprec=0.01):
    """Return ``((element, x, y, z), multiplicity)`` per orbit.

    The orbits of a standard cell (:func:`standardize`): the first atom
    of each and the number of its atoms in the cell.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Na", [0, 0, 0]), Atom("Cl", [.5, .5, .5])],
    ...     lattice=Lattice(3.99, 3.99, 3.99, 60, 60, 60))
    >>> [(site[0], m) for site, m in orbits(standardize(s, 225), 225)]
    [('Na', 4), ('Cl', 4)]
    """

    cell = cell_from_structure(structure)
    data = structures.symmetry_dataset(
        *cell, symprec, hall_number=hall_number(number)
    )
    if data is None:
        raise InputError(f"spglib finds no symmetry in space group {number}")
    first, count = {}, {}
    for i, orbit in enumerate(data.equivalent_atoms):
        first.setdefault(int(orbit), i)
        count[int(orbit)] = count.get(int(orbit), 0) + 1
    out = []
    for orbit, i in first.items():
        x, y, z = (round(float(v), 6) for v in structure[i].xyz)
        out.append(((ELEMENTS[cell[2][i]], x, y, z), count[orbit]))
    return out


def expand(lattice_params, sites, number, uiso=0.005):
    """Expand an asymmetric unit with diffpy's operations of a group.

    Parameters
    ----------
    lattice_params : sequence of 6 float
        a, b, c, alpha, beta, gamma.
    sites : list of (element, x, y, z)
        Asymmetric unit in diffpy's setting.
    number : int
        Space-group number.
    uiso : float
        Isotropic ADP of every atom.

    Returns
    -------
    diffpy.structure.Structure

    Examples
    --------
    >>> s = expand([3.52, 3.52, 3.52, 90, 90, 90], [("Ni", 0, 0, 0)], 225)
    >>> len(s)
    4
    """
    sg = GetSpaceGroup(spacegroups.get(number).diffpy_name)
    positions = [numpy.array(s[1:4], dtype=float) for s in sites]
    eau = ExpandAsymmetricUnit(sg, positions)
    atoms = []
    for site, block in zip(sites, eau.expandedpos):
        for xyz in block:
            atom = Atom(site[0], numpy.mod(xyz, 1.0) % 1.0)
            atom.Uisoequiv = uiso
            atoms.append(atom)
    stru = Structure(atoms, lattice=Lattice(*lattice_params))
    for i, atom in enumerate(stru):
        atom.label = f"{atom.element}{i + 1}"
    return stru
