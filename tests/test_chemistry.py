"""Tests of diffpy.sgpredict.chemistry on real formulas and groups."""

import itertools
import re

import numpy
import pytest
from diffpy.structure.spacegroups import GetSpaceGroup
from diffpy.structure.symmetryutilities import ExpandAsymmetricUnit

from diffpy.sgpredict.chemistry import (
    atomic_number,
    element_symbol,
    formula_group_key,
    formula_key,
    parse_composition,
    reduced_formula,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine.wyckoff_model import (
    cell_base,
    pair_distances,
    site_models,
)
from diffpy.sgpredict.wyckoff import (
    composition_allowed,
    equivalent_sites,
    wyckoff_assignments,
    wyckoff_positions,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SrFe2As2", {"Sr": 1, "Fe": 2, "As": 2}),
        ("Ti O2", {"Ti": 1, "O": 2}),
        ("TiO2", {"Ti": 1, "O": 2}),
        ("(Ba0.5Sr0.5)TiO3", {"Ba": 0.5, "Sr": 0.5, "Ti": 1, "O": 3}),
        ("Fe3O4", {"Fe": 3, "O": 4}),
        ("Ca3[PO4]2", {"Ca": 3, "P": 2, "O": 8}),
        ("CuSO4·5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("CH3COOH", {"C": 2, "H": 4, "O": 2}),
    ],
)
def test_parse_composition(text, expected):
    assert parse_composition(text) == pytest.approx(expected)


def test_parse_composition_deuterium():
    assert parse_composition("D2O") == {"H": 2.0, "O": 1.0}
    assert parse_composition("D2O", isotopes=True) == {"D": 2.0, "O": 1.0}


@pytest.mark.parametrize(
    "text, words",
    [
        ("Xx2O", "unknown element 'Xx'"),
        ("", "empty composition"),
        ("  ", "empty composition"),
        ("Ti(O2", "unbalanced '('"),
        ("TiO2)", "unbalanced ')'"),
        ("tio2", "unexpected 't'"),
    ],
)
def test_parse_composition_errors(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_composition(text)


@pytest.mark.parametrize(
    "label, plain, iso",
    [
        ("O2-", "O", "O"),
        ("Ti4+", "Ti", "Ti"),
        ("FE3+", "Fe", "Fe"),
        ("Fe1", "Fe", "Fe"),
        ("CO", "Co", "Co"),
        ("13C", "C", "C"),
        ("D", "H", "D"),
        ("2H", "H", "D"),
        ("T", "H", "T"),
        ("OH-", "O", "O"),
        ("NH4+", "N", "N"),
    ],
)
def test_element_symbol(label, plain, iso):
    assert element_symbol(label) == plain
    assert element_symbol(label, isotopes=True) == iso


def test_element_symbol_unknown():
    with pytest.raises(InputError, match="'Xx' is not an element"):
        element_symbol("Xx")
    assert element_symbol("Xx", strict=False) is None
    assert element_symbol("", strict=False) is None
    assert atomic_number("Ni") == 28 and atomic_number("D") == 1


def test_reduced_formula_and_key():
    assert reduced_formula(["O", "Ti", "O", "O", "Ti", "O"]) == "TiO2"
    assert reduced_formula({"Na": 4, "Cl": 4}) == "NaCl"
    assert reduced_formula(["Ti4+", "O2-", "O2-"]) == "TiO2"
    assert formula_group_key(["Ni"] * 4, "225") == ("Ni", 225)
    # the matching key does not depend on the formula convention: the
    # shared tables write pymatgen's "Sr(FeAs)2", a CIF "SrFe2As2", a
    # cell "Sr2Fe4As4"; all three are one key
    key = formula_group_key("SrFe2As2", 139)
    assert key == ("As2Fe2Sr", 139)
    assert formula_group_key("Sr(FeAs)2", 139) == key
    assert formula_group_key(["Sr"] * 2 + ["Fe"] * 4 + ["As"] * 4, 139) == key
    assert formula_key("Sr(FeAs)2") == formula_key(reduced_formula(key[0]))
    # not a formula: matches only itself
    assert formula_key("CdSe nanoparticle") == "CdSe nanoparticle"


def test_wyckoff_table_in_diffpy_setting():
    # Fd-3m: diffpy.structure uses origin choice 1, 8a at 0,0,0
    rows = {w: (m, d, mat) for m, w, d, mat in wyckoff_positions(227)}
    assert rows["a"][0] == 8 and rows["a"][1] == 0
    xyz = [r[3] for r in rows["a"][2]]
    orbit = ExpandAsymmetricUnit(GetSpaceGroup(227), [xyz]).expandedpos[0]
    assert min(numpy.abs(numpy.asarray(orbit)).sum(axis=1)) < 1e-9
    assert [m for m, *_ in wyckoff_positions(225)][-3:] == [8, 4, 4]
    mults = sorted(m for m, _, d, _ in wyckoff_positions(139) if d == 0)
    assert mults == [2, 2, 4, 4, 8]
    with pytest.raises(InputError, match="not one of 1 to 230"):
        wyckoff_positions(231)


@pytest.mark.parametrize(
    "formula, group, zmax, allowed",
    [
        ("SrFe2As2", 139, 8, True),  # ThCr2Si2 type: 2a + 4d + 4e
        ("NaCl", 225, 8, True),  # 4a + 4b
        ("TiO2", 225, 8, True),  # CaF2 type: 4a + 8c
        ("TiO2", 136, 8, True),  # rutile: 2a + 4f
        ("(Ba0.5Sr0.5)TiO3", 221, 8, True),  # perovskite, mixed A site
        ("Si", 227, 8, True),  # diamond 8a
        ("Si", 227, 4, False),  # smallest multiplicity of Fd-3m is 8
        ("NaCl", 225, 2, False),  # smallest multiplicity of Fm-3m is 4
        ("Ni", 230, 8, False),  # smallest multiplicity of Ia-3d is 16
        # Z=4: As needs 8 twice but Fm-3m has one 8c; Z=8: 16 is no sum
        ("SrFe2As2", 225, 8, False),
    ],
)
def test_composition_allowed(formula, group, zmax, allowed):
    assert composition_allowed(formula, group, zmax=zmax) is allowed


def test_wyckoff_assignments_thcr2si2():
    found = [
        sorted((el, p[0], p[1]) for el, p in sites)
        for z, sites in wyckoff_assignments("SrFe2As2", 139, zmax=2)
    ]
    assert [("As", 4, "e"), ("Fe", 4, "d"), ("Sr", 2, "a")] in found
    # every assignment holds Z = 2 formula units: 10 atoms
    for sites in found:
        assert sum(m for _, m, _ in sites) == 10


def _distances(number, sites, params, cell):
    """Pair distances (A) up to 4.5 A (below every cell length: one
    lattice shift finds them all) of the sites (element, letter) with
    free parameters ``params``: those of all atoms, then those of the
    first site's atoms."""
    orbits = [
        model.orbit(numpy.asarray(p, float))
        for model, p in zip(site_models(number, sites), params)
    ]
    base = cell_base(cell)
    every = pair_distances(base, numpy.vstack(orbits), 4.5)
    return numpy.concatenate([every, pair_distances(base, orbits[0], 4.5)])


def test_equivalent_sites_describe_one_structure():
    """Mn 4a + F 8c and Mn 4b + F 8c of Pbca differ by the origin shift
    (1/2, 0, 0): the same distances once F moves with it; Mn 4a + F 8c
    and Mn 8c + F 8c + F 8c are not equivalent."""
    cell = (4.9, 5.3, 5.8, 90.0, 90.0, 90.0)
    xyz = [0.17, 0.31, 0.42]
    a = _distances(61, [("Mn", "a"), ("F", "c")], [[], xyz], cell)
    shifted = [xyz[0] + 0.5, xyz[1], xyz[2]]
    b = _distances(61, [("Mn", "b"), ("F", "c")], [[], shifted], cell)
    assert len(a) == len(b) > 50
    assert numpy.allclose(a, b)
    # the same free parameters without the shift give another structure
    c = _distances(61, [("Mn", "b"), ("F", "c")], [[], xyz], cell)
    assert not (len(a) == len(c) and numpy.allclose(a, c))
    assert equivalent_sites(61, [("Mn", "b"), ("F", "c")]) == (
        equivalent_sites(61, [("F", "c"), ("Mn", "a")])
    )
    assert equivalent_sites(61, [("Mn", "a"), ("F", "c")]) != (
        equivalent_sites(61, [("Mn", "c"), ("F", "c")])
    )
    # P-3m1: 1a and 1b are exchanged, 2c and 2d are not
    assert equivalent_sites(164, [("Mn", "b"), ("Li", "d")]) == (
        ("Li", "d"),
        ("Mn", "a"),
    )
    assert equivalent_sites(164, [("Mn", "a"), ("Li", "c")]) != (
        equivalent_sites(164, [("Mn", "a"), ("Li", "d")])
    )


def test_equivalent_sites_need_the_whole_period_of_a_coordinate():
    """2H-BaNiO3 (P6_3/mmc: Ni 2a, Ba 2d, O 6h x = 0.148) is, in the
    representative with Ba on 2c, the structure with x = 0.852, not
    0.148: one free coordinate of a representative must be searched
    over its whole period (a grid over 0-0.5 lost 2H-BaNiO3)."""
    from diffpy.sgpredict.refine.wyckoff import _coordinate_grid
    from diffpy.sgpredict.refine.wyckoff_model import AssignmentModel

    cell = (5.58, 5.58, 4.83, 90.0, 90.0, 120.0)
    x = 0.148
    true = _distances(
        194, [("O", "h"), ("Ni", "a"), ("Ba", "d")], [[x], [], []], cell
    )

    def as_2c(v):
        return _distances(
            194, [("O", "h"), ("Ni", "a"), ("Ba", "c")], [[v], [], []], cell
        )

    other = as_2c(1 - x)
    assert len(other) == len(true) and numpy.allclose(true, other)
    other = as_2c(x)
    assert not (len(other) == len(true) and numpy.allclose(true, other))
    sites = equivalent_sites(194, [("Ni", "a"), ("Ba", "d"), ("O", "h")])
    assert ("Ba", "c") in sites
    model = AssignmentModel(
        194, site_models(194, sites), {"Ba": 56.0, "Ni": 28.0, "O": 8.0}
    )
    grid = numpy.concatenate(_coordinate_grid(model, None, 2))
    assert numpy.abs(grid - (1 - x)).min() <= 0.025


def test_assignments_come_once_per_structure():
    """MnF2 in Pbca: Mn 4b + F 8c is Mn 4a + F 8c and is not listed
    again; SrFe2As2 in I4/mmm has Sr on 2a (2b is the same)."""
    found = [
        " ".join(f"{el}{p[0]}{p[1]}" for el, p in sites)
        for _, sites in wyckoff_assignments("MnF2", 61, zmax=8)
    ]
    assert "Mn4a F8c" in found
    assert "Mn4b F8c" not in found
    sites = [
        dict((el, p[1]) for el, p in sites)
        for _, sites in wyckoff_assignments("SrFe2As2", 139, zmax=2)
    ]
    assert all(s["Sr"] != "b" for s in sites)


def test_letter_maps_are_checked_on_the_positions():
    """The builder accepts pyxtal's letter map of a normalizer operation
    only where it takes every position's generic point onto the orbit
    it names."""
    pytest.importorskip("pymatgen")
    from pymatgen.core.operations import SymmOp

    from diffpy.sgpredict.refine import _build_wyckoff

    sg = GetSpaceGroup(164)
    rows = wyckoff_positions(164)
    by_letter = {r[1]: numpy.asarray(r[3], float) for r in rows}
    ops = [(numpy.asarray(o.R, float), o.t) for o in sg.iter_symops()]
    shift = numpy.zeros(3)
    letters = "abcdefghij"
    op = SymmOp.from_xyz_str("x,y,z+1/2")
    got = _build_wyckoff._checked(
        ops, by_letter, letters, "bacdfehgij", op, shift
    )
    assert got == "bacdfehgij"
    # operations that change the cell do not count: the axis
    # permutation of Pmmm, not the two-fold rotation of P-3m1
    rotation = SymmOp.from_xyz_str("z,x,y").rotation_matrix
    assert not _build_wyckoff._keeps_cell(47, rotation)
    rotation = SymmOp.from_xyz_str("-x,-y,z").rotation_matrix
    assert _build_wyckoff._keeps_cell(164, rotation)
    # Ni 1a + O 1b and Ni 1a + O 1c of Pmmm (O at a/2 or c/2 from Ni)
    # differ by an axis permutation only: two structures in one cell
    assert equivalent_sites(47, [("Ni", "a"), ("O", "b")]) != (
        equivalent_sites(47, [("Ni", "a"), ("O", "c")])
    )
    assert equivalent_sites(47, [("Ni", "a"), ("O", "b")]) == (
        equivalent_sites(47, [("Ni", "c"), ("O", "d")])
    )
    # a map that sends 2c to 2d is refused
    wrong = "badcfehgij"
    assert (
        _build_wyckoff._checked(ops, by_letter, letters, wrong, op, shift)
        is None
    )


def _as_keys(assignments):
    return [
        (z, tuple(sorted((el, p[0], p[1]) for el, p in sites)))
        for z, sites in assignments
    ]


def test_preferred_site_combinations_come_first_and_nothing_is_lost():
    """Hollandite MnO2 (I4/m: Mn 8h, O 8h, O 8h) is far down the plain
    order; preferred, it is first, and the list holds the same
    assignments, each once."""
    limits = dict(zmax=8, max_atoms=60, max_sites=8, limit=1000)
    plain = _as_keys(wyckoff_assignments("MnO2", 87, **limits))
    hollandite = (8, (("Mn", 8, "h"), ("O", 8, "h"), ("O", 8, "h")))
    assert plain.index(hollandite) > 50
    # a combination that cannot hold MnO2 (Z = 2/3) is passed over
    prefer = [[(2, "a")], [(8, "h"), (8, "h"), (8, "h")]]
    first = _as_keys(wyckoff_assignments("MnO2", 87, prefer=prefer, **limits))
    assert first[0] == hollandite
    assert len(first) == len(set(first))
    assert sorted(first) == sorted(plain)
    # multiplicities of another setting (h is 8-fold in I4/m) describe
    # other positions: that combination is passed over
    other = [[(4, "h"), (4, "h"), (4, "h")]]
    found = _as_keys(wyckoff_assignments("MnO2", 87, prefer=other, **limits))
    assert found == plain


def test_preferred_combination_shares_its_sites_every_way():
    """ThCr2Si2's sites of I4/mmm (2a, 4d, 4e) hold SrFe2As2 with Z = 2
    in two ways (Fe and As have equal counts); two sites of one letter
    are interchangeable, so a way that swaps them is given once."""
    prefer = [[(2, "a"), (4, "d"), (4, "e")]]
    got = _as_keys(
        itertools.islice(
            wyckoff_assignments("SrFe2As2", 139, zmax=2, prefer=prefer), 2
        )
    )
    assert got[0] == (2, (("As", 4, "e"), ("Fe", 4, "d"), ("Sr", 2, "a")))
    # Fe and As have equal counts: the swap is the second
    assert got[1] == (2, (("As", 4, "d"), ("Fe", 4, "e"), ("Sr", 2, "a")))
    # two 4e sites are one way for an element holding both
    prefer = [[(2, "a"), (4, "e"), (4, "e")]]
    got = _as_keys(wyckoff_assignments("SrFe2As2", 139, zmax=2, prefer=prefer))
    assert (
        got.count((2, (("As", 4, "e"), ("Fe", 4, "e"), ("Sr", 2, "a")))) == 1
    )


def test_element_volume_builder_recovers_additive_volumes(tmp_path):
    """scripts/build_element_volumes.py fits v_e of V = sum n_e v_e; on
    a table made with known volumes it returns them, with no spread."""
    import csv
    import gzip

    from _scripts import load_script

    module = load_script("build_element_volumes")
    truth = {"Na": 18.7, "Cl": 31.2, "O": 10.1}
    rng = numpy.random.default_rng(0)
    table = tmp_path / "table.csv.gz"
    with gzip.open(table, "wt", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "experimental", "lattice", "species", "frac"])
        for k in range(60):
            counts = {e: int(rng.integers(1, 4)) for e in truth}
            species = [e for e, n in counts.items() for _ in range(n)]
            edge = sum(truth[e] for e in species) ** (1 / 3)
            lattice = " ".join(str(v) for v in (numpy.eye(3) * edge).ravel())
            frac = " ".join("0 0 0" for _ in species)
            w.writerow([f"x-{k}", 1, lattice, " ".join(species), frac])
        # a hypothetical row is not used
        w.writerow(["x-h", 0, "9 0 0 0 9 0 0 0 9", "Na", "0 0 0"])
    out = tmp_path / "volumes.csv"
    assert module.main([str(table), "--out", str(out)]) == 0
    text = out.read_text()
    assert "over 60 experimental rows" in text
    rows = csv.DictReader(ln for ln in text.splitlines() if ln[0] != "#")
    got = {r["element"]: float(r["volume"]) for r in rows}
    assert got == pytest.approx(truth, abs=1e-3)
    assert "spread of ln(V / sum n_e v_e): 0.0000" in text


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("BaSO4", {"O"}),  # S is the centre of the sulfate
        ("La2O2S", {"O", "S"}),  # oxysulfide: S2- beside O2-
        ("Li3PS4", {"S"}),  # thiophosphate: P the centre
        ("LiPF6", {"F"}),
        ("TaON", {"O", "N"}),
        ("Li2TiOF6", {"O", "F"}),  # O stays an anion beside F
        ("NaCl", {"Cl"}),
        ("Ni", set()),
    ],
)
def test_anions_tell_oxyanion_centres_from_anions(formula, expected):
    from diffpy.sgpredict.chemistry import anions

    assert anions(parse_composition(formula)) == expected


