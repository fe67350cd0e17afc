"""Tests of the PDF calculators against diffpy.srreal and the physics."""

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy
import pytest

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import grid_indices
from diffpy.sgpredict.pdfcalc import NUMERIC_SETTINGS as KEYS
from diffpy.sgpredict.pdfcalc import (
    PDFSettings,
    available_calculators,
    builtin,
    calculate_pdf,
    calculator_status,
    get_calculator,
    load_structure,
    make_settings,
    peaks,
)
from diffpy.sgpredict.pdfcalc.scattering import (
    element_symbol,
    scattering_table,
    scattering_weight,
)

SRREAL = Path(__file__).parent / "data" / "srreal"
GOLDEN = sorted((SRREAL / "table2").glob("*.npz")) + sorted(
    (SRREAL / "variants").glob("*.npz")
)


def _golden(path):
    with numpy.load(path) as z:
        r, g, meta = z["r"], z["G"], json.loads(str(z["meta"]))
    s = meta["settings_set"]
    kw = {k: s[k] for k in KEYS}
    kw["scattering"] = s["scatteringfactortable"]
    uiso = meta["uiso_assignment"].split("Uiso=")[1].split()[0].rstrip(",")
    kw["uiso"] = float(uiso)
    cif = SRREAL / "structures" / Path(meta["cif"]).name
    return cif, kw, r, g, meta


@pytest.fixture(scope="module")
def golden_errors():
    errors = {}
    for path in GOLDEN:
        cif, kw, r0, g0, meta = _golden(path)
        stru = load_structure(cif)
        assert len(stru) == meta["natoms"]
        r, g = calculate_pdf(stru, **kw)
        numpy.testing.assert_allclose(r, r0, rtol=0, atol=1e-9)
        errors[path.name] = numpy.linalg.norm(g - g0) / numpy.linalg.norm(g0)
    return errors


def test_fixtures_cover_every_variant():
    variants = {p.stem.split("__")[1] for p in SRREAL.glob("variants/*")}
    assert len(variants) == 13
    assert len(list(SRREAL.glob("table2/*.npz"))) >= 12


def test_agreement_with_srreal(golden_errors):
    err = numpy.array(list(golden_errors.values()))
    # the acceptance thresholds ...
    assert numpy.median(err) <= 1e-3
    assert err.max() <= 1e-2
    # ... and what the calculator really achieves (about 1e-5)
    worst = max(golden_errors, key=golden_errors.get)
    assert err.max() < 1e-4, (worst, golden_errors[worst])


def test_scattering_weights_match_srreal():
    for path in GOLDEN:
        _, kw, _, _, meta = _golden(path)
        for el, value in meta["sf_weights"].items():
            assert scattering_weight(el, kw["scattering"]) == pytest.approx(
                value, abs=1e-5
            ), (path.name, el)


def test_scattering_tables():
    xray = scattering_table("xray")
    neutron = scattering_table("neutron")
    assert len(xray) == 98 and len(neutron) > 80
    assert xray["Ni"] == pytest.approx(27.993, abs=1e-3)
    assert xray["O"] == pytest.approx(7.9997, abs=1e-4)
    assert xray["Ti"] == pytest.approx(21.998, abs=1e-3)
    for el in ("H", "Li", "Ti", "Mn", "V"):
        assert neutron[el] < 0
    assert scattering_weight("O2-") == xray["O"]
    assert scattering_weight("Ti4+", "neutron") == -3.37
    assert [element_symbol(s) for s in ("Ti0+", "FE3+", "13C", "cl1-")] == [
        "Ti",
        "Fe",
        "C",
        "Cl",
    ]
    with pytest.raises(InputError, match="Xx"):
        scattering_weight("Xx")
    with pytest.raises(InputError, match="neutron.*Rn"):
        scattering_weight("Rn", "neutron")
    with pytest.raises(InputError, match="unknown scattering table"):
        scattering_table("electron")


