"""Tests of the hyperparameter_search experiment: searches, claims, config, a short run."""

import json

import jax
import numpy as np
import pytest

from experiments import _harness
from experiments import hyperparameter_search as hps

pytest.importorskip("sklearn")

SMOKE = hps.Config(
    hidden_sizes=(4, 8),
    num_rates=3,
    steps=3,
    batch_size=8,
    budget=4,
    max_budget=5,
    repeats=10,
    seeds=(0, 1),
)


def _table(flat_in_rate=False, seeds=4, rates=12, hidden=4):
    """A synthetic surface: a sharp optimum in the rate between grid points."""
    rng = np.random.default_rng(0)
    log_rate = np.linspace(-4, -1, rates)
    rate_effect = 0.0 if flat_in_rate else (log_rate - (-1.8)) ** 2
    surface = 0.1 + rate_effect[:, None] + 0.01 * np.arange(hidden)[::-1][None, :]
    return surface[None] + 0.001 * rng.random((seeds, rates, hidden))


def test_default_seeds_are_held_out():
    for config in (hps.QUICK, hps.FULL):
        assert _harness.held_out(config.seeds, hps.CALIBRATION_SEEDS)


def test_grid_points_are_the_evenly_spaced_sub_grid_with_the_ends():
    np.testing.assert_array_equal(hps.grid_points(12, 4, 3, 3), [0, 2, 3, 24, 26, 27, 44, 46, 47])
    assert list(hps.grid_points(12, 4, 1, 1)) == [5 * 4 + 1]


def test_random_points_are_distinct_and_reproducible():
    a = hps.random_points(jax.random.key(0), 48, 9, 50)
    assert a.shape == (50, 9) and all(len(set(row)) == 9 for row in a)
    np.testing.assert_array_equal(a, hps.random_points(jax.random.key(0), 48, 9, 50))


def test_claims_pass_with_the_effect_and_fail_without_it():
    key = jax.random.key(0)
    table = _table()
    found = hps.search(table, table, 9, 200, key)
    assert all(c.passed for c in hps.search_claims(found, 2.3, 2.3, 9))
    # The rate's effect removed: random cannot beat the grid, which holds the best size.
    flat = hps.flatten_rates(table)
    claims = hps.search_claims(hps.search(flat, flat, 9, 200, key), 2.3, 2.3, 9)
    assert not claims[0].passed and not claims[1].passed
    # Random replaced by the grid: ratio 1, never strictly better.
    same = dict(found)
    same["random_val"] = np.repeat(found["grid_val"][:, None], 200, axis=1)
    same["random_test"] = np.repeat(found["grid_test"][:, None], 200, axis=1)
    same["random_median"] = found["grid_val"]
    same["win_probability"] = np.zeros_like(found["win_probability"])
    claims = hps.search_claims(same, 2.3, 2.3, 9)
    assert not claims[0].passed and not claims[1].passed
    # An untrained table (every loss at the class prior's) fails the prior claims.
    untrained = np.full_like(table, 2.3)
    claims = hps.search_claims(hps.search(untrained, untrained, 9, 200, key), 2.3, 2.3, 9)
    assert not any(c.passed for c in claims[2:])


def test_best_of_picks_the_test_loss_of_the_validation_best():
    val = np.array([[3.0, 1.0], [2.0, 4.0]])
    test = np.array([[30.0, 10.0], [20.0, 40.0]])
    best, chosen = hps.best_of(val, test, np.array([[0, 2, 3], [0, 1, 3]]))
    np.testing.assert_array_equal(best, [2.0, 1.0])
    np.testing.assert_array_equal(chosen, [20.0, 10.0])


def test_prior_loss_is_near_log_10_on_balanced_digits():
    data = hps.load_splits(0.2, 0.2, 0)
    assert data["x_train"].shape[1:] == (8, 8) and data["x_val"].shape[1:] == (8, 8)
    assert abs(hps.prior_loss(data["y_train"], data["y_val"]) - np.log(10)) < 0.01


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="`budget`"):
        hps.Config(budget=8)
    with pytest.raises(ValueError, match="`hidden_sizes`"):
        hps.Config(hidden_sizes=(64, 32))
    with pytest.raises(ValueError, match="`lr_max`"):
        hps.Config(lr_min=0.1, lr_max=0.01)
    with pytest.raises(ValueError, match="`max_budget`"):
        hps.Config(max_budget=4)
    with pytest.raises(ValueError, match="`seeds`"):
        hps.Config(seeds=(1, 1))
    with pytest.raises(TypeError, match="`steps`"):
        hps.Config(steps=1.5)


def test_smoke_run_saves_results_and_figures(tmp_path):
    result = hps.run(SMOKE)
    assert result.name == hps.NAME and result.seeds == (0, 1) and len(result.claims) == 5
    table = np.asarray(result.metrics["table_val_loss"])
    assert table.shape == (2, 3, 2) and np.all(np.isfinite(table))
    assert np.all(np.isfinite(result.metrics["random_median"]))
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == hps.NAME
    for stem in ("trials_curve", "response_surface"):
        assert (run_dir / f"{stem}.png").exists()