def test_site_patterns_come_first_with_their_elements_placed():
    """A site pattern places each element by its amount in the formula:
    Li2MnF6's P-3m1 structure (Mn 1a + 2d, Li 6g, F three 6i; Z = 3)
    comes first although Z = 3 is beyond zmax, and nothing else is
    lost or repeated."""
    limits = dict(zmax=2, max_atoms=60, max_sites=8, limit=1000)
    plain = _as_keys(wyckoff_assignments("Li2MnF6", 164, **limits))
    pattern = [(1, 1, "a"), (1, 2, "d"), (2, 6, "g")] + [(6, 6, "i")] * 3
    true = (
        3,
        tuple(
            sorted(
                [("Mn", 1, "a"), ("Mn", 2, "d"), ("Li", 6, "g")]
                + [("F", 6, "i")] * 3
            )
        ),
    )
    assert true not in plain
    # a pattern of another formula (amounts 1 and 3) and one of another
    # setting (g is 6-fold here) are passed over
    others = [[(1, 1, "a"), (3, 3, "e")], [(1, 1, "a"), (2, 2, "g")]]
    found = _as_keys(
        wyckoff_assignments(
            "Li2MnF6", 164, patterns=others + [pattern], **limits
        )
    )
    assert found[0] == true
    assert len(found) == len(set(found))
    assert sorted(found[1:]) == sorted(plain)
    # a pattern beyond max_atoms is passed over
    capped = dict(limits, max_atoms=20)
    assert true not in _as_keys(
        wyckoff_assignments("Li2MnF6", 164, patterns=[pattern], **capped)
    )


