"""The ``dataset`` command: build, inspect, plot and check datasets.

Examples
--------
::

    diffpy.sgpredict dataset build --cifs ../shared/data/structures -o real.h5
    diffpy.sgpredict dataset build --generate 200 --route both \\
        --settings ranges --seed 1 -o train.h5
    diffpy.sgpredict dataset info train.h5
    diffpy.sgpredict dataset plot train.h5 -o counts.png
    diffpy.sgpredict dataset build --table mp_structures.csv.gz \\
        --settings physics --max-per-group 2000 --jobs 2 -o mp.h5
"""

import argparse
import json
import sys
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.cli import as_option_error
from diffpy.sgpredict.errors import InputError

# Every command's parser is built at start-up, so the dataset code (h5py,
# the structure readers: 0.3 s measured with -X importtime) is imported
# by the functions that run an action, not here.

__all__ = ["register", "run"]

_EPILOG = """\
examples:
  diffpy.sgpredict dataset build --cifs ../shared/data/structures -o real.h5
  diffpy.sgpredict dataset build --generate 200 --settings ranges -o train.h5
  diffpy.sgpredict dataset info train.h5
  diffpy.sgpredict dataset plot train.h5 -o counts.png
  diffpy.sgpredict dataset build \
      --table ../shared/data/mp/mp_structures.csv.gz --settings physics \
      --max-atoms 80 --max-per-group 2000 --jobs 2 -o mp.h5

A killed build restarted with the same command continues where it stopped.
"""


def _groups(text):
    out = []
    for tok in text.replace(",", " ").split():
        try:
            out.append(spacegroups.lookup(tok).number)
        except (KeyError, ValueError, InputError):
            raise argparse.ArgumentTypeError(
                f"unknown space group {tok!r}"
            ) from None
    return out


def _range(text):
    try:
        name, values = text.split("=", 1)
        lo, hi = (float(v) for v in values.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"range {text!r}: write NAME=LOW,HIGH, e.g. qmax=18,30"
        )
    return name.strip(), (lo, hi)


def register(subparsers):
    """Add the ``dataset`` command and its subcommands."""
    p = subparsers.add_parser(
        "dataset",
        help="build, inspect and check training datasets (HDF5)",
        description="Build training and evaluation datasets of PDFs from CIF "
        "folders or generated crystals, and inspect them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    b = sub.add_parser("build", help="build (or continue) a dataset")
    _add_source_options(b)
    _add_filter_options(b)
    _add_settings_options(b)
    b.add_argument("--jobs", type=int, default=1, help="local processes")
    b.add_argument(
        "--scheduler", help="Dask scheduler address tcp://HOST:PORT"
    )
    b.add_argument(
        "--limit", type=int, help="stop after this many new items (trials)"
    )
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=run)

    i = sub.add_parser("info", help="counts per group and source, settings")
    i.add_argument("path", help="dataset .h5")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=run)

    pl = sub.add_parser("plot", help="per-group histogram beside ICSD counts")
    pl.add_argument("path", help="dataset .h5")
    pl.add_argument("-o", "--output", required=True, help="image file")
    pl.set_defaults(func=run)

    m = sub.add_parser(
        "merge", help="concatenate datasets built apart (seeds, machines)"
    )
    m.add_argument("inputs", nargs="+", metavar="IN.h5", help="datasets")
    m.add_argument("-o", "--output", required=True, help="merged .h5")
    m.add_argument(
        "--take",
        action="append",
        default=[],
        metavar="IN.h5=KINDS",
        help="take only rows of these source kinds (statistics, "
        "prototype, cif; comma separated) from one input (repeatable)",
    )
    m.set_defaults(func=run)

    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _add_source_options(b):
    """Where the structures come from, and the output."""
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--cifs",
        metavar="DIR_OR_ARCHIVE",
        help="folder of CIF files, or a .zip/.tar/.tar.gz of them (COD and "
        "ICSD exports)",
    )
    src.add_argument(
        "--table",
        metavar="CSV",
        help="structure table (.csv or .csv.gz: id, lattice, species, "
        "frac columns), e.g. ../shared/data/mp/mp_structures.csv.gz",
    )
    src.add_argument(
        "--generate",
        type=int,
        metavar="N",
        help="generate N crystals per space group",
    )
    b.add_argument(
        "--route",
        choices=("statistics", "prototype", "both"),
        default="both",
        help="generation route (default both)",
    )
    b.add_argument(
        "--prototype-fraction",
        type=float,
        default=0.5,
        help="share of prototype variants with --route both (default 0.5)",
    )
    b.add_argument("-o", "--output", required=True, help="output .h5 file")
    b.add_argument("--seed", type=int, default=0, help="random seed")


