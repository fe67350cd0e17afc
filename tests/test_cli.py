import json
import subprocess
import sys

import numpy
import pytest
from conftest import fake_pdf, write_gr

from diffpy.sgpredict.sgpredictapp import build_parser, main


def test_version(capsys):
    from diffpy.sgpredict.version import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"diffpy.sgpredict {__version__}"


def test_subcommands_are_discovered_through_entry_points():
    import entrypoints

    names = {
        ep.name
        for ep in entrypoints.get_group_all("diffpy.sgpredict.commands")
    }
    assert {"predict", "pdf", "info"} <= names
    parser = build_parser()
    assert parser.parse_args(["predict", "x.gr"]).command == "predict"


def test_predict_table(tiny_model, ni_xray, capsys):
    status = main(["predict", str(ni_xray), "--model", str(tiny_model)])
    out = capsys.readouterr().out
    assert status == 0
    assert "Ni_xray.gr" in out
    lines = [ln for ln in out.splitlines() if ln[:4].strip().isdigit()]
    assert [int(ln.split()[0]) for ln in lines] == [1, 2, 3, 4, 5, 6]
    assert "most probable crystal system" in out


def test_predict_json_plot_and_bad_file(tiny_model, tmp_path, capsys):
    r, g = fake_pdf()
    good = write_gr(tmp_path / "good.gr", r, g)
    bad = tmp_path / "missing.gr"
    plot = tmp_path / "out.png"
    status = main(
        [
            "predict",
            str(good),
            str(bad),
            str(good),
            "--json",
            "--top",
            "3",
            "--plot",
            str(plot),
            "--model",
            str(tiny_model),
        ]
    )
    captured = capsys.readouterr()
    assert status == 2
    assert "missing.gr: no such file" in captured.err
    data = json.loads(captured.out)
    assert [d["file"] for d in data] == ["good.gr", "good.gr"]
    assert len(data[0]["candidates"]) == 3
    assert (tmp_path / "out_good.png").stat().st_size > 10000


def test_bad_top_is_a_one_line_error(tiny_model, ni_xray, capsys):
    status = main(
        ["predict", str(ni_xray), "--top", "50", "--model", str(tiny_model)]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "--top must be between 1 and 45" in err


def test_missing_model_is_a_one_line_error(tmp_path, ni_xray, capsys):
    status = main(["predict", str(ni_xray), "--model", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert "no card.json found" in err and "Traceback" not in err


def test_no_command_prints_help(capsys):
    assert main([]) == 1
    assert "predict" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "file is empty"),
        ("r G\n" + "a b\n" * 20, "no block of numeric rows"),
        ("".join(f"{0.1 * i}\n" for i in range(40)), "one column"),
        (
            "".join(f"{0.1 * i - 2} {i % 3 - 1}\n" for i in range(40)),
            "r starts at -2 A, but distances cannot be negative",
        ),
    ],
)
def test_console_script_bad_input_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.gr"
    path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "diffpy.sgpredict", "predict", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_output_into_a_closed_pipe_is_not_an_error(tiny_model, ni_xray):
    # `diffpy.sgpredict predict ... | head -1`: the reader goes away
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diffpy.sgpredict",
            "predict",
            str(ni_xray),
            "--model",
            str(tiny_model),
            "--top",
            "45",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 0
    assert "error" not in err and "Traceback" not in err


def test_info_prints_metrics_readably():
    from diffpy.sgpredict.cli.info import metric_lines

    lines = metric_lines(
        {
            "validation": {"top1": 0.2, "top6": 0.6, "loss": 4.8},
            "real": {
                "topk": [0.25, 0.5, 0.5, 0.5, 0.75, 1.0],
                "n": 4,
                "excluded": 2,
                "exclude_training": "seeds",
            },
            "baselines": {"lr": {"alpha": 0.001, "real": {"topk": [0.5]}}},
        }
    )
    assert lines[0] == "  validation: top-1 20.0 %, top-6 60.0 %"
    assert lines[1] == (
        "  real: top-1..6 25.0 / 50.0 / 50.0 / 50.0 / 75.0 / 100.0 % "
        "(n=4, 2 left out (seeds))"
    )
    assert lines[2:] == [
        "  baselines:",
        "    lr:",
        "      alpha: 0.001",
        "      real: top-1..6 50.0 %",
    ]


