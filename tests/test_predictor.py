import json

import numpy
import pytest
from conftest import fake_pdf, write_gr

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import load_model, read_card
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import to_model_input
from diffpy.sgpredict.predictor import Predictor, predict


def test_result_structure_and_ranking(tiny_model, ni_xray):
    result = predict(ni_xray, model=tiny_model, top=6)
    assert result.name == "Ni_xray.gr"
    assert len(result.candidates) == 6
    probs = [c.probability for c in result.candidates]
    assert probs == sorted(probs, reverse=True)
    assert numpy.isclose(result.probabilities.sum(), 1.0)
    # the candidates are the six largest of all 45 probabilities
    assert probs[0] == pytest.approx(result.probabilities.max())
    assert probs[-1] == pytest.approx(numpy.sort(result.probabilities)[-6])
    for c in result.candidates:
        info = spacegroups.get(c.number)
        assert (c.symbol, c.crystal_system) == (
            info.symbol,
            info.crystal_system,
        )
    total = sum(result.crystal_systems.values())
    assert total == pytest.approx(1.0)
    cubic = sum(
        p
        for p, g in zip(result.probabilities, spacegroups.SPACE_GROUPS)
        if g.crystal_system == "cubic"
    )
    assert result.crystal_systems["cubic"] == pytest.approx(cubic)
    d = json.loads(result.to_json())
    assert set(d) == {
        "file",
        "in_domain",
        "domain_score",
        "warnings",
        "candidates",
        "families",
        "crystal_systems",
        "composition",
        "radiation",
        "impossible",
        "notes",
        "temperature",
    }
    assert set(d["candidates"][0]) == {
        "number",
        "symbol",
        "crystal_system",
        "probability",
        "family",
        "possible",
    }
    assert d["in_domain"] is True and d["warnings"] == []
    # every candidate sits in exactly one family, whose head it names
    members = [n for f in d["families"] for n in f["members"]]
    assert sorted(members) == sorted(c["number"] for c in d["candidates"])
    heads = {f["head"] for f in d["families"]}
    assert {c["family"] for c in d["candidates"]} == heads
    assert result.meta["qmax"] == 25.0


def test_prior_correction_is_bayes_rule(tiny_model):
    r, g = fake_pdf()
    raw = Predictor(tiny_model, prior="none").predict(r, g, top=45)
    icsd = Predictor(tiny_model, prior="icsd").predict(r, g, top=45)
    prior = spacegroups.icsd_prior()
    expected = raw.probabilities * (prior + 1e-6)
    expected /= expected.sum()
    assert numpy.allclose(icsd.probabilities, expected, rtol=1e-5)
    uniform = Predictor(tiny_model, prior="uniform").predict(r, g, top=45)
    assert numpy.allclose(uniform.probabilities, raw.probabilities)


def test_array_batch_and_file_inputs_agree(tiny_model, tmp_path):
    r, g = fake_pdf()
    g2 = numpy.roll(g, 40)
    path = write_gr(tmp_path / "a.gr", r, g)
    one = predict(path, model=tiny_model)
    arr = predict(r, g, model=tiny_model)
    batch = predict(r, numpy.stack([g, g2]), model=tiny_model)
    files = predict([str(path), str(path)], model=tiny_model)
    assert isinstance(batch, list) and len(batch) == 2
    for other in (arr, batch[0], files[0], files[1]):
        assert numpy.allclose(one.probabilities, other.probabilities, 1e-5)
    assert not numpy.allclose(batch[0].probabilities, batch[1].probabilities)


def test_predictor_uses_the_model_input_path(tiny_model):
    import torch

    r, g = fake_pdf()
    net, card = load_model(tiny_model)
    x, _ = to_model_input(r, g)
    with torch.no_grad():
        logp = net(torch.from_numpy(x[None])).numpy()[0]
    expected = numpy.exp(logp - logp.max())
    expected /= expected.sum()
    got = Predictor(tiny_model, prior="none").predict(r, g).probabilities
    assert numpy.allclose(got, expected, rtol=1e-5)