def _add_filter_options(b):
    """Which structures of the source are used."""
    b.add_argument(
        "--groups",
        type=_groups,
        help="space groups to keep or generate (numbers or symbols, "
        "comma separated; default the 45)",
    )
    b.add_argument(
        "--max-per-group",
        type=int,
        metavar="N",
        help="with --table: most structures per space group (experimental "
        "rows first)",
    )
    b.add_argument(
        "--experimental-only",
        action="store_true",
        help="with --table: only rows flagged experimental",
    )
    b.add_argument(
        "--all-groups",
        action="store_true",
        help="keep CIFs of all 230 groups, not only the 45",
    )
    b.add_argument(
        "--symprec", type=float, default=0.01, help="spglib tolerance"
    )
    b.add_argument(
        "--occupancy",
        choices=("skip", "majority", "keep"),
        default="skip",
        help="partial occupancy policy for CIFs (default skip)",
    )
    b.add_argument(
        "--max-atoms",
        type=int,
        default=None,
        help="most atoms per cell (default 500 for CIFs, 60 per "
        "conventional cell for generated crystals)",
    )
    b.add_argument(
        "--min-distance",
        type=float,
        default=0.5,
        help="shortest allowed interatomic distance in CIFs (A, default 0.5)",
    )
    b.add_argument(
        "--matcher",
        action="store_true",
        help="confirm CIF duplicates with pymatgen's StructureMatcher",
    )
    b.add_argument(
        "--exclude",
        metavar="CSV_OR_H5",
        help="never generate a crystal with the (reduced formula, group) of "
        "these structures (a CSV with formula and sg_number columns, such "
        "as the evaluation set's structures.csv, or a dataset)",
    )


def _add_settings_options(b):
    """How each PDF is computed."""
    b.add_argument(
        "--settings",
        choices=("table2", "ranges", "physics"),
        default="table2",
        help="PDF settings: the paper's Table 2, drawn per sample in "
        "--range ranges, or 'physics': radiation, Qmax termination on a "
        "fine grid, resolution, per-element Uiso, correlated motion, "
        "particle size and strain drawn per row",
    )
    b.add_argument(
        "--range",
        dest="ranges",
        type=_range,
        action="append",
        metavar="NAME=LO,HI",
        help="with --settings ranges: a range to draw from (repeatable; "
        "names qmax qdamp qbroad uiso delta2 strain particle_diameter "
        "...); default qmax=18,30 qdamp=0.02,0.06 qbroad=0,0.03 "
        "uiso=0.003,0.015",
    )
    b.add_argument("--calculator", default="builtin", help="PDF calculator")
    b.add_argument(
        "--scattering",
        choices=("xray", "neutron"),
        default="xray",
        help="scattering factor table",
    )


def run(args):
    """Run a ``dataset`` action; return the exit status."""
    action = args.dataset_command
    if action == "build":
        return _build(args)
    if action == "info":
        return _info(args)
    if action == "plot":
        return _plot(args)
    if action == "merge":
        return _merge(args)
    raise InputError("give an action: build, info, plot or merge")


