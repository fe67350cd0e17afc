"""Plot of a fit: data, model and difference curve.

Examples
--------
>>> from diffpy.sgpredict.refine.plots import plot_fit
>>> plot_fit(result, "fit.png", "Fm-3m")  # doctest: +SKIP
"""

import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_fit"]


def plot_fit(result, path, title=""):
    """Write a PNG with the data, the fit and the difference curve.

    Examples
    --------
    >>> plot_fit(result, "fit.png", "Fm-3m")  # doctest: +SKIP
    """
    r = numpy.asarray(result["r"])
    gobs = numpy.asarray(result["gobs"])
    gcalc = numpy.asarray(result["gcalc"])
    diff = gobs - gcalc
    offset = gobs.min() - 0.1 * numpy.ptp(gobs) - diff.max()
    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(r, gobs, "o", ms=2.5, mfc="none", color="tab:blue", label="data")
    ax.plot(r, gcalc, "-", color="tab:red", lw=1.2, label="fit")
    ax.plot(r, diff + offset, "-", color="tab:green", lw=1, label="diff")
    ax.axhline(offset, color="0.6", lw=0.6, ls="--")
    ax.set_xlabel(r"r ($\mathrm{\AA}$)")
    ax.set_ylabel(r"G ($\mathrm{\AA}^{-2}$)")
    ax.set_title(f"{title}  Rw = {result['rw']:.4f}")
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return str(path)
