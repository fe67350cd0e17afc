"""Structures in: CIF folders, prototypes, generated crystals."""

import os
import shutil
from pathlib import Path

import numpy
import pytest

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.structures import Crystal, spglib_group
from diffpy.sgpredict.structures.cifs import (
    SkipStructure,
    read_cif,
    read_cif_folder,
)

CIFS = Path(__file__).parent / "data" / "cifs"
EXPECTED = {
    "rs0013.cif": ("Bi2Te3", 166, 15),
    "rs0014.cif": ("Cu3Au", 221, 4),
    "rs0034.cif": ("GdSb", 225, 8),
    "rs0036.cif": ("SiC", 186, 12),
    "rs0044.cif": ("SnS", 62, 8),
}

GOOD_CIF = """data_test
_cell_length_a {a}
_cell_length_b {a}
_cell_length_c {a}
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
{atoms}
"""


def _cif(path, atoms, a=4.0):
    lines = "\n".join(
        f"{el}{i} {el} {x} {y} {z} {o}"
        for i, (el, x, y, z, o) in enumerate(atoms)
    )
    Path(path).write_text(GOOD_CIF.format(a=a, atoms=lines))


def test_spglib_wrappers_agree_and_report_failure(caplog):
    from diffpy.sgpredict.structures import NO_GROUP, symmetry_dataset

    lattice, frac = numpy.eye(3) * 4.0, [[0, 0, 0], [0.5, 0.5, 0.5]]
    ds = symmetry_dataset(lattice, frac, ["Cs", "Cl"])
    assert int(ds.number) == 221 == spglib_group(lattice, frac, ["Cs", "Cl"])
    assert spglib_group(lattice, frac, [55, 17]) == 221  # atomic numbers
    assert Crystal(lattice, frac, ["Cs", "Cl"]).label() == 221
    # a flat cell: spglib fails; the reason is logged, not lost
    flat = numpy.diag([4.0, 4.0, 0.0])
    with caplog.at_level("DEBUG", logger="diffpy.sgpredict.structures"):
        assert symmetry_dataset(flat, frac, ["Cs", "Cl"]) is None
        assert spglib_group(flat, frac, ["Cs", "Cl"]) == NO_GROUP == 0
    assert "spglib failed" in caplog.text


def test_read_structure_is_the_one_reader(tmp_path):
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.pdfcalc import load_structure
    from diffpy.sgpredict.structures.cifs import read_structure

    stru = read_structure(CIFS / "rs0014.cif")
    assert len(stru) == 4 and len(load_structure(CIFS / "rs0014.cif")) == 4
    ions = tmp_path / "ions.cif"
    _cif(ions, [("Na1+", 0, 0, 0, 1), ("Cl1-", 0.5, 0.5, 0.5, 1)])
    assert [a.element for a in read_structure(ions)] == ["Na1+", "Cl1-"]
    assert [a.element for a in read_structure(ions, neutral=True)] == [
        "Na",
        "Cl",
    ]
    garbage = tmp_path / "garbage.cif"
    garbage.write_text("this is not a CIF\n{{{\n")
    with pytest.raises(InputError, match="garbage.cif: cannot read") as info:
        read_structure(garbage)
    assert info.value.__cause__ is not None  # the parser's error is kept
    with pytest.raises(SkipStructure, match="^unparseable: "):
        read_cif(garbage)
    with pytest.raises(InputError, match="no such file"):
        read_structure(tmp_path / "missing.cif")


