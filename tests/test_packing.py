"""The pair potential that relaxes random Wyckoff guesses."""

import math

import numpy
import pytest

from diffpy.sgpredict.pdfcalc import builtin
from diffpy.sgpredict.refine.packing import (
    CUTOFF,
    FLAT_ENERGY,
    FLATTEST,
    LIKE_RANGE,
    LIKE_STRENGTH,
    OVERLAP_TAPER,
    PairPotential,
    pdf_overlap,
    relax_cell,
    suits,
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


def _numeric_gradient(pot, p, step=1e-6):
    """Central differences of ``pot.energy_with_cell`` at ``p``."""
    return [
        (
            pot.energy_with_cell(p + step * e)[0]
            - pot.energy_with_cell(p - step * e)[0]
        )
        / (2 * step)
        for e in numpy.eye(len(p))
    ]


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
    assert grad == pytest.approx(_numeric_gradient(pot, p), rel=1e-5, abs=1e-3)
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


def test_the_overlap_term_peaks_at_the_data_peaks_and_ends_at_the_cutoff():
    # one Gaussian peak at 2.5 A on a baseline: h is largest there, is
    # G/r smoothed and scaled to 1 below the taper, and falls smoothly
    # to zero at the cutoff (no jump when a pair enters)
    r1 = 2.0
    r = numpy.arange(0.0, 10.0, 0.005)
    g = 5.0 * numpy.exp(-((r - 2.5) ** 2) / 0.02) - 0.2 * r
    term = pdf_overlap(r, g, r1, strength=3.0)
    assert term.strength == 3.0
    assert r[numpy.argmax(term.h)] == pytest.approx(2.5, abs=0.01)
    assert term.h.max() == pytest.approx(1.0)
    inner = (r > 3.2) & (r < (CUTOFF - OVERLAP_TAPER) * r1)
    # between the peak and the taper only the baseline -0.2 r is left:
    # G/r is -0.2 there, scaled like the peak, whose smoothing (0.1 A
    # on a peak of sigma 0.1 A) leaves 5/sqrt(2) - 0.5 at 2.5 A
    assert numpy.interp(2.5, r, term.h) == pytest.approx(1.0, abs=5e-3)
    baseline = -0.2 / ((5 / math.sqrt(2) - 0.5) / 2.5)
    assert term.h[inner] == pytest.approx(baseline, rel=0.01)
    assert numpy.all(term.h[r >= CUTOFF * r1] == 0.0)
    near = (r > (CUTOFF - 0.02) * r1) & (r < CUTOFF * r1)
    assert numpy.abs(term.h[near]).max() < 0.025 * abs(baseline)


def test_gradients_with_the_overlap_term_match_finite_differences():
    # Li2ZrO3 (C2/c) in the potential with the overlap of a PDF that has
    # peaks at 2.0, 2.9 and 3.5 A (fine grid: h and its derivative are
    # interpolated linearly from tables, which agree to the grid step)
    model = _model(
        15,
        [("Li", "e"), ("Li", "e"), ("Zr", "e"), ("O", "d"), ("O", "f")],
    )
    r = numpy.arange(0.0, 8.0, 0.0002)
    g = (
        sum(numpy.exp(-((r - d) ** 2) / 0.05) for d in (2.0, 2.9, 3.5))
        - 0.3 * r
    )
    cell = [5.43, 9.03, 5.42, 112.7]
    plain = PairPotential(model, cell, 2.0)
    pot = PairPotential(model, cell, 2.0, pdf_overlap(r, g, 2.0))
    rng = numpy.random.default_rng(3)
    p = numpy.concatenate([cell, rng.uniform(0, 1, model.nxyz)])
    e, grad = pot.energy_with_cell(p)
    # the term changes the energy (pairs lie where the PDF has peaks)
    assert abs(e - plain.energy_with_cell(p)[0]) > 1.0
    assert grad == pytest.approx(_numeric_gradient(pot, p), rel=2e-3, abs=2e-2)


def test_relaxing_with_the_overlap_brings_rutile_to_its_data():
    # rutile's own PDF as data (a = 4.594, c = 2.959 A, x = 0.3049):
    # the pair potential alone gives a = 4.70, c = 2.72 A; relaxed
    # again with the data's overlap the cell comes within 2 % of the
    # real one and x within 0.01 (x and 1 - x are one structure)
    model = AssignmentModel(
        136,
        site_models(136, [("Ti", "a"), ("O", "f")]),
        {"Ti": 22.0, "O": 8.0},
    )
    arrays = model.arrays([4.594, 2.959], numpy.array([0.3049]), 0.006)
    r, g = builtin.pdf_from_arrays(
        arrays,
        rmin=0.0,
        rmax=10.0,
        rstep=0.01,
        qmin=0.0,
        qmax=25.0,
        qdamp=0.03,
        qbroad=0.0,
    )
    r1 = 1.95
    cell, xyz = relax_cell(model, [5.0, 3.5], [0.1], r1)
    assert abs(cell[1] - 2.959) > 0.2
    cell, xyz = relax_cell(model, cell, xyz, r1, 80, pdf_overlap(r, g, r1))
    assert cell == pytest.approx([4.594, 2.959], rel=0.02)
    x = min(xyz[0], 1 - xyz[0])
    assert x == pytest.approx(0.3049, abs=0.01)


@pytest.mark.parametrize(
    "number, sites, expected",
    [
        # Li-O and Zr-O are both 2.1 A (by atomic volumes Zr/Li was 2.05
        # and the potential was not used)
        (15, [("Li", "e"), ("Zr", "e"), ("O", "f")], True),
        (166, [("Li", "a"), ("Co", "b"), ("O", "c")], True),
        # the A cation of a perovskite: Ca-O 2.4-2.5 A, Sr-O 2.76 A
        # against Ti-O 1.95 A
        (221, [("Sr", "a"), ("Ti", "b"), ("O", "c")], False),
        (62, [("Ca", "c"), ("Ti", "b"), ("O", "d")], False),
        (186, [("Ba", "a"), ("Ni", "b"), ("O", "c")], False),
        # one cation: no ratio; no anion, or anions only: no potential
        (136, [("Ti", "a"), ("O", "f")], True),
        (225, [("Ni", "a")], False),
        (15, [("F", "f")], False),
    ],
)
def test_suits_cations_of_one_bond_length(number, sites, expected):
    assert suits(_model(number, sites)) is expected
