"""Work budgets that count work instead of timing it.

A search or a fit that stops after so many CPU seconds stops at a
different step on a faster or busier machine, and gives a different
answer: the enumeration of BaNiO3 in P6_3mc found its structure
(quick-fit Rw 0.06) in one run and not (0.62-0.86) in others of the
same command on the same machine.  Here the work is counted instead:
every PDF, relaxation, distance search and fit evaluation adds its
estimated CPU cost on the machine the estimates were measured on
(:func:`pdf_cost`, :func:`relax_cost`, :func:`distance_cost`,
:func:`fit_call_cost`), and a budget of seconds stops at the same step
however busy or fast the machine is.  (Machines whose floating-point
results differ, another BLAS or CPU, can still part ways where two
guesses are close.)  Only a machine more than :data:`SLOWER` times
slower than the calibration machine is stopped by its own CPU time
(:class:`WorkMeter`).

The estimates were fitted to the steps of the Wyckoff enumeration and
of the candidate fits on the synthetic refinement benchmark's
structures (one core of a 2-core x86_64 machine, the other idle; one
BLAS thread); ``benchmarks/enumeration.py`` prints counted against CPU
seconds.
"""

import time

import numpy

__all__ = [
    "CANDIDATE_BUDGET",
    "ENUMERATION_BUDGET",
    "RELATIVE_SHARE",
    "RESUME_SHARE",
    "WorkMeter",
    "pdf_cost",
    "distance_cost",
    "relax_cost",
    "fit_call_cost",
]

#: Default seconds of counted work per candidate group (``refine
#: --timeout``): its Wyckoff enumeration, fits and anisotropic stage;
#: :data:`RELATIVE_SHARE` of it again for a refit from a relative.  With
#: the top 6 on two cores that is at most 6 x (20 + 5) / 2 = 75 s of
#: counted work per core.
CANDIDATE_BUDGET = 20.0
#: Share of a candidate's budget for its refit from a relative (the
#: ranking's second round): the start is the relative's optimum, and a
#: quarter of 20 s buys as many fit evaluations as 12 s did before the
#: calculator's recurrence (``fit_call_cost``).
RELATIVE_SHARE = 0.25
#: Share of a candidate's budget for resuming its own fit that ran out
#: of budget on the way to a fit (the ranking's second round): a large
#: asymmetric unit converges slowly (alpha-Zr(HPO4)2.H2O, 56 free
#: parameters, needs about 45 s from its known structure), and only a
#: promising fit (Rw at most 0.3), usually the one of the true group,
#: gets it.
RESUME_SHARE = 2.0
#: Default seconds of counted work of Wyckoff enumeration per candidate
#: group (``refine --enumerate``), part of :data:`CANDIDATE_BUDGET`.
ENUMERATION_BUDGET = 10.0

#: Work around the PDFs, relaxations and distance searches (the
#: least-squares steps, ranking), as a factor on their estimated cost.
#: The costs were fitted to the 101,000 steps of the enumeration of the
#: true group of 15 structures of the synthetic refinement benchmark
#: (6 s each, one core of a 2-core x86_64 machine, the other idle); in
#: 8 s enumerations of the same 15 the counted seconds are then
#: 0.77-1.15 times the CPU seconds, median 0.98
#: (``benchmarks/enumeration.py`` measures it).
OVERHEAD = 1.1
#: A machine this many times slower than the calibration machine is
#: stopped by its CPU time, not by the counted work (both cores busy
#: made the CPU seconds of the same steps here 1.2-1.7 times longer).
SLOWER = 5.0
#: What the notes of a search or fit that :data:`SLOWER` stopped say.
CAPPED_NOTE = (
    f"stopped by CPU time: this machine is more than {SLOWER:g} times "
    "slower than the one the work estimates were measured on, so another "
    "run may stop at another step"
)


def pdf_cost(arrays, rmax):
    """Estimated CPU seconds of one screening PDF, its arrays included
    (one BLAS thread; :class:`WorkMeter`).

    .. math::

        t / \\mathrm{ms} = 0.46 + 0.083\\, r_\\mathrm{max}
            + 1.6\\, n_s \\rho \\left(r_\\mathrm{max} / 7\\right)^{0.42}
            + 0.003\\, N

    with :math:`r_\\mathrm{max}` in A, :math:`n_s` the symmetry-unique
    sites (the calculator sums the pairs of one atom per orbit),
    :math:`\\rho` the number density (atoms per A^3) and :math:`N` the
    atoms in the cell.
    """
    n = len(arrays["occ"])
    volume = abs(float(numpy.linalg.det(arrays["base"])))
    orbit = arrays.get("orbit")
    sites = len(numpy.unique(orbit)) if orbit is not None else n
    pairs = sites * n / volume * (rmax / 7.0) ** 0.42
    return 1e-3 * (0.46 + 0.083 * rmax + 1.6 * pairs + 0.003 * n)


