"""Detection rates of the in-domain verdict on simulated and measured PDFs.

Builds, from the 164 public structures beside the repository
(``../shared/data/structures``) and from simulation:

* in domain: 120 crystal PDFs with random Qmax 14-40, Qdamp, Qbroad,
  Uiso, noise and r-range (the set the thresholds were set on), and
  120 more computed for neutrons (header says neutron;
  :func:`build_neutron_crystals`);
* out of domain: amorphous (random sequential packings; crystals smeared
  paracrystalline), molecular crystals (rigid molecules on an fcc
  lattice, sharp intra-, broad intermolecular peaks), two-phase mixtures
  (``mixture``: 50/50, 35/65, 25/75 of two different groups, each phase
  with its own settings; ``mixture-1q``: 50/50, 35/65, 20/80 measured
  together, one Qmax, Qdamp, Uiso, noise and r-range for both phases,
  built by :func:`build_mixtures`), F(Q), S(Q), I(Q) saved
  as G(r), noise, constants, Qmax 5-9 and 45-50, r-ranges the model
  cannot use, and neutron PDFs of compounds (header says neutron);

writes every PDF as a ``.gr`` (with the header lines a reduction program
would write) and runs ``diffpy.sgpredict.predict`` on the files, as a
user would: a file refused with an error counts as flagged.  Then the 21
measured PDFs of ``../shared/data/exp_pdfs``.  Prints flagged shares per
kind, with all checks and without the mixture detector
(:mod:`diffpy.sgpredict.mixture`), the share the mixture check flags by
itself, and the time of the domain check and of the mixture score per
file.

Run: ``python benchmarks/domain_eval.py [--workdir DIR]`` (about 15 min on
two cores, most of it building the simulated set; cached in DIR).
"""

import argparse
import csv
import math
import pickle
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _rows():
    with open(SHARED / "structures.csv") as fp:
        return list(csv.DictReader(fp))


def crystal_pdf(
    cif,
    rng,
    qmax=None,
    rmax=35.0,
    step=0.01,
    scattering="xray",
    uiso=None,
    qdamp=None,
):
    from diffpy.sgpredict.pdfcalc import calculate_pdf

    qmax = rng.uniform(14, 40) if qmax is None else qmax
    r, g = calculate_pdf(
        cif,
        rmin=0.0,
        rmax=rmax,
        rstep=step,
        qmin=0.5,
        qmax=qmax,
        qdamp=rng.uniform(0.02, 0.06) if qdamp is None else qdamp,
        qbroad=rng.uniform(0, 0.03),
        uiso=rng.uniform(0.003, 0.015) if uiso is None else uiso,
        scattering=scattering,
    )
    return r, g


def add_noise(g, rng, level):
    return g + rng.normal(0, level * numpy.ptp(g), len(g))


def as_measured(r, g, rng):
    """Noise (level 0-0.02) in half the cases, then the data end at a
    random r of 20-35 A, as measured files do; returns ``(r, g)``."""
    if rng.uniform() < 0.5:
        g = add_noise(g, rng, rng.uniform(0, 0.02))
    m = r <= rng.uniform(20, 35)
    return r[m], g[m]


