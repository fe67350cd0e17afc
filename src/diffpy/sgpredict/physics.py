"""Training PDFs computed the way a measured PDF reaches the model.

A measured G(r) is the sine Fourier transform of a structure function
cut at the sample's :math:`Q_{max}`; it carries the instrument's
resolution (:math:`Q_{damp}`, :math:`Q_{broad}`), the thermal motion of
each element, correlated motion of near neighbours, the size of the
crystallites and the radiation's scattering weights (X-ray form factors
or neutron scattering lengths, which can be negative).  The reading code
(:mod:`diffpy.sgpredict.io`) then resamples it onto the 209-point model
grid with :func:`diffpy.sgpredict.grid.resample`.

:func:`physical_pdf` does the same for a crystal: the PDF is computed on
a fine grid (:data:`FINE_RSTEP`, far above every Nyquist limit in use)
with a true :math:`Q_{max}` termination, multiplied by the particle
envelope and resampled by the same function.  :class:`PhysicsRanges`
holds the ranges the settings of each training row are drawn from
(:func:`draw_physics`).

Noise, scale, slow background residues and the point where the data end
are drawn anew for every batch during training
(:mod:`diffpy.sgpredict.augment`).

Examples
--------
>>> import numpy
>>> from diffpy.sgpredict.structures import Crystal
>>> ni = Crystal(numpy.eye(3) * 3.52, [[0, 0, 0], [0, .5, .5],
...     [.5, 0, .5], [.5, .5, 0]], ["Ni"] * 4)
>>> p = draw_physics(numpy.random.default_rng(0))
>>> r, g = physical_pdf(ni, p)
>>> g.shape
(209,)
"""

import math
from dataclasses import asdict, dataclass

import numpy

from diffpy.sgpredict.grid import MODEL_GRID, resample
from diffpy.sgpredict.pdfcalc.builtin import pdf_from_arrays
from diffpy.sgpredict.pdfcalc.scattering import scattering_weight

__all__ = [
    "FINE_RSTEP",
    "PhysicsRanges",
    "draw_physics",
    "physical_pdf",
    "spherical_envelope",
]

#: Step of the fine grid the PDFs are computed on (A).  Its Nyquist
#: limit :math:`\pi / \Delta r` = 105 1/A is far above any Qmax drawn.
FINE_RSTEP = 0.03


def spherical_envelope(r, diameter):
    """Shape factor of a spherical particle of ``diameter`` (A).

    .. math::

        \\gamma_0(r) = \\left(1 - \\frac{3}{2}\\frac{r}{d}
        + \\frac{1}{2}\\frac{r^3}{d^3}\\right) \\Theta(d - r)

    Works on numpy arrays and torch tensors alike; ``diameter`` may be
    an array broadcastable against ``r``.  A diameter of 0 or infinity
    means bulk (1 everywhere).

    Examples
    --------
    >>> spherical_envelope(numpy.array([0.0, 10.0, 20.0]), 20.0).tolist()
    [1.0, 0.3125, 0.0]
    >>> spherical_envelope(numpy.array([5.0]), 0.0).tolist()
    [1.0]
    """
    d = diameter
    if numpy.ndim(d) == 0:
        if not d or d <= 0 or math.isinf(d):
            return r * 0 + 1.0
    x = r / d
    inside = x < 1
    return (1 - 1.5 * x + 0.5 * x**3) * inside


