"""The known-compound route: the sample's own structure when its
formula is a known compound of the candidate group."""

import gzip
from pathlib import Path

import numpy
import pytest

pytest.importorskip("diffpy.srfit")
pytest.importorskip("spglib")

from diffpy.sgpredict.refine import (  # noqa: E402
    fit_candidates,
    settings,
    starting_structures,
)
from diffpy.sgpredict.refine.known import (  # noqa: E402
    build_known_compounds,
    compound_key,
    find_known,
    known_starts,
    known_structure,
    load_known,
)
from diffpy.sgpredict.refine.starting import KNOWN_NOTE  # noqa: E402
from diffpy.sgpredict.refine.usercifs import (  # noqa: E402
    cif_composition,
    read_cif,
)

DATA = Path(__file__).parent / "data"
ZRP_CIF = DATA / "refine_alpha_ZrP.cif"


def test_a_known_compound_is_found_by_formula_hydrogen_set_aside():
    # alpha-Zr(HPO4)2.H2O by its X-ray formula (no H) and by its own;
    # the Materials Project relaxed it from two ICSD entries
    dry = known_starts(14, {"Zr": 1, "P": 2, "O": 9})
    assert [s.name for s in dry] == ["mp-540737", "mp-1199622"]
    wet = known_starts(14, {"Zr": 1, "H": 4, "P": 2, "O": 9})
    assert [s.name for s in wet] == [s.name for s in dry]
    cif = read_cif(ZRP_CIF)
    for start, with_h in zip(dry, wet):
        assert start.source == "known"
        assert start.licence.startswith("CC BY 4.0")
        assert "H atoms left out" in start.notes[0]
        comp = cif_composition(start.structure)
        assert set(comp) == {"Zr", "P", "O"}
        assert (comp["P"], comp["O"]) == (2 * comp["Zr"], 9 * comp["Zr"])
        assert settings.spglib_group(start.structure) == 14
        assert cif_composition(with_h.structure)["H"] == 4 * comp["Zr"]
        assert start.scale == 1.0
    # the PBE-relaxed cells are 7.7 and 10.8 % larger than the
    # published one (the CIF); the refinement scales them to the data
    ratios = [s.structure.lattice.volume / cif.lattice.volume for s in dry]
    assert ratios == pytest.approx([1.077, 1.108], abs=0.002)
    # by compound, not by group or stoichiometry alone
    assert find_known(15, {"Zr": 1, "P": 2, "O": 9}) == []
    assert find_known(14, {"Ne": 1, "P": 2, "O": 9}) == []
    assert find_known(14, None) == []
    assert compound_key({"H": 2}) is None


def test_every_stored_entry_expands_to_its_group_and_formula():
    entries = [e for v in load_known()["compounds"].values() for e in v]
    assert len(entries) == load_known()["counts"]["entries"] > 30000
    rng = numpy.random.default_rng(3)
    for i in rng.choice(len(entries), 60, replace=False):
        entry = entries[i]
        stru = known_structure(entry)
        assert len(stru) == sum(entry["multiplicity"]), entry["id"]
        assert settings.spglib_group(stru) == entry["number"], entry["id"]
        found = [e["id"] for e in find_known(entry["number"], _comp(stru))]
        assert entry["id"] in found


def _comp(stru):
    return {k: float(v) for k, v in cif_composition(stru).items()}


def _simulated(tmp_path, structure, qmax=18.0, noise=0.01, seed=4):
    from diffpy.sgpredict.pdfcalc import calculate_pdf

    r, g = calculate_pdf(
        structure, rmin=0.0, rmax=12.0, rstep=0.01, qmax=qmax, qdamp=0.03
    )
    rng = numpy.random.default_rng(seed)
    g = g + noise * numpy.abs(g).max() * rng.standard_normal(len(g))
    path = tmp_path / "zrp.gr"
    numpy.savetxt(path, numpy.column_stack([r, g]), header=f"qmax = {qmax}")
    return path


def test_the_known_route_starts_first_and_takes_the_enumerations_budget():
    data = (lambda r: (r, numpy.sin(r)))(numpy.arange(1.5, 10, 0.02))
    starts, notes = starting_structures(14, "ZrP2O9", data=data)
    assert [s.source for s in starts] == ["known", "known"]
    assert KNOWN_NOTE in notes
    starts, notes = starting_structures(
        14, "ZrP2O9", data=data, known=False, enumerate_budget=0
    )
    assert "known" not in {s.source for s in starts}
    assert KNOWN_NOTE not in notes


