"""The search-match library: votes, species, storage, the predictor."""

import json
import shutil

import numpy
import pytest
from conftest import fake_pdf

from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.grid import MODEL_GRID, to_model_input
from diffpy.sgpredict.neighbours import (
    LIBRARY_NAME,
    NeighbourLibrary,
    NeighbourSettings,
    centred_unit,
    first_pass_basis,
    save_library,
)
from diffpy.sgpredict.predictor import Predictor


def _brute_vote(curves, labels, x, r, settings, nclasses):
    """The vote of the module docstring, written out for one input: the
    strain search over every entry (no first pass)."""
    a = curves - curves.mean(axis=1, keepdims=True)
    a /= numpy.linalg.norm(a, axis=1, keepdims=True)
    s = numpy.full(len(curves), -2.0)
    for scale in settings.scales():
        b = numpy.interp(r / scale, r, x)
        b = b - b.mean()
        s = numpy.maximum(s, a @ (b / numpy.linalg.norm(b)))
    best = numpy.argsort(-s)[: settings.k]
    counts = numpy.bincount(labels, minlength=nclasses)
    v = numpy.zeros(nclasses)
    for j in best:
        w = numpy.exp((s[j] - s[best[0]]) / settings.tau)
        v[labels[j]] += w / counts[labels[j]]
    return v / v.sum()


def test_vote_matches_the_formula_in_chunks():
    rng = numpy.random.default_rng(0)
    r = numpy.linspace(1.5, 30, 60)
    curves = rng.random((300, 60))
    labels = rng.integers(0, 5, 300)
    queries = curves[:9] + 0.05 * rng.normal(size=(9, 60))
    # every entry a candidate: the first pass cannot drop one
    settings = NeighbourSettings(k=7, tau=0.05, candidates=300)
    lib = NeighbourLibrary(curves, labels, 5, r, settings=settings)
    got = lib.vote(queries, chunk=4)
    for q, row in zip(queries, got):
        want = _brute_vote(curves, labels, q, r, settings, 5)
        numpy.testing.assert_allclose(row, want, rtol=1e-4, atol=1e-6)
    # a query near a library entry votes mostly for that entry's group
    assert (got.argmax(axis=1) == labels[:9]).mean() >= 7 / 9


def test_strain_search_finds_a_stretched_lattice():
    # an fcc-like comb of peaks and the same comb 3 % larger: without the
    # strain search the stretched query matches a decoy better
    r = MODEL_GRID.r

    def comb(a):
        d = a * numpy.sqrt(numpy.arange(1, 40) / 2.0)
        return numpy.exp(-0.5 * ((r[:, None] - d) / 0.08) ** 2).sum(1)

    rng = numpy.random.default_rng(5)
    decoy = comb(3.6) * 0.6 + 0.4 * comb(3.7) + 0.2 * rng.random(r.size)
    curves = numpy.stack([comb(3.5), decoy])
    query = comb(3.5 * 1.03)
    plain = NeighbourLibrary(
        curves, [0, 1], 2, r, settings=NeighbourSettings(k=1, strain=0)
    )
    searched = NeighbourLibrary(
        curves, [0, 1], 2, r, settings=NeighbourSettings(k=1, strain=0.04)
    )
    assert plain.vote(query).argmax() == 1
    assert searched.vote(query).argmax() == 0


