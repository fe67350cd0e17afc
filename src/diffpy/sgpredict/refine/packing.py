"""Chemically sensible coordinates for Wyckoff guesses.

Random free coordinates almost never lie near a crystal structure once
a site assignment has three or more of them: cations sit on top of
each other, anions crowd one corner, and a fit to the PDF from there
ends in a local minimum (hollandite MnO2 in I4/m, six free coordinates:
0 of 17 random starts reached Rw < 0.15 with the true cell).  Relaxing
each random draw first in a simple pair potential gives cations a shell
of anions at the data's nearest-neighbour distance and keeps ions of
one kind apart, and the fit then starts near a real structure (5 of 20
for hollandite, 8 of 20 for brookite TiO2, 7 of 12 for Li2ZrO3).

The potential, with :math:`r_1` the data's nearest-neighbour distance,
:math:`d` a distance between two atoms (all lattice images up to
:math:`2 r_1`) and :math:`x = r_1 / d`:

.. math::

    E = \\sum_{\\mathrm{cation-anion}} \\left(x^{12} - 2 x^6\\right)
      + k \\sum_{\\mathrm{like\\ pairs}}
        \\max\\left(0, \\frac{q r_1 - d}{r_1}\\right)^2

with :math:`q = 1.4` (anion-anion edges of an octahedron are
:math:`\\sqrt{2}\\, r_1`) and :math:`k = 10`.  A composition without
anions (:func:`~diffpy.sgpredict.chemistry.anions`: O, F, Cl, N, S, ...,
but P in a phosphate is a cation), or of anions only, takes the
Lennard-Jones term for every pair, whose minimum is close packing at
:math:`r_1`.  The Lennard-Jones term is shifted to
zero at the cutoff, :math:`2 r_1`.

Every pair counts once, an atom with its own lattice images too.  The
coordinates of a site are an affine function of its free parameters
(:class:`~diffpy.sgpredict.refine.wyckoff_model.SiteModel`) and
distances need only the metric tensor of the cell, so the gradient by
coordinates and cell is exact.  The sum runs over a neighbour list,
renewed only when a pair left out could have come within the cutoff
(the bound is in ``PairPotential._listed``), so the energy is still
that of all pairs.  One relaxation (80 L-BFGS iterations) of a cell of
24 atoms takes 0.05-0.09 s of CPU on one BLAS thread, 3.6-4.7 times
less than with all pairs and two BLAS threads while the other core is
busy (``benchmarks/relax.py``).

The minima of this potential have the right first shell but not the
data's second, and a PDF screening of them tells the guesses that fit
from the rest poorly.  An optional second term (:class:`Overlap`,
:func:`pdf_overlap`) pulls pairs towards the distances where the
measured PDF has its peaks; relaxed again with it, more draws fit and
they screen better (``benchmarks/relaxed_hits.py``: MnF2 in Pbca, 3 of
40 draws polish to Rw < 0.4 instead of none; Ti3O5 in Cmcm, those
draws screen 1st, 2nd and 20th instead of 2nd and 21st).
"""

import math
from dataclasses import dataclass

import numpy
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import minimize

from diffpy.sgpredict.chemistry import anions, element_symbol, ionic_radii

__all__ = [
    "Overlap",
    "PairPotential",
    "ionic",
    "pdf_overlap",
    "suits",
    "relax_cell",
]

#: Like ions repel below this many r1.
LIKE_RANGE = 1.4
#: Strength of the like-ion repulsion.
LIKE_STRENGTH = 10.0
#: Pairs farther apart than this many r1 do not count.
CUTOFF = 2.0
#: The largest ratio of cation-anion bond lengths (sums of ionic radii)
#: that one cation-anion distance describes (:func:`suits`; in oxides
#: Ti/Li 1.02, Zr/Li 1.02 and Fe/Bi 1.09 pass, Ca/Ti 1.14, Sr/Ti 1.22
#: and Ba/Ni 1.38 do not).
BOND_RATIO = 1.1
#: The neighbour list of :class:`PairPotential` holds pairs up to
#: CUTOFF + SKIN times r1.
SKIN = 0.3
#: Cells whose volume is below this fraction of abc are flat
#: (:meth:`PairPotential.energy_with_cell`).
FLATTEST = 0.1
#: The energy of a flat cell: above that of any cell with atoms.
FLAT_ENERGY = 1e6
#: Gaussian smoothing (A) of the measured PDF in :func:`pdf_overlap`.
OVERLAP_SMOOTH = 0.1
#: The overlap term falls smoothly to zero over this many r1 below the
#: cutoff.
OVERLAP_TAPER = 0.2


