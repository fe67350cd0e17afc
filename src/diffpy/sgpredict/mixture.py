"""Does this PDF look like a mixture of two crystalline phases?

A sum of two crystal PDFs passes every physical check of
:mod:`diffpy.sgpredict.domain` (it has sharp peaks, long-range order and
the right Q content), and the ensemble members rarely disagree on it.
This module holds a small, model-independent *mixture detector*: a 1-D
convolutional network that reads the model input (the min-max normalised
G(r) on the model grid) and returns the probability that it is a sum of
two phases.  It ships as data beside the space-group model
(``data/mixture/detector.safetensors`` and ``detector.json`` with the
weights' SHA-256, the threshold and how both were obtained) and runs
on one thread with torch, in about 0.2 ms per PDF.

How a mixture is built
----------------------
Two raw G(r) of different structures (different space groups), computed
for the same radiation and nearly the same Qmax, are mixed *before*
normalisation by their share of the signal,

.. math::

    G_{mix}(r) = w\\,\\frac{G_1(r)}{\\operatorname{ptp} G_1}
        + (1 - w)\\,\\frac{G_2(r)}{\\operatorname{ptp} G_2},
    \\qquad 0.2 \\le w \\le 0.5,

(:func:`mix_pdfs`; ptp is the range max - min over the grid), then
augmented and normalised exactly as a single phase
(:class:`diffpy.sgpredict.augment.Augmenter`).  ``w`` = 0.2 is a phase
that makes a fifth of the signal (20/80).

The network
-----------
Input: two channels on the 209-point grid, the model input ``x`` and
the mask of points that hold data (1 up to ``nvalid``, 0 beyond).  Three
``same``-padded convolutions, each with ReLU and max-pooling by 2, then
the flattened features (or, with ``head = "meanmax"``, the mean and the
maximum of each channel over r), a hidden layer with ReLU and one
logit; the score is its logistic function.
:func:`build_network` is the torch module used for training,
:class:`MixtureDetector` loads the shipped weights into it (from
safetensors: no pickled code) and runs it.

Examples
--------
>>> det = load_detector()
>>> 0.0 < det.threshold < 1.0
True
"""

import copy
import functools
import json
from pathlib import Path

import numpy

from diffpy.sgpredict.card import read_verified_tensors, sha256sum
from diffpy.sgpredict.errors import ModelError

__all__ = [
    "DETECTOR_NAME",
    "WEIGHTS_NAME",
    "DEFAULT_CONFIG",
    "default_detector_dir",
    "mix_pdfs",
    "input_channels",
    "build_network",
    "save_detector",
    "MixtureDetector",
    "load_detector",
]

DETECTOR_NAME = "detector.json"
WEIGHTS_NAME = "detector.safetensors"
FORMAT = "diffpy.sgpredict.mixture-detector"

#: Architecture of the shipped detector.
DEFAULT_CONFIG = {
    "in_channels": 2,
    "npoints": 209,
    "channels": [32, 64, 128],
    "kernels": [9, 7, 5],
    "hidden": 128,
    "head": "flatten",
}


def default_detector_dir():
    """Return the folder of the detector shipped inside the package."""
    from importlib import resources

    return Path(str(resources.files("diffpy.sgpredict") / "data" / "mixture"))


def mix_pdfs(g1, g2, fraction):
    """Mix two raw PDFs by their share of the signal.

    .. math::

        G = w\\,G_1 / \\operatorname{ptp} G_1
            + (1 - w)\\,G_2 / \\operatorname{ptp} G_2

    Parameters
    ----------
    g1, g2 : array_like
        Raw G(r) on the same grid, shape ``(npoints,)`` or
        ``(batch, npoints)``.
    fraction : float or array_like
        ``w``, the share of the first phase (per row for batches).

    Returns
    -------
    numpy.ndarray
        The mixed G(r), range about 1.

    Examples
    --------
    >>> mix_pdfs([0.0, 2.0], [0.0, -4.0], 0.25).tolist()
    [0.0, -0.5]
    """
    g1 = numpy.asarray(g1, dtype=float)
    g2 = numpy.asarray(g2, dtype=float)
    w = numpy.asarray(fraction, dtype=float)
    if g1.ndim == 2:
        w = w.reshape(-1, 1) if w.ndim else w
    s1 = numpy.ptp(g1, axis=-1, keepdims=True)
    s2 = numpy.ptp(g2, axis=-1, keepdims=True)
    s1 = numpy.where(s1 > 0, s1, 1.0)
    s2 = numpy.where(s2 > 0, s2, 1.0)
    return w * g1 / s1 + (1 - w) * g2 / s2