def test_first_pass_projection():
    rng = numpy.random.default_rng(3)
    r = numpy.linspace(1.5, 30, 80)
    curves = rng.random((500, 80))
    settings = NeighbourSettings(dims=10)
    basis = first_pass_basis(curves, r, settings)
    assert basis.shape == (80, 10)
    numpy.testing.assert_allclose(basis.T @ basis, numpy.eye(10), atol=1e-4)
    assert first_pass_basis(curves, r, NeighbourSettings(dims=0)) is None
    # PDF-like curves: the projected first pass keeps the entry that the
    # whole blurred curves find most similar among its top 3 (2 axes:
    # 20 % of the time)
    centres = rng.uniform(2, 29, (500, 12))
    curves = numpy.exp(
        -0.5 * ((r[None, :, None] - centres[:, None, :]) / 0.3) ** 2
    ).sum(axis=2)
    queries = curves[:50] * 1.02 + 0.3 * rng.random((50, 80))
    full = NeighbourLibrary(
        curves,
        numpy.zeros(500, int),
        1,
        r,
        settings=NeighbourSettings(dims=0),
    )
    short = NeighbourLibrary(
        curves,
        numpy.zeros(500, int),
        1,
        r,
        settings=NeighbourSettings(dims=24),
    )
    assert full._first.shape == (80, 80) and short._first.shape == (80, 24)
    best = (full._first_pass(queries) @ full._first_rows.T).argmax(axis=1)
    near = numpy.argsort(
        -(short._first_pass(queries) @ short._first_rows.T), axis=1
    )[:, :3]
    assert numpy.mean([b in row for b, row in zip(best, near)]) >= 0.95


def test_vote_is_class_balanced():
    # ten entries of group 0 and one of group 1, all the same curve: the
    # vote, like the network, assumes equally common groups
    curve = numpy.sin(numpy.linspace(0, 9, 50))
    lib = NeighbourLibrary(
        numpy.tile(curve, (11, 1)),
        [0] * 10 + [1],
        3,
        numpy.arange(50.0) + 1,
        settings=NeighbourSettings(k=11),
    )
    numpy.testing.assert_allclose(
        lib.vote(curve), [[0.5, 0.5, 0.0]], atol=1e-5
    )


def test_species_restricts_the_neighbours():
    rng = numpy.random.default_rng(1)
    curve = rng.random(30)
    # the closest entry is a binary in group 1; the element is in group 0
    curves = [curve + 0.01, curve + 0.3 * rng.random(30)]
    lib = NeighbourLibrary(
        curves,
        [1, 0],
        2,
        numpy.arange(30.0) + 1,
        species=[1, 0],
        settings=NeighbourSettings(k=1, candidates=1),
    )
    assert lib.vote(curve).argmax() == 1
    assert lib.vote(curve, species=[0]).argmax() == 0
    assert lib.vote(curve, species=[1]).argmax() == 1
    # no entry of three species: all entries vote
    assert lib.vote(curve, species=[2]).argmax() == 1
    both = lib.vote([curve, curve], species=[0, -1])
    assert both.argmax(axis=1).tolist() == [0, 1]


def test_settings_and_inputs_are_checked():
    with pytest.raises(InputError, match="k must be"):
        NeighbourSettings(k=0)
    with pytest.raises(InputError, match="weight must be"):
        NeighbourSettings(weight=1.5)
    with pytest.raises(InputError, match="tau must be"):
        NeighbourSettings(tau=0)
    with pytest.raises(InputError, match="candidates >= k"):
        NeighbourSettings(k=30, candidates=20)
    r = numpy.arange(1.0, 4.0)
    small = NeighbourSettings(k=1, candidates=1)
    lib = NeighbourLibrary(numpy.eye(3), [0, 1, 2], 3, r, settings=small)
    with pytest.raises(InputError, match="inputs have 4 points"):
        lib.vote(numpy.ones((1, 4)))
    with pytest.raises(InputError, match="not a class index"):
        NeighbourLibrary(numpy.eye(3), [0, 1, 3], 3, r, settings=small)
    with pytest.raises(InputError, match="grid of 4"):
        NeighbourLibrary(numpy.eye(3), [0, 1, 2], 3, numpy.arange(4.0))
    assert numpy.allclose(centred_unit([[2.0, 2.0]]), 0.0)


