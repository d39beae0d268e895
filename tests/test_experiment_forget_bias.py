"""Tests of the forget-gate bias experiment: the arms' biases, claims and a short run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments import _harness, _synthetic, adding, forget_bias

SMOKE = forget_bias.Config(
    adding_lengths=(4,),
    copy_lengths=(2,),
    hidden_size=4,
    batch_size=4,
    num_steps=6,
    seeds=(0, 1),
    eval_size=8,
    fit_size=64,
    smoothing=2,
)
HIDDEN, T_MAX = 8, 20.0


def _biases(seeds=(0, 1, 2)):
    config = dataclasses.replace(SMOKE, seeds=seeds)
    split = _synthetic.make_split(config, adding.TASK, 4)
    cells = forget_bias.bias_cells(HIDDEN, T_MAX)
    example = split.eval[0][0, :1, :1]
    got = forget_bias.initial_biases(adding.TASK, cells, HIDDEN, split.init_keys, example)
    return got, cells, split, example


def _gates(bias):
    """``(s, 4h)`` -> ``{gate: (s, h)}``, the fused order i, f, g, o."""
    i, f, g, o = np.split(np.asarray(bias), 4, axis=-1)
    return {"i": i, "f": f, "g": g, "o": o}


def test_initial_biases_as_each_arm_specifies():
    got, _, _, _ = _biases()
    assert set(got) == set(forget_bias.ARMS)
    for arm, value in (("forget0", 0.0), ("forget1", 1.0), ("forget2", 2.0)):
        gates = _gates(got[arm])
        assert gates["f"].shape == (3, HIDDEN)
        np.testing.assert_array_equal(gates["f"], value)  # exactly b_f, every unit and seed
        for name in ("i", "g", "o"):
            np.testing.assert_array_equal(gates[name], 0.0)
    chrono = _gates(got["chrono"])
    assert np.all(chrono["f"] >= math.log(1.0))
    assert np.all(chrono["f"] <= math.log(T_MAX - 1.0) + 1e-6)
    np.testing.assert_array_equal(chrono["i"], -chrono["f"])  # b_i = -b_f
    np.testing.assert_array_equal(chrono["g"], 0.0)
    np.testing.assert_array_equal(chrono["o"], 0.0)
    assert len(np.unique(chrono["f"])) == chrono["f"].size  # drawn, not constant
    assert not np.allclose(chrono["f"][0], chrono["f"][1])  # different per seed


def test_initial_biases_equal_an_eager_init_per_arm():
    # The jitted program gives the numbers each arm's own model.init gives, key for key.
    got, cells, split, example = _biases(seeds=(0, 1))
    for arm in ("forget1", "chrono"):
        model = _synthetic.make_model(adding.TASK.head, cells[arm][1], HIDDEN)
        for s, key in enumerate(split.init_keys):
            params = model.init(jax.random.split(key)[0], example)
            np.testing.assert_array_equal(
                forget_bias._get(params, forget_bias.BIAS_PATH), got[arm][s]
            )


def test_steps_to_solve_counts_never_as_steps_plus_one():
    loss = np.array([[1.0, 1.0], [1.0, 0.5], [0.01, 0.5], [0.01, 0.5]])
    steps = forget_bias.steps_to_solve(loss, np.array([1.0, 1.0]), 0.1, 1)
    np.testing.assert_array_equal(steps, [3, 5])
    # The moving average delays it: a 2-step mean first drops below 0.1 at step 4.
    np.testing.assert_array_equal(forget_bias.steps_to_solve(loss, 1.0, 0.1, 2), [4, 5])


BASELINE = np.array([0.17, 0.18, 0.175])


def _arms(chrono_steps, forget1_steps, forget0_steps=(600, 500, 700), chrono_final=0.001):
    final = np.full(3, 0.001)
    return {
        "forget0": {"final": final, "steps_to_solve": np.array(forget0_steps)},
        "forget1": {"final": final, "steps_to_solve": np.array(forget1_steps)},
        "chrono": {"final": np.full(3, chrono_final), "steps_to_solve": np.array(chrono_steps)},
    }


def _claims(arms):
    return forget_bias.claims("adding T=50", arms, BASELINE, adding.CONSTANT, 0.1)


def test_claims_pass_with_the_effect():
    # Numbers like the calibration's: chrono ~0.45x the steps, b_f = 1 ~ b_f = 0.
    claims = _claims(_arms([270, 250, 300], [650, 480, 690]))
    assert [c.passed for c in claims] == [True] * 4
    solves, sooner, null_min, null_mean = claims
    assert solves.measured == pytest.approx(0.001 / 0.17)
    assert sooner.measured == pytest.approx(max(270 / 600, 250 / 500, 300 / 700))
    assert sooner.interval[0] < sooner.mean < sooner.interval[1]
    assert null_min.measured == pytest.approx(480 / 500)
    expected = np.mean(np.log([650 / 600, 480 / 500, 690 / 700]))
    assert null_mean.measured == pytest.approx(expected)


def test_claims_fail_without_the_effect():
    # Chrono replaced by b_f = 0 (identical arms): ratio 1, the speed-up claim fails.
    same = (600, 500, 700)
    solves, sooner, null_min, null_mean = _claims(_arms(same, same))
    assert sooner.measured == pytest.approx(1.0) and not sooner.passed
    assert null_min.passed and null_mean.passed  # b_f = 1 = b_f = 0 is the null itself
    # Chrono that never solves (steps N + 1, like a b_f = 0 that never solves either),
    # its final loss at the constant predictor: both chrono claims fail.
    never = (901, 901, 901)
    solves, sooner, _, _ = _claims(
        _arms(never, same, forget0_steps=never, chrono_final=BASELINE.min())
    )
    assert not solves.passed and not sooner.passed
    # A b_f = 1 with chrono's speed-up fails both null claims.
    chrono_like = (270, 250, 300)
    _, _, null_min, null_mean = _claims(_arms(chrono_like, chrono_like))
    assert not null_min.passed and not null_mean.passed
    # A b_f = 1 much slower than b_f = 0 fails the two-sided band.
    _, _, null_min, null_mean = _claims(_arms(chrono_like, (901, 901, 901)))
    assert null_min.passed and not null_mean.passed
    # A NaN final loss (diverged) fails the solve claim.
    arms = _arms(chrono_like, same)
    arms["chrono"]["final"] = np.array([0.001, np.nan, 0.001])
    assert not _claims(arms)[0].passed


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="`adding_lengths`"):
        dataclasses.replace(SMOKE, adding_lengths=(5,))
    with pytest.raises(ValueError, match="`adding_lengths`"):
        dataclasses.replace(SMOKE, adding_lengths=(4, 4))
    with pytest.raises(ValueError, match="`copy_lengths`"):
        dataclasses.replace(SMOKE, copy_lengths=(1,))
    with pytest.raises(ValueError, match="at least one of"):
        dataclasses.replace(SMOKE, adding_lengths=(), copy_lengths=())
    with pytest.raises(ValueError, match="`seeds`"):
        dataclasses.replace(SMOKE, seeds=(1,))
    with pytest.raises(ValueError, match="`seeds`"):
        dataclasses.replace(SMOKE, seeds=(1, 1))
    with pytest.raises(ValueError, match="`hidden_size`"):
        dataclasses.replace(SMOKE, hidden_size=0)
    with pytest.raises(ValueError, match="`learning_rate`"):
        dataclasses.replace(SMOKE, learning_rate=0.0)
    with pytest.raises(ValueError, match="`copy_solved_fraction`"):
        dataclasses.replace(SMOKE, copy_solved_fraction=1.0)
    with pytest.raises(TypeError, match="`num_steps`"):
        dataclasses.replace(SMOKE, num_steps=2.5)
    with pytest.raises(ValueError, match="--hidden_size: expected int"):
        _harness.parse_overrides(forget_bias.QUICK, ["--hidden-size=abc"])
    config = _harness.parse_overrides(forget_bias.QUICK, ["--copy-lengths=30", "--adding-lengths="])
    assert config.settings == (("copy", 30),)


def test_default_seeds_are_held_out():
    for config in (forget_bias.QUICK, forget_bias.FULL):
        assert _harness.held_out(config.seeds, forget_bias.CALIBRATION_SEEDS)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = forget_bias.run(SMOKE)
    assert result.name == "forget_bias" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == forget_bias.CALIBRATION_SEEDS
    assert not result.held_out
    assert len(result.claims) == 8  # four per task and length
    assert all(math.isfinite(c.measured) for c in result.claims)
    assert set(result.metrics["runs"]) == {"adding T=4", "copy T=2"}
    for key, got in result.metrics["runs"].items():
        assert got["baseline"].shape == (2,)
        for arm in forget_bias.ARMS:
            run = got["arms"][arm]
            assert run["final"].shape == (2,) and np.all(np.isfinite(run["final"]))
            assert run["steps_to_solve"].shape == (2,)
            assert np.all((run["steps_to_solve"] >= 1) & (run["steps_to_solve"] <= 7))
        np.testing.assert_array_equal(got["arms"]["forget2"]["initial_forget_bias_mean"], 2.0)
        assert got["chrono_t_max"] == {"adding T=4": 4.0, "copy T=2": 3.0}[key]
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "forget_bias"
    assert record["claims"][1]["measured"] == pytest.approx(result.claims[1].measured)
    assert (run_dir / "forget_bias.png").stat().st_size > 0
    assert "steps / b_f = 0" in result.table
