"""Scores of class probabilities: one home for training and evaluation.

* :func:`topk_accuracy`: share of rows whose true class is among the k
  highest scores; :func:`weighted_topk_accuracy` the same for a test set
  whose classes come in given frequencies (the paper's, the ICSD's);
* :func:`class_weights_for` and :func:`effective_prior`: the per-class
  loss weights and the class prior a weighted loss trains for;
* :func:`prior_log_shift`: the correction from the training prior to the
  frequencies of real materials;
* :func:`fit_temperature`, :func:`expected_calibration_error` and
  :func:`reliability_curve`: calibration of the probabilities;
* :func:`detection_auc` and :func:`detection_rates`: how well a score
  tells positives (e.g. mixtures) from negatives (single phases).

All functions take and return numpy arrays.

Examples
--------
>>> import numpy
>>> logits = numpy.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
>>> topk_accuracy(logits, [0, 1, 1], kmax=2).tolist()
[0.6666666666666666, 1.0]
"""

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError

__all__ = [
    "true_rank",
    "topk_accuracy",
    "weighted_topk_accuracy",
    "class_weights_for",
    "effective_prior",
    "prior_log_shift",
    "softmax",
    "fit_temperature",
    "expected_calibration_error",
    "reliability_curve",
    "confusion_matrix",
    "top_confusions",
    "detection_auc",
    "detection_rates",
]


def true_rank(scores, y):
    """Return the rank of each row's true class, 0 for the top.

    The rank is the number of classes that score strictly higher, so a
    tie with the true class counts in its favour.

    Examples
    --------
    >>> true_rank([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], [2, 0]).tolist()
    [1, 0]
    """
    scores = numpy.asarray(scores, dtype=float)
    y = numpy.asarray(y, dtype=int)
    true = scores[numpy.arange(len(y)), y]
    return (scores > true[:, None]).sum(axis=1)


def topk_accuracy(scores, y, kmax=6):
    """Return the top-1 ... top-``kmax`` accuracy of class scores.

    Parameters
    ----------
    scores : array_like
        Shape ``(n, nclasses)``: logits, log-probabilities or
        probabilities (only the order matters).
    y : array_like of int
        True class indices.
    kmax : int
        Largest k.

    Returns
    -------
    numpy.ndarray
        ``kmax`` fractions, non-decreasing (NaN for no rows).

    Examples
    --------
    >>> s = numpy.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    >>> topk_accuracy(s, [2, 0], kmax=3).tolist()
    [0.5, 1.0, 1.0]
    """
    scores = numpy.asarray(scores, dtype=float)
    y = numpy.asarray(y, dtype=int)
    if len(y) == 0:
        return numpy.full(kmax, numpy.nan)
    rank = true_rank(scores, y)
    return numpy.array([(rank < k).mean() for k in range(1, kmax + 1)])


def weighted_topk_accuracy(scores, y, frequencies, kmax=6):
    """Return the top-k accuracy for classes in given frequencies.

    A test set drawn with the class frequencies :math:`\\pi_c` (e.g. a
    random split of the ICSD, as in Liu et al. 2019) would score

    .. math::

        a_k = \\sum_c \\pi_c \\, a_{k,c}
            \\Big/ \\sum_{c \\in \\mathrm{rows}} \\pi_c,

    where :math:`a_{k,c}` is the top-k accuracy of the rows of class
    :math:`c`; classes without rows are left out and the frequencies of
    the others renormalised.  On a test set whose classes already come
    in the frequencies :math:`\\pi`, this equals :func:`topk_accuracy`.

    Parameters
    ----------
    scores : array_like
        Shape ``(n, nclasses)``; only the order matters.
    y : array_like of int
        True class indices.
    frequencies : array_like
        ``nclasses`` non-negative class frequencies (any scale).
    kmax : int
        Largest k.

    Returns
    -------
    numpy.ndarray
        ``kmax`` fractions (NaN for no rows).

    Examples
    --------
    >>> s = numpy.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]])
    >>> weighted_topk_accuracy(s, [0, 1, 1], [3.0, 1.0], kmax=1).tolist()
    [0.875]
    """
    scores = numpy.asarray(scores, dtype=float)
    y = numpy.asarray(y, dtype=int)
    freq = numpy.asarray(frequencies, dtype=float)
    if freq.shape != (scores.shape[1],) or (freq < 0).any():
        raise InputError(
            f"frequencies must be {scores.shape[1]} non-negative numbers"
        )
    if len(y) == 0:
        return numpy.full(kmax, numpy.nan)
    counts = numpy.bincount(y, minlength=len(freq)).astype(float)
    total = freq[counts > 0].sum()
    if total <= 0:
        raise InputError("the classes of the rows all have frequency 0")
    # each row carries its class's frequency, shared among the class's rows
    w = freq[y] / counts[y] / total
    rank = true_rank(scores, y)
    return numpy.array([w[rank < k].sum() for k in range(1, kmax + 1)])