@dataclass(frozen=True)
class Overlap:
    """The PDF-overlap term of :class:`PairPotential`: the pair function
    :math:`h` and its derivative tabulated on the grid ``r`` (A), and
    its strength ``strength`` (:func:`pdf_overlap`)."""

    r: numpy.ndarray
    h: numpy.ndarray
    dh: numpy.ndarray
    strength: float = 1.0


def pdf_overlap(r, g, r1, strength=1.0, smooth=OVERLAP_SMOOTH):
    """The overlap term of a measured PDF for :class:`PairPotential`.

    A model's PDF is a sum of peaks at its pair distances,
    :math:`G_m(r) = \\frac{1}{N} \\sum_{i \\ne j}
    \\frac{w_i w_j}{\\langle w \\rangle^2}
    \\frac{\\delta(r - d_{ij})}{r} - 4 \\pi \\rho_0 r`, so its overlap
    with the measured :math:`G` is, up to a term in the density alone,
    a sum over pairs, :math:`\\int G_m G\\, dr \\propto \\sum_{pairs}
    w_i w_j\\, G(d_{ij}) / d_{ij}`.  The term added to the energy is
    its negative,

    .. math::

        E_o = -\\lambda \\sum_{pairs} \\frac{w_i w_j}{\\langle |w|
        \\rangle^2}\\, h(d_{ij}), \\qquad h(d) = \\frac{t(d)\\,
        \\tilde G(d) / d}{\\max_{d > 0.8 r_1} |\\tilde G(d) / d|},

    with :math:`\\tilde G` the data smoothed by a Gaussian of ``smooth``
    (A), :math:`t` a taper from 1 to 0 over the last
    :data:`OVERLAP_TAPER` :math:`r_1` below the cutoff
    :data:`CUTOFF` :math:`r_1` (no jump where a pair enters), and
    :math:`\\lambda` = ``strength``.  Negative scattering lengths
    (neutrons: Ti, Mn, Li, H) keep their sign, as in the PDF.

    Parameters
    ----------
    r, g : numpy.ndarray
        The measured PDF on a regular grid.
    r1 : float
        Nearest-neighbour distance (A).
    strength : float
        :math:`\\lambda`, against the pair potential's well depth of 1
        per cation-anion pair (the enumeration uses 1).
    smooth : float
        Gaussian smoothing of the data (A).

    Returns
    -------
    Overlap

    Examples
    --------
    >>> r = numpy.arange(0.0, 10.0, 0.01)
    >>> g = numpy.exp(-((r - 2.0) ** 2) / 0.01) - 0.1 * r
    >>> term = pdf_overlap(r, g, 2.0)
    >>> round(float(numpy.interp(2.0, term.r, term.h)), 2)
    1.0
    """
    r = numpy.asarray(r, dtype=float)
    step = float(r[1] - r[0])
    h = gaussian_filter1d(numpy.asarray(g, dtype=float), smooth / step)
    h = h / numpy.maximum(r, 0.5)
    t = numpy.clip((CUTOFF * r1 - r) / (OVERLAP_TAPER * r1), 0.0, 1.0)
    h = h * (0.5 - 0.5 * numpy.cos(numpy.pi * t))
    peak = numpy.abs(h[r > 0.8 * r1]).max(initial=0.0)
    h = h / peak if peak > 0 else h
    return Overlap(r, h, numpy.gradient(h, r), float(strength))


