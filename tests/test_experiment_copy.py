"""Tests of the copy-task experiment: data layout, baseline and a seconds-long run."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, copy_task

SMOKE = copy_task.Config(
    lengths=(3,),
    hidden_size=4,
    batch_size=4,
    num_steps=6,
    seeds=(0, 1),
    models=("lstm_chrono",),  # one model: compilation dominates; _claims is tested alone
    eval_size=8,
    smoothing=2,
)


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
def test_memoryless_baseline(length, published):
    _, targets = copy_task.copy_batch(jax.random.key(1), 64, length)
    log_probs = copy_task.memoryless_log_probs(length)
    assert log_probs.shape == (length + 20, copy_task.NUM_CLASSES)
    loss = copy_task.cross_entropy(jnp.broadcast_to(log_probs, (64, *log_probs.shape)), targets)
    expected = 10 * math.log(8) / (length + 20)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert copy_task.baseline(length) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(published, abs=5e-4)


@pytest.mark.parametrize("name", ["tanh", "mingru", "minlstm", "lru"])
def test_tagger_gives_logits_at_every_step(name):
    cell = copy_task._cells(6, 5)[name][1]
    model = copy_task.make_model(cell, 6)
    tokens, _ = copy_task.copy_batch(jax.random.key(1), 2, 5)
    variables = model.init(jax.random.key(0), tokens)
    assert model.apply(variables, tokens).shape == (2, 25, copy_task.NUM_CLASSES)
    params = variables["params"]
    assert ("input_projection" in params) == (name == "lru")
    if name in ("mingru", "minlstm", "lru"):
        assert set(params) >= {"rnn", "classifier"}
        assert cell.mode == "parallel"  # trained by the scan, not a step loop
        # The sequential mode of the same layer gives the same logits.
        sequential = copy_task.make_model(cell.clone(mode="sequential"), 6)
        np.testing.assert_allclose(
            sequential.apply(variables, tokens), model.apply(variables, tokens), atol=1e-5
        )


def test_tagger_of_a_cell_keeps_its_parameter_names():
    # The claims of the cells were calibrated with these names (they set the init): the
    # cell template's parameters sit under "cell", as before the sequence layers came.
    model = copy_task.make_model(copy_task._cells(6, 5)["lstm_chrono"][1], 6)
    variables = model.init(jax.random.key(0), jnp.zeros((2, 25), jnp.int32))
    assert set(variables["params"]) == {"cell", "classifier"}


def test_batches_are_a_pure_function_of_the_step():
    batches = copy_task.make_batches(jax.random.split(jax.random.key(0), 2), 3, 5)
    first, again, other = batches(7), batches(7), batches(8)
    assert first["inputs"].shape == first["targets"].shape == (2, 3, 25)
    np.testing.assert_array_equal(first["inputs"], again["inputs"])
    assert not np.array_equal(first["inputs"], other["inputs"])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="--num_steps: expected int, got '1e3'"):
        _harness.parse_overrides(copy_task.QUICK, ["--num-steps=1e3"])
    with pytest.raises(ValueError, match="--seeds: expected int"):
        _harness.parse_overrides(copy_task.QUICK, ["--seeds=0,a"])
    with pytest.raises(TypeError, match="`clip`"):
        dataclasses.replace(SMOKE, clip="1")
    with pytest.raises(ValueError, match=r"unknown `models` \['gru'\]; known: tanh"):
        _harness.parse_overrides(copy_task.QUICK, ["--models=gru"])
    with pytest.raises(ValueError, match="`lengths`"):
        dataclasses.replace(SMOKE, lengths=(0,))


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = copy_task.run(SMOKE)
    assert result.name == "copy" and result.seeds == SMOKE.seeds
    (claim,) = result.claims
    assert claim.name.startswith("T=3: chrono LSTM leaves the baseline")
    assert "claims skipped: tanh, lstm_forget0, mingru, lru." in result.summary
    assert math.isfinite(claim.measured)
    runs = result.metrics["runs"]["3"]
    assert set(runs) == set(SMOKE.models)
    for run in runs.values():
        assert run["final_loss"].shape == (2,) and np.all(np.isfinite(run["final_loss"]))
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "copy"
    assert record["claims"][0]["measured"] == pytest.approx(claim.measured)
    assert record["metrics"]["baseline"]["3"] == pytest.approx(10 * math.log(8) / 23)
    assert (run_dir / "loss.png").stat().st_size > 0


def test_smoke_run_of_a_parallel_scan_contender():
    # One contender (compilation dominates); the adding test runs the minGRU.
    result = copy_task.run(dataclasses.replace(SMOKE, models=("lru",)))
    (claim,) = result.claims
    assert claim.name.startswith("T=3: LRU (parallel scan) far below the baseline")
    assert math.isfinite(claim.measured)
    (run,) = result.metrics["runs"]["3"].values()
    assert run["final_loss"].shape == (2,) and np.all(np.isfinite(run["final_loss"]))
    assert "lru" in result.table


def test_claims_thresholds():
    config = dataclasses.replace(copy_task.QUICK, lengths=(50,))
    base = copy_task.baseline(50)

    def runs(tanh, forget0, chrono, lru, mingru):
        ratios = {
            "tanh": tanh,
            "lstm_forget0": forget0,
            "lstm_chrono": chrono,
            "lru": lru,
            "mingru": mingru,
        }
        return {50: {name: {"final_loss": np.array(r) * base} for name, r in ratios.items()}}

    tanh, chrono, versus, lru, mingru = copy_task._claims(
        config,
        runs([1.0, 0.96], [0.88, 1.0, 1.0], [0.8, 0.7, 0.75], [0.2, 0.7, 0.9], [0.81, 0.85]),
    )
    assert tanh.passed and tanh.measured == pytest.approx(0.96)
    assert chrono.passed and chrono.measured == pytest.approx(0.8)
    assert versus.passed and versus.measured == pytest.approx(0.8 / 1.0)  # worst / median
    assert lru.passed and lru.measured == pytest.approx(0.7)  # median seed
    assert mingru.passed and mingru.measured == pytest.approx(0.85)  # worst seed
    failing = copy_task._claims(
        config,
        runs([0.9, 1.0], [0.8, 1.0], [0.78, 0.95], [0.2, 0.8, 0.9], [0.81, 0.95]),
    )
    assert [claim.passed for claim in failing] == [False] * 5
