"""Structures in: CIF folders, prototype libraries and generated crystals.

Every route ends in a :class:`Crystal`: a cell, fractional coordinates
and neutral element symbols, labelled with the space group spglib finds.
The PDF calculator receives it as a ``diffpy.structure.Structure``
(:meth:`Crystal.to_diffpy`).

Examples
--------
>>> import numpy
>>> c = Crystal(numpy.eye(3) * 4.0, [[0, 0, 0], [0.5, 0.5, 0.5]], ["Cs", "Cl"])
>>> c.label()
221
>>> c.reduced_formula
'CsCl'
"""

import logging
import warnings
from dataclasses import dataclass, field

import numpy
import spglib
from diffpy.structure import Atom, Lattice, Structure

from diffpy.sgpredict.chemistry import (  # noqa: F401 (re-exported)
    ELEMENTS,
    atomic_number,
    element_symbol,
    reduced_formula,
)

__all__ = [
    "Crystal",
    "NO_GROUP",
    "symmetry_dataset",
    "spglib_group",
    "CONTRAST",
    "contrast_classes",
    "apparent_group",
    "min_distance",
]

logger = logging.getLogger(__name__)

#: The group number :func:`spglib_group` returns when spglib finds none.
NO_GROUP = 0

#: What spglib raises for a cell it cannot handle (``SpglibError`` from
#: spglib 2.5 when its old error handling is switched off).
_SPGLIB_ERRORS = (RuntimeError, ValueError, TypeError) + tuple(
    e
    for e in (getattr(getattr(spglib, "error", None), "SpglibError", None),)
    if e is not None
)


def _numbers(species):
    """Atomic numbers of element labels (integers are kept)."""
    return [
        int(s) if isinstance(s, (int, numpy.integer)) else atomic_number(s)
        for s in species
    ]


def symmetry_dataset(lattice, frac, species, symprec=0.01, hall_number=0):
    """Return spglib's symmetry dataset of a cell, or None.

    This is the package's one call of ``spglib.get_symmetry_dataset``
    for a crystal.  When spglib finds no symmetry the reason it gives is
    logged (logger ``diffpy.sgpredict.structures``, level DEBUG) and
    None is returned.

    Parameters
    ----------
    lattice : array_like
        3x3, lattice vectors as rows (A).
    frac : array_like
        Fractional coordinates, shape ``(n, 3)``.
    species : sequence of str or int
        Element labels or atomic numbers.
    symprec : float
        spglib tolerance (A).
    hall_number : int
        Ask spglib for this Hall setting of the group (0: its choice).

    Returns
    -------
    spglib.SpglibDataset or None

    Examples
    --------
    >>> ds = symmetry_dataset(numpy.eye(3) * 4.0, [[0, 0, 0]], ["Cu"])
    >>> int(ds.number), list(ds.wyckoffs)
    (221, ['a'])
    """
    cell = (
        numpy.asarray(lattice, dtype=float),
        numpy.asarray(frac, dtype=float),
        _numbers(species),
    )
    with warnings.catch_warnings():
        # spglib 2.5+ warns about its error handling on every call
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            ds = spglib.get_symmetry_dataset(
                cell, symprec=symprec, hall_number=hall_number
            )
        except _SPGLIB_ERRORS as exc:
            logger.debug("spglib failed: %s: %s", type(exc).__name__, exc)
            return None
        if ds is None:
            logger.debug("spglib failed: %s", spglib.get_error_message())
    return ds


def spglib_group(lattice, frac, species, symprec=0.01):
    """Return the space-group number spglib finds, or :data:`NO_GROUP`.

    Parameters
    ----------
    lattice, frac, species, symprec
        See :func:`symmetry_dataset`.

    Returns
    -------
    int
        1-230, or ``NO_GROUP`` (0) when spglib fails.

    Examples
    --------
    >>> spglib_group(numpy.eye(3) * 3.0, [[0, 0, 0]], ["Po"])
    221
    >>> spglib_group(numpy.zeros((3, 3)), [[0, 0, 0]], ["Po"])
    0
    """
    ds = symmetry_dataset(lattice, frac, species, symprec)
    return NO_GROUP if ds is None else int(ds.number)


def min_distance(lattice, frac):
    """Return the shortest interatomic distance in a periodic cell (A).

    Images in the 27 neighbouring cells are searched, which is exact for
    cells that are not extremely skewed.

    Examples
    --------
    >>> round(min_distance(numpy.eye(3) * 4.0, [[0, 0, 0], [.5, .5, .5]]), 4)
    3.4641
    """
    lattice = numpy.asarray(lattice, dtype=float)
    frac = numpy.asarray(frac, dtype=float) % 1.0
    n = len(frac)
    shifts = numpy.array(
        [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]
    )
    best = numpy.inf
    cart_shift = shifts @ lattice
    for i in range(n):
        d = frac - frac[i]
        d -= numpy.round(d)
        cart = d @ lattice
        dist = numpy.linalg.norm(
            cart[:, None, :] + cart_shift[None, :, :], axis=-1
        )
        dist[i, 13] = numpy.inf  # the atom itself
        best = min(best, float(dist.min()))
    if n == 1:
        best = min(
            best, float(numpy.linalg.norm(cart_shift[:13], axis=1).min())
        )
    return best


#: Smallest relative difference of atomic number that X-rays tell apart
#: (see :func:`contrast_classes`).
CONTRAST = 0.12