def amorphous_rsa(rng, dmin=2.4, box=24.0, n=700, sigma=0.1):
    """Random sequential addition in a periodic cube: G(r) of a glass."""
    pts = []
    tries = 0
    while len(pts) < n and tries < 200000:
        tries += 1
        p = rng.uniform(0, box, 3)
        if pts:
            d = numpy.array(pts) - p
            d -= box * numpy.round(d / box)
            if (numpy.einsum("ij,ij->i", d, d) < dmin**2).any():
                continue
        pts.append(p)
    pts = numpy.array(pts)
    d = pts[:, None, :] - pts[None, :, :]
    d -= box * numpy.round(d / box)
    dist = numpy.sqrt((d**2).sum(-1))[numpy.triu_indices(len(pts), 1)]
    rho = len(pts) / box**3
    r = numpy.arange(0, 35, 0.01)
    hmax = box / 2
    hist, edges = numpy.histogram(
        dist, bins=numpy.arange(0, hmax + 0.01, 0.01)
    )
    rc = 0.5 * (edges[1:] + edges[:-1])
    gofr = hist / (0.5 * len(pts) * rho * 4 * math.pi * rc**2 * 0.01)
    kern = numpy.exp(-0.5 * (numpy.arange(-60, 61) * 0.01 / sigma) ** 2)
    gofr = numpy.convolve(gofr, kern / kern.sum(), mode="same")
    G = numpy.zeros_like(r)
    m = r < hmax - 0.5
    G[m] = 4 * math.pi * rho * r[m] * (numpy.interp(r[m], rc, gofr) - 1)
    return r, G


def paracrystal(r, g, rng, a=None):
    """Smear a crystal PDF with a width growing as sqrt(r): a glass/liquid."""
    a = rng.uniform(0.12, 0.25) if a is None else a
    out = numpy.empty_like(g)
    dr = r[1] - r[0]
    for i, ri in enumerate(r):
        s = max(a * math.sqrt(max(ri, 0.1)) - 0.1, 0.02)
        w = int(4 * s / dr) + 1
        lo, hi = max(0, i - w), min(len(r), i + w + 1)
        k = numpy.exp(-0.5 * ((r[lo:hi] - ri) / s) ** 2)
        out[i] = (k * g[lo:hi]).sum() / k.sum()
    return r, out


MOLECULES = {
    "benzene": (
        ["C"] * 6 + ["H"] * 6,
        [
            (1.39 * math.cos(t), 1.39 * math.sin(t), 0)
            for t in numpy.arange(6) * math.pi / 3
        ]
        + [
            (2.48 * math.cos(t), 2.48 * math.sin(t), 0)
            for t in numpy.arange(6) * math.pi / 3
        ],
    ),
    "CCl4": (
        ["C", "Cl", "Cl", "Cl", "Cl"],
        [(0, 0, 0)]
        + [
            tuple(1.77 / math.sqrt(3) * numpy.array(v))
            for v in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))
        ],
    ),
    "SF6": (
        ["S"] + ["F"] * 6,
        [
            (0, 0, 0),
            (1.56, 0, 0),
            (-1.56, 0, 0),
            (0, 1.56, 0),
            (0, -1.56, 0),
            (0, 0, 1.56),
            (0, 0, -1.56),
        ],
    ),
    "I2": (["I", "I"], [(0, 0, 1.33), (0, 0, -1.33)]),
    "CO2": (["O", "C", "O"], [(0, 0, -1.16), (0, 0, 0), (0, 0, 1.16)]),
    "P4": (
        ["P"] * 4,
        [
            tuple(2.21 / (2 * math.sqrt(2)) * numpy.array(v))
            for v in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))
        ],
    ),
}
Z = {"C": 6, "H": 1, "Cl": 17, "S": 16, "F": 9, "I": 53, "O": 8, "P": 15}


