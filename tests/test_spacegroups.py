import numpy
import pytest

from diffpy.sgpredict import spacegroups


def test_table_has_the_45_groups_in_order():
    assert len(spacegroups.SPACE_GROUPS) == 45
    assert list(spacegroups.NUMBERS) == sorted(spacegroups.NUMBERS)
    assert spacegroups.NUMBERS[0] == 2 and spacegroups.NUMBERS[-1] == 230
    for i, g in enumerate(spacegroups.SPACE_GROUPS):
        assert g.index == i
        assert spacegroups.number_of(i) == g.number
        assert spacegroups.index_of(g.number) == i


def test_paper_counts_total():
    # the listed counts are the paper's 80 % training split of 101,802
    total = sum(g.paper_count for g in spacegroups.SPACE_GROUPS)
    assert total == 81440
    assert total / 101802 == pytest.approx(0.8, abs=0.001)


@pytest.mark.parametrize(
    "key, number",
    [
        ("P2_1/c", 14),
        ("p 21/c", 14),
        ("Cmce", 64),
        ("Cmca", 64),
        ("R-3m", 166),
        ("H-3m", 166),
        ("P6_3/mmc", 194),
        ("Fd-3m", 227),
        ("225", 225),
        (62, 62),
    ],
)
def test_lookup(key, number):
    assert spacegroups.lookup(key).number == number


def test_unknown_group_is_reported():
    with pytest.raises(KeyError, match="not one of the 45"):
        spacegroups.get(1)
    with pytest.raises(KeyError, match="'P4/nnc' is not one of the 45"):
        spacegroups.lookup("P4/nnc")


def test_symbols_match_diffpy_structure():
    from diffpy.structure.spacegroups import GetSpaceGroup

    for g in spacegroups.SPACE_GROUPS:
        sg = GetSpaceGroup(g.diffpy_name)
        assert sg.number == g.number
        # point-group order = operations / lattice centring multiplicity
        nsym = len(sg.symop_list)
        assert nsym % g.point_group_order == 0


def test_crystal_systems_by_number_ranges():
    bounds = {
        "triclinic": (1, 2),
        "monoclinic": (3, 15),
        "orthorhombic": (16, 74),
        "tetragonal": (75, 142),
        "trigonal": (143, 167),
        "hexagonal": (168, 194),
        "cubic": (195, 230),
    }
    for g in spacegroups.SPACE_GROUPS:
        lo, hi = bounds[g.crystal_system]
        assert lo <= g.number <= hi
    idx = spacegroups.crystal_system_index()
    assert spacegroups.CRYSTAL_SYSTEMS[idx[spacegroups.index_of(225)]] == (
        "cubic"
    )


def test_priors():
    p = spacegroups.icsd_prior()
    assert p.shape == (45,)
    assert numpy.isclose(p.sum(), 1.0)
    # P2_1/c and Pnma are the most common groups of real materials
    top2 = {spacegroups.number_of(i) for i in numpy.argsort(p)[-2:]}
    assert top2 == {14, 62}
    assert numpy.allclose(spacegroups.icsd_prior("uniform"), 1 / 45)
    with pytest.raises(ValueError, match="unknown prior 'nope'"):
        spacegroups.icsd_prior("nope")


def test_subgroup_relations():
    # P-1 is a subgroup of P2_1/c; Fm-3m contains R-3m and I4/mmm chains
    assert spacegroups.is_subgroup(2, 14)
    assert not spacegroups.is_subgroup(14, 2)
    assert spacegroups.is_subgroup(166, 225)
    assert spacegroups.is_subgroup(139, 225)
    assert not spacegroups.is_subgroup(225, 225)
    # subgroups have smaller or equal point-group order
    for g in spacegroups.SPACE_GROUPS:
        for s in g.maximal_subgroups:
            assert spacegroups.get(s).point_group_order <= g.point_group_order