def contrast_classes(species, contrast=CONTRAST):
    """Map elements that X-rays barely tell apart onto one of them.

    Elements are sorted by atomic number Z; an element joins the class of
    the one before it when their Z differ by less than ``contrast``
    times the larger Z (X-ray form factors scale roughly with Z).

    Parameters
    ----------
    species : sequence of str
        Element symbols.
    contrast : float
        Smallest relative difference of Z that counts as contrast.

    Returns
    -------
    dict
        element -> representative element (the lightest of its class).

    Examples
    --------
    >>> contrast_classes(["Ni", "Co", "Mo"])
    {'Co': 'Co', 'Ni': 'Co', 'Mo': 'Mo'}
    """
    out = {}
    rep = zprev = None
    for el in sorted(set(species), key=atomic_number):
        z = atomic_number(el)
        if zprev is None or z - zprev >= contrast * z:
            rep = el
        out[el] = rep
        zprev = z
    return out


def apparent_group(lattice, frac, species, symprec=0.01, contrast=CONTRAST):
    """Space group of a crystal as an X-ray PDF can see it.

    Elements without scattering contrast (:func:`contrast_classes`) are
    made one before spglib is run, so that an ordered superstructure of
    two near neighbours in the periodic table (Ni4Co in the Ni4Mo type,
    I4/m) shows the group of its parent (Fm-3m).

    Examples
    --------
    >>> a = numpy.eye(3) * 4.0
    >>> frac = [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]
    >>> apparent_group(a, frac, ["Au", "Cu", "Cu", "Cu"])
    221
    >>> apparent_group(a, frac, ["Ni", "Co", "Co", "Co"])
    225
    """
    cls = contrast_classes(species, contrast)
    return spglib_group(lattice, frac, [cls[s] for s in species], symprec)


@dataclass
class Crystal:
    """A periodic crystal: cell, fractional coordinates, elements.

    Parameters
    ----------
    lattice : array_like
        3x3, lattice vectors as rows (A).
    frac : array_like
        Fractional coordinates, shape ``(n, 3)``.
    species : sequence of str
        Neutral element symbols.
    occupancy : array_like, optional
        Site occupancies (default 1).
    meta : dict
        Free-form record (source, prototype key, requested group ...).
    """

    lattice: numpy.ndarray
    frac: numpy.ndarray
    species: list
    occupancy: numpy.ndarray = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.lattice = numpy.asarray(self.lattice, dtype=float).reshape(3, 3)
        self.frac = numpy.asarray(self.frac, dtype=float).reshape(-1, 3)
        self.species = [str(s) for s in self.species]
        if self.occupancy is None:
            self.occupancy = numpy.ones(len(self.species))
        self.occupancy = numpy.asarray(self.occupancy, dtype=float)

    @property
    def natoms(self):
        """Number of sites in the cell."""
        return len(self.species)

    @property
    def volume(self):
        """Cell volume (A^3)."""
        return abs(float(numpy.linalg.det(self.lattice)))

    @property
    def reduced_formula(self):
        """Reduced formula (pymatgen convention)."""
        return reduced_formula(self.species)

    def label(self, symprec=0.01):
        """Space-group number found by spglib (``NO_GROUP`` when it fails)."""
        return spglib_group(self.lattice, self.frac, self.species, symprec)

    def min_distance(self):
        """Shortest interatomic distance (A)."""
        return min_distance(self.lattice, self.frac)

    def scaled(self, factor):
        """Return a copy with the lattice scaled by ``factor``."""
        return Crystal(
            self.lattice * factor,
            self.frac.copy(),
            list(self.species),
            self.occupancy.copy(),
            dict(self.meta),
        )

    def to_diffpy(self, uiso=None):
        """Return a ``diffpy.structure.Structure`` of this crystal.

        Parameters
        ----------
        uiso : float, optional
            Isotropic ADP given to every atom (A^2).  None leaves
            diffpy's default (0): a crystal carries no ADPs, and
            :func:`~diffpy.sgpredict.pdfcalc.calculate_pdf` gives every
            atom the ``uiso`` of its settings.

        Examples
        --------
        >>> c = Crystal(numpy.eye(3) * 4.0, [[0, 0, 0]], ["Cu"])
        >>> s = c.to_diffpy(uiso=0.005)
        >>> len(s), float(s[0].Uisoequiv)
        (1, 0.005)
        """
        lat = Lattice(base=self.lattice)
        atoms = [
            Atom(s, xyz=x, occupancy=float(o), lattice=lat)
            for s, x, o in zip(self.species, self.frac, self.occupancy)
        ]
        if uiso is not None:
            for atom in atoms:
                atom.Uisoequiv = float(uiso)
        return Structure(atoms, lattice=lat)

    def to_dict(self):
        """Plain, JSON-friendly representation."""
        return {
            "lattice": numpy.round(self.lattice, 6).tolist(),
            "species": list(self.species),
            "frac": numpy.round(self.frac, 6).tolist(),
        }

    @classmethod
    def from_diffpy(cls, stru, meta=None):
        """Make a crystal from a ``diffpy.structure.Structure``.

        Element labels are made neutral
        (:func:`~diffpy.sgpredict.chemistry.element_symbol`); an unknown
        one raises :class:`~diffpy.sgpredict.errors.InputError` (a
        ValueError).
        """
        species = [element_symbol(a.element) for a in stru]
        return cls(
            numpy.array(stru.lattice.base, dtype=float),
            numpy.array(stru.xyz, dtype=float),
            species,
            numpy.array([a.occupancy for a in stru], dtype=float),
            dict(meta or {}),
        )
