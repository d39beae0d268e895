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
    hidden=8,
    steps=3,
    batch_size=16,
    models=("lstm", "tanh"),
    seeds=(0, 1),
    log_every=1,
    mlp_hidden=8,
    mlp_max_iter=20,
)


def test_default_seeds_are_held_out():
    for config in (sequential_digits.QUICK, sequential_digits.FULL):
        assert _harness.held_out(config.seeds, sequential_digits.CALIBRATION_SEEDS)


def test_data_is_64_steps_of_one_feature_standardised_by_the_training_pixels():
    data = sequential_digits.load_data(0.2, 0)
    assert data["x_train"].shape[1:] == (64, 1) and data["x_test"].shape[1:] == (64, 1)
    assert len(data["x_train"]) + len(data["x_test"]) == 1797
    assert len(data["x_train"]) == len(data["y_train"])
    assert len(data["x_test"]) == len(data["y_test"])
    assert set(np.unique(data["y_test"])) == set(range(10))  # stratified
    x = data["x_train"]
    assert x.dtype == data["x_test"].dtype == np.float32
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1.0) < 1e-5
    raw = sequential_digits.load_data(0.2, 0, standardize=False)
    for split in ("train", "test"):
        r = raw[f"x_{split}"]
        assert r.dtype == np.float32 and r.min() == 0.0 and r.max() == 1.0
        # One affine map, fitted on train, applied to train and test alike.
        mean, std = raw["x_train"].mean(), raw["x_train"].std()
        np.testing.assert_allclose(data[f"x_{split}"], (r - mean) / std, rtol=1e-6, atol=1e-6)


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


def test_irnn_is_le_et_al_init():
    import jax

    cell = sequential_digits.make_cell("irnn", 16)
    carry, x = np.zeros((1, 16), np.float32), np.zeros((1, 1), np.float32)
    params = cell.init(jax.random.key(0), carry, x)["params"]
    np.testing.assert_array_equal(params["recurrent_kernel"], np.eye(16))
    np.testing.assert_array_equal(params["bias"], np.zeros(16))
    assert 0 < float(np.abs(params["kernel"]).max()) < 0.01  # N(0, 0.001^2)


def test_irnn_on_raw_pixels_is_a_rank_one_integrator_with_dead_units():
    # The diagnosis of the docstring: on pixels >= 0 the fresh IRNN's state is
    # relu(W_xh) * (ink so far): units with W_xh < 0 never fire, the others carry one
    # number. Centred pixels switch every unit on for some image.
    raw = sequential_digits.load_data(0.2, 0, standardize=False)["x_train"][:200]
    std = sequential_digits.load_data(0.2, 0)["x_train"][:200]
    for seed in (0, 1):
        before = sequential_digits.irnn_init_features(raw, 32, seed)
        assert 0.25 < before["never_active"] < 0.75 and before["rank_ratio"] < 1e-4
        after = sequential_digits.irnn_init_features(std, 32, seed)
        assert after["never_active"] == 0.0 and after["rank_ratio"] > 0.1


def _separable(seed=0, n=200):
    # Two well-separated blobs in 8 dimensions, labels 0 and 3 (a known answer: 1.0).
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n) * 3
    x = rng.normal(size=(n, 8, 1)) + np.where(y == 3, 4.0, -4.0)[:, None, None]
    return x.astype(np.float32), y.astype(np.int32)


def test_flat_baselines_separate_separable_data():
    x, y = _separable()
    split = (x[:150], y[:150], x[150:], y[150:])
    assert sequential_digits.logistic_regression_accuracy(*split) == 1.0
    assert sequential_digits.mlp_accuracy(*split, hidden=8, max_iter=200) == 1.0


def test_logistic_regression_cannot_fit_xor_and_majority_is_the_label_frequency():
    # XOR of two signs is not linearly separable: a linear model stays near 1/2.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int32)
    split = (x[:300], y[:300], x[300:], y[300:])
    assert sequential_digits.logistic_regression_accuracy(*split) < 0.7
    y_train, y_test = np.array([1, 1, 1, 2]), np.array([1, 2, 2, 2, 0])
    assert sequential_digits.majority_accuracy(y_train, y_test) == 0.2


def test_logistic_regression_is_permutation_invariant_on_the_digits():
    perm = sequential_digits.pixel_permutation(0)
    accs = []
    for permutation in (None, perm):
        d = sequential_digits.load_data(0.2, 0, permutation)
        accs.append(
            sequential_digits.logistic_regression_accuracy(
                d["x_train"], d["y_train"], d["x_test"], d["y_test"]
            )
        )
    assert abs(accs[0] - accs[1]) <= 1 / 360  # one test image at most
    assert accs[0] > 0.9


