"""Model input: the r-grid of the model, resampling and normalisation.

The paper's network reads G(r) on the diffpy.srreal grid of its Table 2
settings, ``r_k = k * pi / 23`` for the integers ``k`` with
``1.5 <= r_k < 30``: 209 points from 1.5025 to 29.913 A.  Measured data
are resampled onto that grid and min-max normalised (eq. 4 of Liu et al.
2019):

.. math::

    X_k = \\frac{G(r_k) - \\min_j G(r_j)}{\\max_j G(r_j) - \\min_j G(r_j)}

Data that end before 30 A (many neutron PDFs stop at 20 A) are padded
with zeros beyond their last point *after* normalisation, and the number
of valid points travels with the array, so that a model trained with the
same padding sees what it was taught.
"""

import math
from dataclasses import dataclass

import numpy

from diffpy.sgpredict.errors import InputError

__all__ = [
    "RGrid",
    "grid_indices",
    "MODEL_GRID",
    "MIN_RMAX",
    "srreal_grid",
    "resample",
    "normalize",
    "to_model_input",
    "quadratic_features",
]


def grid_indices(rmin, rmax, rstep):
    """Return the integer range of the srreal r-grid.

    The grid points are :math:`r_k = k\\,\\Delta r` for the integers
    :math:`k_{lo} \\le k < k_{hi}`, i.e. the whole multiples of the step
    with :math:`r_{min} \\le r_k < r_{max}`.

    Parameters
    ----------
    rmin, rmax, rstep : float
        Range and step in A.

    Returns
    -------
    tuple of int
        ``(klo, khi)``.

    Examples
    --------
    >>> grid_indices(1.5, 30.0, math.pi / 23)
    (11, 220)
    """
    if rstep <= 0:
        raise ValueError(f"rstep must be positive, got {rstep}")
    eps = 1e-10
    klo = max(0, math.ceil(rmin / rstep - eps))
    khi = max(klo, math.ceil(rmax / rstep - eps))
    return klo, khi


def srreal_grid(rmin, rmax, rstep):
    """Return the r-grid diffpy.srreal uses for given settings.

    srreal places points at whole multiples of ``rstep`` inside
    ``[rmin, rmax)``: :math:`r_k = k\\,\\Delta r`, for integer ``k`` with
    :math:`r_{min} \\le r_k < r_{max}`.

    Parameters
    ----------
    rmin, rmax, rstep : float
        Range and step in A.

    Returns
    -------
    numpy.ndarray
        The grid points.

    Examples
    --------
    >>> r = srreal_grid(1.5, 30.0, math.pi / 23)
    >>> len(r), round(float(r[0]), 4), round(float(r[-1]), 4)
    (209, 1.5025, 29.9134)
    """
    klo, khi = grid_indices(rmin, rmax, rstep)
    return numpy.arange(klo, khi) * rstep


@dataclass(frozen=True)
class RGrid:
    """An r-grid in the srreal convention.

    Attributes
    ----------
    rmin, rmax, rstep : float
        Range ``[rmin, rmax)`` and step in A.

    Examples
    --------
    >>> MODEL_GRID.npoints
    209
    """

    rmin: float = 1.5
    rmax: float = 30.0
    rstep: float = math.pi / 23.0

    @property
    def r(self):
        """The grid points (numpy array)."""
        return srreal_grid(self.rmin, self.rmax, self.rstep)

    @property
    def npoints(self):
        """The number of points."""
        return len(self.r)

    def to_dict(self):
        """Return the settings as a plain dictionary."""
        return {"rmin": self.rmin, "rmax": self.rmax, "rstep": self.rstep}


MODEL_GRID = RGrid()

#: Data must reach at least this r (A) to be used; the model's grid
#: beyond the data is padded with zeros (as in training, where the data
#: end anywhere from 20 to 30 A).
MIN_RMAX = 19.9


def resample(r, g, rgrid):
    """Resample G(r) onto another grid by cubic-spline interpolation.

    Grid points outside the range of ``r`` are returned as NaN, so the
    caller decides how to treat them.

    Parameters
    ----------
    r, g : array_like
        Input grid (increasing) and values.
    rgrid : array_like
        Target grid.

    Returns
    -------
    numpy.ndarray
        ``g`` on ``rgrid``.

    Examples
    --------
    >>> r = numpy.linspace(0, 10, 1001)
    >>> out = resample(r, numpy.sin(r), [1.0, 2.0, 11.0])
    >>> numpy.round(out[:2], 6).tolist(), bool(numpy.isnan(out[2]))
    ([0.841471, 0.909297], True)
    """
    # scipy.interpolate costs 0.6 s to import (measured after numpy and
    # torch): only when a file is not already on the model grid
    from scipy.interpolate import CubicSpline

    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    rgrid = numpy.asarray(rgrid, dtype=float)
    out = numpy.full(rgrid.shape, numpy.nan)
    inside = (rgrid >= r[0] - 1e-9) & (rgrid <= r[-1] + 1e-9)
    if inside.any():
        out[inside] = CubicSpline(r, g)(rgrid[inside])
    return out


