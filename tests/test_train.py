"""Tests of training: end to end on a tiny synthetic dataset."""

import json

import numpy
import pytest
import torch

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.card import load_model
from diffpy.sgpredict.errors import InputError, ModelError
from diffpy.sgpredict.metrics import class_weights_for, effective_prior
from diffpy.sgpredict.training import load_training_data, train

TINY = {"filters": [8, 8], "kernel": 9, "hidden": 16}
FAST = dict(
    config=TINY,
    batch_size=16,
    lr=3e-3,
    seed=3,
    device="cpu",
    val_fraction=0.25,
    progress=False,
    num_threads=1,
)


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    from _synthetic import write_dataset

    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    write_dataset(path, n_per_group=24, seed=0)
    return path


def _weights(model_dir):
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def test_class_weights_and_prior():
    counts = [10, 30, 0, 60]
    w = class_weights_for(counts)
    assert w[2] == 0
    # weighted rows per class are equal: the loss sees balanced classes
    assert numpy.allclose((numpy.array(counts) * w)[[0, 1, 3]], 100 / 3)
    assert numpy.allclose(effective_prior(counts, w), 0.25)
    plain = effective_prior(counts, class_weights_for(counts, "none"))
    assert plain[3] == pytest.approx(0.6 / (1 + 0.1)) and plain[2] > 0
    with pytest.raises(InputError):
        class_weights_for(counts, "bogus")


def test_load_training_data(tiny_h5):
    data = load_training_data(tiny_h5)
    assert data["G"].shape == (96, 209)
    assert set(data["sg_number"]) == {194, 221, 225, 227}
    assert data["y"][0] == spacegroups.index_of(data["sg_number"][0])


def test_train_end_to_end(tiny_h5, tmp_path):
    out = tmp_path / "model"
    res = train(tiny_h5, out, epochs=8, patience=50, **FAST)
    hist = res.history[0]
    assert len(hist) == 8
    first = numpy.mean([h["train_loss"] for h in hist[:2]])
    last = numpy.mean([h["train_loss"] for h in hist[-2:]])
    assert last < first
    model, card = load_model(out)
    assert card["architecture"] == "cnn"
    assert card["labels"] == list(spacegroups.NUMBERS)
    assert card["input"]["normalization"] == "minmax"
    assert card["input"]["padding"] == "zeros beyond data"
    prior = numpy.array(card["prior"]["train"])
    assert prior.shape == (45,) and prior.sum() == pytest.approx(1.0)
    assert card["recipe"]["epochs"] == 8 and card["recipe"]["augment"]
    assert card["training_data"]["n_train"] == 72
    assert "validation_augmented" in card["metrics"]
    assert model(torch.zeros(3, 209)).shape == (3, 45)
    pairs = json.loads((out / "training_set.json").read_text())
    assert ["Ni", 225] in pairs["formula_sg"]
    # a tampered weights file is refused
    wpath = out / "model.safetensors"
    raw = bytearray(wpath.read_bytes())
    raw[-1] ^= 0xFF
    wpath.write_bytes(bytes(raw))
    with pytest.raises(ModelError):
        load_model(out)


def test_resume_gives_the_same_weights(tiny_h5, tmp_path):
    kw = dict(FAST, epochs=3, patience=50, ensemble=2)
    full = tmp_path / "full"
    train(tiny_h5, full, **kw)

    class Kill(Exception):
        pass

    def kill_after_first(member, record):
        if member == 1 and record["epoch"] == 1:
            raise Kill()

    part = tmp_path / "part"
    with pytest.raises(Kill):
        train(tiny_h5, part, callback=kill_after_first, **kw)
    state = json.loads(
        (part / "checkpoints" / "member1" / "state.json").read_text()
    )
    assert state["epoch"] == 1 and not state["done"]
    res = train(tiny_h5, part, **kw)
    assert [len(h) for h in res.history] == [3, 3]
    a, b = _weights(full), _weights(part)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # other settings do not resume silently
    with pytest.raises(InputError):
        train(tiny_h5, part, **dict(kw, lr=1e-2))


def test_time_budget_stops_and_writes(tiny_h5, tmp_path):
    import time

    def slow(member, record):
        time.sleep(1.5)

    kw = dict(FAST, epochs=50, augment=False)
    res = train(tiny_h5, tmp_path / "m", max_minutes=0.02, callback=slow, **kw)
    members = res.card["recipe"]["members"]
    assert members[0]["stop_reason"] == "time budget"
    assert members[0]["epochs_run"] == 1
    load_model(tmp_path / "m")
    with pytest.raises(InputError):
        train(tiny_h5, tmp_path / "none", max_minutes=1e-6, **kw)


def test_logreg_trains_and_loads(tiny_h5, tmp_path):
    out = tmp_path / "lr"
    res = train(
        tiny_h5,
        out,
        model="logreg",
        config={"quadratic": True},
        seed=0,
        device="cpu",
        val_fraction=0.25,
        progress=False,
        augment=False,
        logreg_options={
            "alphas": (1e-3, 1e-2),
            "l1_ratios": (1.0,),
            "max_iter": 10,
        },
    )
    assert res.card["architecture"] == "logreg"
    assert res.card["recipe"]["logreg"]["alpha"] in (1e-3, 1e-2)
    model, card = load_model(out)
    x = torch.rand(5, 209)
    logits = model(x)
    assert logits.shape == (5, 45)
    # groups absent from training are never predicted
    present = [spacegroups.index_of(n) for n in (194, 221, 225, 227)]
    assert set(logits.argmax(1).tolist()) <= set(present)
    # no pickle: the weights are a safetensors file of plain tensors
    assert "m0.linear.weight" in _weights(out)