def test_grid_convention():
    r, g = calculate_pdf(SRREAL / "structures" / "rs0229.cif")
    k = numpy.arange(11, 220)
    numpy.testing.assert_allclose(r, k * math.pi / 23, rtol=0, atol=1e-12)
    assert len(r) == 209 and r[0] > 1.5 and r[-1] < 30
    r, _ = calculate_pdf(
        SRREAL / "structures" / "rs0229.cif", rmin=0.5, rmax=20, rstep=0.01
    )
    assert len(r) == 1950
    assert r[0] == pytest.approx(0.5) and r[-1] == pytest.approx(19.99)
    assert grid_indices(1.5, 30.0, math.pi / 23) == (11, 220)
    assert not builtin.qmax_cut_needed(23.0, math.pi / 23)
    assert builtin.qmax_cut_needed(18.0, math.pi / 23)


def _cubic(elements, xyz, a, **atom):
    from diffpy.structure import Atom, Lattice, Structure

    lat = Lattice(a, a, a, 90, 90, 90)
    return Structure(
        [Atom(e, p, **atom) for e, p in zip(elements, xyz)], lattice=lat
    )


def _direct_pdf(stru, r, qdamp=0.0, qbroad=0.0, delta2=0.0, neutron=False):
    """Slow textbook pair sum (no binning, no symmetry, no filter)."""
    table = "neutron" if neutron else "xray"
    w = numpy.array([scattering_weight(a.element, table) for a in stru])
    occ = numpy.array([a.occupancy for a in stru])
    xyz = stru.xyz_cartn
    base = stru.lattice.base
    ntot = occ.sum()
    wavg = (occ * w).sum() / ntot
    rho0 = ntot / stru.lattice.volume
    n = 6
    rng = numpy.arange(-n, n + 1)
    cells = numpy.stack(numpy.meshgrid(rng, rng, rng), -1).reshape(-1, 3)
    shifts = cells @ base
    g = numpy.zeros_like(r)
    for i in range(len(stru)):
        for j in range(len(stru)):
            v = xyz[j] + shifts - xyz[i]
            d = numpy.sqrt((v**2).sum(axis=1))
            ok = (d > 1e-8) & (d < r[-1] + 3)
            for vec, dist in zip(v[ok], d[ok]):
                msd = stru[i].msdCart(vec) + stru[j].msdCart(vec)
                s2 = msd * (1 - delta2 / dist**2 + (qbroad * dist) ** 2)
                if s2 <= 0:
                    continue
                gauss = numpy.exp(-((r - dist) ** 2) / (2 * s2))
                g += (
                    occ[i]
                    * occ[j]
                    * w[i]
                    * w[j]
                    / dist
                    * gauss
                    / math.sqrt(2 * math.pi * s2)
                )
    g = g / (ntot * wavg**2) - 4 * math.pi * rho0 * r
    return g * numpy.exp(-0.5 * (qdamp * r) ** 2)


NOFILTER = {"qmin": 0.0, "qmax": 100.0, "rmin": 1.0, "rmax": 8.0}


def test_matches_direct_sum_with_anisotropic_adps():
    from diffpy.structure import Atom, Lattice, Structure

    lat = Lattice(3.1, 3.6, 4.2, 84, 97, 102)
    a1 = Atom("Ni", [0.1, 0.2, 0.3], anisotropy=True)
    a1.U = [[0.010, 0.002, 0.0], [0.002, 0.006, 0.001], [0.0, 0.001, 0.004]]
    a2 = Atom("O", [0.6, 0.55, 0.8])
    a2.Uisoequiv = 0.012
    stru = Structure([a1, a2], lattice=lat)
    r, g = calculate_pdf(stru, uiso=None, rstep=0.05, qdamp=0.03, **NOFILTER)
    ref = _direct_pdf(stru, r, qdamp=0.03, qbroad=0.01)
    assert numpy.linalg.norm(g - ref) / numpy.linalg.norm(ref) < 1e-4
    # uiso overrides the anisotropic ADPs
    r, g1 = calculate_pdf(stru, uiso=0.008, rstep=0.05, **NOFILTER)
    for atom in stru:
        atom.anisotropy = False
        atom.Uisoequiv = 0.008
    r, g2 = calculate_pdf(stru, uiso=None, rstep=0.05, **NOFILTER)
    numpy.testing.assert_allclose(g1, g2, atol=1e-10)