def molecular_crystal(rng, name, qmax=25.0):
    """Rigid molecules on an fcc lattice: sharp intra-, broad inter-peaks."""
    els, xyz = MOLECULES[name]
    xyz = numpy.array(xyz, float)
    # random common orientation
    q, _ = numpy.linalg.qr(rng.normal(size=(3, 3)))
    xyz = xyz @ q
    size = 2 * numpy.linalg.norm(xyz, axis=1).max()
    a = math.sqrt(2) * (size + rng.uniform(3.0, 3.8))
    w = numpy.array([Z[e] for e in els], float)
    nmax = int(34 / a) + 2
    cells = numpy.array(
        [
            (i, j, k)
            for i in range(-nmax, nmax + 1)
            for j in range(-nmax, nmax + 1)
            for k in range(-nmax, nmax + 1)
        ],
        float,
    )
    basis = numpy.array(
        [(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)]
    )
    sites = (cells[:, None, :] + basis[None]).reshape(-1, 3) * a
    sites = sites[numpy.linalg.norm(sites, axis=1) < 36]
    r = numpy.arange(0, 35, 0.01)
    R = numpy.zeros_like(r)
    s_intra = 0.05
    s_inter = rng.uniform(0.25, 0.45)
    natom = len(els)
    for i in range(natom):
        # intra
        for j in range(natom):
            if i == j:
                continue
            d = numpy.linalg.norm(xyz[i] - xyz[j])
            R += (
                w[i]
                * w[j]
                * numpy.exp(-0.5 * ((r - d) / s_intra) ** 2)
                / (s_intra * math.sqrt(2 * math.pi))
            )
        other = sites[numpy.linalg.norm(sites, axis=1) > 1e-6]
        for j in range(natom):
            d = numpy.linalg.norm(other + xyz[j] - xyz[i], axis=1)
            d = d[d < 35.5]
            hist, edges = numpy.histogram(
                d, bins=numpy.arange(0, 35.005, 0.01)
            )
            hist = numpy.convolve(
                hist,
                numpy.exp(
                    -0.5 * (numpy.arange(-200, 201) * 0.01 / s_inter) ** 2
                )
                / (s_inter * math.sqrt(2 * math.pi)),
                mode="same",
            )
            R[: len(hist)] += w[i] * w[j] * hist
    wm = w.mean()
    R /= natom * wm**2
    rho = 4 * natom / a**3
    G = numpy.zeros_like(r)
    G[1:] = R[1:] / r[1:] - 4 * math.pi * rho * r[1:]
    return r, fourier_filter(r, G, qmax)


def fourier_filter(r, g, qmax, qmin=0.5):
    """Cut G(r) to the Q range [qmin, qmax] (termination ripples)."""
    dr = r[1] - r[0]
    q = numpy.arange(0, qmax + 1e-9, 0.02)
    F = (numpy.sin(numpy.outer(q, r)) * g).sum(1) * dr
    F[q < qmin] = 0
    return r, (2 / math.pi) * (numpy.sin(numpy.outer(r, q)) * F).sum(1) * 0.02


def fq_of(r, g, qmin=0.8, qmax=25.0, dq=0.01):
    """F(Q) of a G(r): the transform a user might save as .gr by mistake."""
    q = numpy.arange(qmin, qmax, dq)
    dr = r[1] - r[0]
    F = (numpy.sin(numpy.outer(q, r)) * g).sum(1) * dr
    return q, F


