"""Tests of the truncated-vs-normal init experiment: draws, claims and a seconds-long run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments import _harness, init_distribution

SMOKE = init_distribution.Config(hidden=8, steps=3, batch_size=8, seeds=(0, 1), log_every=1)


def _params(config, arm, seed=0):
    model = init_distribution.make_model(config, arm)
    return model.init(jax.random.key(seed), np.zeros((1, 64, 1), np.float32))


def test_draws_same_std_tails_cut_and_paired():
    config = init_distribution.Config(hidden=64)
    sigma = init_distribution.stddevs(config)
    assert sigma == {"kernel": 1.0, "recurrent_kernel": pytest.approx(1 / 8)}
    kernels = {
        arm: init_distribution.cell_kernels(_params(config, arm)) for arm in init_distribution.ARMS
    }
    trunc = np.asarray(kernels["truncated"]["recurrent_kernel"]).ravel() / sigma["recurrent_kernel"]
    normal = np.asarray(kernels["normal"]["recurrent_kernel"]).ravel() / sigma["recurrent_kernel"]
    assert np.abs(trunc).max() <= 2.0 and np.abs(normal).max() > 3.0
    # Same std (4096 draws: ~1% sampling error) ...
    assert trunc.std() == pytest.approx(1.0, abs=0.04)
    assert normal.std() == pytest.approx(1.0, abs=0.04)
    # ... and the same key gives the same order: the inverse-CDF coupling.
    np.testing.assert_array_equal(np.argsort(trunc), np.argsort(normal))
    assert np.corrcoef(trunc, normal)[0, 1] > 0.95


def test_kernel_stats_pool_both_kernels():
    config = init_distribution.Config(hidden=8)
    params = jax.tree_util.tree_map(lambda a: a[None], _params(config, "normal"))
    stats = init_distribution.kernel_stats(params, config)
    assert stats["z"].shape == (1, 8 + 64)
    assert stats["max_abs"][0] == pytest.approx(np.abs(stats["z"]).max())


def test_prior_cross_entropy():
    y_train = np.array([0, 0, 1, 1])
    assert init_distribution.prior_cross_entropy(y_train, np.array([0, 1])) == pytest.approx(
        math.log(2)
    )


def _measured(trunc_loss, normal_loss, trunc_max=(1.999, 1.998), normal_max=(3.2, 3.4)):
    def arm(loss, max_abs, std):
        init = {"max_abs": np.array(max_abs), "std": np.array(std)}
        return {"test_loss": np.array(loss), "init": init}

    return {
        "truncated": arm(trunc_loss, trunc_max, [0.99, 1.01]),
        "normal": arm(normal_loss, normal_max, [1.0, 1.0]),
    }


PRIOR = math.log(10)


def test_claims_pass_for_a_null_result_with_cut_tails():
    claims = init_distribution.claims(_measured([0.70, 0.81], [0.72, 0.78]), PRIOR)
    assert [c.passed for c in claims] == [True] * 6
    bound, beyond, std, learns, null, null_mean = claims
    assert bound.measured == pytest.approx(1.999 / 2)
    assert beyond.measured == pytest.approx(3.2 / 1.999)
    assert std.measured == pytest.approx(-0.01)  # the seed farthest from 0
    assert learns.measured == pytest.approx(0.81 / PRIOR)
    assert null.measured == pytest.approx(0.03)  # the seed farthest from 0
    assert null.interval[0] < null.mean < null.interval[1]
    assert null_mean.measured == pytest.approx(0.005)


def test_claims_fail_without_the_effect():
    # An initializer that does not truncate: the "truncated" arm is the normal one.
    measured = _measured([0.7, 0.8], [0.7, 0.8], trunc_max=(3.2, 3.4))
    bound, beyond, *_ = init_distribution.claims(measured, PRIOR)
    assert not bound.passed and not beyond.passed
    assert beyond.measured == pytest.approx(1.0)
    # A truncation that does not rescale to the requested std (std 0.88 sigma).
    measured = _measured([0.7, 0.8], [0.7, 0.8])
    measured["truncated"]["init"]["std"] = np.array([0.88, 0.88])
    assert not init_distribution.claims(measured, PRIOR)[2].passed
    # A real effect of the tails, beyond the bands, fails the null claims ...
    band = init_distribution.EQUIVALENCE_BAND
    measured = _measured([0.7 + 1.5 * band, 0.8], [0.7, 0.8])
    assert not init_distribution.claims(measured, PRIOR)[-2].passed
    shift = 1.5 * init_distribution.MEAN_BAND  # every seed worse by a small, steady amount
    measured = _measured([0.7 + shift, 0.8 + shift], [0.7, 0.8])
    assert init_distribution.claims(measured, PRIOR)[-2].passed
    assert not init_distribution.claims(measured, PRIOR)[-1].passed
    # ... and two untrained arms (at the prior) fail the claim that both learn.
    claims = init_distribution.claims(_measured([PRIOR, PRIOR], [PRIOR, PRIOR]), PRIOR)
    assert claims[-1].passed and claims[-2].passed and not claims[3].passed


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="`gain`"):
        dataclasses.replace(SMOKE, gain=0.0)
    with pytest.raises(ValueError, match="`seeds`"):
        dataclasses.replace(SMOKE, seeds=(1,))
    with pytest.raises(ValueError, match="`test_fraction`"):
        dataclasses.replace(SMOKE, test_fraction=1.0)
    with pytest.raises(ValueError, match="`log_every`"):
        dataclasses.replace(SMOKE, log_every=10)
    with pytest.raises(ValueError, match="`hidden`"):
        dataclasses.replace(SMOKE, hidden=0)
    with pytest.raises(TypeError, match="`steps`"):
        dataclasses.replace(SMOKE, steps=2.5)
    with pytest.raises(ValueError, match="--gain: expected float"):
        _harness.parse_overrides(init_distribution.QUICK, ["--gain=big"])


def test_default_seeds_are_held_out():
    for config in (init_distribution.QUICK, init_distribution.FULL):
        assert _harness.held_out(config.seeds, init_distribution.CALIBRATION_SEEDS)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = init_distribution.run(SMOKE)
    assert result.name == "init_distribution" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == init_distribution.CALIBRATION_SEEDS
    assert not result.held_out and len(result.claims) == 6
    assert all(math.isfinite(c.measured) for c in result.claims)
    assert result.claims[0].passed  # the truncation bound holds at any size
    for arm in init_distribution.ARMS:
        got = result.metrics["arms"][arm]
        assert got["test_loss"].shape == (2,) and np.all(np.isfinite(got["test_loss"]))
        assert got["loss"].shape == (3, 2)
    assert np.all(result.metrics["arms"]["truncated"]["init_fraction_beyond_bound"] == 0)
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "init_distribution"
    assert record["claims"][-2]["measured"] == pytest.approx(result.claims[-2].measured)
    assert (run_dir / "init_distribution.png").stat().st_size > 0
    assert "truncated - normal" in result.table