def test_occupancy_and_neutron_match_direct_sum():
    stru = _cubic(
        ["Ti", "O", "O", "Mn"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0.25, 0.3, 0.7]],
        4.1,
        occupancy=1.0,
    )
    stru[3].occupancy = 0.4
    for i, atom in enumerate(stru):  # different Uiso per atom
        atom.anisotropy = False
        atom.Uisoequiv = 0.005 + 0.002 * i
    kw = dict(rstep=0.05, qdamp=0.02, qbroad=0.02, delta2=1.0, **NOFILTER)
    for neutron in (False, True):
        scat = "neutron" if neutron else "xray"
        r, g = calculate_pdf(stru, scattering=scat, uiso=None, **kw)
        ref = _direct_pdf(
            stru, r, qdamp=0.02, qbroad=0.02, delta2=1.0, neutron=neutron
        )
        assert numpy.linalg.norm(g - ref) / numpy.linalg.norm(ref) < 1e-4


def test_zero_scattering_length_pairs_add_nothing():
    # Sm has b = 0 for neutrons: its pairs carry no weight; no 0/0 on the way
    stru = _cubic(["Sm", "N"], [[0, 0, 0], [0.5, 0.5, 0.5]], 5.0)
    stru[0].Uisoequiv, stru[1].Uisoequiv = 0.004, 0.008  # per-atom widths
    kw = dict(rstep=0.05, qdamp=0.02, qbroad=0.0, **NOFILTER)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r, g = calculate_pdf(stru, scattering="neutron", uiso=None, **kw)
    ref = _direct_pdf(stru, r, qdamp=0.02, neutron=True)
    assert numpy.isfinite(g).all()
    assert numpy.linalg.norm(g - ref) / numpy.linalg.norm(ref) < 1e-4
    # no Sm-N peak at a*sqrt(3)/2 = 4.33 A, the N-N peak at a = 5 A stays
    i_smn, i_nn = numpy.argmin(abs(r - 4.33)), numpy.argmin(abs(r - 5.0))
    slope = -4 * math.pi * 2 / 125.0 * r  # the baseline alone
    assert abs(g[i_smn] - slope[i_smn]) < 0.05
    assert g[i_nn] - slope[i_nn] > 1.0


def test_uniform_occupancy_scales_g():
    full = _cubic(
        ["Cu"] * 4,
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        3.61,
    )
    half = full.copy()
    for atom in half:
        atom.occupancy = 0.5
    _, g1 = calculate_pdf(full)
    _, g2 = calculate_pdf(half)
    numpy.testing.assert_allclose(g2, 0.5 * g1, atol=1e-9)


def test_symmetry_orbits_and_reduction():
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    orbit = builtin.symmetry_orbits(3.6 * numpy.eye(3), fcc, [1, 1, 1, 1])
    assert orbit.tolist() == [0, 0, 0, 0]
    rng = numpy.random.default_rng(1)
    xyz = rng.random((5, 3))
    base = numpy.diag([4.0, 5.0, 6.0])
    assert builtin.symmetry_orbits(base, xyz, [1] * 5).tolist() == list(
        range(5)
    )
    # a cell whose symmetry is broken by 1e-6 (beyond the 1e-7 tolerance)
    # is summed atom by atom and gives the same PDF
    stru = _cubic(["Cu"] * 4, fcc, 3.61)
    _, g = calculate_pdf(stru)
    stru[0].xyz = [1e-6, 0, 0]
    base, frac = stru.lattice.base, stru.xyz
    assert len(set(builtin.symmetry_orbits(base, frac, [1] * 4))) > 1
    _, g2 = calculate_pdf(stru)
    assert numpy.abs(g2 - g).max() < 1e-3 * numpy.abs(g).max()


