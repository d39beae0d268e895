"""Tests of the sequential_digits experiment: the data and a seconds-long smoke run."""

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments import _harness, sequential_digits

# The data come from scikit-learn (the `experiments` extra; add it to `dev` too).
pytest.importorskip("sklearn")

SMOKE = sequential_digits.Config(
    hidden=8, steps=3, batch_size=16, models=("lstm", "tanh"), seeds=(0, 1), log_every=1
)


def test_data_is_64_steps_of_one_feature_in_unit_interval():
    data = sequential_digits.load_data(0.2, 0)
    assert data["x_train"].shape[1:] == (64, 1) and data["x_test"].shape[1:] == (64, 1)
    assert len(data["x_train"]) + len(data["x_test"]) == 1797
    assert len(data["x_train"]) == len(data["y_train"])
    assert len(data["x_test"]) == len(data["y_test"])
    for x in (data["x_train"], data["x_test"]):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(data["y_test"])) == set(range(10))  # stratified


def test_split_is_fixed_by_seed():
    a, b = sequential_digits.load_data(0.2, 0), sequential_digits.load_data(0.2, 0)
    np.testing.assert_array_equal(a["x_test"], b["x_test"])
    other = sequential_digits.load_data(0.2, 1)
    assert not np.array_equal(a["y_test"], other["y_test"])


def test_permutation_is_fixed_and_applied_to_train_and_test_alike():
    perm = sequential_digits.pixel_permutation(0)
    np.testing.assert_array_equal(np.sort(perm), np.arange(64))
    assert not np.array_equal(perm, np.arange(64))
    np.testing.assert_array_equal(perm, sequential_digits.pixel_permutation(0))
    assert not np.array_equal(perm, sequential_digits.pixel_permutation(1))
    plain = sequential_digits.load_data(0.2, 0)
    permuted = sequential_digits.load_data(0.2, 0, perm)
    for split in ("train", "test"):
        np.testing.assert_array_equal(permuted[f"x_{split}"], plain[f"x_{split}"][:, perm])
        np.testing.assert_array_equal(permuted[f"y_{split}"], plain[f"y_{split}"])


def test_config_rejects_wrong_types_and_names():
    with pytest.raises(ValueError, match="--steps: expected int, got 'many'"):
        _harness.parse_overrides(sequential_digits.QUICK, ["--steps=many"])
    with pytest.raises(TypeError, match="`learning_rate`"):
        sequential_digits.Config(learning_rate="fast")
    with pytest.raises(ValueError, match=r"unknown `models` \['rnn'\]"):
        sequential_digits.Config(models=("lstm", "rnn"))
    with pytest.raises(ValueError, match="`orders`"):
        sequential_digits.Config(orders=("shuffled",))
    with pytest.raises(ValueError, match="`test_fraction`"):
        sequential_digits.Config(test_fraction=1.5)


def test_cells():
    irnn = sequential_digits.make_cell("irnn", 4)
    assert irnn.activation == "relu"
    with pytest.raises(ValueError, match="unknown model"):
        sequential_digits.make_cell("rnn", 4)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = sequential_digits.run(SMOKE)
    names = [claim.name for claim in result.claims]
    assert any(name.startswith("LSTM, plain") for name in names)
    assert any(name.startswith("LSTM, permuted") for name in names)
    assert any("tanh RNN" in name for name in names)
    assert all(math.isfinite(claim.measured) for claim in result.claims)
    assert "GRU" in result.summary  # the skipped claims are named
    for order in ("plain", "permuted"):
        for name in SMOKE.models:
            m = result.metrics["results"][order][name]
            assert m["test_accuracy"].shape == (2,)
            assert np.all((m["test_accuracy"] >= 0) & (m["test_accuracy"] <= 1))
            assert m["loss"].shape == (SMOKE.steps, 2)
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert len(record["claims"]) == len(result.claims)
    assert all("measured" in claim for claim in record["claims"])
    assert (run_dir / "accuracy.png").stat().st_size > 0
