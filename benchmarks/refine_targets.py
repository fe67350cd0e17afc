"""Issue 11 targets: rank candidate groups of the measured PDFs by fit.

Run from the repository root::

    python benchmarks/refine_targets.py [OUTDIR] [--only NAME ...]
        [--network] [--all]

For each material of ``../shared/data/exp_pdfs`` (one file each) the
true group and five other candidates (sub-, super- and neighbouring
groups, fixed below, no network involved) are refined with the right
composition (``diffpy.sgpredict.refine.fit_candidates``, 2 jobs, the
default budget per candidate) and
ranked by the combined score; without network probabilities the ICSD
frequencies of the candidates stand in.  With ``--network`` the
candidates are the network's top 6 for the composition instead, as
``refine FILE --composition FORMULA --fit --jobs 2`` takes them (the
true group may then be missing); ``--all`` adds the other measured PDFs
of the shared data whose material is one of the eight (:data:`MORE`:
other measurements of Ni, Si and CdSe, X-rays and neutrons, bulk and
nanoparticles, Qmax 9-40 1/A).  Prints one table per file, the wall
time, and a summary line.
"""

import argparse
import sys
import time
from pathlib import Path

from diffpy.sgpredict import predict
from diffpy.sgpredict.refine import fit_candidates
from diffpy.sgpredict.refine.report import format_table
from diffpy.sgpredict.refine.work import CANDIDATE_BUDGET

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "exp_pdfs"

CASES = [
    ("Ni", "Ni_ch03_xray.gr", "Ni", 225, [225, 139, 221, 166, 227, 194]),
    ("pnictide", "Ba0.7K0.3(Zn0.85Mn0.15)2As2_300K_xray.gr",
     "Ba0.7K0.3(Zn0.85Mn0.15)2As2", 139, [139, 129, 123, 71, 194, 225]),
    ("TiO2", "TiO2_rutile_fine_qmax26_xray.gr", "TiO2", 136, [136, 139, 62,
                                                              141, 58, 12]),
    ("Si", "Si_q27r60_xray.gr", "Si", 227, [227, 216, 141, 166, 225, 194]),
    ("NaCl", "NaCl_xray_q21.gr", "NaCl", 225, [225, 221, 216, 139, 166,
                                               227]),
    ("CdSe", "CdSe_bulk_ch08_xray_q19.gr", "CdSe", 186, [186, 216, 194, 164,
                                                         166, 225]),
    ("Ag", "Ag_nyquist_qmax30_xray.gr", "Ag", 225, [225, 139, 221, 166, 227,
                                                    194]),
    ("aZrP", "ZrP_aZrP.gr", "ZrP2O9", 14, [14, 15, 12, 2, 62, 166]),
]  # fmt: skip

#: The other measured PDFs of the same materials (``--all``), by case.
MORE = {
    "Ni": [
        "Ni_pdfgui_neutron_npdf.gr", "Ni_pdfgui_xray_6IDD.gr",
        "Ni_q27r60_xray.gr", "Ni_q27r100_neutron_npdf.gr",
        "Ni_ch04_xray_q24.gr", "Ni_ch04_hires_xray_q25.gr",
        "Ni_ch04_lownoise_xray_q15.gr", "Ni_ch05_xray.gr",
        "Ni_pdfstream_xray_q24.gr",
    ],
    "Si": ["Si_ch05_xray.gr"],
    "CdSe": [
        "CdSe_bulk_pdfgui_xray.gr", "CdSe_3nm_NP_xray.gr",
        "CdSe_NP15_old_xray_q9.gr",
    ],
}  # fmt: skip
EXTRA = [
    (Path(f).stem, f, *case[2:])
    for case in CASES
    for f in MORE.get(case[0], [])
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", default="/tmp/refine_targets")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--timeout", type=float, default=CANDIDATE_BUDGET)
    ap.add_argument(
        "--wall-limit",
        type=float,
        default=None,
        help="wall seconds before a worker is killed (for loaded machines)",
    )
    ap.add_argument(
        "--no-known",
        dest="known",
        action="store_false",
        help="leave out the known-compound route (refine --no-known)",
    )
    ap.add_argument(
        "--network",
        action="store_true",
        help="the network's top 6 as candidates, not the fixed groups",
    )
    ap.add_argument(
        "--all", action="store_true", help="also the files of EXTRA"
    )
    args = ap.parse_args(argv)
    summary = []
    for name, fname, comp, true, groups in CASES + EXTRA * args.all:
        if args.only and name not in args.only:
            continue
        t0 = time.time()
        if args.network:
            groups = predict(DATA / fname, top=6, composition=comp)
            groups = list(groups.candidates)
        rows = fit_candidates(
            DATA / fname,
            groups,
            Path(args.outdir) / name,
            composition=comp,
            jobs=2,
            timeout=args.timeout,
            wall_limit=args.wall_limit,
            known=args.known,
        )
        wall = time.time() - t0
        top = rows[0]
        rw_true = next((r["rw"] for r in rows if r["number"] == true), None)
        print(f"== {name} ({fname}), composition {comp}, true group {true}")
        print(format_table(rows))
        print(f"wall {wall:.0f} s (2 jobs)\n", flush=True)
        summary.append((name, top["number"] == true, rw_true, wall))
    ok = sum(s[1] for s in summary)
    width = max(len(s[0]) for s in summary) if summary else 8
    print(f"{'file':{width}s} true-first  Rw(true)  wall_s")
    for name, first, rw, wall in summary:
        rw_text = "not a candidate" if rw is None else f"{rw:.3f}"
        print(f"{name:{width}s} {str(first):11s} {rw_text:9s} {wall:.0f}")
    print(f"true group first for {ok} of {len(summary)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
