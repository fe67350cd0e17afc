"""The measured PDF of a refinement: cut to the fit range, with its
settings (Qmax, Qmin, Qdamp, Qbroad, radiation) from the file header or
stated defaults.

Examples
--------
>>> import numpy
>>> from types import SimpleNamespace
>>> from diffpy.sgpredict.refine.fitdata import prepare_data
>>> r = numpy.arange(0, 30, 0.01)
>>> prepare_data(SimpleNamespace(r=r, g=numpy.sin(r), meta={})).notes[0]
'Qmax not in the data header; using the default 25 1/A (set it with --qmax)'
"""

import math

import numpy

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.io import header_radiation, load_pdf

__all__ = [
    "FitData",
    "prepare_data",
    "DEFAULT_QMAX",
    "DEFAULT_QDAMP",
    "RADIATIONS",
]

#: Qmax (1/A) assumed when the data header does not give one.
DEFAULT_QMAX = 25.0
#: Starting Qdamp (1/A) when the header does not give one (refined).
DEFAULT_QDAMP = 0.04
#: Radiations a refinement can compute (``--radiation``).
RADIATIONS = ("xray", "neutron")


class FitData:
    """The measured PDF cut to the fit range, with its settings.

    Attributes
    ----------
    r, g : numpy.ndarray
        Fit range of the data (every ``step``-th point).
    qmax, qmin, qdamp, qbroad : float
        Settings of the measurement (header or stated defaults).
    scattering : str
        ``"xray"`` or ``"neutron"``.
    notes : list of str
        Defaults that were used, in words.
    path : str
        The data file.
    """

    def __init__(self, r, g, qmax, qmin, qdamp, qbroad, scattering, notes):
        self.r = r
        self.g = g
        self.qmax = qmax
        self.qmin = qmin
        self.qdamp = qdamp
        self.qbroad = qbroad
        self.scattering = scattering
        self.notes = notes
        self.path = None


def prepare_data(
    data, rmin=1.5, rmax=20.0, rstep=0.02, qmax=None, radiation=None
):
    """Cut a measured PDF to the fit range and read its settings.

    Parameters
    ----------
    data : str, path or object with ``.r``, ``.g``, ``.meta``
        The measured PDF or its file.
    rmin, rmax : float
        Fit range in A.
    rstep : float
        Smallest point spacing used in the fit; denser data are thinned
        by an integer factor (the PDF is oversampled anyway).
    qmax : float, optional
        Overrides the header's Qmax.
    radiation : {"xray", "neutron"}, optional
        Overrides what the header says (read by
        :func:`diffpy.sgpredict.io.header_radiation`); when neither
        says, the data are fitted as X-ray data, with a note.

    Returns
    -------
    FitData

    Examples
    --------
    >>> import numpy
    >>> from types import SimpleNamespace
    >>> r = numpy.arange(0, 30, 0.01)
    >>> d = prepare_data(SimpleNamespace(r=r, g=numpy.sin(r), meta={}))
    >>> d.qmax, float(round(d.r[0], 2)), float(round(d.r[1] - d.r[0], 2))
    (25.0, 1.5, 0.02)
    """
    path = None
    if not hasattr(data, "r"):
        path = str(data)
        data = load_pdf(data)
    meta = {k.lower(): v for k, v in (getattr(data, "meta", {}) or {}).items()}
    r = numpy.asarray(data.r, dtype=float)
    g = numpy.asarray(data.g, dtype=float)
    notes = []
    if meta.get("composition_ignored"):
        notes.append(meta["composition_ignored"])
    if qmax is None:
        qmax = meta.get("qmax")
    if qmax is None or not qmax or not math.isfinite(float(qmax)):
        qmax = DEFAULT_QMAX
        notes.append(
            f"Qmax not in the data header; using the default "
            f"{DEFAULT_QMAX:g} 1/A (set it with --qmax)"
        )
    qdamp = meta.get("qdamp")
    if not qdamp:
        qdamp = DEFAULT_QDAMP
        notes.append(f"Qdamp starts at the default {DEFAULT_QDAMP:g} 1/A")
    qbroad = float(meta.get("qbroad") or 0.0)
    qmin = float(meta.get("qmin") or 0.0)
    scattering = radiation or meta.get("radiation")
    scattering = scattering or header_radiation("", meta)
    if scattering is None:
        scattering = "xray"
        notes.append(
            "radiation not in the data header; fitted as X-ray data "
            "(give --radiation neutron for neutron data)"
        )
    elif scattering not in RADIATIONS:
        raise InputError(
            f"radiation must be one of {', '.join(RADIATIONS)}, not "
            f"{scattering!r}"
        )
    keep = (r >= rmin - 1e-9) & (r <= rmax + 1e-9)
    if keep.sum() < 20:
        raise InputError(
            f"{path or 'data'}: fewer than 20 points between {rmin} and "
            f"{rmax} A; widen the fit range"
        )
    r, g = r[keep], g[keep]
    dr = float(numpy.median(numpy.diff(r)))
    every = max(1, int(round(rstep / dr))) if dr > 0 else 1
    r, g = r[::every], g[::every]
    out = FitData(
        r, g, float(qmax), qmin, float(qdamp), qbroad, scattering, notes
    )
    out.path = path
    return out