def ionic(composition):
    """Whether a composition holds both anions
    (:func:`~diffpy.sgpredict.chemistry.anions`) and cations.

    Examples
    --------
    >>> ionic({"Na": 4, "Cl": 4}), ionic({"Ni": 4}), ionic({"F": 8})
    (True, False, False)
    """
    found = anions(composition)
    return bool(found) and len(found) < len(composition)


def suits(model):
    """Whether the potential describes an assignment: cations and anions
    (:func:`ionic`), and cations whose bonds to the anions are alike in
    length, within a factor :data:`BOND_RATIO`.  A cation's bond is the
    sum of its ionic radius and the mean radius of the composition's
    anions (:func:`~diffpy.sgpredict.chemistry.ionic_radii`; anions
    without one, As, do not count).  Not BaNiO3 (Ba-O 2.9 A, Ni-O
    1.9 A): the potential pulled Ba to 1.9 A of O, and the enumeration
    no longer found the structure the unrelaxed grid finds.  Li2ZrO3
    passes (Li-O and Zr-O 2.1 A); by the ratio of atomic volumes it did
    not (Zr/Li 2.05, no more than Sr/Ti 2.08).

    Examples
    --------
    >>> from diffpy.sgpredict.refine.wyckoff_model import (
    ...     AssignmentModel, site_models)
    >>> def model(*sites):
    ...     return AssignmentModel(221, site_models(221, sites),
    ...                            {el: 1.0 for el, _ in sites})
    >>> suits(model(("Sr", "a"), ("Ti", "b"), ("O", "c")))
    False
    >>> suits(model(("Li", "a"), ("Ti", "b"), ("O", "c")))
    True
    """
    counts = _counts(model)
    if not ionic(counts):
        return False
    found = anions(counts)
    cations = [e for e in counts if e not in found]
    if len(cations) == 1:
        return True
    radii = ionic_radii()

    def radii_of(el):
        return radii.get(element_symbol(el, strict=False), (None, None))

    known = [r for r in (radii_of(e)[1] for e in found) if r]
    bonds = [radii_of(e)[0] for e in cations]
    if not known or any(r is None for r in bonds):
        return False
    anion = sum(known) / len(known)
    return max(bonds) + anion <= BOND_RATIO * (min(bonds) + anion)


def _counts(model):
    """Atoms per element in the model's cell."""
    counts = {}
    for s in model.sites:
        counts[s.element] = counts.get(s.element, 0) + s.multiplicity
    return counts


