"""Evaluate a model on every evaluation set and write its report.

One command measures every figure of the model card, the README table
and the docs table, so no number is ever typed in by hand::

    python scripts/model_report.py MODEL --data TRAIN.h5 \\
        --shared ../shared/data --out runs/report \\
        [--baseline "LR on X"=runs/lr_x ... | --keep-baselines] \\
        [--paper-data TABLE2.h5] [--write]

Rows (each one ``diffpy.sgpredict evaluate`` command, printed in the
table): the two test sets that training set aside from the Materials
Project data (random, and whole structure types), the real structures of
``SHARED/structures`` as X-ray and as neutron PDFs, and the measured PDFs
of ``SHARED/exp_pdfs`` (all, per radiation, with the radiation hidden,
and those whose (formula, group) is not in the training data), each with
the ICSD prior, without it, and with the ICSD prior and each row's
composition told (``--composition prior``: the composition filter and
the stoichiometry prior of :mod:`diffpy.sgpredict.chemprior`).

With ``--paper-data TABLE2.h5`` (the same table built with ``dataset build
--settings table2``: every PDF at the paper's Table-2 settings, X-ray, bulk)
a second table compares with Liu et al. (2019) on their protocol: the
random test rows with the paper's prior, plain and weighted to the
paper's group frequencies (``evaluate --weight-groups paper``: the score
of a test set whose groups come as in their ICSD split), on the training
physics and at Table-2 settings.

``--write`` stores the results in ``MODEL/card.json`` (``metrics.evaluation``,
``metrics.paper_protocol``),
replaces the table between ``<!-- model-table -->`` markers in README.md and
doc/source/training.rst and copies the figures to doc/source/_static/.
Without it the table is only printed.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from diffpy.sgpredict.evaluate import evaluate
from diffpy.sgpredict.paths import without_folders

ROOT = Path(__file__).resolve().parents[1]

DESCRIPTION = (
    "Residual 1D CNNs (an ensemble) that read the min-max normalised G(r) "
    "on the paper's 209-point grid and the radiation (X-ray or neutron), "
    "trained on PDFs computed from real crystal structures of the "
    "Materials Project in the 45 groups, each with its own measurement "
    "physics (Qmax termination, resolution, per-element thermal motion, "
    "correlated motion, particle size, strain) and noise drawn per batch. "
    "No measured PDF and no structure of the evaluation sets was used."
)
CREDIT = (
    "Training structures: the Materials Project (A. Jain et al., APL "
    "Materials 1, 011002 (2013)), data licence CC BY 4.0, taken from the "
    "CIFs collected in fxcoudert/topology_databases (commit 41163fc)."
)


def card_description(card):
    """The card's description: the networks, and what else they read."""
    from diffpy.sgpredict.training import species_head

    text = DESCRIPTION
    if (card.get("inputs") or {}).get("species"):
        text = DESCRIPTION + " " + species_head.describe(card)
    nb = card.get("neighbours")
    if nb:
        rows = nb.get("training_rows", nb["rows"])
        extra = nb["rows"] - rows
        text += (
            f" A search-match library of the {rows:,} training structures' "
            "PDFs at the paper's Table-2 settings"
            + (f" and {extra:,} crystals of one element" if extra else "")
            + " votes with the networks (its "
            f"{nb['settings']['k']} nearest entries over lattice strains "
            f"up to {nb['settings'].get('strain', 0):.0%}, among "
            "structures of the same number of species when the "
            f"composition is known; weight {nb['settings']['weight']} in "
            "a geometric mean; diffpy.sgpredict.neighbours)."
        )
    return text


MARKERS = {
    ".md": ("<!-- model-table -->", "<!-- /model-table -->"),
    ".rst": (".. model-table start", ".. model-table end"),
}
PAPER_MARKERS = {
    ".md": ("<!-- paper-table -->", "<!-- /paper-table -->"),
    ".rst": (".. paper-table start", ".. paper-table end"),
}
#: Liu et al. (2019), ICSD random split, Table-2 settings, CNN ensemble
PAPER_RESULT = (70.0, 91.9)


