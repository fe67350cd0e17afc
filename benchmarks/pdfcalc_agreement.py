"""Agreement of the builtin PDF calculator with srreal's golden outputs.

Usage::

    python benchmarks/pdfcalc_agreement.py [REFERENCE_DIR] [--list N]

REFERENCE_DIR (default ``../shared/data/reference/srreal`` next to the
repository) holds ``table2/*.npz`` and ``variants/*__VARIANT.npz``, each
with ``r``, ``G`` and ``meta`` (the srreal settings); the CIFs are
looked up as ``meta["cif"]`` relative to the parent of ``reference``.
For every file the structure is read with ``loadStructure`` and G is
computed with the same settings; the relative error is
``|G - G_srreal| / |G_srreal|`` (2-norms).  The table gives the median
and worst error for table2 and for each variant, and the overall
numbers.  The exit status is 1 when the median exceeds 1e-3 or the
worst 1e-2.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy

from diffpy.sgpredict.pdfcalc import NUMERIC_SETTINGS as KEYS

DEFAULT_DIR = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "reference"
    / "srreal"
)


def settings_from_meta(meta):
    """Return calculate_pdf keyword arguments for a golden file's meta."""
    s = meta["settings_set"]
    kw = {k: float(s[k]) for k in KEYS}
    kw["scattering"] = s["scatteringfactortable"]
    text = meta.get("uiso_assignment", "")
    kw["uiso"] = float(text.split("Uiso=")[1].split()[0].rstrip(","))
    return kw


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference_dir", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument(
        "--list", type=int, default=5, help="show the N worst files"
    )
    args = parser.parse_args(argv)

    from diffpy.sgpredict.pdfcalc import calculate_pdf, load_structure

    ref = Path(args.reference_dir)
    data_root = ref.parent.parent
    files = sorted(ref.glob("table2/*.npz")) + sorted(
        ref.glob("variants/*.npz")
    )
    if not files:
        print(f"no golden files under {ref}", file=sys.stderr)
        return 2
    cache = {}
    errors = {}
    natoms_mismatch = []
    for path in files:
        with numpy.load(path) as z:
            r0, g0 = z["r"], z["G"]
            meta = json.loads(str(z["meta"]))
        cif = data_root / meta["cif"]
        if cif not in cache:
            cache[cif] = load_structure(cif)
        stru = cache[cif]
        if len(stru) != meta["natoms"]:
            natoms_mismatch.append(path.name)
        variant = path.stem.split("__")[1] if "__" in path.stem else "table2"
        r, g = calculate_pdf(stru, **settings_from_meta(meta))
        if len(r) != len(r0) or numpy.abs(r - r0).max() > 1e-9:
            err = float("inf")
        else:
            err = float(numpy.linalg.norm(g - g0) / numpy.linalg.norm(g0))
        errors.setdefault(variant, {})[path.name] = err

    def line(name, values):
        v = numpy.array(list(values))
        return (
            f"{name:<30} {v.size:>5} {numpy.median(v):>10.2e} "
            f"{v.max():>10.2e}"
        )

    print(f"{'set':<30} {'files':>5} {'median':>10} {'worst':>10}")
    print(line("table2", errors.get("table2", {}).values()))
    allvar = []
    for variant in sorted(errors):
        if variant == "table2":
            continue
        print(line(f"  {variant}", errors[variant].values()))
        allvar.extend(errors[variant].values())
    if allvar:
        print(line("variants (all)", allvar))
    everything = [e for v in errors.values() for e in v.values()]
    print(line("all", everything))
    worst = sorted(
        ((e, n) for v in errors.values() for n, e in v.items()), reverse=True
    )
    print(
        "worst files: "
        + ", ".join(f"{n} {e:.2e}" for e, n in worst[: args.list])
    )
    if natoms_mismatch:
        print("natoms differ from the meta: " + ", ".join(natoms_mismatch))
    ok = numpy.median(everything) <= 1e-3 and max(everything) <= 1e-2
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
