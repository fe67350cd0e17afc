"""The one command that retrains the shipped model, in a tiny size."""

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "train_default_model.sh"
MP = ROOT.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"


@pytest.mark.slow
def test_train_default_model_script_tiny(tmp_path):
    if shutil.which("diffpy.sgpredict") is None:
        pytest.skip("the diffpy.sgpredict command is not on PATH")
    if not MP.is_file():
        pytest.skip("the Materials Project table is not beside the project")
    # a small table of the real format: the first 4000 rows
    shared = tmp_path / "shared"
    (shared / "mp").mkdir(parents=True)
    with gzip.open(MP, "rt") as src, gzip.open(
        shared / "mp" / "mp_structures.csv.gz", "wt"
    ) as dst:
        for i, line in enumerate(src):
            if i > 4000:
                break
            dst.write(line)
    env = dict(
        os.environ,
        MAX_PER_GROUP="6",
        MAX_ATOMS="20",
        EPOCHS="1",
        ENSEMBLE="1",
        JOBS="1",
        SHARED=str(shared),
    )
    work = tmp_path / "work"
    cmd = ["bash", str(SCRIPT), str(work)]
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from diffpy.sgpredict.dataset import load_arrays

    d = load_arrays(work / "mp_physics.h5", ["sg_number", "settings/neutron"])
    counts = {int(s): int((d["sg_number"] == s).sum()) for s in d["sg_number"]}
    assert max(counts.values()) <= 6 and len(counts) > 20
    neutron = d["settings/neutron"]
    assert 0 < neutron.mean() < 1  # both radiations
    card = json.loads((work / "model" / "card.json").read_text())
    assert card["architecture"] == "resnet"
    assert card["inputs"]["radiation"] is True
    assert card["calibration"]["temperature"] > 0
    # the shipped model reads the number of species beside the PDF
    assert card["inputs"]["species"] == 4
    assert card["species_head"]["rows"] > 0
    held = json.loads((work / "model" / "heldout.json").read_text())
    assert set(held) == {"random", "structure_type"}
    # the search-match library: the training rows only, checksum recorded
    nb = card["neighbours"]
    assert (work / "model" / nb["file"]).is_file()
    train_rows = nb.get("training_rows", nb["rows"])
    assert 0 < train_rows < 6 * len(card["labels"])
    assert nb["temperature"] > 0 and set(nb["validation"]) >= {
        "network",
        "network_and_library",
    }
    # the stoichiometry prior of this model: its test pairs left out
    from diffpy.sgpredict.chemprior import read_counts

    header, kinds = read_counts(work / "model" / "stoichiometry_groups.csv")
    assert "1d" in kinds and float(header["strength"]) > 0
    report = json.loads((work / "report" / "results.json").read_text())
    assert {"mp_random__icsd", "mp_type__none"} <= set(report["model"])
    assert "mp_random__icsd_composition" in report["model"]
    # and the paper's protocol: the test rows at the Table-2 settings
    assert set(report["paper"]) == {"training_physics", "table2"}
    assert (
        report["paper"]["table2"]["n"]
        == report["paper"]["training_physics"]["n"]
    )
    # a second run resumes: nothing is rebuilt or retrained
    again = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=900
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 rows and 0 skips added" in again.stdout + again.stderr
