"""Tests of the mnist1d experiment: the data, the claims and a seconds-long smoke run."""

import dataclasses
import json
import math
import random

import numpy as np
import pytest

from experiments import _harness, mnist1d

# The data are built by the mnist1d package (the `experiments` extra).
pytest.importorskip("mnist1d")

SMOKE = mnist1d.Config(
    hidden=8,
    steps=4,
    eval_every=2,
    num_train=300,
    models=("gru", "tanh"),
    seeds=(0, 1),
    log_every=1,
    mlp_hidden=8,
    mlp_max_iter=5,
)


def test_default_seeds_are_held_out():
    for config in (mnist1d.QUICK, mnist1d.FULL):
        assert _harness.held_out(config.seeds, mnist1d.CALIBRATION_SEEDS)


def test_dataset_is_4000_train_1000_test_signals_of_length_40_and_leaves_global_rngs():
    np_state, py_state = np.random.get_state(), random.getstate()
    mnist1d.raw_dataset.cache_clear()
    raw = mnist1d.raw_dataset()
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert random.getstate() == py_state
    assert raw["x"].shape == (4000, 40) and raw["x_test"].shape == (1000, 40)
    assert set(np.unique(raw["y"])) == set(range(10))
    assert abs(float(raw["x"].mean())) < 0.05 and abs(float(raw["x"].std()) - 1) < 0.05


def test_split_is_fixed_stratified_and_holds_out_a_tenth():
    data = mnist1d.load_data(0)
    assert data["x_train"].shape == (3600, 40, 1) and data["x_val"].shape == (400, 40, 1)
    assert data["x_test"].shape == (1000, 40, 1)
    train = {tuple(r) for r in data["x_train"][:, :, 0]}
    assert not any(tuple(r) in train for r in data["x_val"][:, :, 0])
    counts = np.bincount(data["y_val"], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 45  # stratified: about 40 per class
    again = mnist1d.load_data(0)
    np.testing.assert_array_equal(again["x_val"], data["x_val"])
    assert not np.array_equal(mnist1d.load_data(1)["y_val"], data["y_val"])
    small = mnist1d.load_data(0, 300)
    assert len(small["y_train"]) == 270 and len(small["y_val"]) == 30
    assert len(small["y_test"]) == 1000


def test_missing_package_says_how_to_install(monkeypatch):
    import sys

    mnist1d.raw_dataset.cache_clear()
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # import fails
    try:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[experiments\]"'):
            mnist1d.raw_dataset()
    finally:
        mnist1d.raw_dataset.cache_clear()


def test_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match=r"unknown `models` \['irnn'\]"):
        mnist1d.Config(models=("gru", "irnn"))
    with pytest.raises(ValueError, match="`num_train`"):
        mnist1d.Config(num_train=100)
    with pytest.raises(ValueError, match="`eval_every`"):
        mnist1d.Config(steps=10, eval_every=20)
    with pytest.raises(ValueError, match="`learning_rate`"):
        mnist1d.Config(learning_rate=0.0)
    with pytest.raises(ValueError, match="`seeds`"):
        mnist1d.Config(seeds=(1, 1))
    with pytest.raises(TypeError, match="`hidden`"):
        mnist1d.Config(hidden=1.5)


FLAT = {mnist1d.GROUP: {"logistic": 0.32, "mlp": 0.6, "majority": 0.1}}


def _measured(acc):
    return {mnist1d.GROUP: {n: {mnist1d.KEY: np.asarray(v, float)} for n, v in acc.items()}}


def test_claims_pass_on_published_like_numbers():
    acc = {"gru": [0.9, 0.92], "lstm": [0.7, 0.75], "tanh": [0.1, 0.1]}
    claims, skipped = mnist1d._claims(mnist1d.QUICK, _measured(acc), FLAT)
    assert skipped == [] and len(claims) == 3 and all(c.passed for c in claims), claims
    assert all(c.baseline and math.isfinite(c.baseline_value) for c in claims)
    assert all(np.all(np.isfinite(c.interval)) for c in claims)


@pytest.mark.parametrize("level", ["logistic", "majority", "mlp"])
def test_claims_fail_when_the_gated_nets_are_a_flat_classifier(level):
    value = FLAT[mnist1d.GROUP][level]
    acc = {n: [value, value] for n in ("gru", "lstm", "tanh")}
    claims, _ = mnist1d._claims(mnist1d.QUICK, _measured(acc), FLAT)
    if level == "mlp":  # the MLP's level is above logistic regression's by 0.28: only
        # the claim against the MLP must fail
        assert [c.passed for c in claims if "MLP" in c.name] == [False]
    else:
        assert not any(c.passed for c in claims)


def test_claims_take_the_worst_seed_and_name_the_skipped():
    config = mnist1d.Config(models=("lstm",))
    claims, skipped = mnist1d._claims(config, _measured({"lstm": [0.9, 0.4]}), FLAT)
    assert len(claims) == 1 and not claims[0].passed
    assert claims[0].measured == pytest.approx(0.4 - 0.32)
    assert skipped == ["GRU over logistic regression", "GRU over the MLP"]


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = mnist1d.run(SMOKE)
    assert not result.held_out
    assert all(math.isfinite(c.measured) for c in result.claims)
    assert [c.name.split(":")[0] for c in result.claims] == ["GRU", "GRU"]
    assert "LSTM" in result.summary  # the skipped claims are named
    assert set(result.metrics["baselines"]) == {"logistic", "mlp", "majority"}
    for name in SMOKE.models:
        m = result.metrics["results"][name]
        assert m[mnist1d.KEY].shape == (2,)
        assert m["history_test_accuracy"].shape == (2, 2)
        assert m["loss"].shape == (SMOKE.steps, 2) and np.all(np.isfinite(m["loss"]))
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert (run_dir / "accuracy.png").stat().st_size > 0