def distance_cost(natoms):
    """Estimated CPU seconds of one
    :func:`~diffpy.sgpredict.refine.wyckoff_model.shortest_distance`
    of :math:`N` atoms, :math:`t/\\mathrm{ms} = 0.125 + 0.0011\\,
    N(N-1)/2`."""
    return 1e-3 * (0.125 + 0.0011 * natoms * (natoms - 1) / 2)


def relax_cost(natoms):
    """Estimated CPU seconds of one relaxation in the pair potential
    (:func:`~diffpy.sgpredict.refine.packing.relax_cell`, 80
    iterations) of :math:`N` atoms,
    :math:`t/\\mathrm{ms} = 21 + 1.3\\, N`."""
    return 1e-3 * (21.0 + 1.3 * natoms)


class WorkMeter:
    """The clock of a candidate's enumeration and fits: its work
    counted, not timed.

    Every PDF, relaxation and shortest-distance search of the
    enumeration adds its estimated cost (:func:`pdf_cost`,
    :func:`relax_cost`, :func:`distance_cost`) times :data:`OVERHEAD`
    (the rest of the work), every fit evaluation its
    :func:`fit_call_cost`, so that :meth:`now` tells roughly the CPU
    seconds used on the machine the costs were measured on, and a
    budget stops at the same step however busy or fast the machine is:
    the same data, composition and seed give the same structures.

    Measured CPU time still stops the search on a machine more than
    :data:`SLOWER` times slower: once the CPU seconds of this process
    since the meter started, divided by :data:`SLOWER`, exceed both the
    counted seconds and 1 s, :meth:`now` returns them instead
    (:attr:`capped` tells when that happened).

    Examples
    --------
    >>> meter = WorkMeter()
    >>> meter.charge(relax_cost(24))
    >>> round(meter.counted, 4)
    0.0574
    >>> meter.now() >= meter.counted
    True
    """

    def __init__(self):
        self.counted = 0.0
        self.capped = False
        self._cpu0 = time.process_time()

    def charge(self, seconds, overhead=OVERHEAD):
        """Count ``seconds`` of estimated CPU time, times ``overhead``
        (the work around it that the estimate leaves out)."""
        self.counted += overhead * seconds

    def now(self):
        """Seconds of work so far: the counted ones, or the measured
        CPU seconds over :data:`SLOWER` where these are more."""
        cpu = (time.process_time() - self._cpu0) / SLOWER
        if cpu > max(self.counted, 1.0):
            self.capped = True
            return cpu
        return self.counted


def fit_call_cost(natoms, nsites, volume, rmax):
    """Estimated CPU seconds of one evaluation of a candidate fit
    (the builtin generator's PDF and srfit's work around it).

    .. math::

        t / \\mathrm{ms} = \\left(1.76 + 11.0\\, n_s \\rho\\right)
            \\left(r_\\mathrm{max} / 20\\, \\mathrm{A}\\right)^3

    with :math:`n_s` the symmetry orbits the calculator sums over (the
    atoms, :math:`N`, when the ADPs are anisotropic) and :math:`\\rho`
    the number density (atoms per A^3).  Fitted to 26 fits of Wyckoff
    and prototype starts of the synthetic refinement benchmark (1-48
    atoms, 109-3510 evaluations each, fit range 1.5-20 A, one BLAS
    thread), each timed with this calculator and with the previous one
    in turn, so that the estimate is in the calibration machine's
    seconds however fast the machine ran that day; the least-squares
    coefficients times 0.92, so that the estimates add up to the CPU
    seconds of all 26: per fit the CPU seconds are 0.61-1.66 times the
    estimate (the previous calculator, 0.35-2.0 times
    :math:`0.88 + 44.3\\, n_s \\rho + 0.0042\\, N^2`: fits now cost
    0.23-0.98 times as much, median 0.41).  The estimate covers all of
    a fit's work, so it is charged without :data:`OVERHEAD`.  Other
    ranges are scaled by the number of pairs
    (:math:`\\propto r_\\mathrm{max}^3`), not measured.

    Examples
    --------
    >>> round(1e3 * fit_call_cost(24, 3, 405.1, 20.0), 2)
    3.72
    """
    rho = natoms / volume
    scale = (rmax / 20.0) ** 3
    return 1e-3 * (1.76 + 11.0 * nsites * rho) * scale
