"""The stoichiometry prior: class keys, the shipped counts, Bayes' rule,
the builder's counting rule, and its use by predict and evaluate."""

import csv
import gzip
import math
from pathlib import Path

import numpy
import pytest
from _scripts import load_script

from diffpy.sgpredict.chemistry import stoichiometry_class
from diffpy.sgpredict.chemprior import (
    StoichiometryPrior,
    read_counts,
    stoichiometry_prior,
)
from diffpy.sgpredict.predictor import Predictor, predict
from diffpy.sgpredict.sgpredictapp import main

_script = load_script


@pytest.mark.parametrize(
    "formula, key",
    [
        ("Ni", "1"),
        ("SrFe2As2", "1:2:2"),
        ("Fe4Sr2As4", "1:2:2"),
        # dopants on one site: the class of the parent compound
        ("Ba0.7K0.3(Zn0.85Mn0.15)2As2", "1:2:2"),
        ("SrTiO3", "1:1:3"),
        ("Y3Al5O12", "3:5:12"),
        ("TiO1.37", None),
    ],
)
def test_stoichiometry_class(formula, key):
    assert stoichiometry_class(formula) == key


def test_shipped_prior_knows_common_structure_kinds():
    prior = stoichiometry_prior()
    assert prior.alpha > 0 and prior.beta > 0
    assert 0 < prior.strength <= 1
    assert prior.total.sum() > 80000
    assert prior.marginal.sum() == pytest.approx(1.0)

    def ratio(formula, group):
        return dict(zip(prior.labels, prior.log_ratio(formula)))[group]

    # perovskites, spinels, garnets, ThCr2Si2: their group is several
    # times more common among compounds of their kind than overall
    assert ratio("SrTiO3", 221) > 1.5
    assert ratio("MgAl2O4", 227) > 1.5
    assert ratio("Y3Al5O12", 230) > 3.0
    assert ratio("SrFe2As2", 139) > 1.5
    # elements rarely crystallise in P2_1/c
    assert ratio("Ni", 14) < -1.0
    assert ratio("Cu", 194) > 0.5


def test_smoothing_follows_the_equations():
    counts = {"1d": {225: 3}, "1p:1s": {225: 1, 221: 1}}
    prior = StoichiometryPrior(counts, alpha=1.0, beta=2.0, gamma=1.0)
    k225, k221 = prior.labels.index(225), prior.labels.index(221)
    # pi(g) = (n_g + 1) / (n + 45)
    assert prior.marginal[k225] == pytest.approx(5 / 50)
    assert prior.marginal[k221] == pytest.approx(2 / 50)
    # one species: pi(g|k) = (3 + 2 * 0.1) / (3 + 2); the class "1"
    # holds the same three structures: (3 + 1 * pk) / (3 + 1); the kind
    # "1d" too: (3 + 1 * pc) / (3 + 1)
    pk = (3 + 2 * 0.1) / 5
    pc = (3 + 1 * pk) / 4
    p = prior.probabilities("1d")
    assert p[k225] == pytest.approx((3 + pc) / 4)
    assert p.sum() == pytest.approx(1.0)
    # an unseen kind backs off to its class, an unseen class to the
    # number of species
    assert prior.probabilities("1p")[k225] == pytest.approx(pc)
    assert prior.probabilities("7d")[k225] == pytest.approx(pk)
    assert prior.size("1d") == 3 and prior.size("1f") == 0


def test_apply_is_bayes_rule_with_the_strength():
    prior = stoichiometry_prior()
    flat = numpy.full(45, 1 / 45)
    flat[prior.labels.index(230)] = 0.0
    out, note = prior.apply(flat / flat.sum(), "SrTiO3")
    expected = numpy.exp(prior.strength * prior.log_ratio("SrTiO3"))
    expected[prior.labels.index(230)] = 0.0
    assert out == pytest.approx(expected / expected.sum())
    assert out[prior.labels.index(230)] == 0.0
    assert note.startswith("stoichiometry prior 1d:1s:3p applied (")
    assert "of stoichiometry 1:1:3" in note
    same, note = prior.apply(flat, "TiO1.37")
    assert same is not None and numpy.array_equal(same, flat)
    assert "not applied" in note


