"""Tests of the adding-problem experiment: the data generator and a seconds-long run."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, adding

SMOKE = adding.Config(
    lengths=(8,),
    hidden_size=4,
    batch_size=4,
    num_steps=6,
    seeds=(0, 1),
    models=("tanh",),  # one model: compilation dominates; _claims is tested on its own
    eval_size=8,
    smoothing=2,
)


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


def test_adding_baseline_of_predicting_one():
    _, y = adding.adding_batch(jax.random.key(1), 200_000, 20)
    # Var[v1 + v2] = 2/12; the standard error of the estimate is ~5e-4.
    assert abs(float(jnp.mean((y - 1.0) ** 2)) - adding.BASELINE_MSE) < 3e-3
    assert adding.BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)


def test_batches_are_a_pure_function_of_the_step():
    keys = jax.random.split(jax.random.key(0), 3)
    batches = adding.make_batches(keys, 5, 10)
    first, again, other = batches(3), batches(3), batches(4)
    assert first["x"].shape == (3, 5, 10, 2) and first["y"].shape == (3, 5)
    np.testing.assert_array_equal(first["x"], again["x"])
    assert not np.array_equal(first["x"], other["x"])
    assert not np.array_equal(first["x"][0], first["x"][1])  # seeds see different data


def test_steps_to_solve_and_moving_average():
    curves = np.array([[1.0, 1.0], [0.5, 1.0], [0.1, 1.0]])
    np.testing.assert_array_equal(adding.steps_to_solve(curves, 0.6), [2, 4])
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
    assert _harness.parse_overrides(adding.QUICK, ["--lengths=100,200"]).lengths == (100, 200)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = adding.run(SMOKE)
    assert result.name == "adding" and result.seeds == SMOKE.seeds
    (claim,) = result.claims
    assert claim.name.startswith("T=8: tanh RNN")
    assert "claims skipped: lstm_forget1, lstm_chrono, gru, mingru, lru." in result.summary
    assert math.isfinite(claim.measured)
    runs = result.metrics["runs"]["8"]
    assert set(runs) == set(SMOKE.models)
    for run in runs.values():
        assert run["final_mse"].shape == (2,) and np.all(np.isfinite(run["final_mse"]))
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "adding"
    assert record["config"]["models"] == list(SMOKE.models)
    assert record["claims"][0]["measured"] == pytest.approx(claim.measured)
    assert (run_dir / "loss.png").stat().st_size > 0
    assert "tanh" in result.table


@pytest.mark.parametrize("name", ["gru", "mingru", "minlstm", "lru"])
def test_models_build_and_regress(name):
    cell = adding._cells(6, 8)[name][1]
    model = adding.make_model(cell, 6)
    x, _ = adding.adding_batch(jax.random.key(0), 3, 8)
    variables = model.init(jax.random.key(1), x)
    assert model.apply(variables, x).shape == (3, 1)
    params = variables["params"]
    if name in ("mingru", "minlstm", "lru"):
        assert cell.mode == "parallel"  # trained by the scan, not a step loop
        assert ("input_projection" in params) == (name == "lru")
    else:
        assert "input_projection" not in params


def test_smoke_run_of_a_parallel_scan_contender():
    # One contender (compilation dominates); the copy test runs the LRU.
    result = adding.run(dataclasses.replace(SMOKE, models=("mingru",)))
    (claim,) = result.claims
    assert claim.name.startswith("T=8: minGRU (parallel scan) final MSE far below 1/6")
    assert math.isfinite(claim.measured)
    (run,) = result.metrics["runs"]["8"].values()
    assert run["final_mse"].shape == (2,) and np.all(np.isfinite(run["final_mse"]))
    assert "mingru" in result.table


def _fake_run(final_mse, steps):
    return {"final_mse": np.array(final_mse), "steps_to_solve": np.array(steps)}


def test_claims_thresholds():
    config = dataclasses.replace(adding.QUICK, lengths=(50,))
    base = adding.BASELINE_MSE
    runs = {
        50: {
            "tanh": _fake_run([0.8 * base, 0.95 * base], [1001, 1001]),
            "lstm_forget1": _fake_run([1e-3, 0.09 * base], [600, 700]),
            "lstm_chrono": _fake_run([1e-3, 1e-3], [300, 350]),
            "gru": _fake_run([1e-3, 1e-3], [200, 250]),
            "mingru": _fake_run([0.02 * base, 0.09 * base], [400, 600]),
            "lru": _fake_run([0.96 * base, 1.05 * base], [1001, 1001]),
        }
    }
    gated, tanh, chrono, mingru, lru = adding._claims(config, runs)
    assert gated.passed and gated.measured == pytest.approx(0.09 * base)
    assert tanh.passed and tanh.measured == pytest.approx(0.8 * base)
    assert chrono.passed and chrono.measured == pytest.approx(325 / 650)
    assert mingru.passed and mingru.measured == pytest.approx(0.09 * base)  # worst seed
    assert lru.passed and lru.measured == pytest.approx(0.96 * base)  # best seed
    runs[50]["tanh"] = _fake_run([0.5 * base, base], [1001, 1001])  # one number learnt
    runs[50]["gru"] = _fake_run([1e-3, 0.2 * base], [200, 1001])
    runs[50]["lstm_chrono"] = _fake_run([1e-3, 1e-3], [700, 700])
    runs[50]["mingru"] = _fake_run([0.02 * base, 0.11 * base], [400, 1001])
    runs[50]["lru"] = _fake_run([0.7 * base, 1.0 * base], [1001, 1001])  # learnt something
    assert not any(claim.passed for claim in adding._claims(config, runs))
    runs[50]["lru"] = _fake_run([1.2 * base, 1.3 * base], [1001, 1001])  # worse than the mean
    assert not adding._claims(config, runs)[-1].passed
