"""Counted work against CPU time: the Wyckoff enumeration's budget.

Run from the repository root::

    python benchmarks/enumeration.py [--structures DIR] [--n 12]
        [--seed 0] [--budget 8]

The enumeration's budget counts work
(:class:`diffpy.sgpredict.refine.work.WorkMeter`), not CPU seconds.
This script checks both halves of that promise on the structures of
``benchmarks/refine_synthetic.py`` (its selection and its synthetic
X-ray PDFs, written to a temporary folder): for each, the true group
is enumerated twice in this process, once with the other core idle
and once while a second process keeps it busy with matrix products
(what ``refine --jobs 2`` does).  It prints the counted seconds, the
CPU seconds of both runs and their ratio to the counted ones, the
quick-fit Rw of both runs and whether the two runs returned the same
structures; then how many were the same and the median and range of
CPU over counted seconds.  Before the work was counted, the busy run
took fewer steps and could return other structures.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refine_synthetic import draw_settings, select, write_gr  # noqa: E402

from diffpy.sgpredict.refine.fitdata import prepare_data  # noqa: E402
from diffpy.sgpredict.refine.wyckoff import enumerate_starts  # noqa: E402

BUSY = (
    "import numpy\n"
    "a = numpy.random.default_rng(0).random((400, 400))\n"
    "while True:\n"
    "    a = a @ a\n"
    "    a /= numpy.abs(a).max()\n"
)


def enumerate_once(item, path, budget):
    """CPU seconds, counted seconds and the structures found."""
    data = prepare_data(str(path), 1.5, 20.0, 0.02)
    t0 = time.process_time()
    found = enumerate_starts(
        item["group"],
        item["formula"],
        data,
        budget=budget,
        keep=2,
        rng=numpy.random.default_rng(0),
    )
    cpu = time.process_time() - t0
    counted = float(re.search(r"guesses, ([0-9.]+) s", found[0].notes[-1])[1])
    same = [(e.name, round(e.quick_rw, 6), e.notes[-1]) for e in found]
    return cpu, counted, same


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default="../shared/data/structures")
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=8.0)
    args = ap.parse_args(argv)
    chosen = select(args.structures, 30, args.seed, type_match="matcher")
    chosen = chosen[: args.n]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"{'name':10s} {'formula':12s} {'grp':>3s} {'counted':>7s} "
            f"{'cpu idle':>8s} {'cpu busy':>8s} {'idle/c':>6s} "
            f"{'busy/c':>6s} {'Rw idle':>7s} {'Rw busy':>7s} same"
        )
        for item in chosen:
            rng = numpy.random.default_rng(
                [args.seed, zlib.crc32(item["name"].encode())]
            )
            settings = draw_settings(rng, set(item["crystal"].species))
            path = Path(tmp) / f"{item['name']}.gr"
            write_gr(path, item, settings, rng)
            idle = enumerate_once(item, path, args.budget)
            busy_proc = subprocess.Popen([sys.executable, "-c", BUSY])
            try:
                time.sleep(0.5)
                busy = enumerate_once(item, path, args.budget)
            finally:
                busy_proc.kill()
                busy_proc.wait()
            same = idle[2] == busy[2]
            rows.append((idle[0] / idle[1], busy[0] / busy[1], same))
            print(
                f"{item['name']:10s} {item['formula']:12s} "
                f"{item['group']:>3d} {idle[1]:7.1f} {idle[0]:8.2f} "
                f"{busy[0]:8.2f} {idle[0] / idle[1]:6.2f} "
                f"{busy[0] / busy[1]:6.2f} {idle[2][0][1]:7.4f} "
                f"{busy[2][0][1]:7.4f} {'yes' if same else 'NO'}",
                flush=True,
            )
    ratios = numpy.array([r[:2] for r in rows])
    print(
        f"same structures idle and busy: {sum(r[2] for r in rows)} / "
        f"{len(rows)}"
    )
    for k, what in enumerate(("idle", "busy")):
        print(
            f"CPU / counted seconds, {what}: median "
            f"{numpy.median(ratios[:, k]):.2f}, range "
            f"{ratios[:, k].min():.2f}-{ratios[:, k].max():.2f}"
        )


if __name__ == "__main__":
    main()