def _one_line(err):
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--top", "0"], "--top must be at least 1"),
        (["--threads", "0"], "--threads: must be at least 1"),
        (["--threads", "two"], "--threads: expected a whole number"),
        (["--composition", "Qq7"], "composition 'Qq7' cannot be read"),
        (["--plot", "{tmp}/no/such/p.png"], "does not exist"),
        (["--plot", "{tmp}/afile/"], "must be a folder, but a file"),
        (["--csv", "{tmp}/no/such/s.csv"], "does not exist"),
        (["--csv", "{tmp}"], "is a folder"),
        (["--series-plot", "{tmp}/no/s.png"], "does not exist"),
        (["--radiation", "electron"], "invalid choice"),
    ],
)
def test_predict_mistakes_are_one_line_errors(
    tiny_model, ni_xray, tmp_path, capsys, extra, message
):
    (tmp_path / "afile").write_text("x")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    argv = ["predict", str(ni_xray), "--model", str(tiny_model), *extra]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and _one_line(err), err


def test_ctrl_c_ends_cleanly(tiny_model, ni_xray, capsys, monkeypatch):
    from diffpy.sgpredict import predictor

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predictor.Predictor, "predict", interrupted)
    status = main(["predict", str(ni_xray), "--model", str(tiny_model)])
    err = capsys.readouterr().err
    assert status == 130
    assert err == "diffpy.sgpredict predict: interrupted\n"
    monkeypatch.setattr(
        "diffpy.sgpredict.sgpredictapp.build_parser", interrupted
    )
    assert main(["info"]) == 130
    assert capsys.readouterr().err == "diffpy.sgpredict: interrupted\n"


def test_predict_series_folder_csv_plots(tiny_model, tmp_path, capsys):
    r, g = fake_pdf()
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        for t in (10, 20):
            write_gr(tmp_path / sub / f"s_{t}K.gr", r, g)
    plots = tmp_path / "plots"
    status = main(
        [
            "predict",
            str(tmp_path / "a"),
            str(tmp_path / "b" / "*.gr"),
            "--model",
            str(tiny_model),
            "--csv",
            str(tmp_path / "s.csv"),
            "--series-plot",
            str(tmp_path / "s.png"),
            "--plot",
            f"{plots}/",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    # the same base names in two folders give four distinct images
    assert sorted(p.name for p in plots.iterdir()) == [
        "a_s_10K.png",
        "a_s_20K.png",
        "b_s_10K.png",
        "b_s_20K.png",
    ]
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[0].startswith("file,in_domain")
    assert (tmp_path / "s.png").stat().st_size > 5000
    assert out.count("in domain (score") == 4
    assert out.count("family") >= 4


def test_predict_json_carries_verdict_and_families(
    tiny_model, tmp_path, capsys
):
    r = numpy.arange(0, 30, 0.01)
    noise = write_gr(
        tmp_path / "noise.gr",
        r,
        numpy.random.default_rng(0).normal(size=r.size),
    )
    status = main(
        ["predict", str(noise), "--json", "--model", str(tiny_model)]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data[0]["in_domain"] is False
    assert data[0]["domain_score"] >= 1
    assert "not a G(r)" in data[0]["warnings"][0]
    assert data[0]["families"][0]["head"] == data[0]["candidates"][0]["family"]


def test_info_names_the_search_match_library(capsys):
    from diffpy.sgpredict.card import default_model_dir, read_card
    from diffpy.sgpredict.sgpredictapp import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    rows = read_card(default_model_dir())["neighbours"]["rows"]
    assert f"search-match library: {rows:,} computed PDFs" in out