class PairPotential:
    """The pair potential of an assignment model, as a function of its
    free coordinates at a fixed cell.

    Parameters
    ----------
    model : AssignmentModel
    cell : sequence of float
        Free cell parameters of the model's crystal system.
    r1 : float
        Nearest-neighbour distance (A).
    overlap : Overlap, optional
        Adds the PDF-overlap term (:func:`pdf_overlap`).

    Examples
    --------
    >>> from diffpy.sgpredict.refine.wyckoff_model import (
    ...     AssignmentModel, site_models)
    >>> model = AssignmentModel(
    ...     225, site_models(225, [("Na", "a"), ("Cl", "b")]),
    ...     {"Na": 1.0, "Cl": 1.0})
    >>> pot = PairPotential(model, [5.64], 2.82)
    >>> round(pot.energy(numpy.zeros(0))[0] / model.natoms, 3)
    -3.074
    """

    def __init__(self, model, cell, r1, overlap=None):
        self.model = model
        self.r1 = float(r1)
        self.overlap = overlap
        self._w = model.weight / max(numpy.abs(model.weight).mean(), 1e-12)
        self.metric = _metric(model.cell.expand(cell))
        elements = numpy.concatenate(
            [[s.element] * s.multiplicity for s in model.sites]
        )
        counts = _counts(model)
        found = anions(counts)
        self._anion = numpy.array([e in found for e in elements])
        self._ionic = ionic(counts)
        # every pair once, an atom with its own images too (at half
        # weight: the shifts n and -n are the same pair)
        self._pairs = numpy.triu_indices(model.natoms)
        self.jac, self.offset = _affine(model)
        fixed = set(model.origin_params)
        self.moving = numpy.array(
            [k not in fixed for k in range(model.nxyz)], dtype=bool
        )
        self._list = None

    @property
    def neighbours_used(self):
        """The :class:`Neighbours` of the last energy (None before the
        first)."""
        return None if self._list is None else self._list[0]

    def _frac(self, xyz):
        """Fractional coordinates of all atoms, not wrapped into the
        cell (they move continuously with ``xyz``)."""
        xyz = numpy.asarray(xyz, dtype=float)
        frac = (self.offset + self.jac @ xyz) if xyz.size else self.offset
        return frac.reshape(-1, 3)

    def neighbours(self, metric, xyz, reach):
        """The pairs of atoms, lattice images included, closer than
        ``reach`` (A) in the cell of metric tensor ``metric``.

        Returns a :class:`Neighbours` whose lattice shifts are those of
        the unwrapped coordinates, so that a list stays valid while the
        atoms and the cell move (the energy methods keep one while
        ``_listed`` allows).
        """
        frac = self._frac(xyz)
        whole = numpy.floor(frac)
        inside = frac - whole
        iu, ju = self._pairs
        grid = _shifts(metric, reach)
        u = (inside[iu] - inside[ju])[:, None, :] + grid
        d2 = numpy.einsum("psk,psk->ps", u, u @ metric)
        pair, shift = numpy.nonzero((d2 < reach * reach) & (d2 > 1e-18))
        i, j = iu[pair], ju[pair]
        if self._ionic:
            attract = self._anion[i] != self._anion[j]
        else:
            attract = numpy.ones(len(i), dtype=bool)
        return Neighbours(
            i,
            j,
            grid[shift] - whole[i] + whole[j],
            numpy.where(i == j, 0.5, 1.0),
            attract,
        )

    def _listed(self, metric, xyz):
        """The pairs for the energy at a cell and coordinates: the
        neighbour list (:meth:`neighbours`, reach
        :math:`R = (c + s)\\, r_1` with the cutoff :math:`c` and
        :data:`SKIN` :math:`s`) of an earlier call while it still holds
        every pair within the cutoff, else a new one.

        With :math:`B_0, B` the cell bases (rows) then and now,
        :math:`\\epsilon = \\lVert B_0^{-1} B - I \\rVert_2` and
        :math:`\\delta` the largest displacement of an atom, a pair
        left out at :math:`d_0 \\ge R` is now at

        .. math::

            d \\ge d_0 (1 - \\epsilon) - 2 \\delta
              \\ge R (1 - \\epsilon) - 2 \\delta,

        so the list holds while that exceeds :math:`c\\, r_1`, and the
        energy is exactly that of all pairs.
        """
        base = numpy.linalg.cholesky(metric)
        frac = self._frac(xyz)
        reach = (CUTOFF + SKIN) * self.r1
        if self._list is not None:
            near, base0, frac0 = self._list
            strain = numpy.linalg.norm(
                numpy.linalg.solve(base0, base) - numpy.eye(3), 2
            )
            moved = numpy.sqrt(
                (((frac - frac0) @ base) ** 2).sum(axis=1).max(initial=0.0)
            )
            if reach * (1.0 - strain) - 2.0 * moved > CUTOFF * self.r1:
                return near
        near = self.neighbours(metric, xyz, reach)
        self._list = (near, base, frac)
        return near

    def energy(self, xyz):
        """Energy and its gradient with respect to the free coordinates.

        Returns ``(E, dE/dxyz)``; the coordinates made arbitrary by a
        floating origin get a zero gradient.
        """
        near = self._listed(self.metric, xyz)
        e, grad, _ = self._terms(self.metric, near, xyz)
        return e, grad

    def _terms(self, metric, near, xyz):
        """Energy, its gradient by the coordinates and by the metric
        tensor ``metric`` (distances need only the metric:
        :math:`d^2 = u^T G u` for a fractional pair vector :math:`u`),
        summed over the pairs of ``near`` (:class:`Neighbours`)."""
        frac = self._frac(xyz)
        u = frac[near.i] - frac[near.j] + near.shift
        gu = u @ metric
        d = numpy.sqrt(numpy.einsum("pk,pk->p", u, gu))
        inside = (d < CUTOFF * self.r1) & (d > 1e-9)
        d = numpy.where(inside, d, 1.0)
        x = self.r1 / d
        x6 = x**6
        lj = x6 * x6 - 2.0 * x6 - _LJ_AT_CUTOFF
        dlj = 12.0 * (x6 - x6 * x6) / d
        over = numpy.clip((LIKE_RANGE * self.r1 - d) / self.r1, 0.0, None)
        rep = LIKE_STRENGTH * over**2
        drep = -2.0 * LIKE_STRENGTH * over / self.r1
        att = near.attract
        e = near.weight * numpy.where(inside, numpy.where(att, lj, rep), 0.0)
        g = near.weight * numpy.where(inside, numpy.where(att, dlj, drep), 0.0)
        if self.overlap is not None:
            o = self.overlap
            w = o.strength * near.weight * self._w[near.i] * self._w[near.j]
            w = numpy.where(inside, w, 0.0)
            e = e - w * numpy.interp(d, o.r, o.h, right=0.0)
            g = g - w * numpy.interp(d, o.r, o.dh, right=0.0)
        g /= d
        force = g[:, None] * gu
        n = len(frac)
        gfrac = numpy.stack(
            [
                numpy.bincount(near.i, force[:, k], minlength=n)
                - numpy.bincount(near.j, force[:, k], minlength=n)
                for k in range(3)
            ],
            axis=1,
        ).ravel()
        grad = gfrac @ self.jac if self.model.nxyz else numpy.zeros(0)
        gmetric = 0.5 * numpy.einsum("p,pm,pk->mk", g, u, u)
        return float(e.sum()), numpy.where(self.moving, grad, 0.0), gmetric

    def energy_with_cell(self, params):
        """Energy and gradient as a function of the free cell parameters
        followed by the free coordinates (the cell is relaxed too).

        Angles within their bounds can still make a flat cell (three
        angles of 120 degrees have no volume); a cell flatter than
        :data:`FLATTEST` gets the energy :data:`FLAT_ENERGY` and no
        gradient, so that the line search steps back."""
        model = self.model
        cell, xyz = params[: model.ncell], params[model.ncell :]
        metric = _metric(model.cell.expand(cell))
        if numpy.linalg.det(metric) < FLATTEST**2 * numpy.prod(
            numpy.diag(metric)
        ):
            return FLAT_ENERGY, numpy.zeros(len(params))
        near = self._listed(metric, xyz)
        e, grad, gmetric = self._terms(metric, near, xyz)
        gcell = numpy.zeros(model.ncell)
        for k in range(model.ncell):
            step = numpy.array(cell, dtype=float)
            h = 1e-6 * max(abs(step[k]), 1.0)
            step[k] += h
            dmetric = (_metric(model.cell.expand(step)) - metric) / h
            gcell[k] = float((gmetric * dmetric).sum())
        return e, numpy.concatenate([gcell, grad])


