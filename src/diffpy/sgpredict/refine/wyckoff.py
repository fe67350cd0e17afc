"""Starting structures by Wyckoff enumeration.

For a composition and a space group, every assignment of the elements
to Wyckoff positions whose multiplicities add up to the composition
(:func:`diffpy.sgpredict.chemistry.wyckoff_assignments`) is a candidate
structure.  :func:`enumerate_starts` builds each one, fits it quickly to
the measured PDF with the builtin calculator and keeps the best few:

1. *lattice guess*: the first strong peak :math:`r_1` of the data is the
   nearest-neighbour distance; the cell volume starts at
   :math:`V = f\\, N r_1^3` with :math:`f` in 0.9, 1.25, 1.6 (close
   packing has :math:`f = 1/\\sqrt 2`, open covalent frameworks up to
   1.6); tetragonal, hexagonal and trigonal cells try several c/a,
   orthorhombic and lower ones a few axis ratios;
2. *free coordinates*: a few random draws (from a seeded
   :class:`numpy.random.Generator`), drawn again when two atoms come
   closer than :math:`0.6\\, r_1`;
3. *screening*: one PDF per guess, with the best linear scale, ranks the
   guesses by Rw between 1.5 and 10 A;
4. *quick fit*: the best guesses are refined with
   :func:`scipy.optimize.least_squares`: cell, free coordinates, one
   isotropic ADP, with the scale solved linearly at every step.

Equivalent assignments (the same structure under a change of origin,
such as 2a and 2b of I4/mmm) are recognised by their pair-distance lists
and fitted once.

Limits: at most ``max_atoms`` (default 60) atoms in the conventional
cell, ``max_sites`` (8) symmetry-unique sites, Z up to ``zmax`` (8)
formula units, and a budget of CPU time (default 20 s per group; CPU,
not wall-clock, time so that a loaded machine does not cut the search
short) after which the guesses screened so far are used.  Screening
costs about 5-15 ms of CPU per guess for cells of up to 20 atoms.

Examples
--------
>>> from diffpy.sgpredict.refine.wyckoff import site_models
>>> [m.letter for m in site_models(139, [("As", "e")])]
['e']
"""

import itertools
import math
import time
from dataclasses import dataclass

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import (
    parse_composition,
    wyckoff_assignments,
    wyckoff_positions,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.peaks import first_strong_peak

__all__ = [
    "Enumerated",
    "SiteModel",
    "site_models",
    "CellModel",
    "enumerate_starts",
    "mixed_sites",
]

_PROBE = numpy.array([0.1234, 0.2345, 0.3456])
#: Cell scale factors tried around the contact-scaled guess.
_SCALES = (0.92, 0.96, 1.0, 1.04, 1.08)


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
    from diffpy.structure.spacegroups import GetSpaceGroup

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
        rep = mat[:, :3] @ _PROBE + mat[:, 3]
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


def _same(x, y, tol=1e-6):
    d = (x - y) % 1.0
    return bool(numpy.all(numpy.minimum(d, 1.0 - d) < tol))


@dataclass
class Enumerated:
    """A structure found by the enumeration.

    Attributes
    ----------
    number : int
    symbol : str
    structure : diffpy.structure.Structure
        All atoms, diffpy's setting of the group.
    name : str
        ``"wyckoff Sr2a Fe4d As4e Z=2"``.
    notes : list of str
    quick_rw : float
        Rw of the quick fit (1.5-10 A).
    """

    number: int
    symbol: str
    structure: object
    name: str
    notes: list
    quick_rw: float


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

    def shapes(self, rng, count=6):
        """Relative cell shapes to try (a = 1)."""
        s = self.system
        if s == "cubic":
            return [[1.0]]
        if s == "tetragonal":
            return [[1.0, q] for q in (0.65, 1.0, 1.6, 2.4, 3.2)]
        if s in ("hexagonal", "trigonal"):
            return [[1.0, q] for q in (0.8, 1.63, 2.6, 4.9)]
        ratios = (0.7, 1.0, 1.4)
        if s == "orthorhombic":
            return [[1.0, b, c] for b, c in itertools.product(ratios, ratios)]
        if s == "monoclinic":
            out = [
                [1.0, b, c, 100.0]
                for b, c in itertools.product(ratios, ratios)
            ]
            return out
        out = [[1.0, 1.0, 1.0, 90.0, 90.0, 90.0]]
        for _ in range(count - 1):
            out.append(
                [1.0, *rng.uniform(0.7, 1.4, 2), *rng.uniform(75, 105, 3)]
            )
        return out


def _base(cellpars):
    from diffpy.structure import Lattice

    return numpy.array(Lattice(*cellpars).base, dtype=float)


_IMAGES = numpy.array(
    [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)],
    dtype=float,
)