def test_alpha_zrp_is_refined_from_its_known_structure(tmp_path):
    # simulated from the published structure (the CIF, not the
    # Materials Project's relaxed one): 12 sites in P2_1/c, beyond the
    # Wyckoff enumeration's 8
    path = _simulated(tmp_path, read_cif(ZRP_CIF))
    rows = {}
    for known in (True, False):
        (row,) = fit_candidates(
            path, [14], tmp_path / str(known), composition="ZrP2O9",
            jobs=1, timeout=8.0, rmax=10.0, supergroups=False,
            known=known, enumerate_budget=2.0,
        )  # fmt: skip
        rows[known] = row
    assert rows[True]["route"] == "known"
    assert rows[True]["rw"] < 0.15, rows[True]["rw"]
    assert rows[False]["route"] != "known"
    # without it the 2 s enumeration reaches a partial fit (0.29)
    assert rows[False]["rw"] > 3 * rows[True]["rw"], rows[False]["rw"]


def test_the_builder_keeps_experimental_rows_once_per_compound(tmp_path):
    fcc = "0 0 0 0 0.5 0.5 0.5 0 0.5 0.5 0.5 0"
    nacl = fcc + " 0.5 0 0 0 0.5 0 0 0 0.5 0.5 0.5 0.5"

    def row(i, formula, sg, species, frac, a, exp=1, icsd=0):
        n = len(species.split())
        lat = f"{a} 0 0 0 {a} 0 0 0 {a}"
        return (
            f"mp-{i},{formula},{n},{sg},{sg},{exp},{icsd},{lat},"
            f"{species},{frac}\n"
        )

    rows = [
        row(10, "Ni", 225, "Ni Ni Ni Ni", fcc, 3.52),
        row(11, "Ni", 225, "Ni Ni Ni Ni", fcc, 3.53, icsd=1),
        row(12, "Cu", 225, "Cu Cu Cu Cu", fcc, 3.61, exp=0),
        row(13, "NaCl", 225, "Na Na Na Na Cl Cl Cl Cl", nacl, 5.64),
        row(15, "Fe", 229, "Fe Fe", "0 0 0 0.5 0.5 0.5", 2.87),
    ]
    table = tmp_path / "t.csv.gz"
    with gzip.open(table, "wt") as f:
        f.write(
            "id,formula,nsites,sg_number,sg_symprec0p1,experimental,"
            "icsd_linked,lattice,species,frac\n" + "".join(rows)
        )
    out = tmp_path / "known.json.gz"
    counts = build_known_compounds(table, out)
    assert counts == {"rows": 3, "too_large": 0, "skipped": 0, "entries": 3}
    # two relaxations of Ni, the ICSD-linked one first
    ni, other = find_known(225, {"Ni": 1}, path=out)
    assert ni["id"] == "mp-11" and ni["lattice"][0] == pytest.approx(3.53)
    assert other["id"] == "mp-10"
    (nacl_entry,) = find_known(225, {"Na": 1, "Cl": 1}, path=out)
    assert nacl_entry["multiplicity"] == [4, 4]
    assert len(known_structure(nacl_entry)) == 8
    assert find_known(225, {"Cu": 1}, path=out) == []


def test_the_full_fit_goes_on_from_the_best_screened_start(tmp_path):
    from diffpy.sgpredict.refine.candidate_fit import _continued, _refine_best
    from diffpy.sgpredict.refine.fitdata import prepare_data
    from diffpy.sgpredict.refine.peaks import scale_to_data
    from diffpy.sgpredict.refine.work import WorkMeter

    path = _simulated(tmp_path, read_cif(ZRP_CIF))
    data = prepare_data(path, 1.5, 10.0, 0.02, None)
    # alpha-ZrP's two relaxations, screened with short fits, then the
    # better one fitted on with what the screening left
    starts = known_starts(14, {"Zr": 1, "P": 2, "O": 9})
    for start in starts:
        start.scale = scale_to_data(start.structure, data)
    task = {"timeout": 6.0, "max_nfev": 60, "calculator": "builtin",
            "adp": "iso"}  # fmt: skip
    start, res, tried = _refine_best(task, data, starts, WorkMeter())
    assert [t["start"] for t in tried] == ["mp-540737", "mp-1199622"]
    assert tried[1]["rw"] < 0.1 < 0.15 < tried[0]["rw"]
    assert res["rw"] < tried[1]["rw"]
    # the start written out stays the known structure, not the result
    assert start.name == "mp-1199622" and start.structure is not None
    # what the full fit starts from: the short fit's refined structure,
    # scale and profile, under the start's route and name
    cont = _continued(start, res)
    assert (cont.source, cont.name) == ("known", "mp-1199622")
    assert cont.structure is res["structure"]
    assert cont.profile["scale"] == pytest.approx(res["variables"]["scale"])
    assert cont.profile["delta2"] == pytest.approx(res["variables"]["delta2"])