@pytest.fixture
def model_with_library(tiny_model, tmp_path):
    """The tiny model with a library of three noisy curves per group."""
    out = tmp_path / "model"
    shutil.copytree(tiny_model, out)
    rng = numpy.random.default_rng(2)
    r, g = fake_pdf()
    x, _ = to_model_input(r, g, MODEL_GRID)
    curves = numpy.clip(x + 0.05 * rng.normal(size=(135, x.size)), 0, 1)
    labels = numpy.repeat(numpy.arange(45), 3)
    species = numpy.tile([0, 1, 2], 45)
    sha = save_library(out / LIBRARY_NAME, curves, labels, species)
    card = json.loads((out / "card.json").read_text())
    card["neighbours"] = {
        "file": LIBRARY_NAME,
        "sha256": sha,
        "settings": {"k": 5, "tau": 0.02, "weight": 0.4, "floor": 0.01},
        "temperature": 0.8,
        "temperature_species": 0.7,
    }
    (out / "card.json").write_text(json.dumps(card))
    return out, curves, labels


def test_library_is_stored_as_8_bit_and_verified(model_with_library):
    out, curves, labels = model_with_library
    pred = Predictor(out, threads=1)
    lib = pred.neighbours
    assert len(lib) == 135 and lib.settings.k == 5
    assert lib.labels.tolist() == labels.tolist()
    # 8-bit storage: each value within half a step of 1/255
    back = numpy.round(numpy.clip(curves, 0, 1) * 255) / 255
    numpy.testing.assert_allclose(back, numpy.clip(curves, 0, 1), atol=0.002)
    data = bytearray((out / LIBRARY_NAME).read_bytes())
    data[-1] ^= 0xFF
    (out / LIBRARY_NAME).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        Predictor(out, threads=1)
    # the network alone does not read the library at all
    assert Predictor(out, threads=1, neighbours=False).neighbours is None


def test_predictor_combines_as_documented(model_with_library):
    out, _, _ = model_with_library
    r, g = fake_pdf()
    x, _ = to_model_input(r, g, MODEL_GRID)
    alone = Predictor(out, prior="none", threads=1, neighbours=False)
    both = Predictor(out, prior="none", threads=1)
    q = alone.predict_proba(x)[0]
    v = both.neighbours.vote(x)[0]
    z = (0.6 * numpy.log(q) + 0.4 * numpy.log(v + 0.01)) / 0.8
    want = numpy.exp(z - z.max())
    numpy.testing.assert_allclose(
        both.predict_proba(x)[0], want / want.sum(), rtol=1e-5
    )
    # a model that does not read the species is not told it, and its
    # library votes among all entries
    assert alone.species_input == 0
    numpy.testing.assert_allclose(
        both.predict_proba(x, composition=["NaCl"]), both.predict_proba(x)
    )


def test_shipped_library_votes_fcc_for_nickel(ni_xray):
    from diffpy.sgpredict.io import load_pdf

    pred = Predictor(threads=1)
    assert pred.card["neighbours"]["rows"] == len(pred.neighbours) > 40000
    data = load_pdf(ni_xray)
    x, _ = to_model_input(data.r, data.g, pred.grid)
    told = pred.neighbours.vote(x, species=[0])[0]
    assert pred.labels[int(told.argmax())] == 225
    # the validation rows chose it: combined beats the network alone
    val = pred.card["neighbours"]["validation"]
    assert val["network_and_library"][0] > val["network"][0]


def test_shipped_model_told_the_species(ni_xray):
    from diffpy.sgpredict.io import load_pdf

    data = load_pdf(ni_xray)
    alone = Predictor(prior="none", threads=1, neighbours=False)
    both = Predictor(prior="none", threads=1)
    x, _ = to_model_input(data.r, data.g, both.grid)
    nb = both.card["neighbours"]
    a, floor = nb["settings"]["weight"], nb["settings"]["floor"]
    q = alone.predict_proba(x, radiation=[0.0], composition=["Ni"])[0]
    v = both.neighbours.vote(x, species=[0])[0]
    z = ((1 - a) * numpy.log(q) + a * numpy.log(v + floor)) / nb[
        "temperature_species"
    ]
    want = numpy.exp(z - z.max())
    got = both.predict_proba(x, radiation=[0.0], composition=["Ni"])[0]
    numpy.testing.assert_allclose(got, want / want.sum(), rtol=1e-4)
    assert both.labels[int(got.argmax())] == 225