def _pair_distances(base, frac, rmax, reach=1):
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


def mixed_sites(composition):
    """Group elements of fractional amount into mixed sites.

    Consecutive elements (in the order of the formula) whose amounts add
    up to a whole number share a site; the site is occupied by its
    majority element in the enumeration.

    Returns
    -------
    counts : dict
        Site species (majority element) to amount.
    notes : list of str

    Examples
    --------
    >>> mixed_sites(parse_composition("Ba0.7K0.3(Zn0.85Mn0.15)2As2"))
    ({'Ba': 1.0, 'Zn': 2.0, 'As': 2.0}, ['Ba0.7K0.3 on one site as Ba', \
'Zn1.7Mn0.3 on one site as Zn'])
    """
    counts, notes, pool = {}, [], []
    for el, amount in composition.items():
        if abs(amount - round(amount)) < 1e-6 and not pool:
            counts[el] = counts.get(el, 0.0) + float(round(amount))
            continue
        pool.append((el, amount))
        total = sum(a for _, a in pool)
        if abs(total - round(total)) < 1e-6:
            major = max(pool, key=lambda p: p[1])[0]
            counts[major] = counts.get(major, 0.0) + float(round(total))
            label = "".join(f"{e}{a:g}" for e, a in pool)
            notes.append(f"{label} on one site as {major}")
            pool = []
    if pool:
        raise InputError(
            "composition "
            + "".join(f"{e}{a:g}" for e, a in composition.items())
            + ": fractional amounts that add up to no whole site"
        )
    return counts, notes


class _Model:
    """Structure of one assignment as a function of a parameter vector."""

    def __init__(self, number, sites, weights):
        self.number = number
        self.sites = sites
        self.cell = CellModel(number)
        self.ncell = len(self.cell.names)
        self.nxyz = sum(len(s.free) for s in sites)
        self.weight = numpy.concatenate(
            [numpy.full(s.multiplicity, weights[s.element]) for s in sites]
        )
        self.natoms = len(self.weight)

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
            "base": _base(self.cell.expand(cell)),
            "frac": self.frac(xyz),
            "occ": numpy.ones(n),
            "weight": self.weight,
            "uiso": numpy.full(n, float(uiso)),
            "ucart": None,
            "labels": [],
        }

    def asymmetric_unit(self, xyz):
        out, i = [], 0
        for s in self.sites:
            k = len(s.free)
            rep = s.representative(xyz[i : i + k])
            out.append((s.element, *[float(v) for v in rep]))
            i += k
        return out


class _Target:
    """The measured PDF on the screening grid."""

    def __init__(self, fitdata, rmin=1.5, rmax=10.0, rstep=0.04, smooth=0.0):
        self.rstep = rstep
        self.smooth = smooth
        self.rmin = max(rmin, float(fitdata.r[0]))
        self.rmax = min(rmax, float(fitdata.r[-1]))
        self.qmax = fitdata.qmax
        self.qmin = fitdata.qmin
        self.qdamp = fitdata.qdamp
        k0 = int(math.ceil(self.rmin / rstep))
        k1 = int(math.floor(self.rmax / rstep))
        self.r = numpy.arange(k0, k1 + 1) * rstep
        self.g = numpy.interp(self.r, fitdata.r, fitdata.g)
        if smooth:
            from scipy.ndimage import gaussian_filter1d

            self.g = gaussian_filter1d(self.g, smooth / rstep)
        self.norm = float(numpy.dot(self.g, self.g)) or 1.0

    def calc(self, arrays):
        from diffpy.sgpredict.pdfcalc import builtin

        r, g = builtin.pdf_from_arrays(
            arrays,
            rmin=self.r[0],
            rmax=self.r[-1] + self.rstep / 2,
            rstep=self.rstep,
            qmin=self.qmin,
            qmax=self.qmax,
            qdamp=self.qdamp,
            qbroad=0.0,
        )
        return numpy.interp(self.r, r, g)

    def residual(self, gcalc):
        den = float(numpy.dot(gcalc, gcalc))
        s = max(float(numpy.dot(gcalc, self.g)) / den, 0.0) if den else 0.0
        return self.g - s * gcalc

    def rw(self, gcalc):
        res = self.residual(gcalc)
        return math.sqrt(float(numpy.dot(res, res)) / self.norm)


def _clock():
    """CPU seconds of this process: the budget does not shrink when
    other programs share the cores."""
    return time.process_time()


def _first_peak(fitdata):
    # the nearest-neighbour peak can be weaker than 30 % of the tallest
    # (SrFe2As2: Fe-As at 2.39 A against the As-As/Sr-As peaks near 6.5)
    return first_strong_peak(fitdata.r, fitdata.g, fraction=0.15) or 2.5


