"""Fitting the elastic-net logistic-regression baseline.

Liu et al. (2019) fit a multinomial logistic regression with elastic-net
penalty on the normalised PDF X (20 % top-1) and on its quadratic
features :math:`X_i X_j,\\ j > i` (44.5 % top-1, 77 % top-6).  The result is
a :class:`~diffpy.sgpredict.models.logreg.LogisticRegression` module.

The penalty is written as in the paper, :math:`\\alpha` the overall
strength and :math:`\\Lambda` the l1 ratio:

.. math::

    \\min_w \\frac{1}{n} \\sum_i \\ell(y_i, w^T f_i) + \\alpha \\left[
        \\Lambda \\lVert w \\rVert_1
        + \\frac{1 - \\Lambda}{2} \\lVert w \\rVert_2^2 \\right],

which is scikit-learn's ``LogisticRegression(C=1 / (alpha * n),
l1_ratio=Lambda)``.  Two solvers minimise it:

* ``"fista"`` (default): accelerated proximal gradient (FISTA with
  gradient restarts) in torch.  The standardised features are kept in
  memory when they fit in ``cache_bytes`` (the 21,736 quadratic
  features of 25,000 rows take 2.2 GB) and are made again chunk by
  chunk on every pass otherwise; a pass is a few matrix products, about
  0.05 ms per row on two cores;
* ``"saga"``: scikit-learn's solver, the reference (6-10 ms of one
  core per row and pass on the quadratic features, so only for small
  fits).  The tests check that both reach the same objective.
"""

import warnings

import numpy
import torch
from torch import nn

from diffpy.sgpredict.grid import quadratic_features
from diffpy.sgpredict.models.logreg import LogisticRegression

__all__ = ["fit_logreg", "objective"]


def _features(x, quadratic):
    x = numpy.asarray(x, dtype=numpy.float32)
    return quadratic_features(x) if quadratic else x


def objective(model, x, y, alpha, l1_ratio, sample_weight=None):
    """Return the elastic-net objective of a fitted model on ``(x, y)``.

    Mean (weighted) cross-entropy plus
    :math:`\\alpha [\\Lambda |W|_1 + (1 - \\Lambda) |W|_2^2 / 2]`; the
    bias is not penalised.

    Examples
    --------
    >>> net = LogisticRegression(npoints=4, nclasses=3, quadratic=False)
    >>> with torch.no_grad():
    ...     _ = net.linear.weight.zero_(), net.linear.bias.zero_()
    >>> round(objective(net, numpy.zeros((2, 4)), [0, 1], 1e-3, 1.0), 4)
    1.0986
    """
    x = torch.as_tensor(numpy.asarray(x, dtype=numpy.float32))
    y = torch.as_tensor(numpy.asarray(y, dtype=numpy.int64))
    sw = (
        torch.ones(len(y))
        if sample_weight is None
        else torch.as_tensor(numpy.asarray(sample_weight, numpy.float32))
    )
    with torch.no_grad():
        ce = nn.functional.cross_entropy(model(x), y, reduction="none")
        w = model.linear.weight
        pen = l1_ratio * w.abs().sum() + 0.5 * (1 - l1_ratio) * (w * w).sum()
        return float((sw * ce).sum() / len(y) + alpha * pen)


def _second_moment_norm(feats, chunks, sw, n, nfeat):
    """Largest eigenvalue of the weighted second moment of [f, 1].

    Twelve power iterations from a fixed start.  The softmax Hessian is
    at most half of it, which bounds the Lipschitz constant of the
    smooth part of the objective.
    """
    with torch.no_grad():
        v = torch.randn(nfeat + 1, generator=torch.Generator().manual_seed(0))
        lam = 1.0
        for _ in range(12):
            v = v / v.norm()
            out = torch.zeros(nfeat + 1)
            for sl in chunks:
                f = feats(sl)
                fv = f @ v[:-1] + v[-1]
                out[:-1] += f.T @ (sw[sl] * fv)
                out[-1] += (sw[sl] * fv).sum()
            lam = float(out @ v) / n
            v = out
    return lam