def test_a_site_pattern_shares_sites_among_elements_of_one_amount():
    """ThCr2Si2's pattern (amount 1 on 2a, amount 2 on 4d and 4e) holds
    SrFe2As2 in the two ways of Fe and As (both amount 2), Sr always
    on 2a."""
    pattern = [(1, 2, "a"), (2, 4, "d"), (2, 4, "e")]
    got = _as_keys(
        itertools.islice(
            wyckoff_assignments("SrFe2As2", 139, patterns=[pattern]), 2
        )
    )
    assert sorted(got) == [
        (2, (("As", 4, "d"), ("Fe", 4, "e"), ("Sr", 2, "a"))),
        (2, (("As", 4, "e"), ("Fe", 4, "d"), ("Sr", 2, "a"))),
    ]


def test_a_ranked_site_pattern_places_equal_amounts_as_real_ones():
    """The 1111 pnictides in P4/nmm (LaFeAsO: La 2c, Fe 2b, As 2c, O 2a;
    all four of amount 1): with the electronegativity ranks of the
    pattern CeFeAsO gets the same placement first (2a and 2b are
    equivalent by an origin shift); without them, Ce on 2a."""
    from diffpy.sgpredict.chemistry import electronegativity_ranks

    assert electronegativity_ranks({"La": 1, "Fe": 1, "As": 1, "O": 1}) == {
        "La": 0, "Fe": 1, "As": 2, "O": 3}  # fmt: skip
    ranked = [(1, 2, "a", 3), (1, 2, "b", 1), (1, 2, "c", 0), (1, 2, "c", 2)]
    plain = [s[:3] for s in ranked]
    first = _as_keys(
        itertools.islice(
            wyckoff_assignments("CeFeAsO", 129, patterns=[ranked]), 1
        )
    )[0]
    sites = {el: (m, w) for el, m, w in first[1]}
    assert {sites["O"][1], sites["Fe"][1]} == {"a", "b"}
    assert sites["Ce"] == sites["As"] == (2, "c")
    unranked = _as_keys(
        itertools.islice(
            wyckoff_assignments("CeFeAsO", 129, patterns=[plain]), 1
        )
    )[0]
    assert dict((el, w) for el, _, w in unranked[1])["Ce"] != "c"
    # the same assignments come, in another order
    every = dict(zmax=2, max_atoms=60, max_sites=8, limit=1000)
    assert sorted(
        _as_keys(
            wyckoff_assignments("CeFeAsO", 129, patterns=[ranked], **every)
        )
    ) == sorted(
        _as_keys(
            wyckoff_assignments("CeFeAsO", 129, patterns=[plain], **every)
        )
    )
