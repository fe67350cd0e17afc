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
    assert set(d) == {"file", "candidates", "crystal_systems"}
    assert set(d["candidates"][0]) == {
        "number",
        "symbol",
        "crystal_system",
        "probability",
    }
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
    r, g = fake_pdf()
    out = tmp_path / "p.png"
    predict(r, g, model=tiny_model).plot(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10000


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
