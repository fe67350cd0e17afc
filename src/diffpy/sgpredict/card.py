"""Model cards: weights and the metadata that travels with them.

A model is a folder with two files:

``card.json``
    What the model is: architecture and its configuration, number of
    ensemble members, the class labels (space-group numbers by class
    index), the input grid and normalisation, the training data and
    recipe, the class frequencies of the training set, measured accuracy,
    and the SHA-256 of the weights file.
``model.safetensors``
    The tensors only (safetensors format: no code is executed on load).
    Ensemble member ``i`` stores its tensors under ``m{i}.<name>``.

:func:`load_model` checks the checksum before any tensor is read.

Examples
--------
>>> from diffpy.sgpredict.card import default_model_dir, read_card
>>> card = read_card(default_model_dir())          # doctest: +SKIP
>>> card["labels"][:3]                             # doctest: +SKIP
[2, 4, 9]
"""

import hashlib
import json
from importlib import resources
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import ModelError

__all__ = [
    "CARD_NAME",
    "WEIGHTS_NAME",
    "default_model_dir",
    "sha256sum",
    "read_card",
    "save_model",
    "load_model",
]

CARD_NAME = "card.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1


def default_model_dir():
    """Return the folder of the model shipped inside the package."""
    return Path(str(resources.files("diffpy.sgpredict") / "data" / "model"))


def sha256sum(path):
    """Return the hexadecimal SHA-256 digest of a file.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> sha256sum(f.name)[:12]
    'ba7816bf8f01'
    >>> os.unlink(f.name)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(model_dir):
    """Read and check the card of a model folder.

    Parameters
    ----------
    model_dir : str or Path
        Folder with ``card.json`` and ``model.safetensors``, or the path
        of a ``card.json``.

    Returns
    -------
    dict
        The card, with ``"path"`` set to the folder.

    Raises
    ------
    ModelError
        When the card is missing, unreadable or incomplete.
    """
    path = Path(model_dir)
    if path.name == CARD_NAME:
        path = path.parent
    card_path = path / CARD_NAME
    if not card_path.is_file():
        raise ModelError(
            f"{path}: no {CARD_NAME} found; give a model folder written "
            "by 'diffpy.sgpredict train'"
        )
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_path}: cannot read the model card: {exc}")
    missing = [
        key
        for key in ("architecture", "config", "labels", "input", "weights")
        if key not in card
    ]
    if missing:
        raise ModelError(
            f"{card_path}: model card lacks {', '.join(missing)}; "
            "retrain or repair the card"
        )
    unknown = [n for n in card["labels"] if n not in spacegroups.NUMBERS]
    if unknown:
        raise ModelError(
            f"{card_path}: labels {unknown} are not among the 45 groups"
        )
    card["path"] = str(path)
    return card


def save_model(model_dir, members, card):
    """Write ensemble members and their card into a folder.

    Parameters
    ----------
    model_dir : str or Path
        Output folder (created).
    members : list of torch.nn.Module
        Trained networks of one architecture.
    card : dict
        Card fields; ``weights``, ``ensemble`` and ``format_version`` are
        filled in here.

    Returns
    -------
    Path
        The card's path.
    """
    # torch is imported with the weights only (see load_model)
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for i, member in enumerate(members):
        for name, tensor in member.state_dict().items():
            tensors[f"m{i}.{name}"] = tensor.detach().cpu().contiguous()
    weights_path = model_dir / WEIGHTS_NAME
    tmp = weights_path.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(weights_path)
    card = dict(card)
    card.pop("path", None)
    card["format_version"] = FORMAT_VERSION
    card["ensemble"] = len(members)
    card["weights"] = {
        "file": WEIGHTS_NAME,
        "sha256": sha256sum(weights_path),
        "bytes": weights_path.stat().st_size,
        "parameters": int(
            sum(p.numel() for m in members for p in m.parameters())
        ),
    }
    card_path = model_dir / CARD_NAME
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def read_verified_tensors(path, expected_sha256, described_by, framework):
    """Read a safetensors file after checking its SHA-256.

    The one place where weights are read: no pickle and no code are
    executed, and a file whose digest differs from the one recorded
    beside it is refused.

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file.
    expected_sha256 : str
        The digest recorded in ``described_by``.
    described_by : str
        What recorded it, for the error message (``"the card"``).
    framework : {"torch", "numpy"}
        Return torch tensors or numpy arrays (numpy does not import
        torch).

    Returns
    -------
    dict
        Name -> tensor.

    Raises
    ------
    ModelError
        When the file is missing, its digest differs or it cannot be
        read.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: weights file missing; reinstall the package or "
            "retrain the model"
        )
    actual = sha256sum(path)
    if expected_sha256 != actual:
        raise ModelError(
            f"{path}: checksum {actual[:12]}... does not match "
            f"{described_by} ({str(expected_sha256)[:12]}...); the file is "
            "damaged or was replaced: reinstall or retrain"
        )
    # torch is imported with the weights only (see load_model)
    from safetensors import SafetensorError

    if framework == "torch":
        from safetensors.torch import load_file
    else:
        from safetensors.numpy import load_file
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read weights: {exc}") from exc


def load_model(model_dir=None):
    """Load a model folder into an evaluation-mode torch module.

    The weights' SHA-256 is checked against the card before loading, and
    the tensors are read with safetensors (no pickle, no code).

    Parameters
    ----------
    model_dir : str or Path, optional
        Model folder; default the model shipped in the package.

    Returns
    -------
    model : torch.nn.Module
        The network (an ensemble when the card has several members),
        mapping ``(batch, npoints)`` to log-probabilities or logits.
    card : dict
        The model card.

    Raises
    ------
    ModelError
        When files are missing, the checksum differs or the tensors do not
        fit the architecture.
    """
    # torch (through safetensors.torch and the models) is imported only
    # when weights are read or written: reading a card (``info``) must not
    # cost the 2-3 s of importing torch
    from diffpy.sgpredict.models import Ensemble, build_model

    card = read_card(model_dir or default_model_dir())
    path = Path(card["path"])
    weights_path = path / card["weights"].get("file", WEIGHTS_NAME)
    tensors = read_verified_tensors(
        weights_path, card["weights"].get("sha256"), "the card", "torch"
    )
    members = []
    for i in range(int(card.get("ensemble", 1))):
        prefix = f"m{i}."
        state = {
            k[len(prefix) :]: v
            for k, v in tensors.items()
            if k.startswith(prefix)
        }
        net = build_model(card["architecture"], card["config"])
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(
                f"{weights_path}: weights do not fit the architecture in "
                f"the card: {str(exc).splitlines()[0]}"
            )
        net.eval()
        members.append(net)
    model = members[0] if len(members) == 1 else Ensemble(members)
    model.eval()
    return model, card
