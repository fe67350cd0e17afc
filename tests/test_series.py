"""Series: many files, folders and globs; CSV rows; the series plot."""

import csv

import numpy
import pytest
from conftest import fake_pdf, write_gr

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.paths import (
    expand_inputs,
    unique_stems,
    value_from_name,
)
from diffpy.sgpredict.predictor import predict
from diffpy.sgpredict.series import series_figure, series_x, write_csv


@pytest.fixture
def series(tmp_path):
    """Three files of a temperature series, and one with a shared name."""
    r, g = fake_pdf()
    folder = tmp_path / "run"
    folder.mkdir()
    paths = []
    for i, t in enumerate((100, 200, 300)):
        gi = numpy.roll(g, 5 * i)
        paths.append(write_gr(folder / f"sample_{t}K.gr", r, gi))
    (folder / "notes.md").write_text("not data")
    other = tmp_path / "other"
    other.mkdir()
    write_gr(other / "sample_100K.gr", r, g)
    return folder, other, paths


def test_folders_and_globs_expand_in_order(series):
    folder, other, paths = series
    assert expand_inputs([folder]) == [str(p) for p in paths]
    assert expand_inputs([str(folder / "*_?00K.gr")]) == [
        str(p) for p in paths
    ]
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(folder / "*.xyz")])
    empty = other / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no data files"):
        expand_inputs([empty])


def test_unique_stems_never_collide(series):
    folder, other, paths = series
    names = unique_stems([paths[0], other / "sample_100K.gr", paths[1]])
    assert names == ["run_sample_100K", "other_sample_100K", "sample_200K"]
    assert len(set(unique_stems(["a.gr", "a.gr", "a.gr"]))) == 3


def test_values_from_names():
    assert value_from_name("BaFe2As2_300K.gr") == ("temperature", 300.0)
    assert value_from_name("LaMnO3_T=80.gr") == ("temperature", 80.0)
    assert value_from_name("x=0.2.gr") == ("value", 0.2)
    assert value_from_name("scan-7.gr") == ("index", 7.0)
    assert value_from_name("Ni_xray.gr") == (None, None)


def test_csv_has_one_row_per_file(tiny_model, series, tmp_path):
    folder, other, paths = series
    results = predict(folder, model=tiny_model, top=3)
    assert [r.name for r in results] == [p.name for p in paths]
    out = write_csv(results, tmp_path / "s.csv", top=3)
    with open(out) as fp:
        rows = list(csv.DictReader(fp))
    assert len(rows) == 3
    assert [float(r["x"]) for r in rows] == [100.0, 200.0, 300.0]
    assert rows[0]["x_kind"] == "temperature (K)"
    # no header says the radiation here; a given one reaches the column
    assert [r["radiation"] for r in rows] == ["", "", ""]
    given = predict(folder, model=tiny_model, top=3, radiation="neutron")
    with open(write_csv(given, tmp_path / "n.csv", top=3)) as fp:
        assert [r["radiation"] for r in csv.DictReader(fp)] == ["neutron"] * 3
    for row, result in zip(rows, results):
        assert row["in_domain"] == str(result.in_domain)
        c = result.candidates[0]
        assert row["top1_group"] == f"{c.symbol} ({c.number})"
        assert float(row["top1_probability"]) == pytest.approx(
            c.probability, abs=1e-6
        )
        total = sum(float(row[s]) for s in ("cubic", "hexagonal", "trigonal"))
        assert total <= 1.0 + 1e-6
    with pytest.raises(InputError, match="does not exist"):
        write_csv(results, tmp_path / "nowhere" / "s.csv")
    with pytest.raises(InputError, match="is a folder"):
        write_csv(results, tmp_path)


def test_series_x_falls_back_to_file_order(tiny_model):
    r, g = fake_pdf()
    results = predict(r, numpy.stack([g, g]), model=tiny_model)
    assert series_x(results) == ("file order", [1.0, 2.0])
    results[0].meta["temperature"] = 10.0
    results[1].meta["temperature"] = 20.0
    assert series_x(results) == ("temperature (K)", [10.0, 20.0])


def test_series_plot_follows_the_top_groups(tiny_model, series, tmp_path):
    folder, _, paths = series
    results = predict(folder, model=tiny_model)
    fig = series_figure(results, ngroups=3)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "temperature (K)"
    lines = [ln for ln in ax.lines if ln.get_label()[0] != "_"]
    assert len(lines) == 3
    assert list(lines[0].get_xdata()) == [100.0, 200.0, 300.0]
    k = numpy.argmax(numpy.max([r.probabilities for r in results], axis=0))
    assert numpy.allclose(
        lines[0].get_ydata(), [r.probabilities[k] for r in results]
    )
    out = tmp_path / "series.png"
    fig.savefig(out)
    assert out.stat().st_size > 5000
