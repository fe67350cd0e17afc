"""Build the table of ionic radii per element.

Run from the repository root::

    python scripts/build_ionic_radii.py [--out CSV]

CSV defaults to ``src/diffpy/sgpredict/data/radii/ionic_radii.csv``.
Needs pymatgen (MIT licence), whose element data hold the radii of
R. D. Shannon, Acta Cryst. A 32, 751-767 (1976).  For each element the
table gives its radius as a cation and as an anion (A), each averaged
over the element's positive or negative oxidation states
(``Element.average_cationic_radius``, ``average_anionic_radius``);
empty where pymatgen has none.  A second.
"""

import argparse
import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = (
    REPO / "src" / "diffpy" / "sgpredict" / "data" / "radii"
) / "ionic_radii.csv"


def radii():
    """``[(element, cation radius or None, anion radius or None)]``
    for the elements H to Pu."""
    from pymatgen.core import Element

    rows = []
    for z in range(1, 95):
        el = Element.from_Z(z)
        cation = float(el.average_cationic_radius) or None
        anion = float(el.average_anionic_radius) or None
        rows.append((el.symbol, cation, anion))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    import pymatgen.core

    rows = radii()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            "# Shannon's radii (Acta Cryst. A 32, 751 (1976)) as "
            f"pymatgen {pymatgen.core.__version__} tabulates them, "
            "averaged over the positive (cation) and negative (anion) "
            "oxidation states; A\n"
            "# built by scripts/build_ionic_radii.py\n"
        )
        writer = csv.writer(fh)
        writer.writerow(["element", "cation", "anion"])
        for el, cation, anion in rows:
            writer.writerow(
                [
                    el,
                    f"{cation:.4f}" if cation else "",
                    f"{anion:.4f}" if anion else "",
                ]
            )
    counts = [sum(1 for r in rows if r[k]) for k in (1, 2)]
    print(
        f"{out}: {len(rows)} elements, {counts[0]} cation radii, "
        f"{counts[1]} anion radii"
    )


if __name__ == "__main__":
    main()
