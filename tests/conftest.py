"""Shared fixtures: data paths and a small model written for the tests."""

from pathlib import Path

import numpy
import pytest

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[1] / "src" / "diffpy" / "sgpredict" / "data"


@pytest.fixture(scope="session")
def data_dir():
    return DATA


@pytest.fixture(scope="session")
def ni_xray():
    """A measured Ni x-ray PDF (0-60 A, Qmax 25) shipped as an example."""
    from importlib import resources

    return Path(
        str(
            resources.files("diffpy.sgpredict")
            / "data"
            / "examples"
            / "Ni_xray.gr"
        )
    )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """An untrained but deterministic small CNN saved as a model folder."""
    import torch

    from diffpy.sgpredict import spacegroups
    from diffpy.sgpredict.card import save_model
    from diffpy.sgpredict.grid import MODEL_GRID
    from diffpy.sgpredict.models import build_model

    config = {"filters": [8, 4], "kernel": 5, "hidden": 16}
    with torch.random.fork_rng():  # the session's generator is untouched
        torch.manual_seed(0)
        members = [build_model("cnn", config) for _ in range(2)]
    for m in members:
        m.eval()
    out = tmp_path_factory.mktemp("tiny_model")
    card = {
        "name": "tiny-test-model",
        "description": "untrained network for tests",
        "architecture": "cnn",
        "config": config,
        "labels": list(spacegroups.NUMBERS),
        "input": {**MODEL_GRID.to_dict(), "min_rmax": 19.9},
        "prior": {"train": [1.0] * 45, "strength": 1.0},
    }
    save_model(out, members, card)
    return out


def write_gr(path, r, g, header=""):
    """Write a two-column file with an optional header."""
    with open(path, "w") as fp:
        fp.write(header)
        for a, b in zip(r, g):
            fp.write(f"{a:.6f} {b:.6f}\n")
    return path


def fake_pdf(rmax=30.0, step=0.01):
    """A G(r)-like curve: negative baseline with damped peaks."""
    r = numpy.arange(0.0, rmax + step / 2, step)
    g = -0.3 * r
    for d in (2.5, 3.5, 4.3, 5.0, 5.6, 6.1):
        for k in range(1, 6):
            g += 12 / k * numpy.exp(-0.5 * ((r - d * k) / 0.08) ** 2)
    g *= numpy.exp(-0.5 * (0.04 * r) ** 2)
    return r, g
