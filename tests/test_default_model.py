"""The model shipped inside the package.

The measured PDFs used here (bundled examples) were never part of its
training data: the model was trained on generated crystals only.
"""

import numpy
import pytest

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import default_model_dir, read_card, sha256sum
from diffpy.sgpredict.predictor import Predictor


@pytest.fixture(scope="module")
def predictor():
    return Predictor()


def test_card_describes_the_shipped_weights():
    card = read_card(default_model_dir())
    weights = default_model_dir() / card["weights"]["file"]
    assert sha256sum(weights) == card["weights"]["sha256"]
    assert weights.stat().st_size < 20 * 2**20
    assert card["labels"] == list(spacegroups.NUMBERS)
    assert card["input"]["npoints"] == 209
    for key in ("real_structures", "measured_pdfs"):
        topk = card["metrics"][key]["topk"]
        assert len(topk) == 6 and topk == sorted(topk)
    assert "generated" in card["description"]


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
