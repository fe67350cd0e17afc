"""Prediction speed: single-file latency, batch throughput, CLI wall time.

Usage::

    python benchmarks/predict.py [--model DIR] [--file FILE.gr] [-n 2000]

Prints a table.  Targets (issues 2 and 9): <= 20 ms per file warm in
process, >= 1,000 PDFs/s batched on 2 cores (radiation unknown, so a
model that reads the radiation runs both), CLI on one file <= 2.5 times
a bare ``python -c "import torch"``, both timed here in the same run.
"""

import argparse
import subprocess
import sys
import time
from importlib import resources

import numpy


def _best_of(func, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times), float(numpy.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: shipped)")
    parser.add_argument("--file", help="a .gr file (default: bundled Ni)")
    parser.add_argument("-n", type=int, default=2000, help="batch size")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    import torch

    from diffpy.sgpredict.grid import MODEL_GRID
    from diffpy.sgpredict.io import load_pdf
    from diffpy.sgpredict.predictor import Predictor

    path = args.file or str(
        resources.files("diffpy.sgpredict") / "data/examples/Ni_xray.gr"
    )
    t0 = time.perf_counter()
    predictor = Predictor(args.model)
    t_load = time.perf_counter() - t0
    predictor.predict(path)  # warm up
    single = _best_of(lambda: predictor.predict(path), args.repeat)
    data = load_pdf(path)
    arr = _best_of(lambda: predictor.predict(data.r, data.g), args.repeat)
    rng = numpy.random.default_rng(0)
    x = rng.random((args.n, MODEL_GRID.npoints)).astype(numpy.float32)
    batch = _best_of(lambda: predictor.predict_proba(x), 3)
    xray = numpy.zeros(args.n)
    told = _best_of(lambda: predictor.predict_proba(x, radiation=xray), 3)
    cmd = [sys.executable, "-m", "diffpy.sgpredict", "predict", path]
    if args.model:
        cmd += ["--model", args.model]
    cli = _best_of(
        lambda: subprocess.run(cmd, check=True, capture_output=True), 3
    )
    bare = _best_of(
        lambda: subprocess.run(
            [sys.executable, "-c", "import torch"],
            check=True,
            capture_output=True,
        ),
        3,
    )
    rows = [
        ("model load (sha256 + safetensors)", f"{t_load * 1e3:.1f} ms", ""),
        (
            "predict(file), warm",
            f"{single[0] * 1e3:.1f} ms",
            f"median {single[1] * 1e3:.1f} ms; target <= 20 ms",
        ),
        (
            "predict(r, g), warm",
            f"{arr[0] * 1e3:.1f} ms",
            f"median {arr[1] * 1e3:.1f} ms",
        ),
        (
            f"predict_proba batch of {args.n}",
            f"{args.n / batch[0]:.0f} PDFs/s",
            "radiation unknown; target >= 1000 PDFs/s",
        ),
        (
            f"predict_proba batch of {args.n}, X-ray",
            f"{args.n / told[0]:.0f} PDFs/s",
            "radiation given",
        ),
        ("CLI on one file (wall)", f"{cli[0]:.2f} s", ""),
        ('python -c "import torch" (wall)', f"{bare[0]:.2f} s", ""),
        (
            "CLI / import torch",
            f"{cli[0] / bare[0]:.2f}x",
            "target <= 2.5x",
        ),
    ]
    card = predictor.card
    print(
        f"model {card.get('name')} ({card['architecture']} "
        f"{card['config']}, ensemble {card.get('ensemble', 1)}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'best':>14}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
