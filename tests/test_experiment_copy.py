"""Tests of the copy-task experiment: data layout, baseline, claims and a seconds-long run."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, _synthetic, copy_task

# A cell and a parallel-scan contender (the adding test runs the minGRU).
SMOKE = _synthetic.smoke(copy_task.Config, lengths=(3,), models=("lstm_chrono", "lru"))


@pytest.mark.parametrize("length", [1, 50])
def test_copy_batch_layout(length):
    inputs, targets = copy_task.copy_batch(jax.random.key(0), 64, length)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    assert inputs.shape == targets.shape == (64, length + 20)
    symbols = inputs[:, :10]
    assert np.all((symbols >= 1) & (symbols <= 8))
    assert len(np.unique(symbols)) == 8  # every symbol drawn somewhere
    np.testing.assert_array_equal(inputs[:, 10 : length + 9], 0)  # T - 1 blanks
    np.testing.assert_array_equal(inputs[:, length + 9], 9)  # the marker
    np.testing.assert_array_equal(inputs[:, length + 10 :], 0)  # 10 blanks
    np.testing.assert_array_equal(targets[:, : length + 10], 0)  # T + 10 blanks
    np.testing.assert_array_equal(targets[:, length + 10 :], symbols)  # then the symbols


@pytest.mark.parametrize(("length", "published"), [(50, 0.297), (100, 0.173), (200, 0.0945)])
def test_analytic_memoryless_baseline(length, published):
    _, targets = copy_task.copy_batch(jax.random.key(1), 64, length)
    log_probs = copy_task.memoryless_log_probs(length)
    assert log_probs.shape == (length + 20, copy_task.NUM_CLASSES)
    loss = copy_task.cross_entropy(jnp.broadcast_to(log_probs, (64, *log_probs.shape)), targets)
    expected = 10 * math.log(8) / (length + 20)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert copy_task.baseline(length) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(published, abs=5e-4)


def test_memoryless_cross_entropy_on_a_known_distribution():
    # Step 0 always class 0; step 1 class 1 or 2, half each: CE (0 + ln 2) / 2, up to
    # the add-1/2 estimate's cost, ~(classes / 2) / n per step.
    train = np.array([[0, 1], [0, 2]] * 500)
    held = np.array([[0, 1], [0, 2]] * 10)
    ce = copy_task.memoryless_cross_entropy(train, held)
    assert ce == pytest.approx(math.log(2) / 2, abs=5e-3)
    assert ce > math.log(2) / 2  # the estimate keeps mass on the unseen classes
    # An unseen class costs about ln(2 n + 9), finite.
    assert math.isfinite(copy_task.memoryless_cross_entropy(train, np.array([[3, 1]])))


def test_memoryless_cross_entropy_on_copy_data_is_the_analytic_baseline():
    _, train = copy_task.copy_batch(jax.random.key(2), 5000, 50)
    _, held = copy_task.copy_batch(jax.random.key(3), 2000, 50)
    ce = copy_task.memoryless_cross_entropy(train, held)
    assert ce == pytest.approx(copy_task.baseline(50), rel=0.01)


@pytest.mark.parametrize("name", ["tanh", "mingru", "minlstm", "lru"])
def test_tagger_gives_logits_at_every_step(name):
    cell = _synthetic.recurrent_models(6, 7.5)[name][1]
    model = _synthetic.make_model(copy_task.TASK.head, cell, 6)
    x, _ = copy_task.TASK.draw(jax.random.key(1), 2, 5)
    variables = model.init(jax.random.key(0), x)
    assert model.apply(variables, x).shape == (2, 25, copy_task.NUM_CLASSES)
    params = variables["params"]
    assert ("input_projection" in params) == (name == "lru")
    if name in ("mingru", "minlstm", "lru"):
        assert cell.mode == "parallel"  # trained by the scan, not a step loop
        # The sequential mode of the same layer gives the same logits.
        sequential = _synthetic.make_model(copy_task.TASK.head, cell.clone(mode="sequential"), 6)
        np.testing.assert_allclose(
            sequential.apply(variables, x), model.apply(variables, x), atol=1e-5
        )


def test_batches_are_a_pure_function_of_the_step():
    keys = jax.random.split(jax.random.key(0), 2)
    batches = _synthetic.fresh_batches(copy_task.TASK, keys, 3, 5)
    first, again, other = batches(7), batches(7), batches(8)
    assert first["x"].shape == (2, 3, 25, copy_task.NUM_INPUTS)
    assert first["y"].shape == (2, 3, 25)
    np.testing.assert_array_equal(first["x"], again["x"])
    assert not np.array_equal(first["x"], other["x"])


# An override and the error it gets.
BAD_OVERRIDES = [
    ("--num-steps=1e3", "--num_steps: expected int, got '1e3'"),
    ("--seeds=0,a", "--seeds: expected int"),
    ("--models=gru", r"unknown `models` \['gru'\]; known: tanh"),
    ("--lengths=0", "`lengths`"),
    ("--clip=0", "`clip` > 0"),
]


@pytest.mark.parametrize(("override", "match"), BAD_OVERRIDES)
def test_config_rejects_bad_overrides(override, match):
    with pytest.raises(ValueError, match=match):
        _harness.parse_overrides(copy_task.QUICK, [override])


def test_config_types_and_held_out_seeds():
    with pytest.raises(TypeError, match="`clip`"):
        dataclasses.replace(SMOKE, clip="1")
    # The default seeds are held out: none is a calibration seed.
    seeds = copy_task.QUICK.seeds + copy_task.FULL.seeds
    assert _harness.held_out(seeds, copy_task.CALIBRATION_SEEDS)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = copy_task.run(SMOKE)
    assert result.name == "copy" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == copy_task.CALIBRATION_SEEDS
    claim, contender = result.claims
    assert claim.name.startswith("T=3: chrono LSTM leaves the memoryless baseline")
    assert contender.name.startswith("T=3: LRU (parallel scan) far below the memoryless")
    assert claim.baseline == copy_task.MEMORYLESS
    assert claim.baseline_value == pytest.approx(copy_task.baseline(3), rel=0.1)
    assert "claims skipped: tanh, lstm_forget0, mingru." in result.summary
    assert math.isfinite(claim.measured)
    runs = result.metrics["runs"]["3"]
    assert set(runs) == set(SMOKE.models)
    for run in runs.values():
        assert run["final"].shape == (2,) and np.all(np.isfinite(run["final"]))
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "copy"
    assert record["claims"][0]["measured"] == pytest.approx(claim.measured)
    assert len(record["metrics"]["baselines"]["3"][copy_task.MEMORYLESS]) == 2
    assert (run_dir / "loss.png").stat().st_size > 0
    assert "lru" in result.table


BASE = np.array([0.30, 0.29, 0.31])


def _runs(**ratios):
    return {50: {name: {"final": np.array(r) * BASE[: len(r)]} for name, r in ratios.items()}}


# Final cross-entropy / memoryless baseline per seed: every claim passes, every one fails.
PASSING = {
    "tanh": [1.0, 0.96, 1.0],
    "lstm_forget0": [0.88, 1.0, 1.0],
    "lstm_chrono": [0.8, 0.7, 0.75],
}
PASSING |= {"lru": [0.2, 0.7, 0.9], "mingru": [0.81, 0.85, 0.8]}
FAILING = {
    "tanh": [0.9, 1.0, 1.0],
    "lstm_forget0": [0.8, 1.0, 0.8],
    "lstm_chrono": [0.78, 0.95, 0.8],
}
FAILING |= {"lru": [0.2, 0.8, 0.9], "mingru": [0.81, 0.95, 0.8]}


def test_claims_thresholds():
    config = dataclasses.replace(copy_task.QUICK, lengths=(50,))
    baselines = {50: {copy_task.MEMORYLESS: BASE}}
    claims = copy_task._claims(config, _runs(**PASSING), baselines)
    tanh, chrono, lru, mingru, _versus = claims
    assert all(claim.passed for claim in claims), claims
    assert tanh.measured == pytest.approx(0.96) and tanh.baseline == copy_task.MEMORYLESS
    assert chrono.measured == pytest.approx(0.8)
    assert lru.measured == pytest.approx(0.7)  # median seed
    assert mingru.measured == pytest.approx(0.85)  # worst seed
    failing = copy_task._claims(config, _runs(**FAILING), baselines)
    assert [claim.passed for claim in failing] == [False] * 5


def test_claims_fail_for_the_memoryless_predictor():
    # Every model replaced by the memoryless predictor: each claim that a model
    # remembers fails (the tanh RNN's "stays at the baseline" is the one that passes).
    config = dataclasses.replace(copy_task.QUICK, lengths=(50,))
    runs = {50: {name: {"final": BASE.copy()} for name in copy_task.CLAIMED}}
    claims = copy_task._claims(config, runs, {50: {copy_task.MEMORYLESS: BASE}})
    assert [claim.passed for claim in claims] == [True, False, False, False, False]
