"""Tests of evaluation: metrics on cases with known answers."""

import json
import shutil

import numpy
import pytest
import torch

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import formula_key as canonical_formula
from diffpy.sgpredict.dataset import load_arrays
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.evaluate import evaluate, format_report
from diffpy.sgpredict.metrics import (
    confusion_matrix,
    top_confusions,
    topk_accuracy,
)

#: class ranking of the hand-built model: a fixed order for every input
RANKING = [225, 221, 194, 14, 2, 62, 166, 227]


@pytest.fixture(scope="module")
def ranked_model(tmp_path_factory):
    """A logreg model whose logits ignore X: class k scores -rank."""
    from diffpy.sgpredict.card import save_model
    from diffpy.sgpredict.grid import MODEL_GRID
    from diffpy.sgpredict.models import build_model

    config = {"quadratic": False, "npoints": 209, "nclasses": 45}
    net = build_model("logreg", config)
    bias = torch.full((45,), -50.0)
    for rank, number in enumerate(RANKING):
        bias[spacegroups.index_of(number)] = -2.0 * rank
    with torch.no_grad():
        net.linear.weight.zero_()
        net.linear.bias.copy_(bias)
    out = tmp_path_factory.mktemp("ranked")
    counts = [0] * 45
    counts[spacegroups.index_of(225)] = 7
    card = {
        "name": "hand-built",
        "architecture": "logreg",
        "config": config,
        "labels": list(spacegroups.NUMBERS),
        "input": {**MODEL_GRID.to_dict(), "min_rmax": 19.9},
        "prior": {"train": [1 / 45] * 45, "train_counts": counts},
    }
    save_model(out, [net], card)
    (out / "training_set.json").write_text(
        json.dumps({"formula_sg": [["Ni", 225]], "prototypes": ["p-1"]})
    )
    return out


@pytest.fixture(scope="module")
def eval_h5(tmp_path_factory):
    """Evaluation rows of groups with known ranks 1, 2, 3, 7 and >8."""
    from _synthetic import write_dataset

    path = tmp_path_factory.mktemp("ev") / "ev.h5"
    write_dataset(path, n_per_group=3, groups=(225, 221, 194, 227), seed=9)
    return path


def test_topk_accuracy_known():
    s = numpy.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])
    assert topk_accuracy(s, [0, 0, 2], 3).tolist() == pytest.approx(
        [1 / 3, 2 / 3, 1.0]
    )


def test_canonical_formula_and_confusions():
    assert canonical_formula("Ti2O4") == canonical_formula("O2Ti") == "O2Ti"
    assert canonical_formula("SrTiO3") == "O3SrTi"
    assert canonical_formula("CdSe nanoparticle") == "CdSe nanoparticle"
    cm = confusion_matrix([0, 0, 1, 1, 1], [1, 1, 0, 1, 2], 3)
    assert cm.tolist() == [[0, 2, 0], [1, 1, 1], [0, 0, 0]]
    labels = (14, 2, 225)
    conf = top_confusions(cm, labels, 2)
    assert conf[0] == {
        "true": 14,
        "predicted": 2,
        "count": 2,
        "relation": "predicted is a subgroup",
    }
    assert conf[1]["relation"] == "predicted is a supergroup"