def rows(data, shared):
    """(key, label, data, options) of every evaluation row."""
    s = Path(shared)
    structures = dict(csv_path=s / "structures.csv", exclude_training="all")
    exp = dict(csv_path=s / "exp_pdfs.csv")
    out = []
    if data:
        out += [
            (
                "mp_random",
                "MP test rows, random split",
                data,
                dict(heldout="random"),
            ),
            (
                "mp_type",
                "MP test rows, whole structure types",
                data,
                dict(heldout="structure_type"),
            ),
        ]
    out += [
        (
            "structures_xray",
            "real structures (X-ray)",
            s / "structures",
            structures,
        ),
        (
            "structures_neutron",
            "real structures (neutron)",
            s / "structures",
            dict(structures, radiation="neutron"),
        ),
        ("exp_all", "measured PDFs, all", s / "exp_pdfs", exp),
        (
            "exp_xray",
            "measured PDFs, X-ray",
            s / "exp_pdfs",
            dict(exp, radiation="xray"),
        ),
        (
            "exp_neutron",
            "measured PDFs, neutron",
            s / "exp_pdfs",
            dict(exp, radiation="neutron"),
        ),
        (
            "exp_hidden",
            "measured PDFs, radiation not given",
            s / "exp_pdfs",
            dict(exp, tell_radiation=False),
        ),
        (
            "exp_unseen",
            "measured PDFs, (formula, group) not in training",
            s / "exp_pdfs",
            dict(exp, exclude_training="all"),
        ),
    ]
    return out


#: (name suffix, prior, composition) of the three scores of every row
VARIANTS = (
    ("icsd", "icsd", None),
    ("none", "none", None),
    ("icsd_composition", "icsd", "prior"),
)


def command(model, data, opts, prior, composition=None):
    """The ``diffpy.sgpredict evaluate`` command of one row."""
    parts = ["diffpy.sgpredict evaluate", str(model), str(data)]
    if opts.get("csv_path"):
        parts += ["--csv", str(opts["csv_path"])]
    if opts.get("heldout"):
        parts += ["--heldout", opts["heldout"]]
    if opts.get("exclude_training"):
        parts += ["--exclude-training"]
    if opts.get("radiation", "auto") != "auto":
        parts += ["--radiation", opts["radiation"]]
    if opts.get("tell_radiation") is False:
        parts += ["--hide-radiation"]
    parts += ["--prior", prior]
    if composition:
        parts += ["--composition", composition]
    if opts.get("weight_groups"):
        parts += ["--weight-groups", opts["weight_groups"]]
    return " ".join(parts)


def run_all(model, data, shared, out):
    results = {}
    for key, label, path, opts in rows(data, shared):
        if not Path(path).exists():
            # a shared folder without this set (e.g. only the MP table):
            # the row is left out of the report, and said so
            print(f"{key}: {path} not found, row left out", file=sys.stderr)
            continue
        for suffix, prior, composition in VARIANTS:
            name = f"{key}__{suffix}"
            print(f"{name} ...", file=sys.stderr, flush=True)
            res = evaluate(
                model,
                path,
                prior=prior,
                output_dir=out / name,
                composition=composition,
                **opts,
            )
            results[name] = {
                "label": label,
                "prior": prior,
                "composition": composition,
                "n": res["n"],
                "n_read": res["n_read"],
                "n_materials": res["n_materials"],
                "topk": res["topk"],
                "material_topk": res["material_topk"],
                "ece": res["ece"],
                "excluded": len(res["excluded"]),
                "command": command(
                    _relative(model), _relative(path), opts, prior, composition
                ),
            }
    return results


def run_paper(model, data, paper_data, out):
    """The random test rows on the paper's protocol (prior and weights)."""
    results = {}
    opts = dict(heldout="random", weight_groups="paper")
    for key, label, path in (
        ("training_physics", "as in training (drawn physics)", data),
        ("table2", "the paper's Table 2 (X-ray, bulk)", paper_data),
    ):
        if path is None:
            continue
        print(f"paper__{key} ...", file=sys.stderr, flush=True)
        res = evaluate(
            model,
            path,
            prior="paper",
            output_dir=out / f"paper__{key}",
            **opts,
        )
        results[key] = {
            "label": label,
            "n": res["n"],
            "topk": res["topk"],
            "weighted_topk": res["weighted_topk"]["topk"],
            "ece": res["ece"],
            "command": command(
                _relative(model), _relative(path), opts, "paper"
            ),
        }
    return results


