"""The pair potential that relaxes random Wyckoff guesses."""

import math

import numpy
import pytest

from diffpy.sgpredict.refine.packing import (
    CUTOFF,
    FLAT_ENERGY,
    FLATTEST,
    LIKE_RANGE,
    LIKE_STRENGTH,
    PairPotential,
    relax_cell,
)
from diffpy.sgpredict.refine.wyckoff_model import (
    AssignmentModel,
    cell_base,
    site_models,
)


def _model(number, sites):
    elements = {el for el, _ in sites}
    return AssignmentModel(
        number, site_models(number, sites), dict.fromkeys(elements, 1.0)
    )


def _lj(d, r1):
    x = r1 / d
    shift = (1 / CUTOFF) ** 12 - 2 * (1 / CUTOFF) ** 6
    return x**12 - 2 * x**6 - shift


def test_rocksalt_energy_is_the_sum_of_its_shells():
    # NaCl, a = 5.64 A, r1 = 2.9 A (cutoff 5.8 A): shells of one ion
    # 6 unlike at a/2, 12 like at a/sqrt(2) (inside 1.4 r1 = 4.06 A),
    # 8 unlike at a sqrt(3)/2, 6 like at a (outside the repulsion)
    a, r1 = 5.64, 2.9
    model = _model(225, [("Na", "a"), ("Cl", "b")])
    pot = PairPotential(model, [a], r1)
    like = LIKE_STRENGTH * ((LIKE_RANGE * r1 - a / math.sqrt(2)) / r1) ** 2
    per_ion = 6 * _lj(a / 2, r1) + 12 * like + 8 * _lj(a * 0.75**0.5, r1)
    energy, grad = pot.energy(numpy.zeros(0))
    assert energy == pytest.approx(model.natoms * per_ion / 2, rel=1e-9)
    assert grad.size == 0


def test_gradients_match_finite_differences():
    # Li2ZrO3 (C2/c): seven free coordinates and a monoclinic cell
    model = _model(
        15,
        [("Li", "e"), ("Li", "e"), ("Zr", "e"), ("O", "d"), ("O", "f")],
    )
    cell = [5.43, 9.03, 5.42, 112.7]
    pot = PairPotential(model, cell, 2.0)
    rng = numpy.random.default_rng(3)
    p = numpy.concatenate([cell, rng.uniform(0, 1, model.nxyz)])
    _, grad = pot.energy_with_cell(p)
    step = 1e-6
    numeric = [
        (
            pot.energy_with_cell(p + step * e)[0]
            - pot.energy_with_cell(p - step * e)[0]
        )
        / (2 * step)
        for e in numpy.eye(len(p))
    ]
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-3)
    # the coordinate-only gradient is the same at the fixed cell
    _, gxyz = pot.energy(p[4:])
    assert gxyz == pytest.approx(grad[4:], rel=1e-9)


def test_relaxed_random_brookite_has_octahedral_titanium():
    # brookite TiO2 (Pbca, Ti 8c, O 8c, O 8c: nine free coordinates)
    # from random coordinates and a cubic-ish cell: every Ti ends with
    # about six O around it and the O apart from each other, as in the
    # real structure; the random starts themselves are nothing like it
    model = _model(61, [("Ti", "c"), ("O", "c"), ("O", "c")])
    r1 = 1.95
    rng = numpy.random.default_rng(0)
    shells = []
    for _ in range(5):
        cell, xyz = relax_cell(
            model, [5.2, 6.2, 5.6], rng.uniform(0, 1, model.nxyz), r1
        )
        frac = model.frac(xyz)
        cart = frac @ cell_base(model.cell.expand(cell))
        base = cell_base(model.cell.expand(cell))
        shifts = (
            numpy.array(
                numpy.meshgrid(*[numpy.arange(-1, 2)] * 3, indexing="ij")
            )
            .reshape(3, -1)
            .T
            @ base
        )
        d = numpy.linalg.norm(
            cart[:, None, None, :] - cart[None, :, None, :] - shifts, axis=3
        )
        d[d < 1e-6] = numpy.inf
        ti, o = numpy.arange(8), numpy.arange(8, 24)
        shells.append((d[ti][:, o] < 1.25 * r1).sum(axis=(1, 2)).mean())
        assert d[o][:, o].min() > 1.2 * r1
    # most relaxations give octahedra (six O within 1.25 r1 of each Ti)
    assert numpy.median(shells) >= 5


def test_an_atom_meets_its_own_images_once_per_pair():
    # one atom in a primitive cubic cell with a = r1: 6 images at a,
    # 12 at a sqrt(2), 8 at a sqrt(3) (2a is at the cutoff); each pair
    # of an atom with an image counts once, so half per image
    r1 = 2.5
    model = _model(221, [("Cu", "a")])
    pot = PairPotential(model, [r1], r1)
    expected = (
        6 * _lj(r1, r1) + 12 * _lj(r1 * 2**0.5, r1) + 8 * _lj(r1 * 3**0.5, r1)
    ) / 2
    assert pot.energy(numpy.zeros(0))[0] == pytest.approx(expected, 1e-9)
    # relaxed from a cell 30 % too large, it contracts to the well of its
    # own images
    cell, _ = relax_cell(model, [1.3 * r1], numpy.zeros(0), r1)
    assert cell[0] == pytest.approx(r1, rel=0.05)


def test_a_flat_triclinic_cell_is_stepped_back_from():
    """Angles within their bounds can make a cell without volume (three
    of 120 degrees); its energy is the flat-cell energy, not an error,
    and a relaxation that starts next to it ends in a cell with
    volume."""
    model = _model(2, [("Re", "i"), ("S", "i"), ("S", "i")])
    rng = numpy.random.default_rng(1)
    xyz = rng.uniform(0.0, 1.0, model.nxyz)
    flat = [4.0, 4.0, 4.0, 120.0, 120.0, 120.0]
    pot = PairPotential(model, [4.0, 4.0, 4.0, 90.0, 90.0, 90.0], 2.4)
    e, grad = pot.energy_with_cell(numpy.concatenate([flat, xyz]))
    assert e == FLAT_ENERGY and not grad.any()
    cell, _ = relax_cell(model, [4.0, 4.0, 4.0, 119.5, 119.5, 119.5], xyz, 2.4)
    volume = abs(numpy.linalg.det(cell_base(cell)))
    assert volume > FLATTEST * numpy.prod(cell[:3])


def test_the_neighbour_list_gives_the_energy_of_all_pairs():
    """One potential keeps its neighbour list while the atoms and the
    cell move a little and makes a new one when they move further; at
    every step of a walk that moves atoms by several A and strains the
    cell by 30 %, its energy and gradient are those of a new potential,
    whose list is made at that point."""
    model = _model(87, [("Mn", "h"), ("O", "h"), ("O", "h")])
    r1 = 1.9
    rng = numpy.random.default_rng(5)
    p = numpy.concatenate([[9.8, 2.9], rng.uniform(0, 1, model.nxyz)])
    step = numpy.concatenate([[0.03, 0.01], rng.normal(0, 0.01, model.nxyz)])
    walker = PairPotential(model, p[:2], r1)
    kept = []
    for k in range(100):
        q = p + k * step
        e, grad = walker.energy_with_cell(q)
        kept.append(walker.neighbours_used)
        e_new, grad_new = PairPotential(model, q[:2], r1).energy_with_cell(q)
        assert e == pytest.approx(e_new, rel=1e-9, abs=1e-9)
        assert grad == pytest.approx(grad_new, rel=1e-7, abs=1e-7)
    # the list was kept for several steps at a time, and renewed
    assert 5 < len({id(n) for n in kept}) < 60