def _merge(args):
    from diffpy.sgpredict import dataset

    for path in args.inputs:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such dataset file")
    sources = {}
    for item in args.take:
        path, sep, kinds = item.partition("=")
        if not sep or path not in args.inputs or not kinds:
            raise InputError(
                f"--take {item}: give IN.h5=KIND[,KIND] with IN.h5 one of "
                "the inputs"
            )
        sources[path] = kinds.split(",")
    n = dataset.merge_datasets(args.inputs, args.output, sources=sources)
    print(f"{args.output}: {n} rows from {len(args.inputs)} datasets")
    return 0


def _build(args):
    """Parse the build options into the public API and run it."""
    from diffpy.sgpredict import dataset
    from diffpy.sgpredict.dataset.sources import (
        BuildSource,
        StructureFilter,
        build_from,
    )

    if args.jobs < 1:
        raise InputError("--jobs must be at least 1")
    ranges = dataset.build_ranges(dict(args.ranges or []), args.settings)
    try:
        filt = StructureFilter(
            groups=args.groups,
            all_groups=args.all_groups,
            max_atoms=args.max_atoms,
            symprec=args.symprec,
            occupancy=args.occupancy,
            min_distance=args.min_distance,
            matcher=args.matcher,
            experimental_only=args.experimental_only,
            max_per_group=args.max_per_group,
        )
    except InputError as exc:
        raise as_option_error(exc, StructureFilter) from None
    config = dataset.build_config(
        calculator=args.calculator,
        settings=args.settings,
        ranges=ranges if args.settings == "ranges" else {},
        scattering=args.scattering,
        symprec=args.symprec,
        all_groups=args.all_groups,
        max_gen_atoms=args.max_atoms or 60,
        seed=args.seed,
        exclude_pairs=(
            dataset.read_pairs(args.exclude) if args.exclude else None
        ),
    )
    source = BuildSource(
        cifs=args.cifs,
        table=args.table,
        generate=args.generate,
        route=args.route,
        prototype_fraction=args.prototype_fraction,
        seed=args.seed,
    )
    stats = build_from(
        args.output,
        source,
        filt,
        config,
        jobs=args.jobs,
        scheduler=args.scheduler,
        progress=not args.quiet,
        limit=args.limit,
        command="diffpy.sgpredict " + " ".join(sys.argv[1:]),
    )
    rate = stats["done"] / stats["seconds"] if stats["seconds"] > 0 else 0.0
    print(
        f"{args.output}: {stats['rows']} rows and {stats['skipped']} skips "
        f"added ({rate:.2f} structures/s), {stats['already']} items were "
        f"already done; skip report {stats['report']}"
    )
    return 0


def _info(args):
    from diffpy.sgpredict import dataset

    s = dataset.dataset_summary(args.path)
    if args.json:
        print(json.dumps(s, indent=1, default=str))
        return 0
    agree = dataset.agreement(args.path)
    print(f"{args.path}: {s['n_rows']} rows")
    print(
        "per source: "
        + ", ".join(f"{k} {v}" for k, v in s["per_source"].items())
    )
    print("per group (label: rows [spglib agrees with the asked group]):")
    line = []
    for sg in sorted(set(s["per_group"]) | set(agree)):
        sym = spacegroups.get(sg).symbol if sg in spacegroups.NUMBERS else "?"
        a = agree.get(sg)
        tag = f" [{a[0]}/{a[1]}]" if a else ""
        line.append(f"{sg} {sym}: {s['per_group'].get(sg, 0)}{tag}")
    for k in range(0, len(line), 4):
        print("  " + " | ".join(line[k : k + 4]))
    print("settings (min..max):")
    for name, (lo, hi) in s["settings"].items():
        print(f"  {name}: {lo:g}..{hi:g}")
    if s["skipped"]:
        print(
            "skipped: "
            + ", ".join(f"{k} {v}" for k, v in s["skipped"].items())
        )
    prov = s["provenance"]
    print(f"command: {prov.get('command', '?')}")
    return 0


def _plot(args):
    from diffpy.sgpredict.dataset.plots import plot_group_counts
    from diffpy.sgpredict.results import save_figure

    save_figure(plot_group_counts(args.path), args.output)
    print(args.output)
    return 0