def test_matcher_without_pymatgen_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(
        sys.modules, "pymatgen.analysis.structure_matcher", None
    )
    with pytest.raises(ImportError, match=r"diffpy.sgpredict\[generate\]"):
        read_cif_folder(CIFS, matcher=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_cif_labels_like_the_shared_table(name):
    c = read_cif(CIFS / name)
    formula, sg, natoms = EXPECTED[name]
    assert c.meta["formula"] == formula
    assert c.meta["sg_number"] == sg
    assert c.natoms == natoms


def test_broken_folder_gives_report_and_good_entries(tmp_path):
    folder = tmp_path / "cifs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(CIFS / "rs0014.cif", folder / "good.cif")
    shutil.copy(CIFS / "rs0014.cif", folder / "sub" / "again.cif")  # dup
    shutil.copy(CIFS / "rs0044.cif", folder / "sub" / "sns.cif")
    (folder / "garbage.cif").write_text("this is not a CIF\n{{{\n")
    _cif(  # the same atom twice (diffpy.structure issue 86)
        folder / "duplicated.cif",
        [("Na", 0, 0, 0, 1), ("Na", 0, 0, 0, 1), ("Cl", 0.5, 0.5, 0.5, 1)],
    )
    _cif(
        folder / "partial.cif",
        [("Na", 0, 0, 0, 0.5), ("K", 0, 0, 0, 0.5), ("Cl", 0.5, 0.5, 0.5, 1)],
    )
    _cif(
        folder / "unknown.cif", [("Xx", 0, 0, 0, 1), ("Cl", 0.5, 0.5, 0.5, 1)]
    )
    entries, skipped = read_cif_folder(folder)
    assert sorted(c.meta["path"] for c in entries) == [
        "good.cif",
        "sub/sns.cif",
    ]
    reasons = dict(skipped)
    assert reasons["garbage.cif"].startswith("unparseable")
    assert reasons["duplicated.cif"].startswith("atoms too close")
    assert reasons["partial.cif"].startswith("partial occupancy")
    assert reasons["unknown.cif"].startswith("unknown element")
    assert reasons["sub/again.cif"] == "duplicate of good.cif"
    # majority policy keeps the disordered one with its majority species
    entries, skipped = read_cif_folder(folder, occupancy="majority")
    part = [c for c in entries if c.meta["path"] == "partial.cif"]
    assert len(part) == 1 and part[0].natoms == 2
    assert part[0].meta["sg_number"] == 221
    # keep policy keeps both partial atoms, labelled by the majority cell
    entries, skipped = read_cif_folder(folder, occupancy="keep")
    part = [c for c in entries if c.meta["path"] == "partial.cif"][0]
    assert part.natoms == 3 and sorted(part.occupancy) == [0.5, 0.5, 1.0]


def test_too_many_atoms_and_group_filter(tmp_path):
    with pytest.raises(SkipStructure, match="too many atoms"):
        read_cif(CIFS / "rs0013.cif", max_atoms=10)
    entries, skipped = read_cif_folder(CIFS, groups=[225])
    assert [c.meta["formula"] for c in entries] == ["GdSb"]


def test_crystal_to_diffpy_roundtrip():
    c = Crystal(numpy.eye(3) * 4.1, [[0, 0, 0], [0.5, 0.5, 0.5]], ["Cs", "Cl"])
    s = c.to_diffpy(uiso=0.006)
    assert [float(a.Uisoequiv) for a in s] == [0.006, 0.006]
    back = Crystal.from_diffpy(s)
    assert back.species == ["Cs", "Cl"]
    assert back.label() == 221
    numpy.testing.assert_allclose(back.frac, c.frac)
    numpy.testing.assert_allclose(back.lattice, c.lattice)


def test_generator_library_is_the_structure_type_library():
    from diffpy.sgpredict.structures import library, prototypes

    lib = prototypes.load_library()
    assert len(lib) > 200
    assert os.path.getsize(library.LIBRARY_PATH) < 3e6
    sources = {rec["source"] for rec in lib.values()}
    # evaluation structures of the shared set never seed training data
    assert sources == {"aflow", "ase", "published", "pyxtal"}
    for key, rec in lib.items():
        assert rec is library.get_type(key)
        assert "generate" in rec["uses"]
        assert rec["licence"] and rec["citation"]
        assert rec["number"] in spacegroups.NUMBERS
    # the keys the old generator library used are still there
    for key in ("aflow:AB_cF8_225_a_b", "ase:fcc", "pyxtal:NbO2"):
        assert key in lib


def test_symmetric_perturbation_keeps_the_stored_group():
    from diffpy.sgpredict.structures.prototypes import (
        load_library,
        prototype_crystal,
        symmetric_perturbation,
    )

    lib = load_library()
    rng = numpy.random.default_rng(0)
    keys = sorted(lib)[::10]
    for key in keys:
        c = prototype_crystal(lib[key], key)
        p = symmetric_perturbation(c, rng, d_coord=0.05, d_lat=0.03)
        # the library's group, not merely the one the start happens to have
        assert p.label() == c.label() == lib[key]["number"], key
        assert not numpy.allclose(p.frac, c.frac) or not numpy.allclose(
            p.lattice, c.lattice
        ), key  # it did perturb


@pytest.mark.parametrize("route", ["statistics", "prototype"])
def test_generated_crystals_carry_their_spglib_group(route):
    from diffpy.sgpredict.structures.generate import (
        generate_item,
        generation_items,
    )

    items = generation_items(2, groups=[14, 62, 166, 225], route=route, seed=3)
    assert len(items) == 8
    made = 0
    for it in items:
        try:
            c = generate_item(it)
        except SkipStructure:
            continue
        made += 1
        assert c.meta["sg_number"] == spglib_group(
            c.lattice, c.frac, c.species, 0.01
        )
        assert c.meta["sg_number"] in spacegroups.NUMBERS
        assert c.meta["declared_sg"] == it["sg"]
        assert c.meta["prototype"]
    assert made >= 6


def test_statistics_route_leaves_the_process_as_it_was():
    import pyxtal.operations as ops

    from diffpy.sgpredict.structures.generate import statistics_crystal

    numpy.random.seed(123)
    before = numpy.random.get_state()
    tol = ops.Tol_matrix
    a = statistics_crystal(225, seed=5)
    after = numpy.random.get_state()
    assert ops.Tol_matrix is tol  # pyxtal's tolerance tables put back
    assert before[0] == after[0]
    numpy.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    numpy.random.seed(999)  # another global state gives the same crystal
    b = statistics_crystal(225, seed=5)
    assert a.species == b.species
    numpy.testing.assert_allclose(a.frac, b.frac)


def test_generation_is_reproducible():
    from diffpy.sgpredict.structures.generate import (
        generate_item,
        generation_items,
    )

    items = generation_items(1, groups=[139], route="both", seed=11)
    for it in items:
        a, b = generate_item(it), generate_item(it)
        assert a.species == b.species
        numpy.testing.assert_allclose(a.frac, b.frac)
        numpy.testing.assert_allclose(a.lattice, b.lattice)


def test_statistics_formulas_are_real():
    from diffpy.sgpredict.structures.generate import (
        formulas_for_group,
        wyckoff_combinations,
    )

    for sg in (2, 225, 230):
        assert len(formulas_for_group(sg)) >= 3
        assert len(wyckoff_combinations(sg)) > 0


def test_refinement_order_leaves_the_shared_site_statistics_alone():
    """The enumeration orders site combinations its own way; the cached
    statistics that the generator draws from by index keep theirs (most
    frequent first), so generated crystals do not depend on whether a
    refinement ran before in the process."""
    from diffpy.sgpredict.refine.wyckoff import _seen_combinations
    from diffpy.sgpredict.structures.stats import wyckoff_combinations

    before = list(wyckoff_combinations(87))
    order = _seen_combinations(87)
    assert order != [sites for sites, _ in before]  # its own order
    assert list(wyckoff_combinations(87)) == before
    weights = [w for _, w in before]
    assert weights == sorted(weights, reverse=True)


def test_excluded_pairs_are_never_generated():
    from diffpy.sgpredict.structures.generate import (
        generate_item,
        generation_items,
    )

    items = generation_items(3, groups=[225, 166], route="both", seed=8)
    made = {}
    for it in items:
        try:
            made[it["id"]] = generate_item(it)
        except SkipStructure:
            pass
    pairs = {(c.meta["formula"], c.meta["sg_number"]) for c in made.values()}
    hit = set(list(pairs)[:3])
    for it in items:
        try:
            c = generate_item(it, exclude=hit)
        except SkipStructure:
            continue
        key = (c.meta["formula"], c.meta["sg_number"])
        assert key not in hit
        if (
            it["id"] in made
            and (
                made[it["id"]].meta["formula"],
                made[it["id"]].meta["sg_number"],
            )
            not in hit
        ):  # items that never hit an excluded pair are unchanged
            numpy.testing.assert_allclose(c.frac, made[it["id"]].frac)


def test_apparent_group_merges_elements_without_contrast():
    from diffpy.sgpredict.structures import apparent_group, contrast_classes

    assert contrast_classes(["Fe", "Ni", "Co", "O"]) == {
        "O": "O",
        "Fe": "Fe",
        "Co": "Fe",
        "Ni": "Fe",
    }
    # CuAu (L1_0, P4/mmm) is ordered for X-rays; CuZn in the same
    # positions is not, and looks like its fcc parent
    a = numpy.diag([2.8, 2.8, 3.7])
    frac = [[0, 0, 0], [0.5, 0.5, 0.5]]
    assert apparent_group(a, frac, ["Cu", "Au"]) == 123
    assert apparent_group(a, frac, ["Cu", "Zn"]) == 139  # body-centred
    assert (
        apparent_group(
            numpy.diag([2.6, 2.6, 2.6 * 2**0.5]), frac, ["Cu", "Zn"]
        )
        == 225
    )


def test_variants_keep_the_contrast_their_group_needs():
    from diffpy.sgpredict.structures import apparent_group
    from diffpy.sgpredict.structures.prototypes import make_variant

    def hidden(contrast):
        rng = numpy.random.default_rng(1)
        n = 0
        for _ in range(60):
            c = make_variant("aflow:AB_tP2_123_a_d", rng, contrast=contrast)
            n += apparent_group(c.lattice, c.frac, c.species) != c.label()
        return n

    assert hidden(0) > 0  # without the check some orderings are invisible
    assert hidden(0.12) == 0
