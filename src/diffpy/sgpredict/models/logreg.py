"""Elastic-net logistic regression: the paper's baseline.

Liu et al. (2019) fit a multinomial logistic regression with elastic-net
penalty on the normalised PDF X (20 % top-1) and on its quadratic
features :math:`X_i X_j,\\ j > i` (44.5 % top-1, 77 % top-6).  Here the
fit is done by scikit-learn (``saga`` solver) and the result is kept as
a small torch module, :class:`LogisticRegression`, so that it is saved,
checksummed and loaded through the same model card and safetensors file
as the networks (no pickle).

The penalty is written as in the paper, :math:`\\alpha` the overall
strength and :math:`\\Lambda` the l1 ratio:

.. math::

    \\min_w \\frac{1}{n} \\sum_i \\ell(y_i, w^T f_i) + \\alpha \\left[
        \\Lambda \\lVert w \\rVert_1
        + \\frac{1 - \\Lambda}{2} \\lVert w \\rVert_2^2 \\right],

which is scikit-learn's ``LogisticRegression(C=1 / (alpha * n),
l1_ratio=Lambda)``.
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

    def forward(self, x):
        """Return logits of shape ``(batch, nclasses)``."""
        return self.linear(self.features(x))


def _features(x, quadratic):
    from diffpy.sgpredict.grid import quadratic_features

    x = numpy.asarray(x, dtype=numpy.float32)
    return quadratic_features(x) if quadratic else x


def fit_logreg(
    x,
    y,
    *,
    quadratic=True,
    alphas=(1e-4, 1e-3),
    l1_ratios=(0.75, 1.0),
    nclasses=45,
    class_weight="balanced",
    cv_fraction=0.25,
    max_cv_samples=800,
    max_iter=30,
    tol=1e-3,
    seed=0,
):
    """Fit the elastic-net baseline; choose alpha and l1 ratio.

    The penalty is chosen on one held-out part of the training data
    (``cv_fraction``, at most ``max_cv_samples`` rows for the search) to
    keep the search cheap; the chosen pair is then refitted on all of
    ``x``.  saga on the 21,736 quadratic features costs about 10 ms of
    one CPU core per row and iteration: 2,000 rows and 30 iterations take
    about 10 minutes, the default search about as long again.

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
        Passed to scikit-learn (inverse class frequency, as the CNN).
    cv_fraction, max_cv_samples : float, int
        Held-out share and size limit of the search.
    max_iter, tol : int, float
        saga settings.
    seed : int
        Random seed of the split and the solver.

    Returns
    -------
    model : LogisticRegression
        The fitted classifier as a torch module.
    info : dict
        ``alpha``, ``l1_ratio``, ``search`` (list of dicts with the
        held-out top-1 of every pair) and ``n_iter``.

    Examples
    --------
    >>> rng = numpy.random.default_rng(0)
    >>> x = rng.random((60, 12)); y = (x[:, 0] > 0.5).astype(int)
    >>> model, info = fit_logreg(x, y, quadratic=False, alphas=(1e-3,),
    ...                          l1_ratios=(1.0,))
    >>> info["alpha"], model(torch.rand(2, 12)).shape
    (0.001, torch.Size([2, 45]))
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLR

    x = numpy.asarray(x, dtype=numpy.float32)
    y = numpy.asarray(y, dtype=int)
    npoints = x.shape[1]
    rng = numpy.random.default_rng(seed)
    f = _features(x, quadratic)
    mean = f.mean(axis=0)
    scale = f.std(axis=0)
    scale[scale < 1e-8] = 1.0
    fs = ((f - mean) / scale).astype(numpy.float64)

    def make(alpha, l1_ratio, n):
        return SkLR(
            C=1.0 / (alpha * n),
            l1_ratio=l1_ratio,
            solver="saga",
            class_weight=class_weight,
            max_iter=max_iter,
            tol=tol,
            random_state=seed,
        )

    search = []
    pairs = [(a, lr) for a in alphas for lr in l1_ratios]
    if len(pairs) > 1:
        order = rng.permutation(len(y))[: max(max_cv_samples, 4)]
        nval = max(int(round(cv_fraction * len(order))), 1)
        val, fit = order[:nval], order[nval:]
        for alpha, l1_ratio in pairs:
            clf = make(alpha, l1_ratio, len(fit))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(fs[fit], y[fit])
            acc = float((clf.predict(fs[val]) == y[val]).mean())
            search.append(
                {"alpha": alpha, "l1_ratio": l1_ratio, "val_top1": acc}
            )
        best = max(search, key=lambda s: s["val_top1"])
        alpha, l1_ratio = best["alpha"], best["l1_ratio"]
    else:
        alpha, l1_ratio = pairs[0]
    clf = make(alpha, l1_ratio, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(fs, y)
    model = LogisticRegression(npoints, nclasses, quadratic)
    weight = numpy.zeros((nclasses, f.shape[1]), dtype=numpy.float32)
    bias = numpy.full(nclasses, -30.0, dtype=numpy.float32)
    classes = clf.classes_.astype(int)
    coef = clf.coef_
    intercept = clf.intercept_
    if len(classes) == 2 and coef.shape[0] == 1:
        # binary problems come back with one row: split it symmetrically
        coef = numpy.vstack([-coef / 2, coef / 2])
        intercept = numpy.array([-intercept[0] / 2, intercept[0] / 2])
    weight[classes] = coef
    bias[classes] = intercept
    with torch.no_grad():
        model.linear.weight.copy_(torch.from_numpy(weight))
        model.linear.bias.copy_(torch.from_numpy(bias))
        model.mean.copy_(torch.from_numpy(mean.astype(numpy.float32)))
        model.scale.copy_(torch.from_numpy(scale.astype(numpy.float32)))
    model.eval()
    info = {
        "alpha": alpha,
        "l1_ratio": l1_ratio,
        "search": search,
        "n_iter": int(numpy.max(clf.n_iter_)),
        "nonzero_coefficients": int(numpy.count_nonzero(coef)),
    }
    return model, info
