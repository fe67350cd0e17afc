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

The number of species
---------------------
With ``species_input = n`` the network also takes the number of
chemical species of the sample, when it is known, as a code
:math:`s = \\min(k, n) - 1` (``k`` species; -1 unknown).  It adds a
correction to the logits :math:`z_g = w_g \\cdot h + b_g` of the dense
features :math:`h`,

.. math::

    z_g(s) = w_g \\cdot h + b_g + B_{sg} + V_{sg} \\cdot h,

with one bias :math:`B_s` and one weight matrix :math:`V_s` per code,
zero at the start, so an unknown composition gives the network's output
unchanged.  The PDF of an element in fcc and of an ordered A3B alloy
(Pm-3m, L1_2) are nearly the same; the correction lets the features
mean different groups for one species than for three.  It is fitted by
:func:`diffpy.sgpredict.training.species_head.fit_species_head`.
"""

import math

import torch
from torch import nn

__all__ = ["ResNet1D", "RadiationMixin"]


class RadiationMixin:
    """Shared handling of the optional radiation input."""

    radiation_input = False

    def forward(self, x, radiation=None, species=None):
        """Return logits ``(batch, nclasses)``.

        Parameters
        ----------
        x : torch.Tensor
            Normalised PDFs, ``(batch, npoints)``.
        radiation : torch.Tensor or float, optional
            0 for X-rays, 1 for neutrons, per PDF or for all.  Without
            it, a model that reads the radiation averages the
            probabilities of both.
        species : torch.Tensor or int, optional
            The species code per PDF or for all (see the module
            documentation; -1 unknown); ignored by models without
            ``species_input``.
        """
        if x.dim() == 3:
            x = x[:, 0, :]
        if not self.radiation_input:
            return self._logits(x, None, species)
        if radiation is None:
            both = [
                torch.log_softmax(
                    self._logits(x, torch.full_like(x[:, 0], v), species),
                    dim=-1,
                )
                for v in (0.0, 1.0)
            ]
            return torch.logsumexp(torch.stack(both), dim=0) - math.log(2)
        rad = torch.as_tensor(radiation, dtype=x.dtype, device=x.device)
        if rad.dim() == 0:
            rad = rad.expand(x.shape[0])
        return self._logits(x, rad, species)


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
    species_input : int
        Number of species codes read (0: none; see the module
        documentation).

    Examples
    --------
    >>> net = ResNet1D(channels=(8, 16), hidden=16)
    >>> net(torch.zeros(2, 209), torch.tensor([0.0, 1.0])).shape
    torch.Size([2, 45])
    >>> net(torch.zeros(3, 209)).shape
    torch.Size([3, 45])
    >>> net = ResNet1D(channels=(8, 16), hidden=16, species_input=4).eval()
    >>> x = torch.rand(2, 209)
    >>> bool((net(x, 0.0, species=2) == net(x, 0.0)).all())
    True
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
        species_input=0,
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
        self.species_input = int(species_input)
        if self.species_input < 0:
            raise ValueError("species_input must be 0 or more")
        if self.species_input:
            n = self.species_input
            self.species_bias = nn.Parameter(torch.zeros(n, nclasses))
            self.species_weight = nn.Parameter(
                torch.zeros(n, nclasses, hidden)
            )
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def features(self, x, rad=None):
        """The dense features ``h`` (the input of the output layer)."""
        h = x.unsqueeze(1)
        if rad is not None:
            h = torch.cat([h, rad[:, None, None].expand_as(h)], dim=1)
        h = self.stages(self.stem(h)).flatten(1)
        if rad is not None:
            h = torch.cat([h, rad[:, None]], dim=1)
        return self.head(h)

    def species_logits(self, h, species=None):
        """Logits of dense features, with the species correction.

        Rows whose code is negative (unknown) get none.
        """
        logits = self.out(h)
        if species is None or not self.species_input:
            return logits
        code = torch.as_tensor(species, dtype=torch.long, device=h.device)
        if code.dim() == 0:
            code = code.expand(h.shape[0])
        known = (code >= 0).to(h.dtype)[:, None]
        code = code.clamp(0, self.species_input - 1)
        extra = self.species_bias[code] + torch.einsum(
            "nd,ncd->nc", h, self.species_weight[code]
        )
        return logits + known * extra

    def _logits(self, x, rad, species=None):
        return self.species_logits(self.features(x, rad), species)
