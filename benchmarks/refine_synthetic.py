"""Issue 11 synthetic target: refine computed PDFs of unknown types.

Run from the repository root::

    python benchmarks/refine_synthetic.py [--structures DIR] [--out DIR]
        [--n 30] [--seed 0] [--jobs 2] [--only NAME ...]
        [--type-match formula-group|matcher] [--wall-limit S] [--report]

Selection (counts printed after each filter): the CIFs of
``../shared/data/structures`` that the package's reader accepts
(:func:`diffpy.sgpredict.structures.cifs.read_cif`, full occupancy),
whose spglib group is one of the network's 45, with at most 6 atoms in
the asymmetric unit (symmetry-unique atoms of spglib's dataset), and
whose structure type is not in the bundled libraries: a structure is
dropped when its (anonymous formula, group) matches an entry of the
bundled structure-type library (the merged one, or the generator's and
the refinement's libraries of older versions).  ``--n`` of them are
drawn with ``--seed``, spread over groups (one per group per round).
With ``--type-match matcher`` the places left are filled with
structures whose (anonymous formula, group) is in the library but which
pymatgen's StructureMatcher matches to none of those entries.

For each: an X-ray PDF from the package's physics
(:func:`diffpy.sgpredict.physics.physical_pdf`; Qmax uniform in 20-25
1/A, Qdamp 0.025-0.035 1/A, Uiso 0.005-0.01 A^2 per element, Qmin
0.3-0.8 1/A, Gaussian noise of 1 % of max|G|), written as a ``.gr`` file
whose header gives composition, mode, Qmin, Qmax and Qdamp as a
measurement would.  Then what a user does: the shipped network's top 6
for that file (:func:`diffpy.sgpredict.predict`, composition from the
header), the true group added with its network probability when it is
missing, and :func:`diffpy.sgpredict.refine.fit_candidates` with the
CIF's formula, the default limits (25 s of counted work per
candidate, 8 s of enumeration).  One JSON per structure in ``--out`` (a
rerun skips the structures done; ``--report`` only prints them), a
table per structure and a summary.  On a loaded machine pass
``--wall-limit`` so that the wall-time safety net does not kill fits
that still have work left.
"""

import argparse
import gzip
import json
import math
import os
import resource
import sys
import time
import zlib
from collections import Counter
from functools import reduce
from pathlib import Path
from types import SimpleNamespace

import numpy

from diffpy.sgpredict import predict, spacegroups
from diffpy.sgpredict.grid import RGrid
from diffpy.sgpredict.physics import physical_pdf
from diffpy.sgpredict.refine import fit_candidates
from diffpy.sgpredict.refine.settings import expand
from diffpy.sgpredict.refine.work import CANDIDATE_BUDGET
from diffpy.sgpredict.structures import Crystal, symmetry_dataset
from diffpy.sgpredict.structures.cifs import SkipStructure, find_cifs, read_cif
from diffpy.sgpredict.structures.tables import structure_type_key

try:
    from diffpy.sgpredict.refine.report import format_table, rows_for_json
except ImportError:  # versions before refine.report (b59618c and older)
    from diffpy.sgpredict.refine.ranking import format_table, rows_for_json

REPO = Path(__file__).resolve().parents[1]
STRUCTURES = REPO.parent / "shared" / "data" / "structures"
PACKAGE = Path(sys.modules["diffpy.sgpredict"].__file__).parent
LIBRARIES = (
    PACKAGE / "data" / "structure_types" / "structure_types.json.gz",
    PACKAGE / "data" / "prototypes" / "prototypes.json.gz",
    PACKAGE / "data" / "refine_prototypes" / "prototypes.json",
)
OUTPUT_GRID = RGrid(rmin=0.1, rmax=30.0, rstep=0.01)
MAX_ASYM = 6
#: Rw of the true group below which the structure counts as found
#: (the noise alone gives 0.02-0.05).
SOLVED_RW = 0.15


