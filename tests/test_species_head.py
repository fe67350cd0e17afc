"""The species correction: the number of species read beside the PDF."""

import json

import numpy
import pytest
import torch
from test_train import FAST

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import load_model
from diffpy.sgpredict.chemistry import species_code, species_count
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.models import build_model
from diffpy.sgpredict.predictor import Predictor
from diffpy.sgpredict.training import train
from diffpy.sgpredict.training.data import load_training_data
from diffpy.sgpredict.training.species_head import (
    SpeciesHeadSettings,
    fit_species_head,
)

RESNET = {"channels": [8, 8], "kernel": 5, "hidden": 16}


@pytest.fixture(scope="module")
def alloy_model(tmp_path_factory):
    """A small network trained where fcc Ni and L1_2 Ni3Al look the same.

    Rows of Fm-3m (one element) and Pm-3m (``Ni3Al``) get the same PDF
    shape, so the PDF alone cannot tell them apart; P6_3/mmc rows are
    elements too.
    """
    from _synthetic import write_dataset

    folder = tmp_path_factory.mktemp("alloys")
    data = folder / "alloys.h5"
    write_dataset(
        data,
        n_per_group=60,
        groups=(225, 221, 194),
        seed=5,
        formulas={221: "Ni3Al"},
        shapes={221: 225},
    )
    model = folder / "network"
    # the fast settings of the training tests, with a residual network
    kw = dict(FAST, config=RESNET, seed=1, val_fraction=0.2)
    train(data, model, model="resnet", epochs=3, test_fraction=0.1, **kw)
    return data, model


def test_species_codes():
    assert [species_count(c) for c in ("Ni", "Ni3Al", "SrTiO3")] == [1, 2, 3]
    # five species share the last code of a four-code model
    assert species_code("LiNaKRbCs", 4) == 3
    assert species_code("Ni3Al", 0) == -1


def test_unknown_species_leave_the_network_unchanged():
    torch.manual_seed(0)
    net = build_model("resnet", dict(RESNET, species_input=3)).eval()
    with torch.no_grad():
        net.species_bias.normal_()
        net.species_weight.normal_()
    x = torch.rand(4, 209)
    plain = net(x, 0.0)
    assert torch.equal(net(x, 0.0, torch.tensor([-1] * 4)), plain)
    # the correction of a known code is B_s + V_s h on the features
    codes = torch.tensor([0, 1, 2, -1])
    h = net.features(x, torch.zeros(4))
    extra = net.species_bias[codes[:3]] + torch.einsum(
        "nd,ncd->nc", h[:3], net.species_weight[codes[:3]]
    )
    got = net(x, 0.0, codes)
    assert torch.allclose(got[:3], plain[:3] + extra, atol=1e-5)
    assert torch.equal(got[3], plain[3])
    with pytest.raises(ValueError):
        build_model("resnet", dict(RESNET, species_input=-1))


def test_fit_species_head_tells_fcc_from_the_alloy(alloy_model, tmp_path):
    data, model = alloy_model
    out = tmp_path / "with_species"
    lines = []
    fit_species_head(
        model,
        data,
        out,
        SpeciesHeadSettings(passes=2, epochs=30, lr=1e-2),
        num_threads=1,
        progress=lines.append,
    )
    card = json.loads((out / "card.json").read_text())
    assert card["config"]["species_input"] == 4
    assert card["inputs"]["species"] == 4
    assert (out / "heldout.json").read_text() == (
        model / "heldout.json"
    ).read_text()
    # every trained weight is kept: only the species tensors are new
    before = load_model(model)[0].state_dict()
    after = load_model(out)[0].state_dict()
    new = set(after) - set(before)
    assert new and {k.rsplit(".", 1)[-1] for k in new} == {
        "species_bias",
        "species_weight",
    }
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    # on the rows the PDF cannot split, the composition now decides
    rows = load_training_data(data)
    pick = numpy.isin(rows["sg_number"], (221, 225))
    x = rows["G"][pick]
    x = (x - x.min(1, keepdims=True)) / numpy.ptp(x, axis=1, keepdims=True)
    truth = rows["sg_number"][pick]
    formulas = rows["formula"][pick]
    plain = Predictor(model, prior="none", threads=1)
    told = Predictor(out, prior="none", threads=1)
    i221, i225 = (spacegroups.index_of(n) for n in (221, 225))

    def accuracy(probs):
        pred = numpy.where(probs[:, i221] > probs[:, i225], 221, 225)
        return (pred == truth).mean()

    blind = accuracy(plain.predict_proba(x, radiation=numpy.zeros(len(x))))
    aware = accuracy(
        told.predict_proba(
            x, radiation=numpy.zeros(len(x)), composition=list(formulas)
        )
    )
    assert blind < 0.75 and aware > 0.95
    # without a composition the new model answers as the old one
    same = told.predict_proba(x[:5], radiation=numpy.zeros(5))
    ref = plain.predict_proba(x[:5], radiation=numpy.zeros(5))
    assert numpy.allclose(same, ref, atol=1e-6)
    assert card["species_head"]["validation"][0]["after"]["loss"] < (
        card["species_head"]["validation"][0]["before"]["loss"]
    )
    assert any("validation" in line for line in lines)


