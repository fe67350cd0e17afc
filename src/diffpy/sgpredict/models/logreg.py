"""Elastic-net logistic regression: the paper's baseline, as a model.

Liu et al. (2019) fit a multinomial logistic regression with elastic-net
penalty on the normalised PDF X (20 % top-1) and on its quadratic
features :math:`X_i X_j,\\ j > i` (44.5 % top-1, 77 % top-6).  The
fitted classifier is kept as a small torch module,
:class:`LogisticRegression` (whichever solver fitted it), so that it is
saved, checksummed and loaded through the same model card and
safetensors file as the networks (no pickle).  The solvers that fit it
live with the training code, in :mod:`diffpy.sgpredict.training.logreg`.
"""

import numpy
import torch
from torch import nn

__all__ = ["LogisticRegression"]


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

    def forward(self, x, radiation=None, species=None):
        """Return logits of shape ``(batch, nclasses)``.

        ``radiation`` and ``species`` are accepted for a uniform
        interface and ignored.
        """
        return self.linear(self.features(x))