def _coordinate_grid(model, rng, draws):
    """Free coordinates to try: a grid for one or two, else draws."""
    n = model.nxyz
    if n == 0:
        return [numpy.zeros(0)]
    if n == 1:
        return [numpy.array([v]) for v in numpy.arange(0.025, 0.5, 0.05)]
    if n == 2:
        g = numpy.arange(0.05, 1.0, 0.1)
        return [numpy.array(v) for v in itertools.product(g, g)]
    return [rng.uniform(0.0, 1.0, n) for _ in range(max(8, 4 * draws))]


def _cell_for_contact(model, shape, xyz, r1):
    """Scale a cell shape so that the shortest distance is ``r1``.

    Returns None when the volume per atom would leave 0.5 to 3 r1^3,
    the range of real structures, from close packing to open frameworks.
    """
    base = _base(model.cell.expand(shape))
    dist = _pair_distances(base, model.frac(xyz), 1.5)
    if not len(dist) or dist[0] < 1e-3:
        return None
    f = r1 / dist[0]
    vol = abs(float(numpy.linalg.det(base))) * f**3 / model.natoms
    if not 0.5 * r1**3 <= vol <= 3.0 * r1**3:
        return None
    return [
        v * f if name in "abc" else v
        for v, name in zip(shape, model.cell.names)
    ]


def _quick_fit(
    model, target, cell, xyz, uiso, deadline, max_nfev=200, cell_only=False
):
    from scipy.optimize import least_squares

    p0 = numpy.concatenate([cell, xyz, [uiso]])
    lo, hi = [], []
    for name, v in zip(model.cell.names, cell):
        if name in "abc":
            lo.append(0.7 * v)
            hi.append(1.3 * v)
        else:
            lo.append(max(v - 30.0, 30.0))
            hi.append(min(v + 30.0, 150.0))
    lo += [-1.0] * model.nxyz + [0.0005]
    hi += [2.0] * model.nxyz + [0.05]
    lo, hi = numpy.array(lo), numpy.array(hi)
    free = numpy.ones(len(p0), dtype=bool)
    if cell_only:
        free[model.ncell :] = False

    class _Stop(Exception):
        pass

    best = {"rw": float("inf"), "p": p0}
    calls = [0]

    def fun(q):
        calls[0] += 1
        if calls[0] > 1 and _clock() > deadline:
            raise _Stop()
        p = p0.copy()
        p[free] = q
        c, x = model.split(p)
        g = target.calc(model.arrays(c, x, p[-1]))
        res = target.residual(g)
        rw = math.sqrt(float(numpy.dot(res, res)) / target.norm)
        if rw < best["rw"]:
            best.update(rw=rw, p=numpy.array(p))
        return res

    try:
        p0 = numpy.clip(p0, lo, hi)
        least_squares(
            fun,
            p0[free],
            bounds=(lo[free], hi[free]),
            x_scale="jac",
            diff_step=1e-4,
            max_nfev=max_nfev,
        )
    except _Stop:
        pass
    return best["rw"], best["p"]


def _fingerprint(model, shape):
    cell = model.cell.expand(shape)
    base = _base(cell)
    frac = model.frac(numpy.resize(_PROBE, model.nxyz))
    n = len(frac)
    kinds = numpy.concatenate(
        [numpy.full(s.multiplicity, i) for i, s in enumerate(model.sites)]
    )
    names = [model.sites[k].element for k in kinds]
    parts = []
    for el in sorted(set(names)):
        sel = numpy.array([e == el for e in names])
        parts.append((el, int(sel.sum())))
    dist = _pair_distances(base, frac, 2.5 * max(cell[:3]), reach=2)
    return (tuple(parts), n, tuple(numpy.round(dist[:60], 5)))