def test_fit_species_head_refusals(alloy_model, tiny_model, tmp_path):
    data, model = alloy_model
    with pytest.raises(InputError, match="residual network"):
        fit_species_head(tiny_model, data, tmp_path / "a")
    done = tmp_path / "done"
    fit_species_head(
        model, data, done, SpeciesHeadSettings(passes=1, epochs=1)
    )
    with pytest.raises(InputError, match="already reads"):
        fit_species_head(done, data, tmp_path / "b")
    with pytest.raises(InputError, match="at least 1"):
        SpeciesHeadSettings(passes=0)
    with pytest.raises(InputError, match="weight_decay"):
        SpeciesHeadSettings(weight_decay=-1.0)


def test_predict_tells_the_shipped_network_the_species(ni_xray):
    from diffpy.sgpredict import predict
    from diffpy.sgpredict.io import load_pdf

    told = predict(ni_xray, top=45, keep_impossible=True)
    assert told.composition == "Ni"  # from the file's header
    assert "the network was told the number of species: 1" in told.notes
    # an fcc PDF of one element: Fm-3m before the L1_2 alloys' Pm-3m
    assert told.best.number == 225
    data = load_pdf(ni_xray)
    bare = predict(data.r, data.g, top=45, radiation="xray")
    assert not any("species" in n for n in bare.notes)
    five = predict(ni_xray, composition="LiNaKRbCs", top=3)
    assert (
        "the network was told the number of species: 5 (read as 4 or more)"
        in five.notes
    )


def test_predictions_told_the_species_have_their_own_temperature(
    alloy_model, tmp_path
):
    data, model = alloy_model
    out = tmp_path / "calibrated"
    fit_species_head(
        model, data, out, SpeciesHeadSettings(passes=1, epochs=5, lr=1e-2)
    )
    card = json.loads((out / "card.json").read_text())
    cal = card["calibration"]
    t_s = cal["temperature_species"]
    assert t_s > 0 and cal["species_calibration"]["n"] > 0
    told = Predictor(out, prior="none", threads=1)
    assert told.temperature_species == t_s
    rows = load_training_data(data)
    x = rows["G"][:6]
    x = (x - x.min(1, keepdims=True)) / numpy.ptp(x, axis=1, keepdims=True)
    formulas = list(rows["formula"][:6])
    formulas[0] = None  # one row without a composition
    net, _ = load_model(out)
    with torch.no_grad():
        plain = net(torch.as_tensor(x), torch.zeros(6)).numpy()
        codes = torch.tensor([species_code(f, 4) for f in formulas])
        aware = net(torch.as_tensor(x), torch.zeros(6), codes).numpy()

    def softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return numpy.exp(z) / numpy.exp(z).sum(axis=1, keepdims=True)

    got = told.predict_proba(x, radiation=numpy.zeros(6), composition=formulas)
    temperature = told.temperature
    assert numpy.allclose(got[0], softmax(plain / temperature)[0], atol=1e-5)
    assert numpy.allclose(got[1:], softmax(aware / t_s)[1:], atol=1e-5)


