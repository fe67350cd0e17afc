"""The elastic-net baseline: the torch solver against scikit-learn."""

import numpy
import pytest
import torch

from diffpy.sgpredict.models.logreg import LogisticRegression
from diffpy.sgpredict.training.logreg import fit_logreg, objective


def _problem(n=300, m=8, k=3, seed=0):
    """Classes set by a product of two inputs (a quadratic rule)."""
    rng = numpy.random.default_rng(seed)
    x = rng.random((n, m)).astype(numpy.float32)
    z = x[:, 1] * x[:, 4]
    y = numpy.digitize(z, numpy.quantile(z, numpy.linspace(0, 1, k + 1)[1:-1]))
    return x, y


@pytest.mark.parametrize("quadratic", [False, True])
def test_fista_reaches_the_saga_objective(quadratic):
    x, y = _problem(n=200)
    kw = dict(
        quadratic=quadratic,
        alphas=(1e-3,),
        l1_ratios=(0.75,),
        nclasses=5,
        max_iter=1000,
        tol=1e-8,
    )
    mf, inf = fit_logreg(x, y, solver="fista", **kw)
    ms, ins = fit_logreg(x, y, solver="saga", **kw)
    # both minimise the same convex objective: FISTA gets at least as
    # low as saga, and not suspiciously lower
    assert inf["objective"] <= ins["objective"] * (1 + 1e-3)
    assert inf["objective"] >= ins["objective"] * (1 - 1e-2)
    # the reported objective is that of the returned weights
    w = numpy.bincount(y, minlength=5)[y]
    w = len(y) / (3 * w)
    assert inf["objective"] == pytest.approx(
        objective(mf, x, y, 1e-3, 0.75, sample_weight=w), rel=1e-5
    )
    with torch.no_grad():
        pf = mf(torch.from_numpy(x)).argmax(1).numpy()
        ps = ms(torch.from_numpy(x)).argmax(1).numpy()
    assert (pf == ps).mean() > 0.95
    # classes 3 and 4 never occur: never predicted
    assert set(pf) <= {0, 1, 2}


def test_quadratic_features_learn_a_product_rule():
    x, y = _problem(n=600, seed=1)
    xt, yt = _problem(n=300, seed=2)
    acc = {}
    for quadratic in (False, True):
        model, info = fit_logreg(
            x,
            y,
            quadratic=quadratic,
            alphas=(1e-4, 1e-2),
            l1_ratios=(1.0,),
            nclasses=3,
            max_iter=500,
        )
        assert info["alpha"] in (1e-4, 1e-2)
        assert len(info["search"]) == 2
        for entry in info["search"]:  # 3-fold cross-validation
            assert len(entry["fold_top1"]) == 3
            assert entry["val_top1"] == pytest.approx(
                numpy.mean(entry["fold_top1"])
            )
        best = max(info["search"], key=lambda e: e["val_top1"])
        assert info["alpha"] == best["alpha"]
        with torch.no_grad():
            pred = model(torch.from_numpy(xt)).argmax(1).numpy()
        acc[quadratic] = (pred == yt).mean()
    # x1 * x4 is one quadratic feature: the quadratic model finds it
    assert acc[True] > 0.85
    assert acc[True] > acc[False] + 0.05


def test_l1_penalty_gives_sparse_weights():
    x, y = _problem()
    dense, _ = fit_logreg(
        x, y, quadratic=True, alphas=(1e-5,), l1_ratios=(1.0,), nclasses=3
    )
    sparse, info = fit_logreg(
        x, y, quadratic=True, alphas=(3e-2,), l1_ratios=(1.0,), nclasses=3
    )
    nz = torch.count_nonzero(sparse.linear.weight).item()
    assert nz == info["nonzero_coefficients"]
    assert nz < torch.count_nonzero(dense.linear.weight).item() / 3


def test_features_are_cached_or_made_again_alike():
    x, y = _problem()
    kw = dict(quadratic=True, alphas=(1e-3,), l1_ratios=(1.0,), nclasses=3)
    a, _ = fit_logreg(x, y, max_iter=50, **kw)
    b, _ = fit_logreg(x, y, max_iter=50, cache_bytes=0, chunk=64, **kw)
    torch.testing.assert_close(
        a.linear.weight, b.linear.weight, rtol=1e-4, atol=1e-5
    )


def test_bad_solver_and_weights():
    x, y = _problem(n=20)
    with pytest.raises(ValueError, match="solver"):
        fit_logreg(x, y, solver="lbfgs")
    with pytest.raises(ValueError, match="class_weight"):
        fit_logreg(x, y, class_weight="sqrt")


def test_objective_of_zero_model_is_log_k():
    net = LogisticRegression(npoints=4, nclasses=7, quadratic=False)
    with torch.no_grad():
        net.linear.weight.zero_()
        net.linear.bias.zero_()
    assert objective(net, numpy.ones((3, 4)), [0, 1, 2], 1.0, 0.5) == (
        pytest.approx(numpy.log(7), rel=1e-6)
    )
