"""Benchmark the dataset pipeline: structures/s and PDFs/s on one core.

Usage::

    python benchmarks/dataset.py [CIF_FOLDER] [--per-group N] [--groups ...]

Measures, in this process (one core):

* generated crystals, per route: crystals made per second, PDFs per
  second (Table-2 settings) and the end-to-end rate;
* the CIFs of a folder (default ``../shared/data/structures``): CIFs read
  and labelled per second, PDFs per second, end to end.
"""

import argparse
import os
import time

import numpy


def _pdf_rate(crystals, config):
    from diffpy.sgpredict.dataset.build import draw_settings, row_pdf

    settings = draw_settings(numpy.random.default_rng(0))
    t = time.perf_counter()
    for c in crystals:
        row_pdf(c, settings, config)
    dt = time.perf_counter() - t
    return len(crystals) / dt if dt > 0 else float("nan"), dt


def bench_generated(per_group, groups, config):
    from diffpy.sgpredict.structures.cifs import SkipStructure
    from diffpy.sgpredict.structures.generate import (
        generate_item,
        generation_items,
    )

    out = {}
    for route in ("statistics", "prototype"):
        items = generation_items(per_group, groups, route=route, seed=123)
        made = []
        t = time.perf_counter()
        for it in items:
            try:
                made.append(generate_item(it))
            except SkipStructure:
                pass
        t_gen = time.perf_counter() - t
        pdf_rate, t_pdf = _pdf_rate(made, config)
        natoms = numpy.mean([c.natoms for c in made]) if made else 0
        out[route] = {
            "items": len(items),
            "crystals": len(made),
            "crystals/s": len(items) / t_gen,
            "PDFs/s": pdf_rate,
            "end-to-end/s": len(made) / (t_gen + t_pdf),
            "mean atoms": natoms,
        }
    return out


def bench_cifs(folder, config):
    from diffpy.sgpredict.structures.cifs import find_cifs, read_cif_folder

    n = len(find_cifs(folder))
    t = time.perf_counter()
    entries, skipped = read_cif_folder(folder, min_distance=0.1)
    t_read = time.perf_counter() - t
    pdf_rate, t_pdf = _pdf_rate(entries, config)
    return {
        "files": n,
        "structures": len(entries),
        "structures/s": n / t_read,
        "PDFs/s": pdf_rate,
        "end-to-end/s": len(entries) / (t_read + t_pdf),
        "mean atoms": numpy.mean([c.natoms for c in entries]),
    }


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "shared", "data", "structures")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", default=os.path.normpath(default))
    p.add_argument("--per-group", type=int, default=2)
    p.add_argument(
        "--groups",
        default="all",
        help="comma-separated group numbers, or 'all' (default: the 45)",
    )
    args = p.parse_args(argv)
    from diffpy.sgpredict.dataset import build_config

    config = build_config()
    if args.groups == "all":
        from diffpy.sgpredict.spacegroups import NUMBERS

        groups = list(NUMBERS)
    else:
        groups = [int(g) for g in args.groups.split(",")]
    # warm up imports (pyxtal, pymatgen, spglib)
    bench_generated(1, groups[:1], config)
    print(
        f"generated crystals ({args.per_group} per group, "
        f"{len(groups)} groups)"
    )
    for route, r in bench_generated(args.per_group, groups, config).items():
        print(
            f"  {route:10s} {r['crystals/s']:6.1f} crystals/s  "
            f"{r['PDFs/s']:6.1f} PDFs/s  {r['end-to-end/s']:6.1f} end-to-end/s"
            f"  ({r['crystals']}/{r['items']} made, "
            f"{r['mean atoms']:.0f} atoms)"
        )
    if os.path.isdir(args.folder):
        r = bench_cifs(args.folder, config)
        print(f"CIF folder {args.folder} ({r['files']} files)")
        print(
            f"  {r['structures/s']:6.1f} CIFs/s  {r['PDFs/s']:6.1f} PDFs/s  "
            f"{r['end-to-end/s']:6.1f} end-to-end/s  ({r['structures']} used, "
            f"{r['mean atoms']:.0f} atoms)"
        )
    else:
        print(f"no CIF folder at {args.folder}")


if __name__ == "__main__":
    main()
