"""``diffpy.sgpredict info``: the model card and the installed backends."""

HELP = "show the model card and which optional backends are installed"


def register(subparsers):
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser("info", help=HELP, description=HELP)
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model folder (default: the model shipped with the package)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the information as JSON"
    )
    parser.set_defaults(func=run)
    return parser


def optional_packages():
    """Return ``{name: version or None}`` for the optional packages."""
    from importlib import metadata
    from importlib.util import find_spec

    found = {}
    for module, dist in (
        ("diffpy.srreal", "diffpy.srreal"),
        ("diffpy.srfit", "diffpy.srfit"),
        ("diffpy.cmi", "diffpy.cmi"),
        ("diffpy.apps", "diffpy.apps"),
        ("diffpy.pdfgui", "diffpy.pdfgui"),
        ("pyxtal", "pyxtal"),
        ("sklearn", "scikit-learn"),
        ("dask.distributed", "distributed"),
    ):
        try:
            spec = find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            found[dist] = None
            continue
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "installed"
    return found


def collect(model=None):
    """Return the information printed by ``info`` as a dictionary."""
    from diffpy.sgpredict.card import default_model_dir, read_card
    from diffpy.sgpredict.pdfcalc import available_calculators
    from diffpy.sgpredict.version import __version__

    card = read_card(model or default_model_dir())
    return {
        "version": __version__,
        "model": card,
        "calculators": available_calculators(),
        "optional_packages": optional_packages(),
    }


def run(args):
    """Run ``info``; return the exit status."""
    import json

    info = collect(args.model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    card = info["model"]
    print(f"diffpy.sgpredict {info['version']}")
    print(f"model: {card.get('name', '?')}  ({card['path']})")
    print(f"  {card.get('description', '')}")
    cfg = ", ".join(f"{k}={v}" for k, v in card["config"].items())
    print(
        f"  architecture: {card['architecture']} ({cfg}); ensemble of "
        f"{card.get('ensemble', 1)}; "
        f"{card['weights'].get('parameters', '?')} parameters"
    )
    inp = card["input"]
    print(
        f"  input: G(r) on r = k*{inp['rstep']:.6f} A in "
        f"[{inp['rmin']}, {inp['rmax']}) A, min-max normalised"
    )
    print(f"  weights sha256: {card['weights']['sha256']}")
    for line in _trust_lines(card):
        print(line)
    for line in metric_lines(card.get("metrics", {})):
        print(line)
    print("PDF calculators: " + ", ".join(info["calculators"]))
    print("optional packages:")
    for name, version in info["optional_packages"].items():
        print(f"  {name:<16} {version or 'not installed'}")
    return 0


def metric_lines(metrics, indent="  "):
    """Readable lines for the card's metrics (nested for baselines)."""
    lines = []
    for name, value in metrics.items():
        if not isinstance(value, dict):
            lines.append(f"{indent}{name}: {value}")
        elif "topk" in value:
            pct = " / ".join(f"{100 * v:.1f}" for v in value["topk"])
            extra = [f"n={value['n']}"] if "n" in value else []
            if value.get("excluded"):
                extra.append(
                    f"{value['excluded']} left out "
                    f"({value.get('exclude_training') or 'seen'})"
                )
            tail = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"{indent}{name}: top-1..6 {pct} %{tail}")
        elif "top1" in value:
            lines.append(
                f"{indent}{name}: top-1 {100 * value['top1']:.1f} %, "
                f"top-6 {100 * value.get('top6', float('nan')):.1f} %"
            )
        else:
            lines.append(f"{indent}{name}:")
            lines.extend(metric_lines(value, indent + "  "))
    return lines


def _trust_lines(card, indent="  "):
    """Lines on calibration and the input domain the model covers.

    Examples
    --------
    >>> _trust_lines({"input": {"min_rmax": 19.9}})[0]
    '  calibration: none (temperature 1)'
    """
    from diffpy.sgpredict.domain import DomainLimits
    from diffpy.sgpredict.grid import MIN_RMAX

    cal = card.get("calibration") or {}
    if "temperature" in cal:
        text = f"temperature {float(cal['temperature']):.3g}"
        for key in ("ece_before", "ece_after"):
            if key in cal:
                text += f", {key.replace('_', ' ')} {float(cal[key]):.3f}"
        if "temperature_species" in cal:
            text += (
                f"; told the species: temperature "
                f"{float(cal['temperature_species']):.3g}"
            )
    else:
        text = "none (temperature 1)"
    limits = DomainLimits.from_card(card)
    inp = card.get("input") or {}
    species = int((card.get("inputs") or {}).get("species", 0) or 0)
    nb = card.get("neighbours")
    library = []
    if nb:
        st = nb.get("settings", {})
        library = [
            f"{indent}search-match library: {int(nb['rows']):,} computed "
            f"PDFs, {st.get('k', '?')} voters, strain up to "
            f"{float(st.get('strain', 0)):.0%}, weight {st.get('weight', '?')}"
            f"; temperature {float(nb.get('temperature', 1)):.3g} (told "
            f"the species {float(nb.get('temperature_species', 1)):.3g})"
        ]
    return [
        f"{indent}calibration: {text}",
        *library,
        f"{indent}domain: Qmax {limits.qmax_range[0]:g}-"
        f"{limits.qmax_range[1]:g} 1/A, radiation "
        f"{'/'.join(limits.radiation)}, data from r <= "
        f"{inp.get('rmin', 1.5)} to r >= {inp.get('min_rmax', MIN_RMAX)} A",
        f"{indent}composition: "
        + (
            f"the network reads its number of species (1 to {species} "
            "or more); the stoichiometry prior and the filter use it too"
            if species
            else "used by the stoichiometry prior and the filter"
        ),
    ]
