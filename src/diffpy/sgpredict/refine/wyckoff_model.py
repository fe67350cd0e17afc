"""Structure models of the Wyckoff enumeration.

A Wyckoff assignment (elements on Wyckoff positions of a group) becomes
a structure as a function of a few numbers: :class:`SiteModel` (one
symmetry-unique site and its orbit), :class:`CellModel` (the free cell
parameters of a crystal system) and :class:`AssignmentModel` (both
together, as the arrays of the builtin PDF calculator).  Fractional
amounts become mixed sites by
:func:`diffpy.sgpredict.chemistry.mixed_sites`.

Examples
--------
>>> from diffpy.sgpredict.refine.wyckoff_model import site_models
>>> [m.letter for m in site_models(139, [("As", "e")])]
['e']
"""

import itertools
from dataclasses import dataclass

import numpy
from diffpy.structure import Lattice
from diffpy.structure.spacegroups import GetSpaceGroup

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.wyckoff import wyckoff_positions

__all__ = [
    "PROBE",
    "SiteModel",
    "site_models",
    "CellModel",
    "cell_base",
    "pair_distances",
    "shortest_distance",
    "AssignmentModel",
    "floating_origin",
    "origin_parameters",
]

#: Generic free coordinates that put a site at a general point of its
#: Wyckoff position (to count its orbit).
PROBE = numpy.array([0.1234, 0.2345, 0.3456])

#: Axis ratios b/a and c/a tried for orthorhombic and monoclinic cells
#: (each pair; the quick fit reaches +-30 % around them): anatase-like
#: TiO2 and MnF2 in Pbca have 0.5 and 0.59, Ti3O5 in Cmcm 2.5 and 2.6.
AXIS_RATIOS = (0.5, 0.7, 1.0, 1.4, 2.0, 2.8)

#: Ratios c/a tried for tetragonal, hexagonal and trigonal cells: steps
#: of 12 % from needle-like cells (hollandite MnO2, c/a 0.29) to
#: layered ones (3R-MoS2, c/a 5.8), the most common ratios first.
C_OVER_A = numpy.geomspace(0.28, 8.0, 30)


@dataclass
class SiteModel:
    """One symmetry-unique site: a Wyckoff position and its orbit.

    Attributes
    ----------
    element : str
    letter : str
        Wyckoff letter.
    multiplicity : int
    matrix : numpy.ndarray
        3x4 map from ``(x, y, z, 1)`` to the representative.
    free : list of int
        Which of x, y, z are free parameters.
    ops : list of (R, t)
        Operations of the group that produce the orbit members from the
        representative (one per member).
    """

    element: str
    letter: str
    multiplicity: int
    matrix: numpy.ndarray
    free: list
    ops: list

    def orbit(self, params):
        """Fractional coordinates of the orbit for free parameters."""
        xyz = numpy.zeros(3)
        xyz[self.free] = params
        rep = self.matrix[:, :3] @ xyz + self.matrix[:, 3]
        rot = numpy.array([r for r, _ in self.ops])
        tra = numpy.array([t for _, t in self.ops])
        return (numpy.einsum("kij,j->ki", rot, rep) + tra) % 1.0

    def representative(self, params):
        xyz = numpy.zeros(3)
        xyz[self.free] = params
        return (self.matrix[:, :3] @ xyz + self.matrix[:, 3]) % 1.0


def _space_group(number):
    try:
        name = spacegroups.get(number).diffpy_name
    except (KeyError, ValueError, InputError):
        name = int(number)
    return GetSpaceGroup(name)