def test_evaluate_hdf5_known_topk(ranked_model, eval_h5, tmp_path):
    res = evaluate(ranked_model, eval_h5, prior="train", output_dir=tmp_path)
    # ranks: 225 -> 1, 221 -> 2, 194 -> 3, 227 -> 8; three rows each
    assert res["n"] == 12
    assert res["topk"] == pytest.approx([0.25, 0.5, 0.75, 0.75, 0.75, 0.75])
    assert res["gains"] == pytest.approx([0.25, 0.25, 0.25, 0, 0, 0])
    by = {g["number"]: g for g in res["per_group"]}
    assert by[225]["top1"] == 1 and by[227]["top6"] == 0
    assert by[225]["train_count"] == 7
    assert res["confusions"][0]["predicted"] == 225
    assert (tmp_path / "per_group.png").stat().st_size > 1000
    assert (tmp_path / "confusion.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert saved["topk"] == res["topk"]
    text = format_report(res)
    assert "25.0%" in text and "Fm-3m" in text


def test_weighted_to_the_paper_group_frequencies(ranked_model, eval_h5):
    res = evaluate(ranked_model, eval_h5, prior="train", weight_groups="paper")
    # ranks 1, 2, 3 and 8 for Fm-3m, Pm-3m, P6_3/mmc and Fd-3m, whose
    # ICSD entries in Liu et al. (2019) are 4860, 2933, 3971 and 4382
    n = {225: 4860, 221: 2933, 194: 3971, 227: 4382}
    total = sum(n.values())
    top = res["weighted_topk"]["topk"]
    assert res["weighted_topk"]["frequencies"] == "paper"
    assert top[0] == pytest.approx(n[225] / total)
    assert top[1] == pytest.approx((n[225] + n[221]) / total)
    assert top[2] == top[5] == pytest.approx(1 - n[227] / total)
    assert "weighted to the paper group frequencies" in format_report(res)
    assert evaluate(ranked_model, eval_h5)["weighted_topk"] is None
    with pytest.raises(InputError, match="weight_groups"):
        evaluate(ranked_model, eval_h5, weight_groups="cod")


def test_prior_correction_follows_formula(ranked_model, eval_h5):
    # the ICSD prior favours P2_1/c (14) strongly enough to pass 194
    res = evaluate(ranked_model, eval_h5, prior="icsd")
    icsd = spacegroups.icsd_prior()
    logp = numpy.full(45, -50.0)
    for rank, number in enumerate(RANKING):
        logp[spacegroups.index_of(number)] = -2.0 * rank
    shifted = logp + numpy.log(icsd + 1e-6) - numpy.log(1 / 45 + 1e-6)
    order = numpy.argsort(-shifted)
    rank_of = {spacegroups.NUMBERS[k]: i for i, k in enumerate(order)}
    expected = [
        numpy.mean([rank_of[g] < k for g in (225, 221, 194, 227)])
        for k in range(1, 7)
    ]
    assert res["topk"] == pytest.approx(expected)


def test_exclude_training(ranked_model, eval_h5):
    # the synthetic rows use formulas Ni, Cu, ...; Ni in Fm-3m is excluded
    res = evaluate(ranked_model, eval_h5, prior="train", exclude_training=True)
    assert len(res["excluded"]) == 3 and res["n"] == 9


def test_exclude_training_seeds_only(ranked_model, eval_h5, tmp_path):
    import shutil as sh

    model = tmp_path / "m"
    sh.copytree(ranked_model, model)
    (model / "training_set.json").write_text(
        json.dumps(
            {
                # Ni in Fm-3m was generated; Cu in P6_3/mmc came from a
                # CIF; the prototype 227-0 seeded rows, stat:X did not
                "formula_sg": [["Ni", 225], ["Cu", 194]],
                "cif_formula_sg": [["Cu", 194]],
                "prototypes": ["227-0", "stat:Ni"],
            }
        )
    )
    every = evaluate(model, eval_h5, prior="train", exclude_training="all")
    seeds = evaluate(model, eval_h5, prior="train", exclude_training="seeds")
    assert every["exclude_training"] == "all"
    assert seeds["exclude_training"] == "seeds"
    assert len(seeds["excluded"]) < len(every["excluded"])
    names = set(seeds["excluded"])
    assert names <= set(every["excluded"])
    # seeds: the CIF pair and the prototype key, not the generated Ni
    ev = load_arrays(eval_h5, ["id", "formula", "sg_number", "prototype"])
    expect = {
        str(i)
        for i, f, s, p in zip(
            ev["id"], ev["formula"], ev["sg_number"], ev["prototype"]
        )
        if (str(f), int(s)) == ("Cu", 194) or str(p) == "227-0"
    }
    assert names == expect and len(expect) > 0
    with pytest.raises(InputError, match="exclude_training"):
        evaluate(model, eval_h5, exclude_training="some")


def test_measured_folder_with_csv(ranked_model, data_dir, tmp_path):
    folder = tmp_path / "gr"
    folder.mkdir()
    shutil.copy(data_dir / "gr" / "Ni_neutron_r20.gr", folder / "Ni.gr")
    shutil.copy(data_dir / "gr" / "Ni_neutron_r20.gr", folder / "Ni2.gr")
    csv = tmp_path / "known.csv"
    csv.write_text("file,sg_number,material\nNi.gr,225.0,Ni\ngr/Ni2.gr,14,x\n")
    res = evaluate(ranked_model, folder, csv_path=csv, prior="train")
    assert res["kind"] == "measured" and res["n"] == 2
    assert [p["rank"] for p in res["predictions"]] == [1, 4]
    with pytest.raises(InputError):
        evaluate(ranked_model, folder, prior="train")


def test_cli_evaluate(ranked_model, eval_h5, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    argv = ["evaluate", str(ranked_model), str(eval_h5), "--json"]
    assert main(argv + ["--prior", "train"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["topk"][0] == pytest.approx(0.25)
    assert main(argv + ["--weight-groups", "icsd"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weighted_topk"]["frequencies"] == "icsd"
    assert main(["evaluate", str(ranked_model), "/nonexistent.h5"]) == 2


def test_evaluate_with_composition_follows_bayes_rule(ranked_model, eval_h5):
    """``composition="prior"`` weights each row by the stoichiometry
    prior of its formula and drops the groups it cannot hold; "filter"
    only drops them."""
    from diffpy.sgpredict.chemprior import stoichiometry_prior
    from diffpy.sgpredict.wyckoff import composition_allowed

    prior = stoichiometry_prior()
    formulas = load_arrays(eval_h5, ["formula"])["formula"]
    logits = numpy.full(45, -50.0)
    for rank, number in enumerate(RANKING):
        logits[spacegroups.index_of(number)] = -2.0 * rank
    for mode in ("filter", "prior"):
        res = evaluate(ranked_model, eval_h5, prior="train", composition=mode)
        assert res["composition"] == mode
        assert f"composition: {mode}" in format_report(res)
        for pred, formula in zip(res["predictions"], formulas):
            logp = logits.copy()
            if mode == "prior":
                logp += prior.strength * prior.log_ratio(str(formula))
            allowed = numpy.array(
                [composition_allowed(str(formula), n) for n in RANKING]
            )
            p = numpy.exp(logp - logp.max())
            for number, ok in zip(RANKING, allowed):
                if not ok:
                    p[spacegroups.index_of(number)] = 0.0
            p /= p.sum()
            k = spacegroups.index_of(pred["true"])
            assert pred["p_true"] == pytest.approx(p[k], rel=1e-5)
    with pytest.raises(InputError, match="composition='both'"):
        evaluate(ranked_model, eval_h5, composition="both")


def test_cli_evaluate_with_and_without_the_library(
    ranked_model, eval_h5, tmp_path, capsys
):
    from diffpy.sgpredict.grid import MODEL_GRID
    from diffpy.sgpredict.neighbours import LIBRARY_NAME, save_library
    from diffpy.sgpredict.sgpredictapp import main

    # a library of Fd-3m curves only, whose vote alone decides (weight 1):
    # every row is then predicted Fd-3m, ranked 8th by the network
    model = tmp_path / "with_library"
    shutil.copytree(ranked_model, model)
    rng = numpy.random.default_rng(4)
    curves = rng.random((30, MODEL_GRID.npoints))
    fd3m = spacegroups.index_of(227)
    sha = save_library(model / LIBRARY_NAME, curves, [fd3m] * 30, [-1] * 30)
    card = json.loads((model / "card.json").read_text())
    card["neighbours"] = {
        "file": LIBRARY_NAME,
        "sha256": sha,
        "settings": {"weight": 1.0, "floor": 1e-6, "candidates": 30},
    }
    (model / "card.json").write_text(json.dumps(card))
    argv = ["evaluate", str(model), str(eval_h5), "--json", "--prior", "train"]
    assert main(argv) == 0
    both = json.loads(capsys.readouterr().out)
    assert main(argv + ["--no-neighbours"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert both["neighbours"] is True and alone["neighbours"] is False
    assert both["topk"][0] == pytest.approx(0.25)  # the Fd-3m rows
    assert alone["topk"][0] == pytest.approx(0.25)  # the Fm-3m rows
    top1 = {
        name: {g["number"]: g["top1"] for g in res["per_group"]}
        for name, res in (("both", both), ("alone", alone))
    }
    assert top1["both"][227] == 1.0 and top1["both"][225] == 0.0
    assert top1["alone"][227] == 0.0 and top1["alone"][225] == 1.0
