"""Tests of the pretrained experiment: data, checkpoint loading, claims and a short run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest
from flax import traverse_util

import jaxrnn
from experiments import _harness, pretrained

TINY = pretrained.Config(
    hidden=8,
    pretrain_steps=6,
    pretrain_batch=16,
    shots=3,
    finetune_steps=6,
    finetune_batch=15,
    eval_every=3,
    seeds=(0, 1),
)


def test_default_seeds_are_held_out():
    for config in (pretrained.QUICK, pretrained.FULL):
        assert _harness.held_out(config.seeds, pretrained.CALIBRATION_SEEDS)


def test_data_split_and_few_shot_draws():
    data = pretrained.load_data(0.5, 0)
    assert data["x_source"].shape[1:] == (8, 8)
    assert set(np.unique(data["y_source"])) == set(range(5))
    assert set(np.unique(data["y_test"])) == set(range(5))  # digits 5-9 relabelled 0..4
    assert abs(len(data["y_pool"]) - len(data["y_test"])) <= 1
    shots = pretrained.few_shot(data["y_pool"], 4, seed=3)
    np.testing.assert_array_equal(np.bincount(data["y_pool"][shots]), np.full(5, 4))
    np.testing.assert_array_equal(shots, pretrained.few_shot(data["y_pool"], 4, seed=3))
    assert not np.array_equal(shots, pretrained.few_shot(data["y_pool"], 4, seed=4))
    with pytest.raises(ValueError, match="`shots`"):
        pretrained.few_shot(data["y_pool"], 10_000, seed=0)


def test_scrambled_images_keep_each_images_pixel_values():
    x = np.random.default_rng(0).normal(size=(5, 8, 8)).astype(np.float32)
    y = pretrained.scrambled_images(x, seed=1)
    assert y.shape == x.shape and not np.array_equal(x, y)
    for a, b in zip(x, y, strict=True):
        np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))


def test_loaded_encoder_equals_the_checkpoint_and_the_head_stays_fresh(tmp_path):
    data = pretrained.load_data(TINY.test_fraction, TINY.split_seed)
    pre = pretrained.pretrain(TINY, "autoencoder", data, tmp_path / "ae")
    fresh = pretrained.init_params(TINY, "classify", 0)
    loaded = pretrained.load_encoder(tmp_path / "ae", fresh)
    # What is on disk, read back independently of restore_params (the saved TrainState).
    ckpt = jaxrnn.checkpoint.Checkpointer(tmp_path / "ae", max_to_keep=None, create=False)
    try:
        assert ckpt.latest_step() == TINY.pretrain_steps
        raw = ckpt.restore_raw()
    finally:
        ckpt.close()
    on_disk = traverse_util.flatten_dict(raw["params"]["params"], sep="/")
    got = traverse_util.flatten_dict(loaded["params"], sep="/")
    in_memory = traverse_util.flatten_dict(pre["params"]["params"], sep="/")
    encoder = [k for k in got if k.startswith(pretrained.ENCODER + "/")]
    assert encoder and all(k in on_disk for k in encoder)
    for key in encoder:  # bit-exact, dtype included
        assert got[key].dtype == on_disk[key].dtype
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(on_disk[key]))
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(in_memory[key]))
    # The checkpoint's head has 64 outputs (the autoencoder), the model's 5 (classes).
    head = [k for k in got if not k.startswith(pretrained.ENCODER + "/")]
    saved_head = [k for k in on_disk if not k.startswith(pretrained.ENCODER + "/")]
    assert {np.shape(got[k])[-1] for k in head} == {pretrained.NUM_CLASSES}
    assert {np.shape(on_disk[k])[-1] for k in saved_head} == {pretrained.PIXELS}
    # The head is fresh's, leaf for leaf.
    for key in loaded["params"]:
        if key == pretrained.ENCODER:
            continue
        for a, b in zip(
            jax.tree_util.tree_leaves(loaded["params"][key]),
            jax.tree_util.tree_leaves(fresh["params"][key]),
            strict=True,
        ):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # And the encoder did change in pretraining (the test can fail).
    assert not all(
        np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(
            jax.tree_util.tree_leaves(loaded["params"][pretrained.ENCODER]),
            jax.tree_util.tree_leaves(fresh["params"][pretrained.ENCODER]),
            strict=True,
        )
    )


def test_steps_to_first_reach_and_never():
    curve = np.array([[0.1, 0.2], [0.5, 0.3], [0.9, 0.4]])
    steps = np.array([0, 5, 10])
    np.testing.assert_array_equal(
        pretrained.steps_to(curve, steps, np.array([0.5, 0.9]), never=15.0), [5.0, 15.0]
    )
    assert np.isinf(pretrained.steps_to(curve, steps, np.array([0.5, 0.9]))[1])


def _fine(scratch, auto, scrambled):
    steps = np.arange(0, 25, 5)

    def curve(final, speed):  # rises linearly to `final` by step `speed`, then flat
        return np.stack([np.minimum(steps / speed, 1.0) * f for f in final], axis=1)

    return {
        "scratch": {"steps": steps, "test_accuracy": curve(scratch, 20)},
        "autoencoder": {"steps": steps, "test_accuracy": curve(auto[0], auto[1])},
        "scrambled": {"steps": steps, "test_accuracy": curve(scrambled, 20)},
    }


def test_claims_pass_with_the_effect_and_fail_without_it():
    scratch = [0.80, 0.78, 0.82]
    good = pretrained.claims(_fine(scratch, ([0.86, 0.85, 0.87], 5), [0.81, 0.80, 0.80]))
    assert [c.passed for c in good] == [True, True], good
    assert all(c.baseline and math.isfinite(c.measured) for c in good)
    # Pretrained arm replaced by scratch: every claim fails.
    none = pretrained.claims(_fine(scratch, (scratch, 20), scratch))
    assert [c.passed for c in none] == [False, False], none
    # Better at the end but no faster: the speed claim fails alone.
    slow = pretrained.claims(_fine(scratch, ([0.86, 0.85, 0.87], 20), scratch))
    assert [c.passed for c in slow] == [True, False], slow


def test_control_is_reported_against_the_scrambled_arm():
    scratch = [0.80, 0.78, 0.82]
    c = pretrained.control(_fine(scratch, ([0.86, 0.85, 0.87], 5), [0.81, 0.80, 0.80]))
    np.testing.assert_allclose(c["final_gap"], [0.05, 0.05, 0.07], atol=1e-12)
    assert c["interval"][0] < c["mean"] < c["interval"][1]
    assert c["speed_ratio_median"] == {"autoencoder": 0.25, "scrambled": 1.0}
    same = pretrained.control(_fine(scratch, ([0.86, 0.85, 0.87], 5), [0.86, 0.85, 0.87]))
    assert same["mean"] == 0 and same["best_gap_mean"] == 0


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="`pixels_per_step`"):
        pretrained.Config(pixels_per_step=5)
    with pytest.raises(ValueError, match="`cell`"):
        pretrained.Config(cell="rnn")
    with pytest.raises(ValueError, match="`finetune_batch`"):
        pretrained.Config(shots=2, finetune_batch=25)
    with pytest.raises(ValueError, match="`eval_every`"):
        pretrained.Config(finetune_steps=10, eval_every=3)
    with pytest.raises(ValueError, match="`pretrainings`"):
        pretrained.Config(pretrainings=("pretrained",))
    with pytest.raises(ValueError, match="`test_fraction`"):
        pretrained.Config(test_fraction=1.0)
    with pytest.raises(TypeError, match="`hidden`"):
        pretrained.Config(hidden=2.5)


def test_short_run_writes_results_and_figure(tmp_path):
    result = pretrained.run(TINY)
    assert not result.held_out
    assert len(result.claims) == 2
    assert math.isfinite(result.claims[0].measured)
    assert math.isfinite(result.metrics["control"]["mean"])
    # The speed ratio is 0 / 0 when scratch is at its final accuracy from step 0 (possible
    # in 6 steps); such a claim must not pass.
    speed = result.claims[1]
    assert math.isfinite(speed.measured) or not speed.passed
    fine = result.metrics["finetuning"]
    assert set(fine) == {"scratch", "autoencoder", "scrambled"}
    for f in fine.values():
        assert f["test_accuracy"].shape == (3, 2)  # steps 0, 3, 6; two seeds
    # Every arm starts from the same head; scratch and the checkpoints differ at step 0.
    assert result.metrics["baselines"]["logistic"].shape == (2,)
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(TINY)))
    assert (run_dir / "finetuning.png").stat().st_size > 0
    assert "control (not claimed)" in result.table
    # The measured pretrained arm replaced by the measured scratch arm: no claim passes.
    swapped = {**fine, "autoencoder": fine["scratch"]}
    assert not any(c.passed for c in pretrained.claims(swapped))
