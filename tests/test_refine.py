"""Tests of the refinement hand-off (diffpy.sgpredict.refine)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

pytest.importorskip("diffpy.srfit")
pytest.importorskip("spglib")

from diffpy.sgpredict.errors import InputError  # noqa: E402
from diffpy.sgpredict.refine import settings  # noqa: E402
from diffpy.sgpredict.refine import (  # noqa: E402
    fit_candidates,
    parse_composition,
    starting_structure,
    write_templates,
)
from diffpy.sgpredict.refine.starting import load_prototypes  # noqa: E402
from diffpy.sgpredict.refine.templates import (  # noqa: E402
    check_macro,
    parse_macro,
)

DATA = Path(__file__).parent / "data"
NI = DATA / "refine_Ni_ch03_xray.gr"
CDSE = DATA / "refine_CdSe_bulk_ch08_r20.gr"
FORTY_FIVE = {
    2, 4, 9, 11, 12, 13, 14, 15, 19, 33, 36, 47, 55, 58, 60, 61, 62, 63,
    64, 65, 71, 87, 88, 122, 123, 129, 136, 139, 140, 141, 148, 160, 164,
    166, 167, 176, 186, 191, 194, 205, 216, 221, 225, 227, 230,
}  # fmt: skip


def _headerless(tmp_path):
    """The Ni data as two bare columns (no Qmax anywhere)."""
    xy = numpy.loadtxt(NI, skiprows=22)
    path = tmp_path / "Ni_noheader.gr"
    numpy.savetxt(path, xy[(xy[:, 0] > 0) & (xy[:, 0] <= 20)], fmt="%.6g")
    return path


# ------------------------------------------------------------------ starts


def test_prototype_library_covers_the_45_groups():
    lib = load_prototypes()
    entries = lib["prototypes"]
    assert {e["number"] for e in entries} == FORTY_FIVE
    for entry in entries:
        assert entry["source"] in lib["sources"]
        assert entry["licence"]
    # first prototype of every group expands to a structure in that group
    seen = set()
    for entry in entries:
        if entry["number"] in seen:
            continue
        seen.add(entry["number"])
        stru = settings.expand(
            entry["lattice"], entry["sites"], entry["number"]
        )
        assert settings.spglib_group(stru, 1e-3) == entry["number"]


def test_composition_parser():
    assert parse_composition("LaMnO3") == {"La": 1, "Mn": 1, "O": 3}
    assert parse_composition("Cd Se") == {"Cd": 1, "Se": 1}
    comp = parse_composition("Ba0.7K0.3(Zn0.85Mn0.15)2As2")
    assert comp["Zn"] == pytest.approx(1.7)
    with pytest.raises(InputError):
        parse_composition("La(MnO3")


def test_starting_structure_substitutes_and_scales():
    start = starting_structure(221, composition="LaMnO3", r1=2.76)
    assert start.source == "prototype"
    assert {a.element for a in start.structure} == {"La", "Mn", "O"}
    assert settings.spglib_group(start.structure) == 221
    # La-O at a/sqrt(2) is the first strong peak of cubic LaMnO3
    assert start.structure.lattice.a == pytest.approx(3.9, abs=0.05)
    ni = starting_structure(225, composition="Ni", r1=2.49)
    assert ni.structure.lattice.a == pytest.approx(2.49 * 2**0.5, abs=0.02)


def test_starting_structure_from_cif(tmp_path):
    cif = tmp_path / "ni.cif"
    starting_structure(225, composition="Ni").to_cif(cif)
    same = starting_structure(225, cif=cif)
    assert same.source == "cif"
    other = starting_structure(221, cif=cif)
    assert other.source == "prototype"
    assert any("not 221" in note for note in other.notes)
    assert {a.element for a in other.structure} == {"Ni"}


def test_generated_trigonal_start_keeps_hexagonal_axes():
    pytest.importorskip("pyxtal")
    start = starting_structure(164, composition="CdSe", r1=2.63)
    assert start.source == "pyxtal"
    assert settings.spglib_group(start.structure) == 164
    # srfit keeps hexagonal axes only when gamma is exactly 120
    assert start.structure.lattice.gamma == 120.0


def test_bad_inputs_give_one_line_messages(tmp_path):
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n")
    with pytest.raises(InputError) as err:
        starting_structure(225, cif=bad)
    assert "\n" not in str(err.value) and "bad.cif" in str(err.value)
    with pytest.raises(InputError) as err:
        starting_structure(230, composition="NaCl7")
    assert "fits no Wyckoff combination" in str(err.value)


# --------------------------------------------------------------- templates


def test_templates_written_and_bad_inputs_reported(tmp_path):
    bad = tmp_path / "bad.cif"
    bad.write_text("this is not a CIF\n")
    out = write_templates(
        _headerless(tmp_path),
        [225, 230],
        tmp_path / "fits",
        composition="NaCl7",
        cif=bad,
        rmax=10,
    )
    by_group = {o["number"]: o for o in out}
    assert by_group[230]["error"] and by_group[230]["folder"] is None
    assert "fits no Wyckoff" in by_group[230]["error"]
    good = by_group[225]
    assert good["folder"] is not None
    notes = " ".join(good["notes"])
    assert "bad.cif" in notes and "Qmax not in the data header" in notes
    assert "25" in notes
    files = {p.name for p in Path(good["folder"]).iterdir()}
    assert {"start.cif", "fit.py", "fit.dp-in", "README.md"} <= files
    assert "Ni_noheader.gr" in files


def test_generated_fit_py_runs_and_macro_parses(tmp_path):
    out = write_templates(NI, [225], tmp_path, rmax=8)
    folder = Path(out[0]["folder"])
    text = (folder / "fit.dp-in").read_text()
    check_macro(text)
    parsed = parse_macro(folder / "fit.dp-in")
    if parsed["parser"] == "diffpy.apps":
        inputs = parsed["inputs"]
        assert inputs["initialize_structures.spacegroups"] == ["Fm-3m"]
        assert "G1_a" in inputs["refine_variables.variable_names"]
    with pytest.raises(ValueError):
        check_macro("load structure G1 from start.cif\n")
    proc = subprocess.run(
        [
            sys.executable,
            "fit.py",
            "--engine",
            "builtin",
            "--rmax",
            "8",
            "--max-nfev",
            "15",
            "--no-plot",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rw = float(proc.stdout.split("Rw =")[1].split()[0])
    assert rw < 0.15
    assert (folder / "refined.cif").exists()


# ------------------------------------------------------------- fits, ranks


def test_ni_ranking(tmp_path):
    t0 = time.time()
    rows = fit_candidates(
        NI, [225, 221, 227, 139], tmp_path, jobs=2, timeout=60, rmax=10
    )
    order = [r["number"] for r in rows]
    assert 225 in order[:2]
    ni = rows[order.index(225)]
    assert ni["status"] == "ok" and ni["rw"] < 0.15
    assert ni["cell"][0] == pytest.approx(3.52, abs=0.02)
    assert ni["nfree"] == 6
    assert (Path(ni["folder"]) / "fit.png").stat().st_size > 1000
    table = (tmp_path / "ranking.txt").read_text()
    assert "Fm-3m" in table and "Rw" in table
    assert len(json.loads((tmp_path / "ranking.json").read_text())) == 4
    assert time.time() - t0 < 60


def test_failing_candidate_does_not_stop_others(tmp_path):
    rows = fit_candidates(
        NI,
        [225, 230],
        tmp_path,
        composition="NaCl7",
        jobs=1,
        timeout=60,
        rmax=6,
        max_nfev=10,
    )
    by_group = {r["number"]: r for r in rows}
    assert by_group[230]["status"] == "failed"
    assert "Wyckoff" in by_group[230]["message"]
    assert by_group[225]["rw"] is not None
    assert rows[-1]["number"] == 230


def test_cli_json(tmp_path, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    status = main(
        [
            "refine",
            str(NI),
            "-o",
            str(tmp_path),
            "--groups",
            "225",
            "Pm-3m",
            "--fit",
            "--json",
            "--rmax",
            "8",
            "--jobs",
            "2",
            "--timeout",
            "60",
        ]
    )
    assert status == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"number", "symbol", "probability", "rw"} <= set(rows[0])
    assert rows[0]["number"] == 225
    status = main(["refine", str(NI), "-o", str(tmp_path), "--groups", "3"])
    assert status == 2
    assert "not one of the 45" in capsys.readouterr().err


def test_cdse_ranking(tmp_path):
    # lower symmetry: wurtzite CdSe (P6_3mc) against cubic and hexagonal
    # alternatives; about 10 s with two processes
    rows = fit_candidates(
        CDSE, [186, 216, 194, 225], tmp_path, jobs=2, timeout=120, rmax=15
    )
    order = [r["number"] for r in rows]
    assert 186 in order[:2], [(r["number"], r["rw"]) for r in rows]
