"""Where the Wyckoff enumeration puts the true assignment.

Run from the repository root::

    python benchmarks/enumeration_order.py [--structures DIR] [--n 30]
        [--seed 0]

For the structures of ``benchmarks/refine_synthetic.py`` (its selection),
the position of the true Wyckoff assignment (each symmetry-unique
atom's element and spglib's Wyckoff letter, or a site list equivalent
to it: :func:`diffpy.sgpredict.wyckoff.equivalent_sites`) in the order that the
enumeration tries assignments of the true group
(:func:`diffpy.sgpredict.refine.wyckoff.assignment_order`), without
and with the site patterns of real structures
(:func:`diffpy.sgpredict.structures.stats.site_patterns`); 1 is first,
``-`` beyond the limits.  The budget reaches the first few.  Seconds.
"""

import argparse
import sys
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refine_synthetic import STRUCTURES, select  # noqa: E402

from diffpy.sgpredict.chemistry import (  # noqa: E402
    mixed_sites,
    parse_composition,
)
from diffpy.sgpredict.refine.wyckoff import assignment_order  # noqa: E402
from diffpy.sgpredict.structures import symmetry_dataset  # noqa: E402
from diffpy.sgpredict.wyckoff import equivalent_sites  # noqa: E402


def true_sites(crystal, number):
    """The symmetry-unique atoms' ``(element, letter)``, as the
    representative of their equivalent site lists
    (:func:`~diffpy.sgpredict.wyckoff.equivalent_sites`)."""
    ds = symmetry_dataset(crystal.lattice, crystal.frac, crystal.species)
    unique = sorted({int(i) for i in ds.equivalent_atoms})
    sites = [(crystal.species[i], ds.wyckoffs[i]) for i in unique]
    return equivalent_sites(number, sites)


def position(item, patterns):
    """1-based position of the true assignment (or one equivalent to
    it), or None."""
    counts, _ = mixed_sites(parse_composition(item["formula"]))
    truth = true_sites(item["crystal"], item["group"])
    order = assignment_order(item["group"], counts, patterns=patterns)
    for k, (_, sites) in enumerate(order):
        found = [(el, p[1]) for el, p in sites]
        if equivalent_sites(item["group"], found) == truth:
            return k + 1
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default=str(STRUCTURES))
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    chosen = select(args.structures, args.n, args.seed, type_match="matcher")
    rows = []
    print(f"{'name':10s} {'formula':14s} grp without  with")
    for item in chosen:
        a, b = position(item, False), position(item, True)
        rows.append((a, b))
        print(
            f"{item['name']:10s} {item['formula']:14s} {item['group']:>3d} "
            f"{a or '-':>7} {b or '-':>5}"
        )
    for top in (1, 3):
        n = [sum(1 for r in rows if r[k] and r[k] <= top) for k in (0, 1)]
        print(f"true assignment within the first {top}: {n[0]} -> {n[1]}")
    both = [r for r in rows if r[0] and r[1]]
    print(
        f"listed: {sum(bool(r[0]) for r in rows)} -> "
        f"{sum(bool(r[1]) for r in rows)}; median position (listed by "
        f"both): {numpy.median([r[0] for r in both]):g} -> "
        f"{numpy.median([r[1] for r in both]):g}"
    )


if __name__ == "__main__":
    main()