def enumerate_starts(
    number,
    composition,
    fitdata,
    zmax=8,
    max_atoms=60,
    max_sites=8,
    budget=20.0,
    keep=2,
    draws=2,
    rng=None,
    uiso=0.006,
):
    """Return the best Wyckoff-enumerated starting structures.

    Parameters
    ----------
    number : int
        Space-group number.
    composition : str or dict
        Formula; fractional amounts are grouped into mixed sites
        (:func:`mixed_sites`).
    fitdata : FitData
        The measured PDF, from
        :func:`~diffpy.sgpredict.refine.fitdata.prepare_data`.
    zmax, max_atoms, max_sites : int
        Limits of the enumeration (formula units, atoms in the
        conventional cell, symmetry-unique sites).
    budget : float
        Seconds for screening and quick fits together.
    keep : int
        How many structures to return.
    draws : int
        Random draws of the free coordinates per assignment and shape.
    rng : numpy.random.Generator, optional
        Default ``numpy.random.default_rng(0)``.
    uiso : float
        Starting isotropic ADP (A^2).

    Returns
    -------
    list of Enumerated
        Best quick-fit Rw first; the notes give the assignment, Z and
        the quick-fit Rw.

    Examples
    --------
    >>> starts = enumerate_starts(139, "SrFe2As2", data)  # doctest: +SKIP
    >>> starts[0].name                                     # doctest: +SKIP
    'wyckoff Sr2a Fe4d As4e Z=2'
    """
    from diffpy.sgpredict.pdfcalc.scattering import scattering_weight

    t0 = _clock()
    deadline = t0 + float(budget)
    rng = rng if rng is not None else numpy.random.default_rng(0)
    comp = parse_composition(composition, isotopes=True)
    counts, notes = mixed_sites(comp)
    weights = {el: scattering_weight(el, fitdata.scattering) for el in counts}
    target = _Target(fitdata)
    screen = _Target(fitdata, rmax=7.0, rstep=0.05, smooth=0.2)
    screen_uiso = uiso + 0.2**2 / 2
    r1 = _first_peak(fitdata)
    seen = set()
    guesses = []  # (rw, model, cell, xyz, z): best of each assignment
    nassign = 0
    nguess = 0
    for z, assignment in wyckoff_assignments(
        counts,
        number,
        zmax=zmax,
        max_atoms=max_atoms,
        max_sites=max_sites,
        limit=400,
    ):
        if nassign >= 3 and _clock() > t0 + 0.55 * budget:
            break
        model = _Model(
            number,
            site_models(number, [(el, p[1]) for el, p in assignment]),
            weights,
        )
        local = []
        signature = []
        for i, shape in enumerate(model.cell.shapes(rng)):
            for xyz in _coordinate_grid(model, rng, draws):
                cell = _cell_for_contact(model, shape, xyz, r1)
                if cell is None:
                    continue
                best = None
                for f in _SCALES:
                    c = [
                        v * f if name in "abc" else v
                        for v, name in zip(cell, model.cell.names)
                    ]
                    arrays = model.arrays(c, xyz, screen_uiso)
                    rw = screen.rw(screen.calc(arrays))
                    nguess += 1
                    if best is None or rw < best[0]:
                        best = (rw, c)
                local.append((best[0], model, best[1], xyz, z))
                if i == 0:
                    signature.append(round(best[0], 6))
            if i == 0:
                # equivalent assignments (2a/2b of I4/mmm, ...) give the
                # same screening values on the symmetric grid
                key = (z, tuple(sorted(signature)))
                if signature and key in seen:
                    local = []
                    break
                seen.add(key)
        if not local:
            continue
        nassign += 1
        local.sort(key=lambda g: g[0])
        guesses.extend(local[:2])
    guesses.sort(key=lambda g: g[0])
    fitted = []
    for rw0, model, cell, xyz, z in guesses[: max(3 * keep, 6)]:
        if fitted and _clock() > deadline:
            break
        # the best guess is always fitted, for at least 3 s
        until = max(deadline, _clock() + 3.0) if not fitted else deadline
        rw, p = _quick_fit(model, target, cell, xyz, uiso, until)
        fitted.append((rw, model, p, z))
    if not fitted and guesses:
        rw0, model, cell, xyz, z = guesses[0]
        fitted.append((rw0, model, numpy.concatenate([cell, xyz, [uiso]]), z))
    fitted.sort(key=lambda f: f[0])
    out = []
    names = set()
    info = spacegroups.get(number)
    done = []
    for rw, model, p, z in fitted:
        cell = model.split(p)[0]
        if any(
            abs(rw - r) < 1e-4 and numpy.allclose(cell, c, rtol=1e-3)
            for r, c in done
        ):
            continue  # the same structure from an equivalent assignment
        done.append((rw, cell))
        label = " ".join(
            f"{s.element}{s.multiplicity}{s.letter}" for s in model.sites
        )
        name = f"wyckoff {label} Z={z}"
        if name in names:
            continue
        names.add(name)
        cell, xyz = model.split(p)
        stru = settings.expand(
            model.cell.expand(cell),
            model.asymmetric_unit(xyz),
            number,
            uiso=float(p[-1]),
        )
        note = (
            f"Wyckoff enumeration: {label}, Z = {z}, quick-fit Rw "
            f"{rw:.3f} (1.5-10 A; {nassign} assignments, {nguess} "
            f"guesses, {_clock() - t0:.1f} s)"
        )
        out.append(
            Enumerated(number, info.symbol, stru, name, notes + [note], rw)
        )
        if len(out) >= keep:
            break
    if not out:
        raise InputError(
            f"no Wyckoff assignment of space group {number} holds the "
            f"composition with at most {max_atoms} atoms and {max_sites} "
            "sites"
        )
    return out
