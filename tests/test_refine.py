"""Tests of the refinement hand-off (diffpy.sgpredict.refine)."""

import json
import subprocess
import sys
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
from diffpy.sgpredict.refine.library_lookup import (  # noqa: E402
    load_prototypes,
)
from diffpy.sgpredict.refine.macro import (  # noqa: E402
    check_macro,
    parse_macro,
)

DATA = Path(__file__).parent / "data"
NI = DATA / "refine_Ni_ch03_xray.gr"
CDSE = DATA / "refine_CdSe_bulk_ch08_r20.gr"
#: Wall seconds before a fit is given up: the limits of the fits are CPU
#: seconds, so a loaded machine must not fail the tests.
WALL = 3600

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
    # a known compound (cubic LaMnO3 is) starts from its own structure;
    # as a new material, from the substituted perovskite prototype
    known = starting_structure(221, composition="LaMnO3", r1=2.76)
    assert known.source == "known" and known.name == "mp-19025"
    start = starting_structure(221, composition="LaMnO3", r1=2.76, known=False)
    assert start.source == "prototype"
    assert {a.element for a in start.structure} == {"La", "Mn", "O"}
    assert settings.spglib_group(start.structure) == 221
    # La-O at a/sqrt(2) is the first strong peak of cubic LaMnO3
    assert start.structure.lattice.a == pytest.approx(3.9, abs=0.05)
    ni = starting_structure(225, composition="Ni", r1=2.49, known=False)
    assert ni.structure.lattice.a == pytest.approx(2.49 * 2**0.5, abs=0.02)
    assert known.structure.lattice.a == pytest.approx(3.9, abs=0.05)


def test_starting_structure_from_cif(tmp_path):
    cif = tmp_path / "ni.cif"
    starting_structure(225, composition="Ni").to_cif(cif)
    same = starting_structure(225, cif=cif)
    assert same.source == "cif"
    other = starting_structure(221, cif=cif)
    assert other.source == "prototype"
    assert any("not 221" in note for note in other.notes)
    assert {a.element for a in other.structure} == {"Ni"}


def test_a_cif_is_scaled_by_overlay_not_by_disagreeing_first_peaks():
    from diffpy.sgpredict.pdfcalc import calculate_pdf
    from diffpy.sgpredict.refine.peaks import (
        first_strong_peak,
        model_first_peak,
        overlay_factor,
    )
    from diffpy.sgpredict.refine.usercifs import read_cif

    # alpha-Zr(HPO4)2.H2O: its own PDF at Qmax 18 has its first strong
    # peak at Zr-O (2.06 A), the sharp model at P-O (1.53 A)
    cif = DATA / "refine_alpha_ZrP.cif"
    r, g = calculate_pdf(
        read_cif(cif), rmin=0.0, rmax=12.0, rstep=0.02, qmax=18.0
    )
    assert first_strong_peak(r, g) == pytest.approx(2.06, abs=0.02)
    assert model_first_peak(read_cif(cif)) == pytest.approx(1.53, abs=0.02)
    start = starting_structure(14, composition="ZrP2O9", cif=cif, data=(r, g))
    assert start.source == "cif"
    # matching those peaks stretched the cell by 35 %
    assert start.scale == pytest.approx(1.0, abs=0.005)
    assert start.structure.lattice.a == pytest.approx(9.076, rel=0.005)
    # the same cell 10 % too small is found again
    small = start.structure.copy()
    lat = small.lattice
    small.lattice.setLatPar(lat.a * 0.9, lat.b * 0.9, lat.c * 0.9)
    factor, rw = overlay_factor(small, r, g, qmax=18.0)
    assert factor == pytest.approx(1 / 0.9, rel=0.005)
    assert rw < overlay_factor(small, r, g, [0.9], qmax=18.0, span=0.05)[1]


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
    with pytest.raises(InputError) as err:
        fit_candidates(NI, [225], tmp_path / "fits", adp="anisotropic")
    assert "adp must be one of auto, iso, aniso" in str(err.value)
    assert not (tmp_path / "fits" / "sg225_Fm-3m").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"composition": "Xx2"}, "unknown element 'Xx' (--composition)"),
        ({"composition": "Ni0"}, "holds no atoms"),
        ({"cif": "no-such.cif"}, "no-such.cif: file not found"),
        ({"library": "no-such-folder"}, "no-such-folder: no such folder"),
        ({"rmin": 20.0, "rmax": 5.0}, "rmin must be below rmax"),
        ({"rmin": -1.0}, "rmin must not be negative"),
        ({"qmax": -5.0}, "--qmax must be positive"),
        ({"timeout": -3.0}, "--timeout must be a positive number"),
        ({"timeout": float("nan")}, "--timeout must be a finite number"),
        ({"jobs": 0}, "--jobs must be at least 1"),
        ({"enumerate_budget": -2.0}, "--enumerate must be 0 (off)"),
        ({"seed": -1}, "--seed must be a whole number >= 0"),
        ({"seed": 1.5}, "--seed must be a whole number >= 0"),
    ],
)
def test_refine_options_are_checked_before_any_work(
    tmp_path, options, message
):
    with pytest.raises(InputError) as err:
        fit_candidates(NI, [225], tmp_path / "fits", **options)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "fits").exists()


# --------------------------------------------------------------- templates


def test_templates_written_and_bad_inputs_reported(tmp_path):
    bad = tmp_path / "bad.cif"
    bad.write_text("this is not a CIF\n")
    # a CIF the user names but that cannot be read stops everything: it
    # is not silently replaced by prototypes
    with pytest.raises(InputError, match="bad.cif: not a readable CIF"):
        write_templates(
            _headerless(tmp_path), [225], tmp_path / "fits", cif=bad
        )
    assert not (tmp_path / "fits").exists()
    out = write_templates(
        _headerless(tmp_path),
        [225, 230],
        tmp_path / "fits",
        composition="NaCl7",
        rmax=10,
    )
    by_group = {o["number"]: o for o in out}
    assert by_group[230]["error"] and by_group[230]["folder"] is None
    assert "fits no Wyckoff" in by_group[230]["error"]
    good = by_group[225]
    assert good["folder"] is not None
    notes = " ".join(good["notes"])
    assert "Qmax not in the data header" in notes
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
        timeout=WALL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rw = float(proc.stdout.split("Rw =")[1].split()[0])
    assert rw < 0.15
    assert (folder / "refined.cif").exists()


# ------------------------------------------------------------- fits, ranks


def test_a_groups_search_does_not_depend_on_the_other_candidates(tmp_path):
    """Each group's random draws come from (seed, group number):
    hollandite MnO2 (I4/m, six free coordinates: relaxed random draws)
    fits the same alone and after rutile's group (seeded by its place
    in the list, it was drawn differently there), and another seed
    draws other guesses."""
    stru = settings.expand(
        [9.82, 9.82, 2.86, 90, 90, 90],
        [
            ("Mn", 0.348, 0.167, 0),
            ("O", 0.153, 0.180, 0),
            ("O", 0.542, 0.167, 0),
        ],
        87,
        uiso=0.006,
    )
    data = _simulated(tmp_path, stru, "MnO2.gr")

    def hollandite(groups, folder, seed=0):
        rows = fit_candidates(
            data,
            groups,
            tmp_path / folder,
            composition="MnO2",
            jobs=1,
            timeout=4,
            enumerate_budget=2,
            rmax=8,
            supergroups=False,
            wall_limit=WALL,
            seed=seed,
        )
        (row,) = [r for r in rows if r["number"] == 87]
        return [(t["start"], t["rw"]) for t in row["tried"]]

    alone = hollandite([87], "a")
    assert alone[0][0] == "wyckoff Mn8h O8h O8h Z=8" and alone[0][1] < 0.05
    assert hollandite([136, 87], "b") == alone
    assert hollandite([87], "c", seed=1) != alone


@pytest.mark.slow
def test_ni_ranking(tmp_path):
    rows = fit_candidates(
        NI,
        [225, 221, 227, 139],
        tmp_path,
        jobs=2,
        timeout=60,
        wall_limit=WALL,
        rmax=10,
        enumerate_budget=2,
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


def test_failing_candidate_does_not_stop_others(tmp_path):
    rows = fit_candidates(
        NI,
        [225, 230],
        tmp_path,
        composition="NaCl7",
        jobs=1,
        timeout=60,
        wall_limit=WALL,
        rmax=6,
        max_nfev=10,
        enumerate_budget=1,
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
            "--enumerate",
            "0",
        ]
    )
    assert status == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"number", "symbol", "probability", "rw"} <= set(rows[0])
    assert rows[0]["number"] == 225
    status = main(["refine", str(NI), "-o", str(tmp_path), "--groups", "3"])
    assert status == 2
    assert "not one of the 45" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--cif", "{tmp}/bad.cif"], "bad.cif: not a readable CIF"),
        (["--library", "{tmp}/none"], "none: no such folder"),
        (["--composition", "Xx2"], "unknown element 'Xx'"),
        (["--timeout", "-3", "--fit"], "--timeout must be a positive"),
        (["--jobs", "0", "--fit"], "--jobs must be at least 1"),
        (["--enumerate", "-2", "--fit"], "--enumerate must be 0 (off)"),
        (["--seed", "-1", "--fit"], "--seed must be a whole number >= 0"),
        (["--qmax", "-5"], "--qmax must be positive"),
        (["--rmin", "20", "--rmax", "5"], "rmin must be below rmax"),
    ],
)
def test_cli_refine_mistakes_are_one_line_errors(
    tmp_path, capsys, extra, message
):
    from diffpy.sgpredict.sgpredictapp import main

    (tmp_path / "bad.cif").write_text("this is not a CIF\n")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    out = tmp_path / "fits"
    status = main(
        ["refine", str(NI), "-o", str(out), "--groups", "225"] + extra
    )
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.slow
def test_cdse_ranking(tmp_path):
    # lower symmetry: wurtzite CdSe (P6_3mc) against cubic and hexagonal
    # alternatives; about 10 s with two processes
    rows = fit_candidates(
        CDSE,
        [186, 216, 194, 225],
        tmp_path,
        composition="CdSe",
        jobs=2,
        timeout=120,
        wall_limit=WALL,
        rmax=15,
        enumerate_budget=3,
    )
    order = [r["number"] for r in rows]
    assert 186 in order[:2], [(r["number"], r["rw"]) for r in rows]


