"""Cost of the elastic-net baseline: the torch FISTA solver against saga.

Both solvers minimise the same objective (the tests check it); this
script times them on the same rows and prints the cost per row and pass
and the ratio, in one run.  Rows are smooth random curves shaped like
normalised PDFs, so no dataset is needed::

    python benchmarks/logreg.py                    # quadratic features
    python benchmarks/logreg.py --linear --rows 5000
    python benchmarks/logreg.py --rows 400 --saga-passes 3

saga is slow on the 21,736 quadratic features (6-10 ms of one core
per row and pass), so its part is kept small by default.
"""

import argparse
import time


def curves(n, seed=0):
    """Random smooth curves in [0, 1] on the model grid, and labels."""
    import numpy

    from diffpy.sgpredict.grid import MODEL_GRID

    rng = numpy.random.default_rng(seed)
    r = MODEL_GRID.r
    k = rng.uniform(1.0, 6.0, (n, 3))
    phase = rng.uniform(0, 2 * numpy.pi, (n, 3))
    g = numpy.sum(
        numpy.sin(k[:, :, None] * r[None, None, :] + phase[:, :, None]),
        axis=1,
    ) * numpy.exp(-0.05 * r)
    g = (g - g.min(1, keepdims=True)) / numpy.ptp(g, axis=1, keepdims=True)
    y = rng.integers(0, 45, n)
    return g.astype(numpy.float32), y


def seconds(solver, x, y, quadratic, passes):
    from diffpy.sgpredict.training.logreg import fit_logreg

    t = time.perf_counter()
    _, info = fit_logreg(
        x,
        y,
        quadratic=quadratic,
        alphas=(1e-4,),
        l1_ratios=(0.75,),
        max_iter=passes,
        tol=0.0,
        solver=solver,
    )
    return time.perf_counter() - t, info["n_iter"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2000, help="FISTA rows")
    p.add_argument("--saga-rows", type=int, default=300)
    p.add_argument("--passes", type=int, default=20, help="FISTA passes")
    p.add_argument("--saga-passes", type=int, default=3)
    p.add_argument("--linear", action="store_true", help="X, not X_i X_j")
    p.add_argument("--threads", type=int, help="torch threads")
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    quadratic = not args.linear
    rows = []
    for solver, n, passes in (
        ("fista", args.rows, args.passes),
        ("saga", args.saga_rows, args.saga_passes),
    ):
        x, y = curves(n)
        sec, done = seconds(solver, x, y, quadratic, passes)
        rows.append((solver, n, done, sec, 1e3 * sec / (n * max(done, 1))))
    features = "X_i X_j (21,736)" if quadratic else "X (209)"
    print(f"elastic-net logistic regression on {features}, 45 classes")
    print(
        f"{'solver':<8}{'rows':>8}{'passes':>8}{'seconds':>10}"
        f"{'ms/row/pass':>14}"
    )
    for solver, n, done, sec, per in rows:
        print(f"{solver:<8}{n:>8}{done:>8}{sec:>10.2f}{per:>14.4f}")
    print(
        f"saga / fista cost per row and pass: {rows[1][4] / rows[0][4]:.0f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
