"""Build the known compounds shipped with the package.

Run from the repository root::

    python scripts/build_known_compounds.py [TABLE] [--out JSON.GZ]

TABLE defaults to ``../shared/data/mp/mp_structures.csv.gz`` (the
Materials Project, CC BY 4.0; Jain et al., APL Materials 1, 011002
(2013)), the output to
``src/diffpy/sgpredict/data/known_compounds/known_compounds.json.gz``.

The experimental entries of the 45 groups, up to three per (reduced
formula, group), as asymmetric units in diffpy's setting
(:func:`diffpy.sgpredict.refine.known.build_known_compounds`): the
refinement's ``known`` route.  About 10 minutes on one core.
"""

import argparse
from pathlib import Path

from tqdm import tqdm

from diffpy.sgpredict.refine.known import (
    KNOWN_PATH,
    MAX_SITES,
    build_known_compounds,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", nargs="?", default=str(DEFAULT_TABLE))
    ap.add_argument("--out", default=KNOWN_PATH)
    ap.add_argument(
        "--max-sites",
        type=int,
        default=MAX_SITES,
        help="largest asymmetric unit stored (default %(default)s)",
    )
    args = ap.parse_args(argv)
    counts = build_known_compounds(
        args.table, args.out, args.max_sites, progress=tqdm
    )
    print(
        f"{counts['rows']} experimental rows (up to 3 per formula and "
        "group), "
        f"{counts['entries']} written to {args.out}; "
        f"{counts['too_large']} with over {args.max_sites} sites, "
        f"{counts['skipped']} skipped (another group, no small integer "
        "ratio, or sites that do not expand to the cell)"
    )


if __name__ == "__main__":
    main()
