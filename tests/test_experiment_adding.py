"""Tests of the adding-problem experiment: data, baselines, claims and a seconds-long run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments import _harness, _synthetic, adding
from jaxrnn import training

# A cell and a parallel-scan contender (the copy test runs the LRU); _claims is tested alone.
SMOKE = _synthetic.smoke(adding.Config, lengths=(8,), models=("tanh", "mingru"))


@pytest.mark.parametrize("length", [4, 50])
def test_adding_batch_markers_and_target(length):
    x, y = adding.adding_batch(jax.random.key(0), 256, length)
    assert x.shape == (256, length, 2) and y.shape == (256,)
    values, markers = np.asarray(x[..., 0]), np.asarray(x[..., 1])
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(1), 1)  # one in the first half
    np.testing.assert_array_equal(markers[:, half:].sum(1), 1)  # one in the second half
    np.testing.assert_allclose(y, (values * markers).sum(1), rtol=1e-6)


def test_constant_predictor_is_the_training_mean():
    assert adding.constant_predictor_mse(np.array([1.0, 3.0]), np.array([0.0, 4.0])) == 4.0
    # On adding data it is Var[v1 + v2] = 1/6; the standard error here is ~1e-3.
    _, train_y = adding.adding_batch(jax.random.key(1), 20_000, 20)
    _, eval_y = adding.adding_batch(jax.random.key(2), 20_000, 20)
    mse = adding.constant_predictor_mse(np.asarray(train_y), np.asarray(eval_y))
    assert mse == pytest.approx(adding.BASELINE_MSE, abs=5e-3)


def test_linear_predictor_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 2))
    train_x, eval_x = rng.normal(size=(200, 3, 2)), rng.normal(size=(50, 3, 2))
    target = lambda x: (x * weights).sum((1, 2)) + 0.5  # noqa: E731
    mse = adding.linear_predictor_mse(train_x, target(train_x), eval_x, target(eval_x))
    assert mse == pytest.approx(0.0, abs=1e-20)
    # With noise of variance 0.01 it gets about the noise's variance on fresh data.
    noisy = target(train_x) + rng.normal(scale=0.1, size=200)
    mse = adding.linear_predictor_mse(train_x, noisy, eval_x, target(eval_x))
    assert 0 < mse < 0.01


def test_linear_predictor_on_adding_data_is_just_below_the_constant():
    x, y = adding.adding_batch(jax.random.key(3), 4000, 10)
    ex, ey = adding.adding_batch(jax.random.key(4), 4000, 10)
    linear = adding.linear_predictor_mse(
        np.asarray(x), np.asarray(y), np.asarray(ex), np.asarray(ey)
    )
    constant = adding.constant_predictor_mse(np.asarray(y), np.asarray(ey))
    assert 0.5 < linear / constant < 1.0  # a linear map cannot form v_t m_t


def test_batches_are_a_pure_function_of_the_step():
    keys = jax.random.split(jax.random.key(0), 3)
    batches = _synthetic.fresh_batches(adding.TASK, keys, 5, 10)
    first, again, other = batches(3), batches(3), batches(4)
    assert first["x"].shape == (3, 5, 10, 2) and first["y"].shape == (3, 5)
    np.testing.assert_array_equal(first["x"], again["x"])
    assert not np.array_equal(first["x"], other["x"])
    assert not np.array_equal(first["x"][0], first["x"][1])  # seeds see different data


def test_steps_to_solve_and_moving_average():
    curves = np.array([[1.0, 1.0], [0.5, 1.0], [0.1, 1.0]])
    np.testing.assert_array_equal(adding.steps_to_solve(curves, 0.6), [2, 4])
    np.testing.assert_array_equal(adding.steps_to_solve(curves, np.array([0.2, 1.5])), [3, 1])
    np.testing.assert_allclose(_harness.moving_average(curves, 2)[:, 0], [1.0, 0.75, 0.3])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="--hidden_size: expected int, got 'abc'"):
        _harness.parse_overrides(adding.QUICK, ["--hidden-size=abc"])
    with pytest.raises(ValueError, match="--learning_rate: expected float"):
        _harness.parse_overrides(adding.QUICK, ["--learning-rate=fast"])
    with pytest.raises(TypeError, match="`num_steps`"):
        dataclasses.replace(SMOKE, num_steps=1.5)
    with pytest.raises(ValueError, match=r"unknown `models` \['lstm'\]; known: tanh"):
        _harness.parse_overrides(adding.QUICK, ["--models=tanh,lstm"])
    with pytest.raises(ValueError, match="even `lengths`"):
        dataclasses.replace(SMOKE, lengths=(7,))
    with pytest.raises(ValueError, match="`optimizer`"):
        dataclasses.replace(SMOKE, optimizer="sgd")
    with pytest.raises(ValueError, match="`max_grad_norm`"):
        dataclasses.replace(SMOKE, max_grad_norm=0.0)
    assert _harness.parse_overrides(adding.QUICK, ["--lengths=100,200"]).lengths == (100, 200)


def test_default_seeds_are_held_out():
    for config in (adding.QUICK, adding.FULL):
        assert _harness.held_out(config.seeds, adding.CALIBRATION_SEEDS)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = adding.run(SMOKE)
    assert result.name == "adding" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == adding.CALIBRATION_SEEDS and not result.held_out
    claim, contender = result.claims
    assert claim.name.startswith("T=8: tanh RNN")
    assert contender.name.startswith("T=8: minGRU (parallel scan) final MSE far below")
    assert claim.baseline == adding.CONSTANT and math.isfinite(claim.baseline_value)
    assert "claims skipped: lstm_forget1, lstm_chrono, gru, lru." in result.summary
    assert math.isfinite(claim.measured) and math.isfinite(contender.measured)
    runs = result.metrics["runs"]["8"]
    assert set(runs) == set(SMOKE.models)
    for run in runs.values():
        assert run["final"].shape == (2,) and np.all(np.isfinite(run["final"]))
    # The library's orthogonal recurrent kernel: spectral radius 1.
    np.testing.assert_allclose(runs["tanh"]["spectral_radius"], 1.0, atol=1e-5)
    assert "spectral_radius" not in runs["mingru"]
    assert set(result.metrics["baselines"]["8"]) == {adding.CONSTANT, adding.LINEAR}
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "adding"
    assert record["config"]["models"] == list(SMOKE.models)
    assert record["claims"][0]["measured"] == pytest.approx(claim.measured)
    assert (run_dir / "loss.png").stat().st_size > 0
    assert "mingru" in result.table and "rho(W_h)" in result.table


@pytest.mark.parametrize("name", ["gru", "mingru", "minlstm", "lru"])
def test_models_build_and_regress(name):
    cell = _synthetic.recurrent_models(6, 8.0)[name][1]
    model = _synthetic.make_model(adding.TASK.head, cell, 6)
    x, _ = adding.adding_batch(jax.random.key(0), 3, 8)
    variables = model.init(jax.random.key(1), x)
    assert model.apply(variables, x).shape == (3, 1)
    params = variables["params"]
    if name in ("mingru", "minlstm", "lru"):
        assert cell.mode == "parallel"  # trained by the scan, not a step loop
    assert ("input_projection" in params) == (name == "lru")


def _fake_run(final, steps):
    return {"final": np.array(final), "steps_to_solve": np.array(steps)}


CONSTANT_MSE = np.array([0.17, 0.16])
LINEAR_MSE = np.array([0.165, 0.155])
BASELINES = {50: {adding.CONSTANT: CONSTANT_MSE, adding.LINEAR: LINEAR_MSE}}


def test_claims_thresholds():
    config = dataclasses.replace(adding.QUICK, lengths=(50,))
    base = CONSTANT_MSE
    runs = {
        50: {
            "tanh": _fake_run(0.8 * base, [1001, 1001]),
            "lstm_forget1": _fake_run([1e-3, 0.09 * base[1]], [600, 700]),
            "lstm_chrono": _fake_run([1e-3, 1e-3], [300, 350]),
            "gru": _fake_run([1e-3, 1e-3], [200, 250]),
            "mingru": _fake_run([0.02 * base[0], 0.09 * base[1]], [400, 600]),
            "lru": _fake_run(LINEAR_MSE * [0.96, 1.05], [1001, 1001]),
        }
    }
    gated, chrono, tanh, mingru, lru = adding._claims(config, runs, BASELINES)
    assert gated.passed and gated.measured == pytest.approx(0.09)
    assert gated.baseline == adding.CONSTANT
    assert gated.baseline_value == pytest.approx(CONSTANT_MSE.mean())
    assert tanh.passed and tanh.measured == pytest.approx(0.8)
    assert chrono.passed and chrono.measured == pytest.approx((300 / 600 + 350 / 700) / 2)
    assert mingru.passed and mingru.measured == pytest.approx(0.09)  # worst seed
    assert lru.passed and lru.measured == pytest.approx(0.96)  # best seed
    assert lru.baseline == adding.LINEAR
    runs[50]["tanh"] = _fake_run([0.5 * base[0], base[1]], [1001, 1001])  # one number learnt
    runs[50]["gru"] = _fake_run([1e-3, 0.2 * base[1]], [200, 1001])
    runs[50]["lstm_chrono"] = _fake_run([1e-3, 1e-3], [700, 800])
    runs[50]["mingru"] = _fake_run([0.02 * base[0], 0.11 * base[1]], [400, 1001])
    runs[50]["lru"] = _fake_run(LINEAR_MSE * [0.7, 1.0], [1001, 1001])  # nonlinear: impossible
    assert not any(claim.passed for claim in adding._claims(config, runs, BASELINES))
    runs[50]["lru"] = _fake_run(LINEAR_MSE * [1.2, 1.3], [1001, 1001])  # did not train
    assert not adding._claims(config, runs, BASELINES)[-1].passed


def test_claims_fail_for_the_constant_predictor():
    # Every model replaced by the constant predictor (its MSE, never solving): each
    # claim that a model learns fails.
    config = dataclasses.replace(adding.QUICK, lengths=(50,))
    constant = {name: _fake_run(CONSTANT_MSE, [1001, 1001]) for name in adding.CLAIMED}
    claims = {c.name: c for c in adding._claims(config, {50: constant}, BASELINES)}
    learns = [name for name in claims if "far below" in name]
    assert len(learns) == 2
    assert not any(claims[name].passed for name in learns)
    # The chrono claim compares two models: no effect of its biases (equal steps) fails.
    (chrono,) = [c for c in claims.values() if "steps to solve" in c.name]
    assert chrono.measured == pytest.approx(1.0) and not chrono.passed


def test_a_diverged_model_fails_its_claims_and_the_others_still_run(monkeypatch):
    # Every seed of the minGRU diverges (fit raises NonFiniteError): its figures are NaN,
    # its claim fails, and the tanh RNN trained before it keeps its finite result.
    train_seeds = _synthetic._trainer.train_seeds

    def diverging(*args, description="", **kwargs):
        if "mingru" in description:
            raise training.NonFiniteError("fit: 10 consecutive steps with a non-finite loss")
        return train_seeds(*args, description=description, **kwargs)

    monkeypatch.setattr(_synthetic._trainer, "train_seeds", diverging)
    result = adding.run(SMOKE)
    tanh, mingru = result.claims
    assert math.isfinite(tanh.measured)
    assert math.isnan(mingru.measured) and not mingru.passed
    run = result.metrics["runs"]["8"]["mingru"]
    assert np.all(np.isnan(run["final"])) and "non-finite" in run["diverged"]
