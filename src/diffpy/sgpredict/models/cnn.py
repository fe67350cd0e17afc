"""The convolutional network of Liu et al. (2019), in torch.

Input: the normalised G(r) on the model grid, shape ``(batch, npoints)``
(209 points by default).  Layers, as in the paper: convolution with
``filters[0]`` channels and kernel ``kernel`` (same padding, ReLU, batch
normalisation), a second convolution with ``filters[1]`` channels, max
pooling by 2, dropout, a dense layer of ``hidden`` units (ReLU) and a
dense output of ``nclasses`` logits.  The paper's best network is
``filters=(256, 64), kernel=32, hidden=128`` in an ensemble of three.
"""

import torch  # noqa: F401  (used by the examples)
from torch import nn

__all__ = ["SpaceGroupCNN"]


class SpaceGroupCNN(nn.Module):
    """The paper's 1D CNN with configurable size.

    Parameters
    ----------
    npoints : int
        Length of the input PDF.
    filters : sequence of int
        Channels of the convolution layers (two in the paper; any number
        is allowed).
    kernel : int
        Kernel length of the convolutions.
    hidden : int
        Units of the dense hidden layer.
    nclasses : int
        Number of space groups.
    dropout : float
        Dropout probability before the dense layers.
    batchnorm : bool
        Use batch normalisation after each convolution.

    Examples
    --------
    >>> net = SpaceGroupCNN(filters=(8, 4), kernel=5, hidden=16)
    >>> net(torch.zeros(2, 209)).shape
    torch.Size([2, 45])
    """

    def __init__(
        self,
        npoints=209,
        filters=(256, 64),
        kernel=32,
        hidden=128,
        nclasses=45,
        dropout=0.3,
        batchnorm=True,
    ):
        super().__init__()
        layers = []
        cin = 1
        for cout in filters:
            # 'same' padding written out: torch copies the input for even
            # kernels when asked for padding="same"
            layers.append(
                nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0)
            )
            layers.append(nn.Conv1d(cin, cout, kernel))
            layers.append(nn.ReLU())
            if batchnorm:
                layers.append(nn.BatchNorm1d(cout))
            cin = cout
        layers.append(nn.MaxPool1d(2))
        layers.append(nn.Dropout(dropout))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * (npoints // 2), hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, nclasses),
        )
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x, radiation=None, species=None):
        """Return logits of shape ``(batch, nclasses)``.

        ``radiation`` and ``species`` are accepted for a uniform
        interface and ignored: this network does not read them.
        """
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.classifier(self.features(x))
