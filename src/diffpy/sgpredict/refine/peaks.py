"""Peak positions of a PDF, used to scale starting structures.

Examples
--------
>>> import numpy
>>> from diffpy.sgpredict.refine.peaks import first_strong_peak
>>> r = numpy.linspace(0, 10, 1001)
>>> round(first_strong_peak(r, numpy.exp(-((r - 2.5) ** 2) / 0.01)), 2)
2.5
"""

import numpy

__all__ = ["first_strong_peak"]


def first_strong_peak(r, g, rmin=1.0, fraction=0.3):
    """Return the position of the first strong peak of a PDF.

    The first local maximum above ``rmin`` whose height is at least
    ``fraction`` of the largest value of G beyond ``rmin``; refined by a
    parabola through the three top points.

    Parameters
    ----------
    r, g : array_like
        The PDF.
    rmin : float
        Ignore everything below this distance (termination ripples).
    fraction : float
        Relative height that makes a peak strong.

    Returns
    -------
    float or None

    Examples
    --------
    >>> r = numpy.linspace(0, 10, 1001)
    >>> g = numpy.exp(-((r - 2.5) ** 2) / 0.01) + 0.1 * numpy.sin(3 * r)
    >>> round(first_strong_peak(r, g), 2)
    2.5
    """
    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    keep = r >= rmin
    r, g = r[keep], g[keep]
    if len(r) < 5:
        return None
    top = numpy.max(g)
    if top <= 0:
        return None
    for i in range(1, len(g) - 1):
        if g[i] >= fraction * top and g[i] >= g[i - 1] and g[i] > g[i + 1]:
            y0, y1, y2 = g[i - 1], g[i], g[i + 1]
            den = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            return float(r[i] + shift * (r[i + 1] - r[i - 1]) / 2)
    return None
