"""Starting structures by Wyckoff enumeration.

For a composition and a space group, every assignment of the elements
to Wyckoff positions whose multiplicities add up to the composition
(:func:`diffpy.sgpredict.wyckoff.wyckoff_assignments`) is a candidate
structure.  :func:`enumerate_starts` builds each one, fits it quickly to
the measured PDF with the builtin calculator and keeps the best few.

The budget reaches only the first assignments, so their order matters.
Those that occupy a combination of sites seen in real structures of
the group come first
(:func:`~diffpy.sgpredict.structures.stats.wyckoff_combinations`:
Materials Project statistics), the most frequent per cost of screening
first (:func:`_seen_combinations`); the rest follow by Z, number of
sites and free coordinates.  Assignments that describe the same
structures (Mn 4a + F 8c and Mn 4b + F 8c of Pbca:
:func:`~diffpy.sgpredict.wyckoff.equivalent_sites`) come once.  The
combinations bring hollandite MnO2 from the 83rd place to the first,
Li4TiO4 from the 131st to the second and Ti3O5 in Cmcm from the 148th
to the first.  With the site patterns of real structures of the
composition's anonymous formula first (:func:`_seen_patterns`), the
true assignment of the 30 structures of the synthetic refinement
benchmark comes first for 11 and among the first three for 23 (14 and
21 without them; ``python benchmarks/enumeration_order.py``).

Each assignment then goes through:

1. *lattice guess*: the first peak :math:`r_1` of the data is the
   nearest-neighbour distance (from 15 % of the tallest peak, lower
   for compounds of strong and weak scatterers:
   :func:`~diffpy.sgpredict.refine.peaks.nearest_neighbour_peak`);
   each guess is scaled so that its shortest distance is :math:`r_1`
   and brought into a window of volume per atom around what its atoms
   fill (:func:`contact_for`; shrinking may bring atoms to
   :math:`0.7\\, r_1`, no closer; guesses with two atoms on one spot
   are dropped); tetragonal, hexagonal and trigonal cells try
   30 ratios c/a from 0.28 to 8 (12 % steps), orthorhombic and
   monoclinic cells the pairs of axis ratios b/a, c/a in
   :data:`~diffpy.sgpredict.refine.wyckoff_model.AXIS_RATIOS`, the
   most common shapes first (or only the shapes of given ``cells``: a
   well-fitting supergroup's cell in the ranking's second round);
2. *free coordinates*: a grid for one or two, else a few random draws
   (from a seeded :class:`numpy.random.Generator`).  Draws of an
   assignment with three or more free coordinates, of cations and
   anions with cations whose bonds to the anions are alike in length
   (:func:`~diffpy.sgpredict.refine.packing.suits`), are relaxed with
   their cell in a pair potential
   (:mod:`~diffpy.sgpredict.refine.packing`), then again with the
   data's overlap term added
   (:func:`~diffpy.sgpredict.refine.packing.pdf_overlap`, so that the
   screening can tell the draws that fit), instead of walking the
   shape grid: :data:`RELAXED_GUESSES` per assignment on the first pass,
   then more for the three that screened best while the screening
   budget lasts;
3. *screening*: one PDF per guess at five cell scales, with the best
   linear scale, ranks the guesses by Rw against the data smoothed by
   0.2 A between 1.5 and 7 A; the shapes of an assignment are screened
   in rounds (one guess of every shape before the next guess of any),
   and the best guess of each of its best six shapes goes on, of its
   best two for an assignment whose draws are relaxed (their screening
   tells the draws that fit: of 30 relaxed draws of the true
   assignment, those that fitted screened 1st-4th and 9th for
   Li2ZrO3, 1st, 2nd and 20th for Ti3O5 in Cmcm, 1st, 2nd, 9th and
   21st for Li2Ti(OF3)2, 2nd and 3rd for Li2MnF6);
4. *polish*: the first 40 of those, assignment by assignment in the
   order they were tried, each assignment's best first, each for at
   most an equal share of the time left, are refined
   briefly (until 75 % of the budget) on that
   smoothed curve, whose wide minima let cell and coordinates move
   further than the sharp data allow, and ranked with the unpolished
   guesses by their Rw on the data (1.5-10 A).  The screening ranks
   poorly where the polish does well (3R-MoS2: the guess that polishes
   to the structure screens 21st), hence many guesses of many shapes,
   and 30-50 % of the budget for the screening, 25 % for the polish;
5. *quick fit*: the best are refined with
   :func:`scipy.optimize.least_squares`: cell, free coordinates, one
   isotropic ADP, with the scale solved linearly at every step.

The atoms of a site are one symmetry orbit, so the builtin calculator
is told the orbits and skips its own search for them (about 1.7 times
faster per guess).

Equivalent assignments (the same structure under a change of origin,
such as 2a and 2b of I4/mmm) are recognised by their pair-distance lists
and fitted once.

Limits: at most ``max_atoms`` (default 60) atoms in the conventional
cell, ``max_sites`` (8) symmetry-unique sites, Z up to ``zmax`` (8)
formula units, and a budget of seconds of counted work (default 20
per group; :class:`~diffpy.sgpredict.refine.work.WorkMeter`: about CPU
seconds of the 2-core machine the costs were measured on, and the same
steps on any machine and under any load) after which the guesses
screened so far are used.  Screening
costs about 5-15 ms of CPU per guess for cells of up to 20 atoms;
relaxing a guess in the pair potential 0.05-0.09 s more (24 atoms,
one BLAS thread).

The structure models (sites, cells, assignments) are in
:mod:`~diffpy.sgpredict.refine.wyckoff_model`.

Examples
--------
>>> from diffpy.sgpredict.refine.wyckoff import enumerate_starts
>>> starts = enumerate_starts(139, "SrFe2As2", data)  # doctest: +SKIP
"""