def test_builder_counts_each_pair_once_without_heldout_pairs(tmp_path):
    module = _script("build_stoichiometry_prior.py")
    table = tmp_path / "t.csv.gz"
    rows = [
        ("mp-1", "Ni", 225, 1),
        ("mp-2", "Ni", 225, 0),  # same (formula, group): counted once
        ("mp-3", "Ni", 229, 1),  # not among the 45
        ("mp-4", "NaCl", 225, 1),
        ("mp-5", "ClNa", 225, 0),  # NaCl again
        ("mp-6", "TiO2", 136, 1),  # held out
        ("mp-7", "Ti2O4", 136, 0),  # the held-out pair again
        ("mp-8", "TiO2", 141, 0),
    ]
    with gzip.open(table, "wt", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "formula", "sg_number", "experimental"])
        w.writerows(rows)
    counts, info, experimental = module.count_pairs(table, {"mp-6"})
    assert {k: dict(v) for k, v in counts.items()} == {
        "1d": {225: 1},
        "1p:1s": {225: 1},
        "1d:2p": {141: 1},
    }
    assert (info["rows"], info["pairs"], info["held"]) == (7, 3, 1)
    assert experimental == {"mp-1", "mp-3", "mp-4", "mp-6"}
    only, _, _ = module.count_pairs(table, {"mp-6"}, experimental_only=True)
    assert {k: dict(v) for k, v in only.items()} == {
        "1d": {225: 1},
        "1p:1s": {225: 1},
    }
    # evaluation sets' pairs stay out too ("TiO2_rutile" names TiO2)
    known = tmp_path / "known.csv"
    known.write_text(
        "file,material,sg_number\n"
        "a.gr,TiO2_rutile,141.0\n"
        "b.gr,alpha_ZrP,14\n"
    )
    assert module.evaluation_pairs([known]) == {("O2Ti", 141)}
    less, _, _ = module.count_pairs(
        table, {"mp-6"}, exclude=module.evaluation_pairs([known])
    )
    assert "1d:2p" not in less and dict(less["1d"]) == {225: 1}
    # leave-one-out: each of the 3 structures is predicted from the other
    # two; with nothing else left in its class it falls back to pi(g)
    ll = module.leave_one_out(counts, alpha=1.0, beta=1.0)
    assert math.isfinite(ll) and ll < 0
    # the only Ni structure, left out, leaves its kind, class and species
    # empty: it is predicted by pi(g) of the other two, (1 + 1) / (2 + 45)
    lone = module.leave_one_out(
        {"1d": {225: 1}, "1p:1s": {225: 1}}, alpha=1.0, beta=1.0, gamma=1.0
    )
    assert lone == pytest.approx(math.log(2 / 46))


def test_shipped_table_reads_back():
    import diffpy.sgpredict

    header, counts = read_counts(
        Path(diffpy.sgpredict.__file__).parent
        / "data"
        / "model"
        / "stoichiometry_groups.csv"
    )
    assert "CC BY 4.0" in header["source"]
    assert float(header["strength"]) == stoichiometry_prior().strength
    assert sum(sum(g.values()) for g in counts.values()) == int(
        header["pairs"]
    )


