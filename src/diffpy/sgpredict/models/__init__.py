"""Network architectures (torch modules only: no file input or output).

:func:`build_model` makes a network from the ``architecture`` name and
``config`` dictionary stored in a model card, so a card fully describes
how to rebuild the network its weights belong to.

Examples
--------
>>> model = build_model("cnn", {"filters": [32, 16], "kernel": 8,
...                             "hidden": 16})  # doctest: +SKIP
"""

import copy

import torch

from diffpy.sgpredict.models.cnn import SpaceGroupCNN
from diffpy.sgpredict.models.logreg import LogisticRegression
from diffpy.sgpredict.models.resnet import ResNet1D

__all__ = ["ARCHITECTURES", "build_model", "Ensemble", "fuse_batchnorm"]


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


def fuse_batchnorm(model):
    """Return a copy of an evaluation-mode network for inference only.

    Every convolution directly followed by batch normalisation (adjacent
    in a ``Sequential``, or named in a module's ``conv_bn_pairs``) becomes
    one convolution: in evaluation mode the normalisation is the affine
    map ``y = gamma (x - mu) / sqrt(var + eps) + beta``, so it folds
    into the convolution's weights ``w' = w gamma / sqrt(var + eps)``
    and bias ``b' = (b - mu) gamma / sqrt(var + eps) + beta``.  The
    outputs agree to float32 rounding; the residual networks run about
    1.4 times faster on two CPU cores (``benchmarks/predict.py``).

    Parameters
    ----------
    model : torch.nn.Module
        A network in evaluation mode; it is not changed.

    Returns
    -------
    torch.nn.Module
        The fused copy, in evaluation mode; not for training (its
        normalisation statistics are gone).

    Examples
    --------
    >>> net = build_model("resnet", {"channels": [8, 16], "hidden": 16})
    >>> net = net.eval()
    >>> x = torch.rand(4, 209)
    >>> fused = fuse_batchnorm(net)
    >>> bool(torch.allclose(net(x, 0.0), fused(x, 0.0), atol=1e-5))
    True
    >>> any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    False
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fuse_batchnorm needs a model in evaluation mode")
    fused = copy.deepcopy(model)
    for module in fused.modules():
        if isinstance(module, torch.nn.Sequential):
            names = [name for name, _ in module.named_children()]
            pairs = zip(names, names[1:])
        else:
            # other modules name the pairs their forward applies in turn
            pairs = getattr(module, "conv_bn_pairs", ())
        for first, second in pairs:
            conv = getattr(module, first)
            norm = getattr(module, second)
            if isinstance(conv, torch.nn.Conv1d) and isinstance(
                norm, torch.nn.BatchNorm1d
            ):
                setattr(module, first, fuse_conv_bn_eval(conv, norm))
                setattr(module, second, torch.nn.Identity())
    return fused.eval()


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

    def forward(self, x, radiation=None, species=None):
        """Mean log-softmax of the members for inputs ``x``."""
        outs = [
            torch.log_softmax(m(x, radiation, species), dim=-1)
            for m in self.members
        ]
        return torch.stack(outs).mean(dim=0)
