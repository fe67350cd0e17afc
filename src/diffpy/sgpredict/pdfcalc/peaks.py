"""Gaussian peaks of the PDF: their widths, extent and sum on a grid.

.. math::

    \\sigma_{ij} = \\sqrt{u_i + u_j}\\;
        \\sqrt{1 - \\frac{\\delta_1}{d_{ij}} - \\frac{\\delta_2}{d_{ij}^2}
        + Q_{broad}^2 d_{ij}^2}

(:func:`peak_width`); each peak is evaluated where the unit-area
Gaussian exceeds :data:`PEAK_PRECISION` (:func:`peak_bound`), and
:func:`gaussian_sum` adds them on a regular grid.
"""

import math

import numpy

__all__ = ["PEAK_PRECISION", "peak_width", "peak_bound", "gaussian_sum"]

PEAK_PRECISION = 3.33e-6
"""Peaks are evaluated where the unit-area Gaussian exceeds this."""

_SQRT2PI = math.sqrt(2.0 * math.pi)


def peak_width(d, msd, delta1=0.0, delta2=0.0, qbroad=0.0):
    """Return the Gaussian width of pair peaks.

    .. math::

        \\sigma = \\sqrt{m}\\,\\sqrt{1 - \\delta_1/d - \\delta_2/d^2
            + Q_{broad}^2 d^2}

    where :math:`m = u_i + u_j` is the summed mean-square displacement
    of the pair along its direction.

    Parameters
    ----------
    d : array_like
        Pair distances in A (positive).
    msd : array_like
        :math:`u_i + u_j` in A^2.
    delta1, delta2, qbroad : float
        Correlated-motion and resolution broadening parameters.

    Returns
    -------
    numpy.ndarray
        :math:`\\sigma` in A; 0 where the bracket or ``msd`` is not
        positive (such pairs contribute nothing).

    Examples
    --------
    >>> round(float(peak_width(2.0, 0.016, qbroad=0.01)) ** 2, 10)
    0.0160064
    """
    d = numpy.asarray(d, dtype=float)
    msd = numpy.asarray(msd, dtype=float)
    bracket = 1.0 + (qbroad * d) ** 2
    if delta1:
        bracket = bracket - delta1 / d
    if delta2:
        bracket = bracket - delta2 / (d * d)
    s2 = msd * bracket
    return numpy.sqrt(numpy.where((bracket > 0) & (msd > 0), s2, 0.0))


def peak_bound(sigma, precision=PEAK_PRECISION):
    """Return the half-width where a unit-area Gaussian drops to
    ``precision``.

    .. math::

        x_b = \\sigma \\sqrt{-2 \\ln(\\epsilon \\sqrt{2\\pi}\\,\\sigma)}

    Parameters
    ----------
    sigma : array_like
        Gaussian widths in A.
    precision : float
        The cut-off value :math:`\\epsilon` of the profile.

    Returns
    -------
    numpy.ndarray
        :math:`x_b` in A; 0 for non-positive widths.

    Examples
    --------
    >>> round(float(peak_bound(0.1265)), 3)
    0.664
    """
    sigma = numpy.asarray(sigma, dtype=float)
    safe = numpy.where(sigma > 0, sigma, 1.0)
    arg = -2.0 * numpy.log(precision * _SQRT2PI * safe)
    return numpy.where((sigma > 0) & (arg > 0), safe, 0.0) * numpy.sqrt(
        numpy.maximum(arg, 0.0)
    )


def gaussian_sum(klo, khi, rstep, d, sigma, amp, precision=PEAK_PRECISION):
    """Sum Gaussian peaks on the grid points ``k * rstep``, klo <= k < khi.

    .. math::

        g_k = \\sum_p \\frac{A_p}{\\sqrt{2\\pi}\\,\\sigma_p}
            \\exp\\left(-\\frac{(k\\Delta r - d_p)^2}{2\\sigma_p^2}\\right)

    Each peak is evaluated only where it exceeds ``precision`` (see
    :func:`peak_bound`); peaks of zero width are skipped.

    Parameters
    ----------
    klo, khi : int
        Index range of the grid.
    rstep : float
        Grid step in A.
    d, sigma, amp : array_like
        Peak centres, widths and areas.
    precision : float, optional
        Profile cut-off.

    Returns
    -------
    numpy.ndarray
        ``khi - klo`` values.

    Examples
    --------
    >>> g = gaussian_sum(0, 5, 0.5, [1.0], [0.5], [1.0])
    >>> numpy.round(g, 4).tolist()
    [0.108, 0.4839, 0.7979, 0.4839, 0.108]
    """
    d = numpy.asarray(d, dtype=float)
    sigma = numpy.asarray(sigma, dtype=float)
    amp = numpy.asarray(amp, dtype=float)
    nk = khi - klo
    keep = (sigma > 0) & (amp != 0)
    if not keep.all():
        d, sigma, amp = d[keep], sigma[keep], amp[keep]
    if nk <= 0 or d.size == 0:
        return numpy.zeros(max(nk, 0))
    xb = peak_bound(sigma, precision)
    lo = numpy.maximum(numpy.ceil((d - xb) / rstep), klo).astype(numpy.int64)
    hi = numpy.minimum(numpy.floor((d + xb) / rstep), khi - 1)
    n = numpy.maximum(hi.astype(numpy.int64) - lo + 1, 0)
    total = int(n.sum())
    if total == 0:
        return numpy.zeros(nk)
    start = numpy.cumsum(n) - n
    owner = numpy.repeat(numpy.arange(d.size), n)
    k = numpy.arange(total) - (start - lo)[owner]
    x = k * rstep - d[owner]
    coef = amp / (_SQRT2PI * sigma)
    expo = -0.5 / (sigma * sigma)
    val = coef[owner] * numpy.exp(x * x * expo[owner])
    return numpy.bincount(k - klo, weights=val, minlength=nk)[:nk]