def paper_table(results):
    """Markdown table of :func:`run_paper`, with the paper's figures."""
    lines = [
        "| MP random test rows, PDFs computed with | n | top-1 / top-6 % | "
        "top-1 / top-6 % weighted to the paper's group frequencies |",
        "|---|---|---|---|",
    ]
    for r in results.values():
        t, w = r["topk"], r["weighted_topk"]
        lines.append(
            f"| {r['label']} | {r['n']} | {_pct(t[0])} / {_pct(t[5])} | "
            f"{_pct(w[0])} / {_pct(w[5])} |"
        )
    paper = f"{PAPER_RESULT[0]} / {PAPER_RESULT[1]}"
    lines.append(
        "| Liu et al. (2019): their ICSD random split, Table 2 (groups in "
        f"the paper's frequencies by construction) | 20,360 | {paper} | "
        f"{paper} |"
    )
    return "\n".join(lines)


def _relative(path):
    path = Path(path).resolve()
    for base in (ROOT, ROOT.parent):
        try:
            rel = path.relative_to(base)
            return rel if base == ROOT else Path("..") / rel
        except ValueError:
            continue
    return Path(path.name)


def _pct(v):
    return f"{100 * v:.1f}"


def _pair(result, field):
    """``top-1 / top-6`` of a result, empty when there is none."""
    if result is None:
        return ""
    return f"{_pct(result[field][0])} / {_pct(result[field][5])}"


