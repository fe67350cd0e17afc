"""``diffpy.sgpredict refine``: refinement templates and ranked fits."""

HELP = "write refinement templates for the candidate groups and fit them"

EPILOG = """\
examples:
  diffpy.sgpredict refine Ni.gr -o fits/
  diffpy.sgpredict refine Ni.gr -o fits/ --groups 225 221 227 139 --fit
  diffpy.sgpredict refine TiO2.gr -o fits/ --composition TiO2 --fit --json
  diffpy.sgpredict refine LaMnO3.gr -o fits/ --cif mine.cif --fit --jobs 2

Every candidate gets a folder with start.cif, fit.py (diffpy.srfit /
diffpy.cmi recipe), fit.dp-in (diffpy.apps runmacro) and README.md.
With --fit each candidate is refined and the ranking is written to
ranking.txt, ranking.csv and ranking.json with one fit.png per group.
"""


def register(subparsers):
    """Add the ``refine`` subcommand.

    Long because it is the one linear list of the command's options.
    """
    import argparse

    from diffpy.sgpredict.refine.work import (
        CANDIDATE_BUDGET,
        ENUMERATION_BUDGET,
        RELATIVE_SHARE,
    )

    parser = subparsers.add_parser(
        "refine",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA.gr", help="measured G(r)")
    parser.add_argument(
        "-o",
        "--output",
        default="fits",
        metavar="DIR",
        help="output folder (default: fits)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=6,
        help="candidates taken from the prediction (default 6)",
    )
    parser.add_argument(
        "--groups",
        nargs="+",
        metavar="N",
        help="candidate groups (numbers or symbols) instead of a prediction",
    )
    parser.add_argument(
        "--composition",
        help="chemical formula, e.g. LaMnO3 (default: the data header's)",
    )
    parser.add_argument(
        "--no-stoichiometry-prior",
        dest="stoichiometry_prior",
        action="store_false",
        help="when the network picks the candidates: do not weight the "
        "groups by how often they hold the composition's kind",
    )
    parser.add_argument("--cif", help="your own structure (CIF)")
    parser.add_argument(
        "--library",
        metavar="DIR",
        help="folder of CIFs (COD or ICSD export) searched by group and "
        "composition for starting structures",
    )
    parser.add_argument(
        "--no-known",
        dest="known",
        action="store_false",
        help="do not start from the bundled known compound of the "
        "composition's formula (Materials Project); fit the data as "
        "those of a new material",
    )
    parser.add_argument(
        "--fit",
        action="store_true",
        help="refine every candidate and rank them by Rw",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="fits run at the same time (default: number of CPUs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=CANDIDATE_BUDGET,
        help="seconds of counted work per candidate, about CPU seconds "
        f"of a 2-core machine (default {CANDIDATE_BUDGET:g}; "
        f"{RELATIVE_SHARE:g} of it again for a refit from a supergroup)",
    )
    parser.add_argument(
        "--rmin", type=float, default=1.5, help="fit from (A, default 1.5)"
    )
    parser.add_argument(
        "--rmax", type=float, default=20.0, help="fit to (A, default 20)"
    )
    parser.add_argument(
        "--qmax",
        type=float,
        default=None,
        help="Qmax of the data (1/A) when the header lacks it",
    )
    parser.add_argument(
        "--enumerate",
        type=float,
        default=ENUMERATION_BUDGET,
        metavar="SECONDS",
        help="seconds of counted work of Wyckoff enumeration per group "
        f"when the composition is known (default {ENUMERATION_BUDGET:g}; "
        "0 switches it off)",
    )
    parser.add_argument(
        "--radiation",
        choices=("xray", "neutron"),
        help="radiation of the data when the header does not say "
        "(default: the header's, else X-rays with a note)",
    )
    parser.add_argument(
        "--adp",
        choices=("auto", "iso", "aniso"),
        default="auto",
        help="atomic displacements: one Uiso per site (iso), the Uij the "
        "site symmetry allows, refined after the isotropic fit (aniso), "
        "or aniso only where it lowers the ranking score (auto, default)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the Wyckoff enumeration's random draws, per group "
        "(default 0); another seed draws other guesses",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON (a list with one object per group)",
    )
    parser.set_defaults(func=run)
    return parser


def _candidates(args):
    """Return the candidate list: --groups or the prediction."""
    from diffpy.sgpredict import spacegroups
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.results import Candidate

    if args.groups:
        out = []
        for item in args.groups:
            key = int(item) if str(item).isdigit() else item
            try:
                spacegroups.lookup(key)
            except (KeyError, ValueError, LookupError):
                raise InputError(
                    f"--groups: {item!r} is not one of the 45 space groups "
                    "(see 'diffpy.sgpredict info')"
                ) from None
            out.append(Candidate.for_group(key))
        return out
    from diffpy.sgpredict import predict
    from diffpy.sgpredict.errors import ModelError

    try:
        result = predict(
            args.data,
            top=args.top,
            radiation=args.radiation,
            composition=args.composition,
            stoichiometry_prior=args.stoichiometry_prior,
        )
    except ModelError as exc:
        raise ModelError(
            f"{exc}; or name the candidates with --groups N [N ...]"
        ) from None
    return list(result.candidates)


def run(args):
    """Run ``refine``; return the exit status."""
    # imported here, not at the top: every subcommand module is loaded at
    # start-up and refine pulls in scipy and diffpy.srfit
    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.refine import fit_candidates, write_templates
    from diffpy.sgpredict.refine.candidates import check_options
    from diffpy.sgpredict.refine.templates import notable_notes

    if args.top < 1:
        raise InputError("--top must be at least 1")
    check_options(
        composition=args.composition,
        cif=args.cif,
        library=args.library,
        rmin=args.rmin,
        rmax=args.rmax,
        qmax=args.qmax,
        timeout=args.timeout,
        jobs=args.jobs,
        enumerate_budget=args.enumerate,
        radiation=args.radiation,
        seed=args.seed,
    )
    candidates = _candidates(args)
    written = write_templates(
        args.data,
        candidates,
        args.output,
        composition=args.composition,
        cif=args.cif,
        rmin=args.rmin,
        rmax=args.rmax,
        qmax=args.qmax,
        library=args.library,
        radiation=args.radiation,
        known=args.known,
    )
    for item in written:
        if item["error"]:
            _say(f"{item['number']} {item['symbol']}: {item['error']}")
    for note in notable_notes(written):
        _say(f"note: {note}")
    if not args.fit:
        return _print_templates(written, args.json)
    usable = [c for c, w in zip(candidates, written) if not w["error"]]
    rows = fit_candidates(
        args.data,
        usable,
        args.output,
        composition=args.composition,
        cif=args.cif,
        jobs=args.jobs,
        timeout=args.timeout,
        rmin=args.rmin,
        rmax=args.rmax,
        qmax=args.qmax,
        enumerate_budget=args.enumerate,
        adp=args.adp,
        library=args.library,
        radiation=args.radiation,
        seed=args.seed,
        known=args.known,
        progress=None if args.json else _print_progress,
    )
    return _print_ranking(rows, args)


def _say(text):
    """One message line on stderr."""
    import sys

    print(f"diffpy.sgpredict refine: {text}", file=sys.stderr, flush=True)


def _print_templates(written, as_json):
    """Print where the templates went; return the exit status."""
    import json

    from diffpy.sgpredict.refine.templates import templates_for_json

    if as_json:
        print(json.dumps(templates_for_json(written), indent=1))
    else:
        for w in written:
            where = w["folder"] or f"not written: {w['error']}"
            print(f"{w['number']:>3d}  {w['symbol']:<8s}  {where}")
    return 0 if any(w["folder"] for w in written) else 2


def _print_progress(done, total, label, res):
    """Progress line of one finished fit (stderr)."""
    res = res or {}
    if res.get("rw") is not None:
        what = (
            f"Rw {res['rw']:.4f} from {res.get('start_source')} "
            f"{res.get('start')}"
        )
    else:
        what = f"{res.get('status')}: {res.get('message')}"
    _say(f"[{done}/{total}] {label}: {what} ({res.get('seconds', 0):.1f} s)")


def _print_ranking(rows, args):
    """Print the ranking (table or JSON); return the exit status."""
    import json

    from diffpy.sgpredict.refine.report import (
        SCORE_LEGEND,
        format_table,
        rows_for_json,
    )
    from diffpy.sgpredict.refine.score import poor_fit_note
    from diffpy.sgpredict.refine.starting import NO_COMPOSITION_NOTE

    poor = poor_fit_note(rows)
    if poor:
        _say(f"warning: {poor}")
    for row in rows:
        if row["status"] not in ("ok",):
            _say(
                f"{row['number']} {row['symbol']}: fit {row['status']}: "
                f"{row['message'] or 'see folder'}"
            )
    if args.json:
        print(json.dumps(rows_for_json(rows), indent=1))
    else:
        print(format_table(rows))
        print(SCORE_LEGEND)
        if rows and any(NO_COMPOSITION_NOTE in n for n in rows[0]["notes"]):
            print(f"NOTE: {NO_COMPOSITION_NOTE}")
        print(f"\nranking, fits and templates in {args.output}")
    if rows and rows[0].get("interrupted"):
        _say("interrupted; the ranking holds the fits that finished")
        return 130
    return 0 if any(r["rw"] is not None for r in rows) else 1