def site_models(number, sites):
    """Return :class:`SiteModel` objects for ``(element, letter)`` pairs.

    Parameters
    ----------
    number : int
        Space-group number.
    sites : list of (str, str)
        Element and Wyckoff letter of each site.

    Examples
    --------
    >>> m = site_models(139, [("As", "e")])[0]
    >>> m.multiplicity, m.free, len(m.orbit([0.36]))
    (4, [2], 4)
    """
    sg = _space_group(number)
    ops = [
        (numpy.asarray(op.R, float), numpy.asarray(op.t, float))
        for op in sg.iter_symops()
    ]
    rows = {w[1]: w for w in wyckoff_positions(number)}
    out = []
    for element, letter in sites:
        mult, _, dof, mat = rows[letter]
        mat = numpy.asarray(mat, dtype=float)
        free = [i for i in range(3) if numpy.abs(mat[:, i]).sum() > 0]
        rep = mat[:, :3] @ PROBE + mat[:, 3]
        members, used = [], []
        for rot, tra in ops:
            x = (rot @ rep + tra) % 1.0
            if not any(_same(x, y) for y in members):
                members.append(x)
                used.append((rot, tra))
        if len(used) != mult:
            raise InputError(
                f"space group {number}: Wyckoff {mult}{letter} expands to "
                f"{len(used)} atoms"
            )
        out.append(SiteModel(element, letter, mult, mat, free, used))
    return out


def floating_origin(number):
    """Directions along which the origin of a space group is free.

    In a polar group every rotation leaves some direction unchanged
    (the c axis of P6_3mc, the b axis of P2_1), so shifting all atoms
    along it gives the same crystal: one coordinate along it is
    arbitrary.

    Returns
    -------
    numpy.ndarray
        Orthonormal rows (fractional-axis basis) spanning the directions
        ``v`` with ``R v = v`` for every rotation ``R`` of the group;
        shape ``(0, 3)`` for groups with a fixed origin.

    Examples
    --------
    >>> floating_origin(186).round(6).tolist()       # P6_3mc: along c
    [[0.0, 0.0, 1.0]]
    >>> floating_origin(225).shape
    (0, 3)
    """
    sg = _space_group(number)
    stack = numpy.vstack(
        [numpy.asarray(op.R, float) - numpy.eye(3) for op in sg.iter_symops()]
    )
    _, sing, vt = numpy.linalg.svd(stack)
    rank = int((sing > 1e-8).sum())
    basis = vt[rank:]
    # sign convention: the largest component of each row is positive
    signs = numpy.sign(basis[numpy.arange(len(basis)), abs(basis).argmax(1)])
    return basis * signs[:, None]


def origin_parameters(sites, basis):
    """Indices (into the free coordinates of ``sites``, in order) that a
    floating origin makes arbitrary: the first free coordinates that move
    their site along ``basis`` (:func:`floating_origin`), one per
    independent direction.

    Examples
    --------
    >>> sites = site_models(186, [("Cd", "b"), ("Se", "b")])
    >>> origin_parameters(sites, floating_origin(186))
    [0]
    """
    fixed, dirs, i = [], [], 0
    for site in sites:
        for axis in site.free:
            d = site.matrix[:, axis]
            inside = len(basis) and numpy.allclose(
                basis.T @ (basis @ d), d, atol=1e-8
            )
            if inside and len(dirs) < len(basis):
                trial = numpy.array(dirs + [d])
                if numpy.linalg.matrix_rank(trial) == len(trial):
                    fixed.append(i)
                    dirs.append(d)
            i += 1
    return fixed


def _same(x, y, tol=1e-6):
    d = (x - y) % 1.0
    return bool(numpy.all(numpy.minimum(d, 1.0 - d) < tol))


