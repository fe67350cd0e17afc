"""Physically motivated features of a G(r), for the in-domain verdict.

The data are interpolated onto a uniform grid (step at most 0.05 A, up
to 30 A).  With :math:`r_1` the first peak of G(r) above half the
largest value below 6 A:

``fwhm``
    Full width at half maximum of that first peak (A).  A G(r) from
    data with :math:`Q_{max} \\le 40` A\\ :sup:`-1` has peaks at least
    about 0.15 A wide; F(Q), S(Q), I(Q) or noise read as G(r) are much
    sharper.
``q95``
    The Q (A\\ :sup:`-1`) below which 95 % of the power of G(r) lies,
    from the Fourier transform of G(r) itself: since
    :math:`G(r) = \\frac{2}{\\pi}\\int F(Q) \\sin(Qr)\\,dQ`, the power
    spectrum of G(r) is :math:`|F(Q)|^2` cut at the data's Qmax.  Noise
    and Q-space data have their power far beyond any measured Qmax;
    amorphous, molecular and low-Qmax data have little above 7
    A\\ :sup:`-1`.
``hf``
    Fraction of the power above Q = 45 A\\ :sup:`-1` (fine grids only):
    white noise.
``order``
    Long-range order: the r.m.s. of G(r) over 12-19.9 A divided by its
    r.m.s. over :math:`r_1` - 0.5 ... 7 A (each after removing a
    straight line).  Glasses and liquids have almost nothing beyond
    ~10 A.
``qfar``
    Mean spatial frequency (power-weighted Q, A\\ :sup:`-1`) of G(r) over
    10-19.9 A.  Peaks that broaden with r (amorphous, paracrystalline,
    the broad intermolecular peaks of molecular crystals) make it small;
    a crystal or a nanoparticle keeps sharp peaks out to its size.

These features are independent of the network;
:func:`diffpy.sgpredict.domain.check_domain` compares them with its
thresholds.
"""

import math

import numpy

__all__ = ["pdf_features"]

_UNIFORM_STEP = 0.05
_RFAR = (12.0, 19.9)
_RFAR_FREQ = (10.0, 19.9)
_RNEAR_END = 7.0


def _first_peak(ru, gu):
    """Return ``(position, height, fwhm)`` of the first strong peak."""
    m = (ru > 1.0) & (ru < 6.0)
    if m.sum() < 3:
        m = ru < 6.0
    rm, gm = ru[m], gu[m]
    top = gm.max()
    i = int(numpy.argmax(gm > 0.5 * top)) if top > 0 else int(gm.argmax())
    while i + 1 < len(gm) and gm[i + 1] >= gm[i]:
        i += 1
    height = gm[i]
    lo = i
    while lo > 0 and gm[lo] > height / 2:
        lo -= 1
    hi = i
    while hi + 1 < len(gm) and gm[hi] > height / 2:
        hi += 1
    return float(rm[i]), float(height), float(rm[hi] - rm[lo])


def _fast_length(n):
    """Return the power of two at or above ``n`` (a fast FFT length)."""
    return 1 << max(0, int(n) - 1).bit_length()


def _minus_line(x, y):
    """Return ``y`` minus its least-squares straight line in ``x``."""
    xc = x - x.mean()
    yc = y - y.mean()
    denom = float(xc @ xc)
    slope = float(xc @ yc) / denom if denom > 0 else 0.0
    return yc - slope * xc


def _detrended(ru, gu, lo, hi):
    s = (ru >= lo) & (ru <= hi)
    if s.sum() < 8:
        return None, None
    x, y = ru[s], gu[s]
    return x, _minus_line(x, y)


def _rms(ru, gu, lo, hi):
    _, y = _detrended(ru, gu, lo, hi)
    return float("nan") if y is None else float(numpy.sqrt(numpy.mean(y**2)))


def _mean_frequency(ru, gu, lo, hi):
    x, y = _detrended(ru, gu, lo, hi)
    if y is None or len(y) < 16:
        return float("nan")
    n = len(y)
    nfft = _fast_length(4 * n)
    spec = numpy.abs(numpy.fft.rfft(y * numpy.hanning(n), nfft)) ** 2
    q = 2 * math.pi * numpy.fft.rfftfreq(nfft, x[1] - x[0])
    m = (q > 1.0) & (q < 40.0)
    total = spec[m].sum()
    return float((spec[m] * q[m]).sum() / total) if total > 0 else 0.0


def pdf_features(r, g):
    """Return the model-independent features of a G(r).

    Parameters
    ----------
    r, g : array_like
        The PDF on any increasing grid (A, 1/A^2).

    Returns
    -------
    dict
        ``span``, ``rstep``, ``r1``, ``fwhm``, ``q95``, ``hf``,
        ``order``, ``qfar`` (see the module notes); NaN where the data
        do not reach far enough.

    Examples
    --------
    >>> import numpy
    >>> r = numpy.arange(0, 30, 0.01)
    >>> g = sum(numpy.exp(-0.5 * ((r - d) / 0.08) ** 2)
    ...         for d in numpy.arange(2.5, 31, 1.25)) - 0.1 * r
    >>> f = pdf_features(r, g)
    >>> round(f["r1"], 2), round(f["fwhm"], 2), round(f["order"], 2)
    (2.5, 0.16, 0.98)
    """
    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    rstep = float((r[-1] - r[0]) / (len(r) - 1))
    feats = {"span": float(numpy.ptp(g)), "rstep": rstep}
    nan = float("nan")
    if feats["span"] <= 1e-12 * max(1.0, float(numpy.abs(g).max())):
        feats.update(r1=nan, fwhm=nan, q95=nan, hf=nan, order=nan, qfar=nan)
        return feats
    dr = min(rstep, _UNIFORM_STEP)
    ru = numpy.arange(r[0], min(r[-1], 30.0), dr)
    gu = numpy.interp(ru, r, g)
    r1, _, fwhm = _first_peak(ru, gu)
    feats.update(r1=r1, fwhm=fwhm)
    n = len(gu)
    x = _minus_line(ru, gu)
    nfft = _fast_length(4 * n)
    spec = numpy.abs(numpy.fft.rfft(x * numpy.hanning(n), nfft)) ** 2
    q = 2 * math.pi * numpy.fft.rfftfreq(nfft, dr)
    s = q > 1.5
    cum = numpy.cumsum(spec[s])
    total = cum[-1] if len(cum) else 0.0
    if total > 0:
        feats["q95"] = float(q[s][numpy.searchsorted(cum / total, 0.95)])
        feats["hf"] = (
            float(spec[q > 45.0].sum() / total) if q[-1] > 60.0 else nan
        )
    else:
        feats["q95"] = feats["hf"] = nan
    near = _rms(ru, gu, max(r1 - 0.5, ru[0]), _RNEAR_END)
    far = _rms(ru, gu, *_RFAR)
    feats["order"] = far / near if near > 0 else nan
    feats["qfar"] = _mean_frequency(ru, gu, *_RFAR_FREQ)
    return feats