# ------------------------------------------------------- issue 11: routes


def _simulated(tmp_path, structure, name, qmax=25.0, noise=0.01, seed=1):
    """A PDF file computed from a structure, with Gaussian noise."""
    from diffpy.sgpredict.pdfcalc import calculate_pdf

    r, g = calculate_pdf(
        structure,
        rmin=0.5,
        rmax=20.0,
        rstep=0.01,
        qmin=0.0,
        qmax=qmax,
        qdamp=0.03,
        qbroad=0.0,
        uiso=None,
    )
    rng = numpy.random.default_rng(seed)
    g = g + noise * numpy.abs(g).max() * rng.standard_normal(len(g))
    path = tmp_path / name
    numpy.savetxt(path, numpy.column_stack([r, g]), header=f"qmax = {qmax}")
    return path


def test_a_single_start_gets_the_budget_the_anisotropic_fit_leaves(
    tmp_path,
):
    cif = DATA / "refine_alpha_ZrP.cif"
    zrp = starting_structure(14, cif=cif).structure
    path = _simulated(tmp_path, zrp, "zrp.gr", qmax=18.0)
    limits = {}
    for adp in ("iso", "aniso"):
        (row,) = fit_candidates(
            path, [14], tmp_path / adp, cif=cif, jobs=1, timeout=4.0,
            rmax=10.0, enumerate_budget=0, adp=adp, supergroups=False,
            known=False,
        )  # fmt: skip
        assert row["route"] == "cif" and row["rw"] < 0.1, row["rw"]
        (limit,) = [
            float(n.split()[-2]) for n in row["notes"] if "work limit" in n
        ]
        limits[adp] = limit
    # 48 atoms, 36 free coordinates: the isotropic fit alone runs out
    # of time; it takes all of it (4 s less 1 s of margin) when no
    # anisotropic fit follows, half of it when one does
    assert limits["iso"] == pytest.approx(3.0, abs=0.01)
    assert limits["aniso"] == pytest.approx(1.5, abs=0.01)


def _thcr2si2(a=3.92, c=12.3, z=0.36):
    return settings.expand(
        [a, a, c, 90, 90, 90],
        [("Sr", 0, 0, 0), ("Fe", 0, 0.5, 0.25), ("As", 0, 0, z)],
        139,
        uiso=0.006,
    )


def test_wyckoff_enumeration_solves_thcr2si2(tmp_path):
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff import enumerate_starts

    path = _simulated(tmp_path, _thcr2si2(), "SrFe2As2.gr")
    data = prepare_data(path, 1.5, 20.0, 0.02)
    found = enumerate_starts(139, "SrFe2As2", data, budget=6, keep=1)
    best = found[0]
    assert "Fe4d" in best.name and "As4e" in best.name
    assert best.quick_rw < 0.1
    lat = best.structure.lattice
    assert lat.a == pytest.approx(3.92, abs=0.03)
    assert lat.c == pytest.approx(12.3, abs=0.1)
    z = sorted(a.xyz[2] % 1 for a in best.structure if a.element == "As")
    assert min(z[0], 1 - z[-1]) == pytest.approx(0.36, abs=0.01) or any(
        abs(v - 0.36) < 0.01 or abs(v - 0.64) < 0.01 for v in z
    )


def test_polish_gives_every_guess_a_share(tmp_path):
    """The polish of a large cell stops at its share of the time left:
    the small guesses behind it are polished too (a guess of 48 atoms
    first took the whole polish, and the true assignment of Li2ZrO3
    behind it was never polished)."""
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff import ScreenTarget, _polish_guesses
    from diffpy.sgpredict.refine.wyckoff_model import (
        AssignmentModel,
        site_models,
    )

    path = _simulated(tmp_path, _thcr2si2(), "SrFe2As2.gr")
    data = prepare_data(path, 1.5, 20.0, 0.02)
    target = ScreenTarget(data)
    screen = ScreenTarget(
        data, rmax=7.0, rstep=0.05, smooth=0.2, meter=target.meter
    )
    weights = {"Sr": 38.0, "Fe": 26.0, "As": 33.0}

    def guess(sites, cell, xyz):
        model = AssignmentModel(139, site_models(139, sites), weights)
        return (0.5, model, numpy.array(cell), numpy.array(xyz), 2)

    large = guess(
        [("Sr", "m"), ("Fe", "n"), ("As", "n")],
        [7.8, 12.3],
        [0.15, 0.2, 0.3, 0.25, 0.35, 0.1],
    )
    small = [
        guess([("Sr", "a"), ("Fe", "d"), ("As", "e")], [a, 12.3], [0.35])
        for a in (3.7, 3.9, 4.1)
    ]
    # the large guess alone polishes for 0.022 s of counted work
    start = target.meter.now()
    out = _polish_guesses([large] + small, screen, target, 0.006, start + 0.05)
    # each guess polished gives two entries (itself and its polish):
    # all four were (before the shares, the large one and one small)
    assert len(out) == 8
    assert target.meter.now() - start < 0.06
    best = out[0]
    assert best[1].natoms == 10 and best[0] < 0.3


def test_site_patterns_of_real_structures_come_first():
    """Li2ZrO3 (C2/c: Li 4e + 4e, Zr 4e, O 4d + 8f).  Its combination
    of sites is common in C2/c, but so are seven other ways of putting
    the elements on those sites; the site patterns of real AB2C3
    structures (Li2ZrO3 itself is not among them) place the elements,
    and the true assignment comes among the first three."""
    from diffpy.sgpredict.refine.wyckoff import assignment_order
    from diffpy.sgpredict.wyckoff import equivalent_sites

    counts = {"Li": 2, "Zr": 1, "O": 3}
    sites = [("Li", "e"), ("Li", "e"), ("Zr", "e"), ("O", "d"), ("O", "f")]
    truth = equivalent_sites(15, sites)

    def position(patterns):
        order = assignment_order(15, counts, patterns=patterns)
        for k, (z, sites) in enumerate(order):
            found = [(el, p[1]) for el, p in sites]
            if equivalent_sites(15, found) == truth:
                return k + 1, z

    assert position(True)[0] <= 3
    assert position(False)[0] > 8
    assert position(True)[1] == 4


def test_hexagonal_special_positions_expand_to_their_multiplicity():
    from diffpy.sgpredict.refine.wyckoff_model import site_models

    # the table's 0.333333 must act as 1/3: wurtzite's 2b has two atoms
    # (it expanded to six, and every hexagonal enumeration failed)
    for number, letter, mult in [(186, "b", 2), (164, "d", 2), (194, "c", 2)]:
        (site,) = site_models(number, [("Cd", letter)])
        assert site.multiplicity == mult
        assert len(site.ops) == mult


def test_enumeration_runs_on_one_blas_thread_and_gives_it_back(
    tmp_path, monkeypatch
):
    """A second BLAS thread would only wait, using CPU time that the
    other fit could use; inside the enumeration BLAS has one thread,
    and afterwards the process has its threads back."""
    from threadpoolctl import threadpool_info

    from diffpy.sgpredict.refine import wyckoff
    from diffpy.sgpredict.refine.fitdata import prepare_data

    def blas():
        return [
            p["num_threads"]
            for p in threadpool_info()
            if p["user_api"] == "blas"
        ]

    seen = []
    screen = wyckoff._screen_assignments

    def recording(*args, **kwargs):
        seen.append(blas())
        return screen(*args, **kwargs)

    monkeypatch.setattr(wyckoff, "_screen_assignments", recording)
    data = prepare_data(NI, 1.5, 20.0, 0.02)
    before = blas()
    found = wyckoff.enumerate_starts(225, "Ni", data, budget=2, keep=1)
    assert found[0].quick_rw < 0.2
    assert seen and seen[0] and all(n == 1 for n in seen[0])
    assert blas() == before


def test_enumeration_gives_the_same_structures_on_a_slower_machine(
    tmp_path, monkeypatch
):
    """The budget counts work, not CPU seconds: a machine twice as
    slow (its CPU clock runs twice as fast per step) takes the same
    steps and finds the same structures; one 50 times slower is
    stopped by its CPU time and says so."""
    import time

    from diffpy.sgpredict.refine import work, wyckoff
    from diffpy.sgpredict.refine.fitdata import prepare_data

    path = _simulated(tmp_path, _thcr2si2(), "SrFe2As2.gr")
    data = prepare_data(path, 1.5, 20.0, 0.02)

    def found():
        out = wyckoff.enumerate_starts(
            139, "SrFe2As2", data, budget=1.5, keep=2
        )
        return [(e.name, round(e.quick_rw, 6), e.notes[-1]) for e in out]

    here = found()
    assert "guesses" in here[0][2] and "CPU time" not in here[0][2]
    clock = time.process_time
    for slower in (2.0, 50.0):
        monkeypatch.setattr(
            work.time, "process_time", lambda s=slower: s * clock()
        )
        there = found()
        monkeypatch.undo()
        if slower < work.SLOWER:
            assert there == here
        else:
            assert there != here
            assert "stopped by CPU time" in there[0][2]


def test_a_fit_stops_at_the_same_step_on_a_slower_machine(monkeypatch):
    """A fit's time limit counts its evaluations' estimated cost: cut
    short, it ends at the same step (same Rw, same values) when the CPU
    clock runs twice as fast, and a longer limit goes further."""
    import time

    from diffpy.sgpredict.refine import work
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.fitting import fit_structure

    data = prepare_data(NI, 1.5, 20.0, 0.02)

    def fit(seconds):
        start = starting_structure(225, composition="Ni", data=data)
        res = fit_structure(data, start, calculator="builtin", timeout=seconds)
        return res["stopped"], res["rw"], res["variables"]

    here = fit(0.3)
    assert here[0]
    clock = time.process_time
    monkeypatch.setattr(work.time, "process_time", lambda: 2 * clock())
    assert fit(0.3) == here
    monkeypatch.undo()
    further = fit(3.0)
    assert further[1] < here[1]