def input_channels(x, nvalid):
    """Return the detector input: the model input and its data mask.

    Parameters
    ----------
    x : array_like
        Model inputs, shape ``(npoints,)`` or ``(batch, npoints)``.
    nvalid : int or array_like
        Points holding data per input.

    Returns
    -------
    numpy.ndarray
        Shape ``(batch, 2, npoints)``, float32.

    Examples
    --------
    >>> input_channels([0.0, 1.0, 0.0], 2)[0, 1].tolist()
    [1.0, 1.0, 0.0]
    """
    x = numpy.asarray(x, dtype=numpy.float32)
    if x.ndim == 1:
        x = x[None, :]
    nvalid = numpy.broadcast_to(numpy.asarray(nvalid), (len(x),))
    mask = numpy.arange(x.shape[1])[None, :] < nvalid[:, None]
    return numpy.stack([x, mask.astype(numpy.float32)], axis=1)


def build_network(config=None):
    """Return the detector as a torch module (trained by the script,
    loaded with the shipped weights by :class:`MixtureDetector`).

    ``forward(inputs)`` maps ``(batch, 2, npoints)`` to ``(batch,)``
    logits.
    """
    import torch
    from torch import nn

    cfg = dict(DEFAULT_CONFIG, **(config or {}))

    class MixtureNet(nn.Module):
        def __init__(self):
            super().__init__()
            cin = cfg["in_channels"]
            convs = []
            for c, k in zip(cfg["channels"], cfg["kernels"]):
                convs.append(nn.Conv1d(cin, c, k, padding=k // 2))
                cin = c
            self.convs = nn.ModuleList(convs)
            self.fc1 = nn.Linear(_head_size(cfg), cfg["hidden"])
            self.fc2 = nn.Linear(cfg["hidden"], 1)

        def forward(self, x):
            for conv in self.convs:
                x = nn.functional.max_pool1d(torch.relu(conv(x)), 2)
            if cfg["head"] == "flatten":
                h = x.flatten(1)
            else:
                h = torch.cat([x.mean(-1), x.amax(-1)], dim=1)
            return self.fc2(torch.relu(self.fc1(h)))[:, 0]

    return MixtureNet()


def _head_size(cfg):
    """Length of the feature vector that enters the hidden layer."""
    if cfg["head"] == "flatten":
        n = int(cfg["npoints"])
        for _ in cfg["channels"]:
            n //= 2
        return n * cfg["channels"][-1]
    return 2 * cfg["channels"][-1]


def save_detector(folder, net, meta):
    """Write a trained detector: weights (safetensors) and metadata.

    Parameters
    ----------
    folder : str or Path
        Output folder (created).
    net : torch.nn.Module
        From :func:`build_network`.
    meta : dict
        Must hold ``threshold``; ``config``, ``format`` and ``weights``
        (file, SHA-256, bytes) are filled in here.

    Returns
    -------
    Path
        The metadata file.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()
    }
    path = folder / WEIGHTS_NAME
    save_file(tensors, str(path))
    meta = dict(meta)
    meta["format"] = FORMAT
    meta.setdefault("config", dict(DEFAULT_CONFIG))
    meta["weights"] = {
        "file": WEIGHTS_NAME,
        "sha256": sha256sum(path),
        "bytes": path.stat().st_size,
        "parameters": int(sum(v.numel() for v in tensors.values())),
    }
    out = folder / DETECTOR_NAME
    out.write_text(json.dumps(meta, indent=2) + "\n")
    return out


class MixtureDetector:
    """The mixture detector's forward pass and its threshold.

    Parameters
    ----------
    tensors : dict of str to numpy.ndarray
        The weights as saved by :func:`save_detector`.
    meta : dict
        The metadata (``threshold``, ``config``, training record).

    Examples
    --------
    >>> from diffpy.sgpredict.grid import MODEL_GRID
    >>> det = load_detector()
    >>> x = 0.5 + 0.5 * numpy.sin(2.6 * MODEL_GRID.r)
    >>> 0.0 <= det.score(x, MODEL_GRID.npoints) <= 1.0
    True
    """

    def __init__(self, tensors, meta):
        self.meta = dict(meta)
        self.config = dict(DEFAULT_CONFIG, **(meta.get("config") or {}))
        self.threshold = float(meta["threshold"])
        #: thresholds for data of a known radiation ("xray", "neutron")
        self.thresholds = {
            str(k): float(v) for k, v in (meta.get("thresholds") or {}).items()
        }
        for value in [self.threshold, *self.thresholds.values()]:
            if not 0.0 < value < 1.0:
                raise ModelError(
                    f"mixture detector threshold {value} is not in (0, 1)"
                )
        import torch

        self._net = build_network(self.config).eval()
        try:
            self._net.load_state_dict(
                {
                    k: torch.as_tensor(numpy.asarray(v, dtype=numpy.float32))
                    for k, v in tensors.items()
                }
            )
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[-1].strip()
            raise ModelError(
                f"mixture detector weights do not fit its config: {first}"
            ) from None

    def with_threshold(self, threshold):
        """Return the same detector with another threshold.

        Examples
        --------
        >>> load_detector().with_threshold(0.7).threshold
        0.7
        """
        other = copy.copy(self)
        other.meta = dict(self.meta, threshold=float(threshold))
        other.meta.pop("thresholds", None)
        other.threshold = float(threshold)
        other.thresholds = {}
        if not 0.0 < other.threshold < 1.0:
            raise ValueError(f"threshold {threshold} is not in (0, 1)")
        return other

    def threshold_for(self, radiation=None):
        """The threshold for data of ``radiation`` ("xray", "neutron").

        Each radiation has its own when the metadata carry them (the
        same false-alarm rate on its single-phase validation PDFs);
        data of unstated radiation, or a detector without them, get
        :attr:`threshold`.

        Examples
        --------
        >>> det = load_detector()
        >>> det.threshold_for(None) == det.threshold
        True
        >>> det.with_threshold(0.7).threshold_for("neutron")
        0.7
        """
        return self.thresholds.get(radiation, self.threshold)

    def logits(self, inputs):
        """Return the logits of ``(batch, 2, npoints)`` inputs.

        The training module on one thread (a second thread costs more
        in wake-ups than these small products save; 0.2 ms per PDF, a
        tenth of numpy's ``einsum``), the process's thread count
        restored afterwards.
        """
        import torch

        from diffpy.sgpredict.runtime import torch_threads

        with torch_threads(1), torch.inference_mode():
            h = torch.as_tensor(numpy.asarray(inputs, dtype=numpy.float32))
            return self._net(h).numpy()

    def scores(self, x, nvalid):
        """Return mixture probabilities of a batch of model inputs.

        Parameters
        ----------
        x : array_like
            ``(batch, npoints)`` model inputs
            (:func:`diffpy.sgpredict.grid.to_model_input`).
        nvalid : array_like
            Points holding data per row.

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1], shape ``(batch,)``.
        """
        z = self.logits(input_channels(x, nvalid)).astype(float)
        return 1.0 / (1.0 + numpy.exp(-numpy.clip(z, -60.0, 60.0)))

    def score(self, x, nvalid):
        """Return the mixture probability of one model input."""
        return float(self.scores(x, nvalid)[0])

    @classmethod
    def from_folder(cls, folder):
        """Load a detector folder, checking the weights' SHA-256.

        Raises
        ------
        ModelError
            When a file is missing or damaged, or the checksum differs.
        """
        folder = Path(folder)
        meta_path = folder / DETECTOR_NAME
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{meta_path}: cannot read the mixture detector ({exc})"
            ) from exc
        if meta.get("format") != FORMAT:
            raise ModelError(f"{meta_path}: not a mixture detector")
        weights = meta.get("weights") or {}
        tensors = read_verified_tensors(
            folder / weights.get("file", WEIGHTS_NAME),
            weights.get("sha256"),
            meta_path.name,
            "numpy",
        )
        return cls(tensors, meta)


@functools.lru_cache(maxsize=4)
def _cached(folder):
    return MixtureDetector.from_folder(folder)


def load_detector(folder=None):
    """Return the mixture detector of a folder (default: the shipped one).

    Loaded once per folder and process (the checksum is verified then).

    Examples
    --------
    >>> load_detector().meta["format"]
    'diffpy.sgpredict.mixture-detector'
    """
    folder = Path(folder) if folder else default_detector_dir()
    return _cached(str(folder.resolve()))
