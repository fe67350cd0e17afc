"""Tiny synthetic-but-physical datasets for the training tests.

G(r) of four monatomic lattices (fcc Fm-3m, simple cubic Pm-3m, hcp
P6_3/mmc, diamond Fd-3m) as a sum of Gaussian pair peaks divided by the
pair distance, minus the number-density line 4 pi rho0 r, on the model
grid, with random lattice parameters and displacements.  Written with
the package's own :class:`diffpy.sgpredict.dataset.DatasetWriter`.
"""

import numpy

from diffpy.sgpredict.dataset import SETTING_NAMES as SETTINGS

#: group number -> (basis in fractional coordinates, hexagonal?)
LATTICES = {
    225: ([(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)], False),
    221: ([(0, 0, 0)], False),
    194: ([(1 / 3, 2 / 3, 0.25), (2 / 3, 1 / 3, 0.75)], True),
    227: (
        [
            (0, 0, 0),
            (0.5, 0.5, 0),
            (0.5, 0, 0.5),
            (0, 0.5, 0.5),
            (0.25, 0.25, 0.25),
            (0.75, 0.75, 0.25),
            (0.75, 0.25, 0.75),
            (0.25, 0.75, 0.75),
        ],
        False,
    ),
}
ELEMENTS = ["Ni", "Cu", "Al", "Fe", "Si", "Ge", "Mg", "Ti"]


def _distances(sg, a, rmax=32.0):
    basis, hexagonal = LATTICES[sg]
    if hexagonal:
        c = a * 1.633
        cell = numpy.array(
            [[a, 0, 0], [-a / 2, a * numpy.sqrt(3) / 2, 0], [0, 0, c]]
        )
    else:
        cell = numpy.eye(3) * a
    basis = numpy.array(basis, dtype=float)
    n = int(numpy.ceil(rmax / min(numpy.linalg.norm(cell, axis=1)))) + 1
    rng = numpy.arange(-n, n + 1)
    shifts = numpy.array(numpy.meshgrid(rng, rng, rng)).reshape(3, -1).T
    frac = (shifts[:, None, :] + basis[None, :, :]).reshape(-1, 3)
    cart = frac @ cell
    origin = basis[0] @ cell
    d = numpy.linalg.norm(cart - origin, axis=1)
    volume = abs(numpy.linalg.det(cell))
    return d[(d > 0.1) & (d < rmax)], len(basis) / volume


def pdf(sg, a, uiso, r):
    """G(r) of a monatomic lattice with Gaussian peaks."""
    d, rho0 = _distances(sg, a)
    sigma = numpy.sqrt(2 * uiso)
    peaks = numpy.exp(-0.5 * ((r[:, None] - d[None, :]) / sigma) ** 2)
    peaks /= numpy.sqrt(2 * numpy.pi) * sigma * d[None, :]
    g = peaks.sum(axis=1) - 4 * numpy.pi * rho0 * r
    return g * numpy.exp(-0.5 * (0.04 * r) ** 2)


def write_dataset(
    path,
    n_per_group=24,
    groups=(225, 221, 194, 227),
    seed=0,
    neutron_share=0.0,
    formulas=None,
    shapes=None,
):
    """Write a tiny dataset file with the package's writer.

    ``neutron_share`` of the rows are flagged as neutron PDFs and have
    the sign of their peaks flipped (as a negative scattering length
    would for a pair of unlike atoms), so a model must read the flag.
    ``formulas`` maps a group to the formula of all its rows (default
    one element per three rows); ``shapes`` maps a group to the group
    whose PDF its rows get (an ordered alloy whose PDF is that of fcc).
    Returns the number of rows.
    """
    formulas, shapes = formulas or {}, shapes or {}
    from diffpy.sgpredict.dataset import DatasetWriter
    from diffpy.sgpredict.grid import MODEL_GRID

    rng = numpy.random.default_rng(seed)
    r = MODEL_GRID.r
    n = 0
    prov = {"generator": "tests/_synthetic"}
    with DatasetWriter(path, r, prov, chunk_rows=64) as writer:
        for sg in groups:
            for i in range(n_per_group):
                a = rng.uniform(2.6, 4.2) * (1.4 if sg == 227 else 1.0)
                uiso = rng.uniform(0.004, 0.012)
                el = formulas.get(sg, ELEMENTS[(i // 3) % len(ELEMENTS)])
                g = pdf(shapes.get(sg, sg), a, uiso, r)
                neutron = float(rng.random() < neutron_share)
                if neutron:
                    g = -g
                settings = {name: 0.0 for name in SETTINGS}
                settings.update(
                    qmax=23.0,
                    qmin=0.5,
                    qdamp=0.04,
                    scale=1.0,
                    uiso=uiso,
                    neutron=neutron,
                )
                writer.add(
                    {
                        "G": g,
                        "id": f"syn{sg}-{i}",
                        "sg_number": sg,
                        "declared_sg": sg,
                        "formula": el,
                        "source": "synthetic",
                        "prototype": f"{sg}-{i // 3}",
                        "natoms": 1,
                        "settings": settings,
                    }
                )
                n += 1
    return n
