"""Is this one crystalline phase of the kind the model knows?

:func:`check_domain` gives every prediction an *in-domain verdict*: a
yes/no answer with the reasons, from a few physically motivated features
of the measured G(r) (independent of the network), the measurement
settings in the file header, and the agreement of the ensemble members.

Features of the data
--------------------
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

From the model: ``disagreement``, the mutual information between the
ensemble members' predictions, :math:`H(\\bar p) - \\overline{H(p_m)}`
(nats), large when the members disagree on data unlike their training
(mixtures, unfamiliar structures).

The score
---------
Each check turns its feature into a ratio to its threshold that is 1 at
the threshold and grows with the distance beyond it
(``threshold / value`` for lower bounds, ``value / threshold`` for upper
bounds); header checks (Qmax outside the training range, radiation not
covered, a coarse r-grid) count 2 when they fail.  The *domain score* is
the largest ratio, and the data are out of domain when it reaches 1.
The thresholds of :class:`DomainThresholds` were set on 120 simulated
PDFs of the 164 public structures of ``shared/data/structures`` with
random Qmax 14-40, Qdamp, Qbroad, Uiso, noise and r-range (none
flagged; the 1st/99th percentiles of each feature lie inside the
thresholds), then checked on the 21 measured PDFs of
``shared/data/exp_pdfs`` (1 flagged: CdSe at Qmax 9) and a simulated
out-of-domain set (``benchmarks/domain_eval.py``).

Examples
--------
>>> import numpy
>>> r = numpy.arange(0, 30, 0.01)
>>> noise = numpy.random.default_rng(0).normal(size=r.size)
>>> verdict = check_domain(r, noise)
>>> verdict.in_domain
False
>>> verdict.warnings[0][:40]
'not a G(r): the signal varies faster tha'
"""

import math
from dataclasses import dataclass, field

import numpy

__all__ = [
    "DomainLimits",
    "DomainThresholds",
    "DomainVerdict",
    "pdf_features",
    "check_domain",
    "ensemble_disagreement",
]

_UNIFORM_STEP = 0.05
_RFAR = (12.0, 19.9)
_RFAR_FREQ = (10.0, 19.9)
_RNEAR_END = 7.0


@dataclass(frozen=True)
class DomainLimits:
    """What the model was trained on: the envelope of its inputs.

    Attributes
    ----------
    qmax_range : tuple of float
        Lowest and highest Qmax (1/A) seen in training.
    radiation : tuple of str
        Radiation types the training PDFs were computed for.
    max_rstep : float
        The coarsest data step (A) that still resolves the model grid.
    radiation_input : bool
        True when the model itself takes a radiation flag.

    Examples
    --------
    >>> DomainLimits().qmax_range
    (14.0, 40.0)
    >>> DomainLimits.from_card({"input": {}}).radiation
    ('xray',)
    """

    qmax_range: tuple = (14.0, 40.0)
    radiation: tuple = ("xray",)
    max_rstep: float = math.pi / 23.0
    radiation_input: bool = False

    @classmethod
    def from_card(cls, card):
        """Read the limits from a model card (defaults where it is silent).

        The Qmax range is the widest of the training data ranges and the
        augmentation range of the recipe; the radiation is the
        ``scattering`` of the training data, or both kinds when the card
        says the model takes a radiation input
        (``card["inputs"]["radiation"]`` or
        ``card["config"]["radiation_input"]``).
        """
        qlo, qhi = [], []
        recipe = card.get("recipe") or {}
        aug = recipe.get("augment_config") or {}
        if aug.get("qmax_range"):
            qlo.append(float(aug["qmax_range"][0]))
            qhi.append(float(aug["qmax_range"][1]))
        scattering = set()
        for cfg in _find_key(card.get("training_data") or {}, "config"):
            if not isinstance(cfg, dict):
                continue
            rng = (cfg.get("ranges") or {}).get("qmax")
            if rng:
                qlo.append(float(rng[0]))
                qhi.append(float(rng[1]))
            if cfg.get("scattering"):
                scattering.add(str(cfg["scattering"]))
        radiation_input = bool(
            (card.get("inputs") or {}).get("radiation")
            or (card.get("config") or {}).get("radiation_input")
        )
        if radiation_input:
            radiation = ("neutron", "xray")
        else:
            radiation = tuple(sorted(scattering)) or ("xray",)
        inp = card.get("input") or {}
        step = float(inp.get("rstep", math.pi / 23.0))
        default = cls()
        return cls(
            qmax_range=(
                min(qlo) if qlo else default.qmax_range[0],
                max(qhi) if qhi else default.qmax_range[1],
            ),
            radiation=radiation,
            max_rstep=step,
            radiation_input=radiation_input,
        )