def test_a_fit_cut_short_keeps_its_best_point(monkeypatch):
    """Stopped by its work limit inside a least-squares run, a fit
    leaves the recipe at the best point evaluated, not at the step it
    was trying."""
    from diffpy.sgpredict.refine import fitting
    from diffpy.sgpredict.refine.fitdata import prepare_data

    data = prepare_data(NI, 1.5, 20.0, 0.02)
    start = starting_structure(225, composition="Ni", data=data)
    recipe, gen = fitting.build_recipe(data, start.structure, 225, "builtin")
    recipe.a.value = 3.60
    seen = []
    solve = fitting.least_squares

    def recording(fun, x0, **kwargs):
        def wrapped(x):
            r = fun(x)
            seen.append((float(numpy.dot(r, r)), x))
            return r

        return solve(wrapped, x0, **kwargs)

    monkeypatch.setattr(fitting, "least_squares", recording)
    assert fitting.refine_recipe(recipe, gen, data.g, timeout=0.1)
    r = recipe.residual()
    assert float(numpy.dot(r, r)) == min(c for c, _ in seen)


def test_a_subgroup_starts_where_its_supergroup_ended():
    """The second round starts a subgroup from its supergroup's refined
    structure and profile (scale, Qdamp, delta2): before any step its
    Rw is the supergroup's."""
    from diffpy.sgpredict.refine import fitting
    from diffpy.sgpredict.refine.candidate_fit import (
        structure_to_dict,
        task_starts,
    )
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.ranking import second_round_tasks

    data = prepare_data(NI, 1.5, 20.0, 0.02)
    start = starting_structure(225, composition="Ni", data=data)
    res = fitting.fit_structure(data, start, calculator="builtin")
    rows = [
        {
            "number": 225,
            "rw": res["rw"],
            "nfree": res["nfree"],
            "structure": structure_to_dict(res["structure"]),
            "variables": res["variables"],
        },
        {"number": 139, "rw": 0.5, "nfree": 8, "structure": None},
    ]
    tasks = [{"number": n, "folder": f"sg{n}", "timeout": 10.0}
             for n in (225, 139)]  # fmt: skip
    ((row, task),) = second_round_tasks(rows, tasks)
    assert task["supergroup"]["profile"] == fitting.profile_values(
        res["variables"]
    )
    (sub,), _ = task_starts(task, data)
    assert sub.profile["delta2"] == res["variables"]["delta2"]
    recipe, _ = fitting.build_recipe(
        data, sub.structure, 139, "builtin", sub.profile
    )
    assert fitting._rw(recipe) == pytest.approx(res["rw"], rel=1e-6)
    plain, _ = fitting.build_recipe(data, sub.structure, 139, "builtin")
    assert fitting._rw(plain) > 1.5 * res["rw"]


@pytest.mark.parametrize(
    "number, formula, cell, atoms, sites",
    [
        # LiTiO2 (I4_1/amd, Li 4a, Ti 4b, O 8e): c/a = 2.14 lay between
        # the former c/a grid points 1.6 and 2.4 and was never found
        (
            141,
            "LiTiO2",
            [4.04, 4.04, 8.63, 90, 90, 90],
            [("Li", 0, 0, 0), ("Ti", 0, 0, 0.5), ("O", 0, 0, 0.239)],
            ["O8e", "Z=4"],
        ),
        # 3R-MoS2 (R3m, Mo 3a, S 3a, S 3a; two free z): c/a = 5.8 is near
        # the end of the c/a list and the guess that polishes to it
        # screens far down; not found while the common shapes took the
        # budget with every guess and two guesses per assignment went on
        (
            160,
            "MoS2",
            [3.163, 3.163, 18.37, 90, 90, 120],
            [("Mo", 0, 0, 0), ("S", 0, 0, 0.2516), ("S", 0, 0, 0.4151)],
            ["Mo3a", "Z=3"],
        ),
    ],
)
def test_wyckoff_enumeration_finds_uncommon_cell_shapes(
    tmp_path, number, formula, cell, atoms, sites
):
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff import enumerate_starts

    stru = settings.expand(cell, atoms, number, uiso=0.006)
    path = _simulated(tmp_path, stru, f"{formula}.gr")
    data = prepare_data(path, 1.5, 20.0, 0.02)
    best = enumerate_starts(number, formula, data, budget=8, keep=1)[0]
    assert best.quick_rw < 0.1, best.name
    assert all(label in best.name for label in sites), best.name
    lat = best.structure.lattice
    assert lat.a == pytest.approx(cell[0], rel=0.02)
    assert lat.c == pytest.approx(cell[2], rel=0.02)


def _brookite(tmp_path):
    """Brookite TiO2 data, its true assignment's model, and the
    screening inputs."""
    from diffpy.sgpredict.pdfcalc.scattering import scattering_weight
    from diffpy.sgpredict.refine import wyckoff
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff_model import (
        AssignmentModel,
        site_models,
    )

    cell = [9.184, 5.447, 5.145, 90, 90, 90]
    stru = settings.expand(
        cell,
        [
            ("Ti", 0.1289, 0.0972, 0.8628),
            ("O", 0.0095, 0.1491, 0.1835),
            ("O", 0.2314, 0.1110, 0.5366),
        ],
        61,
        uiso=0.006,
    )
    data = prepare_data(_simulated(tmp_path, stru, "TiO2.gr"), 1.5, 20, 0.02)
    weights = {el: scattering_weight(el, "xray") for el in ("Ti", "O")}
    sites = site_models(61, [("Ti", "c"), ("O", "c"), ("O", "c")])
    model = AssignmentModel(61, sites, weights)
    screen = wyckoff.ScreenTarget(data, rmax=7.0, rstep=0.05, smooth=0.2)
    contact = wyckoff.contact_for(data, {"Ti": 1, "O": 2}, weights)
    return data, model, screen, contact, cell[:3]


@pytest.mark.slow
def test_relaxed_guesses_find_brookite_where_random_draws_do_not(tmp_path):
    # brookite TiO2 (Pbca; Ti, O, O all 8c: nine free coordinates;
    # Meagher & Lager, Can. Mineral. 17, 77 (1979)), its true assignment
    # given: twelve guesses relaxed in the pair potential from arbitrary
    # cell shapes find it; twelve random draws in the true cell shape
    # polished and fitted the same way do not
    from diffpy.sgpredict.refine import wyckoff

    data, model, screen, contact, cell = _brookite(tmp_path)
    target = wyckoff.ScreenTarget(data)
    wide = 0.006 + 0.2**2 / 2

    def best_rw(guesses):
        far = screen.meter.now() + 600
        guesses = sorted(guesses, key=lambda g: g[0])
        polished = wyckoff._polish_guesses(guesses, screen, target, 0.006, far)
        return wyckoff._fit_guesses(polished, target, 0.006, 2, far)[0][0]

    rng = numpy.random.default_rng(0)
    search = wyckoff._Search(screen, contact, rng, wide)
    relaxed, _ = wyckoff._screen_relaxed(model, 8, search, 12)
    shape = [1.0, cell[1] / cell[0], cell[2] / cell[0]]
    drawn = [
        wyckoff._screen_guess(
            model, 8, shape, rng.uniform(0, 1, 9), screen, contact, wide
        )[0]
        for _ in range(12)
    ]
    assert len(relaxed) == 12
    assert best_rw(relaxed) < 0.1
    assert best_rw([g for g in drawn if g is not None]) > 0.3


def test_mixed_sites_of_a_doped_pnictide():
    from diffpy.sgpredict.chemistry import mixed_sites

    counts, notes = mixed_sites(
        parse_composition("Ba0.7K0.3(Zn0.85Mn0.15)2As2")
    )
    assert counts == {"Ba": 1.0, "Zn": 2.0, "As": 2.0}
    assert notes[0] == "Ba0.7K0.3 on one site as Ba"


def test_doped_composition_reaches_every_route(tmp_path):
    # a doped site is its majority element for the prototype and pyxtal
    # routes too: before, a doped pnictide got no I4/mmm template (no
    # prototype matched five elements, pyxtal could not place them), so
    # ``refine --fit`` dropped its true group before fitting
    doped = "Ba0.7K0.3(Zn0.85Mn0.15)2As2"
    # the host compound BaZn2As2 is a known one
    host = starting_structure(139, composition=doped)
    assert host.source == "known" and "Ba(ZnAs)2" in host.notes[-1]
    assert sorted({a.element for a in host.structure}) == ["As", "Ba", "Zn"]
    start = starting_structure(139, composition=doped, known=False)
    assert "ThCr2Si2" in " ".join(start.notes)
    assert sorted({a.element for a in start.structure}) == ["As", "Ba", "Zn"]
    assert "Ba0.7K0.3 on one site as Ba" in start.notes
    written = write_templates(NI, [139], tmp_path, composition=doped)
    assert written[0]["error"] is None
    assert (Path(written[0]["folder"]) / "fit.py").is_file()


@pytest.mark.parametrize(
    "group, sub, natoms, cell",
    [
        (225, 139, 2, (2.4890, 2.4890, 3.52)),  # a' = a/sqrt2, c' = a
        (225, 87, 2, (2.4890, 2.4890, 3.52)),
        (225, 166, 3, (2.4890, 2.4890, 6.0968)),  # hexagonal axes
        (225, 221, 4, (3.52, 3.52, 3.52)),
    ],
)
def test_supergroup_to_subgroup_ni(group, sub, natoms, cell):
    pytest.importorskip("pyxtal")
    from diffpy.sgpredict.pdfcalc import calculate_pdf
    from diffpy.sgpredict.refine.subgroups import has_symmetry, to_subgroup

    ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], group)
    out = to_subgroup(ni, group, sub)
    assert len(out) == natoms
    assert out.lattice.abcABG()[:3] == pytest.approx(cell, abs=1e-3)
    assert has_symmetry(out, sub)
    _, g0 = calculate_pdf(ni, rmax=12)
    _, g1 = calculate_pdf(out, rmax=12)
    assert numpy.abs(g1 - g0).max() < 1e-8


@pytest.mark.parametrize("sub, natoms", [(141, 4), (166, 6), (216, 8)])
def test_supergroup_to_subgroup_si(sub, natoms):
    pytest.importorskip("pyxtal")
    from diffpy.sgpredict.pdfcalc import calculate_pdf
    from diffpy.sgpredict.refine.subgroups import has_symmetry, to_subgroup

    si = settings.expand([5.43] * 3 + [90] * 3, [("Si", 0, 0, 0)], 227)
    out = to_subgroup(si, 227, sub)
    assert len(out) == natoms and has_symmetry(out, sub)
    _, g0 = calculate_pdf(si, rmax=12)
    _, g1 = calculate_pdf(out, rmax=12)
    assert numpy.abs(g1 - g0).max() < 1e-8


