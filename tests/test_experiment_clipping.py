"""Tests of the clipping experiment: its baseline, its claims and a seconds-long run."""

import json

import numpy as np
import pytest

from experiments import _harness, clipping

# Seconds: 2 rates x 2 arms x 2 seeds, 20 steps, T = 6.
SMOKE = clipping.Config(
    hidden=8,
    seq_length=6,
    learning_rates=(0.01, 1.0),
    claim_rate=1.0,
    batch=16,
    train_size=64,
    eval_size=32,
    steps=20,
    seeds=(100, 101),
    progress=False,
)
RATES = clipping.QUICK.learning_rates
BASELINE = 1 / 6


@pytest.fixture(scope="module")
def smoke_result():
    return clipping.run(SMOKE)


def test_clipping_runs_end_to_end_and_saves(smoke_result, tmp_path):
    run_dir = _harness.save(smoke_result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "clipping"
    assert record["config"]["seeds"] == list(SMOKE.seeds)
    assert record["held_out"] and record["calibration_seeds"] == list(clipping.CALIBRATION_SEEDS)
    assert record["figures"] == ["clipping.png"]
    assert (run_dir / "clipping.png").stat().st_size > 0
    assert len(record["claims"]) == 3
    for claim in record["claims"]:
        assert claim["baseline"] and claim["status"] in ("PASS", "FAIL")
    metrics = record["metrics"]
    shape = (len(SMOKE.learning_rates), len(SMOKE.seeds))
    for arm in clipping.ARMS:
        assert np.asarray(metrics["arms"][arm]["solved"]).shape == shape
        assert len(metrics["arms"][arm]["solved_fraction"]) == len(SMOKE.learning_rates)
    assert np.asarray(metrics["arms"]["global_norm"]["final_mse"], np.float64).shape == shape
    # The baseline is computed in the run, from these very sequences.
    train = clipping.adding_data(SMOKE.train_size, SMOKE.seq_length, SMOKE.data_seed)
    held_out = clipping.adding_data(SMOKE.eval_size, SMOKE.seq_length, SMOKE.data_seed + 1)
    assert metrics["constant_predictor_mse"] == pytest.approx(
        clipping.constant_mse(train["y"], held_out["y"])
    )
    assert "clip_by_global_norm" in smoke_result.summary
    assert "no clipping" in smoke_result.table


def test_clipped_runs_stay_finite(smoke_result):
    # lr 1 with c = 1: every applied step has norm <= 1, so no clipped run overflows.
    arm = smoke_result.metrics["arms"]["global_norm"]
    assert np.all(np.isfinite(np.asarray(arm["final_mse"], np.float64)))
    assert np.all(np.asarray(arm["nonfinite_steps"]) == 0)


def test_adding_data_comes_from_the_adding_experiment():
    data = clipping.adding_data(16, 8, seed=3)
    assert data["x"].shape == (16, 8, 2) and data["y"].shape == (16,)
    markers = data["x"][..., 1]
    np.testing.assert_array_equal(markers[:, :4].sum(1), 1)
    np.testing.assert_array_equal(markers[:, 4:].sum(1), 1)
    np.testing.assert_allclose(data["y"], (data["x"][..., 0] * markers).sum(1), rtol=1e-6)


def test_constant_baseline_known_answer():
    # Predicting the training mean 2 on targets (0, 4): squared errors 4 and 4.
    assert clipping.constant_mse(np.array([1.0, 3.0]), np.array([0.0, 4.0])) == 4.0
    # On the adding problem it is Var[v1 + v2] = 1/6, to sampling error.
    train = clipping.adding_data(20_000, 10, seed=0)
    held_out = clipping.adding_data(20_000, 10, seed=1)
    assert clipping.constant_mse(train["y"], held_out["y"]) == pytest.approx(1 / 6, rel=0.03)


def test_solved_rule():
    ratio = clipping.SOLVED_RATIO
    mse = np.array([0.0, 0.99 * ratio, 1.01 * ratio, np.inf, np.nan]) * BASELINE
    np.testing.assert_array_equal(clipping.solved(mse, BASELINE), [True, True, False, False, False])


def _claims(none, clip, config=clipping.QUICK):
    return clipping._claims(config, {"none": none, "global_norm": clip}, BASELINE)


def _pascanu_sweep(n=6):
    """What the experiment expects: both arms solve at the small rates, only the
    clipped one at the large rates (the unclipped runs diverge there)."""
    solved, failed = 0.2 * BASELINE, np.inf
    none = np.array([[solved] * n] * (len(RATES) - 2) + [[failed] * n] * 2)
    clip = np.full((len(RATES), n), solved)
    return none, clip


def test_claims_pass_on_the_expected_sweep():
    claims = _claims(*_pascanu_sweep())
    assert all(claim.passed for claim in claims), [(c.name, c.measured) for c in claims]
    assert claims[0].measured == 1.0 and claims[1].measured == 2.0


def test_claims_fail_when_both_arms_solve_alike():
    none, clip = _pascanu_sweep()
    claims = _claims(clip, clip)  # the same per-rate solved fractions in both arms
    assert not claims[0].passed and not claims[1].passed
    claims = _claims(none, none)  # clipping as harmful as no clipping
    assert not any(claim.passed for claim in claims)


def test_claims_fail_for_the_constant_predictor():
    constant = np.full((len(RATES), 6), BASELINE)
    assert not any(claim.passed for claim in _claims(constant, constant))


def test_claims_fail_when_clipped_runs_diverge():
    none, clip = _pascanu_sweep()
    clip = clip.copy()
    clip[RATES.index(clipping.QUICK.claim_rate), 0] = np.nan
    claims = _claims(none, clip)
    assert not claims[2].passed


def test_default_seeds_are_held_out():
    for config in (clipping.QUICK, clipping.FULL):
        assert _harness.held_out(config.seeds, clipping.CALIBRATION_SEEDS)
        assert len(config.learning_rates) >= 4 and len(config.seeds) >= 4


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--steps=1.5", "--steps: expected int, got '1.5'"),
        ("--max_grad_norm=big", "--max_grad_norm: expected float, got 'big'"),
        ("--learning-rates=0.1,x", "--learning_rates: expected float, got 'x'"),
        ("--seeds=0,x", "--seeds: expected int, got 'x'"),
        ("--progress=maybe", "--progress: expected bool, got 'maybe'"),
    ],
)
def test_clipping_rejects_wrong_typed_override(arg, message):
    with pytest.raises(ValueError, match=message):
        _harness.parse_overrides(clipping.QUICK, [arg])


def test_clipping_config_checks():
    with pytest.raises(TypeError, match="`steps`"):
        clipping.Config(steps=10.0)
    with pytest.raises(TypeError, match="`radius`"):
        clipping.Config(radius="2")
    with pytest.raises(ValueError, match="`max_grad_norm` > 0"):
        clipping.Config(max_grad_norm=0.0)
    with pytest.raises(ValueError, match="`learning_rates` increasing"):
        clipping.Config(learning_rates=(0.1, 0.01))
    with pytest.raises(ValueError, match="`learning_rates` increasing"):
        clipping.Config(learning_rates=(0.1,))
    with pytest.raises(ValueError, match="`claim_rate` in `learning_rates`"):
        clipping.Config(claim_rate=0.5)
    with pytest.raises(ValueError, match="even `seq_length`"):
        clipping.Config(seq_length=7)
    with pytest.raises(ValueError, match="`batch` <= `train_size`"):
        clipping.Config(batch=64, train_size=32)
    with pytest.raises(ValueError, match="distinct `seeds`"):
        clipping.Config(seeds=(1, 1))