def test_predict_with_composition_applies_the_prior(ni_xray):
    prior = stoichiometry_prior()
    plain = predict(
        ni_xray,
        top=45,
        composition="Ni",
        keep_impossible=True,
        stoichiometry_prior=False,
    )
    weighted = predict(ni_xray, top=45, composition="Ni", keep_impossible=True)
    labels = plain.labels
    i, j = labels.index(225), labels.index(221)
    r = prior.log_ratio("Ni")
    before = plain.probabilities[i] / plain.probabilities[j]
    after = weighted.probabilities[i] / weighted.probabilities[j]
    assert after / before == pytest.approx(
        math.exp(prior.strength * (r[i] - r[j])), rel=1e-6
    )
    assert any(n.startswith("stoichiometry prior 1d ") for n in weighted.notes)
    assert not any("stoichiometry prior" in n for n in plain.notes)
    # data without a composition get no prior: the network's output;
    # the header's composition reaches the network (its number of
    # species) and, with the prior off, nothing else
    from diffpy.sgpredict.io import load_pdf

    data = load_pdf(ni_xray)
    bare = predict(data.r, data.g, top=45, radiation="xray")
    assert not any("stoichiometry" in n for n in bare.notes)
    predictor = Predictor(threads=1)
    x = bare.x[None, :]
    assert bare.probabilities == pytest.approx(
        predictor.predict_proba(x, radiation=[0.0])[0]
    )
    header = predict(
        ni_xray, top=45, stoichiometry_prior=False, keep_impossible=True
    )
    assert header.probabilities == pytest.approx(
        predictor.predict_proba(x, radiation=[0.0], composition="Ni")[0]
    )


def test_condition_drops_impossible_groups_after_the_prior():
    predictor = Predictor(threads=1)
    flat = numpy.full(45, 1 / 45)
    p, possible, gone, notes = predictor.condition(flat, "Ni", top=6)
    assert gone == [230] and p[predictor.labels.index(230)] == 0
    assert p.sum() == pytest.approx(1.0)
    assert (
        predictor.labels[int(p.argmax())]
        == max(zip(stoichiometry_prior().log_ratio("Ni"), predictor.labels))[1]
    )


def test_cli_option_turns_the_prior_off(ni_xray, capsys):
    assert main(["predict", str(ni_xray), "--composition", "Ni"]) == 0
    assert "stoichiometry prior 1d applied" in capsys.readouterr().out
    status = main(
        [
            "predict",
            str(ni_xray),
            "--composition",
            "Ni",
            "--no-stoichiometry-prior",
        ]
    )
    assert status == 0
    assert "stoichiometry prior" not in capsys.readouterr().out


def test_cli_zmax_reaches_the_filter(ni_xray, capsys):
    assert main(["predict", str(ni_xray), "--zmax", "16"]) == 0
    assert "every group can hold it for Z <= 16" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(ni_xray), "--zmax", "0"])
    assert exc.value.code == 2
    assert "--zmax: must be at least 1" in capsys.readouterr().err


def test_a_model_folder_brings_its_own_prior(tmp_path, ni_xray):
    """The table beside a model is used with it (its counts leave out
    that model's test sets); without one the shipped table serves."""
    import shutil

    from diffpy.sgpredict.card import default_model_dir

    folder = tmp_path / "model"
    shutil.copytree(default_model_dir(), folder)
    table = folder / "stoichiometry_groups.csv"
    text = table.read_text().replace("# strength: 0.35", "# strength: 0.7")
    table.write_text(text)
    own = Predictor(folder, threads=1)
    assert own.stoichiometry_prior.strength == 0.7
    flat = numpy.full(45, 1 / 45)
    k = own.labels.index(221)
    # a stronger prior lifts the perovskite group further
    assert (
        own.condition(flat, "SrTiO3")[0][k]
        > Predictor(threads=1).condition(flat, "SrTiO3")[0][k]
    )
    table.unlink()
    assert Predictor(folder, threads=1).stoichiometry_prior.strength == (
        stoichiometry_prior().strength
    )


def test_refine_picks_its_candidates_with_or_without_the_prior(
    ni_xray, tmp_path, capsys
):
    """``refine`` without ``--groups`` takes predict's top 6, with the
    stoichiometry prior unless ``--no-stoichiometry-prior``."""
    for flag, use in (([], True), (["--no-stoichiometry-prior"], False)):
        out = tmp_path / f"fits_{use}"
        args = ["refine", str(ni_xray), "-o", str(out), "--composition", "Ni"]
        assert main(args + flag) == 0
        printed = [
            int(line.split()[0])
            for line in capsys.readouterr().out.splitlines()
            if line[:3].strip().isdigit()
        ]
        expected = predict(
            ni_xray, composition="Ni", stoichiometry_prior=use
        ).candidates
        assert printed == [c.number for c in expected]