@pytest.mark.parametrize(
    "group, sub, lattice, sites",
    [
        (166, 12, [4.38, 4.38, 30.5, 90, 90, 120],
         [("Bi", 0, 0, 0.4, 0.010), ("Te", 0, 0, 0, 0.006),
          ("Te", 0, 0, 0.21, 0.015)]),
        (166, 164, [4.38, 4.38, 30.5, 90, 90, 120],
         [("Bi", 0, 0, 0.4, 0.010), ("Te", 0, 0, 0, 0.006),
          ("Te", 0, 0, 0.21, 0.015)]),
        # a monoclinic cell that the transform also reduces (alpha-ZrP-like)
        (14, 2, [9.06, 5.29, 16.22, 90, 111.4, 90],
         [("Zr", 0.24, 0.25, 0.49, 0.004), ("P", 0.0, 0.25, 0.11, 0.006),
          ("O", 0.10, 0.20, 0.40, 0.009), ("O", 0.40, 0.30, 0.08, 0.021)]),
    ],
)  # fmt: skip
def test_supergroup_to_subgroup_keeps_each_atoms_adp(
    group, sub, lattice, sites
):
    # the subgroup's start is the supergroup's refined structure with
    # its PDF unchanged: before, every atom got the mean ADP (refined
    # SmCo(BO2)5 in P2_1/c, Rw 0.043, started P-1 at Rw 0.163)
    pytest.importorskip("pyxtal")
    from diffpy.sgpredict.pdfcalc import calculate_pdf
    from diffpy.sgpredict.refine.subgroups import to_subgroup, to_supergroup

    stru = settings.expand(lattice, [sites[0][:4]], group, sites[0][4])
    for site in sites[1:]:
        stru.extend(settings.expand(lattice, [site[:4]], group, site[4]))
    assert len({round(a.Uisoequiv, 4) for a in stru}) == len(sites)
    out = to_subgroup(stru, group, sub)
    per_atom = [x.lattice.volume / len(x) for x in (stru, out)]
    assert per_atom[1] == pytest.approx(per_atom[0])
    # the structure's own ADPs (uiso=None), not one for every atom
    _, g0 = calculate_pdf(stru, rmax=12, uiso=None)
    _, g1 = calculate_pdf(out, rmax=12, uiso=None)
    assert numpy.abs(g1 - g0).max() < 1e-8 * numpy.abs(g0).max()
    # and back: the symmetrized supergroup keeps them too
    back, _ = to_supergroup(out, group)
    _, g2 = calculate_pdf(back, rmax=12, uiso=None)
    assert numpy.abs(g2 - g0).max() < 1e-6 * numpy.abs(g0).max()


CIF_CASES = [
    (136, [4.59, 4.59, 2.96, 90, 90, 90], [("Ti", 0, 0, 0), ("O", 0.305,
     0.305, 0)]),
    (139, [3.92, 3.92, 12.3, 90, 90, 90], [("Sr", 0, 0, 0), ("Fe", 0, 0.5,
     0.25), ("As", 0, 0, 0.36)]),
    (166, [4.38, 4.38, 30.5, 90, 90, 120], [("Bi", 0, 0, 0.4), ("Te", 0, 0,
     0), ("Te", 0, 0, 0.21)]),
    (227, [5.43] * 3 + [90] * 3, [("Si", 0, 0, 0)]),
    (14, [5.1, 6.2, 7.3, 90, 101, 90], [("Zr", 0.1, 0.2, 0.3), ("O", 0.3,
     0.1, 0.2)]),
]  # fmt: skip


@pytest.mark.parametrize("number, lattice, sites", CIF_CASES)
def test_cif_written_in_the_candidates_group(tmp_path, number, lattice, sites):
    from diffpy.structure import loadStructure

    from diffpy.sgpredict.refine.cifout import write_cif

    stru = settings.expand(lattice, sites, number)
    path = write_cif(stru, number, tmp_path / "x.cif")
    text = Path(path).read_text()
    assert f"_space_group_IT_number {number}" in text
    # symmetry-unique atoms only, expanded again by the reader
    atom_lines = [
        ln
        for ln in text.splitlines()
        if ln[:1].isalpha()
        and ln.split()[0][-1].isdigit()
        and len(ln.split()) == 7
    ]
    assert len(atom_lines) == len(sites)
    back = loadStructure(path)
    assert len(back) == len(stru)
    assert settings.spglib_group(back) == number


def test_ranking_rule_subgroup_only_when_demanded():
    from diffpy.sgpredict.refine.score import (
        combined_score,
        family_rule,
        hamilton_significant,
    )

    n_eff = 147.2

    def rows(rw_head, rw_sub):
        out = [
            {"number": 225, "symbol": "Fm-3m", "rw": rw_head, "nfree": 6},
            {"number": 139, "symbol": "I4/mmm", "rw": rw_sub, "nfree": 7},
        ]
        for r in out:
            r["score"] = combined_score(r["rw"], r["nfree"], None, n_eff)
            r["notes"] = []
        family_rule(out, n_eff)
        return sorted(out, key=lambda r: r["score"])

    # fcc Ni measured: I4/mmm gains 2 % in Rw with one more parameter
    assert not hamilton_significant(0.0218, 0.0214, 6, 7, n_eff)
    ranked = rows(0.0218, 0.0214)
    assert [r["number"] for r in ranked] == [225, 139]
    assert "no significant gain" in ranked[1]["notes"][0]
    # a tetragonal crystal: the cubic model misfits, I4/mmm is demanded
    ranked = rows(0.150, 0.040)
    assert [r["number"] for r in ranked] == [139, 225]
    assert "significantly better" in ranked[0]["notes"][0]
    # the network's probability enters the score
    assert combined_score(0.05, 6, 0.9, n_eff) < combined_score(
        0.05, 6, 0.1, n_eff
    )


def test_family_rule_judges_symmetry_on_isotropic_fits():
    """Measured Si: R-3m's anisotropic ADPs (U33 along the cubic [111],
    forbidden in Fd-3m) lower Rw from 0.0744 to 0.0664 -- significant by
    Hamilton's test on their own -- but its isotropic fit gains nothing
    over Fd-3m's, so Fd-3m stays first."""
    from diffpy.sgpredict.refine.score import (
        combined_score,
        family_rule,
        hamilton_significant,
    )

    n_eff = (20.0 - 1.5) * 27.0 / 3.141592653589793
    head = {"number": 227, "symbol": "Fd-3m", "rw": 0.0744, "nfree": 6}
    sub = {"number": 166, "symbol": "R-3m", "rw": 0.0664, "nfree": 9,
           "rw_iso": 0.0739, "nfree_iso": 8}  # fmt: skip
    assert hamilton_significant(0.0744, 0.0664, 6, 9, n_eff)
    rows = [head, sub]
    for r in rows:
        r["score"] = combined_score(r["rw"], r["nfree"], None, n_eff)
        r["notes"] = []
    assert sub["score"] < head["score"]  # the score alone prefers R-3m
    family_rule(rows, n_eff)
    assert sub["score"] > head["score"] and sub["family_head"] == 227
    assert "isotropic fits: Rw 0.0744 -> 0.0739" in sub["notes"][0]
    # a subgroup whose isotropic fit is demanded keeps its own score
    sub2 = {"number": 166, "symbol": "R-3m", "rw": 0.0464, "nfree": 9,
            "rw_iso": 0.0500, "nfree_iso": 8, "notes": [],
            "score": combined_score(0.0464, 9, None, n_eff)}  # fmt: skip
    family_rule([head, sub2], n_eff)
    assert "family_head" not in sub2
    assert "significantly better" in sub2["notes"][0]


def test_family_rule_wants_a_distortion_not_only_split_adps():
    """Measured Ni, neutrons, fitted to 20 A: P-3m1 refitted from the
    Pm-3m fit holds the fcc atoms on two sites with ADPs of their own;
    its isotropic Rw of 0.0473 against Fm-3m's 0.0540 passes Hamilton's
    test, but every atom is within 0.02 A of fcc."""
    from diffpy.sgpredict.refine.score import (
        combined_score,
        family_rule,
        hamilton_significant,
    )

    n_eff = 159.0
    assert hamilton_significant(0.0540, 0.0473, 6, 9, n_eff)

    def rows(z):
        # P-3m1: Ni 1a and 2d (1/3, 2/3, z); z = 1/3 stacks as fcc
        p3m1 = {
            "lattice": [2.492, 2.492, 6.121, 90, 90, 120],
            "atoms": [
                ["Ni", 0, 0, 0, 0.005],
                ["Ni", 1 / 3, 2 / 3, z, 0.005],
                ["Ni", 2 / 3, 1 / 3, 1 - z, 0.005],
            ],
        }
        r3m = {
            "lattice": [2.492, 2.492, 6.120, 90, 90, 120],
            "atoms": [
                ["Ni", 0, 0, 0, 0.005],
                ["Ni", 2 / 3, 1 / 3, 1 / 3, 0.005],
                ["Ni", 1 / 3, 2 / 3, 2 / 3, 0.005],
            ],
        }
        fcc = {
            "lattice": [3.527] * 3 + [90] * 3,
            "atoms": [
                ["Ni", 0, 0, 0, 0.005],
                ["Ni", 0, 0.5, 0.5, 0.005],
                ["Ni", 0.5, 0, 0.5, 0.005],
                ["Ni", 0.5, 0.5, 0, 0.005],
            ],
        }
        # subgroups first: the rule must not depend on the order
        out = [
            {"number": 164, "symbol": "P-3m1", "rw": 0.0412, "nfree": 11,
             "rw_iso": 0.0473, "nfree_iso": 9, "structure": p3m1},
            {"number": 166, "symbol": "R-3m", "rw": 0.0419, "nfree": 8,
             "rw_iso": 0.0540, "nfree_iso": 7, "structure": r3m},
            {"number": 225, "symbol": "Fm-3m", "rw": 0.0540, "nfree": 6,
             "structure": fcc},
        ]  # fmt: skip
        for r in out:
            r["score"] = combined_score(r["rw"], r["nfree"], None, n_eff)
            r["notes"] = []
        family_rule(out, n_eff)
        return sorted(out, key=lambda r: r["score"])

    ranked = rows(1 / 3)
    assert ranked[0]["number"] == 225
    (sub,) = [r for r in ranked if r["number"] == 164]
    assert sub["family_head"] == 225
    assert "symmetry of Fm-3m within 0.02 A" in sub["notes"][0]
    # a real distortion, 0.16 A along c, keeps the significant gain
    ranked = rows(0.36)
    assert ranked[0]["number"] == 164
    assert "significantly better" in ranked[0]["notes"][0]