def test_short_data_are_padded_and_too_short_refused(tiny_model, tmp_path):
    r, g = fake_pdf(rmax=20.0)
    result = predict(write_gr(tmp_path / "r20.gr", r, g), model=tiny_model)
    assert result.nvalid == int(numpy.sum(result.r <= 20.0))
    assert numpy.all(result.x[result.nvalid :] == 0)
    r, g = fake_pdf(rmax=12.0)
    with pytest.raises(InputError, match="short.gr: data cover r = 0-12"):
        predict(write_gr(tmp_path / "short.gr", r, g), model=tiny_model)


def test_top_must_be_valid(tiny_model):
    r, g = fake_pdf()
    with pytest.raises(InputError, match="top must be"):
        predict(r, g, model=tiny_model, top=0)
    assert len(predict(r, g, model=tiny_model, top=45).candidates) == 45


def test_plot_written(tiny_model, tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    r, g = fake_pdf()
    out = tmp_path / "p.png"
    fig = predict(r, g, model=tiny_model).plot(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10000
    # the measured G(r) as given, not the normalised model input
    line = fig.axes[0].lines[0]
    assert numpy.allclose(line.get_ydata(), g)
    assert "in domain" in fig.texts[0].get_text()
    assert matplotlib.get_backend() == backend  # no process state changed
    with pytest.raises(InputError, match="does not exist"):
        predict(r, g, model=tiny_model).plot(tmp_path / "no" / "p.png")


def test_tampered_weights_are_refused(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_model(copy)
    (copy / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="weights file missing"):
        load_model(copy)
    with pytest.raises(ModelError, match="no card.json"):
        read_card(tmp_path / "nowhere")


def test_card_is_checked(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    card = json.loads((copy / "card.json").read_text())
    card["labels"][0] = 1
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not among the 45"):
        read_card(copy)
    del card["labels"]
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="lacks labels"):
        read_card(copy)


def _copy_with_card(tiny_model, tmp_path, **fields):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    card = json.loads((copy / "card.json").read_text())
    card.update(fields)
    (copy / "card.json").write_text(json.dumps(card))
    return copy


def test_calibration_temperature_divides_the_logits(tiny_model, tmp_path):
    import torch

    r, g = fake_pdf()
    calibrated = _copy_with_card(
        tiny_model,
        tmp_path,
        calibration={"temperature": 2.5, "ece_before": 0.1, "ece_after": 0.02},
    )
    net, _ = load_model(tiny_model)
    x, _ = to_model_input(r, g)
    with torch.no_grad():
        logp = net(torch.from_numpy(x[None])).numpy()[0].astype(float)
    expected = numpy.exp(logp / 2.5 - (logp / 2.5).max())
    expected /= expected.sum()
    pred = Predictor(calibrated, prior="none")
    assert pred.temperature == 2.5
    got = pred.predict(r, g).probabilities
    assert numpy.allclose(got, expected, rtol=1e-5)
    plain = Predictor(tiny_model, prior="none")
    assert plain.temperature == 1.0
    # a higher temperature flattens the distribution
    assert got.max() < plain.predict(r, g).probabilities.max()


def test_bad_calibration_temperature_is_refused(tiny_model, tmp_path):
    bad = _copy_with_card(tiny_model, tmp_path, calibration={"temperature": 0})
    with pytest.raises(ModelError, match="temperature must be positive"):
        Predictor(bad)


def test_composition_filter_drops_groups_that_cannot_hold_it(tiny_model):
    from diffpy.sgpredict.wyckoff import composition_allowed

    r, g = fake_pdf()
    free = predict(r, g, model=tiny_model, top=45)
    assert free.impossible == [] and free.composition is None
    # the filter alone (the stoichiometry prior: tests/test_chemprior.py)
    ni = predict(
        r,
        g,
        model=tiny_model,
        top=45,
        composition="Ni",
        stoichiometry_prior=False,
    )
    # Ia-3d has no site with fewer than 16 positions: no Ni with Z <= 8
    assert ni.impossible == [230]
    assert [c.number for c in ni.candidates if c.number == 230] == []
    assert len(ni.candidates) == 44
    assert ni.probabilities.sum() == pytest.approx(1.0)
    k = spacegroups.index_of(230)
    assert ni.probabilities[k] == 0.0
    # the rest keep their ratios
    keep = numpy.arange(45) != k
    ratio = ni.probabilities[keep] / free.probabilities[keep]
    assert numpy.allclose(ratio, ratio[0])
    assert "1 group cannot hold it for Z <= 8 and was dropped" in ni.notes[0]
    kept = predict(
        r,
        g,
        model=tiny_model,
        top=45,
        composition="Ni",
        keep_impossible=True,
        stoichiometry_prior=False,
    )
    assert numpy.allclose(kept.probabilities, free.probabilities)
    marked = [c.number for c in kept.candidates if not c.possible]
    assert marked == [230]
    assert "x impossible" in kept.table()
    sr = predict(r, g, model=tiny_model, top=45, composition="SrFe2As2")
    assert 139 not in sr.impossible  # the real structure: I4/mmm
    assert sr.impossible == [
        n
        for n in spacegroups.NUMBERS
        if not composition_allowed("SrFe2As2", n)
    ]


def test_composition_from_the_header_and_bad_formula(tiny_model, tmp_path):
    r, g = fake_pdf()
    path = write_gr(tmp_path / "ni.gr", r, g, header="composition = Ni\n")
    result = predict(path, model=tiny_model, top=45)
    assert result.composition == "Ni" and result.impossible == [230]
    assert "(from the header)" in result.notes[0]
    with pytest.raises(InputError, match="composition 'Qq7'"):
        predict(r, g, model=tiny_model, composition="Qq7")


def test_families_group_fcc_candidates():
    from diffpy.sgpredict.families import group_families

    fams = group_families([225, 139, 87, 194], [0.4, 0.3, 0.2, 0.1])
    assert fams[0].head == 225 and fams[0].members == (225, 139, 87)
    assert fams[0].probability == pytest.approx(0.9)
    diamond = group_families([216, 227, 225], [0.5, 0.3, 0.2])
    # the head is the group of higher symmetry, even if less probable
    assert diamond[0].head == 227 and diamond[0].members == (227, 216)
    assert [f.members for f in diamond[1:]] == [(225,)]
    # far apart in probability: no family
    apart = group_families([225, 139], [0.9, 0.05])
    assert [f.members for f in apart] == [(225,), (139,)]


def test_threads_are_restored(tiny_model):
    import torch

    before = torch.get_num_threads()
    r, g = fake_pdf()
    predict(r, g, model=tiny_model, threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(InputError, match="threads must be"):
        predict(r, g, model=tiny_model, threads=0)


def test_out_of_domain_noise_from_python(tiny_model):
    r = numpy.arange(0, 30, 0.01)
    g = numpy.random.default_rng(3).normal(size=r.size)
    result = predict(r, g, model=tiny_model)
    assert result.in_domain is False
    assert result.to_dict()["in_domain"] is False
    assert "not a G(r)" in result.warnings[0]
    assert "OUT OF DOMAIN" in result.table()


def test_radiation_reaches_models_that_read_it(tiny_model, tmp_path):
    import dataclasses

    import torch

    seen = []

    class Stub(torch.nn.Module):
        def forward(self, x, radiation=None):
            seen.append(None if radiation is None else radiation.tolist())
            return torch.zeros(len(x), 45)

    r, g = fake_pdf()
    header = "mode = neutron\ncomposition = Ni\n"
    neutron = write_gr(tmp_path / "n.gr", r, g, header=header)
    plain = write_gr(tmp_path / "p.gr", r, g)
    pred = Predictor(tiny_model)
    pred.net = Stub()
    pred.predict([neutron, plain])
    assert seen == [None]  # a model that does not read it is not told
    pred.limits = dataclasses.replace(
        pred.limits, radiation_input=True, radiation=("neutron", "xray")
    )
    seen.clear()
    results = pred.predict([neutron, plain], radiation=None)
    # the known row gets its code, the unknown one the model's average
    assert seen == [[1.0], None]
    assert all(r.in_domain for r in results)
    # the output says which radiation each file was predicted with
    assert "radiation neutron (from the header)" in results[0].notes
    assert results[0].to_dict()["radiation"] == "neutron"
    assert results[1].to_dict()["radiation"] is None
    unknown = [n for n in results[1].notes if n.startswith("radiation")]
    assert unknown and "average the X-ray and neutron" in unknown[0]
    assert "radiation not stated" in results[1].table()
    seen.clear()
    given = pred.predict(plain, radiation="xray")
    assert seen == [[0.0]]
    assert "radiation X-ray (given)" in given.notes
    assert given.to_dict()["radiation"] == "xray"
