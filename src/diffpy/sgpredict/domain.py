"""Is this one crystalline phase of the kind the model knows?

:func:`check_domain` gives every prediction an *in-domain verdict*: a
yes/no answer with the reasons, from a few physically motivated features
of the measured G(r) (independent of the network), the measurement
settings in the file header, and the agreement of the ensemble members.

Features of the data
--------------------
``fwhm``, ``q95``, ``hf``, ``order`` and ``qfar`` of
:func:`diffpy.sgpredict.pdffeatures.pdf_features`: the first peak's
width, the Q content of G(r), long-range order, and the sharpness of
the peaks beyond 10 A.

From the model: ``disagreement``, the mutual information between the
ensemble members' predictions, :math:`H(\\bar p) - \\overline{H(p_m)}`
(nats), large when the members disagree on data unlike their training
(mixtures, unfamiliar structures).

Independent of the model again: ``mixture``, the probability that the
model input is a sum of two crystalline phases, from the small network
of :mod:`diffpy.sgpredict.mixture` (trained on computed single phases
and two-phase mixtures); its threshold is stored with the detector.

The score
---------
Each check turns its feature into a ratio to its threshold that is 1 at
the threshold and grows with the distance beyond it
(``threshold / value`` for lower bounds, ``value / threshold`` for upper
bounds and the mixture score); header checks (Qmax outside the training
range, radiation not covered, a coarse r-grid) count 2 when they fail.
The *domain score* is the largest ratio, and the data are out of domain
when it reaches 1.
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

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import to_model_input
from diffpy.sgpredict.mixture import load_detector
from diffpy.sgpredict.pdffeatures import pdf_features

__all__ = [
    "DomainLimits",
    "DomainThresholds",
    "DomainVerdict",
    "pdf_features",
    "check_domain",
    "ensemble_disagreement",
]


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


def _signal_checks(feats, t):
    """Checks of the G(r) itself: ``[(ratio, message), ...]``."""
    if not math.isfinite(feats["fwhm"]):
        return [(10.0, "the data are constant: no peaks, not a PDF")]
    q95, hf = feats["q95"], feats["hf"]
    noisy = max(q95 / t.q95_max, hf / t.hf_max if math.isfinite(hf) else 0.0)
    out = [
        (
            noisy,
            f"not a G(r): the signal varies faster than a PDF with Qmax <= "
            f"40 1/A can (95 % of its power below Q = {q95:.1f} 1/A); "
            "noise, or F(Q)/S(Q)/I(Q) saved as G(r)?",
        ),
        (
            t.fwhm_min / max(feats["fwhm"], 1e-6),
            f"peaks too sharp for a G(r): the first peak at "
            f"{feats['r1']:.2f} A is {feats['fwhm']:.3f} A wide (at least "
            f"{t.fwhm_min} A for Qmax <= 40 1/A); Q-space data or noise?",
        ),
        (
            t.q95_min / max(q95, 1e-6),
            f"little information at high Q: 95 % of the signal lies below "
            f"Q = {q95:.1f} 1/A; Qmax too low, or an amorphous or molecular "
            "sample",
        ),
    ]
    if math.isfinite(feats["order"]):
        out.append(
            (
                t.order_min / max(feats["order"], 1e-6),
                f"no long-range order: G(r) over 12-20 A has "
                f"{100 * feats['order']:.0f} % of its amplitude below 7 A; "
                "amorphous, liquid or a very small particle",
            )
        )
    if math.isfinite(feats["qfar"]):
        out.append(
            (
                t.qfar_min / max(feats["qfar"], 1e-6),
                f"peaks beyond 10 A are broad and smooth (mean frequency "
                f"{feats['qfar']:.1f} 1/A, crystals >= {t.qfar_min}); "
                "amorphous, liquid or a molecular crystal",
            )
        )
    return out


def _setting_checks(feats, meta, limits):
    """Checks of grid, header Qmax and radiation.

    Returns ``(checks, notes)``; a failed check has ratio 2.
    """
    out, notes = [], []
    rstep = feats["rstep"]
    if rstep > limits.max_rstep * 1.001:
        out.append(
            (
                2.0,
                f"data are sampled every {rstep:.3g} A, coarser than the "
                f"model grid ({limits.max_rstep:.3g} A)",
            )
        )
    qmax = meta.get("qmax")
    qlo, qhi = limits.qmax_range
    if qmax is not None and math.isfinite(qmax) and not qlo <= qmax <= qhi:
        out.append(
            (
                2.0,
                f"Qmax = {qmax:g} 1/A in the header is outside the "
                f"training range {qlo:g}-{qhi:g} 1/A",
            )
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
            what = "a compound" if mono is False else "a sample"
            what += "" if mono is False else " of unknown composition"
            out.append(
                (
                    2.0,
                    f"{radiation} data of {what}, but the model was trained "
                    f"on {trained} PDFs only (peak weights differ)",
                )
            )
    return out, notes


def _ensemble_checks(member_probabilities, t, feats):
    """Disagreement of the ensemble members (adds it to ``feats``)."""
    if member_probabilities is None:
        return []
    mp = numpy.asarray(member_probabilities)
    if mp.ndim != 2 or len(mp) < 2:
        return []
    mi = ensemble_disagreement(mp)
    feats["disagreement"] = mi
    return [
        (
            mi / t.disagreement_max,
            f"the ensemble members disagree (mutual information {mi:.2f} "
            f"nats > {t.disagreement_max}); a mixture of phases or a "
            "structure unlike the training data?",
        )
    ]


def _mixture_checks(r, g, model_input, detector, feats, radiation=None):
    """Score of the two-phase mixture detector (adds it to ``feats``).

    The threshold is the detector's own for the data's radiation (its
    metadata; :meth:`~diffpy.sgpredict.mixture.MixtureDetector.threshold_for`);
    the ratio is score / threshold.  Data the model grid cannot take are
    skipped (another check or the predictor refuses them).
    """
    if detector is None:
        return []
    if model_input is None:
        try:
            model_input = to_model_input(r, g)
        except InputError:
            return []
    p = detector.score(*model_input)
    feats["mixture"] = p
    thr = detector.threshold_for(radiation)
    which = {"xray": " for X-rays", "neutron": " for neutrons"}.get(
        radiation if radiation in detector.thresholds else None, ""
    )
    return [
        (
            p / thr,
            f"looks like a mixture of phases (score {p:.2f} >= {thr:.2f} of "
            f"the mixture detector{which}); check the sample's phase "
            "purity, or refine with two phases",
        )
    ]


def check_domain(
    r,
    g,
    meta=None,
    *,
    limits=None,
    thresholds=None,
    member_probabilities=None,
    model_input=None,
    mixture=True,
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
    model_input : tuple, optional
        ``(x, nvalid)`` of :func:`diffpy.sgpredict.grid.to_model_input`
        when the caller has it (computed from ``r, g`` otherwise).
    mixture : bool or MixtureDetector
        The two-phase mixture check: True for the shipped detector
        (:func:`diffpy.sgpredict.mixture.load_detector`), a detector, or
        False to skip it.

    Returns
    -------
    DomainVerdict

    Examples
    --------
    >>> import numpy
    >>> r = numpy.arange(0, 30, 0.01)
    >>> g = sum(numpy.exp(-0.5 * ((r - d) / 0.08) ** 2)
    ...         for d in numpy.arange(2.5, 31, 1.25)) - 0.1 * r
    >>> check_domain(r, g, mixture=False).in_domain
    True
    >>> v = check_domain(r, g, {"qmax": 9.0}, mixture=False)
    >>> v.in_domain
    False
    >>> print(v.warnings[0])
    Qmax = 9 1/A in the header is outside the training range 14-40 1/A
    """
    meta = meta or {}
    t = thresholds or DomainThresholds()
    feats = pdf_features(r, g)
    checks = _signal_checks(feats, t)
    settings, notes = _setting_checks(feats, meta, limits or DomainLimits())
    checks += settings
    checks += _ensemble_checks(member_probabilities, t, feats)
    if mixture is True:
        mixture = load_detector()
    if mixture and math.isfinite(feats["fwhm"]):
        checks += _mixture_checks(
            r, g, model_input, mixture, feats, meta.get("radiation")
        )
    ratios = [c for c in checks if math.isfinite(c[0])]
    fails = sorted((c for c in ratios if c[0] >= 1.0), key=lambda c: -c[0])
    return DomainVerdict(
        in_domain=not fails,
        score=float(max([c[0] for c in ratios] + [0.0])),
        warnings=[m for _, m in fails] + notes,
        features={k: _plain(v) for k, v in feats.items()},
    )


def _plain(value):
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None