@pytest.mark.slow
def test_tetragonal_data_rank_the_subgroup_first(tmp_path):
    # Ni stretched 5 % along c: I4/mmm is right, Fm-3m is not
    ni = settings.expand(
        [2.49, 2.49, 3.52 * 1.05, 90, 90, 90], [("Ni", 0, 0, 0)], 139
    )
    path = _simulated(tmp_path, ni, "tetragonal_Ni.gr", noise=0.005)
    rows = fit_candidates(
        path,
        [225, 139],
        tmp_path / "fits",
        composition="Ni",
        jobs=2,
        timeout=60,
        wall_limit=WALL,
        rmax=12,
        enumerate_budget=4,
    )
    assert rows[0]["number"] == 139
    assert rows[0]["rw"] < 0.5 * rows[1]["rw"]


def test_ni_subgroups_from_the_supergroup(tmp_path):
    rows = fit_candidates(
        NI,
        [225, 139],
        tmp_path,
        composition="Ni",
        jobs=2,
        timeout=60,
        wall_limit=WALL,
        rmax=6,
        max_nfev=10,
        enumerate_budget=0,
    )
    by = {r["number"]: r for r in rows}
    assert rows[0]["number"] == 225
    # I4/mmm never fits worse than Fm-3m: at worst it is Fm-3m itself
    assert by[139]["rw"] <= by[225]["rw"] * 1.02
    assert by[139]["score"] >= by[225]["score"]
    text = (tmp_path / "ranking.txt").read_text()
    assert "score" in text and "route" in text


def test_no_composition_keeps_prototype_elements_and_says_so():
    from diffpy.sgpredict.refine.starting import (
        NO_COMPOSITION_NOTE,
        starting_structures,
    )

    starts, notes = starting_structures(227)
    assert NO_COMPOSITION_NOTE in notes
    assert "kept" in starts[0].notes[0]
    starts, notes = starting_structures(227, composition="Si")
    assert {a.element for a in starts[0].structure} == {"Si"}
    assert NO_COMPOSITION_NOTE not in notes


def test_ctrl_c_keeps_finished_fits(tmp_path):
    calls = []

    def progress(done, total, label, res):
        calls.append(label)
        raise KeyboardInterrupt

    rows = fit_candidates(
        NI,
        [225, 221],
        tmp_path,
        jobs=1,
        timeout=60,
        wall_limit=WALL,
        rmax=6,
        max_nfev=10,
        enumerate_budget=0,
        progress=progress,
    )
    assert calls == ["225 Fm-3m"]
    assert rows[0]["interrupted"] is True
    assert rows[0]["number"] == 225 and rows[0]["rw"] is not None
    assert rows[1]["status"] == "interrupted" and rows[1]["rw"] is None
    assert (tmp_path / "ranking.txt").exists()


def test_fit_py_and_macro_come_from_the_recipe_code(tmp_path):
    from diffpy.sgpredict.refine.fitting import RecipeSpec, recipe_from_spec

    out = write_templates(NI, [136], tmp_path, composition="TiO2", rmax=8)
    folder = Path(out[0]["folder"])
    text = (folder / "fit.py").read_text()
    assert "run_spec(SPEC" in text and "FitRecipe()" not in text
    spec = RecipeSpec(
        str(folder / NI.name),
        str(folder / "start.cif"),
        136,
        qmax=25.0,
        rmax=8.0,
    )
    recipe, _, _, _ = recipe_from_spec(spec, "builtin")
    macro = (folder / "fit.dp-in").read_text()
    for name in recipe.names:
        if name not in ("scale",):
            assert f"{name}:" in macro, name


def test_library_folder_searched_by_group_and_composition(tmp_path):
    from diffpy.sgpredict.refine.cifout import write_cif
    from diffpy.sgpredict.refine.usercifs import library_starts

    lib = tmp_path / "cod"
    (lib / "sub").mkdir(parents=True)
    rutile = settings.expand(
        [4.59, 4.59, 2.96, 90, 90, 90],
        [("Ti", 0, 0, 0), ("O", 0.305, 0.305, 0)],
        136,
    )
    write_cif(rutile, 136, lib / "sub" / "rutile.cif")
    ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    write_cif(ni, 225, lib / "ni.cif")
    (lib / "broken.cif").write_text("not a CIF\n")
    starts = library_starts(136, {"Sn": 1.0, "O": 2.0}, lib)
    assert [s.name for s in starts] == ["sub/rutile.cif"]
    assert {a.element for a in starts[0].structure} == {"Sn", "O"}
    assert "Ti->Sn" in starts[0].notes[0]
    assert library_starts(136, {"Ni": 1.0}, lib) == []
    assert [s.name for s in library_starts(225, None, lib)] == ["ni.cif"]
    # the templates take their start from the same route selection
    written = write_templates(
        NI, [136], tmp_path / "tpl", composition="SnO2", library=lib
    )
    assert written[0]["start"] == "sub/rutile.cif"
    assert "library CIF sub/rutile.cif with Ti->Sn" in written[0]["notes"][0]
    cif = (tmp_path / "tpl" / "sg136_P42_mnm" / "start.cif").read_text()
    assert "Sn" in cif and "Ti" not in cif


def _sleep_forever(_):
    import time

    time.sleep(600)


def _exit_without_result(_):
    import os

    os._exit(3)


def test_killable_runner_reports_killed_and_dead_tasks():
    from diffpy.sgpredict.parallel import TaskStopped, run_killable

    done = []
    results, interrupted = run_killable(
        abs,
        [-2, 5],
        jobs=2,
        on_done=lambda d, t, i, r: done.append((d, t)),
    )
    assert results == [2, 5] and interrupted is False
    assert sorted(done) == [(1, 2), (2, 2)]
    results, interrupted = run_killable(_sleep_forever, [0], wall_limit=0.5)
    assert isinstance(results[0], TaskStopped)
    assert results[0].reason == "wall_limit" and not interrupted
    results, _ = run_killable(_exit_without_result, [0])
    assert results[0].reason == "died" and "exit 3" in results[0].message


# ------------------------------------------- anisotropic displacements


def _rutile(aniso):
    """Rutile; with ``aniso`` its ADPs are strongly elongated along c
    (diag(U, U, 3U): invariant under every operation of P4_2/mnm)."""
    stru = settings.expand(
        [4.594, 4.594, 2.959, 90, 90, 90],
        [("Ti", 0, 0, 0), ("O", 0.3048, 0.3048, 0)],
        136,
        uiso=0.008,
    )
    if aniso:
        for atom in stru:
            u = 0.004 if atom.element == "Ti" else 0.006
            atom.anisotropy = True
            atom.U = numpy.diag([u, u, 3 * u])
    return stru


def test_anisotropic_adps_survive_the_cif_in_the_candidates_group(tmp_path):
    from diffpy.structure import loadStructure

    from diffpy.sgpredict.refine.cifout import write_cif

    stru = _rutile(aniso=True)
    path = write_cif(stru, 136, tmp_path / "rutile.cif")
    text = Path(path).read_text()
    assert "_atom_site_aniso_U_33" in text
    back = loadStructure(path)
    assert len(back) == len(stru) == 6
    for atom in back:
        assert atom.anisotropy
        twin = [
            a
            for a in stru
            if numpy.allclose((a.xyz - atom.xyz + 0.5) % 1 - 0.5, 0, atol=1e-5)
        ]
        assert len(twin) == 1
        assert numpy.allclose(atom.U, twin[0].U, atol=1e-5)


@pytest.mark.parametrize("aniso_data", [True, False])
def test_auto_adps_kept_only_when_the_data_demand_them(tmp_path, aniso_data):
    from diffpy.structure import loadStructure

    path = _simulated(
        tmp_path, _rutile(aniso_data), "TiO2.gr", noise=0.003, seed=3
    )
    start = tmp_path / "start.cif"
    _rutile(aniso=False).write(str(start), "cif")
    rows = {}
    for adp in ("iso", "auto"):
        out = tmp_path / adp
        write_templates(path, [136], out, composition="TiO2", cif=start)
        (row,) = fit_candidates(
            path,
            [136],
            out,
            composition="TiO2",
            cif=start,
            jobs=1,
            timeout=20,
            enumerate_budget=0,
            supergroups=False,
            wall_limit=WALL,
            adp=adp,
        )
        rows[adp] = row
    iso, auto = rows["iso"], rows["auto"]
    assert iso["status"] == "ok" and auto["status"] == "ok"
    aniso_notes = [n for n in auto["notes"] if "anisotropic ADPs" in n]
    assert len(aniso_notes) == 1
    if not aniso_data:
        # no gain worth four more variables: the isotropic fit stays
        assert "not kept" in aniso_notes[0]
        assert auto["nfree"] == iso["nfree"]
        assert auto["rw"] == pytest.approx(iso["rw"], rel=1e-6)
        return
    assert "kept" in aniso_notes[0] and "not kept" not in aniso_notes[0]
    assert auto["nfree"] == iso["nfree"] + 4  # Ti: U11 U33 U12; O: same
    assert auto["rw"] < 0.6 * iso["rw"]
    folder = Path(auto["folder"])
    refined = loadStructure(str(folder / "refined.cif"))
    ti = [a for a in refined if a.element == "Ti"][0]
    assert ti.anisotropy
    assert ti.U[2, 2] == pytest.approx(0.012, abs=0.004)
    assert ti.U[0, 0] == pytest.approx(0.004, abs=0.002)
    # the macro is made again for the anisotropic start.cif
    macro = (folder / "fit.dp-in").read_text()
    assert "G1.U33_0:" in macro and "Uiso" not in macro
    check_macro(macro)


