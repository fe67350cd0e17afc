"""Tiny synthetic-but-physical datasets for the training tests.

G(r) of four monatomic lattices (fcc Fm-3m, simple cubic Pm-3m, hcp
P6_3/mmc, diamond Fd-3m) as a sum of Gaussian pair peaks divided by the
pair distance, minus the number-density line 4 pi rho0 r, on the model
grid, with random lattice parameters and displacements.  Written in the
layout of ``diffpy.sgpredict.dataset`` with h5py directly.
"""

import json

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


def write_dataset(path, n_per_group=24, groups=(225, 221, 194, 227), seed=0):
    """Write a tiny dataset file; return the number of rows."""
    import h5py

    from diffpy.sgpredict.grid import MODEL_GRID

    rng = numpy.random.default_rng(seed)
    r = MODEL_GRID.r
    rows = []
    for sg in groups:
        for i in range(n_per_group):
            a = rng.uniform(2.6, 4.2) * (1.4 if sg == 227 else 1.0)
            uiso = rng.uniform(0.004, 0.012)
            el = ELEMENTS[(i // 3) % len(ELEMENTS)]
            rows.append(
                {
                    "G": pdf(sg, a, uiso, r),
                    "sg": sg,
                    "id": f"syn{sg}-{i}",
                    "formula": el,
                    "prototype": f"{sg}-{i // 3}",
                    "uiso": uiso,
                }
            )
    n = len(rows)
    sdt = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "diffpy.sgpredict.dataset"
        f.attrs["format_version"] = 1
        f.attrs["provenance"] = json.dumps({"generator": "tests/_synthetic"})
        f.attrs["n_rows"] = n
        f.attrs["n_skipped"] = 0
        f["r"] = r
        f["G"] = numpy.array([x["G"] for x in rows], dtype=numpy.float32)
        f["sg_number"] = numpy.array([x["sg"] for x in rows], numpy.int16)
        f["declared_sg"] = numpy.array([x["sg"] for x in rows], numpy.int16)
        f["natoms"] = numpy.ones(n, numpy.int32)
        for key in ("id", "formula", "prototype"):
            f.create_dataset(key, data=[x[key] for x in rows], dtype=sdt)
        f.create_dataset("source", data=["synthetic"] * n, dtype=sdt)
        for name in SETTINGS:
            value = {"qmax": 23.0, "qmin": 0.5, "qdamp": 0.04, "scale": 1.0}
            col = numpy.full(n, value.get(name, 0.0), numpy.float32)
            if name == "uiso":
                col = numpy.array([x["uiso"] for x in rows], numpy.float32)
            f[f"settings/{name}"] = col
        for key in ("id", "source", "reason"):
            f.create_dataset(f"skipped/{key}", data=[], dtype=sdt)
    return n