def build(seed=0, n_in=120):
    """Return the in-domain and out-of-domain sets.

    Each is a list of ``(kind, name, r, g, meta)``.
    """
    from diffpy.sgpredict.errors import InputError

    rng = numpy.random.default_rng(seed)
    rows = _rows()
    ids, ood = [], []
    pick = rng.choice(len(rows), size=min(n_in, len(rows)), replace=False)
    cache = {}
    for k in pick:
        row = rows[k]
        cif = SHARED / row["file"]
        try:
            r, g = crystal_pdf(cif, rng)
        except InputError as exc:
            print("skip", cif, exc, file=sys.stderr)
            continue
        cache[row["id"]] = (r, g, row)
        ids.append(("crystal", row["id"], *as_measured(r, g, rng), {}))
    keys = list(cache)
    # amorphous: random packings and smeared crystals
    for i in range(12):
        r, g = amorphous_rsa(rng, dmin=rng.uniform(2.2, 2.8), n=600)
        ood.append(
            (
                "amorphous",
                f"rsa{i}",
                r,
                fourier_filter(r, g, rng.uniform(18, 30))[1],
                {},
            )
        )
    for i in range(24):
        r, g, row = cache[keys[i]]
        ood.append(
            ("amorphous", f'para-{row["id"]}', *paracrystal(r, g, rng), {})
        )
    # molecular crystals
    for i, name in enumerate(list(MOLECULES) * 3):
        r, g = molecular_crystal(rng, name, qmax=rng.uniform(18, 30))
        ood.append(("molecular", f"{name}{i}", r, g[1], {}))
    # two-phase mixtures
    for i in range(30):
        a, b = rng.choice(len(keys), 2, replace=False)
        ra, ga, rowa = cache[keys[a]]
        rb, gb, rowb = cache[keys[b]]
        if rowa["sg_number"] == rowb["sg_number"]:
            continue
        w = [0.5, 0.35, 0.25][i % 3]
        sa, sb = numpy.ptp(ga), numpy.ptp(gb)
        g = w * ga / sa + (1 - w) * gb / sb
        ood.append(("mixture", f'{rowa["id"]}+{rowb["id"]}@{w}', ra, g, {}))
    # not G(r)
    for i in range(10):
        r, g, row = cache[keys[40 + i]]
        rr, gg = crystal_pdf(SHARED / row["file"], rng, rmax=80.0, step=0.01)
        q, F = fq_of(
            rr, gg, qmin=rng.uniform(0.3, 1.0), qmax=rng.uniform(22, 32)
        )
        ood.append(("F(Q)", f'fq-{row["id"]}', q, F, {}))
        S = 1 + F / q
        ood.append(("S(Q)", f'sq-{row["id"]}', q, S, {}))
        intensity = S * numpy.exp(-0.01 * q**2) * 100 + 20
        ood.append(("I(Q)", f'iq-{row["id"]}', q, intensity, {}))
    r = numpy.arange(0, 30.005, 0.01)
    for i in range(8):
        ood.append(("noise", f"gauss{i}", r, rng.normal(0, 1, len(r)), {}))
    for i in range(4):
        rr = numpy.arange(0, 30.005, 0.1)
        ood.append(("noise", f"coarse{i}", rr, rng.normal(0, 1, len(rr)), {}))
    for i in range(4):
        ood.append(
            (
                "noise",
                f"smooth{i}",
                r,
                numpy.convolve(
                    rng.normal(0, 1, len(r)), numpy.ones(15) / 15, "same"
                ),
                {},
            )
        )
    for c in (0.0, 1.0, -2.5):
        ood.append(("constant", f"const{c}", r, numpy.full(len(r), c), {}))
    # Qmax out of range
    for i in range(8):
        r, g, row = cache[keys[60 + i]]
        qm = [5.0, 7.0, 9.0, 45.0][i % 4] if i % 4 != 3 else 50.0
        r2, g2 = crystal_pdf(SHARED / row["file"], rng, qmax=qm)
        meta = {"qmax": qm} if i % 2 == 0 else {}
        ood.append(("qmax", f'q{qm:g}-{row["id"]}', r2, g2, meta))
    # r-range out of range
    for i in range(4):
        r, g, row = cache[keys[70 + i]]
        m = r <= 15.0 if i % 2 == 0 else r >= 2.5
        ood.append(("r-range", f'r-{row["id"]}-{i}', r[m], g[m], {}))
    # radiation: neutron data of compounds, the header says so
    n = 0
    for key in keys[80:]:
        r, g, row = cache[key]
        if int(row["n_elements"]) < 2:
            continue
        r2, g2 = crystal_pdf(SHARED / row["file"], rng, scattering="neutron")
        ood.append(
            (
                "radiation",
                f'neutron-{row["id"]}',
                r2,
                g2,
                {"radiation": "neutron", "composition": row["formula"]},
            )
        )
        n += 1
        if n == 6:
            break
    return ids, ood


