"""Tests of the on-the-fly augmentation: shapes, ranges and physics."""

import math

import numpy
import pytest
import torch

from diffpy.sgpredict.augment import (
    AugmentConfig,
    Augmenter,
    augment,
    minmax_truncate,
)
from diffpy.sgpredict.grid import MODEL_GRID, normalize

R = MODEL_GRID.r


def peak(r0=10.0, sigma=0.1, slope=0.3):
    """One Gaussian peak on the density line, as G(r) looks."""
    g = numpy.exp(-0.5 * ((R - r0) / sigma) ** 2) / (
        math.sqrt(2 * math.pi) * sigma
    )
    return g - slope * R


def batch(n=16, seed=0):
    rng = numpy.random.default_rng(seed)
    rows = [
        peak(rng.uniform(3, 27), rng.uniform(0.08, 0.15)) for _ in range(n)
    ]
    return torch.tensor(numpy.array(rows), dtype=torch.float32)


def test_shapes_range_and_truncation():
    aug = Augmenter(R)
    g = batch(64)
    x, nvalid = aug(g, generator=torch.Generator().manual_seed(1))
    assert x.shape == g.shape
    assert x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # every row is normalised over its valid points
    for row, n in zip(x, nvalid):
        assert float(row[:n].min()) == 0.0
        assert float(row[:n].max()) == pytest.approx(1.0)
        assert float(row[n:].abs().sum()) == 0.0
    # truncated rows end between 20 and 30 A; some are truncated
    ends = R[nvalid.numpy() - 1]
    assert ends.min() >= 19.8 and ends.max() <= 30.0
    assert (nvalid < len(R)).any() and (nvalid == len(R)).any()


def test_numpy_in_numpy_out_and_seed():
    g = peak()
    x1, n1 = augment(R, g, seed=5)
    x2, n2 = augment(R, g, seed=5)
    x3, _ = augment(R, g, seed=6)
    assert isinstance(x1, numpy.ndarray) and x1.shape == (len(R),)
    assert numpy.array_equal(x1, x2) and n1 == n2
    assert not numpy.array_equal(x1, x3)


def test_no_change_gives_model_input():
    g = batch(4)
    x, n = Augmenter(R, AugmentConfig.none())(g)
    assert (n == len(R)).all()
    numpy.testing.assert_allclose(x.numpy(), normalize(g.numpy()), atol=2e-5)


def test_minmax_truncate_matches_to_model_input():
    from diffpy.sgpredict.grid import to_model_input

    g = peak(8.0)
    cut = R <= 21.0
    ref, nref = to_model_input(R[cut], g[cut])
    x = minmax_truncate(
        torch.tensor(g[None], dtype=torch.float32), torch.tensor([nref])
    )
    numpy.testing.assert_allclose(x[0].numpy(), ref, atol=1e-5)


def test_termination_matches_analytic_convolution():
    # a sharp peak terminated at Qmax: G_T(r) = int G(r') sin(Qm(r - r'))
    # / (pi (r - r')) dr' (the r + r' image term is negligible at 10 A)
    aug = Augmenter(R)
    sigma, qmax = 0.13, 12.0
    g = peak(10.0, sigma, slope=0.0)
    out, _ = aug.transform(
        torch.tensor(g[None], dtype=torch.float32),
        {"qmax": torch.tensor([qmax])},
    )
    fine = numpy.linspace(8.0, 12.0, 8001)
    gf = numpy.exp(-0.5 * ((fine - 10.0) / sigma) ** 2) / (
        math.sqrt(2 * math.pi) * sigma
    )
    near = (R > 7.5) & (R < 12.5)
    expected = [
        numpy.trapezoid(
            gf * qmax / math.pi * numpy.sinc(qmax * (r - fine) / math.pi), fine
        )
        for r in R[near]
    ]
    # the sampled input is band-limited at 23 A^-1 already; allow 3 %
    err = numpy.abs(out[0].numpy()[near] - expected).max()
    assert err < 0.03 * g.max()
    # ripples: the terminated peak dips below zero beside the maximum
    assert out[0].numpy()[near].min() < -0.05 * g.max()


def test_debye_waller_broadening_adds_2_delta_u():
    aug = Augmenter(R)
    sigma, du = 0.12, 0.01
    g = peak(12.0, sigma, slope=0.0)
    out, _ = aug.transform(
        torch.tensor(g[None], dtype=torch.float32),
        {"uiso": torch.tensor([du])},
    )
    o = out[0].numpy().astype(float)
    win = numpy.abs(R - 12.0) < 2.0
    var = (o[win] * (R[win] - 12.0) ** 2).sum() / o[win].sum()
    assert var == pytest.approx(sigma**2 + 2 * du, rel=0.05)
    # the area of the peak is kept
    assert o[win].sum() == pytest.approx(g[win].sum(), rel=0.01)


def test_strain_moves_peaks_and_qdamp_envelope():
    aug = Augmenter(R)
    g = peak(15.0, 0.12, slope=0.0)
    t = torch.tensor(g[None], dtype=torch.float32)
    out, _ = aug.transform(t, {"strain": torch.tensor([1.02])})
    o = out[0].numpy()
    win = numpy.abs(R - 15.3) < 1.0
    centre = (o[win] * R[win]).sum() / o[win].sum()
    assert centre == pytest.approx(15.3, abs=0.01)
    out, _ = aug.transform(
        t, {"qdamp": torch.tensor([0.0]), "qdamp0": torch.tensor([0.04])}
    )
    envelope = numpy.exp(0.5 * 0.04**2 * R**2)
    numpy.testing.assert_allclose(
        out[0].numpy(), g * envelope, atol=1e-4 * g.max()
    )


def test_noise_level_is_relative_to_range():
    cfg = AugmentConfig.none()
    cfg = AugmentConfig(**{**cfg.__dict__, "p_noise": 1.0})
    aug = Augmenter(R, cfg)
    g = torch.zeros(256, len(R))
    g[:, 100] = 1.0  # range 1
    params = aug.sample(256, torch.Generator().manual_seed(0))
    out, _ = aug.transform(g, params)
    resid = (out - g).numpy()
    # up to 3 % noise (two components, each a random share of the level)
    assert 0.002 < resid.std() < 0.03


def test_rejects_non_uniform_grid():
    with pytest.raises(ValueError, match="uniform, increasing grid"):
        Augmenter(numpy.geomspace(1, 30, 100))
    with pytest.raises(ValueError, match="uniform, increasing grid"):
        Augmenter(numpy.linspace(30, 1, 100))