@dataclass(frozen=True)
class PhysicsRanges:
    """Ranges of the settings drawn for each training row.

    Every value is drawn uniformly in its range unless said otherwise.

    Attributes
    ----------
    p_neutron : float
        Probability that the row is a neutron PDF (else X-ray).
    qmax : (float, float)
        :math:`Q_{max}` of the termination (1/A).
    qmin : (float, float)
        :math:`Q_{min}` (1/A).
    qdamp, qbroad : (float, float)
        Instrument resolution (1/A).
    uiso : (float, float)
        Mean isotropic displacement, drawn log-uniformly (A^2).
    uiso_spread : (float, float)
        Factor applied per element to the mean, then clipped to
        ``uiso_limits``.
    uiso_limits : (float, float)
        Smallest and largest Uiso of any element (A^2).
    p_delta2, delta2 : float, (float, float)
        Probability and range of correlated motion :math:`\\delta_2`
        (A^2).
    p_particle, diameter : float, (float, float)
        Probability of a spherical nanoparticle and its diameter range,
        drawn log-uniformly (A).
    strain : (float, float)
        Isotropic lattice strain (PBE lattices are 1-3 % too large).

    Examples
    --------
    >>> PhysicsRanges().qmax
    (14.0, 40.0)
    """

    p_neutron: float = 0.4
    qmax: tuple = (14.0, 40.0)
    qmin: tuple = (0.1, 1.0)
    qdamp: tuple = (0.01, 0.08)
    qbroad: tuple = (0.0, 0.05)
    uiso: tuple = (0.003, 0.02)
    uiso_spread: tuple = (0.6, 1.6)
    uiso_limits: tuple = (0.002, 0.03)
    p_delta2: float = 0.5
    delta2: tuple = (0.0, 4.0)
    p_particle: float = 0.2
    diameter: tuple = (15.0, 200.0)
    strain: tuple = (-0.04, 0.04)

    def to_dict(self):
        """Return the ranges as a JSON-ready dictionary."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
        }


def _loguniform(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def draw_physics(rng, ranges=None, elements=(), radiation=None):
    """Draw the settings of one training row.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    ranges : PhysicsRanges, optional
        Default :class:`PhysicsRanges`.
    elements : sequence of str
        Elements of the crystal; each gets its own Uiso.
    radiation : {"xray", "neutron"}, optional
        Fix the radiation instead of drawing it.

    Returns
    -------
    dict
        ``radiation``, ``qmax``, ``qmin``, ``qdamp``, ``qbroad``,
        ``delta1``, ``delta2``, ``particle_diameter`` (0 = bulk),
        ``strain``, ``uiso`` (the mean) and ``uiso_by_element``.

    Examples
    --------
    >>> p = draw_physics(numpy.random.default_rng(1), elements=["Ti", "O"])
    >>> sorted(p["uiso_by_element"])
    ['O', 'Ti']
    >>> 14 <= p["qmax"] <= 40
    True
    """
    c = ranges or PhysicsRanges()
    # every value is drawn, so the stream does not depend on outcomes
    u = rng.random(3)
    out = {
        "radiation": radiation
        or ("neutron" if u[0] < c.p_neutron else "xray"),
        "qmax": float(rng.uniform(*c.qmax)),
        "qmin": float(rng.uniform(*c.qmin)),
        "qdamp": float(rng.uniform(*c.qdamp)),
        "qbroad": float(rng.uniform(*c.qbroad)),
        "delta1": 0.0,
        "delta2": float(rng.uniform(*c.delta2)),
        "particle_diameter": _loguniform(rng, *c.diameter),
        "strain": float(rng.uniform(*c.strain)),
        "uiso": _loguniform(rng, *c.uiso),
    }
    if u[1] >= c.p_delta2:
        out["delta2"] = 0.0
    if u[2] >= c.p_particle:
        out["particle_diameter"] = 0.0
    lo, hi = c.uiso_limits
    out["uiso_by_element"] = {
        el: float(
            numpy.clip(out["uiso"] * rng.uniform(*c.uiso_spread), lo, hi)
        )
        for el in sorted(set(elements))
    }
    return out


def physical_pdf(crystal, physics, grid=MODEL_GRID, rstep=FINE_RSTEP):
    """G(r) of a crystal as a measurement with these settings gives it.

    The steps: the lattice is strained by :math:`1 + \\epsilon`; each
    element gets its Uiso and the radiation's scattering weight; G is
    computed on a fine grid from below ``grid.rmin`` to above
    ``grid.rmax`` with the Jeong peak width

    .. math::

        \\sigma_{ij} = \\sqrt{U_i + U_j}\\,\\sqrt{1 - \\delta_2 / r_{ij}^2
        + Q_{broad}^2 r_{ij}^2},

    band-limited to :math:`Q_{min} \\le Q \\le Q_{max}` (the termination
    ripples of measured data), damped by
    :math:`\\exp(-(Q_{damp} r)^2 / 2)`, multiplied by the particle
    envelope (:func:`spherical_envelope`) and resampled onto ``grid``
    with :func:`diffpy.sgpredict.grid.resample`, the function that
    resamples measured files.

    Parameters
    ----------
    crystal : diffpy.sgpredict.structures.Crystal
        The crystal.
    physics : dict
        From :func:`draw_physics`.
    grid : diffpy.sgpredict.grid.RGrid
        Output grid (default: the model grid).
    rstep : float
        Step of the fine grid (A).

    Returns
    -------
    r, g : numpy.ndarray
        The output grid and G on it.
    """
    strain = 1.0 + float(physics.get("strain", 0.0))
    species = list(crystal.species)
    cache = {}
    for el in set(species):
        cache[el] = scattering_weight(el, physics["radiation"])
    ubyel = physics.get("uiso_by_element") or {}
    umean = float(physics.get("uiso", 0.008))
    arrays = {
        "base": numpy.asarray(crystal.lattice, dtype=float) * strain,
        "frac": numpy.asarray(crystal.frac, dtype=float),
        "occ": numpy.asarray(crystal.occupancy, dtype=float),
        "weight": numpy.array([cache[s] for s in species]),
        "uiso": numpy.array([ubyel.get(s, umean) for s in species]),
        "ucart": None,
        "labels": species,
    }
    lo = rstep
    hi = grid.rmax + 0.6
    r, g = pdf_from_arrays(
        arrays,
        rmin=lo,
        rmax=hi,
        rstep=rstep,
        qmin=float(physics["qmin"]),
        qmax=float(physics["qmax"]),
        qdamp=float(physics["qdamp"]),
        qbroad=float(physics["qbroad"]),
        delta1=float(physics.get("delta1", 0.0)),
        delta2=float(physics.get("delta2", 0.0)),
    )
    g = g * spherical_envelope(r, float(physics.get("particle_diameter", 0)))
    return grid.r, resample(r, g, grid.r)