def test_gaussian_sum_and_filter_are_pure():
    g = builtin.gaussian_sum(0, 41, 0.05, [1.0], [0.1], [2.0])
    r = numpy.arange(41) * 0.05
    ref = 2 * numpy.exp(-((r - 1) ** 2) / 0.02) / math.sqrt(2 * math.pi) / 0.1
    numpy.testing.assert_allclose(g, ref, atol=1e-5)
    x = numpy.sin(3 * r)
    out = builtin.fourier_filter(x, 0, 0.05)
    numpy.testing.assert_allclose(out, x, atol=1e-12)


@pytest.mark.parametrize("npeaks", [20, 400])
@pytest.mark.parametrize("rstep", [0.01, 0.02, math.pi / 23])
def test_gaussian_sum_matches_every_point_evaluated(rstep, npeaks):
    # few and many peaks (the point-by-point and the stepped sum),
    # narrower and wider than the step, negative amplitudes, and peaks
    # cut by both ends of the grid
    rng = numpy.random.default_rng(3)
    d = numpy.concatenate([[1.45, 20.05], rng.uniform(1.0, 21.0, npeaks)])
    sigma = numpy.concatenate([[0.3, 0.2], rng.uniform(0.002, 0.4, npeaks)])
    amp = rng.normal(size=d.size)
    klo, khi = int(1.5 / rstep), int(20.0 / rstep)
    g = builtin.gaussian_sum(klo, khi, rstep, d, sigma, amp)
    r = numpy.arange(klo, khi)[:, None] * rstep
    dense = (
        amp
        / (math.sqrt(2 * math.pi) * sigma)
        * numpy.exp(-((r - d) ** 2) / (2 * sigma**2))
    )
    # the cut-off drops tails below 3.33e-6 of unit area, each
    bound = peaks.peak_bound(sigma)
    inside = numpy.abs(r - d) <= bound
    ref = numpy.where(inside, dense, 0.0).sum(axis=1)
    assert numpy.abs(g - ref).max() < 1e-9 * numpy.abs(ref).max()
    assert numpy.abs(g - dense.sum(axis=1)).max() < 1e-3


def test_settings():
    s = PDFSettings()
    assert s.to_dict()["rstep"] == pytest.approx(math.pi / 23)
    assert s.uiso == 0.008 and s.scattering == "xray"
    assert PDFSettings(scattering="Neutron").scattering == "neutron"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.qmax = 20
    for bad in (
        {"rstep": 0},
        {"rmax": 1.0},
        {"qmin": 30.0},
        {"scattering": "electron"},
        {"uiso": -1},
        {"qdamp": "x"},
    ):
        with pytest.raises(InputError):
            PDFSettings(**bad)


def test_make_settings_is_the_one_way_to_settings():
    assert make_settings() == PDFSettings()
    s = make_settings({"qmax": 18.0}, qdamp=0.02)
    assert (s.qmax, s.qdamp, s.uiso) == (18.0, 0.02, 0.008)
    assert make_settings(s, uiso=None) == PDFSettings(
        qmax=18.0, qdamp=0.02, uiso=None
    )
    with pytest.raises(InputError, match="unknown PDF setting 'qmaxx'"):
        make_settings(qmaxx=1.0)
    with pytest.raises(InputError, match="unknown PDF setting"):
        calculate_pdf(SRREAL / "structures" / "rs0229.cif", Qmax=20.0)
    # keywords and a settings object give the same curve
    cif = SRREAL / "structures" / "rs0229.cif"
    _, g1 = calculate_pdf(cif, qmax=18.0, rmax=12.0)
    _, g2 = calculate_pdf(cif, settings=PDFSettings(qmax=18.0, rmax=12.0))
    numpy.testing.assert_array_equal(g1, g2)