def test_supplement_teaches_the_code_of_one_element(tmp_path):
    """Training rows of the fcc shape are all compounds (NaCl-like in
    Fm-3m, Ni3Al in Pm-3m), so "one species" never meets that shape; the
    one-element supplement (Cu, Fm-3m) teaches it, and its pairs join
    training_set.json."""
    from _synthetic import write_dataset

    data = tmp_path / "compounds.h5"
    shapes = {221: 225}
    write_dataset(
        data,
        n_per_group=60,
        groups=(225, 221, 194),
        seed=7,
        formulas={225: "NaCl", 221: "Ni3Al"},
        shapes=shapes,
    )
    extra = tmp_path / "elements.h5"
    write_dataset(
        extra, n_per_group=40, groups=(225,), seed=8, formulas={225: "Cu"}
    )
    model = tmp_path / "network"
    kw = dict(FAST, config=RESNET, seed=1, val_fraction=0.2)
    train(data, model, model="resnet", epochs=3, test_fraction=0.1, **kw)
    settings = SpeciesHeadSettings(passes=2, epochs=30, lr=1e-2)
    plain, taught = tmp_path / "plain", tmp_path / "taught"
    fit_species_head(model, data, plain, settings, num_threads=1)
    fit_species_head(
        model, data, taught, settings, supplement=extra, num_threads=1
    )
    rows = load_training_data(extra)
    x = rows["G"]
    x = (x - x.min(1, keepdims=True)) / numpy.ptp(x, axis=1, keepdims=True)
    i225 = spacegroups.index_of(225)

    def fcc(folder):
        p = Predictor(folder, prior="none", threads=1).predict_proba(
            x, radiation=numpy.zeros(len(x)), composition=["Cu"] * len(x)
        )
        return p[:, i225].mean(), (p.argmax(1) == i225).mean()

    # plain: "one species" was only ever hcp (194), so Fm-3m is not seen
    (p_plain, top_plain), (p_taught, top_taught) = fcc(plain), fcc(taught)
    assert top_plain < 0.1 and p_plain < 0.05
    assert top_taught > 0.75 and p_taught > 0.3
    card = json.loads((taught / "card.json").read_text())
    assert card["species_head"]["supplement"]["rows"] == 40
    assert card["species_head"]["supplement"]["dataset"] == "elements.h5"
    assert "crystals of one element" in card["description"]
    plain_card = json.loads((plain / "card.json").read_text())
    assert plain_card["species_head"]["supplement"] is None
    assert "crystals of one element" not in plain_card["description"]
    pairs = json.loads((taught / "training_set.json").read_text())
    assert ["Cu", 225] in pairs["formula_sg"]
    assert ["ClNa", 225] in pairs["formula_sg"]  # the reduced formula key


def test_decoloured_crystals_take_the_group_an_element_gives(tmp_path):
    """scripts/build_decoloured.py: zincblende of one element is diamond
    (Fd-3m), named by an element the table holds in Fd-3m; rows outside
    the training side and groups without such an element are left out."""
    from types import SimpleNamespace

    from _scripts import load_script

    mod = load_script("build_decoloured")
    a = 5.4
    lattice = f"0 {a / 2} {a / 2} {a / 2} 0 {a / 2} {a / 2} {a / 2} 0"
    rows = [
        # zincblende ZnS (F-43m) and a second one of another type key
        dict(
            id="mp-1",
            species="Zn S",
            frac="0 0 0 0.25 0.25 0.25",
            lattice=lattice,
            sg_number="216",
        ),
        dict(
            id="mp-2",
            species="Ga As",
            frac="0 0 0 0.25 0.25 0.25",
            lattice=lattice,
            sg_number="216",
        ),
        # rock salt: one element makes simple cubic, Pm-3m (no element
        # of the table is there)
        dict(
            id="mp-3",
            species="Na Cl",
            frac="0 0 0 0.5 0.5 0.5",
            lattice=lattice,
            sg_number="225",
        ),
        # not a training row
        dict(
            id="mp-4",
            species="Cd Te",
            frac="0 0 0 0.25 0.25 0.25",
            lattice=lattice,
            sg_number="216",
        ),
        # crystals of one element: Pb in Fd-3m, Cu in Fm-3m
        dict(
            id="mp-5",
            species="Pb Pb",
            frac="0 0 0 0.25 0.25 0.25",
            lattice=lattice,
            sg_number="227",
        ),
        dict(
            id="mp-6",
            species="Cu",
            frac="0 0 0",
            lattice=lattice,
            sg_number="225",
        ),
    ]
    elements = mod.elements_by_group(rows)
    assert elements == {227: ["Pb"], 225: ["Cu"]}
    train = {"mp-1": "AB|216|ac", "mp-2": "AB|216|ac", "mp-3": "AB|225|ab"}
    args = SimpleNamespace(
        max_sites=16, max_per_group=10, symprec=0.1, raised_only=False
    )
    items, per_group = mod.decoloured_items(
        rows, train, elements, args, numpy.random.default_rng(0)
    )
    # mp-1 and mp-2 share a structure type: one row; mp-3 has no element
    assert [it["crystal"].meta["sg_number"] for it in items] == [227]
    crystal = items[0]["crystal"]
    assert crystal.meta["formula"] == "Pb" and set(crystal.species) == {"Pb"}
    assert crystal.meta["source"] in ("decoloured:mp-1", "decoloured:mp-2")
    assert dict(per_group) == {227: 1}
    # a compound already labelled with the group its element gives (an
    # ordering of nothing simpler) is kept only without raised_only
    rows[0]["sg_number"] = rows[1]["sg_number"] = "227"
    kept = mod.decoloured_items(
        rows, train, elements, args, numpy.random.default_rng(0)
    )[0]
    args.raised_only = True
    raised = mod.decoloured_items(
        rows, train, elements, args, numpy.random.default_rng(0)
    )[0]
    assert len(kept) == 1 and raised == []