class CellModel:
    """Free lattice parameters of a crystal system.

    Examples
    --------
    >>> CellModel(139).expand([3.9, 12.3])
    [3.9, 3.9, 12.3, 90.0, 90.0, 90.0]
    """

    def __init__(self, number):
        self.system = spacegroups.get(number).crystal_system
        self.names = {
            "cubic": ["a"],
            "tetragonal": ["a", "c"],
            "hexagonal": ["a", "c"],
            "trigonal": ["a", "c"],
            "orthorhombic": ["a", "b", "c"],
            "monoclinic": ["a", "b", "c", "beta"],
            "triclinic": ["a", "b", "c", "alpha", "beta", "gamma"],
        }[self.system]

    def expand(self, p):
        p = [float(v) for v in p]
        s = self.system
        if s == "cubic":
            return [p[0]] * 3 + [90.0] * 3
        if s == "tetragonal":
            return [p[0], p[0], p[1], 90.0, 90.0, 90.0]
        if s in ("hexagonal", "trigonal"):
            return [p[0], p[0], p[1], 90.0, 90.0, 120.0]
        if s == "orthorhombic":
            return p[:3] + [90.0] * 3
        if s == "monoclinic":
            return p[:3] + [90.0, p[3], 90.0]
        return p[:6]

    def scaled(self, p, factor):
        """Free cell parameters with the lengths multiplied by
        ``factor`` (angles kept).

        Examples
        --------
        >>> CellModel(12).scaled([1.0, 0.7, 1.4, 100.0], 2.0)
        [2.0, 1.4, 2.8, 100.0]
        """
        return [
            float(v) * factor if name in "abc" else float(v)
            for v, name in zip(p, self.names)
        ]

    def shape_of(self, cellpars):
        """The free parameters of a full cell (a, b, c, alpha, beta,
        gamma) with the lengths divided by a: its shape, as
        :meth:`shapes` gives them.

        Examples
        --------
        >>> CellModel(12).shape_of([10.0, 6.0, 5.0, 90, 100.0, 90])
        [1.0, 0.6, 0.5, 100.0]
        """
        full = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), cellpars))
        return [
            float(full[n]) / float(full["a"]) if n in "abc" else float(full[n])
            for n in self.names
        ]

    def shapes(self, rng, count=6):
        """Relative cell shapes to try (a = 1).

        Tetragonal, hexagonal and trigonal cells try 20 ratios c/a from
        0.55 to 5 in steps of 12 %: the quick fit moves c/a by a few per
        cent only, so a coarser grid misses cells between its points
        (measured: LiTiO2, c/a 2.13, and Li2O, c/a 2.20, were found with
        this grid, quick Rw 0.05 and 0.03, not with the former five
        and four ratios, 0.72 and 0.63).
        """
        s = self.system
        if s == "cubic":
            return [[1.0]]
        if s in ("tetragonal", "hexagonal", "trigonal"):
            ratios = sorted(C_OVER_A, key=lambda q: abs(numpy.log(q / 1.4)))
            return [[1.0, float(q)] for q in ratios]
        pairs = sorted(
            itertools.product(AXIS_RATIOS, AXIS_RATIOS),
            key=lambda bc: abs(numpy.log(bc)).sum(),
        )
        if s == "orthorhombic":
            return [[1.0, b, c] for b, c in pairs]
        if s == "monoclinic":
            return [[1.0, b, c, 100.0] for b, c in pairs]
        out = [[1.0, 1.0, 1.0, 90.0, 90.0, 90.0]]
        for _ in range(count - 1):
            out.append(
                [1.0, *rng.uniform(0.7, 1.4, 2), *rng.uniform(75, 105, 3)]
            )
        return out


def cell_base(cellpars):
    """Cartesian base vectors (rows) of a cell (a, b, c, alpha, beta, gamma).

    Examples
    --------
    >>> cell_base([2.0, 2.0, 2.0, 90, 90, 90]).round(6).tolist()[0]
    [2.0, 0.0, 0.0]
    """
    return numpy.array(Lattice(*cellpars).base, dtype=float)


_IMAGES = numpy.array(
    [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)],
    dtype=float,
)