def _fista(model, x, y, sw, alpha, l1_ratio, max_iter, tol, chunk, cache):
    """Minimise the objective over ``model.linear`` in place.

    The standardised features are kept in memory when they take at most
    ``cache`` bytes, else made again on every pass.  Returns the number
    of passes made.
    """
    n = len(y)
    W = model.linear.weight
    b = model.linear.bias
    nclasses, nfeat = W.shape
    chunks = [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    if n * nfeat * 4 <= cache:
        with torch.no_grad():
            stored = torch.cat([model.features(x[sl]) for sl in chunks])

        def feats(sl):
            return stored[sl]

    else:

        def feats(sl):
            return model.features(x[sl])

    lam = _second_moment_norm(feats, chunks, sw, n, nfeat)
    lip = 0.5 * lam + alpha * (1 - l1_ratio) + 1e-12
    step = 1.0 / lip
    thresh = step * alpha * l1_ratio

    def grad(Wy, by):
        gW = torch.zeros_like(Wy)
        gb = torch.zeros_like(by)
        for sl in chunks:
            f = feats(sl)
            p = torch.softmax(f @ Wy.T + by, dim=1)
            p[torch.arange(p.shape[0]), y[sl]] -= 1.0
            p *= sw[sl, None]
            gW += p.T @ f
            gb += p.sum(0)
        gW /= n
        gb /= n
        gW += alpha * (1 - l1_ratio) * Wy
        return gW, gb

    with torch.no_grad():
        Wx, bx = W.detach().clone(), b.detach().clone()
        Wy, by = Wx.clone(), bx.clone()
        t = 1.0
        it = 0
        for it in range(1, max_iter + 1):
            gW, gb = grad(Wy, by)
            Wn = Wy - step * gW
            Wn = torch.sign(Wn) * torch.clamp(Wn.abs() - thresh, min=0.0)
            bn = by - step * gb
            change = float(
                ((Wn - Wx).norm() ** 2 + (bn - bx).norm() ** 2).sqrt()
            )
            size = float((Wn.norm() ** 2 + bn.norm() ** 2).sqrt()) + 1e-12
            # gradient-based adaptive restart (O'Donoghue & Candes 2015)
            restart = float(
                ((Wy - Wn) * (Wn - Wx)).sum() + ((by - bn) * (bn - bx)).sum()
            )
            if restart > 0:
                t = 1.0
            t_new = 0.5 * (1 + (1 + 4 * t * t) ** 0.5)
            mom = (t - 1) / t_new
            Wy = Wn + mom * (Wn - Wx)
            by = bn + mom * (bn - bx)
            Wx, bx, t = Wn, bn, t_new
            if change / size < tol:
                break
        W.copy_(Wx)
        b.copy_(bx)
    return it


def fit_logreg(
    x,
    y,
    *,
    quadratic=True,
    alphas=(1e-5, 1e-4, 1e-3),
    l1_ratios=(0.75, 1.0),
    nclasses=45,
    class_weight="balanced",
    cv_folds=3,
    max_cv_samples=5000,
    max_iter=200,
    tol=1e-4,
    seed=0,
    solver="fista",
    chunk=2048,
    cache_bytes=4e9,
    progress=None,
):
    """Fit the elastic-net baseline; choose alpha and l1 ratio.

    The penalty is chosen by ``cv_folds``-fold cross-validation on at
    most ``max_cv_samples`` rows (mean held-out top-1 accuracy); the
    chosen pair is then refitted on all of ``x``.

    Parameters
    ----------
    x : array_like
        Normalised PDFs ``(n, npoints)``.
    y : array_like of int
        Class indices (0-44).
    quadratic : bool
        Fit on the quadratic features.
    alphas, l1_ratios : sequence of float
        The grid searched.
    nclasses : int
        Number of classes of the output (classes absent from ``y`` get a
        very low score).
    class_weight : {"balanced", None}
        Inverse class frequency weights (as the CNN) or none.
    cv_folds, max_cv_samples : int
        Folds and size limit of the cross-validation.
    max_iter, tol : int, float
        Most passes, and the relative change of the weights that stops
        the solver.
    seed : int
        Random seed of the split.
    solver : {"fista", "saga"}
        See the module text.
    chunk : int
        Rows whose features are made at once (``fista``).
    cache_bytes : float
        Keep the features of all rows in memory up to this size
        (``fista``; 25,000 rows of quadratic features take 2.2 GB).
    progress : callable, optional
        Called with a one-line message after every fit.

    Returns
    -------
    model : LogisticRegression
        The fitted classifier as a torch module.
    info : dict
        ``alpha``, ``l1_ratio``, ``solver``, ``search`` (list of dicts
        with the held-out top-1 of every pair), ``n_iter``,
        ``objective`` and ``nonzero_coefficients``.

    Examples
    --------
    >>> rng = numpy.random.default_rng(0)
    >>> x = rng.random((60, 12)); y = (x[:, 0] > 0.5).astype(int)
    >>> model, info = fit_logreg(x, y, quadratic=False, alphas=(1e-3,),
    ...                          l1_ratios=(1.0,))
    >>> info["alpha"], model(torch.rand(2, 12)).shape
    (0.001, torch.Size([2, 45]))
    """
    if solver not in ("fista", "saga"):
        raise ValueError(f"unknown solver {solver!r}; use fista or saga")
    x = numpy.asarray(x, dtype=numpy.float32)
    y = numpy.asarray(y, dtype=int)
    counts = numpy.bincount(y, minlength=nclasses)
    fitter = _Fitter(
        x,
        y,
        quadratic,
        nclasses,
        _class_weights(counts, len(y), class_weight),
        dict(
            solver=solver,
            max_iter=max_iter,
            tol=tol,
            seed=seed,
            chunk=chunk,
            cache_bytes=cache_bytes,
        ),
    )

    def say(msg):
        if progress is not None:
            progress(msg)

    pairs = [(a, lr) for a in alphas for lr in l1_ratios]
    search = []
    if len(pairs) > 1:
        rng = numpy.random.default_rng(seed)
        order = rng.permutation(len(y))[: max(max_cv_samples, 4)]
        folds = numpy.array_split(order, max(int(cv_folds), 2))
        search = [fitter.cross_validate(folds, a, lr, say) for a, lr in pairs]
        best = max(search, key=lambda s: s["val_top1"])
        alpha, l1_ratio = best["alpha"], best["l1_ratio"]
    else:
        alpha, l1_ratio = pairs[0]
    model, nit = fitter.fit(numpy.arange(len(y)), alpha, l1_ratio)
    with torch.no_grad():
        absent = torch.from_numpy(counts == 0)
        model.linear.weight[absent] = 0.0
        model.linear.bias[absent] = -30.0
    say(f"refit alpha {alpha:g}, l1 ratio {l1_ratio:g}: {nit} passes")
    info = {
        "alpha": alpha,
        "l1_ratio": l1_ratio,
        "solver": solver,
        "search": search,
        "n_iter": int(nit),
        "objective": objective(
            model, x, y, alpha, l1_ratio, sample_weight=fitter.cw[y]
        ),
        "nonzero_coefficients": int(torch.count_nonzero(model.linear.weight)),
    }
    return model, info


def _class_weights(counts, n, class_weight):
    """Per-class sample weights: inverse frequency ("balanced") or ones."""
    if class_weight == "balanced":
        present = counts > 0
        cw = numpy.zeros(len(counts))
        cw[present] = n / (present.sum() * counts[present])
        return cw
    if class_weight is None:
        return numpy.ones(len(counts))
    raise ValueError("class_weight is 'balanced' or None")


class _Fitter:
    """Fits of one data set at given penalties, sharing its standardisation.

    The feature mean and scale come from all rows, chunk by chunk.
    """

    def __init__(self, x, y, quadratic, nclasses, cw, options):
        self.x, self.y, self.cw = x, y, cw
        self.quadratic, self.nclasses = quadratic, nclasses
        self.opt = options
        chunk = options["chunk"]
        npoints = x.shape[1]
        nfeat = npoints * (npoints - 1) // 2 if quadratic else npoints
        s1 = numpy.zeros(nfeat)
        s2 = numpy.zeros(nfeat)
        for i in range(0, len(x), chunk):
            f = _features(x[i : i + chunk], quadratic).astype(numpy.float64)
            s1 += f.sum(0)
            s2 += (f * f).sum(0)
        self.mean = s1 / len(x)
        scale = numpy.sqrt(numpy.maximum(s2 / len(x) - self.mean**2, 0.0))
        scale[scale < 1e-8] = 1.0
        self.scale = scale

    def new_model(self):
        """A zero model carrying the standardisation."""
        m = LogisticRegression(self.x.shape[1], self.nclasses, self.quadratic)
        with torch.no_grad():
            m.mean.copy_(torch.from_numpy(self.mean.astype(numpy.float32)))
            m.scale.copy_(torch.from_numpy(self.scale.astype(numpy.float32)))
            m.linear.weight.zero_()
            m.linear.bias.zero_()
        return m

    def fit(self, rows, alpha, l1_ratio):
        """Fit on ``rows``; return the model and the passes made."""
        x, y, cw, o = self.x, self.y, self.cw, self.opt
        m = self.new_model()
        if o["solver"] == "fista":
            nit = _fista(
                m,
                torch.from_numpy(x[rows]),
                torch.from_numpy(y[rows].astype(numpy.int64)),
                torch.from_numpy(cw[y[rows]].astype(numpy.float32)),
                alpha,
                l1_ratio,
                o["max_iter"],
                o["tol"],
                o["chunk"],
                o["cache_bytes"],
            )
        else:
            nit = _fit_saga(
                m,
                x[rows],
                y[rows],
                alpha,
                l1_ratio,
                cw,
                o["seed"],
                o["max_iter"],
                o["tol"],
            )
        m.eval()
        return m, nit

    def top1(self, m, rows):
        """Top-1 accuracy of a model on ``rows``."""
        chunk = self.opt["chunk"]
        with torch.no_grad():
            z = torch.cat(
                [
                    m(torch.from_numpy(self.x[rows[i : i + chunk]]))
                    for i in range(0, len(rows), chunk)
                ]
            )
        return float((z.argmax(1).numpy() == self.y[rows]).mean())

    def cross_validate(self, folds, alpha, l1_ratio, say):
        """Mean held-out top-1 of one penalty over the folds."""
        accs, nits = [], []
        for k, val in enumerate(folds):
            sub = numpy.sort(numpy.concatenate(folds[:k] + folds[k + 1 :]))
            m, nit = self.fit(sub, alpha, l1_ratio)
            accs.append(self.top1(m, numpy.sort(val)))
            nits.append(nit)
        acc = float(numpy.mean(accs))
        say(
            f"alpha {alpha:g}, l1 ratio {l1_ratio:g}: {len(folds)}-fold "
            f"top-1 {acc:.3f} ({max(nits)} passes on {len(sub)} rows)"
        )
        return {
            "alpha": alpha,
            "l1_ratio": l1_ratio,
            "val_top1": acc,
            "fold_top1": [float(a) for a in accs],
            "n_iter": int(max(nits)),
        }


def _fit_saga(model, x, y, alpha, l1_ratio, cw, seed, max_iter, tol):
    """Fit ``model.linear`` with scikit-learn's saga; return passes."""
    # scikit-learn is an optional extra, needed for this reference only
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLR

    with torch.no_grad():
        fs = model.features(torch.from_numpy(x)).numpy().astype(numpy.float64)
    classes = numpy.unique(y)
    clf = SkLR(
        C=1.0 / (alpha * len(y)),
        l1_ratio=l1_ratio,
        solver="saga",
        class_weight={int(c): float(cw[c]) for c in classes},
        max_iter=max_iter,
        tol=tol,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(fs, y)
    coef, intercept = clf.coef_, clf.intercept_
    if len(classes) == 2 and coef.shape[0] == 1:
        # binary problems come back with one row: split it symmetrically
        coef = numpy.vstack([-coef / 2, coef / 2])
        intercept = numpy.array([-intercept[0] / 2, intercept[0] / 2])
    with torch.no_grad():
        model.linear.weight[classes] = torch.from_numpy(
            coef.astype(numpy.float32)
        )
        model.linear.bias[classes] = torch.from_numpy(
            intercept.astype(numpy.float32)
        )
    return int(numpy.max(clf.n_iter_))
