"""The structure-type library: one file, one loader, two uses."""

from collections import Counter

import numpy
import pytest

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import stoichiometry
from diffpy.sgpredict.structures import spglib_group, symmetry_dataset
from diffpy.sgpredict.structures.library import (
    USES,
    expand,
    find_types,
    generator_types,
    get_type,
    library_info,
    load_types,
)

TYPES = load_types()

#: The commonest types the library must hold: id -> (group, a formula
#: of the type that must find it first in its group).
COMMON = {
    "AB2C2_tI10_139_a_d_e": (139, "SrFe2As2"),  # ThCr2Si2
    "AB2C4_tI14_139_a_e_ce": (139, "K2NiF4"),
    "A2B_tP6_129_ac_c": (129, "Cu2Sb"),
    "ABC_tP6_129_c_a_c": (129, "PbFCl"),
    "AB2_cF12_225_a_c": (225, "CaF2"),
    "AB_cF8_225_a_b": (225, "NaCl"),
    "A_cF4_225_a": (225, "Ni"),
    "A2BC4_cF56_227_d_a_e": (227, "MgAl2O4"),  # spinel
    "A2B2C7_cF88_227_c_d_bf": (227, "Gd2Ti2O7"),  # pyrochlore
    "A_cF8_227_a": (227, "Si"),
    "A3B5C12_cI160_230_c_ad_h": (230, "Y3Al5O12"),  # garnet
    "AB3C_cP5_221_a_c_b": (221, "SrTiO3"),  # cubic perovskite
    "AB3C_oP20_62_c_cd_a": (62, "CaTiO3"),  # a+b-b- tilt
    "A3BC_tI20_140_ah_b_c": (140, "SrTiO3"),  # a0a0c- tilt
    "ABC3_hR10_167_b_a_e": (167, "LaAlO3"),  # a-a-a- tilt
    "A2BC6D_cF40_225_c_a_e_b": (225, "Ba2MgWO6"),  # double perovskite
    "A2B4C_oP28_62_ac_2cd_c": (62, "Mg2SiO4"),  # olivine
    "AB4C_tI24_88_b_f_a": (88, "CaWO4"),  # scheelite
    "A2B_tP6_136_f_a": (136, "TiO2"),  # rutile
    "A2B3_hR10_167_c_e": (167, "Al2O3"),  # corundum
    "AB_hP4_186_b_b": (186, "ZnO"),  # wurtzite
    "AB_hP4_194_c_a": (194, "NiAs"),
}


def _frac_set(frac):
    return numpy.round(numpy.asarray(frac, float) % 1.0, 4) % 1.0


def _same_sites(a, b, tol=1e-3):
    """Every row of ``a`` has a row of ``b`` within ``tol`` (mod 1)."""
    d = a[:, None, :] - b[None, :, :]
    d -= numpy.round(d)
    return bool(numpy.all(numpy.abs(d).max(axis=-1).min(axis=1) < tol))


def test_header_names_sources_with_licence_and_citation():
    info = library_info()
    assert info["groups_without_entry"] == []
    for name, src in info["sources"].items():
        assert src["licence"] and src["citation"] and src["path"], name
    counts = Counter(e["source"] for e in TYPES)
    assert counts == info["counts"]
    assert counts["aflow"] > 190 and counts["published"] >= 9


@pytest.mark.parametrize("entry", TYPES, ids=[e["key"] for e in TYPES])
def test_every_entry_expands_to_its_group(entry):
    assert entry["source"] in library_info()["sources"]
    assert entry["licence"] and entry["citation"]
    assert set(entry["uses"]) <= set(USES) and entry["uses"]
    assert len(entry["sites"]) == len(entry["wyckoff"])
    c = expand(entry)
    assert c.natoms == entry["natoms"]
    assert dict(Counter(c.species)) == entry["composition"]
    # spglib gives the stored group at the package's tolerance and at 1e-3
    for tol in (0.01, 1e-3):
        assert spglib_group(c.lattice, c.frac, c.species, tol) == (
            entry["number"]
        )
    # each stored Wyckoff position: its multiplicity is the orbit size
    ds = symmetry_dataset(
        c.lattice, c.frac, c.species, 1e-3, hall_number=entry["hall"]
    )
    found = sorted(
        f"{int(numpy.sum(ds.equivalent_atoms == i))}{ds.wyckoffs[i]}"
        for i in set(ds.equivalent_atoms.tolist())
    )
    assert found == sorted(entry["wyckoff"])
    p = expand(entry, primitive=True)
    assert entry["natoms"] % p.natoms == 0
    assert p.label() == entry["number"]


def test_expansion_is_diffpys_setting():
    """The stored Hall setting is the one diffpy.srfit constrains."""
    settings = pytest.importorskip("diffpy.sgpredict.refine.settings")
    for entry in TYPES[::3]:
        ours = expand(entry)
        theirs = settings.expand(
            entry["lattice"], entry["sites"], entry["number"]
        )
        assert len(theirs) == ours.natoms, entry["key"]
        numpy.testing.assert_allclose(
            numpy.array(theirs.lattice.base), ours.lattice, atol=1e-9
        )
        assert _same_sites(_frac_set(theirs.xyz), _frac_set(ours.frac)), entry[
            "key"
        ]