def normalize(g, axis=-1):
    """Min-max normalise to [0, 1] (eq. 4 of Liu et al. 2019).

    NaN entries are ignored for the minimum and maximum and kept as NaN.

    Parameters
    ----------
    g : array_like
        One PDF or a stack of PDFs along ``axis``.
    axis : int
        Axis along which each PDF runs.

    Returns
    -------
    numpy.ndarray
        Normalised array; a flat input gives zeros.

    Examples
    --------
    >>> normalize([-2.0, 0.0, 2.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    g = numpy.asarray(g, dtype=float)
    lo = numpy.nanmin(g, axis=axis, keepdims=True)
    hi = numpy.nanmax(g, axis=axis, keepdims=True)
    span = hi - lo
    span = numpy.where(span > 0, span, 1.0)
    return (g - lo) / span


def to_model_input(r, g, grid=MODEL_GRID, min_rmax=MIN_RMAX, name="<array>"):
    """Turn G(r) on any grid into the model's normalised input.

    G(r) is resampled onto ``grid`` by cubic spline, min-max normalised
    over the points the data cover (eq. 4), and padded with zeros beyond
    the last data point.  This is the one path from data to network
    input, used by prediction, evaluation and training alike.

    Parameters
    ----------
    r, g : array_like
        The PDF; ``r`` increasing, in A.
    grid : RGrid
        The model grid.
    min_rmax : float
        The data must reach at least this r (A); many neutron PDFs stop
        at 20 A.
    name : str
        Name of the data used in error messages.

    Returns
    -------
    x : numpy.ndarray
        Normalised input on ``grid`` (float32, values in [0, 1]).
    nvalid : int
        How many leading points of ``x`` come from data.

    Raises
    ------
    diffpy.sgpredict.errors.InputError
        When the data do not cover the grid from its start up to
        ``min_rmax``.

    Examples
    --------
    >>> r = numpy.arange(0, 30.01, 0.01)
    >>> x, n = to_model_input(r, numpy.sin(3 * r))
    >>> x.shape, n, float(x.min()), float(x.max())
    ((209,), 209, 0.0, 1.0)
    >>> r = numpy.arange(0, 20.005, 0.01)
    >>> x, n = to_model_input(r, numpy.sin(4 * r) - 0.1 * r)
    >>> n, float(x[n:].max())
    (136, 0.0)
    """
    r = numpy.asarray(r, dtype=float)
    rg = grid.r
    if r[0] > rg[0] + 1e-6 or r[-1] < min_rmax - 1e-6:
        # r in nm: a PDF to 2-4 "A" whose tenfold range would do
        nm = r[-1] < 5.0 and 10 * r[-1] >= min_rmax - 1e-6
        hint = " (r looks like nm: multiply it by 10)" if nm else ""
        raise InputError(
            f"{name}: data cover r = {r[0]:.4g}-{r[-1]:.4g} A, but the model "
            f"needs at least {rg[0]:.4g}-{min_rmax:.4g} A (best up to "
            f"{rg[-1]:.4g} A){hint}; give a PDF over a wider r-range"
        )
    gg = resample(r, g, rg)
    valid = ~numpy.isnan(gg)
    x = normalize(gg)
    x[~valid] = 0.0
    return x.astype(numpy.float32), int(valid.sum())


def quadratic_features(x):
    """Return the quadratic features :math:`X_i X_j` for ``j > i``.

    The features of the paper's logistic-regression baseline.

    Parameters
    ----------
    x : array_like
        Shape ``(n, m)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, m (m - 1) / 2)``.

    Examples
    --------
    >>> quadratic_features(numpy.array([[1.0, 2.0, 3.0]])).tolist()
    [[2.0, 3.0, 6.0]]
    """
    x = numpy.atleast_2d(numpy.asarray(x, dtype=numpy.float32))
    i, j = numpy.triu_indices(x.shape[1], k=1)
    return x[:, i] * x[:, j]
