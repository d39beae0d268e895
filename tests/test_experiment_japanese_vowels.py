"""Tests of the Japanese Vowels experiment: data, padding, baselines, claims, a short run."""

import dataclasses
import json
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness
from experiments import japanese_vowels as jv

pytest.importorskip("sktime")  # the data ship with sktime (the `experiments` extra)

SMOKE = jv.Config(
    hidden=4, steps=3, batch_size=8, models=("lstm", "gru"), seeds=(100, 101), log_every=1
)


def test_standard_split_padded_and_standardised():
    data = jv.load_data()
    assert data["x_train"].shape == (270, 29, 12) and data["x_test"].shape == (370, 29, 12)
    assert data["x_train"].dtype == np.float32
    np.testing.assert_array_equal(np.bincount(data["y_train"]), [30] * 9)
    assert np.bincount(data["y_test"]).tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    lengths = np.concatenate([data["lengths_train"], data["lengths_test"]])
    assert lengths.min() == 7 and lengths.max() == 29
    for part in ("train", "test"):
        x, n = data[f"x_{part}"], data[f"lengths_{part}"]
        mask = jv.valid_mask(n, x.shape[1])
        assert np.all(x[~mask] == 0)  # right padding with zeros
        assert np.all(np.any(x[mask] != 0, axis=-1))  # valid frames are data
    frames = data["x_train"][jv.valid_mask(data["lengths_train"], 29)]
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-5)  # the training frames' statistics
    np.testing.assert_allclose(frames.std(0), 1, atol=1e-4)


def test_pad_and_noisy_padding_keep_the_valid_steps():
    sequences = [np.ones((2, 3)), 2 * np.ones((4, 3))]
    x, lengths = jv.pad(sequences)
    assert x.shape == (2, 4, 3) and lengths.tolist() == [2, 4]
    assert np.all(x[0, 2:] == 0) and np.all(x[1] == 2)
    noisy = jv.noisy_padding(x, lengths, extra=3, scale=5.0)
    assert noisy.shape == (2, 7, 3)
    np.testing.assert_array_equal(noisy[0, :2], x[0, :2])
    np.testing.assert_array_equal(noisy[1, :4], x[1])
    assert np.all(noisy[0, 2:] != 0) and np.all(noisy[1, 4:] != 0)


def test_summary_features_use_the_valid_steps_only():
    x = np.zeros((2, 4, 1))
    x[0, :2, 0] = [1.0, 3.0]
    x[0, 2:, 0] = 100.0  # padding that must not count
    x[1, :, 0] = [2.0, 2.0, 2.0, 6.0]
    features = jv.summary_features(x, np.array([2, 4]))
    np.testing.assert_allclose(features[0], [2.0, 1.0, 3.0])  # mean, std, last valid
    np.testing.assert_allclose(features[1], [3.0, math.sqrt(3.0), 6.0])


def test_baselines_on_the_standard_split():
    data = jv.load_data()
    assert jv.majority_accuracy(data["y_train"], data["y_test"]) == pytest.approx(31 / 370)
    assert jv.logistic_regression_accuracy(data) > 0.95  # a strong baseline


@pytest.mark.parametrize("name", list(jv.LABELS))
def test_seq_lengths_make_the_classifier_blind_to_the_padding(name):
    # Untrained model, fixed keys: noise in the padding changes no logit with lengths,
    # and changes them when every step is read.
    from jaxrnn import models

    model = models.SequenceClassifier(jv.make_cell(name, 8), jv.NUM_CLASSES)
    rng = np.random.default_rng(0)
    lengths = np.array([3, 7, 10, 1])
    x = rng.standard_normal((4, 10, jv.NUM_CHANNELS)).astype(np.float32)
    x[~jv.valid_mask(lengths, 10)] = 0
    noisy = jv.noisy_padding(x, lengths, extra=5, scale=3.0)
    params = model.init(jax.random.key(0), jnp.asarray(x), lengths)
    clean = model.apply(params, jnp.asarray(x), lengths)
    np.testing.assert_array_equal(model.apply(params, jnp.asarray(noisy), lengths), clean)
    blind = model.apply(params, jnp.asarray(noisy))
    assert np.abs(np.asarray(blind) - np.asarray(clean)).max() > 1e-2


