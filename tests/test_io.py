import numpy
import pytest
from conftest import fake_pdf, write_gr

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import to_model_input
from diffpy.sgpredict.io import check_pdf, load_pdf


def test_load_measured_pdf_keeps_header(ni_xray):
    data = load_pdf(ni_xray)
    assert data.r[0] == 0.0 and data.r[-1] == pytest.approx(60.0)
    assert len(data.r) == 6001
    assert data.meta["qmax"] == 25.0
    assert data.meta["composition"] == "Ni"
    assert data.meta["mode"] == "xray"
    # the first Ni-Ni peak is at 2.49 A
    window = (data.r > 2.0) & (data.r < 3.0)
    rpeak = data.r[window][numpy.argmax(data.g[window])]
    assert rpeak == pytest.approx(2.49, abs=0.03)


def test_pdfgetn_header_values_on_shared_lines(data_dir):
    # PDFgetN writes 'Qmin=0.95     Qmax=27.00' on one line
    data = load_pdf(data_dir / "gr" / "Ni_neutron_r20.gr")
    assert data.meta["qmax"] == 27.0
    assert data.meta["qmin"] == 0.95
    assert data.r[-1] == pytest.approx(20.0)


def _bad(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_pdf(tmp_path / "nothere.gr")
    with pytest.raises(InputError, match="file is empty"):
        load_pdf(_bad(tmp_path, "empty.gr", ""))
    with pytest.raises(InputError, match="is a folder"):
        load_pdf(tmp_path)


def test_non_numeric_and_one_column(tmp_path):
    rows = "".join(f"{i} abc\n" for i in range(30))
    with pytest.raises(InputError, match="no block of numeric rows"):
        load_pdf(_bad(tmp_path, "text.gr", rows))
    onecol = "".join(f"{0.01 * i}\n" for i in range(30))
    with pytest.raises(InputError, match="one column"):
        load_pdf(_bad(tmp_path, "onecol.gr", onecol))


def test_nan_and_inf(tmp_path):
    r, g = fake_pdf()
    g[100] = numpy.nan
    path = write_gr(tmp_path / "nan.gr", r, g)
    with pytest.raises(InputError, match="NaN or infinite.*row 101"):
        load_pdf(path)
    g[100] = numpy.inf
    with pytest.raises(InputError, match="NaN or infinite"):
        load_pdf(write_gr(tmp_path / "inf.gr", r, g))


def test_r_not_increasing(tmp_path):
    r, g = fake_pdf()
    r[50], r[51] = r[51], r[50]
    with pytest.raises(InputError, match="r is not increasing"):
        load_pdf(write_gr(tmp_path / "order.gr", r, g))


def test_qspace_data_are_refused(tmp_path):
    q = numpy.arange(0.5, 25, 0.01)
    sq = 1 + numpy.sin(q * 2.5) * numpy.exp(-0.02 * q**2) / q
    with pytest.raises(InputError, match="Q-space.*no negative"):
        load_pdf(write_gr(tmp_path / "sample.gr", q, sq))
    fq = q * (sq - 1)
    with pytest.raises(InputError, match="Q-space.*extension"):
        load_pdf(write_gr(tmp_path / "sample.fq", q, fq))
    header = "#L Q F(Q)\n"
    with pytest.raises(InputError, match="Q-space.*column label"):
        load_pdf(write_gr(tmp_path / "labelled.gr", q, fq, header))
    header = "[PDF]\noutputtype = fq\n#### start data\n"
    with pytest.raises(InputError, match="Q-space.*outputtype"):
        load_pdf(write_gr(tmp_path / "pdfgetx.gr", q, fq, header))


def test_r_range_check(tmp_path):
    r, g = fake_pdf(rmax=12.0)
    path = write_gr(tmp_path / "short.gr", r, g)
    assert len(load_pdf(path).r) == len(r)
    data = load_pdf(path)
    with pytest.raises(InputError, match=r"cover r = 0-12 A.*1.50\d-19.9"):
        to_model_input(data.r, data.g, min_rmax=19.9, name=data.name)


def test_constant_data_are_refused_not_predicted(tmp_path):
    # all zeros passed the checks as "Q-space data" from a file and,
    # as arrays, gave a ranking (Pnma 0.14) from nothing
    from diffpy.sgpredict import predict

    r = numpy.arange(0.0, 30.0, 0.01)
    zeros = numpy.zeros_like(r)
    with pytest.raises(InputError, match="G.r. is constant .0 everywhere"):
        load_pdf(write_gr(tmp_path / "zeros.gr", r, zeros))
    with pytest.raises(InputError, match="is constant"):
        predict(r, zeros + 1.5)


def test_r_in_nm_gets_a_hint(tmp_path):
    r, g = fake_pdf()
    data = load_pdf(write_gr(tmp_path / "nm.gr", r / 10, g))
    with pytest.raises(InputError, match="r looks like nm: multiply"):
        to_model_input(data.r, data.g, min_rmax=19.9, name=data.name)
    short = load_pdf(write_gr(tmp_path / "short.gr", r[r < 12], g[r < 12]))
    with pytest.raises(InputError) as info:
        to_model_input(short.r, short.g, min_rmax=19.9, name=short.name)
    assert "nm" not in str(info.value)


def test_check_pdf_on_arrays():
    r, g = fake_pdf()
    rr, gg = check_pdf(list(r), list(g))
    assert rr.dtype == float and len(rr) == len(r)
    with pytest.raises(InputError, match="same length"):
        check_pdf(r, g[:-1])
    with pytest.raises(InputError, match="only 3 data points"):
        check_pdf(r[:3], g[:3])


def test_section_titles_naming_sq_are_not_column_labels(ni_xray):
    # a PDFgetX2 header has a '## S(q)  qmin=... qmax=26' section title
    path = ni_xray.parent / "TiO2_rutile_xray.gr"
    data = load_pdf(path)
    assert data.meta["qmax"] == 26.0
    assert data.r[-1] == pytest.approx(59.97)
    assert data.g.min() < 0


def test_header_radiation_composition_temperature(tmp_path):
    r = numpy.arange(0, 30, 0.01)
    g = numpy.sin(3 * r) - 0.1 * r
    body = "".join(f"{a:.4f} {b:.6f}\n" for a, b in zip(r, g))
    latin = tmp_path / "latin.gr"
    latin.write_bytes(
        "# r in \xc5\ncomposition = Ni\nqmax = 25\nmode = xray\n".encode(
            "latin-1"
        )
        + body.encode()
    )
    data = load_pdf(latin)
    assert data.meta == {
        "composition": "Ni",
        "qmax": 25.0,
        "mode": "xray",
        "radiation": "xray",
    }
    assert len(data.r) == 3000 and data.g[5] == pytest.approx(g[5], 1e-5)
    pdfgetn = tmp_path / "n.gr"
    pdfgetn.write_text(
        "# ##### Vanadium     runCorrection=T\n"
        "# temp=15     runTitle=cold\n"
        "# ##### Sample Material     numElements=2\n"
        "# Element relAtomNum atomMass atomCoherCS atomIncoherCS "
        "atomAbsorpCS\n"
        "#   Ti        1.0000   47.867     1.4850   2.870   6.09\n"
        "#   O         2.0000   15.999     4.2320   0.000   0.0002\n" + body
    )
    meta = load_pdf(pdfgetn).meta
    assert meta["radiation"] == "neutron"
    assert meta["composition"] == "Ti1 O2"
    assert meta["temperature"] == 15.0


def test_comma_separated_export_reads_like_the_gr_file(ni_xray, tmp_path):
    ref = load_pdf(ni_xray)
    path = tmp_path / "ni.csv"
    numpy.savetxt(
        path, numpy.c_[ref.r, ref.g], delimiter=",", header="r,G", comments=""
    )
    got = load_pdf(path)
    numpy.testing.assert_allclose(got.r, ref.r)
    numpy.testing.assert_allclose(got.g, ref.g, rtol=1e-6, atol=1e-9)
    # a comma inside text lines does not turn a .gr file into a CSV
    text = "# title = a, b\n" + "".join(
        f"{r:.3f} {g:.5f}\n" for r, g in zip(ref.r, ref.g)
    )
    (tmp_path / "ni.gr").write_text(text)
    numpy.testing.assert_allclose(load_pdf(tmp_path / "ni.gr").r, ref.r)


def test_a_header_composition_that_contradicts_the_file_name(tmp_path):
    # a header left from another sample (the shared pnictide file says
    # "composition = Ni") must not steer the prediction or the refinement
    from diffpy.sgpredict.predictor import predict
    from diffpy.sgpredict.refine.fitdata import prepare_data

    r, g = fake_pdf()
    bad = write_gr(tmp_path / "BaFe2As2_300K.gr", r, g, "composition = Ni\n")
    data = load_pdf(bad)
    assert "composition" not in data.meta
    assert "composition Ni" in data.meta["composition_ignored"]
    result = predict(bad, top=3)
    assert result.composition is None
    assert any(
        n.startswith("warning: the header says composition Ni")
        for n in result.notes
    )
    assert any("BaFe2As2" in n for n in prepare_data(bad).notes)
    # a header that agrees with the name, or a name that is no formula,
    # keeps its composition
    for name, header in (
        ("BaFe2As2_300K.gr", "Ba Fe2 As2"),
        ("sample_300K.gr", "Ni"),
    ):
        good = write_gr(tmp_path / name, r, g, f"composition = {header}\n")
        assert load_pdf(good).meta["composition"] == header
