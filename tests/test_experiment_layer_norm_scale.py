"""Tests of the layer-norm / init-scale experiment: scaling, claims and a seconds-long run."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from experiments import _harness, layer_norm_scale
from jaxrnn import models

SMOKE = layer_norm_scale.Config(
    length=4,
    hidden_size=4,
    batch_size=4,
    num_steps=4,
    scales=(0.1, 1.0, 10.0),
    seeds=(0, 1),
    eval_size=8,
    fit_size=32,
    log_every=1,
)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_scale_kernels_is_the_scaled_initializer(layer_norm):
    # Multiplying the drawn kernels equals drawing from s * default, key for key.
    x = jnp.ones((2, 5, 2))
    default = jaxrnn.LSTMCell(3, layer_norm=layer_norm)
    cell = default.clone(
        kernel_init=layer_norm_scale.scaled_initializer(default.default_kernel_init, 3.0),
        recurrent_kernel_init=layer_norm_scale.scaled_initializer(
            default.default_recurrent_kernel_init, 3.0
        ),
    )
    key = jax.random.key(0)
    wrapped = models.SequenceRegressor(cell).init(key, x)
    scaled = layer_norm_scale.scale_kernels(models.SequenceRegressor(default).init(key, x), 3.0)
    base = models.SequenceRegressor(default).init(key, x)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), wrapped, scaled
    )
    cell_params = base["params"]["rnn"]["rnn0"]["cell"]
    scaled_cell = scaled["params"]["rnn"]["rnn0"]["cell"]
    np.testing.assert_allclose(scaled_cell["kernel"], 3.0 * cell_params["kernel"], rtol=1e-6)
    np.testing.assert_array_equal(scaled_cell["bias"], cell_params["bias"])  # biases kept
    np.testing.assert_array_equal(  # the head is left alone
        scaled["params"]["Dense_0"]["kernel"], base["params"]["Dense_0"]["kernel"]
    )


def test_layer_norm_forward_pass_ignores_the_scale():
    # LN(x W s) = LN(x W) up to the norm's epsilon: the premise of Ba et al.'s argument.
    x = jax.random.uniform(jax.random.key(1), (3, 6, 2))
    for layer_norm, same in ((True, True), (False, False)):
        model = models.SequenceRegressor(jaxrnn.LSTMCell(4, layer_norm=layer_norm))
        params = model.init(jax.random.key(2), x)
        out = model.apply(params, x)
        out10 = model.apply(layer_norm_scale.scale_kernels(params, 10.0), x)
        assert np.allclose(out, out10, atol=1e-4) == same


def test_log_spread_and_range():
    final = np.array([[0.01, 0.1], [0.02, 1.0], [0.04, 0.05]])
    np.testing.assert_allclose(layer_norm_scale.log_spread(final), [np.log(4), np.log(20)])
    ranges = layer_norm_scale.range_fraction(final, np.array([0.1, 0.5]))
    np.testing.assert_allclose(ranges, [0.3, 1.9])


CONSTANT = np.array([0.17, 0.16, 0.165])
# (scales, seeds): numbers like the calibration's. Layer norm learns at every scale,
# within a factor of a few; the plain LSTM only at the middle scales.
LN = np.array(
    [[0.004, 0.005, 0.002], [0.002, 0.001, 0.002], [0.001, 0.002, 0.0015], [0.002, 0.003, 0.002],
     [0.005, 0.004, 0.006]]
)  # fmt: skip
PLAIN = np.array(
    [[0.16, 0.15, 0.16], [0.1, 0.15, 0.12], [0.005, 0.01, 0.008], [0.01, 0.008, 0.015],
     [0.17, 0.17, 0.17]]
)  # fmt: skip


def test_claims_pass_with_the_effect():
    spread, learns = layer_norm_scale.claims(LN, PLAIN, CONSTANT)
    assert spread.passed and learns.passed
    ratio = (LN.max(0) - LN.min(0)) / (PLAIN.max(0) - PLAIN.min(0))
    assert spread.measured == pytest.approx(ratio.max())  # the worst seed
    assert spread.interval[0] < spread.mean < spread.interval[1]
    assert learns.measured == pytest.approx(np.max(LN.max(0) / CONSTANT))
    assert learns.baseline == layer_norm_scale.CONSTANT


def test_claims_fail_with_layer_norm_off_in_both_arms():
    # No effect: the "layer norm" arm is the plain LSTM itself. Its range ratio is 1 and
    # its worst scale stays at the constant predictor: both claims fail.
    spread, learns = layer_norm_scale.claims(PLAIN, PLAIN, CONSTANT)
    assert spread.measured == pytest.approx(1.0) and not spread.passed
    assert not learns.passed
    # An untrained layer-norm arm, stuck at the constant predictor whatever the scale,
    # has a small range but fails the second claim.
    stuck = np.tile(CONSTANT, (5, 1)) * np.linspace(0.98, 1.02, 5)[:, None]
    spread, learns = layer_norm_scale.claims(stuck, PLAIN, CONSTANT)
    assert spread.passed and not learns.passed
    # A layer-norm arm that learns at the middle scales only is no better than plain.
    partial = PLAIN.copy()
    partial[1:4] = LN[1:4]
    spread, learns = layer_norm_scale.claims(partial, PLAIN, CONSTANT)
    assert not spread.passed and not learns.passed
    # A non-finite (diverged) loss fails both.
    diverged = LN.copy()
    diverged[0, 1] = np.nan
    assert not any(c.passed for c in layer_norm_scale.claims(diverged, PLAIN, CONSTANT))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="`length`"):
        dataclasses.replace(SMOKE, length=7)
    with pytest.raises(ValueError, match="`scales`"):
        dataclasses.replace(SMOKE, scales=(1.0,))
    with pytest.raises(ValueError, match="`scales`"):
        dataclasses.replace(SMOKE, scales=(1.0, -1.0))
    with pytest.raises(ValueError, match="`seeds`"):
        dataclasses.replace(SMOKE, seeds=(1, 1))
    with pytest.raises(ValueError, match="`learning_rate`"):
        dataclasses.replace(SMOKE, learning_rate=0.0)
    with pytest.raises(ValueError, match="`log_every`"):
        dataclasses.replace(SMOKE, log_every=0)
    with pytest.raises(TypeError, match="`num_steps`"):
        dataclasses.replace(SMOKE, num_steps=1.5)
    with pytest.raises(ValueError, match="--hidden_size: expected int"):
        _harness.parse_overrides(layer_norm_scale.QUICK, ["--hidden-size=abc"])
    config = _harness.parse_overrides(layer_norm_scale.QUICK, ["--scales=0.5,2"])
    assert config.scales == (0.5, 2.0)


def test_default_seeds_are_held_out():
    for config in (layer_norm_scale.QUICK, layer_norm_scale.FULL):
        assert _harness.held_out(config.seeds, layer_norm_scale.CALIBRATION_SEEDS)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = layer_norm_scale.run(SMOKE)
    assert result.name == "layer_norm_scale" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == layer_norm_scale.CALIBRATION_SEEDS
    assert not result.held_out
    assert len(result.claims) == 2
    assert all(math.isfinite(c.measured) for c in result.claims)
    for arm in layer_norm_scale.ARMS:
        got = result.metrics["runs"][arm]
        assert got["final"].shape == (3, 2) and np.all(np.isfinite(got["final"]))
        assert got["loss"].shape == (4, 3, 2)
    assert result.metrics["constant_mse"].shape == (2,)
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "layer_norm_scale"
    assert record["config"]["scales"] == [0.1, 1.0, 10.0]
    assert record["claims"][0]["measured"] == pytest.approx(result.claims[0].measured)
    assert (run_dir / "scale.png").stat().st_size > 0
    assert "ln(max/min)" in result.table
