"""Single-file prediction latency in process, idle and with the cores busy.

Usage::

    python benchmarks/predict_latency.py [--file FILE.gr] [--repeat 50]

For each thread count (1, 2, ``min(4, cores)``) it times
``Predictor.predict(file)`` (reading the file, the in-domain checks, the
network, families) warm in process: first with no extra load, then while
one busy-looping process loads one core, then one per core (started
here, stopped after each block).  Prints median and 95th-percentile wall
milliseconds per file, and the median CPU time of this process per file
(what one file costs on a core of its own; on a machine already loaded
by others the wall time is larger).  Target (issue 10): <= 20 ms warm,
also when the cores are busy.
"""

import argparse
import multiprocessing
import os
import time
from importlib import resources

import numpy


def _spin(stop):
    """Keep one core busy until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for _ in range(10000):
            x += 1


def _time(predictor, path, repeat):
    predictor.predict(path)  # warm
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        predictor.predict(path)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t = numpy.array(times) * 1000
    c = numpy.array(cpu) * 1000
    return (
        float(numpy.median(t)),
        float(numpy.percentile(t, 95)),
        float(numpy.median(c)),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="a .gr file (default: bundled Ni)")
    parser.add_argument("--model", help="model folder (default: shipped)")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)

    from diffpy.sgpredict.predictor import Predictor, default_threads

    path = args.file or str(
        resources.files("diffpy.sgpredict") / "data/examples/Ni_xray.gr"
    )
    cores = os.cpu_count() or 1
    counts = sorted({1, 2, default_threads(), default_threads(1)})
    predictors = {n: Predictor(args.model, threads=n) for n in counts}
    before = os.getloadavg()[0]
    rows = []
    for busy in sorted({0, 1, cores}):
        load = "no extra load" if busy == 0 else f"{busy} busy process"
        load += "es" if busy > 1 else ""
        stop = multiprocessing.Event()
        workers = [
            multiprocessing.Process(target=_spin, args=(stop,))
            for _ in range(busy)
        ]
        for w in workers:
            w.start()
        if workers:
            time.sleep(0.5)
        try:
            for n in counts:
                rows.append(
                    (load, n, *_time(predictors[n], path, args.repeat))
                )
        finally:
            stop.set()
            for w in workers:
                w.join()
    print(
        f"file: {path}; {cores} cores; default threads: "
        f"{default_threads(1)} for one file, {default_threads()} for batches"
    )
    print(f"1-min load average of the machine before: {before:.1f}")
    print(
        f"{'machine':<20}{'threads':>8}{'median ms':>11}{'p95 ms':>9}"
        f"{'cpu ms':>8}"
    )
    for load, n, med, p95, cpu in rows:
        print(f"{load:<20}{n:>8}{med:>11.2f}{p95:>9.2f}{cpu:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