def test_polar_group_enumeration_solves_wurtzite(tmp_path):
    """P6_3mc floats along c: one of wurtzite's two z is arbitrary, and
    the enumeration finds Cd 2b, Se 2b with the right cell and u."""
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff import enumerate_starts
    from diffpy.sgpredict.refine.wyckoff_model import (
        AssignmentModel,
        site_models,
    )

    sites = site_models(186, [("Cd", "b"), ("Se", "b")])
    model = AssignmentModel(186, sites, {"Cd": 48.0, "Se": 34.0})
    assert model.nxyz == 2 and model.origin_params == [0]
    wurtzite = settings.expand(
        [4.30, 4.30, 7.01, 90, 90, 120],
        [("Cd", 1 / 3, 2 / 3, 0.0), ("Se", 1 / 3, 2 / 3, 0.375)],
        186,
        uiso=0.008,
    )
    path = _simulated(tmp_path, wurtzite, "CdSe.gr", qmax=22.0)
    data = prepare_data(path, 1.5, 20.0, 0.02)
    best = enumerate_starts(186, "CdSe", data, budget=8, keep=1)[0]
    assert "Cd2b" in best.name and "Se2b" in best.name
    assert best.quick_rw < 0.1
    lat = best.structure.lattice
    assert lat.a == pytest.approx(4.30, abs=0.03)
    assert lat.c == pytest.approx(7.01, abs=0.07)
    z = {a.element: a.xyz[2] for a in best.structure}
    u = (z["Se"] - z["Cd"]) % 0.5  # any pair of the orbits
    assert min(abs(u - 0.375), abs(u - 0.125)) < 0.02


