"""Build the site patterns of real structures shipped with the package.

Run from the repository root::

    python scripts/build_site_patterns.py [TABLE] [--out JSON.GZ]

TABLE defaults to ``../shared/data/mp/mp_structures.csv.gz`` (the
Materials Project, CC BY 4.0; Jain et al., APL Materials 1, 011002
(2013)), the output to ``src/diffpy/sgpredict/data/site_patterns.json.gz``.

For every structure of the table in the 45 groups, spglib's Wyckoff
sites and the amount of each site's element in the reduced formula
(:func:`diffpy.sgpredict.structures.stats.site_pattern`), counted once
per (reduced formula, group, pattern); the refinement's Wyckoff
enumeration tries the patterns of the composition's anonymous formula
first (:func:`diffpy.sgpredict.structures.stats.site_patterns`).

About 15 minutes on one core.
"""

import argparse
from pathlib import Path

from tqdm import tqdm

from diffpy.sgpredict.structures.stats import (
    PATTERNS_PATH,
    build_site_patterns,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", nargs="?", default=str(DEFAULT_TABLE))
    ap.add_argument("--out", default=PATTERNS_PATH)
    args = ap.parse_args(argv)
    counts = build_site_patterns(args.table, args.out, progress=tqdm)
    print(
        f"{counts['rows']} rows in the 45 groups, {counts['skipped']} "
        f"skipped (spglib found another group), {counts['patterns']} "
        f"patterns written to {args.out}"
    )


if __name__ == "__main__":
    main()