@dataclass(frozen=True)
class Neighbours:
    """Pairs of atoms for the pair potential: atom indices ``i`` and
    ``j``, the lattice shift (fractional, of the unwrapped coordinates)
    from ``j`` to the image of ``i``, the pair's weight (1/2 for an
    atom and its own image) and whether it attracts (cation-anion)."""

    i: numpy.ndarray
    j: numpy.ndarray
    shift: numpy.ndarray
    weight: numpy.ndarray
    attract: numpy.ndarray


def _metric(cellpars):
    """Metric tensor :math:`G_{mk} = \\mathbf{a}_m \\cdot \\mathbf{a}_k`
    of a cell (a, b, c, alpha, beta, gamma; degrees)."""
    a, b, c = cellpars[:3]
    ca, cb, cg = numpy.cos(numpy.radians(cellpars[3:6]))
    return numpy.array(
        [
            [a * a, a * b * cg, a * c * cb],
            [a * b * cg, b * b, b * c * ca],
            [a * c * cb, b * c * ca, c * c],
        ]
    )


#: The Lennard-Jones term at the cutoff, subtracted so that the energy
#: does not jump where a pair enters the cutoff.
_LJ_AT_CUTOFF = (1.0 / CUTOFF) ** 12 - 2.0 * (1.0 / CUTOFF) ** 6