def test_cli_train(tiny_h5, tmp_path, capsys):
    from diffpy.sgpredict.sgpredictapp import main

    out = tmp_path / "cli"
    argv = ["train", str(tiny_h5), "-o", str(out), "--epochs", "1"]
    argv += ["--filters", "4", "4", "--kernel", "5", "--hidden", "8"]
    argv += ["--device", "cpu", "--quiet", "--val-fraction", "0.25"]
    assert main(argv) == 0
    assert "validation top-1" in capsys.readouterr().out
    card = json.loads((out / "card.json").read_text())
    assert card["recipe"]["command"].startswith("diffpy.sgpredict")
    assert main(["train", str(tmp_path / "missing.h5"), "-o", "x"]) == 2


def test_resnet_reads_the_radiation_and_sets_test_rows_aside(tmp_path):
    from _synthetic import write_dataset

    data = tmp_path / "mixed.h5"
    write_dataset(data, n_per_group=40, seed=4, neutron_share=0.5)
    loaded = load_training_data(data)
    assert 0.3 < loaded["radiation"].mean() < 0.7
    out = tmp_path / "resnet"
    kw = dict(FAST, config={"channels": [8, 16], "hidden": 16})
    res = train(
        data,
        out,
        model="resnet",
        epochs=6,
        patience=50,
        test_fraction=0.1,
        **kw
    )
    card = res.card
    assert card["architecture"] == "resnet"
    assert card["inputs"] == {"radiation": True}
    cal = card["calibration"]
    assert cal["temperature"] > 0 and 0 <= cal["ece_after"] <= 1
    held = json.loads((out / "heldout.json").read_text())
    n_held = len(held["random"]) + len(held["structure_type"])
    assert (
        card["training_data"]["n_train"]
        + card["training_data"]["n_validation"]
        + n_held
        == 160
    )
    # whole structure types are held out: none of their keys is trained on
    ids = numpy.asarray(loaded["id"])
    proto = numpy.asarray(loaded["prototype"])
    held_types = set(proto[numpy.isin(ids, held["structure_type"])])
    rest = ~numpy.isin(ids, held["structure_type"] + held["random"])
    assert held_types and not held_types & set(proto[rest])
    # the radiation changes the output; without it both are averaged
    model, _ = load_model(out)
    x = torch.rand(4, 209)
    with torch.no_grad():
        px = torch.softmax(model(x, torch.zeros(4)), -1)
        pn = torch.softmax(model(x, torch.ones(4)), -1)
        both = torch.softmax(model(x), -1)
    assert (px - pn).abs().max() > 1e-4
    assert torch.allclose(both, (px + pn) / 2, atol=1e-5)


def test_fine_tuning_starts_from_the_model_and_keeps_its_test_rows(
    tiny_h5, tmp_path
):
    first = tmp_path / "first"
    kw = dict(FAST, config=TINY, epochs=1, test_fraction=0.1)
    train(tiny_h5, first, **kw)
    base = _weights(first)
    # a learning rate of ~0: the fine-tuned weights are those it started
    # from, member by member
    tuned = tmp_path / "tuned"
    res = train(tiny_h5, tuned, **dict(kw, lr=1e-12), init_from=str(first))
    after = _weights(tuned)
    assert set(after) == set(base)
    for key, value in base.items():
        if "running" in key or "num_batches" in key:
            continue  # batch-norm statistics still move at any lr
        assert torch.allclose(after[key], value, atol=1e-6), key
    assert res.card["recipe"]["init_from"] == str(first)
    assert (tuned / "heldout.json").read_text() == (
        first / "heldout.json"
    ).read_text()
    # another seed would test on rows the first model trained on
    with pytest.raises(InputError, match="held-out test rows"):
        train(tiny_h5, tmp_path / "x", **dict(kw, seed=9), init_from=first)
    # another network cannot start from these weights
    other = dict(kw, config={"filters": [4, 4], "kernel": 9, "hidden": 16})
    with pytest.raises(InputError, match="is not the one asked for"):
        train(tiny_h5, tmp_path / "y", **other, init_from=str(first))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--lr", "-1"], "--lr must be positive"),
        (["--dropout", "2"], "--dropout must lie in [0, 1)"),
        (["--filters", "0", "8"], "--filters: every number of channels"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--device", "tpu"], "--device 'tpu'"),
        (["--test-fraction", "0.7"], "--test-fraction must lie"),
        (["--epochs", "0"], "--epochs must be at least 1"),
    ],
)
def test_cli_train_refuses_meaningless_options(
    tiny_h5, tmp_path, capsys, extra, message
):
    from diffpy.sgpredict.sgpredictapp import main

    rc = main(["train", str(tiny_h5), "-o", str(tmp_path / "m"), *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()