def build_mixtures(seed=0, n=36, fractions=(0.5, 0.35, 0.2)):
    """Two-phase mixtures measured together: one list of items.

    Two structures of different space groups are computed with the same
    Qmax, Qdamp, Qbroad and Uiso, mixed by their share of the signal
    (:func:`diffpy.sgpredict.mixture.mix_pdfs`), then noise and an
    r-range are drawn as for the single-phase crystals.  Its own random
    stream (``seed + 100``), so :func:`build` is unchanged.
    """
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.mixture import mix_pdfs

    rng = numpy.random.default_rng(seed + 100)
    rows = _rows()
    out = []
    while len(out) < n:
        a, b = rng.choice(len(rows), 2, replace=False)
        rowa, rowb = rows[a], rows[b]
        if rowa["sg_number"] == rowb["sg_number"]:
            continue
        settings = dict(
            qmax=rng.uniform(14, 40),
            qdamp=rng.uniform(0.02, 0.06),
            uiso=rng.uniform(0.003, 0.015),
        )
        try:
            r, ga = crystal_pdf(SHARED / rowa["file"], rng, **settings)
            _, gb = crystal_pdf(SHARED / rowb["file"], rng, **settings)
        except InputError as exc:
            print("skip", rowa["id"], rowb["id"], exc, file=sys.stderr)
            continue
        w = fractions[len(out) % len(fractions)]
        g = mix_pdfs(ga, gb, w)
        name = f'{rowa["id"]}+{rowb["id"]}@{w}'
        out.append(("mixture-1q", name, *as_measured(r, g, rng), {}))
    return out


def build_neutron_crystals(seed=0, n=120):
    """Single-phase neutron PDFs: ``n`` crystals made as the X-ray ones.

    Random Qmax, Qdamp, Uiso, noise and r-range as in :func:`build`,
    neutron scattering lengths, a header that says neutron (in domain
    for a model that reads the radiation).  Its own random stream
    (``seed + 200``).
    """
    from diffpy.sgpredict.errors import InputError

    rng = numpy.random.default_rng(seed + 200)
    rows = _rows()
    out = []
    for k in rng.choice(len(rows), size=min(n, len(rows)), replace=False):
        row = rows[k]
        try:
            r, g = crystal_pdf(SHARED / row["file"], rng, scattering="neutron")
        except InputError as exc:
            print("skip", row["id"], exc, file=sys.stderr)
            continue
        meta = {"radiation": "neutron"}
        item = ("crystal (neutron)", row["id"], *as_measured(r, g, rng), meta)
        out.append(item)
    return out


