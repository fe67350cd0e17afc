"""Which relaxed Wyckoff guesses fit, and does the screening see them?

Run from the repository root::

    python benchmarks/relaxed_hits.py [--structures DIR] [--draws 40]
        [--seed 1] [--only NAME ...]

For the structures of ``benchmarks/refine_synthetic.py`` (its
selection and its synthetic X-ray PDFs, written to a temporary folder)
whose true Wyckoff assignment the enumeration relaxes (three or more
free coordinates, a chemistry the pair potential describes), it draws
``--draws`` random coordinate sets of the true assignment (the
assignment whose sites per element are spglib's) and relaxes each twice
over: in the pair potential alone, and in the two steps the
enumeration takes (the pair potential, then with the data's overlap
term, :func:`diffpy.sgpredict.refine.packing.pdf_overlap`).  Each
relaxed guess is screened as the enumeration screens it and then
polished on the smoothed data (40 evaluations, as the enumeration's
polish); a guess whose polished Rw on the data (1.5-10 A) is below 0.4
counts as a hit (a hit of Ti3O5 in Cmcm at 0.26 quick-fits to 0.048).
It prints, per structure and relaxation, the hits, the best polished
Rw and the ranks of the hits by screening Rw (0 = screened first: the
enumeration polishes only the guesses that screen best).
"""

import argparse
import dataclasses
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refine_synthetic import draw_settings, select, write_gr  # noqa: E402

from diffpy.sgpredict.chemistry import mixed_sites  # noqa: E402
from diffpy.sgpredict.chemistry import parse_composition  # noqa: E402
from diffpy.sgpredict.pdfcalc.scattering import (  # noqa: E402
    scattering_weight,
)
from diffpy.sgpredict.refine import wyckoff  # noqa: E402
from diffpy.sgpredict.refine.fitdata import prepare_data  # noqa: E402
from diffpy.sgpredict.refine.work import WorkMeter  # noqa: E402
from diffpy.sgpredict.refine.wyckoff_model import (  # noqa: E402
    AssignmentModel,
    site_models,
)
from diffpy.sgpredict.runtime import blas_threads  # noqa: E402
from diffpy.sgpredict.structures import symmetry_dataset  # noqa: E402
from diffpy.sgpredict.wyckoff import wyckoff_assignments  # noqa: E402

HIT = 0.4
#: the enumeration's screening ADP (its starting 0.006 A^2 widened by
#: the 0.2 A smoothing of the screening curve)
SCREEN_UISO = 0.006 + 0.2**2 / 2


def true_sites(crystal):
    """Wyckoff letters of the symmetry-unique sites, per element."""
    ds = symmetry_dataset(crystal.lattice, crystal.frac, crystal.species)
    out = Counter()
    for k in set(int(i) for i in ds.equivalent_atoms):
        out[(crystal.species[k], ds.wyckoffs[k])] += 1
    return out


def true_model(item, counts, weights):
    """The relaxed true assignment's model and Z, or None (``counts``:
    atoms per element of the formula)."""
    want = true_sites(item["crystal"])
    for z, assignment in wyckoff_assignments(
        counts, item["group"], zmax=8, max_atoms=60, max_sites=8, limit=400
    ):
        if Counter((el, p[1]) for el, p in assignment) != want:
            continue
        model = AssignmentModel(
            item["group"],
            site_models(item["group"], [(el, p[1]) for el, p in assignment]),
            weights,
        )
        return (model, z) if wyckoff._relaxes(model) else None
    return None


def draws(model, z, data, contact, n, seed):
    """(screening Rw, polished Rw on the data) of ``n`` relaxed draws."""
    screen = wyckoff.ScreenTarget(
        data, rmax=7.0, rstep=0.05, smooth=0.2, meter=WorkMeter()
    )
    target = wyckoff.ScreenTarget(data, meter=screen.meter)
    search = wyckoff._Search(
        screen, contact, numpy.random.default_rng(seed), SCREEN_UISO
    )
    guesses, _ = wyckoff._screen_relaxed(model, z, search, n)
    out = []
    for rw, _, cell, xyz, _ in guesses:
        polished = wyckoff._polish_guesses(
            [(rw, model, cell, xyz, z)], screen, target, 0.006,
            float("inf"),
        )  # fmt: skip
        out.append((rw, min(g[0] for g in polished)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default="../shared/data/structures")
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args(argv)
    chosen = select(args.structures, 30, 0, type_match="matcher")
    if args.only:
        chosen = [c for c in chosen if c["name"] in args.only]
    print(
        f"{'name':8s} {'formula':10s} {'grp':>3s} {'relaxation':14s} "
        f"{'draws':>5s} {'hits':>4s} {'best':>6s}  screen ranks of hits"
    )
    with tempfile.TemporaryDirectory() as tmp, blas_threads(1):
        for item in chosen:
            rng = numpy.random.default_rng(
                [0, zlib.crc32(item["name"].encode())]
            )
            settings = draw_settings(rng, set(item["crystal"].species))
            path = Path(tmp) / f"{item['name']}.gr"
            write_gr(path, item, settings, rng)
            data = prepare_data(str(path), 1.5, 20.0, 0.02)
            counts, _ = mixed_sites(parse_composition(item["formula"]))
            weights = {
                el: scattering_weight(el, data.scattering) for el in counts
            }
            found = true_model(item, counts, weights)
            if found is None:
                continue
            model, z = found
            contact = wyckoff.contact_for(data, counts, weights)
            for what, c in (
                ("pair potential", dataclasses.replace(contact, overlap=None)),
                ("two steps", contact),
            ):
                rows = draws(model, z, data, c, args.draws, args.seed)
                screen = numpy.array([r[0] for r in rows])
                polished = numpy.array([r[1] for r in rows])
                ranks = numpy.argsort(numpy.argsort(screen))
                hits = sorted(ranks[polished < HIT].tolist())
                print(
                    f"{item['name']:8s} {item['formula']:10s} "
                    f"{item['group']:>3d} {what:14s} {len(rows):>5d} "
                    f"{len(hits):>4d} {polished.min():6.3f}  {hits}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
