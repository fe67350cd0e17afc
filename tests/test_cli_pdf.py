"""Tests of ``diffpy.sgpredict pdf``."""

import math
from pathlib import Path

import numpy
import pytest
from diffpy.utils.parsers import load_data

from diffpy.sgpredict.sgpredictapp import main

CIF = Path(__file__).parent / "data" / "srreal" / "structures" / "rs0141.cif"
#: a structure with its own ADPs
ADP_CIF = CIF.with_name("rs0386.cif")


def test_pdf_writes_gr_with_header(tmp_path, capsys):
    from diffpy.sgpredict.pdfcalc import calculate_pdf
    from diffpy.sgpredict.version import __version__

    out = tmp_path / "out.gr"
    assert main(["pdf", str(CIF), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    header = load_data(out, headers=True)
    assert header["calculator"] == "builtin"
    assert header["version"] == __version__
    assert header["source"] == str(CIF)
    assert header["composition"] == "O3 Sr1 Ti1"
    assert header["natoms"] == 5
    assert header["qmax"] == 23.0 and header["qmin"] == 0.5
    assert header["rstep"] == pytest.approx(math.pi / 23, rel=1e-15)
    assert header["uiso"] == 0.008 and header["scattering"] == "xray"
    data = load_data(out)
    assert data.shape == (209, 2)
    r, g = calculate_pdf(CIF)
    numpy.testing.assert_allclose(data[:, 0], r, atol=1e-8)
    numpy.testing.assert_allclose(data[:, 1], g, rtol=1e-8, atol=1e-12)


def test_pdf_options(tmp_path):
    out = tmp_path / "n.gr"
    argv = [
        "pdf", str(ADP_CIF), "-o", str(out), "--scattering", "neutron",
        "--qmax", "18", "--rmin", "1", "--rmax", "10", "--rstep", "0.02",
        "--qdamp", "0.03", "--qbroad", "0.02", "--delta2", "1.5",
        "--keep-adps", "--plot", str(tmp_path / "n.png"),
    ]  # fmt: skip
    assert main(argv) == 0
    header = load_data(out, headers=True)
    assert header["scattering"] == "neutron"
    assert header["uiso"] == "structure"
    assert (header["qmax"], header["delta2"], header["rstep"]) == (
        18.0,
        1.5,
        0.02,
    )
    assert load_data(out).shape == (450, 2)
    assert (tmp_path / "n.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.cif"], "missing.cif: no such file"),
        ([str(CIF), "--calculator", "nope"], "'nope' is unknown"),
        ([str(CIF), "--rstep", "0"], "rstep must be positive"),
    ],
)
def test_pdf_errors_exit_2(tmp_path, capsys, argv, message):
    status = main(["pdf", *argv, "-o", str(tmp_path / "x.gr")])
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_pdf_garbage_cif(tmp_path, capsys):
    bad = tmp_path / "bad.cif"
    bad.write_text("garbage\n")
    assert main(["pdf", str(bad), "-o", str(tmp_path / "x.gr")]) == 2
    captured = capsys.readouterr()
    assert "bad.cif: cannot read the structure" in captured.err
    assert captured.out == ""


NO_ADP_CIF = """data_ni
_cell_length_a 3.52
_cell_length_b 3.52
_cell_length_c 3.52
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F m -3 m'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Ni1 Ni 0 0 0
"""

NO_ATOM_CIF = NO_ADP_CIF.split("loop_")[0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "file is empty"),
        ("\n  \n", "file is empty"),
        (NO_ATOM_CIF, "holds no atoms"),
    ],
)
def test_pdf_empty_and_atomless_cifs(tmp_path, capsys, content, message):
    cif = tmp_path / "s.cif"
    cif.write_text(content)
    assert main(["pdf", str(cif), "-o", str(tmp_path / "x.gr")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.gr").exists()


def test_pdf_keep_adps_without_adps_says_so(tmp_path, capsys):
    cif = tmp_path / "ni.cif"
    cif.write_text(NO_ADP_CIF)
    out = tmp_path / "ni.gr"
    assert main(["pdf", str(cif), "-o", str(out), "--keep-adps"]) == 2
    err = capsys.readouterr().err
    assert "no displacement parameters" in err and "--uiso" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    # with the default Uiso the same file gives a G(r) with peaks
    assert main(["pdf", str(cif), "-o", str(out)]) == 0
    assert numpy.ptp(load_data(out)[:, 1]) > 1


def test_pdf_output_folders(tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["pdf", str(CIF), "-o", str(folder)]) == 0
    assert (folder / "rs0141.gr").is_file()
    for target in (tmp_path / "nowhere" / "x.gr", f"{tmp_path}/nowhere/"):
        assert main(["pdf", str(CIF), "-o", str(target)]) == 2
        err = capsys.readouterr().err
        assert "does not exist" in err and len(err.strip().splitlines()) == 1
    bad_plot = ["--plot", str(tmp_path / "no" / "p.png")]
    assert (
        main(["pdf", str(CIF), "-o", str(tmp_path / "y.gr"), *bad_plot]) == 2
    )
    assert "existing folder" in capsys.readouterr().err
    assert not (tmp_path / "y.gr").exists()
