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

import math
import re
from dataclasses import dataclass, field

import numpy

__all__ = [
    "Crystal",
    "ELEMENTS",
    "neutral_element",
    "reduced_formula",
    "spglib_group",
    "CONTRAST",
    "contrast_classes",
    "apparent_group",
    "min_distance",
]

#: Elements with x-ray form factors (Waasmaier-Kirfel: H to Cf).
ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe "
    "Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In "
    "Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf "
    "Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm "
    "Bk Cf"
).split()
_Z = {s: i + 1 for i, s in enumerate(ELEMENTS)}
_ALIASES = {"D": "H", "T": "H"}
_LABEL = re.compile(r"^\s*([A-Za-z]{1,2})")


def neutral_element(label):
    """Return the neutral element symbol of a CIF atom type or label.

    Oxidation states, charges and site numbers are stripped; deuterium
    and tritium become H.  Unknown symbols give ``None``.

    Examples
    --------
    >>> neutral_element("Ti2+"), neutral_element("O2-"), neutral_element("Xx")
    ('Ti', 'O', None)
    """
    m = _LABEL.match(str(label))
    if not m:
        return None
    s = m.group(1)
    for cand in (s[:1].upper() + s[1:].lower(), s[:1].upper()):
        cand = _ALIASES.get(cand, cand)
        if cand in _Z:
            return cand
    return None


def atomic_number(symbol):
    """Atomic number of a neutral element symbol."""
    return _Z[symbol]


def reduced_formula(species):
    """Return the reduced formula of a list of element symbols.

    pymatgen's convention (elements by electronegativity, as in the
    shared ``structures.csv`` and ICSD tables) is used when pymatgen is
    installed; otherwise Hill order.

    Examples
    --------
    >>> reduced_formula(["O", "Ti", "O", "O", "Ti", "O"])
    'TiO2'
    """
    import warnings
    from collections import Counter

    counts = Counter(species)
    try:
        from pymatgen.core import Composition

        with warnings.catch_warnings():
            # noble gases have no Pauling electronegativity: pymatgen
            # warns and orders them last, which is what we want
            warnings.simplefilter("ignore", UserWarning)
            return Composition(dict(counts)).reduced_formula
    except ImportError:  # pragma: no cover - pymatgen ships with pyxtal
        g = 0
        for v in counts.values():
            g = math.gcd(g, int(v))
        keys = sorted(counts)
        if "C" in counts:
            keys = (
                ["C"]
                + (["H"] if "H" in counts else [])
                + sorted(k for k in counts if k not in ("C", "H"))
            )
        return "".join(
            k + (str(counts[k] // g) if counts[k] // g > 1 else "")
            for k in keys
        )


def _dataset(cell, symprec):
    """spglib's symmetry dataset, or None (its warnings silenced)."""
    import warnings

    import spglib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return spglib.get_symmetry_dataset(cell, symprec=symprec)
        except Exception:
            return None


def spglib_group(lattice, frac, species, symprec=0.01):
    """Return the space-group number spglib finds, or 0 when it fails.

    Examples
    --------
    >>> spglib_group(numpy.eye(3) * 3.0, [[0, 0, 0]], ["Po"])
    221
    """
    cell = (
        numpy.asarray(lattice, dtype=float),
        numpy.asarray(frac, dtype=float),
        [_Z[s] for s in species],
    )
    ds = _dataset(cell, symprec)
    if ds is None:
        return 0
    return int(ds.number if hasattr(ds, "number") else ds["number"])


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
    rep = prev = None
    for el in sorted(set(species), key=lambda e: _Z[e]):
        if prev is None or _Z[el] - _Z[prev] >= contrast * _Z[el]:
            rep = el
        out[el] = rep
        prev = el
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
        """Space-group number found by spglib (0 when it fails)."""
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

    def to_diffpy(self, uiso=0.008):
        """Return a ``diffpy.structure.Structure`` of this crystal.

        Examples
        --------
        >>> c = Crystal(numpy.eye(3) * 4.0, [[0, 0, 0]], ["Cu"])
        >>> len(c.to_diffpy())
        1
        """
        from diffpy.structure import Atom, Lattice, Structure

        lat = Lattice(base=self.lattice)
        atoms = [
            Atom(
                s,
                xyz=x,
                occupancy=float(o),
                Uisoequiv=uiso,
                lattice=lat,
            )
            for s, x, o in zip(self.species, self.frac, self.occupancy)
        ]
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

        Element labels are made neutral; unknown ones raise ValueError.
        """
        species = []
        for a in stru:
            el = neutral_element(a.element)
            if el is None:
                raise ValueError(f"unknown element {a.element!r}")
            species.append(el)
        return cls(
            numpy.array(stru.lattice.base, dtype=float),
            numpy.array(stru.xyz, dtype=float),
            species,
            numpy.array([a.occupancy for a in stru], dtype=float),
            dict(meta or {}),
        )