def anonymous_formula(counts):
    """Reduced counts, sorted, as letters: ``{"Sr": 1, "Fe": 2, "As": 2}``
    -> ``"AB2C2"``."""
    values = [int(v) for v in counts.values() if v]
    g = reduce(math.gcd, values)
    reduced = sorted(v // g for v in values)
    return "".join(
        chr(ord("A") + i) + (str(n) if n > 1 else "")
        for i, n in enumerate(reduced)
    )


def _entries(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fp:
        data = json.load(fp)
    entries = data.get("types") or data["prototypes"]
    return list(entries.values()) if isinstance(entries, dict) else entries


def _entry_crystal(e):
    """The library entry as a Crystal (full cell or expanded sites)."""
    if "species" in e:
        return Crystal(e["lattice"], e["frac"], e["species"])
    return Crystal.from_diffpy(expand(e["lattice"], e["sites"], e["number"]))


def library_types(paths=LIBRARIES):
    """Types of every entry of the libraries.

    Returns
    -------
    dict
        (anonymous formula, group) -> the library entries.
    """
    known = {}
    for path in paths:
        if not path.exists():
            continue
        entries = _entries(path)
        for e in entries:
            if "species" in e:
                counts = Counter(e["species"])
            elif isinstance(e.get("composition"), dict):
                counts = e["composition"]
            else:
                counts = e["formula"]
            number = int(e.get("sg_number") or e.get("number"))
            key = (anonymous_formula(counts), number)
            known.setdefault(key, []).append(e)
        print(f"library {path.name}: {len(entries)} entries")
    if not known:
        raise SystemExit(f"no structure-type library found in {PACKAGE}")
    return known


def same_type(crystal, others):
    """True when pymatgen's StructureMatcher maps the crystal onto one of
    the library entries ``others`` with elements permuted and the cell
    scaled (entries given as sites are expanded in diffpy's default
    setting of their group)."""
    # pymatgen is optional (the generate extra); only --type-match matcher
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.core import Lattice, Structure

    def pmg(c):
        return Structure(Lattice(c.lattice), c.species, c.frac)

    matcher = StructureMatcher()
    mine = pmg(crystal)
    return any(
        matcher.fit_anonymous(mine, pmg(_entry_crystal(o))) for o in others
    )


def spread(items, n, rng, taken=()):
    """Draw up to ``n`` items, one per group per round, groups not in
    ``taken`` first."""
    order = [items[i] for i in rng.permutation(len(items))]
    by_group = {}
    for item in order:
        by_group.setdefault(item["group"], []).append(item)
    groups = sorted(by_group, key=lambda g: g in taken)
    chosen = []
    while len(chosen) < n and any(by_group.values()):
        for group in groups:
            if by_group[group] and len(chosen) < n:
                chosen.append(by_group[group].pop(0))
    return chosen


def select(folder, n, seed, only=None, type_match="formula-group"):
    """Filter the CIFs and draw ``n`` spread over groups.

    With ``type_match="matcher"`` the structures whose (anonymous
    formula, group) is in a library but that pymatgen's StructureMatcher
    matches to none of those entries fill the places the strict filter
    leaves.

    Returns the list of chosen dicts (``name``, ``path``, ``crystal``,
    ``group``, ``nasym``, ``formula``, ``key``, ``filter``).
    """
    known = library_types()
    counts = Counter()
    reasons = Counter()
    passed = []
    for rel in find_cifs(str(folder)):
        counts["CIF files"] += 1
        try:
            crystal = read_cif(os.path.join(folder, rel), all_groups=True)
        except SkipStructure as exc:
            reasons[str(exc).split(":")[0]] += 1
            continue
        counts["read (full occupancy, sane distances)"] += 1
        ds = symmetry_dataset(crystal.lattice, crystal.frac, crystal.species)
        group = int(ds.number)
        if group not in spacegroups.NUMBERS:
            continue
        counts["group among the 45"] += 1
        nasym = len(set(int(i) for i in ds.equivalent_atoms))
        if nasym > MAX_ASYM:
            continue
        counts[f"<= {MAX_ASYM} atoms in the asymmetric unit"] += 1
        anon = anonymous_formula(Counter(crystal.species))
        key = structure_type_key(crystal)
        if (anon, group) in known:
            if type_match != "matcher" or same_type(
                crystal, known[(anon, group)]
            ):
                continue
            counts["(formula, group) known, StructureMatcher: new"] += 1
            strict = False
        else:
            counts["(formula, group) not in the libraries"] += 1
            strict = True
        passed.append(
            dict(
                filter="formula-group" if strict else "matcher",
                name=Path(rel).stem,
                path=os.path.join(folder, rel),
                crystal=crystal,
                group=group,
                nasym=nasym,
                formula=crystal.meta["formula"],
                key=key,
            )
        )
    for what, k in counts.items():
        print(f"{what:45s} {k}")
    print("skipped by the reader:", dict(reasons))
    if only:
        return [p for p in passed if p["name"] in only]
    rng = numpy.random.default_rng(seed)
    chosen = spread([p for p in passed if p["filter"] != "matcher"], n, rng)
    chosen += spread(
        [p for p in passed if p["filter"] == "matcher"],
        n - len(chosen),
        rng,
        taken={c["group"] for c in chosen},
    )
    print(
        f"chosen {len(chosen)} of {len(passed)} over "
        f"{len({c['group'] for c in chosen})} groups (seed {seed}):"
    )
    for c in chosen:
        print(
            f"  {c['name']:10s} {c['formula']:14s} {c['group']:>3d} "
            f"nasym {c['nasym']}  {c['key']}  ({c['filter']})"
        )
    return chosen  # fmt: skip


def draw_settings(rng, elements):
    """X-ray measurement settings of one synthetic PDF."""
    return {
        "radiation": "xray",
        "qmax": float(rng.uniform(20.0, 25.0)),
        "qmin": float(rng.uniform(0.3, 0.8)),
        "qdamp": float(rng.uniform(0.025, 0.035)),
        "qbroad": 0.0,
        "delta1": 0.0,
        "delta2": 0.0,
        "particle_diameter": 0.0,
        "strain": 0.0,
        "uiso": 0.0075,
        "uiso_by_element": {
            el: float(rng.uniform(0.005, 0.01)) for el in sorted(elements)
        },
        "noise": 0.01,
    }


def write_gr(path, item, settings, rng):
    """Compute the PDF with noise and write it with a header."""
    r, g = physical_pdf(item["crystal"], settings, grid=OUTPUT_GRID)
    g = g + rng.normal(
        0.0, settings["noise"] * numpy.nanmax(numpy.abs(g)), g.size
    )
    header = [
        "# synthetic PDF (benchmarks/refine_synthetic.py)",
        f"# source = {item['name']}.cif",
        f"composition = {item['formula']}",
        "mode = xray",
        f"qmin = {settings['qmin']:.3f}",
        f"qmax = {settings['qmax']:.3f}",
        f"qdamp = {settings['qdamp']:.4f}",
        f"rmin = {r[0]:.2f}",
        f"rmax = {r[-1]:.2f}",
        "rstep = 0.01",
        "",
        "#### start data",
        "#L r($\\AA$)  G($\\AA^{-2}$)",
    ]
    with open(path, "w") as fp:
        fp.write("\n".join(header) + "\n")
        for x, y in zip(r, g):
            fp.write(f"{x:.2f} {y:.6g}\n")


def candidates_for(path, true):
    """The network's top 6 plus the true group when it is missing."""
    result = predict(path, top=45, threads=1)
    ranked = list(result.candidates)
    cands = ranked[:6]
    in_top = any(c.number == true for c in cands)
    if not in_top:
        extra = [c for c in ranked if c.number == true]
        # a group the composition rules out gets a vanishing probability
        cands += extra or [SimpleNamespace(number=true, probability=1e-9)]
    net = [(c.number, round(float(c.probability), 4)) for c in ranked[:6]]
    return cands, in_top, net


def cpu_seconds():
    """CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_one(item, args):
    """Make the PDF, predict, refine; return the result dict."""
    out = Path(args.out)
    rng = numpy.random.default_rng(
        [args.seed, zlib.crc32(item["name"].encode())]
    )
    settings = draw_settings(rng, set(item["crystal"].species))
    gr = out / f"{item['name']}.gr"
    write_gr(gr, item, settings, rng)
    t0, c0 = time.time(), cpu_seconds()
    cands, in_top, net = candidates_for(gr, item["group"])
    rows = fit_candidates(
        gr,
        cands,
        out / "fits" / item["name"],
        composition=item["formula"],
        jobs=args.jobs,
        timeout=args.timeout,
        wall_limit=args.wall_limit,
        known=args.known,
    )
    wall, cpu = time.time() - t0, cpu_seconds() - c0
    if rows and rows[0].get("interrupted"):
        raise KeyboardInterrupt
    true = next((r for r in rows if r["number"] == item["group"]), {})
    return {
        "name": item["name"],
        "formula": item["formula"],
        "group": item["group"],
        "nasym": item["nasym"],
        "type_key": item["key"],
        "filter": item["filter"],
        "settings": settings,
        "network_top6": net,
        "true_in_top6": in_top,
        "true_rank": true.get("rank"),
        "true_rw": true.get("rw"),
        "true_route": true.get("route"),
        "best_group": rows[0]["number"] if rows else None,
        "best_rw": rows[0]["rw"] if rows else None,
        "best_route": rows[0]["route"] if rows else None,
        "wall_s": wall,
        "cpu_s": cpu,
        "table": format_table(rows),
        "rows": rows_for_json(rows),
    }


def summary(results):
    """Print the per-structure table and the summary lines."""
    print("name       formula        grp in6 rank  Rw(true) best Rw(best) "
          "route(best)  wall_s  cpu_s")  # fmt: skip
    for r in results:
        rw_t = "-" if r["true_rw"] is None else f"{r['true_rw']:.4f}"
        rw_b = "-" if r["best_rw"] is None else f"{r['best_rw']:.4f}"
        print(
            f"{r['name']:10s} {r['formula']:14s} {r['group']:>3d} "
            f"{'y' if r['true_in_top6'] else 'n':3s} "
            f"{str(r['true_rank']):5s} {rw_t:8s} {str(r['best_group']):>4s} "
            f"{rw_b:8s} {str(r['best_route']):12s} {r['wall_s']:6.0f} "
            f"{r['cpu_s']:6.0f}"
        )
    n = len(results)
    if not n:
        return
    first = sum(r["true_rank"] == 1 for r in results)
    top6 = sum(r["true_in_top6"] for r in results)
    rws = [r["true_rw"] for r in results if r["true_rw"] is not None]
    print(f"true group first: {first} / {n} ({100 * first / n:.0f} %)")
    for kind in sorted({r.get("filter", "formula-group") for r in results}):
        part = [r for r in results if r.get("filter", "formula-group") == kind]
        k = sum(r["true_rank"] == 1 for r in part)
        print(f"  {kind} filter: {k} / {len(part)}")
    solved = sum(
        r["true_rank"] == 1 and (r["true_rw"] or 1.0) <= SOLVED_RW
        for r in results
    )
    print(f"true group first with Rw <= {SOLVED_RW}: {solved} / {n}")
    print(f"true group in the network's top 6: {top6} / {n}")
    if rws:
        print(f"median Rw of the true group: {numpy.median(rws):.4f}")
    wall = numpy.median([r["wall_s"] for r in results])
    cpu = numpy.median([r["cpu_s"] for r in results])
    print(f"per structure: median wall {wall:.0f} s, median CPU {cpu:.0f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", default=str(STRUCTURES))
    ap.add_argument("--out", default="/tmp/refine_synthetic")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*")
    ap.add_argument(
        "--no-known",
        dest="known",
        action="store_false",
        help="leave out the known-compound route (refine --no-known)",
    )
    ap.add_argument(
        "--report",
        action="store_true",
        help="print the tables of the structures done; fit nothing",
    )
    ap.add_argument("--timeout", type=float, default=CANDIDATE_BUDGET)
    ap.add_argument(
        "--type-match",
        choices=("formula-group", "matcher"),
        default="formula-group",
        help="formula-group: drop a structure whose (anonymous formula, "
        "group) is in a library; matcher: then fill up with structures "
        "that pymatgen's StructureMatcher matches to no library entry",
    )
    ap.add_argument(
        "--wall-limit",
        type=float,
        default=None,
        help="wall seconds before a worker is killed (for loaded machines)",
    )
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    chosen = select(
        args.structures, args.n, args.seed, args.only, args.type_match
    )
    results = []
    for item in chosen:
        done = Path(args.out) / f"{item['name']}.json"
        if done.exists():
            with open(done) as fp:
                results.append(json.load(fp))
            continue
        if args.report:
            continue
        res = run_one(item, args)
        print(
            f"== {item['name']} {item['formula']}, true group "
            f"{item['group']}, network top 6 {res['network_top6']}"
        )
        print(res["table"])
        print(f"wall {res['wall_s']:.0f} s, CPU {res['cpu_s']:.0f} s\n",
              flush=True)  # fmt: skip
        with open(done.with_suffix(".tmp"), "w") as fp:
            json.dump(res, fp, indent=1, default=str)
        os.replace(done.with_suffix(".tmp"), done)
        results.append(res)
    summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
