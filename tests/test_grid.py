import math

import numpy
import pytest
from conftest import fake_pdf

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import (
    MODEL_GRID,
    normalize,
    quadratic_features,
    resample,
    srreal_grid,
    to_model_input,
)


def test_model_grid_is_the_srreal_table2_grid():
    r = MODEL_GRID.r
    assert len(r) == 209
    assert r[0] == pytest.approx(1.502501, abs=1e-6)
    assert r[-1] == pytest.approx(29.913426, abs=1e-6)
    assert numpy.allclose(r / (math.pi / 23), numpy.arange(11, 220))


def test_srreal_grid_fine_variant():
    r = srreal_grid(0.5, 20.0, 0.01)
    assert len(r) == 1950
    assert r[0] == pytest.approx(0.5) and r[-1] == pytest.approx(19.99)


def test_resample_reproduces_smooth_function():
    r = numpy.linspace(0, 30, 3001)
    g = numpy.sin(2 * r) * numpy.exp(-0.05 * r)
    out = resample(r, g, MODEL_GRID.r)
    exact = numpy.sin(2 * MODEL_GRID.r) * numpy.exp(-0.05 * MODEL_GRID.r)
    assert numpy.max(numpy.abs(out - exact)) < 1e-6


def test_normalize_eq4():
    g = numpy.array([[-3.0, 1.0, 5.0], [2.0, 2.0, 2.0]])
    x = normalize(g)
    assert x[0].tolist() == [0.0, 0.5, 1.0]
    assert x[1].tolist() == [0.0, 0.0, 0.0]


def test_model_input_pads_short_data():
    r, g = fake_pdf(rmax=20.0)
    x, n = to_model_input(r, g)
    assert n == int(numpy.sum(MODEL_GRID.r <= 20.0))
    assert x.dtype == numpy.float32
    assert x[:n].min() == 0.0 and x[:n].max() == 1.0
    assert numpy.all(x[n:] == 0.0)


def test_model_input_refuses_too_short_data():
    r, g = fake_pdf(rmax=15.0)
    with pytest.raises(InputError, match="0-15 A.*needs at least"):
        to_model_input(r, g, name="short.gr")
    r, g = fake_pdf()
    with pytest.raises(InputError, match="2-30"):
        to_model_input(r[200:], g[200:])


def test_quadratic_features_count():
    x = numpy.random.default_rng(0).random((2, 209))
    q = quadratic_features(x)
    assert q.shape == (2, 21736)
    assert q[1, 0] == pytest.approx(x[1, 0] * x[1, 1])
