"""How well is a ready-made start's cell scaled to the data?

Run from the repository root::

    python benchmarks/cell_scaling.py [--structures ../shared/data]
        [--max-atoms 100] [--seed 0]

For every structure of the shared public set (``structures.csv`` and
its CIFs) with at most ``--max-atoms`` atoms, it computes a PDF as a
measurement would give it (Qmax 14-25 1/A, Qdamp 0.02-0.05 1/A, one Uiso
per element of 0.004-0.015 A^2, 1 % noise; X-rays and neutrons in
turn), takes the same structure with Uiso 0.008 A^2 and its cell edges
scaled by a random factor s of 0.85-1.15 as the start, and scales the
start back in two ways:

``peak``
    :func:`~diffpy.sgpredict.refine.peaks.scale_to_peak`, the first
    strong peak of the sharp model PDF onto the data's (what every
    ready-made start got before);
``overlay``
    :func:`~diffpy.sgpredict.refine.peaks.scale_to_data`, the factor
    whose PDF lies best on the data's.

The error of a method is ``|s f - 1|`` for the factor ``f`` it applies.
It prints, per radiation and method, how many cells come within 1 % and
3 % of the truth, the median and worst errors and the seconds per
structure, then the structures that either method misses by over 3 %.
"""

import argparse
import csv
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import calculate_pdf
from diffpy.sgpredict.refine.peaks import (
    first_strong_peak,
    scale_to_data,
    scale_to_peak,
)
from diffpy.sgpredict.refine.usercifs import read_cif


def simulated(structure, radiation, rng):
    """A measured-like PDF of the structure, as an object with r, g, qmax."""
    stru = structure.copy()
    elements = sorted({a.element for a in stru})
    uiso = {el: rng.uniform(0.004, 0.015) for el in elements}
    for atom in stru:
        atom.Uisoequiv = uiso[atom.element]
    qmax = float(rng.uniform(14.0, 25.0))
    r, g = calculate_pdf(
        stru,
        rmin=0.0,
        rmax=20.0,
        rstep=0.01,
        qmin=0.5,
        qmax=qmax,
        qdamp=float(rng.uniform(0.02, 0.05)),
        uiso=None,
        scattering=radiation,
    )
    g = g + rng.normal(0.0, 0.01 * numpy.abs(g).max(), g.size)
    keep = r >= 1.5
    return SimpleNamespace(r=r[keep], g=g[keep], qmax=qmax)


def start_from(structure, factor):
    """The structure with Uiso 0.008 and its cell edges times factor."""
    stru = structure.copy()
    for atom in stru:
        atom.Uisoequiv = 0.008
    lat = stru.lattice
    lat.setLatPar(lat.a * factor, lat.b * factor, lat.c * factor)
    return stru


def one(structure, radiation, seed):
    """Errors and seconds of both methods for one structure."""
    rng = numpy.random.default_rng(seed)
    data = simulated(structure, radiation, rng)
    s = float(rng.uniform(0.85, 1.15))
    r1 = first_strong_peak(data.r, data.g)
    out = {}
    for name in ("peak", "overlay"):
        start = start_from(structure, s)
        t0 = time.process_time()
        if name == "peak":
            f = scale_to_peak(start, r1, radiation)
        else:
            f = scale_to_data(start, data, r1, radiation)
        out[name] = (abs(s * f - 1.0), time.process_time() - t0)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default="../shared/data")
    ap.add_argument("--max-atoms", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    root = Path(args.structures)
    with open(root / "structures.csv") as fp:
        rows = [
            r for r in csv.DictReader(fp) if int(r["natoms"]) <= args.max_atoms
        ]
    results = {"xray": [], "neutron": []}
    for i, row in enumerate(rows):
        try:
            stru = read_cif(root / row["file"])
        except InputError:
            continue
        radiation = ("xray", "neutron")[i % 2]
        seed = [args.seed, zlib.crc32(row["id"].encode())]
        try:
            res = one(stru, radiation, seed)
        except InputError:  # an element without a scattering factor
            continue
        results[radiation].append((row["id"], row["formula"], res))
    head = ("radiation", "method", "n", "<=1%", "<=3%", "median", "worst")
    print("{:9s} {:8s} {:>4s} {:>5s} {:>5s} {:>7s} {:>6s}".format(*head),
          "s/structure")  # fmt: skip
    for radiation, items in results.items():
        for name in ("peak", "overlay"):
            err = numpy.array([res[name][0] for _, _, res in items])
            sec = numpy.array([res[name][1] for _, _, res in items])
            print(
                f"{radiation:9s} {name:8s} {len(err):4d} "
                f"{int((err <= 0.01).sum()):5d} {int((err <= 0.03).sum()):5d} "
                f"{numpy.median(err):7.4f} {err.max():6.3f} "
                f"{sec.mean():11.3f}"
            )
    print("\nmissed by over 3 % (error peak / overlay):")
    for radiation, items in results.items():
        for rid, formula, res in items:
            if max(res["peak"][0], res["overlay"][0]) > 0.03:
                print(
                    f"  {rid} {formula:12s} {radiation:7s} "
                    f"{res['peak'][0]:.3f} / {res['overlay'][0]:.3f}"
                )


if __name__ == "__main__":
    main()