def write_set(items, folder):
    """Write (kind, name, r, g, meta) items as .gr files; return paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (kind, name, r, g, meta) in enumerate(items):
        lines = []
        if "qmax" in meta:
            lines.append(f"qmax = {meta['qmax']}")
        if meta.get("radiation"):
            lines.append(f"mode = {meta['radiation']}")
        if meta.get("composition"):
            lines.append(f"composition = {meta['composition']}")
        stem = kind.replace("(", "").replace(")", "").replace(" ", "_")
        path = folder / f"{i:04d}_{stem}.gr"
        with open(path, "w") as fp:
            for line in lines:
                fp.write(line + "\n")
            fp.write("#### start data\n")
            for a, b in zip(r, g):
                fp.write(f"{a:.5f} {b:.7g}\n")
        out.append((kind, name, path))
    return out


MIXTURE_WARNING = "looks like a mixture"
IN_DOMAIN = (
    "crystal",
    "crystal (neutron)",
    "measured",
    "radiation (covered)",
)


def evaluate(files, predictor):
    """Count flagged files per kind.

    Returns ``{kind: [flagged, flagged without the mixture check,
    flagged by the mixture check, total]}``, the per-file times (s) of
    the whole domain check and of the mixture score, and the misses.
    A file refused with an error counts as flagged, with and without
    the mixture check, but not as flagged by the mixture check.  Neutron
    PDFs of compounds are out of domain only for a model that does not
    cover neutrons (kind ``radiation`` becomes ``radiation (covered)``).
    """
    from diffpy.sgpredict.domain import check_domain
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.grid import to_model_input
    from diffpy.sgpredict.io import load_pdf
    from diffpy.sgpredict.mixture import load_detector

    detector = load_detector()
    counts = defaultdict(lambda: [0, 0, 0, 0])
    times, mix_times = [], []
    missed = []
    for kind, name, path in files:
        try:
            result = predictor.predict(str(path), top=3)
            flagged = not result.in_domain
            fails = [w for w in result.warnings if "fine for one" not in w]
            by_mix = any(w.startswith(MIXTURE_WARNING) for w in fails)
            before = any(not w.startswith(MIXTURE_WARNING) for w in fails)
            data = load_pdf(path)
            t0 = time.perf_counter()
            check_domain(data.r, data.g, data.meta, limits=predictor.limits)
            times.append(time.perf_counter() - t0)
            x, nvalid = to_model_input(data.r, data.g)
            t0 = time.perf_counter()
            detector.score(x, nvalid)
            mix_times.append(time.perf_counter() - t0)
        except InputError:
            flagged = before = True
            by_mix = False
        if kind == "radiation" and "neutron" in predictor.limits.radiation:
            kind = "radiation (covered)"
        for i, value in enumerate((flagged, before, by_mix, True)):
            counts[kind][i] += value
        if not flagged and kind not in IN_DOMAIN:
            missed.append((kind, name))
        if flagged and kind in IN_DOMAIN:
            missed.append((kind, name, result.warnings[:1]))
    return counts, (times, mix_times), missed


def _cached(path, make):
    """The sets cached in ``path`` (this script's own), or made and cached."""
    if path.exists():
        return pickle.loads(path.read_bytes())
    items = make()
    path.write_bytes(pickle.dumps(items))
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from diffpy.sgpredict.predictor import Predictor

    work = Path(args.workdir or tempfile.mkdtemp(prefix="domain_eval_"))
    # made before the sets are built, so their cache can be written
    work.mkdir(parents=True, exist_ok=True)
    seed = args.seed
    ids, ood = _cached(work / f"sets_{seed}.pkl", lambda: build(seed=seed))
    mixtures = _cached(
        work / f"mixtures_{seed}.pkl", lambda: build_mixtures(seed=seed)
    )
    neutron = _cached(
        work / f"neutron_{seed}.pkl", lambda: build_neutron_crystals(seed)
    )
    files = write_set(ids, work / "in_domain") + write_set(ood, work / "ood")
    files += write_set(neutron, work / "in_domain_neutron")
    files += write_set(mixtures, work / "mixtures")
    measured = sorted((SHARED / "exp_pdfs").glob("*.gr"))
    files += [("measured", p.name, p) for p in measured]
    predictor = Predictor(threads=1)
    counts, (times, mix_times), missed = evaluate(files, predictor)
    print(
        f"{'kind':<20}{'total':>6}{'flagged':>9}{'share':>8}"
        f"{'without mix':>13}{'mix alone':>11}"
    )
    total = numpy.zeros(4, int)
    other = numpy.zeros(4, int)
    for kind, c in counts.items():
        _table_row(kind, c)
        if kind not in IN_DOMAIN:
            total += c
            if not kind.startswith("mixture"):
                other += c
    _table_row("all OOD", total)
    _table_row("OOD, no mix", other)
    for label, values in (
        ("domain check", times),
        ("mixture score", mix_times),
    ):
        t = numpy.array(values) * 1000
        print(
            f"{label}: median {numpy.median(t):.2f} ms, 95th percentile "
            f"{numpy.percentile(t, 95):.2f} ms, max {t.max():.2f} ms per "
            f"file ({len(t)} files)"
        )
    print("misses (OOD not flagged) and false alarms:")
    for item in missed:
        print("  " + ": ".join(str(v) for v in item))
    return 0


def _table_row(kind, c):
    """Print one line: total, flagged, share, without mixture, mixture."""
    f, before, mix, n = c
    print(
        f"{kind:<20}{n:>6}{f:>9}{100 * f / n:>7.1f}%"
        f"{100 * before / n:>12.1f}%{100 * mix / n:>10.1f}%"
    )


if __name__ == "__main__":
    sys.exit(main())
