"""The one command that retrains the shipped model, in a tiny size."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "train_default_model.sh"


@pytest.mark.slow
def test_train_default_model_script_tiny(tmp_path):
    if shutil.which("diffpy.sgpredict") is None:
        pytest.skip("the diffpy.sgpredict command is not on PATH")
    env = dict(
        os.environ,
        PER_GROUP="10",
        STAT_GROUP="4",
        EPOCHS="1",
        MINUTES="2",
        SHARED=str(tmp_path / "no-shared"),
    )
    work = tmp_path / "work"
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads((work / "model" / "card.json").read_text())
    assert card["ensemble"] == 3
    assert card["config"]["filters"] == [64, 64]
    from diffpy.sgpredict.dataset import load_arrays

    d = load_arrays(work / "train.h5", fields=["sg_number", "source"])
    # 10 variants in each of the 42 groups with prototypes (a few fail),
    # 4 statistics crystals in each of the other three
    assert 380 < d["sg_number"].size <= 432
    from diffpy.sgpredict.dataset import source_kinds

    stat = d["sg_number"][source_kinds(d["source"]) == "statistics"]
    assert set(stat.tolist()) <= {55, 60, 176} and stat.size > 0
    from diffpy.sgpredict.card import load_model

    _, loaded = load_model(work / "model")
    assert loaded["labels"][0] == 2