def _measured(accuracy, change=0.0, blind=10.0, models=("lstm", "gru", "tanh")):
    seeds = len(accuracy)
    return {
        m: {
            "test_accuracy": np.asarray(accuracy, np.float64),
            "logit_change": np.full(seeds, change),
            "logit_change_ignoring_lengths": np.full(seeds, blind),
        }
        for m in models
    }


FLAT = {"logistic": 0.984, "majority": 31 / 370}


@pytest.mark.parametrize("config", [jv.QUICK, jv.FULL], ids=["quick", "full"])
def test_claims_pass_with_the_effect_and_fail_without_it(config):
    good = jv._claims(config, _measured([0.96, 0.97, 0.975]), FLAT)
    assert len(good) == 7 and all(c.passed for c in good)
    assert {c.baseline for c in good[:4]} == set(jv.BASELINES.values())
    # The models replaced by the majority predictor: accuracy claims fail.
    majority = jv._claims(config, _measured([FLAT["majority"]] * 3), FLAT)
    assert not any(c.passed for c in majority if "padding" not in c.name)
    # A model well below logistic regression (but far above majority) fails the gap claim.
    weak = jv._claims(config, _measured([0.96, 0.97, FLAT["logistic"] - 0.06]), FLAT)
    assert [c.passed for c in weak[:4]] == [True, False, True, False]
    # Lengths ignored: the logits move as much as without them; the padding claims fail.
    ignored = jv._claims(config, _measured([0.97] * 3, change=10.0, blind=10.0), FLAT)
    padding = [c for c in ignored if "padding" in c.name]
    assert len(padding) == 3 and not any(c.passed for c in padding)
    assert all(c.passed for c in ignored if "padding" not in c.name)


def test_config_validation_names_the_field_and_defaults_are_held_out():
    with pytest.raises(ValueError, match="`hidden` >= 1"):
        jv.Config(hidden=0)
    with pytest.raises(ValueError, match="`extra_padding` >= 0"):
        jv.Config(extra_padding=-1)
    with pytest.raises(ValueError, match="`max_gap_to_logistic` > 0"):
        jv.Config(max_gap_to_logistic=0.0)
    with pytest.raises(ValueError, match="unknown `models`"):
        jv.Config(models=("lstm", "irnn"))
    with pytest.raises(ValueError, match="`seeds`"):
        jv.Config(seeds=(1, 1))
    with pytest.raises(TypeError, match="`learning_rate`"):
        jv.Config(learning_rate="fast")
    with pytest.raises(ValueError, match="--steps: expected int"):
        _harness.parse_overrides(jv.QUICK, ["--steps=many"])
    for config in (jv.QUICK, jv.FULL):
        assert _harness.held_out(config.seeds, jv.CALIBRATION_SEEDS)


def test_missing_sktime_raises_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(ImportError, match="pip install sktime"):
        jv._load_split("train")


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = jv.run(SMOKE)
    assert result.name == "japanese_vowels" and result.seeds == SMOKE.seeds and result.held_out
    assert len(result.claims) == 6  # two gated models: 2 accuracy claims + 1 padding each
    assert all(math.isfinite(c.measured) and c.baseline for c in result.claims)
    for record in result.metrics["models"].values():
        for key in ("test_accuracy", "train_accuracy", "accuracy_ignoring_lengths"):
            assert record[key].shape == (2,) and np.all((0 <= record[key]) & (record[key] <= 1))
        assert np.all(record["logit_change"] == 0)  # exact, even untrained
        assert np.all(record["logit_change_ignoring_lengths"] > 0)
        assert record["loss"].shape == (SMOKE.steps, 2) and np.all(np.isfinite(record["loss"]))
    run_dir = _harness.save(result, tmp_path)
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert saved["calibration_seeds"] == list(jv.CALIBRATION_SEEDS) and saved["held_out"]
    assert (run_dir / "accuracy.png").stat().st_size > 0