def class_weights_for(counts, mode="inverse"):
    """Return per-class loss weights for class counts.

    ``"inverse"``: :math:`w_c = N / (C n_c)` (the paper), ``"sqrt"``:
    :math:`\\propto n_c^{-1/2}`, ``"none"``: all 1.  Weights are scaled so
    that the average weight per training row is 1; absent classes get 0.

    Examples
    --------
    >>> class_weights_for([3, 1, 0]).round(3).tolist()
    [0.667, 2.0, 0.0]
    """
    counts = numpy.asarray(counts, dtype=float)
    present = counts > 0
    w = numpy.zeros_like(counts)
    if mode == "inverse":
        w[present] = 1.0 / counts[present]
    elif mode == "sqrt":
        w[present] = 1.0 / numpy.sqrt(counts[present])
    elif mode in ("none", None):
        w[present] = 1.0
    else:
        raise InputError(
            f"unknown class_weights {mode!r}; use inverse, sqrt or none"
        )
    w *= counts.sum() / max((w * counts).sum(), 1e-300)
    return w


def effective_prior(counts, weights):
    """Return the class prior a weighted loss trains for.

    With weight :math:`w_c` and :math:`n_c` rows the weighted loss is the
    plain loss of a set with class frequencies
    :math:`\\pi_c \\propto n_c w_c`; classes without rows get the smallest
    value of the others.

    Examples
    --------
    >>> effective_prior([3, 1, 0], class_weights_for([3, 1, 0])).tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    """
    p = numpy.asarray(counts, float) * numpy.asarray(weights, float)
    if (p > 0).any():
        p[p <= 0] = p[p > 0].min()
    else:
        p[:] = 1.0
    return p / p.sum()


def prior_log_shift(train_prior, target_prior, strength=1.0, eps=1e-6):
    """Additive correction of log-probabilities to another class prior.

    A classifier trained under the prior :math:`\\pi^{train}` estimates
    :math:`p(c \\mid X) \\propto p(X \\mid c)\\,\\pi^{train}_c`; under the
    prior :math:`\\pi` of real materials (Bayes' rule)

    .. math::

        \\log p'(c \\mid X) = \\log p(c \\mid X)
        + s\\,[\\log \\pi_c - \\log \\pi^{train}_c] + \\mathrm{const},

    with the strength :math:`s` = 1 for the exact correction.

    Examples
    --------
    >>> prior_log_shift([0.5, 0.5], [0.9, 0.1]).round(3).tolist()
    [0.588, -1.609]
    """
    train = numpy.asarray(train_prior, dtype=float)
    target = numpy.asarray(target_prior, dtype=float)
    train = train / train.sum()
    target = target / target.sum()
    return strength * (numpy.log(target + eps) - numpy.log(train + eps))


def softmax(logits, temperature=1.0):
    """Row-wise softmax of ``logits / temperature``.

    Examples
    --------
    >>> softmax(numpy.log([[1.0, 3.0]])).round(2).tolist()
    [[0.25, 0.75]]
    """
    z = numpy.asarray(logits, dtype=float) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    p = numpy.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def _nll(logits, y, temperature):
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - numpy.log(numpy.exp(z).sum(axis=1, keepdims=True))
    return -float(logp[numpy.arange(len(y)), y].mean())


