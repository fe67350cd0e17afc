"""A residual 1D convolutional network that also reads the radiation.

Input: the normalised G(r) on the model grid, shape ``(batch, npoints)``,
and optionally the radiation of each PDF (0 for X-rays, 1 for neutrons;
neutron scattering lengths can be negative, so the two radiations give
differently signed peaks for the same structure).  The radiation enters
as a second, constant input channel and again beside the pooled
features, so every layer can use it.

Layers: a stem convolution, then stages of two residual blocks (two
convolutions with batch normalisation and ReLU, and a skip
connection), each stage but the first halving the length by max
pooling and widening the channels; the feature map is flattened (peak
positions carry the lattice, so no global pooling), followed by a dense
layer and the output layer.  About half the multiply-adds of the
paper's network at ``filters=(64, 64), kernel=32``, and deeper.

When the model reads the radiation but is not told it, it returns the
log of the mean of the probabilities for both radiations.
"""

import math

import torch
from torch import nn

__all__ = ["ResNet1D", "RadiationMixin"]


class RadiationMixin:
    """Shared handling of the optional radiation input."""

    radiation_input = False

    def forward(self, x, radiation=None):
        """Return logits ``(batch, nclasses)``.

        Parameters
        ----------
        x : torch.Tensor
            Normalised PDFs, ``(batch, npoints)``.
        radiation : torch.Tensor or float, optional
            0 for X-rays, 1 for neutrons, per PDF or for all.  Without
            it, a model that reads the radiation averages the
            probabilities of both.
        """
        if x.dim() == 3:
            x = x[:, 0, :]
        if not self.radiation_input:
            return self._logits(x, None)
        if radiation is None:
            both = [
                torch.log_softmax(
                    self._logits(x, torch.full_like(x[:, 0], v)), dim=-1
                )
                for v in (0.0, 1.0)
            ]
            return torch.logsumexp(torch.stack(both), dim=0) - math.log(2)
        rad = torch.as_tensor(radiation, dtype=x.dtype, device=x.device)
        if rad.dim() == 0:
            rad = rad.expand(x.shape[0])
        return self._logits(x, rad)


class _Block(nn.Module):
    #: convolutions whose output goes straight into a normalisation
    #: (:func:`diffpy.sgpredict.models.fuse_batchnorm` folds them)
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(self, cin, cout, kernel):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(cin, cout, kernel, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.skip = (
            nn.Identity()
            if cin == cout
            else nn.Sequential(
                nn.Conv1d(cin, cout, 1, bias=False), nn.BatchNorm1d(cout)
            )
        )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.skip(x))


class ResNet1D(RadiationMixin, nn.Module):
    """Residual 1D CNN over the PDF, optionally told the radiation.

    Parameters
    ----------
    npoints : int
        Length of the input PDF.
    channels : sequence of int
        Channels of each stage; stages after the first halve the length.
    kernel : int
        Kernel length (odd).
    hidden : int
        Units of the dense layer.
    nclasses : int
        Number of space groups.
    dropout : float
        Dropout before the dense layers.
    radiation_input : bool
        Read the radiation (see the module documentation).
    stem_pool : bool
        Halve the length after the stem convolution (about half the
        cost; the stem keeps the fine peak positions in its channels).

    Examples
    --------
    >>> net = ResNet1D(channels=(8, 16), hidden=16)
    >>> net(torch.zeros(2, 209), torch.tensor([0.0, 1.0])).shape
    torch.Size([2, 45])
    >>> net(torch.zeros(3, 209)).shape
    torch.Size([3, 45])
    """

    def __init__(
        self,
        npoints=209,
        channels=(32, 64, 96, 128),
        kernel=7,
        hidden=256,
        nclasses=45,
        dropout=0.3,
        radiation_input=True,
        stem_pool=False,
    ):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError("kernel must be odd")
        self.radiation_input = bool(radiation_input)
        cin = 2 if self.radiation_input else 1
        c0 = int(channels[0])
        stem = [
            nn.Conv1d(cin, c0, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(c0),
            nn.ReLU(),
        ]
        length = npoints
        if stem_pool:
            stem.append(nn.MaxPool1d(2))
            length //= 2
        self.stem = nn.Sequential(*stem)
        stages = []
        prev = c0
        for i, c in enumerate(channels):
            if i > 0:
                stages.append(nn.MaxPool1d(2))
                length //= 2
            stages.append(_Block(prev, int(c), kernel))
            prev = int(c)
        self.stages = nn.Sequential(*stages)
        nflat = prev * length + (1 if self.radiation_input else 0)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(nflat, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.out = nn.Linear(hidden, nclasses)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _logits(self, x, rad):
        h = x.unsqueeze(1)
        if rad is not None:
            h = torch.cat([h, rad[:, None, None].expand_as(h)], dim=1)
        h = self.stages(self.stem(h)).flatten(1)
        if rad is not None:
            h = torch.cat([h, rad[:, None]], dim=1)
        return self.out(self.head(h))
