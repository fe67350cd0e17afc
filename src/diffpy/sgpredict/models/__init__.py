"""Network architectures (torch modules only: no file input or output).

:func:`build_model` makes a network from the ``architecture`` name and
``config`` dictionary stored in a model card, so a card fully describes
how to rebuild the network its weights belong to.

Examples
--------
>>> model = build_model("cnn", {"filters": [32, 16], "kernel": 8,
...                             "hidden": 16})  # doctest: +SKIP
"""

import torch

from diffpy.sgpredict.models.cnn import SpaceGroupCNN
from diffpy.sgpredict.models.logreg import LogisticRegression
from diffpy.sgpredict.models.resnet import ResNet1D

__all__ = ["ARCHITECTURES", "build_model", "Ensemble"]


#: Architecture name -> the module class it builds.
ARCHITECTURES = {
    "cnn": SpaceGroupCNN,
    "resnet": ResNet1D,
    "logreg": LogisticRegression,
}


def build_model(architecture, config=None):
    """Build an untrained network.

    Parameters
    ----------
    architecture : str
        A key of :data:`ARCHITECTURES`.
    config : dict, optional
        Keyword arguments of the architecture's class.

    Returns
    -------
    torch.nn.Module
        A module mapping ``(batch, npoints)`` inputs (and optionally the
        radiation, 0 for X-rays and 1 for neutrons, per row) to
        ``(batch, 45)`` logits.
    """
    try:
        factory = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(
            f"unknown architecture {architecture!r}; known: "
            f"{', '.join(sorted(ARCHITECTURES))}"
        ) from None
    return factory(**dict(config or {}))


class Ensemble(torch.nn.Module):
    """Average the log-probabilities of several networks.

    Parameters
    ----------
    members : list of torch.nn.Module
        Networks with the same input and output shapes.

    The output is the mean of the members' log-softmax outputs (a
    geometric-mean ensemble), itself usable as logits; ``members`` is
    the ``ModuleList`` of the networks.
    """

    def __init__(self, members):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, x, radiation=None):
        """Mean log-softmax of the members for inputs ``x``."""
        outs = [
            torch.log_softmax(m(x, radiation), dim=-1) for m in self.members
        ]
        return torch.stack(outs).mean(dim=0)
