"""The model shipped inside the package.

It was trained on PDFs computed from Materials Project structures; the
measured PDFs used here (bundled examples) and the rutile structure
below were never part of its training data as PDFs.
"""

import numpy
import pytest
from _structures import rutile

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import default_model_dir, read_card, sha256sum
from diffpy.sgpredict.pdfcalc import calculate_pdf
from diffpy.sgpredict.predictor import Predictor


@pytest.fixture(scope="module")
def predictor():
    return Predictor()


def test_card_describes_the_shipped_weights():
    card = read_card(default_model_dir())
    weights = default_model_dir() / card["weights"]["file"]
    assert sha256sum(weights) == card["weights"]["sha256"]
    library = default_model_dir() / card["neighbours"]["file"]
    assert sha256sum(library) == card["neighbours"]["sha256"]
    # everything the model folder ships stays under the wheel's 25 MB
    shipped = sum(f.stat().st_size for f in default_model_dir().iterdir())
    assert shipped < 25 * 2**20
    assert card["labels"] == list(spacegroups.NUMBERS)
    assert card["input"]["npoints"] == 209
    assert card["inputs"]["radiation"] is True
    cal = card["calibration"]
    assert 0.05 < cal["temperature"] < 20 and cal["n"] > 1000
    evaluation = card["metrics"]["evaluation"]
    for key in ("mp_random__icsd", "structures_xray__icsd", "exp_all__none"):
        topk = evaluation[key]["topk"]
        assert len(topk) == 6 and topk == sorted(topk)
        assert evaluation[key]["command"].startswith(
            "diffpy.sgpredict evaluate"
        )
    assert "Materials Project" in card["description"]
    assert "CC BY 4.0" in card["data_credit"]
    # the paper's protocol is measured, and no folder of the machine that
    # made the card is in it
    paper = card["metrics"]["paper_protocol"]["table2"]
    assert len(paper["weighted_topk"]) == 6
    assert "--weight-groups paper" in paper["command"]
    text = (default_model_dir() / "card.json").read_text()
    assert (
        "/work/" not in text and "/tmp/" not in text and "/home/" not in text
    )
    supplement = card["species_head"]["supplement"]
    assert supplement["rows"] > 100 and "/" not in supplement["command"]


def test_measured_ni_is_cubic_with_fm3m_among_the_top6(predictor, ni_xray):
    result = predictor.predict(ni_xray)
    assert 225 in [c.number for c in result.candidates]
    systems = result.crystal_systems
    assert max(systems, key=systems.get) == "cubic"


def test_different_materials_get_different_answers(predictor, ni_xray):
    rutile = ni_xray.parent / "TiO2_rutile_xray.gr"
    ni, tio2 = predictor.predict([ni_xray, rutile])
    assert not numpy.allclose(ni.probabilities, tio2.probabilities, 0.05)
    assert ni.crystal_systems["cubic"] > tio2.crystal_systems["cubic"]


def _rutile():
    return rutile().to_diffpy(uiso=0.008)


def test_neutron_pdf_is_read_as_neutron(predictor):
    # Ti scatters neutrons with a negative length: the neutron PDF of
    # rutile has inverted Ti-O peaks.  Told the radiation, the model
    # ranks P4_2/mnm first for the X-ray PDF and 12th for the neutron
    # one (the previous, X-ray-only default: 27th); a regression of the
    # neutron path below 15th fails here.
    r, gx = calculate_pdf(_rutile(), rmin=0.5, rstep=0.01, qmax=25.0)
    _, gn = calculate_pdf(
        _rutile(), rmin=0.5, rstep=0.01, qmax=25.0, scattering="neutron"
    )
    x = predictor.predict(r, gx, radiation="xray", top=45)
    n = predictor.predict(r, gn, radiation="neutron", top=45)
    assert [c.number for c in x.candidates].index(136) == 0
    assert [c.number for c in n.candidates].index(136) < 15
    assert not numpy.allclose(x.probabilities, n.probabilities, atol=0.02)


def test_fused_network_gives_the_trained_networks_probabilities(ni_xray):
    # the predictor folds batch normalisation into the convolutions; the
    # probabilities must be those of the network as trained
    import torch

    from diffpy.sgpredict.card import load_model
    from diffpy.sgpredict.models import fuse_batchnorm

    net, _ = load_model()
    fused = fuse_batchnorm(net)
    assert not any(
        isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules()
    )
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())
    rng = numpy.random.default_rng(3)
    x = torch.from_numpy(rng.random((64, 209)).astype(numpy.float32))
    with torch.inference_mode():
        for radiation in (0.0, 1.0, None):
            want = torch.softmax(net(x, radiation), -1)
            got = torch.softmax(fused(x, radiation), -1)
            assert torch.allclose(want, got, atol=1e-5)
            assert float(want.max()) > 0.1  # real, non-uniform outputs
    with pytest.raises(ValueError, match="evaluation mode"):
        fuse_batchnorm(net.train())