def _shifts(metric, cutoff):
    """Integer lattice shifts that can bring two atoms of the cell
    within ``cutoff`` (A) of each other (the spacing of the lattice
    planes normal to axis k is :math:`1/\\sqrt{(G^{-1})_{kk}}`)."""
    inverse = numpy.linalg.inv(metric)
    reach = [
        int(math.ceil(cutoff * math.sqrt(inverse[k, k]))) for k in range(3)
    ]
    grids = [numpy.arange(-n, n + 1) for n in reach]
    shifts = numpy.array(numpy.meshgrid(*grids, indexing="ij"))
    return shifts.reshape(3, -1).T.astype(float)


def _affine(model):
    """The model's fractional coordinates (before wrapping into the
    cell) as ``offset + jac @ xyz``: a site's orbit is a set of affine
    maps of its free parameters."""
    rows, offsets, col = [], [], 0
    for s in model.sites:
        k = len(s.free)
        lin = s.matrix[:, :3][:, s.free]
        for rot, tra in s.ops:
            block = numpy.zeros((3, model.nxyz))
            block[:, col : col + k] = rot @ lin
            rows.append(block)
            offsets.append(rot @ s.matrix[:, 3] + tra)
        col += k
    return numpy.vstack(rows), numpy.concatenate(offsets)


def relax_cell(model, cell, xyz, r1, maxiter=80, overlap=None):
    """Relax free cell parameters and coordinates together in the pair
    potential (:class:`PairPotential`), with the PDF-overlap term when
    ``overlap`` (:func:`pdf_overlap`) is given.

    Cell lengths stay above ``r1``, cell angles within 60-150 degrees.

    Parameters
    ----------
    model : AssignmentModel
    cell : sequence of float
        Starting free cell parameters.
    xyz : numpy.ndarray
        Starting free coordinates.
    r1 : float
        Nearest-neighbour distance (A).
    maxiter : int
        L-BFGS iterations.
    overlap : Overlap, optional
        The PDF-overlap term of :class:`PairPotential`.

    Returns
    -------
    cell, xyz : numpy.ndarray
        The relaxed cell parameters and coordinates (wrapped into
        [0, 1)).

    Examples
    --------
    Rutile (P4_2/mnm, Ti 2a, O 4f x x 0) from a wrong cell and x; the
    real structure has a = 4.59, c = 2.96 A, x = 0.305 and Ti-O 1.95 A:

    >>> from diffpy.sgpredict.refine.wyckoff_model import (
    ...     AssignmentModel, site_models)
    >>> model = AssignmentModel(
    ...     136, site_models(136, [("Ti", "a"), ("O", "f")]),
    ...     {"Ti": 1.0, "O": 1.0})
    >>> cell, xyz = relax_cell(model, [5.0, 3.5], [0.1], 1.95)
    >>> cell.round(1).tolist(), xyz.round(2).tolist()
    ([4.7, 2.7], [0.29])
    """
    pot = PairPotential(model, cell, r1, overlap)
    p0 = numpy.concatenate([numpy.asarray(cell, float), numpy.asarray(xyz)])
    bounds = [
        (r1, None) if name in "abc" else (60.0, 150.0)
        for name in model.cell.names
    ] + [(None, None)] * model.nxyz
    found = minimize(
        pot.energy_with_cell,
        p0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=dict(maxiter=maxiter),
    )
    p = numpy.asarray(found.x, dtype=float)
    return p[: model.ncell], p[model.ncell :] % 1.0
