"""Layered pnictides and chalcogenides: does ``refine --fit`` solve them?

Run from the repository root::

    python benchmarks/refine_pnictides.py [OUTDIR]
        [--table ../shared/data/mp/mp_structures.csv.gz] [--only NAME ...]

For the iron-based superconductor families and their relatives (FeSe,
FeTe: PbO type; LiFeAs, NaFeAs: 111; LaFePO, CeFeAsO: 1111, all
P4/nmm; BaFe2As2, CaFe2As2, KFe2As2, SrFe2As2, EuFe2As2, BaMn2As2,
BaNi2As2: 122, I4/mmm) it takes the first relaxed experimental
structure of the Materials Project table (CC BY 4.0) with that formula
and group, computes its PDF as ``benchmarks/refine_synthetic.py`` does
(X-rays, Qmax 20-25 1/A, 1 % noise), and runs what ``refine FILE
--composition FORMULA --fit --jobs 2`` runs: the network's top 6 for
the composition, the true group added when it is missing, refined and
ranked.  The network was trained on this table, so its top 6 here says
nothing about its accuracy; what is measured is whether the refinement
finds the structure.  Prints one line per compound and a summary.
"""

import argparse
import csv
import gzip
import sys
import time
import zlib
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refine_synthetic import (  # noqa: E402
    candidates_for,
    draw_settings,
    write_gr,
)

from diffpy.sgpredict.chemistry import reduced_formula  # noqa: E402
from diffpy.sgpredict.refine import fit_candidates  # noqa: E402
from diffpy.sgpredict.structures import Crystal  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"

#: (reduced formula, space group) of the compounds.
COMPOUNDS = [
    ("FeSe", 129), ("FeTe", 129), ("LiFeAs", 129), ("NaFeAs", 129),
    ("LaFePO", 129), ("CeFeAsO", 129), ("BaFe2As2", 139),
    ("CaFe2As2", 139), ("KFe2As2", 139), ("SrFe2As2", 139),
    ("EuFe2As2", 139), ("BaMn2As2", 139), ("BaNi2As2", 139),
]  # fmt: skip


def find_rows(table, wanted):
    """The first experimental row of each (formula, group) wanted (the
    table writes formulas as pymatgen does: Ba(FeAs)2)."""
    csv.field_size_limit(10**9)
    names = {(reduced_formula(f), g): (f, g) for f, g in wanted}
    found = {}
    with gzip.open(table, "rt") as fp:
        for row in csv.DictReader(fp):
            key = names.get((row["formula"], int(row["sg_number"])))
            if key and key not in found and row["experimental"] == "1":
                found[key] = row
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", default="/tmp/refine_pnictides")
    ap.add_argument("--table", default=str(TABLE))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [c for c in COMPOUNDS if not args.only or c[0] in set(args.only)]
    rows = find_rows(args.table, set(wanted))
    results = []
    for formula, group in wanted:
        row = rows.get((formula, group))
        if row is None:
            print(f"{formula} {group}: not in the table", flush=True)
            continue
        lattice = numpy.array(row["lattice"].split(), float).reshape(3, 3)
        frac = numpy.array(row["frac"].split(), float).reshape(-1, 3)
        item = {
            "name": formula,
            "formula": formula,
            "crystal": Crystal(lattice, frac, row["species"].split()),
        }
        rng = numpy.random.default_rng([0, zlib.crc32(formula.encode())])
        settings = draw_settings(rng, set(item["crystal"].species))
        gr = out / f"{formula}.gr"
        write_gr(gr, item, settings, rng)
        t0 = time.time()
        cands, _, _ = candidates_for(gr, group)
        fitted = fit_candidates(
            gr, cands, out / "fits" / formula, composition=formula, jobs=2
        )
        wall = time.time() - t0
        true = next((r for r in fitted if r["number"] == group), {})
        results.append((formula, group, row["id"], true, wall))
        rw = true.get("rw")
        print(
            f"{formula:9s} {group:3d} {row['id']:11s} rank "
            f"{true.get('rank')} Rw {rw if rw is None else round(rw, 4)} "
            f"route {true.get('route')} wall {wall:.0f} s",
            flush=True,
        )
    first = sum(t.get("rank") == 1 for _, _, _, t, _ in results)
    solved = sum(
        t.get("rank") == 1 and (t.get("rw") or 1) <= 0.15
        for _, _, _, t, _ in results
    )
    print(
        f"true group first for {first} of {len(results)}, and with "
        f"Rw <= 0.15 for {solved}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
