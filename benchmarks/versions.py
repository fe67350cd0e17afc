"""Speed of this working tree against an earlier revision, in one run.

Usage::

    python benchmarks/versions.py [--base REV] [--rounds 3]

The earlier revision (default: the parent of the first commit of the
"one home" restructuring, ``b59618c``) is checked out into a temporary
git worktree; each measurement then runs in a fresh interpreter with
``sys.path`` pointing at one tree or the other, alternating between the
two trees for ``--rounds`` rounds so that a change of machine load hits
both alike.  The table gives the best time of each and the ratio
(this tree / base; below 1 is faster).

Measurements (every one on the shipped model and the shared data):

* ``pdf``: the builtin calculator on 40 structures of
  ``../shared/data/structures`` (Table-2 settings);
* ``predict``: ``predict`` on the 21 measured PDFs, warm, one thread;
* ``batch``: ``predict_proba`` on 2,000 inputs, radiation unknown;
* ``first``: from a fresh interpreter to the first prediction of one
  file (import, model load, predict: what a command-line call costs);
* ``fitpdf``: the builtin calculator on the same 40 structures on a
  refinement's grid (1.5-20 A in steps of 0.02 A, Qmax 22/A);
* ``rowpdf``: the PDFs of the training-set build (``row_pdf``: fine grid,
  drawn physics, resampled) of 40 structures of
  ``../shared/data/structures``;
* ``fit``: one refinement of rutile TiO2 (Wyckoff start) against
  ``TiO2_rutile_fine_qmax26_xray.gr``, 120 function evaluations per
  step and no time limit, so both trees do the same steps.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _pdf_snippet(grid):
    """The builtin calculator on 40 structures of ``structures``, with the
    settings ``grid`` (keyword arguments; empty: Table 2)."""
    return (
        """
import glob, time, warnings
warnings.simplefilter("ignore")
from diffpy.structure import loadStructure
from diffpy.sgpredict.pdfcalc import calculate_pdf
files = sorted(glob.glob("{shared}/structures/*.cif"))[:40]
strus = []
for f in files:
    try:
        strus.append(loadStructure(f))
    except Exception:
        pass
"""
        f"grid = dict({grid})\n"
        """calculate_pdf(strus[0], **grid)
t = time.perf_counter()
for s in strus:
    calculate_pdf(s, **grid)
print(time.perf_counter() - t)
"""
    )


#: Each snippet prints one number: seconds of the measured step.
SNIPPETS = {
    "pdf": _pdf_snippet(""),
    "predict": """
import glob, time
from diffpy.sgpredict.predictor import Predictor
files = sorted(glob.glob("{shared}/exp_pdfs/*.gr"))
p = Predictor(threads=1)
p.predict(files[0])
t = time.perf_counter()
for f in files:
    p.predict(f)
print(time.perf_counter() - t)
""",
    "batch": """
import time, numpy
from diffpy.sgpredict.predictor import Predictor
p = Predictor()
x = numpy.random.default_rng(0).random((2000, 209)).astype("float32")
p.predict_proba(x[:10])
t = time.perf_counter()
p.predict_proba(x)
print(time.perf_counter() - t)
""",
    "first": """
import glob, time
t = time.perf_counter()
from diffpy.sgpredict import predict
predict(sorted(glob.glob("{shared}/exp_pdfs/*.gr"))[0])
print(time.perf_counter() - t)
""",
    "fitpdf": _pdf_snippet(
        "rmin=1.5, rmax=20.0, rstep=0.02, qmax=22.0, " "qdamp=0.03"
    ),
    "rowpdf": """
import time, warnings
warnings.simplefilter("ignore")
import numpy
from diffpy.sgpredict.dataset import build_config
from diffpy.sgpredict.dataset.build import draw_settings, row_pdf
from diffpy.sgpredict.structures.cifs import read_cif_folder
entries, _ = read_cif_folder("{shared}/structures", min_distance=0.1)
entries = entries[:40]
config = build_config()
settings = draw_settings(numpy.random.default_rng(0))
row_pdf(entries[0], settings, config)
t = time.perf_counter()
for c in entries:
    row_pdf(c, settings, config)
print(time.perf_counter() - t)
""",
    "fit": """
import time, warnings
warnings.simplefilter("ignore")
from diffpy.sgpredict.refine.fitting import fit_structure
from diffpy.sgpredict.refine.settings import expand
from diffpy.sgpredict.refine.startmodel import StartingStructure
stru = expand([4.65, 4.65, 2.97, 90, 90, 90],
              [("Ti", 0, 0, 0), ("O", 0.31, 0.31, 0)], 136)
start = StartingStructure(136, "P4_2/mnm", stru, "wyckoff", "rutile",
                          "generated")
data = "{shared}/exp_pdfs/TiO2_rutile_fine_qmax26_xray.gr"
t = time.perf_counter()
fit_structure(data, start, calculator="builtin", max_nfev=120)
print(time.perf_counter() - t)
""",
}


def _run(src, name):
    """Seconds of one measurement with the package from ``src``."""
    code = f"import sys; sys.path.insert(0, {str(src)!r})\n" + SNIPPETS[
        name
    ].format(shared=SHARED)
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _check_tree(src):
    """The package a tree's sys.path entry imports (must be that tree)."""
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r}); "
        "import diffpy.sgpredict as m; print(m.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    return out.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="b59618c", help="git revision")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", nargs="+", choices=sorted(SNIPPETS), default=None
    )
    args = parser.parse_args(argv)
    names = args.only or list(SNIPPETS)
    with tempfile.TemporaryDirectory(prefix="sgpredict-base-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
             str(base), args.base],
            check=True,
        )  # fmt: skip
        try:
            trees = {"base": base / "src", "this": ROOT / "src"}
            for label, src in trees.items():
                where = _check_tree(src)
                if not where.startswith(str(src)):
                    print(f"{label}: imports {where}, not {src}")
                    return 2
            best = {(n, t): float("inf") for n in names for t in trees}
            for _ in range(args.rounds):
                for name in names:
                    for label, src in trees.items():
                        seconds = _run(src, name)
                        best[name, label] = min(best[name, label], seconds)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force",
                 str(base)],
                check=False,
            )  # fmt: skip
    print(f"base {args.base} against this tree, best of {args.rounds}")
    print(f"{'measure':<10} {'base (s)':>10} {'this (s)':>10} {'ratio':>7}")
    rows = {}
    for name in names:
        b, t = best[name, "base"], best[name, "this"]
        rows[name] = {"base": b, "this": t, "ratio": t / b}
        print(f"{name:<10} {b:>10.3f} {t:>10.3f} {t / b:>7.2f}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