import itertools
import math
from dataclasses import dataclass

import numpy
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import least_squares

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import (
    element_symbol,
    expected_volume,
    mixed_sites,
    parse_composition,
    volume_spread,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import builtin
from diffpy.sgpredict.pdfcalc.scattering import scattering_weight
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.packing import (
    Overlap,
    pdf_overlap,
    relax_cell,
    suits,
)
from diffpy.sgpredict.refine.peaks import nearest_neighbour_peak
from diffpy.sgpredict.refine.score import OVERLAP
from diffpy.sgpredict.refine.work import (
    CAPPED_NOTE,
    WorkMeter,
    distance_cost,
    pdf_cost,
    relax_cost,
)
from diffpy.sgpredict.refine.wyckoff_model import (
    AssignmentModel,
    cell_base,
    shortest_distance,
    site_models,
)
from diffpy.sgpredict.runtime import blas_threads
from diffpy.sgpredict.structures.stats import (
    site_patterns,
    wyckoff_combinations,
)
from diffpy.sgpredict.wyckoff import wyckoff_assignments

__all__ = [
    "Enumerated",
    "ScreenTarget",
    "Contact",
    "contact_for",
    "enumerate_starts",
    "assignment_order",
]

#: Assignments with this many free coordinates or more have their random
#: draws relaxed in a pair potential before screening
#: (:mod:`~diffpy.sgpredict.refine.packing`).
RELAX_FROM = 3
#: L-BFGS iterations of one relaxation.
RELAX_ITERATIONS = 80
#: Relaxed guesses of an assignment on its first pass.
RELAXED_GUESSES = 6
#: The cost of the second relaxation of a guess (with the data's
#: overlap term, from the first one's minimum) as a share of
#: :func:`~diffpy.sgpredict.refine.work.relax_cost`: measured 28 and 48
#: ms against 63 and 52 ms estimated (Ti3O5 in Cmcm, MnF2 in Pbca; 20
#: draws each, one BLAS thread).
OVERLAP_RELAX_SHARE = 0.5

#: Shares of the enumeration's budget at which the screening stops
#: adding assignments (once three have guesses), adding guesses to an
#: assignment that has one, and screening at all
#: (:func:`_screen_assignments`).
SCREEN_SHARES = (0.3, 0.4, 0.5)
#: Share of the budget by which the polish of the screening guesses
#: ends (:func:`_polish_guesses`); the quick fits have the rest.
POLISH_SHARE = 0.75
#: Screening guesses polished at most.
POLISH_COUNT = 40

#: Cell scale factors tried around the contact-scaled guess.
_SCALES = (0.92, 0.96, 1.0, 1.04, 1.08)


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


class ScreenTarget:
    """The measured PDF on the screening grid, and the Rw of a model
    with the best linear scale.

    Every PDF it computes is charged to ``meter`` (a new
    :class:`~diffpy.sgpredict.refine.work.WorkMeter` unless one is given, to
    share with other targets)."""

    def __init__(
        self, fitdata, rmin=1.5, rmax=10.0, rstep=0.04, smooth=0.0, meter=None
    ):
        self.meter = meter if meter is not None else WorkMeter()
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
            self.g = gaussian_filter1d(self.g, smooth / rstep)
        self.norm = float(numpy.dot(self.g, self.g)) or 1.0

    def calc(self, arrays):
        self.meter.charge(pdf_cost(arrays, self.rmax))
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


def _first_peak(fitdata, weights=()):
    found = nearest_neighbour_peak(fitdata.r, fitdata.g, weights)
    return found or 2.5


def _coordinate_grid(model, rng, draws):
    """Free coordinates to try: a grid for one or two, else draws.

    Coordinates made arbitrary by a floating origin
    (``model.origin_params``: one z of P6_3mc, one y of P2_1) stay at 0
    and do not count.
    """
    n = model.nxyz
    fixed = set(model.origin_params)
    moving = [i for i in range(n) if i not in fixed]

    def full(values):
        out = numpy.zeros(n)
        out[moving] = values
        return out

    if not moving:
        return [numpy.zeros(n)]
    if len(moving) == 1:
        # the whole period: x and -x are two structures where the
        # other sites do not map onto themselves under x -> -x (O 6h of
        # 2H-BaNiO3 in P6_3/mmc with Ba on 2c)
        return [full([v]) for v in numpy.arange(0.025, 1.0, 0.05)]
    if len(moving) == 2:
        g = numpy.arange(0.05, 1.0, 0.1)
        return [full(v) for v in itertools.product(g, g)]
    return [
        full(rng.uniform(0.0, 1.0, len(moving)))
        for _ in range(max(8, 4 * draws))
    ]


@dataclass(frozen=True)
class Contact:
    """What the data tell a guess before its PDF is computed: its
    shortest distance becomes ``r1`` (A), it is kept when its volume
    per atom lies in ``vmin``-``vmax`` (A^3), and its relaxation pulls
    pairs to the data's peaks by ``overlap``
    (:func:`~diffpy.sgpredict.refine.packing.pdf_overlap`; None: no
    such term)."""

    r1: float
    vmin: float
    vmax: float
    overlap: Overlap = None


def contact_for(fitdata, counts, weights):
    """The :class:`Contact` of a composition's data.

    ``r1`` is the data's nearest-neighbour peak
    (:func:`~diffpy.sgpredict.refine.peaks.nearest_neighbour_peak`).
    The volume per atom may lie between :math:`0.5\\, r_1^3` (close
    packing) and :math:`3\\, r_1^3` (open frameworks) and, when the
    atomic volumes know every element, between :math:`e^{-3\\sigma}`
    and :math:`e^{2\\sigma}` times the volume its atoms fill
    (:func:`~diffpy.sgpredict.chemistry.expected_volume`; relaxed
    volumes run a few per cent large, hence the asymmetric window).
    Compounds only: the atomic volumes are those of atoms in compounds,
    and elemental solids are up to a third larger (Ti metal 17.2 A^3
    per atom, Ti in the fit 13.1).  Measured on the 30 structures of the
    synthetic refinement benchmark: the window holds the real volume per
    atom of all 22 compounds (BaNiO3 13.7 A^3, Mn5O8 10.4, 1 % off the
    estimate).

    The overlap term is that of the data
    (:func:`~diffpy.sgpredict.refine.packing.pdf_overlap`).
    """
    r1 = _first_peak(fitdata, weights.values())
    lo, hi = 0.5 * r1**3, 3.0 * r1**3
    try:
        per_atom = expected_volume(
            {element_symbol(el): n for el, n in counts.items()}
        )
    except InputError:
        per_atom = None
    if per_atom and len(counts) > 1:
        per_atom /= sum(counts.values())
        sigma = volume_spread()
        lo2, hi2 = per_atom * math.exp(-3 * sigma), per_atom * math.exp(
            2 * sigma
        )
        if max(lo, lo2) < min(hi, hi2):
            lo, hi = max(lo, lo2), min(hi, hi2)
    return Contact(r1, lo, hi, pdf_overlap(fitdata.r, fitdata.g, r1))


def _cell_for_contact(model, shape, xyz, contact):
    """Scale a cell shape so that the shortest distance is
    ``contact.r1`` and the volume per atom lies in the contact's window.

    A cell that contact makes too large (random coordinates put two
    atoms close, and the scaling blows the cell up) is shrunk to the
    window's top; None when its shortest distance would then fall below
    0.7 ``r1``.  A cell too small is enlarged to the window's bottom.
    """
    base = cell_base(model.cell.expand(shape))
    # atoms of two sites on one spot count (distance 0: no guess)
    dmin = shortest_distance(base, model.frac(xyz))
    if dmin < 1e-3:
        return None
    f = contact.r1 / dmin
    vol = abs(float(numpy.linalg.det(base))) * f**3 / model.natoms
    if vol > contact.vmax:
        f *= (contact.vmax / vol) ** (1.0 / 3.0)
        if f * dmin < 0.7 * contact.r1:
            return None
    elif vol < contact.vmin:
        f *= (contact.vmin / vol) ** (1.0 / 3.0)
    return model.cell.scaled(shape, f)


def _relaxed(model, shape, xyz, contact, meter):
    """Random coordinates relaxed with their cell in the pair potential
    of :mod:`~diffpy.sgpredict.refine.packing`, from the cell of this
    shape whose volume per atom is the middle of the contact window;
    then again with the data's overlap term when the contact has one
    (:func:`~diffpy.sgpredict.refine.packing.pdf_overlap`; the pair
    potential first, so that the ions have their shells before the
    overlap pulls pairs into the data's peaks).  Charges ``meter`` (a
    WorkMeter) for each relaxation, the second, which starts near a
    minimum, at :data:`OVERLAP_RELAX_SHARE` of the first.
    Returns ``(cell, xyz)``."""
    base = cell_base(model.cell.expand(shape))
    volume = abs(float(numpy.linalg.det(base))) / model.natoms
    f = (math.sqrt(contact.vmin * contact.vmax) / volume) ** (1.0 / 3.0)
    cell = model.cell.scaled(shape, f)
    cell, xyz = relax_cell(model, cell, xyz, contact.r1, RELAX_ITERATIONS)
    meter.charge(relax_cost(model.natoms))
    if contact.overlap is not None:
        cell, xyz = relax_cell(
            model, cell, xyz, contact.r1, RELAX_ITERATIONS, contact.overlap
        )
        meter.charge(OVERLAP_RELAX_SHARE * relax_cost(model.natoms))
    return [float(v) for v in cell], xyz


def _merged(model, cell, xyz):
    """Whether two atoms of a guess overlap (closer than
    :data:`~diffpy.sgpredict.refine.score.OVERLAP`)."""
    base = cell_base(model.cell.expand(cell))
    return shortest_distance(base, model.frac(xyz)) < OVERLAP


def _quick_fit(
    model, target, cell, xyz, uiso, deadline, max_nfev=200, cell_only=False
):
    """Refine cell, free coordinates and one Uiso of a guess (bounded
    least squares, the scale solved linearly); stop at ``deadline``
    (seconds of the target's meter) with the best point reached.
    Returns ``(rw, p)``."""
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
        if calls[0] > 1 and target.meter.now() > deadline:
            raise _Stop()
        p = p0.copy()
        p[free] = q
        c, x = model.split(p)
        g = target.calc(model.arrays(c, x, p[-1]))
        res = target.residual(g)
        rw = math.sqrt(float(numpy.dot(res, res)) / target.norm)
        if rw < best["rw"]:
            target.meter.charge(distance_cost(model.natoms))
        if rw < best["rw"] and not _merged(model, c, x):
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
    meter=None,
    cells=(),
):
    """Return the best Wyckoff-enumerated starting structures.

    Parameters
    ----------
    number : int
        Space-group number.
    composition : str or dict
        Formula; fractional amounts are grouped into mixed sites
        (:func:`~diffpy.sgpredict.chemistry.mixed_sites`).
    fitdata : FitData
        The measured PDF, from
        :func:`~diffpy.sgpredict.refine.fitdata.prepare_data`.
    zmax, max_atoms, max_sites : int
        Limits of the enumeration (formula units, atoms in the
        conventional cell, symmetry-unique sites).
    budget : float
        Seconds of work for screening and quick fits together, counted
        by a :class:`~diffpy.sgpredict.refine.work.WorkMeter`: about as
        many CPU seconds on the 2-core calibration machine (one BLAS thread,
        :func:`~diffpy.sgpredict.runtime.blas_threads`), and the same
        steps, hence the same structures, on any machine and under any
        load.
    keep : int
        How many structures to return.
    draws : int
        Random draws of the free coordinates per assignment and shape.
    rng : numpy.random.Generator, optional
        Default ``numpy.random.default_rng(0)``.
    uiso : float
        Starting isotropic ADP (A^2).
    meter : WorkMeter, optional
        Counts the work (a new
        :class:`~diffpy.sgpredict.refine.work.WorkMeter` by default);
        the budget starts at its reading when called.
    cells : sequence of sequence of float, optional
        Cells (a, b, c, alpha, beta, gamma) in the group's setting, such
        as a supergroup's refined cell written in it: their shapes are
        the only ones tried, instead of the grid of shapes.

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
    with blas_threads(1):
        meter = meter if meter is not None else WorkMeter()
        t0 = meter.now()
        rng = rng if rng is not None else numpy.random.default_rng(0)
        comp = parse_composition(composition, isotopes=True)
        counts, notes = mixed_sites(comp)
        weights = {
            el: scattering_weight(el, fitdata.scattering) for el in counts
        }
        target = ScreenTarget(fitdata, meter=meter)
        screen = ScreenTarget(
            fitdata, rmax=7.0, rstep=0.05, smooth=0.2, meter=meter
        )
        search = _Search(
            screen,
            contact_for(fitdata, counts, weights),
            rng,
            uiso + 0.2**2 / 2,
            draws,
            tuple(cells),
        )
        guesses, (ntried, nassign), nguess = _screen_assignments(
            number,
            counts,
            weights,
            search,
            dict(zmax=zmax, max_atoms=max_atoms, max_sites=max_sites),
            tuple(t0 + share * budget for share in SCREEN_SHARES),
        )
        guesses = _polish_guesses(
            guesses,
            screen,
            target,
            uiso,
            t0 + POLISH_SHARE * budget,
            POLISH_COUNT,
        )
        fitted = _fit_guesses(guesses, target, uiso, keep, t0 + budget)
    counted = (
        f"{nassign} assignments, {nguess} guesses, "
        f"{meter.now() - t0:.1f} s"
        + (f"; {CAPPED_NOTE}" if meter.capped else "")
    )
    out = _as_enumerated(fitted, number, keep, notes, counted)
    if not out and not ntried:
        raise InputError(
            f"no Wyckoff assignment of space group {number} holds the "
            f"composition with at most {max_atoms} atoms and {max_sites} "
            "sites"
        )
    if not out:
        raise InputError(
            f"no structure of space group {number} found in "
            f"{budget:g} s of work ({ntried} Wyckoff assignments "
            "tried, every guess too dense, too open or with atoms on "
            "one spot); a longer --enumerate may find one"
        )
    return out


def _screen_guess(model, z, shape, xyz, screen, contact, screen_uiso):
    """Screen one guess: its cell scaled to contact, then five cell
    scales around it.  Returns ``((rw, model, cell, xyz, z), npdfs)``;
    None for a guess that contact cannot scale."""
    screen.meter.charge(distance_cost(model.natoms))
    cell = _cell_for_contact(model, shape, xyz, contact)
    if cell is None:
        return None, 0
    best = None
    for f in _SCALES:
        c = model.cell.scaled(cell, f)
        rw = screen.rw(screen.calc(model.arrays(c, xyz, screen_uiso)))
        if best is None or rw < best[0]:
            best = (rw, c)
    return (best[0], model, best[1], xyz, z), len(_SCALES)


@dataclass
class _Search:
    """What the screening of one enumeration shares: the smoothed
    target, the contact window (:func:`contact_for`), the random
    draws, the screening ADP, coordinate draws per shape and the cells
    whose shapes are tried (see :func:`enumerate_starts`)."""

    screen: ScreenTarget
    contact: object
    rng: numpy.random.Generator
    uiso: float
    draws: int = 2
    cells: tuple = ()


def _screen_model(model, z, seen, search, stop_at=None):
    """Screen the cell shapes and coordinate guesses of one assignment.

    The first shape gets every coordinate guess (its values are the
    assignment's signature: an equivalent assignment, 2a/2b of I4/mmm
    ..., gives the same values and is dropped when one was ``seen``).
    The other shapes are screened in rounds, guess k of every shape
    before guess k + 1 of any (each shape's guesses in a random order),
    so that a budget cut leaves every shape tried, not the most common
    shapes tried with every guess and the rest not at all (3R-MoS2, c/a
    5.8, and hollandite, c/a 0.29, lie at the ends of the list).
    Assignments with :data:`RELAX_FROM` or more free coordinates get
    :data:`RELAXED_GUESSES` relaxed guesses instead
    (:func:`_screen_relaxed`).

    ``stop_at`` holds two times of the screen's meter: no more guesses
    after the first once the assignment has a guess, none after the
    second.

    Returns the guesses ``(rw, model, cell, xyz, z)`` and the number of
    PDFs computed.
    """
    local, signature, nguess = [], [], 0

    def screen_one(shape, xyz):
        nonlocal nguess
        guess, n = _screen_guess(
            model, z, shape, xyz, search.screen, search.contact, search.uiso
        )
        nguess += n
        if guess is None:
            return None
        local.append(guess)
        return guess[0]

    screen, rng = search.screen, search.rng
    if stop_at is not None and screen.meter.now() > stop_at[1]:
        return [], 0
    if _relaxes(model):
        return _screen_relaxed(model, z, search, RELAXED_GUESSES, stop_at)
    shapes = _shapes(model, search)
    for xyz in _coordinate_grid(model, rng, search.draws):
        rw = screen_one(shapes[0], xyz)
        if rw is not None:
            signature.append(round(rw, 6))
    key = (z, tuple(sorted(signature)))
    if signature and key in seen:
        return [], nguess
    seen.add(key)
    queues = []
    for shape in shapes[1:]:
        guesses = _coordinate_grid(model, rng, search.draws)
        order = rng.permutation(len(guesses))
        queues.append((shape, [guesses[k] for k in order]))
    for k in range(max((len(q) for _, q in queues), default=0)):
        for shape, guesses in queues:
            if k >= len(guesses):
                continue
            late = stop_at[1 - bool(local)] if stop_at else None
            if late is not None and screen.meter.now() > late:
                return local, nguess
            screen_one(shape, guesses[k])
    return local, nguess


def _relaxes(model):
    """Whether an assignment's random draws are relaxed before
    screening: :data:`RELAX_FROM` or more free coordinates, and a
    chemistry the pair potential describes
    (:func:`~diffpy.sgpredict.refine.packing.suits`: cations and anions,
    the cations' bonds alike in length; its close packing would break up the
    molecules and chains of one-element solids such as F2 and S)."""
    return model.nxyz - len(model.origin_params) >= RELAX_FROM and suits(model)


def _shapes(model, search):
    """The cell shapes to try: those of the search's ``cells`` (see
    :func:`enumerate_starts`), else the grid of the crystal system."""
    if search.cells:
        return [model.cell.shape_of(c) for c in search.cells]
    return model.cell.shapes(search.rng)


def _screen_relaxed(model, z, search, count, stop_at=None):
    """Screen ``count`` random draws of an assignment, each relaxed with
    its cell in the pair potential (:func:`_relaxed`), each from a
    shape of the list drawn at random (the relaxation moves the cell
    shape).  ``stop_at`` as in :func:`_screen_model`.
    Returns the guesses and the number of PDFs computed."""
    local, nguess = [], 0
    screen, rng = search.screen, search.rng
    shapes = _shapes(model, search)
    for k in range(count):
        late = stop_at[1 - bool(local)] if stop_at else None
        if late is not None and screen.meter.now() > late:
            break
        xyz = rng.uniform(0.0, 1.0, model.nxyz)
        xyz[list(model.origin_params)] = 0.0
        shape = shapes[(k + rng.integers(len(shapes))) % len(shapes)]
        cell, xyz = _relaxed(model, shape, xyz, search.contact, screen.meter)
        guess, n = _screen_guess(
            model, z, cell, xyz, screen, search.contact, search.uiso
        )
        nguess += n
        if guess is not None:
            local.append(guess)
    return local, nguess


def _screen_assignments(number, counts, weights, search, limits, stop_at):
    """Screen the Wyckoff assignments of the composition in turn.

    ``search`` is the enumeration's :class:`_Search`; ``stop_at``
    holds three times of the screen's meter: after the first, no new
    assignment once three are in; after the second, no
    new guess within an assignment once it has one; after the third,
    nothing new at all (when few guesses fit the volume window, so
    that the budget holds).  Time left before the third goes to more
    relaxed guesses of the three relaxed assignments that screened
    best, in turn (each got only :data:`RELAXED_GUESSES` on its first
    pass, so that later assignments are reached).  Starting those
    later draws from the cells of the assignment's three best-screening
    guesses (every second one, or all) raised the fitting draws of the
    true assignment (11 of 20 against 4 of 30 for Li2Ti(OF3)2, 11
    against 5 for Li2ZrO3) and the true group's enumeration over four
    seeds (69 and 70 of 120 against 65), but in the synthetic benchmark
    it lost MnF2 and CoAsS and gained nothing (20 and 21 of 30 first
    against 21), so every draw starts from the list of shapes.
    Returns the best guess of each of the six best cell shapes of each
    assignment, the numbers of assignments tried and of those with
    guesses, and the number of PDFs computed; two shapes of a relaxed
    assignment, whose screening ranks well.  The guesses come by
    assignment, in the order the assignments were tried (most likely
    first), each assignment's best first, so that the polish, which may
    not reach the end of the list, polishes the likely assignments.  By
    screening Rw alone, the relaxed guesses of a Z = 6 MoS2 in R3m
    screened better than those of the true Z = 3 assignment and took
    the polish time (quick-fit Rw 0.40 instead of 0.03); in rounds (the
    best of every assignment, then the second best of each, ...), the
    enumeration of the true group no longer reached Rw 0.1 for
    3R-MoS2, BaNiO3 and MnF2 (with one random seed of two), whose
    guesses that polish to the structure do not screen best.
    """
    seen, found, nassign, nguess, ntried = set(), [], 0, 0, 0
    relaxed = []
    screen = search.screen
    for z, assignment in assignment_order(number, counts, **limits):
        now = screen.meter.now()
        if (nassign >= 3 and now > stop_at[0]) or now > stop_at[2]:
            break
        ntried += 1
        model = AssignmentModel(
            number,
            site_models(number, [(el, p[1]) for el, p in assignment]),
            weights,
        )
        local, n = _screen_model(model, z, seen, search, stop_at[1:])
        nguess += n
        if not local:
            continue
        nassign += 1
        relaxes = _relaxes(model)
        found.append((local, relaxes))
        if relaxes:
            relaxed.append((min(g[0] for g in local), model, z, local))
    relaxed.sort(key=lambda r: r[0])
    while relaxed and screen.meter.now() < stop_at[2]:
        for _, model, z, local in relaxed[:3]:
            more, n = _screen_relaxed(model, z, search, 1)
            nguess += n
            local.extend(more)
    guesses = []
    for local, relaxes in found:
        local.sort(key=lambda g: g[0])
        guesses.extend(_best_per_shape(local, 2 if relaxes else 6))
    return guesses, (ntried, nassign), nguess


def assignment_order(
    number, counts, zmax=8, max_atoms=60, max_sites=8, patterns=True
):
    """The Wyckoff assignments of a composition in the order that
    :func:`enumerate_starts` tries them: those of the site patterns of
    real structures with the composition's anonymous formula
    (:func:`_seen_patterns`; left out with ``patterns=False``), then
    those of the site combinations of real structures of the group
    (:func:`_seen_combinations`), then the rest; at most 400.

    Parameters
    ----------
    number : int
        Space-group number.
    counts : dict
        Element -> count (from
        :func:`~diffpy.sgpredict.chemistry.mixed_sites`).
    zmax, max_atoms, max_sites : int
        Limits as in :func:`enumerate_starts` (``zmax`` does not bind
        the site patterns).
    patterns : bool
        Try the site patterns first.

    Yields
    ------
    tuple
        ``(z, sites)`` as
        :func:`~diffpy.sgpredict.wyckoff.wyckoff_assignments` gives them.

    Examples
    --------
    >>> z, sites = next(assignment_order(139, {"Sr": 1, "Fe": 2, "As": 2}))
    >>> z, sorted(f"{el}{p[0]}{p[1]}" for el, p in sites)
    (2, ['As4e', 'Fe4d', 'Sr2a'])
    """
    yield from wyckoff_assignments(
        counts,
        number,
        zmax=zmax,
        max_atoms=max_atoms,
        max_sites=max_sites,
        limit=400,
        prefer=_seen_combinations(number),
        patterns=_seen_patterns(number, counts) if patterns else (),
    )


def _seen_combinations(number):
    """Combinations of occupied sites seen in real structures of the
    group (:func:`~diffpy.sgpredict.structures.stats.wyckoff_combinations`),
    in the order of their frequency per cost of screening them.

    A search that tries candidates in decreasing order of
    :math:`p_i / c_i` (probability over cost) finds the right one at
    the least expected cost.  Here :math:`p_i` is the number of real
    structures with combination :math:`i` and :math:`c_i` the square of
    its atoms per cell (the pairs one PDF sums over).  By frequency
    alone, a Z = 8 combination of LiTiO2 (I4_1/amd, 89 structures)
    came before the true Z = 4 one (80) and took the budget; by atoms
    alone, an Mn 2a + 2b, O 8h combination of MnO2 (I4/m, 12 atoms, 2
    structures) came before hollandite (24 atoms, 8 structures).
    """
    return _per_cost(
        wyckoff_combinations(number), lambda sites: [m for m, _ in sites]
    )


def _seen_patterns(number, counts):
    """Site patterns of real structures of the group with the
    composition's anonymous formula
    (:func:`~diffpy.sgpredict.structures.stats.site_patterns`), in the
    order of :func:`_seen_combinations`: compounds per square of the
    atoms per cell.  A pattern places the elements as well as the
    sites, and holds cells beyond ``zmax``.  On the 30 structures of
    the synthetic refinement benchmark the true assignment (or one
    equivalent to it) is among the first three for 23 with the
    patterns, 21 without; first for 11 instead of 14: Li2Ti(OF3)2 in
    C2/m moves from the 43rd to the 4th place, Li2ZrO3 in C2/c from
    the 10th to the 3rd, Li2MnF6 in P-3m1 from the 8th to the 3rd,
    Ti3O5 in Cmcm and C2/c and ReS2 from the 1st to the 3rd."""
    return _per_cost(
        site_patterns(number, counts), lambda sites: [s[1] for s in sites]
    )


def _per_cost(seen, multiplicities):
    """The items of ``seen`` (``(item, count)`` pairs) by count per
    square of the atoms per cell (the sum of ``multiplicities(item)``),
    largest first."""
    ranked = sorted(seen, key=lambda s: -s[1] / sum(multiplicities(s[0])) ** 2)
    return [item for item, _ in ranked]


def _best_per_shape(local, count):
    """The best guess of each of the ``count`` best cell shapes of
    ``local`` (screening guesses of one assignment, best first).

    Two guesses have one shape when their cells agree after dividing
    the lengths by a (the contact scaling keeps the ratios).
    """
    seen, out = set(), []
    for guess in local:
        cell = numpy.asarray(guess[2], dtype=float)
        names = guess[1].cell.names
        key = tuple(
            round(v / cell[0], 3) if name in "abc" else round(v, 1)
            for v, name in zip(cell, names)
        )
        if key in seen:
            continue
        seen.add(key)
        out.append(guess)
        if len(out) >= count:
            break
    return out


def _polish_guesses(guesses, screen, target, uiso, deadline, count=40):
    """Refine the first ``count`` screening guesses (in the order of
    :func:`_screen_assignments`) briefly on the smoothed screening
    curve, whose wide minima let cell and coordinates move further than
    the sharp data allow, until ``deadline`` (the screen's meter), each
    for at most an equal share of the time left (the polish of a guess
    of 48 atoms, Li2ZrO3 with Z = 8 in C2/c, took a second); then rank
    them by their Rw on the data (``target``).
    Returns the guesses, best first; those not polished follow in their
    order."""
    polished, rest = [], []
    wide = uiso + screen.smooth**2 / 2
    todo = min(count, len(guesses))
    for k, (rw, model, cell, xyz, z) in enumerate(guesses):
        now = screen.meter.now()
        if k >= count or now > deadline:
            rest.append((rw, model, cell, xyz, z))
            continue
        # an equal share of the time left, so that a large cell does
        # not take the polish of the rest
        until = now + (deadline - now) / (todo - k)
        _, p = _quick_fit(model, screen, cell, xyz, wide, until, max_nfev=40)
        # the guess itself stays when it fits the data better
        for c, x in ((cell, xyz), model.split(p)):
            rw = target.rw(target.calc(model.arrays(c, x, uiso)))
            polished.append((rw, model, numpy.asarray(c), x, z))
    polished.sort(key=lambda g: g[0])
    return polished + rest


def _fit_guesses(guesses, target, uiso, keep, deadline):
    """Quick-fit the best guesses until ``deadline`` (the target's
    meter); the best one always, for at least 3 s.
    Returns ``(rw, model, p, z)``, best first."""
    fitted = []
    for _, model, cell, xyz, z in guesses[: max(3 * keep, 6)]:
        now = target.meter.now()
        if fitted and now > deadline:
            break
        until = max(deadline, now + 3.0) if not fitted else deadline
        rw, p = _quick_fit(model, target, cell, xyz, uiso, until)
        fitted.append((rw, model, p, z))
    if not fitted and guesses:
        rw0, model, cell, xyz, z = guesses[0]
        fitted.append((rw0, model, numpy.concatenate([cell, xyz, [uiso]]), z))
    fitted.sort(key=lambda f: f[0])
    return fitted


def _as_enumerated(fitted, number, keep, notes, counted):
    """The ``keep`` best distinct fitted structures as Enumerated."""
    out = []
    names = set()
    info = spacegroups.get(number)
    done = []
    for rw, model, p, z in fitted:
        cell, xyz = model.split(p)
        if _merged(model, cell, xyz):
            continue  # two atoms on one spot: no structure
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
            f"{rw:.3f} (1.5-10 A; {counted})"
        )
        out.append(
            Enumerated(number, info.symbol, stru, name, notes + [note], rw)
        )
        if len(out) >= keep:
            break
    return out
