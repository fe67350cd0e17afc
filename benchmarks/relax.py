"""Benchmark the pair-potential relaxation of random Wyckoff guesses.

Usage::

    python benchmarks/relax.py [--draws N] [--seed S]

Relaxes the same random draws of a few assignments (hollandite MnO2,
brookite TiO2, Li2ZrO3, rutile) three times in this process:

* ``all pairs``: every pair and lattice shift found anew at each call,
  with the BLAS threads numpy starts with (the previous version);
* ``listed``: :func:`diffpy.sgpredict.refine.packing.relax_cell` with
  its neighbour list, same threads;
* ``listed, 1 BLAS``: the same with one BLAS thread, as ``refine``'s
  fits run (:func:`diffpy.sgpredict.runtime.blas_threads`).

It prints CPU ms per relaxation (process time: a waiting BLAS thread
counts, as it does against the enumeration's CPU budget), the speed-up
against the previous version and the median energy per atom of the
relaxed guesses (the same where the relaxations follow the same path;
the list changes rounding only).
"""

import argparse
import time

import numpy

CASES = (
    ("hollandite MnO2", 87, (("Mn", "h"), ("O", "h"), ("O", "h")),
     (9.8, 2.9), 1.9),
    ("brookite TiO2", 61, (("Ti", "c"), ("O", "c"), ("O", "c")),
     (5.2, 6.2, 5.6), 1.95),
    ("Li2ZrO3", 15,
     (("Li", "e"), ("Li", "e"), ("Zr", "e"), ("O", "d"), ("O", "f")),
     (5.43, 9.03, 5.42, 112.7), 2.05),
    ("rutile TiO2", 136, (("Ti", "a"), ("O", "f")), (5.0, 3.5), 1.95),
)  # fmt: skip


def _all_pairs_potential():
    from diffpy.sgpredict.refine import packing

    class AllPairs(packing.PairPotential):
        """Every pair within the cutoff found anew at each call."""

        def _listed(self, metric, xyz):
            return self.neighbours(metric, xyz, packing.CUTOFF * self.r1)

    return AllPairs


def _relax_all(model, cell, draws, r1, potential, threads=None):
    from diffpy.sgpredict.refine import packing
    from diffpy.sgpredict.runtime import blas_threads

    saved = packing.PairPotential
    packing.PairPotential = potential
    try:
        t = time.process_time()
        with blas_threads(threads):
            out = [packing.relax_cell(model, cell, x, r1) for x in draws]
        dt = (time.process_time() - t) / len(draws)
    finally:
        packing.PairPotential = saved
    energies = [
        saved(model, c, r1).energy(x)[0] / model.natoms for c, x in out
    ]
    return dt, float(numpy.median(energies))


def main(argv=None):
    from diffpy.sgpredict.refine import packing
    from diffpy.sgpredict.refine.wyckoff_model import (
        AssignmentModel,
        site_models,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    for name, number, sites, cell, r1 in CASES:
        model = AssignmentModel(
            number,
            site_models(number, list(sites)),
            {el: 1.0 for el, _ in sites},
        )
        rng = numpy.random.default_rng(args.seed)
        draws = [rng.uniform(0, 1, model.nxyz) for _ in range(args.draws)]
        full = _relax_all(model, cell, draws, r1, _all_pairs_potential())
        listed = _relax_all(model, cell, draws, r1, packing.PairPotential)
        one = _relax_all(model, cell, draws, r1, packing.PairPotential, 1)
        rows.append((name, model.natoms, full, listed, one))
    print("CPU ms per relaxation (speed-up against all pairs)")
    print(
        f"{'assignment':16s} {'atoms':>5s} {'all pairs':>9s} "
        f"{'listed':>14s} {'listed, 1 BLAS':>15s} {'E all':>7s} "
        f"{'E listed':>8s}"
    )
    for name, natoms, full, listed, one in rows:
        print(
            f"{name:16s} {natoms:5d} {1e3 * full[0]:9.1f} "
            f"{1e3 * listed[0]:7.1f} ({full[0] / listed[0]:4.2f}) "
            f"{1e3 * one[0]:8.1f} ({full[0] / one[0]:4.2f}) "
            f"{full[1]:7.3f} {listed[1]:8.3f}"
        )


if __name__ == "__main__":
    main()