def test_keys_unique_and_preferred_order():
    keys = [e["key"] for e in TYPES]
    assert len(set(keys)) == len(keys)
    numbers = [e["number"] for e in TYPES]
    assert numbers == sorted(numbers)
    for number in spacegroups.NUMBERS:
        flags = [e["preferred"] for e in TYPES if e["number"] == number]
        assert flags == sorted(flags, reverse=True), number
    assert get_type("aflow:AB_cF8_225_a_b")["name"].startswith("Halite")
    with pytest.raises(KeyError):
        get_type("aflow:no-such-type")


@pytest.mark.parametrize("ident", sorted(COMMON))
def test_commonest_types_are_present_and_found_first(ident):
    number, formula = COMMON[ident]
    entries = [e for e in TYPES if e["id"] == ident]
    assert entries, ident
    entry = entries[0]
    assert entry["number"] == number
    assert entry["preferred"]
    assert set(entry["uses"]) == {"generate", "refine"}
    found = find_types(number, formula)
    assert found and found[0]["id"] == ident
    if entry["source"] == "published":
        assert "(19" in entry["citation"] or "(20" in entry["citation"]


def test_generator_use():
    gen = generator_types()
    assert set(gen) == {
        e["key"]
        for e in TYPES
        if "generate" in e["uses"] and e["number"] in spacegroups.NUMBERS
    }
    assert all(e["source"] != "shared" for e in gen.values())
    only = generator_types([139, 225])
    assert {e["number"] for e in only.values()} == {139, 225}
    assert list(only) == [k for k in gen if k in only]  # preferred order


def test_refine_use_and_stoichiometry_search():
    refine = [e for e in TYPES if "refine" in e["uses"]]
    assert {e["number"] for e in refine} == set(spacegroups.NUMBERS)
    # a type held twice is tried once by the refinement
    twins = [e for e in TYPES if "same_as" in e]
    assert twins and all("refine" not in e["uses"] for e in twins)
    for e in twins:
        assert get_type(e["same_as"])["number"] == e["number"]
    everything = find_types(225)
    assert everything == [e for e in refine if e["number"] == 225]
    ab = find_types(225, {"Mg": 1.0, "O": 1.0})
    assert ab and all(stoichiometry(e["composition"]) == (1, 1) for e in ab)
    # fractional amounts are scaled to integers: 1:1:2:6 is the ordered
    # double perovskite's stoichiometry
    mixed = find_types(225, "Ba0.5Sr0.5TiO3")
    assert [e["id"] for e in mixed] == ["A2BC6D_cF40_225_c_a_e_b"]
    assert find_types(225, "Xe7Kr13") == []
    with pytest.raises(ValueError, match="use must be one of"):
        find_types(225, use="train")


def test_stoichiometry():
    assert stoichiometry("SrFe2As2") == (1, 2, 2)
    assert stoichiometry({"Ni": 4}) == (1,)
    assert stoichiometry({"Ti": 1.0, "O": 1.999}) == (1, 2)
    assert stoichiometry({"Ti": 1.0, "O": 1.37}) is None


@pytest.mark.parametrize(
    "number, comp, ident, sites",
    [
        (225, {"Ni": 1}, "A_cF4_225_a", {"Ni": ["4a"]}),
        (227, {"Si": 1}, "A_cF8_227_a", {"Si": ["8b"]}),  # 8a, origin 1
        (225, {"Na": 1, "Cl": 1}, "AB_cF8_225_a_b", None),
        (136, {"Ti": 1, "O": 2}, "A2B_tP6_136_f_a", {"Ti": ["2a"]}),
        (
            139,
            {"Sr": 1, "Fe": 2, "As": 2},
            "AB2C2_tI10_139_a_d_e",
            {"Sr": ["2a"], "Fe": ["4d"], "As": ["4e"]},
        ),
    ],
)
def test_refine_finds_its_starting_structures(number, comp, ident, sites):
    lookup = pytest.importorskip("diffpy.sgpredict.refine.library_lookup")
    starts = lookup.prototype_starts(number, comp, limit=1)
    assert [s.name for s in starts] == [ident]
    stru = starts[0].structure
    assert sorted({a.element for a in stru}) == sorted(comp)
    # the substituted structure is still in its group
    lat = numpy.array(stru.lattice.base)
    xyz = numpy.array(stru.xyz)
    elements = [a.element for a in stru]
    assert spglib_group(lat, xyz, elements, 1e-3) == number
    if sites:
        entry = find_types(number, comp)[0]
        ds = symmetry_dataset(lat, xyz, elements, 1e-3, entry["hall"])
        got = {}
        for i in sorted(set(ds.equivalent_atoms.tolist())):
            mult = int(numpy.sum(ds.equivalent_atoms == i))
            got.setdefault(elements[i], []).append(f"{mult}{ds.wyckoffs[i]}")
        assert {k: sorted(got[k]) for k in sites} == sites


def test_seed_pairs_remember_entries_left_out_of_the_library():
    from diffpy.sgpredict.structures.prototypes import seed_pairs

    # CoAs (AFLOW AB_oP8_33_a_a) is group 33 at 1e-3 A and 62 at 0.01 A,
    # so it is left out of the library; a model seeded with it before
    # must still have CoAs excluded from its evaluation sets
    assert seed_pairs(["aflow:AB_oP8_33_a_a"]) == {("CoAs", 33), ("CoAs", 62)}
    assert seed_pairs(["stat:CoAs"]) == set()
