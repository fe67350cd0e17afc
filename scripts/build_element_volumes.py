"""Build the table of atomic volumes per element (volume additivity).

Run from the repository root::

    python scripts/build_element_volumes.py [TABLE] [--out CSV]

TABLE defaults to ``../shared/data/mp/mp_structures.csv.gz``, CSV to
``src/diffpy/sgpredict/data/volumes/element_volumes.csv``.

The cell volume of a crystal is close to the sum of volumes of its atoms
(Biltz's volume increments): :math:`V \\approx \\sum_e n_e v_e`.  The
``v_e`` are fitted by least squares of the relative error,
:math:`\\sum (1 - \\sum_e n_e v_e / V)^2`, to the experimental rows
(``experimental == 1``) of a Materials Project table (CC BY 4.0;
Jain et al., APL Materials 1, 011002 (2013)); elements in fewer than
20 of those structures are left out.  The table gives ``v_e`` (A^3) and
how many structures hold the element; its header gives the rows used,
the robust spread of :math:`\\ln(V / \\sum_e n_e v_e)` and the licence.
PBE relaxations make cells 3-9 % larger in volume than measured ones:
the volumes are those of the relaxed structures.

About a minute on one core.
"""

import argparse
import csv
import gzip
from collections import Counter
from pathlib import Path

import numpy
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import lsqr

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO.parent / "shared" / "data" / "mp" / "mp_structures.csv.gz"
DEFAULT_OUT = (
    REPO
    / "src"
    / "diffpy"
    / "sgpredict"
    / "data"
    / "volumes"
    / "element_volumes.csv"
)
MIN_STRUCTURES = 20


def read_rows(path):
    """Cell volume and element counts of the experimental rows."""
    csv.field_size_limit(1 << 30)
    out = []
    with gzip.open(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("experimental") != "1":
                continue
            base = numpy.array(row["lattice"].split(), float).reshape(3, 3)
            vol = abs(float(numpy.linalg.det(base)))
            counts = Counter(row["species"].split())
            if vol > 0 and counts:
                out.append((vol, counts))
    return out


def fit(rows):
    """Least-squares atomic volumes and the spread of ln(V / V_sum)."""
    seen = Counter(el for _, c in rows for el in c)
    elements = sorted(el for el, n in seen.items() if n >= MIN_STRUCTURES)
    index = {el: i for i, el in enumerate(elements)}
    rows = [(v, c) for v, c in rows if all(el in index for el in c)]
    data, ii, jj = [], [], []
    for k, (vol, counts) in enumerate(rows):
        for el, n in counts.items():
            ii.append(k)
            jj.append(index[el])
            data.append(n / vol)  # relative: sum_e n_e v_e / V = 1
    a = csr_matrix((data, (ii, jj)), shape=(len(rows), len(elements)))
    v = lsqr(a, numpy.ones(len(rows)), atol=1e-12, btol=1e-12)[0]
    pred = a @ v
    logs = numpy.log(1.0 / numpy.clip(pred, 1e-9, None))
    mad = float(numpy.median(numpy.abs(logs - numpy.median(logs))))
    return elements, v, seen, len(rows), 1.4826 * mad, logs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("table", nargs="?", default=str(DEFAULT_TABLE))
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    rows = read_rows(args.table)
    elements, v, seen, nrows, sigma, logs = fit(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        fh.write(
            "# atomic volumes (A^3) by least squares of the cell volume, "
            "V = sum n_e v_e,\n"
            f"# over {nrows} experimental rows of the Materials Project "
            "table (CC BY 4.0; Jain et al., APL Materials 1, 011002, "
            "2013)\n"
            f"# robust spread of ln(V / sum n_e v_e): {sigma:.4f}\n"
            "# built by scripts/build_element_volumes.py\n"
        )
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["element", "volume", "structures"])
        for el, vol in zip(elements, v):
            w.writerow([el, f"{vol:.3f}", seen[el]])
    print(
        f"{len(elements)} elements from {nrows} structures; spread of "
        f"ln(V/V_sum) {sigma:.4f} (robust), "
        f"{float(numpy.mean(numpy.abs(logs) > 3 * sigma)) * 100:.1f} % "
        f"beyond 3 sigma; written to {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