def table(results, baselines=None):
    """Markdown table: one row per evaluation set, prior on and off, and
    with the composition told."""
    lines = [
        "| evaluation set | n | top-1 % | top-3 % | top-6 % | top-1 / top-6 % "
        "without prior | top-1 / top-6 % with the composition | ECE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = [k[: -len("__icsd")] for k in results if k.endswith("__icsd")]
    for key in keys:
        on, off = results[f"{key}__icsd"], results[f"{key}__none"]
        chem = results.get(f"{key}__icsd_composition")
        n = f"{on['n']}"
        if on["n_materials"] < on["n"]:
            k = on["n_materials"]
            n += f" ({k} material{'s' if k > 1 else ''})"
        t = on["topk"]
        lines.append(
            f"| {on['label']} | {n} | {_pct(t[0])} | {_pct(t[2])} | "
            f"{_pct(t[5])} | {_pct(off['topk'][0])} / "
            f"{_pct(off['topk'][5])} | {_pair(chem, 'topk')} | "
            f"{on['ece']:.3f} |"
        )
        if on["n_materials"] < on["n"]:
            m = on["material_topk"]
            lines.append(
                f"| ↳ each material once | {on['n_materials']} | "
                f"{_pct(m[0])} | {_pct(m[2])} | {_pct(m[5])} | "
                f"{_pct(off['material_topk'][0])} / "
                f"{_pct(off['material_topk'][5])} | "
                f"{_pair(chem, 'material_topk')} | |"
            )
    for name, res in (baselines or {}).items():
        for key in ("mp_random", "structures_xray", "exp_all"):
            r = res.get(f"{key}__icsd")
            if r is None:
                continue
            t = r["topk"]
            lines.append(
                f"| {name}: {r['label']} | {r['n']} | {_pct(t[0])} | "
                f"{_pct(t[2])} | {_pct(t[5])} | | | |"
            )
    return "\n".join(lines)


def commands(results):
    return "\n".join(
        f"- {r['label']} ({r['prior']} prior"
        + (", composition told" if r.get("composition") else "")
        + f"): `{r['command']}`"
        for r in results.values()
    )


def _replace_between(path, text, markers=MARKERS):
    start, end = markers[path.suffix]
    body = path.read_text()
    if start not in body or end not in body:
        raise SystemExit(f"{path}: add {start} and {end} markers first")
    head, rest = body.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + start + "\n\n" + text + "\n\n" + end + tail)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--data", type=Path, help="the training dataset (.h5)")
    p.add_argument("--shared", type=Path, default=ROOT.parent / "shared/data")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "report")
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="another model scored on the same sets (for the table)",
    )
    p.add_argument(
        "--paper-data",
        type=Path,
        help="the same table built at the paper's Table-2 settings (.h5)",
    )
    p.add_argument(
        "--keep-baselines",
        action="store_true",
        help="without --baseline: carry the baselines' results (and their "
        "commands) over from MODEL/card.json, for baseline models that "
        "did not change and are not at hand",
    )
    p.add_argument("--write", action="store_true")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = run_all(args.model, args.data, args.shared, args.out)
    baselines = {}
    for spec in args.baseline:
        name, folder = spec.split("=", 1)
        sub = args.out / ("baseline_" + Path(folder).name)
        sub.mkdir(parents=True, exist_ok=True)
        held = Path(folder) / "heldout.json"
        if not held.exists() and (args.model / "heldout.json").exists():
            # score the baseline on the same test rows
            shutil.copy(args.model / "heldout.json", held)
        full = run_all(Path(folder), args.data, args.shared, sub)
        baselines[name] = {
            k: v
            for k, v in full.items()
            if k.split("__")[0] in ("mp_random", "structures_xray", "exp_all")
        }
    if args.keep_baselines and not baselines:
        card = json.loads((args.model / "card.json").read_text())
        baselines = card.get("metrics", {}).get("baselines", {})
    paper = {}
    if args.data or args.paper_data:
        paper = run_paper(args.model, args.data, args.paper_data, args.out)
    (args.out / "results.json").write_text(
        json.dumps(
            {"model": results, "baselines": baselines, "paper": paper},
            indent=1,
        )
    )
    text = table(results, baselines)
    print(text)
    ptext = paper_table(paper) if paper else ""
    print(ptext)
    if not args.write:
        return 0
    card_path = args.model / "card.json"
    card = json.loads(card_path.read_text())
    # no absolute paths of the machine it was made on
    card["training_data"]["path"] = Path(card["training_data"]["path"]).name
    prov = card["training_data"].get("provenance") or {}
    if prov.get("command"):
        prov["command"] = without_folders(prov["command"])
    if card.get("recipe", {}).get("command"):
        card["recipe"]["command"] = without_folders(card["recipe"]["command"])
    tset = args.model / "training_set.json"
    if tset.is_file():
        info = json.loads(tset.read_text())
        info["dataset"] = Path(info.get("dataset", "")).name
        tset.write_text(json.dumps(info, indent=0) + "\n")
    card["description"] = card_description(card)
    card["data_credit"] = CREDIT
    card.setdefault("metrics", {})["evaluation"] = results
    card["metrics"]["baselines"] = baselines
    if paper:
        card["metrics"]["paper_protocol"] = paper
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    block = (
        text
        + "\n\nMeasured with `python scripts/model_report.py` "
        + "(the commands of the rows):\n\n"
        + commands(results)
    )
    _replace_between(ROOT / "README.md", text)
    _replace_between(
        ROOT / "doc" / "source" / "training.rst",
        "\n::\n\n" + "\n".join("    " + ln for ln in block.splitlines()),
    )
    if paper:
        pblock = (
            ptext
            + "\n\nMeasured with `python scripts/model_report.py "
            + "--paper-data TABLE2.h5`:\n\n"
            + "\n".join(
                f"- {r['label']}: `{r['command']}`" for r in paper.values()
            )
        )
        _replace_between(ROOT / "README.md", ptext, PAPER_MARKERS)
        _replace_between(
            ROOT / "doc" / "source" / "training.rst",
            "\n::\n\n" + "\n".join("    " + ln for ln in pblock.splitlines()),
            PAPER_MARKERS,
        )
    static = ROOT / "doc" / "source" / "_static"
    for name, fig in (
        ("structures_xray__icsd", "per_group"),
        ("structures_xray__icsd", "confusion"),
        ("mp_random__icsd", "reliability"),
        ("mp_random__icsd", "per_group"),
    ):
        src = args.out / name / f"{fig}.png"
        if src.is_file():
            shutil.copy(src, static / f"{name.split('__')[0]}_{fig}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