FLAT = {order: {"logistic": 0.97, "mlp": 0.975, "majority": 0.1} for order in ("plain", "permuted")}


def _measured(plain, permuted, models=("lstm", "gru", "irnn", "tanh")):
    return {
        "plain": {n: {"test_accuracy": np.asarray(plain[n], float)} for n in models},
        "permuted": {n: {"test_accuracy": np.asarray(permuted[n], float)} for n in models},
    }


def test_claims_pass_on_calibration_like_accuracies():
    plain = {"lstm": [0.8, 0.85], "gru": [0.8, 0.82], "irnn": [0.5, 0.55], "tanh": [0.75, 0.8]}
    permuted = {"lstm": [0.7, 0.74], "gru": [0.7, 0.72], "irnn": [0.3, 0.4], "tanh": [0.75, 0.78]}
    claims, skipped = sequential_digits._claims(
        sequential_digits.QUICK, _measured(plain, permuted), FLAT
    )
    assert skipped == [] and all(c.passed for c in claims), [c for c in claims if not c.passed]
    assert all(c.baseline and np.isfinite(c.baseline_value) for c in claims)
    names = [c.name for c in claims]
    assert (
        "IRNN, permuted: learns, test accuracy over the majority-class predictor's (worst seed)"
        in names
    )
    assert not any("the permuted order costs" in n for n in names)  # withdrawn, see Config


@pytest.mark.parametrize("level", ["majority", "logistic"])
def test_claims_fail_when_every_model_is_a_baseline(level, monkeypatch):
    # The permutation-cost machinery, as it would run for a model put back in the claim.
    monkeypatch.setattr(sequential_digits, "PERMUTATION_SENSITIVE", ("gru",))
    # A constant predictor (the majority class) fails every claim; a model that equals
    # logistic regression in both orders passes "within" but fails the permutation cost.
    acc = {n: [FLAT["plain"][level]] * 2 for n in ("lstm", "gru", "irnn", "tanh")}
    claims, _ = sequential_digits._claims(sequential_digits.QUICK, _measured(acc, acc), FLAT)
    failed = {c.name for c in claims if not c.passed}
    cost = {c.name for c in claims if "permuted order costs" in c.name}
    assert cost and cost <= failed
    if level == "majority":
        assert failed == {c.name for c in claims}
        for config in (sequential_digits.QUICK, sequential_digits.FULL):
            claims, _ = sequential_digits._claims(config, _measured(acc, acc), FLAT)
            assert not any(c.passed for c in claims)


def test_claims_take_the_worst_seed_and_name_the_skipped(monkeypatch):
    monkeypatch.setattr(sequential_digits, "PERMUTATION_SENSITIVE", ("gru",))
    config = sequential_digits.Config(models=("lstm", "irnn"), orders=("plain", "permuted"))
    plain = {"lstm": [0.8, 0.9], "irnn": [0.5, 0.9]}
    permuted = {"lstm": [0.7, 0.8], "irnn": [0.12, 0.6]}
    claims, skipped = sequential_digits._claims(
        config, _measured(plain, permuted, ("lstm", "irnn")), FLAT
    )
    irnn = [c for c in claims if c.name.startswith("IRNN")]
    np.testing.assert_allclose([c.measured for c in irnn], [5.0, 1.2])
    assert [c.passed for c in irnn] == [True, False]
    assert skipped == [
        "GRU plain",
        "tanh RNN plain",
        "GRU permuted",
        "tanh RNN permuted",
        "GRU permutation cost",
    ]


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = sequential_digits.run(SMOKE)
    names = [claim.name for claim in result.claims]
    assert any(name.startswith("LSTM, plain") for name in names)
    assert any(name.startswith("LSTM, permuted") for name in names)
    assert any("tanh RNN" in name for name in names)
    assert all(math.isfinite(claim.measured) for claim in result.claims)
    assert all(claim.baseline for claim in result.claims)
    assert not result.held_out  # seeds 0, 1 are calibration seeds
    for order in ("plain", "permuted"):
        base = result.metrics["baselines"][order]
        assert set(base) == {"logistic", "mlp", "majority"}
        assert 0.9 < base["logistic"] <= 1 and 0.05 < base["majority"] < 0.15
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
