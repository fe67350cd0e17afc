"""Elastic-net logistic regression: the paper's baseline.

Liu et al. (2019) fit a multinomial logistic regression with elastic-net
penalty on the normalised PDF X (20 % top-1) and on its quadratic
features :math:`X_i X_j,\\ j > i` (44.5 % top-1, 77 % top-6).  Here the
result is kept as a small torch module, :class:`LogisticRegression`
(whichever solver fitted it), so that it is saved,
checksummed and loaded through the same model card and safetensors file
as the networks (no pickle).

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

import numpy
import torch
from torch import nn

__all__ = ["LogisticRegression", "fit_logreg"]


class LogisticRegression(nn.Module):
    """A linear classifier on (quadratic) features of the PDF.

    Parameters
    ----------
    npoints : int
        Length of the input PDF.
    nclasses : int
        Number of space groups.
    quadratic : bool
        Use the quadratic features :math:`X_i X_j` (``j > i``) of
        :func:`diffpy.sgpredict.grid.quadratic_features` instead of X.

    Examples
    --------
    >>> net = LogisticRegression(npoints=10, quadratic=True)
    >>> net.nfeatures
    45
    >>> net(torch.rand(3, 10)).shape
    torch.Size([3, 45])
    """

    def __init__(self, npoints=209, nclasses=45, quadratic=True):
        super().__init__()
        self.npoints = int(npoints)
        self.quadratic = bool(quadratic)
        if self.quadratic:
            i, j = numpy.triu_indices(self.npoints, k=1)
            self.register_buffer("pair_i", torch.as_tensor(i), False)
            self.register_buffer("pair_j", torch.as_tensor(j), False)
            self.nfeatures = len(i)
        else:
            self.nfeatures = self.npoints
        self.register_buffer("mean", torch.zeros(self.nfeatures))
        self.register_buffer("scale", torch.ones(self.nfeatures))
        self.linear = nn.Linear(self.nfeatures, nclasses)

    def features(self, x):
        """Return the standardised features of inputs ``(batch, npts)``."""
        if x.dim() == 3:
            x = x.squeeze(1)
        if self.quadratic:
            x = x[:, self.pair_i] * x[:, self.pair_j]
        return (x - self.mean) / self.scale

    def forward(self, x, radiation=None):
        """Return logits of shape ``(batch, nclasses)``.

        ``radiation`` is accepted for a uniform interface and ignored.
        """
        return self.linear(self.features(x))


def _features(x, quadratic):
    from diffpy.sgpredict.grid import quadratic_features

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

    # Lipschitz constant of the smooth part: the softmax Hessian is at
    # most 1/2 times the weighted second moment of [f, 1]
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
    npoints = x.shape[1]
    rng = numpy.random.default_rng(seed)
    counts = numpy.bincount(y, minlength=nclasses)
    if class_weight == "balanced":
        present = counts > 0
        cw = numpy.zeros(nclasses)
        cw[present] = len(y) / (present.sum() * counts[present])
    elif class_weight is None:
        cw = numpy.ones(nclasses)
    else:
        raise ValueError("class_weight is 'balanced' or None")
    # standardisation from all rows, chunk by chunk
    nfeat = npoints * (npoints - 1) // 2 if quadratic else npoints
    s1 = numpy.zeros(nfeat)
    s2 = numpy.zeros(nfeat)
    for i in range(0, len(x), chunk):
        f = _features(x[i : i + chunk], quadratic).astype(numpy.float64)
        s1 += f.sum(0)
        s2 += (f * f).sum(0)
    mean = s1 / len(x)
    scale = numpy.sqrt(numpy.maximum(s2 / len(x) - mean**2, 0.0))
    scale[scale < 1e-8] = 1.0

    def new_model():
        m = LogisticRegression(npoints, nclasses, quadratic)
        with torch.no_grad():
            m.mean.copy_(torch.from_numpy(mean.astype(numpy.float32)))
            m.scale.copy_(torch.from_numpy(scale.astype(numpy.float32)))
            m.linear.weight.zero_()
            m.linear.bias.zero_()
        return m

    def fit(rows, alpha, l1_ratio):
        m = new_model()
        if solver == "fista":
            xt = torch.from_numpy(x[rows])
            yt = torch.from_numpy(y[rows].astype(numpy.int64))
            sw = torch.from_numpy(cw[y[rows]].astype(numpy.float32))
            nit = _fista(
                m,
                xt,
                yt,
                sw,
                alpha,
                l1_ratio,
                max_iter,
                tol,
                chunk,
                cache_bytes,
            )
        else:
            nit = _fit_saga(
                m, x[rows], y[rows], alpha, l1_ratio, cw, seed, max_iter, tol
            )
        m.eval()
        return m, nit

    def top1(m, rows):
        with torch.no_grad():
            z = torch.cat(
                [
                    m(torch.from_numpy(x[rows[i : i + chunk]]))
                    for i in range(0, len(rows), chunk)
                ]
            )
        return float((z.argmax(1).numpy() == y[rows]).mean())

    def say(msg):
        if progress is not None:
            progress(msg)

    search = []
    pairs = [(a, lr) for a in alphas for lr in l1_ratios]
    if len(pairs) > 1:
        order = rng.permutation(len(y))[: max(max_cv_samples, 4)]
        folds = numpy.array_split(order, max(int(cv_folds), 2))
        for alpha, l1_ratio in pairs:
            accs, nits = [], []
            for k, val in enumerate(folds):
                sub = numpy.sort(numpy.concatenate(folds[:k] + folds[k + 1 :]))
                m, nit = fit(sub, alpha, l1_ratio)
                accs.append(top1(m, numpy.sort(val)))
                nits.append(nit)
            acc = float(numpy.mean(accs))
            search.append(
                {
                    "alpha": alpha,
                    "l1_ratio": l1_ratio,
                    "val_top1": acc,
                    "fold_top1": [float(a) for a in accs],
                    "n_iter": int(max(nits)),
                }
            )
            say(
                f"alpha {alpha:g}, l1 ratio {l1_ratio:g}: {len(folds)}-fold "
                f"top-1 {acc:.3f} ({max(nits)} passes on {len(sub)} rows)"
            )
        best = max(search, key=lambda s: s["val_top1"])
        alpha, l1_ratio = best["alpha"], best["l1_ratio"]
    else:
        alpha, l1_ratio = pairs[0]
    rows = numpy.arange(len(y))
    model, nit = fit(rows, alpha, l1_ratio)
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
            model, x, y, alpha, l1_ratio, sample_weight=cw[y]
        ),
        "nonzero_coefficients": int(torch.count_nonzero(model.linear.weight)),
    }
    return model, info


def _fit_saga(model, x, y, alpha, l1_ratio, cw, seed, max_iter, tol):
    """Fit ``model.linear`` with scikit-learn's saga; return passes."""
    import warnings

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
