"""Metrics: top-k, prior shift, temperature scaling, calibration error."""

import numpy
import pytest

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.metrics import (
    detection_auc,
    detection_rates,
    expected_calibration_error,
    fit_temperature,
    prior_log_shift,
    reliability_curve,
    softmax,
    topk_accuracy,
    weighted_topk_accuracy,
)


def test_topk_counts_ties_as_misses_below():
    s = numpy.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    assert topk_accuracy(s, [1, 0], 3).tolist() == [0.5, 0.5, 1.0]


def test_weighted_topk_is_the_score_of_a_set_in_those_frequencies():
    rng = numpy.random.default_rng(3)
    k = 6
    scores = rng.normal(size=(600, k))
    y = rng.integers(0, k, 600)
    freq = numpy.array([5.0, 1.0, 2.0, 0.5, 3.0, 1.5])
    # a set whose classes come in those frequencies: resample the rows
    counts = numpy.bincount(y, minlength=k)
    p_row = freq[y] / counts[y]
    big = rng.choice(600, 200_000, p=p_row / p_row.sum())
    direct = topk_accuracy(scores[big], y[big], 4)
    weighted = weighted_topk_accuracy(scores, y, freq, 4)
    assert weighted == pytest.approx(direct, abs=0.004)
    # equal frequencies on a balanced set: the plain top-k
    yb = numpy.repeat(numpy.arange(k), 100)
    assert weighted_topk_accuracy(scores, yb, numpy.ones(k), 3) == (
        pytest.approx(topk_accuracy(scores, yb, 3))
    )


def test_weighted_topk_leaves_out_classes_without_rows():
    s = numpy.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    # class 2 has no rows: its frequency 10 is dropped, 1 : 3 remains
    acc = weighted_topk_accuracy(s, [0, 0], [1.0, 3.0, 10.0], kmax=2)
    assert acc.tolist() == [0.5, 1.0]
    acc = weighted_topk_accuracy(s, [0, 1], [1.0, 3.0, 10.0], kmax=1)
    assert acc.tolist() == [1.0]
    with pytest.raises(InputError, match="non-negative"):
        weighted_topk_accuracy(s, [0, 1], [1.0, -1.0, 0.0])
    with pytest.raises(InputError, match="frequency 0"):
        weighted_topk_accuracy(s, [0, 1], [0.0, 0.0, 1.0])


def test_prior_shift_is_bayes_rule():
    # a classifier trained on balanced classes: shifting to a 9:1 prior
    # turns p = (0.5, 0.5) into (0.9, 0.1)
    shift = prior_log_shift([0.5, 0.5], [0.9, 0.1])
    p = softmax(numpy.log([[0.5, 0.5]]) + shift)
    assert p[0].tolist() == pytest.approx([0.9, 0.1], abs=1e-5)


def test_temperature_scaling_calibrates_overconfident_logits():
    rng = numpy.random.default_rng(1)
    n, k = 4000, 5
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[numpy.arange(n), y] += 1.5
    hot = 4.0 * z  # the same ranking, four times too confident
    t = fit_temperature(hot, y)
    # the fitted temperature follows the scale of the logits exactly
    assert t / fit_temperature(z, y) == pytest.approx(4.0, rel=0.01)
    before = expected_calibration_error(softmax(hot), y)
    after = expected_calibration_error(softmax(hot, t), y)
    assert before > 0.15 and after < 0.03
    # the ranking is untouched
    assert topk_accuracy(hot, y, 1) == topk_accuracy(hot / t, y, 1)


def test_reliability_curve_bins():
    p = numpy.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45]])
    rc = reliability_curve(p, [0, 1, 0], nbins=10)
    assert rc["count"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert rc["accuracy"][9] == 0.5 and rc["accuracy"][5] == 1.0
    ece = expected_calibration_error(p, [0, 1, 0], nbins=10)
    assert ece == pytest.approx((2 * 0.45 + 1 * 0.45) / 3)


def test_icsd_prior_has_no_catalogue_outlier():
    # every group's share in the ICSD catalogue must lie within a factor
    # 3 of its share in the paper's training set: the catalogue's 8
    # Ia-3d entries (about 60x too few) failed this
    icsd = spacegroups.icsd_prior("icsd")
    paper = spacegroups.icsd_prior("paper")
    ratio = icsd / paper
    assert ratio.min() > 1 / 3 and ratio.max() < 3, [
        (g.number, round(float(r), 2))
        for g, r in zip(spacegroups.SPACE_GROUPS, ratio)
        if not 1 / 3 < r < 3
    ]
    assert spacegroups.get(230).icsd_count > 400


def test_detection_auc_is_the_share_of_correctly_ordered_pairs():
    rng = numpy.random.default_rng(5)
    neg = rng.normal(0.0, 1.0, 300).round(1)  # rounding makes ties
    pos = rng.normal(1.0, 1.0, 200).round(1)
    diff = pos[:, None] - neg[None, :]
    brute = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
    assert detection_auc(neg, pos) == pytest.approx(brute, abs=1e-12)
    # two unit-variance normals one sigma apart: Phi(1 / sqrt 2) = 0.760
    assert detection_auc(neg, pos) == pytest.approx(0.76, abs=0.05)
    assert detection_auc([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert detection_auc([2.0, 3.0], [0.0, 1.0]) == 0.0
    assert detection_auc([1.0, 1.0], [1.0]) == 0.5
    with pytest.raises(InputError):
        detection_auc([], [1.0])


def test_detection_rates_flag_the_asked_share_of_negatives():
    neg = numpy.arange(1000) / 1000.0
    pos = {"strong": neg + 0.5, "none": neg - 2.0}
    rows = detection_rates(neg, pos, [0.01, 0.1, 0.5])
    assert [r["flagged"] for r in rows] == pytest.approx([0.01, 0.1, 0.5])
    # positives shifted by half the range: flagged where s + 0.5 >= t
    assert [r["strong"] for r in rows] == pytest.approx(
        [0.511, 0.6, 1.0], abs=0.002
    )
    assert [r["none"] for r in rows] == [0.0, 0.0, 0.0]
    assert rows[1]["threshold"] == pytest.approx(0.8991)