def fit_temperature(logits, y, bounds=(0.05, 20.0)):
    """Temperature that minimises the negative log-likelihood.

    Temperature scaling (Guo et al., ICML 2017) divides the logits by one
    number :math:`T` fitted on held-out data,

    .. math::

        T^* = \\arg\\min_T -\\frac{1}{n}\\sum_i
        \\log \\mathrm{softmax}(z_i / T)_{y_i},

    which changes the confidence but never the ranking.  Found by
    golden-section search on :math:`\\log T`.

    Parameters
    ----------
    logits : array_like
        ``(n, nclasses)`` logits or log-probabilities of held-out rows.
    y : array_like of int
        True classes.
    bounds : (float, float)
        Search range of T.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = numpy.random.default_rng(0)
    >>> y = rng.integers(0, 3, 2000)
    >>> z = rng.normal(size=(2000, 3)); z[numpy.arange(2000), y] += 1.0
    >>> t = fit_temperature(3 * z, y)   # logits three times too large
    >>> 2.8 < t < 3.2
    True
    """
    z = numpy.asarray(logits, dtype=float)
    y = numpy.asarray(y, dtype=int)
    if len(y) == 0:
        raise InputError("fit_temperature needs at least one row")
    lo, hi = numpy.log(bounds[0]), numpy.log(bounds[1])
    g = (numpy.sqrt(5.0) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _nll(z, y, numpy.exp(a)), _nll(z, y, numpy.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = _nll(z, y, numpy.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = _nll(z, y, numpy.exp(b))
    return float(numpy.exp((lo + hi) / 2))


def reliability_curve(probs, y, nbins=15):
    """Confidence and accuracy of the top class in equal-width bins.

    Returns
    -------
    dict
        ``confidence`` (mean top probability per bin), ``accuracy``
        (share right per bin) and ``count`` per bin, NaN where empty;
        ``edges`` of the bins.

    Examples
    --------
    >>> p = numpy.array([[0.9, 0.1], [0.6, 0.4]])
    >>> reliability_curve(p, [0, 1], nbins=2)["count"].tolist()
    [0, 2]
    """
    p = numpy.asarray(probs, dtype=float)
    y = numpy.asarray(y, dtype=int)
    conf = p.max(axis=1)
    right = p.argmax(axis=1) == y
    edges = numpy.linspace(0.0, 1.0, nbins + 1)
    which = numpy.clip(numpy.digitize(conf, edges[1:-1]), 0, nbins - 1)
    count = numpy.bincount(which, minlength=nbins)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        csum = numpy.bincount(which, conf, minlength=nbins)
        asum = numpy.bincount(which, right.astype(float), minlength=nbins)
        return {
            "edges": edges,
            "confidence": numpy.where(count > 0, csum / count, numpy.nan),
            "accuracy": numpy.where(count > 0, asum / count, numpy.nan),
            "count": count,
        }


def expected_calibration_error(probs, y, nbins=15):
    """Expected calibration error of the top-class probability.

    .. math::

        \\mathrm{ECE} = \\sum_b \\frac{n_b}{n}\\,
        |\\mathrm{acc}_b - \\mathrm{conf}_b|

    over ``nbins`` equal-width bins of the top probability.

    Examples
    --------
    >>> p = numpy.array([[0.9, 0.1], [0.9, 0.1]])
    >>> round(expected_calibration_error(p, [0, 1], nbins=10), 3)
    0.4
    """
    rc = reliability_curve(probs, y, nbins)
    n = rc["count"].sum()
    if n == 0:
        return float("nan")
    gap = numpy.abs(rc["accuracy"] - rc["confidence"])
    return float(numpy.nansum(rc["count"] * gap) / n)


def confusion_matrix(y_true, y_pred, nclasses=45):
    """Return counts ``C[i, j]`` of true class i predicted as j.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1], 2).tolist()
    [[1, 1], [0, 1]]
    """
    c = numpy.zeros((nclasses, nclasses), dtype=int)
    numpy.add.at(c, (numpy.asarray(y_true), numpy.asarray(y_pred)), 1)
    return c


def top_confusions(cm, labels, n=10):
    """List the most frequent off-diagonal entries of a confusion matrix.

    Returns
    -------
    list of dict
        ``true``, ``predicted`` (group numbers), ``count``, and
        ``relation``: ``"predicted is a subgroup"``, ``"predicted is a
        supergroup"``, ``"both"`` (klassengleiche cycles) or ``"none"``.

    Examples
    --------
    >>> cm = numpy.zeros((45, 45), int)
    >>> cm[spacegroups.index_of(14), spacegroups.index_of(2)] = 3
    >>> top_confusions(cm, spacegroups.NUMBERS)[0]["relation"]
    'predicted is a subgroup'
    """
    off = numpy.array(cm, copy=True)
    numpy.fill_diagonal(off, 0)
    order = numpy.argsort(off, axis=None)[::-1]
    out = []
    for flat in order[:n]:
        i, j = numpy.unravel_index(flat, off.shape)
        if off[i, j] <= 0:
            break
        t, p = int(labels[i]), int(labels[j])
        sub = spacegroups.is_subgroup(p, t)
        sup = spacegroups.is_subgroup(t, p)
        relation = (
            "both"
            if sub and sup
            else (
                "predicted is a subgroup"
                if sub
                else "predicted is a supergroup" if sup else "none"
            )
        )
        out.append(
            {
                "true": t,
                "predicted": p,
                "count": int(off[i, j]),
                "relation": relation,
            }
        )
    return out


def detection_auc(negative, positive):
    """Area under the ROC curve of a score that should be higher for
    positives.

    .. math::

        \\mathrm{AUC} = P(s_+ > s_-) + \\tfrac12 P(s_+ = s_-)

    for a random positive and a random negative (the Mann-Whitney
    statistic; 0.5 is chance, 1 perfect separation).

    Examples
    --------
    >>> detection_auc([0.1, 0.2, 0.3], [0.25, 0.9])
    0.8333333333333334
    """
    neg = numpy.sort(numpy.asarray(negative, dtype=float))
    pos = numpy.asarray(positive, dtype=float)
    if len(neg) == 0 or len(pos) == 0:
        raise InputError("detection_auc needs negatives and positives")
    below = numpy.searchsorted(neg, pos, side="left")
    upto = numpy.searchsorted(neg, pos, side="right")
    return float((below + 0.5 * (upto - below)).sum() / (len(neg) * len(pos)))


def detection_rates(negative, positives, false_alarms):
    """Thresholds at given false-alarm rates and what each flags.

    For each rate :math:`f`, the threshold is the :math:`1 - f` quantile
    of the negatives' scores, and a score at or above it is flagged.

    Parameters
    ----------
    negative : array_like
        Scores of the negatives (e.g. single-phase PDFs).
    positives : dict of str to array_like
        Scores of each set of positives.
    false_alarms : sequence of float
        Shares of negatives to flag.

    Returns
    -------
    list of dict
        One per rate: ``false_alarm``, ``threshold``, ``flagged`` (the
        share of the negatives actually flagged) and the flagged share
        of each positive set under its name.

    Examples
    --------
    >>> rows = detection_rates(
    ...     [0.0, 0.1, 0.2, 0.3, 0.4], {"mix": [0.25, 0.5]}, [0.2])
    >>> rows[0]["threshold"], rows[0]["flagged"], rows[0]["mix"]
    (0.32, 0.2, 0.5)
    """
    neg = numpy.asarray(negative, dtype=float)
    out = []
    for f in false_alarms:
        threshold = float(numpy.quantile(neg, 1.0 - float(f)))
        row = {
            "false_alarm": float(f),
            "threshold": threshold,
            "flagged": float((neg >= threshold).mean()),
        }
        for name, scores in positives.items():
            row[name] = float(
                (numpy.asarray(scores, dtype=float) >= threshold).mean()
            )
        out.append(row)
    return out
