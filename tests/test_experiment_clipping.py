"""Tests of the clipping experiment on a seconds-long config."""

import json
import math

import numpy as np
import pytest

from experiments import _harness, clipping

# Seconds: 3 seeds, 40 steps, T = 20. Long enough for the unclipped runs to blow up.
SMOKE = clipping.Config(
    hidden=16,
    seq_length=20,
    batch=16,
    train_size=256,
    eval_size=64,
    steps=40,
    seeds=(0, 1, 2),
    progress=False,
)


@pytest.fixture(scope="module")
def smoke_result():
    return clipping.run(SMOKE)


def test_clipping_runs_end_to_end_and_saves(smoke_result, tmp_path):
    run_dir = _harness.save(smoke_result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["experiment"] == "clipping"
    assert record["config"]["seeds"] == list(SMOKE.seeds)
    assert record["figures"] == ["clipping.png"]
    assert (run_dir / "clipping.png").stat().st_size > 0
    claims = record["claims"]
    assert len(claims) == 5
    for claim in claims:
        assert claim["name"] and claim["expected"] and claim["status"] in ("PASS", "FAIL")
        assert isinstance(claim["measured"], float)
    # The applied-norm claim and the clipped arm's counts are finite numbers.
    assert all(math.isfinite(claim["measured"]) for claim in claims[:4])
    for arm in clipping.ARMS:
        curves = record["metrics"]["arms"][arm]["curves"]
        assert np.asarray(curves["loss"]).shape == (SMOKE.steps, len(SMOKE.seeds))
    assert "clip_by_global_norm" in smoke_result.summary
    assert "no clipping" in smoke_result.table


def test_clipped_arm_applies_at_most_max_grad_norm(smoke_result):
    arm = smoke_result.metrics["arms"]["global_norm"]
    applied = np.asarray(arm["curves"]["clipped_grad_norm"], np.float64)
    before = np.asarray(arm["curves"]["grad_norm"], np.float64)
    assert applied.shape == (SMOKE.steps, len(SMOKE.seeds))
    assert np.all(np.isfinite(applied))
    assert np.all(applied <= SMOKE.max_grad_norm * (1 + clipping.CLIP_RTOL))
    # Below c the gradient passes unchanged; above it, it is rescaled to c.
    np.testing.assert_allclose(
        applied, np.minimum(before, SMOKE.max_grad_norm), rtol=clipping.CLIP_RTOL
    )
    assert smoke_result.claims[0].passed


def test_unclipped_arm_records_raw_norms(smoke_result):
    arm = smoke_result.metrics["arms"]["none"]
    applied = np.asarray(arm["curves"]["clipped_grad_norm"], np.float64)
    before = np.asarray(arm["curves"]["grad_norm"], np.float64)
    finite = np.isfinite(before)
    np.testing.assert_allclose(applied[finite], before[finite], rtol=clipping.CLIP_RTOL)


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--steps=1.5", "--steps: expected int, got '1.5'"),
        ("--max_grad_norm=big", "--max_grad_norm: expected float, got 'big'"),
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
    with pytest.raises(ValueError, match="`batch` <= `train_size`"):
        clipping.Config(batch=64, train_size=32)
    with pytest.raises(ValueError, match="distinct `seeds`"):
        clipping.Config(seeds=(1, 1))