def _find_key(obj, key):
    """Yield every value stored under ``key`` in nested dicts and lists."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield v
            yield from _find_key(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find_key(v, key)


@dataclass(frozen=True)
class DomainThresholds:
    """Thresholds of the in-domain checks (see the module notes).

    Attributes
    ----------
    fwhm_min : float
        Narrowest first peak (A) of a G(r).
    q95_max, q95_min : float
        Band (1/A) for the Q below which 95 % of the power lies.
    hf_max : float
        Largest power fraction above Q = 45 1/A.
    order_min : float
        Smallest long-range-order ratio.
    qfar_min : float
        Smallest mean frequency (1/A) of G(r) over 10-19.9 A.
    disagreement_max : float
        Largest mutual information of the ensemble members (nats).
    """

    fwhm_min: float = 0.14
    q95_max: float = 22.0
    q95_min: float = 7.0
    hf_max: float = 0.05
    order_min: float = 0.08
    qfar_min: float = 3.5
    disagreement_max: float = 0.6


@dataclass
class DomainVerdict:
    """The in-domain verdict for one PDF.

    Attributes
    ----------
    in_domain : bool
        False when any check failed.
    score : float
        The largest check ratio; 1 or more is out of domain.
    warnings : list of str
        One line per failed check (why the data are out of domain),
        then cautions that do not change the verdict.
    features : dict
        The feature values the checks used.
    """

    in_domain: bool
    score: float
    warnings: list = field(default_factory=list)
    features: dict = field(default_factory=dict)

    def to_dict(self):
        """Return a JSON-ready dictionary."""
        return {
            "in_domain": bool(self.in_domain),
            "domain_score": round(float(self.score), 4),
            "warnings": list(self.warnings),
        }

    def line(self):
        """Return the one-line summary printed under a table.

        Examples
        --------
        >>> DomainVerdict(True, 0.5).line()
        'in domain (score 0.50 < 1): one crystalline phase as in training'
        """
        if self.in_domain:
            text = (
                f"in domain (score {self.score:.2f} < 1): one crystalline "
                "phase as in training"
            )
        else:
            text = (
                f"OUT OF DOMAIN (score {self.score:.2f} >= 1): do not trust "
                "this ranking"
            )
        return text


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


def ensemble_disagreement(member_probabilities):
    """Return the mutual information of ensemble predictions (nats).

    .. math::

        I = H\\left(\\bar p\\right) - \\frac{1}{M}\\sum_m H(p_m),
        \\qquad H(p) = -\\sum_k p_k \\log p_k

    Parameters
    ----------
    member_probabilities : array_like
        Shape ``(members, classes)``.

    Returns
    -------
    float
        0 when the members agree.

    Examples
    --------
    >>> round(ensemble_disagreement([[1.0, 0.0], [0.0, 1.0]]), 4)
    0.6931
    >>> ensemble_disagreement([[0.3, 0.7], [0.3, 0.7]])
    0.0
    """
    p = numpy.asarray(member_probabilities, dtype=float)
    pbar = p.mean(axis=0)

    def entropy(x):
        x = numpy.clip(x, 1e-12, 1.0)
        return -(x * numpy.log(x)).sum(axis=-1)

    value = float(entropy(pbar) - entropy(p).mean())
    return max(0.0, round(value, 12))


def _is_monatomic(composition):
    """Return True/False for a composition text, None when unknown."""
    if not composition:
        return None
    from diffpy.sgpredict.chemistry import parse_composition

    try:
        comp = parse_composition(str(composition))
    except ValueError:
        return None
    return len(comp) == 1 if comp else None


def check_domain(
    r,
    g,
    meta=None,
    *,
    limits=None,
    thresholds=None,
    member_probabilities=None,
):
    """Decide whether a PDF is one crystalline phase the model knows.

    Parameters
    ----------
    r, g : array_like
        The PDF as measured (any increasing grid).
    meta : dict, optional
        Header metadata (:func:`diffpy.sgpredict.io.load_pdf`):
        ``qmax``, ``radiation``, ``composition`` are used.
    limits : DomainLimits, optional
        What the model was trained on; default :class:`DomainLimits`.
    thresholds : DomainThresholds, optional
        Default :class:`DomainThresholds`.
    member_probabilities : array_like, optional
        ``(members, 45)`` predictions of the ensemble members, for the
        disagreement check.

    Returns
    -------
    DomainVerdict

    Examples
    --------
    >>> import numpy
    >>> r = numpy.arange(0, 30, 0.01)
    >>> g = sum(numpy.exp(-0.5 * ((r - d) / 0.08) ** 2)
    ...         for d in numpy.arange(2.5, 31, 1.25)) - 0.1 * r
    >>> check_domain(r, g).in_domain
    True
    >>> v = check_domain(r, g, {"qmax": 9.0})
    >>> v.in_domain
    False
    >>> print(v.warnings[0])
    Qmax = 9 1/A in the header is outside the training range 14-40 1/A
    """
    meta = meta or {}
    limits = limits or DomainLimits()
    t = thresholds or DomainThresholds()
    feats = pdf_features(r, g)
    fails = []  # (ratio, message)
    notes = []

    def check(ratio, message):
        if ratio is not None and math.isfinite(ratio) and ratio >= 1.0:
            fails.append((ratio, message))
        return ratio

    ratios = []
    if not math.isfinite(feats["fwhm"]):
        fails.append((10.0, "the data are constant: no peaks, not a PDF"))
    else:
        q95, hf = feats["q95"], feats["hf"]
        noisy = max(
            q95 / t.q95_max,
            hf / t.hf_max if math.isfinite(hf) else 0.0,
        )
        ratios.append(
            check(
                noisy,
                f"not a G(r): the signal varies faster than a PDF with "
                f"Qmax <= 40 1/A can (95 % of its power below Q = "
                f"{q95:.1f} 1/A); noise, or F(Q)/S(Q)/I(Q) saved as G(r)?",
            )
        )
        ratios.append(
            check(
                t.fwhm_min / max(feats["fwhm"], 1e-6),
                f"peaks too sharp for a G(r): the first peak at "
                f"{feats['r1']:.2f} A is {feats['fwhm']:.3f} A wide "
                f"(at least {t.fwhm_min} A for Qmax <= 40 1/A); Q-space "
                "data or noise?",
            )
        )
        ratios.append(
            check(
                t.q95_min / max(q95, 1e-6),
                f"little information at high Q: 95 % of the signal lies "
                f"below Q = {q95:.1f} 1/A; Qmax too low, or an amorphous "
                "or molecular sample",
            )
        )
        if math.isfinite(feats["order"]):
            ratios.append(
                check(
                    t.order_min / max(feats["order"], 1e-6),
                    f"no long-range order: G(r) over 12-20 A has "
                    f"{100 * feats['order']:.0f} % of its amplitude below "
                    "7 A; amorphous, liquid or a very small particle",
                )
            )
        if math.isfinite(feats["qfar"]):
            ratios.append(
                check(
                    t.qfar_min / max(feats["qfar"], 1e-6),
                    f"peaks beyond 10 A are broad and smooth (mean "
                    f"frequency {feats['qfar']:.1f} 1/A, crystals >= "
                    f"{t.qfar_min}); amorphous, liquid or a molecular "
                    "crystal",
                )
            )
    rstep = feats["rstep"]
    if rstep > limits.max_rstep * 1.001:
        check(
            2.0,
            f"data are sampled every {rstep:.3g} A, coarser than the "
            f"model grid ({limits.max_rstep:.3g} A)",
        )
    qmax = meta.get("qmax")
    qlo, qhi = limits.qmax_range
    if qmax is not None and math.isfinite(qmax):
        if not qlo <= qmax <= qhi:
            check(
                2.0,
                f"Qmax = {qmax:g} 1/A in the header is outside the "
                f"training range {qlo:g}-{qhi:g} 1/A",
            )
    radiation = meta.get("radiation")
    if radiation and radiation not in limits.radiation:
        mono = _is_monatomic(meta.get("composition"))
        trained = "/".join(limits.radiation)
        if mono:
            notes.append(
                f"{radiation} data, model trained on {trained} PDFs: fine "
                "for one element (same peak weights)"
            )
        else:
            what = (
                "a compound"
                if mono is False
                else "a sample of unknown composition"
            )
            check(
                2.0,
                f"{radiation} data of {what}, but the model was trained "
                f"on {trained} PDFs only (peak weights differ)",
            )
    if member_probabilities is not None:
        mp = numpy.asarray(member_probabilities)
        if mp.ndim == 2 and len(mp) > 1:
            mi = ensemble_disagreement(mp)
            feats["disagreement"] = mi
            ratios.append(
                check(
                    mi / t.disagreement_max,
                    f"the ensemble members disagree (mutual information "
                    f"{mi:.2f} nats > {t.disagreement_max}); a mixture of "
                    "phases or a structure unlike the training data?",
                )
            )
    score = max(
        [x for x in ratios if x is not None and math.isfinite(x)]
        + [f[0] for f in fails]
        + [0.0]
    )
    fails.sort(key=lambda f: -f[0])
    return DomainVerdict(
        in_domain=not fails,
        score=float(score),
        warnings=[m for _, m in fails] + notes,
        features={k: _plain(v) for k, v in feats.items()},
    )


def _plain(value):
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None
