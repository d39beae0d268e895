"""Tests of the symmetry experiment: the bound, the spread, claims with the effect removed."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, symmetry

TINY = symmetry.Config(hidden=4, steps=20, log_every=10, eval_size=64, seq_len=6, seeds=(0, 1))


def test_default_seeds_are_held_out():
    for config in (symmetry.QUICK, symmetry.FULL):
        assert _harness.held_out(config.seeds, symmetry.CALIBRATION_SEEDS)


def test_rank_one_bound_is_the_best_line_fit():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 7, 3)) @ np.diag([3.0, 1.0, 0.5]) + np.array([1.0, -2.0, 0.3])
    flat = y.reshape(-1, 3)
    centred = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    direction = vt[0]
    projected = flat.mean(0) + np.outer(centred @ direction, direction)
    brute = np.mean((flat - projected) ** 2)
    assert symmetry.rank_one_bound(y) == pytest.approx(brute, rel=1e-10)
    # No other line does better: a few random lines through the mean, best scalar fit.
    for _ in range(20):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        fit = flat.mean(0) + np.outer(centred @ d, d)
        assert np.mean((flat - fit) ** 2) >= brute - 1e-12


def _spread_at_init(model, config, key=1):
    x = jax.random.normal(jax.random.key(0), (8, config.seq_len, config.input_size))
    params = model.init(jax.random.key(key), x)
    return params, x, float(symmetry.unit_spread(model.apply(params, x, method="hidden")))


def test_constant_init_units_are_identical_and_a_perturbation_is_seen():
    config = TINY
    model = symmetry.make_student(config, "constant")
    params, x, spread = _spread_at_init(model, config)
    assert spread == 0.0
    # Gradients of every unit's recurrent column are the same (symmetry is not broken).
    teacher = symmetry.teacher_params(config, jax.random.key(3))
    y = symmetry.teacher(teacher, x)

    def loss(p):
        return jnp.mean((model.apply(p, x) - y) ** 2)

    grads = jax.grad(loss)(params)
    rec = np.asarray(grads["params"]["cell"]["recurrent_kernel"])
    np.testing.assert_array_equal(rec, np.broadcast_to(rec[:, :1], rec.shape))
    # A tiny perturbation of one weight breaks the symmetry and the measure sees it.
    kernel = params["params"]["cell"]["kernel"]
    perturbed = jax.tree_util.tree_map(lambda a: a, params)
    perturbed["params"]["cell"]["kernel"] = kernel.at[0, 1].add(1e-3)
    assert float(symmetry.unit_spread(model.apply(perturbed, x, method="hidden"))) > 1e-5
    random_model = symmetry.make_student(config, "random")
    assert _spread_at_init(random_model, config)[2] > 0.1


def _measured(const, rand, one, bound=(0.2, 0.25), spread_const=0.0):
    steps = 3

    def arm(final, spread):
        mse = np.tile(np.asarray(final, float), (steps, 1))
        return {"mse": mse, "spread": np.full((steps, 2), spread), "bound": np.asarray(bound)}

    return {
        "constant": arm(const, spread_const),
        "random": arm(rand, 2.0),
        "one_unit": arm(one, np.nan),
    }


def test_claims_pass_with_the_effect_and_fail_without_it():
    good = symmetry.claims(_measured([0.3, 0.4], [0.01, 0.02], [0.3, 0.41]))
    assert all(c.passed for c in good), good
    assert all(c.baseline and math.isfinite(c.measured) for c in good)
    # The random student no better than the symmetric one: the bound claim fails.
    stuck = symmetry.claims(_measured([0.3, 0.4], [0.3, 0.4], [0.3, 0.41]))
    assert [c.passed for c in stuck] == [True, True, True, False, True, True, False]
    # Constant init with the symmetry broken (units differ, loss like the random net):
    broken = symmetry.claims(_measured([0.01, 0.02], [0.01, 0.02], [0.3, 0.41], spread_const=0.5))
    assert [c.passed for c in broken] == [False, True, False, True, True, False, False]


def test_short_run_writes_results_and_figure(tmp_path):
    result = symmetry.run(TINY)
    assert not result.held_out
    m = result.metrics
    assert m["constant"]["mse"].shape == (3, 2)  # steps 0, 10, 20
    assert np.all(m["constant"]["spread"] == 0.0)
    assert np.all(m["random"]["spread"] > 0.0)
    assert np.all(m["constant"]["mse"][-1] >= m["constant"]["bound"] * (1 - 1e-4))
    assert np.all(np.isnan(m["one_unit"]["spread"]))
    np.testing.assert_array_equal(m["constant"]["bound"], m["random"]["bound"])  # same data
    assert len(result.claims) == 7
    assert np.all(m["constant"]["grad_spread"] == 0.0)
    assert np.all(m["random"]["grad_spread"] > 0.0)
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(TINY)))
    assert (run_dir / "symmetry.png").stat().st_size > 0


def test_jittered_constant_init_fails_the_identical_units_claim():
    jittered = dataclasses.replace(TINY, constant_jitter=1e-4, steps=10, log_every=10)
    m = {arm: symmetry.train_arm(jittered, arm) for arm in ("constant",)}
    assert np.all(m["constant"]["spread"].max(0) > symmetry.MAX_CONSTANT_SPREAD)
    assert np.all(m["constant"]["grad_spread"] > 0.0)
    claim = symmetry.claims({**m, "random": m["constant"], "one_unit": m["constant"]})[0]
    assert not claim.passed


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="`constant_jitter`"):
        symmetry.Config(constant_jitter=-1.0)
    with pytest.raises(ValueError, match="`hidden`"):
        symmetry.Config(hidden=1)
    with pytest.raises(ValueError, match="`output_size`"):
        symmetry.Config(output_size=1)
    with pytest.raises(ValueError, match="`constant_value`"):
        symmetry.Config(constant_value=0.0)
    with pytest.raises(ValueError, match="`log_every`"):
        symmetry.Config(steps=10, log_every=20)
    with pytest.raises(ValueError, match="`seeds`"):
        symmetry.Config(seeds=(1, 1))
    with pytest.raises(TypeError, match="`steps`"):
        symmetry.Config(steps=2.5)