def test_poor_best_fit_is_reported_not_passed_off(tmp_path, capsys):
    """fcc Ni offered only the diamond group: the best Rw stays far above
    a solved fit, and the command says so instead of a bare ranking."""
    from diffpy.sgpredict.refine.score import POOR_FIT_RW
    from diffpy.sgpredict.sgpredictapp import main

    status = main(
        ["refine", str(NI), "-o", str(tmp_path), "--groups", "227",
         "--composition", "Ni", "--fit", "--json", "--rmax", "8",
         "--jobs", "1", "--timeout", "10", "--enumerate", "2"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0
    (row,) = json.loads(captured.out)
    assert row["rw"] > POOR_FIT_RW
    assert "no candidate fits well" in captured.err
    assert any("no candidate fits well" in n for n in row["notes"])


def test_second_round_refits_from_a_better_relative_either_way():
    """fcc Ni: a good I4/mmm fit gives Fm-3m a symmetrized start (route
    ``subgroup``), a good Fm-3m fit gives I4/mmm its exact start (route
    ``supergroup``)."""
    from diffpy.sgpredict.refine.candidate_fit import (
        structure_from_dict,
        structure_to_dict,
        task_starts,
    )
    from diffpy.sgpredict.refine.ranking import second_round_tasks
    from diffpy.sgpredict.refine.subgroups import to_subgroup

    ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    tet = to_subgroup(ni, 225, 139)
    tet[0].xyz = tet[0].xyz + [0.002, 0.0, 0.001]  # refined, not exact
    other = settings.expand([3.1] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)

    def row(number, rw, nfree, stru):
        return {"number": number, "rw": rw, "nfree": nfree,
                "structure": structure_to_dict(stru)}  # fmt: skip

    tasks = [{"number": 225, "folder": "a", "timeout": 20.0},
             {"number": 139, "folder": "b", "timeout": 20.0}]  # fmt: skip
    # the subgroup fits, the group did not find the structure
    rows = [row(225, 0.60, 6, other), row(139, 0.02, 7, tet)]
    ((r, task),) = second_round_tasks(rows, tasks)
    assert r["number"] == 225 and task["folder"] == "a/from-subgroup"
    assert task["subgroup"]["number"] == 139
    assert task["subgroup"]["tolerance"] <= 0.05 and task["timeout"] == 5
    std = structure_from_dict(task["subgroup"]["structure"])
    assert len(std) == 4 and settings.spglib_group(std) == 225
    assert std.lattice.a == pytest.approx(3.52, abs=0.01)
    starts, _ = task_starts(task, None)
    assert starts[0].source == "subgroup" and starts[0].number == 225
    # the group fits, the subgroup did not: the exact way down
    rows = [row(225, 0.02, 6, ni), row(139, 0.50, 7, tet)]
    ((r, task),) = second_round_tasks(rows, tasks)
    assert r["number"] == 139 and task["supergroup"]["number"] == 225
    # both fit equally: nothing to refit
    rows = [row(225, 0.02, 6, ni), row(139, 0.02, 7, tet)]
    assert second_round_tasks(rows, tasks) == []
    # the subgroup fitted in a smaller wrong cell with fewer parameters:
    # a supergroup that fits still gives it its structure ...
    rows = [row(225, 0.02, 12, ni), row(139, 0.70, 7, tet)]
    ((r, task),) = second_round_tasks(rows, tasks)
    assert r["number"] == 139 and task["supergroup"]["number"] == 225
    # ... a supergroup that does not fit either (Rw > 0.3) does not
    rows = [row(225, 0.50, 12, ni), row(139, 0.70, 7, tet)]
    assert second_round_tasks(rows, tasks) == []


def test_second_round_resumes_a_promising_fit_that_ran_out_of_time():
    from diffpy.sgpredict.refine.candidate_fit import (
        structure_to_dict,
        task_starts,
    )
    from diffpy.sgpredict.refine.ranking import second_round_tasks

    ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    hcp = settings.expand(
        [2.49, 2.49, 4.07, 90, 90, 120], [("Ni", 1 / 3, 2 / 3, 0.25)], 194
    )

    def row(number, rw, status, stru):
        return {"number": number, "rw": rw, "nfree": 6, "status": status,
                "structure": structure_to_dict(stru), "start": "mp-23",
                "start_source": "known",
                "variables": {"scale": 0.8, "delta2": 1.9}}  # fmt: skip

    tasks = [{"number": 225, "folder": "a", "timeout": 20.0},
             {"number": 194, "folder": "b", "timeout": 20.0}]  # fmt: skip
    # unrelated groups: the stopped fit at 0.2 goes on, the one at 0.5
    # (no fit) and the finished one do not
    rows = [row(225, 0.20, "stopped", ni), row(194, 0.50, "stopped", hcp)]
    ((r, task),) = second_round_tasks(rows, tasks)
    assert r["number"] == 225 and task["folder"] == "a/resumed"
    assert task["timeout"] == 40.0 and task["enumerate_budget"] == 0.0
    (start,), _ = task_starts(task, None)
    assert (start.source, start.name) == ("known", "mp-23")
    assert start.profile["delta2"] == pytest.approx(1.9)
    assert "resumed" in start.notes[0]
    assert len(start.structure) == 4
    rows = [row(225, 0.20, "ok", ni), row(194, 0.35, "stopped", hcp)]
    assert second_round_tasks(rows, tasks) == []


def _li2tiof6(tmp_path):
    """Li2Ti(OF3)2 (C2/m; Li 4f, Ti 2a, O 4i, F 8j, F 4i; Materials
    Project relaxation in ``../shared/data/structures/rs0299.cif``):
    simulated data."""
    from diffpy.sgpredict.refine.fitdata import prepare_data

    stru = settings.expand(
        [10.294, 5.934, 4.803, 90, 90.13, 90],
        [
            ("Li", 0.25, 0.25, 0.5),
            ("Ti", 0, 0, 0),
            ("O", 0.1566, 0.5, 0.7139),
            ("F", 0.4148, 0.7203, 0.7768),
            ("F", 0.1576, 0, 0.7687),
        ],
        12,
        uiso=0.006,
    )
    assert len(stru) == 22
    path = _simulated(tmp_path, stru, "Li2TiO2F6.gr")
    return prepare_data(path, 1.5, 20.0, 0.02)


def test_second_round_enumerates_in_a_fitting_supergroups_cell(tmp_path):
    """A subgroup whose atoms order on other sites than its
    supergroup's is found by enumerating its Wyckoff assignments in the
    supergroup's cell: Li2Ti(OF3)2 in C2/m from a P-3m1 fit with its
    hexagonal cell (a = 5.94, c = 4.80 A)."""
    from diffpy.sgpredict.refine.candidate_fit import (
        structure_to_dict,
        task_starts,
    )
    from diffpy.sgpredict.refine.ranking import second_round_tasks
    from diffpy.sgpredict.refine.wyckoff import enumerate_starts

    data = _li2tiof6(tmp_path)
    hexagonal = settings.expand(
        [5.94, 5.94, 4.80, 90, 90, 120],
        [("Ti", 0, 0, 0), ("Li", 1 / 3, 2 / 3, 0.5), ("F", 0.17, 0.83, 0.23)],
        164,
    )

    def second(sup_rw, composition, sup_probability=0.22):
        rows = [
            {"number": 164, "rw": sup_rw, "nfree": 14,
             "probability": sup_probability,
             "structure": structure_to_dict(hexagonal)},
            {"number": 12, "rw": 0.5, "nfree": 22, "probability": 0.35,
             "structure": None},
        ]  # fmt: skip
        tasks = [
            {"number": n, "folder": f"sg{n}", "timeout": 20.0,
             "composition": composition, "enumerate_budget": 10.0,
             "seed": [0, n]}
            for n in (164, 12)
        ]  # fmt: skip
        ((_, task),) = second_round_tasks(rows, tasks)
        return task

    # a poor supergroup fit, a more probable supergroup or no
    # composition: only the exact start
    for task in (
        second(0.4, "Li2TiO2F6"),
        second(0.14, "Li2TiO2F6", sup_probability=0.5),
        second(0.14, None),
    ):
        assert (task["enumerate_budget"], task["timeout"]) == (0.0, 5.0)
        starts, _ = task_starts(task, data)
        assert [s.source for s in starts] == ["supergroup"]
    task = second(0.14, "Li2TiO2F6")
    assert (task["enumerate_budget"], task["timeout"]) == (10.0, 20.0)
    starts, _ = task_starts(task, data)
    assert [s.source for s in starts[:2]] == ["supergroup", "wyckoff"]
    found = starts[1]
    assert found.quick_rw < 0.1, found.name
    assert found.notes[0].startswith("enumerated in the cell of the refined")
    assert found.structure.lattice.a == pytest.approx(10.29, rel=0.02)
    # the grid of cell shapes, same budget and seed: not found (with
    # seeds [0..5, 12]: 2 of 6 found from the grid; in the cell seeds 0
    # and 2-5 all found it)
    grid = enumerate_starts(
        12,
        "Li2TiO2F6",
        data,
        budget=10,
        rng=numpy.random.default_rng([0, 12]),
        uiso=0.005,
    )
    assert grid[0].quick_rw > 0.3


def test_failed_anisotropic_fit_keeps_the_isotropic_one(monkeypatch):
    """Whatever the Uij refinement raises, the candidate keeps its
    isotropic fit and says why."""
    from diffpy.sgpredict.refine import candidate_fit
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.startmodel import StartingStructure
    from diffpy.sgpredict.refine.work import WorkMeter

    rutile = _rutile(aniso=False)
    start = StartingStructure(136, "P4_2/mnm", rutile, "cif", "rutile")
    res = {"rw": 0.2, "nfree": 9, "notes": [], "structure": rutile}

    def broken(*args, **kwargs):
        raise RuntimeError("singular matrix")

    monkeypatch.setattr(candidate_fit, "fit_structure", broken)
    task = {"adp": "auto", "timeout": 1e9, "calculator": "builtin",
            "max_nfev": 10}  # fmt: skip
    data = prepare_data(NI, 1.5, 8.0, 0.02)
    tried = []
    got_start, got = candidate_fit._anisotropic_stage(
        task, data, start, res, WorkMeter(), tried
    )
    assert got_start is start and got is res and got["rw"] == 0.2
    assert "anisotropic ADPs failed (RuntimeError: singular matrix)" in (
        got["notes"][-1]
    )


def test_a_refit_from_a_relative_reaches_the_anisotropic_stage(monkeypatch):
    """A refit from a relative has a quarter of a candidate's budget;
    its isotropic fit takes half of it and overshoots a little (a fit
    stops at the first evaluation past its limit), which left 1.9 s:
    the anisotropic stage must still run, or the refit ranks with
    isotropic ADPs against its relative's anisotropic fit."""
    from diffpy.sgpredict.refine import candidate_fit
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.startmodel import StartingStructure
    from diffpy.sgpredict.refine.work import (
        CANDIDATE_BUDGET,
        RELATIVE_SHARE,
        WorkMeter,
    )

    rutile = _rutile(aniso=False)
    start = StartingStructure(136, "P4_2/mnm", rutile, "supergroup", "r")
    given = []

    def fit(data, start, calculator, timeout, max_nfev, meter):
        given.append((timeout, start.structure[0].anisotropy))
        meter.charge(timeout + 0.1)
        return {"rw": 0.2 - 0.05 * len(given), "nfree": 9 + len(given),
                "notes": [], "structure": start.structure}  # fmt: skip

    monkeypatch.setattr(candidate_fit, "fit_structure", fit)
    task = {"adp": "auto", "calculator": "builtin", "max_nfev": 10,
            "timeout": CANDIDATE_BUDGET * RELATIVE_SHARE}  # fmt: skip
    data = prepare_data(NI, 1.5, 8.0, 0.02)
    _, res, tried = candidate_fit._refine_best(
        task, data, [start], WorkMeter()
    )
    assert [anisotropic for _, anisotropic in given] == [False, True]
    # it ran with less than 2 s of work left
    assert 1.0 <= given[1][0] < 2.0
    assert tried[-1]["route"] == "anisotropic ADPs"
    assert res["rw"] == pytest.approx(0.1)


def _banio3():
    """Hexagonal BaNiO3 (P6_3mc, Materials Project's cell)."""
    return settings.expand(
        [5.7226, 5.7226, 4.8272, 90, 90, 120],
        [
            ("Ba", 1 / 3, 2 / 3, 0.2498),
            ("Ni", 0.0, 0.0, 0.4884),
            ("O", 0.1463, 0.8537, 0.7381),
        ],
        186,
        uiso=0.006,
    )


def test_nearest_neighbour_peak_of_a_heavy_light_compound(tmp_path):
    """Ni-O (1.89 A) is the nearest neighbour of BaNiO3, but its X-ray
    peak is a few per cent of the tallest: the composition's weights
    lower the threshold so that it is found, not Ba-O at 2.9 A."""
    from diffpy.sgpredict.pdfcalc.scattering import scattering_weight
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.peaks import (
        first_strong_peak,
        nearest_neighbour_peak,
    )

    data = prepare_data(
        _simulated(tmp_path, _banio3(), "BaNiO3.gr", qmax=21.0), 1.5, 20.0
    )
    weights = [scattering_weight(e, "xray") for e in ("Ba", "Ni", "O")]
    assert first_strong_peak(data.r, data.g, fraction=0.15) > 2.7
    assert nearest_neighbour_peak(data.r, data.g, weights) == pytest.approx(
        1.89, abs=0.05
    )
    # one element, or similar weights: the 15 % threshold stands
    assert nearest_neighbour_peak(data.r, data.g, [28.0]) > 2.7


def test_orbits_of_an_assignment_give_the_calculators_pdf():
    """The enumeration hands the calculator its sites as orbits; the PDF
    is the one the calculator computes with its own orbit search."""
    from diffpy.sgpredict.pdfcalc import builtin
    from diffpy.sgpredict.refine.wyckoff_model import (
        AssignmentModel,
        site_models,
    )

    rng = numpy.random.default_rng(3)
    cases = [
        (
            63,
            [("Ti", "c"), ("Ti", "f"), ("O", "c"), ("O", "f")],
            [3.8, 9.5, 9.7],
        ),
        (186, [("Ba", "b"), ("Ni", "a"), ("O", "c")], [5.72, 4.83]),
        (14, [("Mn", "a"), ("F", "e"), ("F", "e")], [5.4, 4.6, 5.7, 113.0]),
    ]
    weights = {"Ti": 22.0, "O": 8.0, "Ba": 56.0, "Ni": 28.0, "Mn": 25.0}
    weights["F"] = 9.0
    for number, sites, cell in cases:
        model = AssignmentModel(number, site_models(number, sites), weights)
        for _ in range(2):
            arrays = model.arrays(cell, rng.uniform(0, 1, model.nxyz), 0.01)
            searched = dict(arrays, orbit=None)
            _, g1 = builtin.pdf_from_arrays(arrays, rmax=10.0, qmax=22.0)
            _, g2 = builtin.pdf_from_arrays(searched, rmax=10.0, qmax=22.0)
            assert numpy.abs(g1).max() > 1.0
            numpy.testing.assert_allclose(g1, g2, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "number, ratios",
    [
        (160, (5.81,)),  # 3R-MoS2, layered
        (87, (0.29,)),  # hollandite MnO2, needle-like
        (63, (2.53, 2.59)),  # Ti3O5, Cmcm
        (61, (0.52, 0.51)),  # MnF2 in Pbca
    ],
)
def test_cell_shapes_reach_real_cells(number, ratios):
    """The enumeration's cell shapes come within the quick fit's reach
    of real cells (c/a within 7 %, b/a and c/a within 30 %)."""
    from diffpy.sgpredict.refine.wyckoff_model import CellModel

    shapes = numpy.array(CellModel(number).shapes(None))
    if len(ratios) == 1:
        assert numpy.abs(numpy.log(shapes[:, 1] / ratios[0])).min() < 0.07
    else:
        off = numpy.abs(numpy.log(shapes[:, 1:3] / ratios)).max(axis=1)
        assert off.min() < numpy.log(1.3)


def _cdse_rows():
    """Measured bulk CdSe (``exp_pdfs``): wurtzite in P6_3mc against two
    P6_3/mmc models with twice its atoms in the same cell, one with Cd
    and Se on one spot (what the enumeration once found: Rw 0.168) and
    one with them as far apart as 4f allows (1.75 A)."""
    from diffpy.sgpredict.refine.candidate_fit import structure_to_dict

    hexagonal = [4.299, 4.299, 7.013, 90, 90, 120]
    wurtzite = settings.expand(
        hexagonal,
        [("Cd", 1 / 3, 2 / 3, 0.0), ("Se", 1 / 3, 2 / 3, 0.375)],
        186,
        uiso=0.01,
    )
    merged = settings.expand(
        hexagonal,
        [("Cd", 1 / 3, 2 / 3, 0.062), ("Se", 1 / 3, 2 / 3, 0.062)],
        194,
        uiso=0.02,
    )
    apart = settings.expand(
        hexagonal,
        [("Cd", 1 / 3, 2 / 3, 0.125), ("Se", 1 / 3, 2 / 3, 0.625)],
        194,
        uiso=0.02,
    )
    rows = []
    for number, symbol, stru, rw, k in [
        (186, "P63mc", wurtzite, 0.156, 10),
        (194, "P63/mmc", merged, 0.168, 9),
        (194, "P63/mmc", apart, 0.168, 9),
    ]:
        rows.append(
            {
                "number": number,
                "symbol": symbol,
                "probability": None,
                "rw": rw,
                "nfree": k,
                "notes": [],
                "status": "ok",
                "structure": structure_to_dict(stru),
            }
        )
    return rows


def test_misfits_are_ranked_by_probability_solved_fits_by_score():
    from diffpy.sgpredict.refine.score import (
        MISFIT_RW,
        poor_fit_note,
        rank_rows,
    )

    def rows(rw_a, rw_b):
        return [
            {"number": 14, "symbol": "P21/c", "probability": 0.32,
             "rw": rw_a, "nfree": 30, "notes": []},
            {"number": 12, "symbol": "C2/m", "probability": 0.16,
             "rw": rw_b, "nfree": 22, "notes": []},
        ]  # fmt: skip

    # like alpha-ZrP's two best measured fits (no structure found):
    # C2/m's lower Rw and fewer parameters are chance, and the score
    # would rank it first (by 46, against 1.4 from the probabilities)
    ranked = rank_rows(rows(0.79, 0.77), [], 147.2)
    assert ranked[1]["score"] < ranked[0]["score"]
    assert [r["number"] for r in ranked] == [14, 12]
    assert "probability alone" in poor_fit_note(ranked)
    assert any("probability alone" in n for n in ranked[0]["notes"])
    # a partial fit above MISFIT_RW is no evidence either
    ranked = rank_rows(rows(0.79, MISFIT_RW + 0.1), [], 147.2)
    assert [r["number"] for r in ranked] == [14, 12]
    # one fit below MISFIT_RW: the score decides again, and the fit is
    # no longer poor
    ranked = rank_rows(rows(0.79, MISFIT_RW - 0.05), [], 147.2)
    assert [r["number"] for r in ranked] == [12, 14]
    assert poor_fit_note(ranked) is None
    ranked = rank_rows(rows(0.10, 0.05), [], 147.2)
    assert [r["number"] for r in ranked] == [12, 14]
    assert poor_fit_note(ranked) is None
    # among misfits a fit with overlapping atoms keeps its place by
    # probability (synthetic Li4TiO4, Cmcm: Rw 0.36 with two atoms
    # 0.4 A apart went from first to fifth); among solved fits it is
    # last
    overlapping = {
        "lattice": [5.0] * 3 + [90] * 3,
        "atoms": [["Li", 0, 0, 0, 0.01], ["O", 0.08, 0, 0, 0.01]],
    }
    for rw_b, order in ((0.77, [14, 12]), (0.05, [12, 14])):
        both = rows(0.36, rw_b)
        both[0]["structure"] = overlapping
        ranked = rank_rows(both, [], 147.2)
        assert ranked[[r["number"] for r in ranked].index(14)]["status"] == (
            "overlap"
        )
        assert [r["number"] for r in ranked] == order


def test_density_prior_and_overlap_rank_wurtzite_first():
    from diffpy.sgpredict.refine.score import (
        density_penalty,
        rank_rows,
    )
    from diffpy.sgpredict.refine.score import (
        structure_shortest_distance as shortest_distance,
    )

    wurtzite, merged, apart = _cdse_rows()
    assert shortest_distance(merged["structure"]) < 0.01
    assert shortest_distance(apart["structure"]) > 1.5
    pw, ratio_w = density_penalty(wurtzite["structure"])
    pa, ratio_a = density_penalty(apart["structure"])
    assert ratio_w == pytest.approx(1.07, abs=0.03) and pw < 1
    assert ratio_a == pytest.approx(ratio_w / 2, rel=1e-6) and pa > 25
    # without the prior the doubled cells would win: 9 parameters
    # against 10 and a small Rw difference
    for bad in (merged, apart):
        ranked = rank_rows([dict(wurtzite), dict(bad)], [], 147.2)
        assert [r["number"] for r in ranked] == [186, 194]
    ranked = rank_rows([dict(wurtzite), dict(merged)], [], 147.2)
    assert ranked[1]["status"] == "overlap" and ranked[1]["score"] is None
    ranked = rank_rows([dict(wurtzite), dict(apart)], [], 147.2)
    # the doubled cell is not wurtzite's family head: other density
    assert "family_head" not in ranked[0]
    assert any("density" in n for n in ranked[1]["notes"])


@pytest.mark.parametrize(
    "formula, volume",
    [  # measured cell volumes per formula unit (A^3)
        ("NaCl", 44.86),  # a = 5.640
        ("Si", 20.02),  # a = 5.431
        ("TiO2", 31.21),  # rutile
        ("BaTiO3", 64.41),  # cubic, a = 4.009
        ("CdSe", 56.11),  # wurtzite
        ("SrFe2As2", 94.52),  # a = 3.92, c = 12.3, Z = 2
    ],
)
def test_expected_volume_of_known_compounds(formula, volume):
    from diffpy.sgpredict.chemistry import expected_volume, volume_spread

    ratio = volume / expected_volume(formula)
    assert abs(numpy.log(ratio)) < 2 * volume_spread()


def test_contact_of_a_heavy_light_compound(tmp_path):
    """The enumeration scales BaNiO3's guesses to the Ni-O distance and
    to a volume window around what its atoms fill, which holds the real
    cell's 13.7 A^3 per atom."""
    from diffpy.sgpredict.pdfcalc.scattering import scattering_weight
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.wyckoff import contact_for

    stru = _banio3()
    data = prepare_data(
        _simulated(tmp_path, stru, "BaNiO3.gr", qmax=21.0), 1.5, 20.0
    )
    counts = {"Ba": 1.0, "Ni": 1.0, "O": 3.0}
    weights = {e: scattering_weight(e, "xray") for e in counts}
    contact = contact_for(data, counts, weights)
    per_atom = stru.lattice.volume / len(stru)
    assert per_atom == pytest.approx(13.7, abs=0.1)
    assert contact.r1 == pytest.approx(1.89, abs=0.05)
    assert contact.vmin < per_atom < contact.vmax
    assert contact.vmax / contact.vmin < 2.0  # narrower than 0.5-3 r1^3
    # an element: atomic volumes are those of compounds, so only the
    # contact window (Ti metal fills a third more than Ti in oxides)
    ti = contact_for(data, {"Ti": 1.0}, {"Ti": 22.0})
    assert ti.vmin == pytest.approx(0.5 * ti.r1**3)
    assert ti.vmax == pytest.approx(3.0 * ti.r1**3)


def test_neutron_data_are_fitted_as_neutron_data(tmp_path):
    # rutile as a neutron PDF: Ti scatters with a negative length, so its
    # Ti-O peaks point down.  A bare two-column file says nothing of the
    # radiation: fitted as X-ray data (the default, with a note) no
    # rutile model can fit it; told --radiation neutron, the fit is
    # near-perfect and the templates compute neutron PDFs.
    from _structures import rutile
    from diffpy.structure import loadStructure

    from diffpy.sgpredict.pdfcalc import calculate_pdf

    r, g = calculate_pdf(
        rutile().to_diffpy(uiso=0.006),
        rmin=0.5,
        rmax=12.0,
        rstep=0.01,
        qmax=25.0,
        qdamp=0.03,
        scattering="neutron",
    )
    path = tmp_path / "rutile_n.gr"
    numpy.savetxt(path, numpy.column_stack([r, g]), fmt="%.6g")
    rows = {}
    for radiation in (None, "neutron"):
        out = tmp_path / str(radiation)
        rows[radiation] = fit_candidates(
            path,
            [136],
            out,
            composition="TiO2",
            radiation=radiation,
            rmax=12.0,
            timeout=15,
            enumerate_budget=0,
            jobs=1,
            supergroups=False,
        )[0]
    guess, told = rows[None], rows["neutron"]
    assert any("radiation not in the data header" in n for n in guess["notes"])
    assert not any("radiation not" in n for n in told["notes"])
    assert told["rw"] < 0.05
    assert guess["rw"] > 0.3
    (item,) = write_templates(
        path, [136], tmp_path / "t", composition="TiO2", radiation="neutron"
    )
    fit_py = (Path(item["folder"]) / "fit.py").read_text()
    assert 'scattering="neutron"' in fit_py
    # the start is scaled to the data's first positive peak (O-O) by the
    # model's neutron PDF: rutile's a = 4.59 A, not 1.3 times that
    start = loadStructure(str(Path(item["folder"]) / "start.cif"))
    assert start.lattice.a == pytest.approx(4.59, rel=0.05)
    with pytest.raises(InputError, match="--radiation must be one of"):
        fit_candidates(path, [136], tmp_path / "x", radiation="electron")


@pytest.mark.parametrize(
    "number, atoms, orbits",
    [
        # fcc Ni written in P4/mmm (a / sqrt 2): two orbits (1a, 1d)
        # that the structure's own symmetry, body centring, makes one
        (123, None, 2),
        # a mixed site (Na and K on one spot) and Cl: three orbits
        (225, [("Na", 0, 0, 0), ("K", 0, 0, 0), ("Cl", 0.5, 0.5, 0.5)], 3),
    ],
)
def test_the_recipe_orbits_change_nothing_in_the_builtin_generator(
    number, atoms, orbits
):
    """build_recipe tells the builtin generator the atoms that its
    space-group constraints keep equivalent; G(r) is the same as with
    the calculator's own search, also after the variables moved."""
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.fitting import build_recipe
    from diffpy.sgpredict.refine.subgroups import to_subgroup

    data = prepare_data(NI, 1.5, 10.0, 0.02)
    if atoms is None:
        ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
        stru = to_subgroup(ni, 225, number)
    else:
        stru = settings.expand([5.6] * 3 + [90] * 3, atoms, number)
        for atom in stru:
            atom.occupancy = 0.5 if atom.element in ("Na", "K") else 1.0
    recipe, gen = build_recipe(data, stru, number, "builtin")
    assert int(gen.orbits.max()) + 1 == orbits
    moved = numpy.array(recipe.values) * 1.01
    for values in (recipe.values, moved):
        recipe.residual(values)
        given = gen(data.r)
        kept, gen.orbits = gen.orbits, None
        searched = gen(data.r)
        gen.orbits = kept
        assert (
            numpy.abs(given - searched).max()
            < 1e-9 * numpy.abs(searched).max()
        )


def test_pdfgui_project_opens_in_pdfgui(tmp_path):
    # runs where diffpy.pdfgui's control layer imports, e.g. after
    # ``pip install --target DIR diffpy.pdfgui --no-deps`` and
    # PYTHONPATH=DIR (refine.rst, Optional packages)
    pytest.importorskip("diffpy.pdfgui.control.pdfguicontrol")
    from diffpy.pdfgui.control.pdfguicontrol import PDFGuiControl

    out = write_templates(NI, [225, 139], tmp_path, composition="Ni")
    ties = {225: ["@1", "@1", "@1"], 139: ["@1", "@1", "@2"]}
    for row in out:
        ddp = Path(row["folder"]) / "fit.ddp"
        assert ddp.is_file()
        control = PDFGuiControl()
        control.load(str(ddp))
        (fit,) = control.fits
        (phase,) = fit.strucs
        (data,) = fit.datasets
        # the start in the candidate's cell: fcc Ni has 4 atoms in
        # Fm-3m, 2 in I4/mmm
        assert len(phase) == {225: 4, 139: 2}[row["number"]]
        assert {a.element for a in phase} == {"Ni"}
        lat = [phase.constraints[f"lat({i})"].formula for i in (1, 2, 3)]
        assert lat == ties[row["number"]]
        # the header says qmax = 25.0
        assert data.stype == "X" and data.qmax == pytest.approx(25.0)
        assert (data.fitrmin, data.fitrmax) == (1.5, 20.0)
