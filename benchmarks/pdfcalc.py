"""Throughput of the PDF calculators on a folder of CIFs.

Usage::

    python benchmarks/pdfcalc.py [CIF_DIR] [--repeat N] [--max-atoms N]

CIF_DIR defaults to ``../shared/data/structures`` next to the
repository.  Every CIF is parsed once (``loadStructure``) and its PDF
computed ``N`` times with the Table-2 settings; the table gives PDFs per
second with the parse excluded (best of the repeats per structure,
summed) and included (one parse + one calculation per structure).  When
diffpy.srreal is importable the same is done with srreal's
``PDFCalculator`` (``evaluatortype="BASIC"``) in the same run and the
ratio is printed.  Run it on an otherwise idle core for stable numbers.
"""

import argparse
import sys
import time
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"
DEFAULT_DIR = DEFAULT_DIR / "data" / "structures"


def _time(func, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _bench(name, backend, structures, parse_times, settings, repeat):
    calc = []
    for stru in structures:
        calc.append(_time(lambda: backend(stru, settings), repeat))
    n = len(calc)
    return {
        "name": name,
        "n": n,
        "calc": sum(calc),
        "with_parse": sum(calc) + sum(parse_times),
        "slowest": max(calc) if calc else 0.0,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cif_dir", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--max-atoms",
        type=int,
        default=None,
        help="only structures with at most this many atoms (after P1 "
        "expansion)",
    )
    args = parser.parse_args(argv)

    from diffpy.structure import loadStructure

    from diffpy.sgpredict.pdfcalc import PDFSettings, get_calculator
    from diffpy.sgpredict.pdfcalc.srrealcalc import SrrealCalculator

    files = sorted(Path(args.cif_dir).glob("*.cif"))
    if not files:
        print(f"no CIFs in {args.cif_dir}", file=sys.stderr)
        return 2
    structures, parse_times, natoms = [], [], []
    for path in files:
        t0 = time.perf_counter()
        try:
            stru = loadStructure(str(path))
        except Exception as exc:
            print(f"skip {path.name}: {exc}", file=sys.stderr)
            continue
        dt = time.perf_counter() - t0
        if args.max_atoms and len(stru) > args.max_atoms:
            continue
        structures.append(stru)
        parse_times.append(dt)
        natoms.append(len(stru))
    settings = PDFSettings()
    builtin = get_calculator("builtin")
    builtin(structures[0], settings)  # warm up imports and caches
    rows = [
        _bench(
            "builtin", builtin, structures, parse_times, settings, args.repeat
        )
    ]
    if SrrealCalculator.available():
        srreal = SrrealCalculator()
        srreal(structures[0], settings)
        rows.append(
            _bench("srreal", srreal, structures, parse_times, settings, 1)
        )
    print(
        f"{len(structures)} structures from {args.cif_dir}, "
        f"{min(natoms)}-{max(natoms)} atoms (median "
        f"{sorted(natoms)[len(natoms) // 2]}), Table-2 settings, "
        f"repeat {args.repeat}"
    )
    print(
        f"{'calculator':<10} {'PDFs/s':>9} {'PDFs/s+parse':>13} "
        f"{'slowest (s)':>12}"
    )
    for row in rows:
        print(
            f"{row['name']:<10} {row['n'] / row['calc']:>9.1f} "
            f"{row['n'] / row['with_parse']:>13.1f} {row['slowest']:>12.4f}"
        )
    if len(rows) == 2:
        ratio = rows[1]["calc"] / rows[0]["calc"]
        print(f"builtin / srreal throughput: {ratio:.2f}")
    else:
        print("srreal: not installed (diffpy.srreal is not importable)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