def pair_distances(base, frac, rmax, reach=1):
    """Sorted distances between atoms up to rmax (each pair once).

    Only lattice translations of up to ``reach`` cells along each axis
    are searched: enough for the shortest distances of a cell that is
    not strongly skewed.
    """
    cart = (frac % 1.0) @ base
    if reach == 1:
        images = _IMAGES @ base
    else:
        grid = numpy.arange(-reach, reach + 1)
        shifts = numpy.array(numpy.meshgrid(grid, grid, grid))
        images = shifts.reshape(3, -1).T @ base
    diff = cart[:, None, :] - cart[None, :, :]
    iu = numpy.triu_indices(len(cart))
    diff = diff[iu]
    d = diff[:, None, :] + images[None, :, :]
    dist = numpy.sqrt(numpy.einsum("ijk,ijk->ij", d, d)).ravel()
    return numpy.sort(dist[(dist > 1e-6) & (dist < rmax)])


def shortest_distance(base, frac):
    """Shortest distance (A) between two atoms of a cell, counting
    atoms on the same spot (distance 0) and an atom's own images.

    Only translations of up to one cell along each axis are searched
    (:func:`pair_distances`).

    Examples
    --------
    >>> base = cell_base([3.0, 3.0, 3.0, 90, 90, 90])
    >>> shortest_distance(base, [[0, 0, 0], [0.5, 0, 0]])
    1.5
    >>> shortest_distance(base, [[0, 0, 0], [0, 0, 0]])
    0.0
    """
    frac = numpy.asarray(frac, dtype=float).reshape(-1, 3)
    cart = (frac % 1.0) @ base
    images = _IMAGES @ base
    lengths = numpy.sqrt((images**2).sum(axis=1))
    best = float(lengths[lengths > 1e-9].min())
    if len(cart) > 1:
        i, j = numpy.triu_indices(len(cart), k=1)
        d = (cart[i] - cart[j])[:, None, :] + images[None, :, :]
        best = min(best, float(numpy.sqrt((d * d).sum(axis=2)).min()))
    return round(best, 6)


class AssignmentModel:
    """Structure of one Wyckoff assignment as a function of parameters.

    The parameter vector is the free cell parameters of the crystal
    system (:class:`CellModel`) followed by the free coordinates of the
    sites, in site order.

    Parameters
    ----------
    number : int
        Space-group number.
    sites : list of SiteModel
    weights : dict
        Element -> scattering weight.
    """

    def __init__(self, number, sites, weights):
        self.number = number
        self.sites = sites
        self.cell = CellModel(number)
        self.ncell = len(self.cell.names)
        self.nxyz = sum(len(s.free) for s in sites)
        #: free coordinates made arbitrary by a floating (polar) origin
        self.origin_params = origin_parameters(sites, floating_origin(number))
        self.weight = numpy.concatenate(
            [numpy.full(s.multiplicity, weights[s.element]) for s in sites]
        )
        self.natoms = len(self.weight)
        #: the orbit of every atom: a site's atoms are equivalent by the
        #: group's operations, so the calculator need not search for them
        self.orbit = numpy.concatenate(
            [numpy.full(s.multiplicity, k) for k, s in enumerate(sites)]
        )

    def split(self, p):
        cell = p[: self.ncell]
        xyz = p[self.ncell : self.ncell + self.nxyz]
        return cell, xyz

    def frac(self, xyz):
        out, i = [], 0
        for s in self.sites:
            k = len(s.free)
            out.append(s.orbit(xyz[i : i + k]))
            i += k
        return numpy.vstack(out)

    def arrays(self, cell, xyz, uiso):
        n = self.natoms
        return {
            "base": cell_base(self.cell.expand(cell)),
            "frac": self.frac(xyz),
            "occ": numpy.ones(n),
            "weight": self.weight,
            "uiso": numpy.full(n, float(uiso)),
            "ucart": None,
            "labels": [],
            "orbit": self.orbit,
        }

    def asymmetric_unit(self, xyz):
        out, i = [], 0
        for s in self.sites:
            k = len(s.free)
            rep = s.representative(xyz[i : i + k])
            out.append((s.element, *[float(v) for v in rep]))
            i += k
        return out
