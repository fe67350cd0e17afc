"""Datasets: HDF5 layout, resumable builds, parallel maps, splits."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from diffpy.sgpredict import dataset
from diffpy.sgpredict.dataset import load_arrays
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID

CIFS = Path(__file__).parent / "data" / "cifs"


def _rows(n, start=0):
    for i in range(start, start + n):
        yield {
            "id": f"x{i:03d}",
            "G": numpy.full(MODEL_GRID.npoints, i, dtype=float),
            "sg_number": 225 if i % 2 else 14,
            "declared_sg": -1,
            "formula": "NaCl",
            "source": f"test:{i}",
            "prototype": f"p{i // 3}",
            "natoms": 8,
            "settings": dataset.draw_settings(numpy.random.default_rng(i)),
        }


def test_layout_and_load_arrays(tmp_path):
    path = tmp_path / "d.h5"
    with dataset.DatasetWriter(path, MODEL_GRID.r, {"seed": 1}, 4) as w:
        for row in _rows(6):
            w.add(row)
        w.skip("bad", "test:bad", "generation failed: test")
    data = dataset.load_arrays(path)
    assert data["G"].shape == (6, 209) and data["G"].dtype == numpy.float32
    assert data["r"].dtype == numpy.float64
    assert data["sg_number"].dtype == numpy.int16
    assert data["natoms"].dtype == numpy.int32
    assert data["id"].tolist() == [f"x{i:03d}" for i in range(6)]
    assert data["settings/qmax"].dtype == numpy.float32
    numpy.testing.assert_allclose(data["settings/qdamp"], 0.04)
    import h5py

    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "diffpy.sgpredict.dataset"
        assert f.attrs["format_version"] == 1
        assert f["G"].maxshape == (None, 209)
    assert dataset.read_provenance(path)["seed"] == 1
    assert dataset.read_skipped(path)["id"].tolist() == ["bad"]
    part = dataset.load_arrays(path, ["sg_number", "settings"])
    assert set(part) == {"sg_number"} | {
        f"settings/{n}" for n in dataset.SETTING_NAMES
    }


def test_partial_chunk_of_a_killed_writer_is_dropped(tmp_path):
    import h5py

    path = tmp_path / "d.h5"
    with dataset.DatasetWriter(path, MODEL_GRID.r, chunk_rows=2) as w:
        for row in _rows(4):
            w.add(row)
    # a writer killed mid-chunk: datasets grown, n_rows not advanced
    with h5py.File(path, "a") as f:
        f["G"].resize(7, axis=0)
        f["id"].resize(6, axis=0)
    assert len(dataset.load_arrays(path)["id"]) == 4
    w = dataset.DatasetWriter(path, MODEL_GRID.r)
    assert w.done_ids == {f"x{i:03d}" for i in range(4)}
    for row in _rows(2, start=4):
        w.add(row)
    w.close()
    data = dataset.load_arrays(path)
    assert data["id"].tolist() == [f"x{i:03d}" for i in range(6)]
    assert data["G"].shape == (6, 209)


def _gen_build(path, limit=None, **kw):
    from diffpy.sgpredict.structures.generate import generation_items

    items = generation_items(3, groups=[221, 225], route="both", seed=4)
    config = dataset.build_config(settings="ranges", seed=4)
    return dataset.build_dataset(
        path, items, config, progress=False, limit=limit, chunk_rows=2, **kw
    )


def test_killed_and_resumed_build_equals_uninterrupted(tmp_path):
    full = tmp_path / "full.h5"
    resumed = tmp_path / "resumed.h5"
    _gen_build(full)
    s1 = _gen_build(resumed, limit=5)
    assert s1["done"] == 5
    s2 = _gen_build(resumed)
    assert s2["already"] == 5 and s2["done"] == 1
    a, b = dataset.load_arrays(full), dataset.load_arrays(resumed)
    for key in a:
        numpy.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert len(set(a["id"])) == len(a["id"])
    # settings are drawn per sample within the default ranges
    assert a["settings/qmax"].min() >= 18 and a["settings/qmax"].max() <= 30
    # continuing with other settings is refused
    from diffpy.sgpredict.errors import InputError

    with pytest.raises(InputError, match="other settings"):
        dataset.build_dataset(resumed, [], dataset.build_config(seed=4))


@pytest.mark.slow
def test_killed_subprocess_resumes(tmp_path):
    import time

    out = tmp_path / "k.h5"
    cmd = [
        sys.executable, "-m", "diffpy.sgpredict", "dataset", "build",
        "--generate", "30", "--groups", "225,221,194", "--seed", "2",
        "-o", str(out), "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd)
    t0 = time.time()
    while time.time() - t0 < 60:  # kill once the first chunk is committed
        time.sleep(0.2)
        if out.exists():
            try:
                if len(dataset.load_arrays(out, ["id"])["id"]):
                    break
            except (OSError, InputError, KeyError):
                pass  # the file is being created: look again
    proc.kill()
    proc.wait()
    assert subprocess.run(cmd).returncode == 0
    ref = tmp_path / "ref.h5"
    cmd[cmd.index(str(out))] = str(ref)
    assert subprocess.run(cmd).returncode == 0
    a, b = dataset.load_arrays(out), dataset.load_arrays(ref)
    done = list(a["id"]) + list(dataset.read_skipped(out)["id"])
    assert len(done) == len(set(done)) == 90
    assert sorted(a["id"]) == sorted(b["id"])
    ia, ib = numpy.argsort(a["id"]), numpy.argsort(b["id"])
    numpy.testing.assert_array_equal(a["G"][ia], b["G"][ib])


def test_cif_folder_build_with_report(tmp_path):
    from diffpy.sgpredict.sgpredictapp import main

    folder = tmp_path / "cifs"
    shutil.copytree(CIFS, folder)
    (folder / "garbage.cif").write_text("not a cif")
    shutil.copy(CIFS / "rs0014.cif", folder / "zz_copy.cif")
    out = tmp_path / "real.h5"
    rc = main(
        ["dataset", "build", "--cifs", str(folder), "-o", str(out), "--quiet"]
    )
    assert rc == 0
    data = dataset.load_arrays(out)
    assert sorted(data["formula"]) == sorted(
        ["Bi2Te3", "Cu3Au", "GdSb", "SiC", "SnS"]
    )
    assert set(data["source"]) == {
        f"cif:rs00{n}.cif" for n in ("13", "14", "34", "36", "44")
    }
    assert (data["declared_sg"] != 0).all()
    numpy.testing.assert_allclose(data["settings/uiso"], 0.008)
    report = (tmp_path / "real.skipped.tsv").read_text().splitlines()
    assert report[0] == "item\treason"
    assert any(line.startswith("garbage.cif\tunparseable") for line in report)
    assert any("duplicate of" in line for line in report)
    # each row is the Table-2 PDF of its CIF, as the calculator (checked
    # against srreal in test_pdfcalc) gives it
    from diffpy.sgpredict.pdfcalc import calculate_pdf

    for src, g in zip(data["source"], data["G"]):
        r, ref = calculate_pdf(str(folder / src.split(":", 1)[1]))
        numpy.testing.assert_allclose(r, dataset.load_arrays(out, ["r"])["r"])
        assert numpy.abs(g - ref).max() < 1e-5 * numpy.abs(ref).max()
    summary = dataset.dataset_summary(out)
    assert summary["n_rows"] == 5 and summary["skipped"]
    assert main(["dataset", "info", str(out)]) == 0
    png = tmp_path / "counts.png"
    assert main(["dataset", "plot", str(out), "-o", str(png)]) == 0
    assert png.stat().st_size > 1000
    # a second build with the same command adds nothing
    rc = main(
        ["dataset", "build", "--cifs", str(folder), "-o", str(out), "--quiet"]
    )
    assert rc == 0 and len(dataset.load_arrays(out, ["id"])["id"]) == 5


def test_bad_input_is_one_line_error(tmp_path, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    rc = main(["dataset", "build", "--cifs", str(tmp_path / "nope"), "-o",
               str(tmp_path / "x.h5")])  # fmt: skip
    assert rc == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "x.h5").write_text("not hdf5")
    assert main(["dataset", "info", str(tmp_path / "x.h5")]) == 2


def test_dask_local_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    local = tmp_path / "local.h5"
    viadask = tmp_path / "dask.h5"
    _gen_build(local)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        _gen_build(viadask, client=client)
    a, b = dataset.load_arrays(local), dataset.load_arrays(viadask)
    for key in a:
        numpy.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_parallel_map_orders_results():
    from diffpy.sgpredict.parallel import parallel_map

    assert list(parallel_map(abs, range(-5, 0), progress=False)) == [
        5,
        4,
        3,
        2,
        1,
    ]
    assert list(parallel_map(abs, range(-5, 0), jobs=2, progress=False)) == [
        5,
        4,
        3,
        2,
        1,
    ]


def test_random_split_is_per_group():
    labels = numpy.repeat([2, 14, 225], [10, 20, 50])
    train, test = dataset.split_indices(labels, test_fraction=0.2, seed=0)
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == 80
    for sg, n in ((2, 2), (14, 4), (225, 10)):
        assert (labels[test] == sg).sum() == n


def test_grouped_split_keeps_prototypes_on_one_side():
    rng = numpy.random.default_rng(0)
    keys = numpy.array([f"k{rng.integers(40)}" for _ in range(500)])
    labels = numpy.array([(2, 14, 225)[int(k[1:]) % 3] for k in keys])
    train, test = dataset.split_indices(
        labels, keys, test_fraction=0.2, seed=1, method="grouped"
    )
    assert not set(keys[train]) & set(keys[test])
    assert 0.1 < len(test) / len(labels) < 0.3
    assert len(train) + len(test) == 500


def test_draw_settings_changes_only_named_ranges():
    s = dataset.draw_settings(
        numpy.random.default_rng(1), "ranges", {"uiso": (0.01, 0.02)}
    )
    assert 0.01 <= s["uiso"] <= 0.02
    assert s["qmax"] == 23.0 and s["qdamp"] == 0.04
    with pytest.raises(InputError, match="'table2' or 'ranges'"):
        dataset.draw_settings(numpy.random.default_rng(1), "nonsense")


def test_build_options_are_checked(tmp_path, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    out = str(tmp_path / "x.h5")
    cases = [
        (["--symprec", "-1"], "--symprec must be positive"),
        (["--max-atoms", "0"], "--max-atoms must be at least 1"),
        (["--settings", "ranges", "--range", "qmax=30,18"], "low is above"),
        (["--settings", "ranges", "--range", "noise=0,0.1"], "training batch"),
        (["--settings", "ranges", "--range", "qmux=1,2"], "unknown setting"),
        # a range with settings that do not draw from ranges was ignored
        (["--settings", "physics", "--range", "qmax=18,30"], "--range needs"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ]
    for extra, message in cases:
        rc = main(["dataset", "build", "--cifs", str(CIFS), "-o", out, *extra])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and "Traceback" not in err


def test_merge_keeps_every_row_once(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with dataset.DatasetWriter(a, MODEL_GRID.r, {"seed": 1}, 4) as w:
        for row in _rows(5):
            w.add(row)
    with dataset.DatasetWriter(b, MODEL_GRID.r, {"seed": 2}, 4) as w:
        for row in _rows(3, start=2):  # ids x002-x004 also in a
            w.add(row)
    out = tmp_path / "m.h5"
    assert dataset.merge_datasets([a, b], out) == 8
    # merging again continues the file and adds nothing
    assert dataset.merge_datasets([a, b], out) == 8
    m = dataset.load_arrays(out)
    da, db = dataset.load_arrays(a), dataset.load_arrays(b)
    assert m["id"].tolist() == [f"0:{i}" for i in da["id"]] + [
        f"1:{i}" for i in db["id"]
    ]
    numpy.testing.assert_array_equal(
        m["G"], numpy.concatenate([da["G"], db["G"]])
    )
    numpy.testing.assert_array_equal(
        m["settings/qmax"],
        numpy.concatenate([da["settings/qmax"], db["settings/qmax"]]),
    )
    prov = dataset.read_provenance(out)["merged_from"]
    assert [p["provenance"]["seed"] for p in prov] == [1, 2]


def test_merge_refuses_other_grids(tmp_path):
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.grid import srreal_grid

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with dataset.DatasetWriter(a, MODEL_GRID.r) as w:
        w.add(next(_rows(1)))
    fine = srreal_grid(1.5, 30, 0.1)
    with dataset.DatasetWriter(b, fine) as w:
        row = next(_rows(1))
        row["G"] = numpy.zeros(len(fine))
        w.add(row)
    with pytest.raises(InputError, match="r-grid differs"):
        dataset.merge_datasets([a, b], tmp_path / "m.h5")


def test_merge_takes_only_the_named_source_kinds(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with dataset.DatasetWriter(a, MODEL_GRID.r, {"seed": 1}, 4) as w:
        for i, row in enumerate(_rows(6)):
            kind = "statistics" if i % 3 == 0 else "prototype"
            row["source"] = f"{kind}:{i}"
            w.add(row)
    with dataset.DatasetWriter(b, MODEL_GRID.r, {"seed": 2}, 4) as w:
        for row in _rows(2, start=10):
            w.add(row)
    out = tmp_path / "m.h5"
    n = dataset.merge_datasets([a, b], out, sources={a: ["statistics"]})
    m = dataset.load_arrays(out)
    assert n == 4
    assert m["id"].tolist() == ["0:x000", "0:x003", "1:x010", "1:x011"]
    assert m["G"][:, 0].tolist() == [0, 3, 10, 11]
    prov = dataset.read_provenance(out)["merged_from"]
    assert [p["sources"] for p in prov] == [["statistics"], "all"]


def test_cli_merge_take_checks_its_argument(tmp_path, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    a = tmp_path / "a.h5"
    with dataset.DatasetWriter(a, MODEL_GRID.r) as w:
        w.add(next(_rows(1)))
    out = str(tmp_path / "m.h5")
    assert main(["dataset", "merge", str(a), "-o", out, "--take", "x"]) == 2
    assert "IN.h5=KIND" in capsys.readouterr().err
    assert (
        main(["dataset", "merge", str(a), "-o", out, "--take", f"{a}=test"])
        == 0
    )
    assert dataset.load_arrays(out)["id"].tolist() == ["0:x000"]


def test_a_file_still_being_written_is_read_as_one_set_of_rows(
    tmp_path, monkeypatch
):
    """Between two reads a running build may commit more rows; the later
    reads (prototype, radiation, qdamp) keep the first read's rows."""
    from _synthetic import write_dataset

    from diffpy.sgpredict import evalsets
    from diffpy.sgpredict.training import data as training_data

    path = tmp_path / "growing.h5"
    write_dataset(path, n_per_group=4, groups=(225, 221))
    calls = []

    def growing(p, fields=None):
        out = load_arrays(p, fields)
        calls.append(fields)
        if len(calls) > 1:  # rows committed since the first read
            out = {
                k: (v if k == "r" else numpy.concatenate([v, v[:3]]))
                for k, v in out.items()
            }
        return out

    monkeypatch.setattr(evalsets, "load_arrays", growing)
    ev = evalsets._hdf5_set(path, MODEL_GRID, 19.9)
    assert len(ev["sg_number"]) == len(ev["radiation"]) == 8
    assert len(ev["prototype"]) == 8
    calls.clear()
    monkeypatch.setattr(training_data, "load_arrays", growing)
    rows = training_data.load_training_data(path)
    assert len(rows["y"]) == len(rows["qdamp"]) == len(rows["radiation"])
    assert len(rows["y"]) == 8