def test_nickel_first_peak_at_a_over_sqrt2():
    a = 3.524
    stru = _cubic(
        ["Ni"] * 4,
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        a,
    )
    r, g = calculate_pdf(stru)  # Table 2 settings, 209 points
    step = PDFSettings().rstep
    first = r[numpy.argmax(numpy.where(r < 3.0, g, -numpy.inf))]
    assert abs(first - a / math.sqrt(2)) <= step  # 2.49 A
    second = r[numpy.argmax(numpy.where((r > 3.0) & (r < 4.0), g, -numpy.inf))]
    assert abs(second - a) <= step


def test_broken_plugin_keeps_its_import_error(monkeypatch):
    import diffpy.sgpredict.pdfcalc as pdfcalc

    class EP:
        name, module_name, object_name = "broken", "notinstalled", "Calc"

        def load(self):
            raise ModuleNotFoundError("No module named 'notinstalled'")

    eps = dict(pdfcalc._entry_points())
    eps["broken"] = EP()
    monkeypatch.setattr(pdfcalc, "_entry_points", lambda: eps)
    with pytest.warns(RuntimeWarning, match="notinstalled"):
        status = calculator_status()
    assert status["builtin"] is None
    assert "No module named 'notinstalled'" in status["broken"]
    assert "broken" not in available_calculators()
    with pytest.raises(InputError, match="No module named 'notinstalled'"):
        get_calculator("broken")


def test_calculators_registry(monkeypatch):
    import diffpy.sgpredict.pdfcalc as pdfcalc

    assert "builtin" in available_calculators()
    assert get_calculator("builtin").name == "builtin"
    with pytest.raises(InputError, match="'nope' is unknown; available: "):
        get_calculator("nope")

    class Fake:
        name = "fake"

        @classmethod
        def available(cls):
            return True

        def __call__(self, structure, settings):
            return numpy.array([1.0]), numpy.array([len(structure)])

    class EP:
        name, module_name, object_name = "fake", "thirdparty", "Fake"

        def load(self):
            return Fake

    eps = dict(pdfcalc._entry_points())
    eps["fake"] = EP()
    monkeypatch.setattr(pdfcalc, "_entry_points", lambda: eps)
    assert "fake" in available_calculators()
    r, g = calculate_pdf(SRREAL / "structures" / "rs0229.cif", "fake")
    assert g.tolist() == [1]


def test_srreal_backend_unavailable_or_agrees():
    from diffpy.sgpredict.pdfcalc.srrealcalc import (
        SrrealCalculator,
        prepare_structure,
    )

    stru = load_structure(SRREAL / "structures" / "rs0141.cif")
    neutral = prepare_structure(stru, 0.008)
    assert {a.element for a in neutral} == {"Sr", "Ti", "O"}
    assert {a.element for a in stru} != {"Sr", "Ti", "O"}  # unchanged
    if not SrrealCalculator.available():
        assert "srreal" not in available_calculators()
        with pytest.raises(InputError, match="not available"):
            get_calculator("srreal")
        pytest.skip("diffpy.srreal is not installed")
    _, g0 = calculate_pdf(stru, "srreal")
    _, g1 = calculate_pdf(stru, "builtin")
    assert numpy.linalg.norm(g1 - g0) / numpy.linalg.norm(g0) < 1e-4


def test_bad_structures(tmp_path):
    with pytest.raises(InputError, match="missing.cif: no such file"):
        calculate_pdf(tmp_path / "missing.cif")
    garbage = tmp_path / "garbage.cif"
    garbage.write_text("this is not a CIF\n")
    with pytest.raises(InputError, match="garbage.cif: cannot read"):
        calculate_pdf(garbage)
    xx = tmp_path / "xx.cif"
    xx.write_text(
        "data_x\n_symmetry_space_group_name_H-M 'P 1'\n"
        "_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
        "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "Xx1 Xx 0 0 0\n"
    )
    with pytest.raises(InputError, match=r"xx.cif: no xray .* 'Xx'"):
        calculate_pdf(xx)
    with pytest.raises(InputError, match="unknown"):
        calculate_pdf(xx, "nope")
    with pytest.raises(InputError, match="expected a diffpy Structure"):
        calculate_pdf(42)
