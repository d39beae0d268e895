"""Tests of the near_orthogonal experiment on a tiny config (seconds)."""

import json
import math

import numpy as np
import pytest

from experiments import _harness, near_orthogonal

TINY = near_orthogonal.Config(
    sizes=(8, 16, 32, 64), entries=2**12, product_size=16, chains=64, steps=20, seeds=(0, 1)
)


@pytest.fixture(scope="module")
def tiny_result():
    return near_orthogonal.run(TINY)


def test_runs_end_to_end_and_saves(tiny_result, tmp_path):
    run_dir = _harness.save(tiny_result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "near_orthogonal"
    assert record["seeds"] == list(TINY.seeds)
    assert record["figures"] == ["near_orthogonal.png"]
    assert (run_dir / "near_orthogonal.png").stat().st_size > 0
    assert len(record["claims"]) == 14
    for claim in tiny_result.claims:
        assert math.isfinite(claim.measured) and claim.baseline
    assert not record["held_out"]  # seeds 0, 1 are calibration seeds
    for key in ("rms_off", "rms_diag", "slope_off", "square_sigma_max", "tall_sigma_min"):
        assert np.all(np.isfinite(np.asarray(tiny_result.metrics[key]))), key


def test_theory_values():
    # Edelman's law: median sqrt(1 + 2 ln 2) - 1, mean sqrt(2 pi e) (1 - Phi(1)).
    assert near_orthogonal.EDELMAN_MEDIAN == pytest.approx(0.5448, abs=1e-4)
    assert near_orthogonal.EDELMAN_MEAN == pytest.approx(0.6557, abs=1e-4)
    assert near_orthogonal.mp_edges(4) == pytest.approx((0.5, 1.5))
    # The MP densities integrate to 1; ratio 1 is the quarter circle.
    for ratio in (1.0, 4.0):
        grid = np.linspace(0, 2, 400_001)
        mass = np.trapezoid(near_orthogonal.mp_singular_density(grid, ratio), grid)
        assert mass == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(
        near_orthogonal.mp_singular_density(np.array([1.0]), 1.0), np.sqrt(3) / np.pi
    )
    mean, var = near_orthogonal.log_norm_theory(32, 50)
    assert mean == pytest.approx(-1 / 32 - 1 / (12 * 32**2), rel=1e-2) and mean < 0
    assert var == pytest.approx(2 / 32, rel=5e-2)
    np.testing.assert_allclose(near_orthogonal.log_log_slope([1, 10, 100], [[1, 0.1, 0.01]]), -1)


def test_claims_fail_on_an_orthogonal_matrix():
    # The effect removed: every Gaussian draw replaced by an orthogonal matrix. Only the
    # claim about the orthogonal arm itself may pass.
    got = near_orthogonal.measure(TINY, law="orthogonal")
    claims = near_orthogonal._claims(TINY, got)
    passed = [claim.name for claim in claims if claim.passed]
    assert passed == [claims[12].name] and "orthogonal" in passed[0]


def test_claims_fail_on_a_wrong_exponent(tiny_result):
    got = near_orthogonal.measure(TINY)
    sizes = np.broadcast_to(np.asarray(TINY.sizes, np.float64), got["off"].shape)
    # The theory's numbers pass the four entrywise claims; n^-1 and n^-1/4 fail them.
    exact = {**got, "off": 1 / np.sqrt(sizes), "diag": np.sqrt(2 / sizes)}
    assert all(claim.passed for claim in near_orthogonal._claims(TINY, exact)[:4])
    wrong = {**got, "off": 1 / sizes, "diag": np.sqrt(2) * sizes**-0.25}
    claims = near_orthogonal._claims(TINY, wrong)[:4]
    assert not any(claim.passed for claim in claims)


def test_gaussian_rnn_claim_fails_without_spread():
    got = near_orthogonal.measure(TINY)
    same = {**got, "rnn": got["orthogonal"]}
    assert not near_orthogonal._claims(TINY, same)[13].passed


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sizes": (16, 8, 32)}, "sizes"),
        ({"sizes": (8, 16)}, "sizes"),
        ({"tall_ratio": 1}, "tall_ratio"),
        ({"chains": 1}, "chains"),
        ({"seeds": (1, 1)}, "seeds"),
    ],
)
def test_config_errors_name_the_field(changes, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        near_orthogonal.Config(**changes)
    with pytest.raises(TypeError, match="`steps`"):
        near_orthogonal.Config(steps=2.5)


def test_default_seeds_are_held_out():
    for config in (near_orthogonal.QUICK, near_orthogonal.FULL):
        assert _harness.held_out(config.seeds, near_orthogonal.CALIBRATION_SEEDS)
