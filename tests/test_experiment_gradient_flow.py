"""Tests of the gradient_flow experiment on a tiny config (seconds)."""

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments import _harness, gradient_flow

# Three radii: the ones the claims need. One seed: the run is compile-bound.
TINY = gradient_flow.Config(
    hidden=16, steps=24, batch=4, input_size=3, radii=(0.5, 0.9, 1.5), fit_skip=4, early_steps=6,
    seeds=(0,),
)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_result():
    return gradient_flow.run(TINY)


def test_runs_end_to_end_and_saves(tiny_result, tmp_path):
    run_dir = _harness.save(tiny_result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "gradient_flow"
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(TINY)))
    assert record["seeds"] == list(TINY.seeds)
    assert (run_dir / "gradient_norms.png").stat().st_size > 0
    assert record["figures"] == ["gradient_norms.png"]
    # Every claim is there, each with a finite measured value and its baseline (theory or
    # the other model on the same seeds).
    claims, skipped = gradient_flow._claims(TINY, tiny_result.metrics["models"])
    assert [c["name"] for c in record["claims"]] == [c.name for c in claims]
    assert len(claims) == 8 and not skipped
    for claim in record["claims"]:
        assert math.isfinite(claim["measured"])
        assert claim["status"] in ("PASS", "FAIL") and claim["expected"] and claim["baseline"]
    assert record["calibration_seeds"] == list(gradient_flow.CALIBRATION_SEEDS)
    assert not record["held_out"]  # seed 0 is a calibration seed
    assert set(record["metrics"]["pascanu"]) == {
        "bound_gap",
        "sufficient_count",
        "sufficient_max_slope",
        "growing_min_gamma_sigma",
    }
    names = set(record["metrics"]["log10_norm"])
    assert names == set(gradient_flow.models(TINY))
    assert {"tanh_rho0.5", "orthogonal", "identity_relu", "lstm_chrono", "gru"} <= names


def test_metrics_are_float64_and_finite(tiny_result):
    metrics = tiny_result.metrics
    assert metrics["dtype"] == "float64"
    for name, log10_norm in metrics["log10_norm"].items():
        assert log10_norm.shape == (len(TINY.seeds), TINY.steps), name
        assert np.all(np.isfinite(log10_norm)), name
        stats = metrics["models"][name]
        assert stats["slope"].shape == stats["early_slope"].shape == (len(TINY.seeds),)
    # The exact statement (a theorem, so a unit test and not a claim): Pascanu's bound
    # slope <= log(gamma sigma_1) for Elman nets, and its two readings.
    for name in ("tanh_rho0.5", "tanh_rho1.5", "orthogonal", "identity_relu"):
        stats = metrics["models"][name]
        for key in ("slope", "early_slope"):
            assert np.all(stats[key] <= stats["log_gamma_sigma"] + 1e-6), (name, key)
    pascanu = metrics["pascanu"]
    assert pascanu["bound_gap"] <= gradient_flow.BOUND_SLACK
    if pascanu["sufficient_count"]:
        assert pascanu["sufficient_max_slope"] < 0  # gamma sigma_1 < 1: vanishes
    if not math.isnan(pascanu["growing_min_gamma_sigma"]):
        assert pascanu["growing_min_gamma_sigma"] > 1  # grows: gamma sigma_1 > 1
    assert all(name in tiny_result.table for name in metrics["log10_norm"])
    assert tiny_result.summary.startswith("||dL/dh_t||")


def test_slope_of_a_geometric_sequence():
    # log||g_t|| = t log 0.5: going back in time the norm halves, slope log 0.5.
    log_norms = np.arange(10) * -math.log(0.5)
    np.testing.assert_allclose(gradient_flow._slope_back(log_norms, 2, 8), math.log(0.5))


def test_skips_claims_it_cannot_check(tiny_result):
    config = dataclasses.replace(TINY, radii=())
    stats = {
        name: value
        for name, value in tiny_result.metrics["models"].items()
        if not name.startswith("tanh_rho")
    }
    claims, skipped = gradient_flow._claims(config, stats)
    assert any("ρ = 0.5" in s for s in skipped) and any("ρ = 1.5" in s for s in skipped)
    assert not any("ρ =" in claim.name for claim in claims)
    names = " | ".join(claim.name for claim in claims)
    assert "orthogonal" in names and "chrono" in names
    assert "not checked" in gradient_flow._summary(config, stats, skipped)


@pytest.mark.parametrize(
    ("arg", "error", "message"),
    [
        ("--hidden=1.5", ValueError, "--hidden: expected int, got '1.5'"),
        ("--input_stddev=small", ValueError, "--input_stddev: expected float"),
        ("--radii=0.5,x", ValueError, "--radii: expected float, got 'x'"),
        ("--hiden=3", ValueError, "unknown config key 'hiden'"),
        ("--early_steps=1", ValueError, "`early_steps` in"),
        ("--radii=0.5,0.5", ValueError, "distinct positive `radii`"),
    ],
)
def test_rejects_bad_overrides(arg, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        _harness.parse_overrides(gradient_flow.QUICK, [arg])


def test_config_rejects_wrong_types():
    with pytest.raises(TypeError, match="`hidden`"):
        gradient_flow.Config(hidden=64.0)
    with pytest.raises(TypeError, match="`seeds`"):
        gradient_flow.Config(seeds=(0, "1"))


def test_theory_claim_takes_the_farthest_seed_and_the_interval():
    values = [-0.70, -0.66, -0.72]
    claim = gradient_flow.theory_claim("rate", values, "log 0.5", math.log(0.5), 0.05)
    assert claim.passed and claim.baseline == "log 0.5"
    np.testing.assert_allclose(claim.measured, -0.66 - math.log(0.5))
    np.testing.assert_allclose(claim.mean, np.mean(values) - math.log(0.5))
    assert claim.interval[0] < claim.mean < claim.interval[1]
    # Every seed, not the mean: one seed outside the band fails, as does a NaN.
    assert not gradient_flow.theory_claim("r", [0.0, 0.0, 0.2], "0", 0.0, 0.05).passed
    assert not gradient_flow.theory_claim("r", [0.0, math.nan], "0", 0.0, 0.05).passed


def test_claims_fail_when_the_models_do_not_differ(tiny_result):
    # The absent effect: every model decays like the rho = 0.5 net (the same slopes in both
    # windows). Each claim compares a model with theory or with another model, so each fails.
    stats = tiny_result.metrics["models"]
    same = stats["tanh_rho0.5"]
    flat = {name: {**value, "slope": same["slope"], "early_slope": same["early_slope"]}
            for name, value in stats.items()}  # fmt: skip
    claims, _ = gradient_flow._claims(TINY, flat)
    failed = {claim.name.split(":")[0] for claim in claims if not claim.passed}
    assert {"tanh ρ = 0.9", "tanh ρ = 1.5", "orthogonal (tanh) kernel keeps the norm nearly flat",
            "identity (ReLU) kernel keeps the norm nearly flat", "LSTM"} <= failed  # fmt: skip
    assert sum(not claim.passed for claim in claims) >= len(claims) - 2  # rho 0.5, chrono
