"""Tests of the overfitting experiment: dropout on/off, claims, config errors, a tiny run."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, overfitting

TINY = overfitting.Config(
    train_chars=800,
    eval_chars=300,
    hidden_size=8,
    embed_size=4,
    seq_len=16,
    batch_size=4,
    num_steps=4,
    eval_every=2,
    seeds=(0, 1),
)


@pytest.mark.parametrize("arm", ["dropout", "recurrent_dropout"])
def test_dropout_active_in_training_only(arm):
    model = overfitting.make_model(TINY, arm, vocab_size=11)
    tokens = jax.random.randint(jax.random.key(0), (3, 17), 0, 11)
    params = model.init(jax.random.key(1), tokens[:, :-1])
    # Evaluation (no rng: deterministic) is identical whatever the rng of the caller.
    a = model.apply(params, tokens[:, :-1], rngs={"dropout": jax.random.key(2)})
    b = model.apply(params, tokens[:, :-1], rngs={"dropout": jax.random.key(3)})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        overfitting.nll(model, params, tokens),
        -jnp.take_along_axis(a, tokens[:, 1:, None], -1).mean(),
    )
    # Training draws masks: two rngs give two losses, both unlike the evaluation's.
    one = overfitting.nll(model, params, tokens, jax.random.key(2))
    two = overfitting.nll(model, params, tokens, jax.random.key(3))
    assert float(one) != float(two)
    assert float(one) != float(overfitting.nll(model, params, tokens))


def test_plain_and_weight_norm_have_no_dropout():
    for arm in ("plain", "weight_norm"):
        model = overfitting.make_model(TINY, arm, vocab_size=11)
        tokens = jax.random.randint(jax.random.key(0), (3, 17), 0, 11)
        params = model.init(jax.random.key(1), tokens[:, :-1])
        np.testing.assert_allclose(
            overfitting.nll(model, params, tokens, jax.random.key(2)),
            overfitting.nll(model, params, tokens),
            rtol=1e-6,
        )
    wn = overfitting.make_model(TINY, "weight_norm", 11).init(
        jax.random.key(1), jnp.zeros((1, 4), jnp.int32)
    )
    assert "kernel_scale" in str(jax.tree_util.tree_structure(wn))


def _arm(final_val, best_val, final_train):
    final_val, best_val = np.asarray(final_val), np.asarray(best_val)
    return {
        "final_val": final_val,
        "best_val": best_val,
        "final_gap": final_val - np.asarray(final_train),
    }


def _measured():
    return {
        "plain": _arm([4.4, 4.1, 4.2], [3.85, 3.87, 3.83], [1.2, 1.2, 1.25]),
        "dropout": _arm([3.86, 3.89, 3.91], [3.77, 3.79, 3.73], [1.45, 1.45, 1.4]),
        "recurrent_dropout": _arm([3.85, 3.84, 3.83], [3.77, 3.75, 3.69], [1.5, 1.46, 1.41]),
        "weight_norm": _arm([4.38, 4.15, 4.18], [3.8, 3.86, 3.86], [1.25, 1.2, 1.27]),
    }


CONFIG = dataclasses.replace(
    overfitting.QUICK, min_overfit=0.1, min_dropout_gain=0.05, max_gap_ratio=0.9, weight_norm_band=0
)


def test_claims_pass_with_the_effect():
    checked, skipped = overfitting.claims(CONFIG, _measured())
    assert skipped == ["weight norm (reported, not claimed)"]
    assert [c.passed for c in checked] == [True] * len(checked), [
        (c.name, c.measured, c.expected) for c in checked
    ]
    overfit, gain = checked[0], checked[1]
    assert overfit.measured == pytest.approx(0.23)  # the worst seed: 4.1 - 3.87
    assert gain.measured == pytest.approx(3.89 - 4.1)  # the worst paired seed


def test_claims_fail_when_dropout_is_replaced_by_plain():
    measured = _measured()
    measured["dropout"] = measured["plain"]
    measured["recurrent_dropout"] = measured["plain"]
    checked, _ = overfitting.claims(CONFIG, measured)
    assert checked[0].passed  # the plain LSTM still overfits
    assert not any(c.passed for c in checked[1:5])


def test_claims_fail_when_plain_does_not_overfit():
    measured = _measured()
    measured["plain"]["final_val"] = measured["plain"]["best_val"]
    checked, _ = overfitting.claims(CONFIG, measured)
    assert not checked[0].passed


def test_weight_norm_band_claim():
    band = dataclasses.replace(CONFIG, weight_norm_band=0.1)
    checked, _ = overfitting.claims(band, _measured())
    assert len(checked) == 6
    assert checked[-1].passed and checked[-1].measured == pytest.approx(-0.05)  # 3.8 - 3.85
    measured = _measured()
    measured["weight_norm"] = _arm([3.7, 3.7, 3.7], [3.7, 3.72, 3.68], [1.5, 1.5, 1.5])
    checked, _ = overfitting.claims(band, measured)
    assert not checked[-1].passed  # a weight norm that regularises: 0.15 bits below plain


def test_default_seeds_are_held_out():
    for config in (overfitting.QUICK, overfitting.FULL):
        assert _harness.held_out(config.seeds, overfitting.CALIBRATION_SEEDS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hidden_size", 0),
        ("train_chars", 0),
        ("dropout", 1.0),
        ("recurrent_dropout", 0.0),
        ("learning_rate", 0.0),
        ("val_fraction", 0.6),
        ("min_overfit", -1.0),
        ("arms", ("dropout",)),
        ("arms", ("plain", "batch_norm")),
        ("seeds", ()),
        ("ngram_orders", ()),
    ],
)
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"`{field}`"):
        overfitting.Config(**{field: value})


def test_tiny_run_and_save(tmp_path):
    result = overfitting.run(TINY)
    assert result.name == "overfitting" and not result.held_out
    runs = result.metrics["runs"]
    assert set(runs) == set(overfitting.ARMS)
    for run in runs.values():
        assert run["val_curve"].shape == (2, 2)  # evaluations at steps 2 and 4, 2 seeds
        np.testing.assert_array_equal(run["steps"], [2, 4])
        assert np.all(np.isfinite(run["early_test"]))
        np.testing.assert_allclose(run["final_gap"], run["final_val"] - run["final_train"])
    assert len(result.claims) == 6 and "Witten-Bell" in result.summary
    out = _harness.save(result, tmp_path)
    assert (out / "curves.png").stat().st_size > 0
    saved = json.loads((out / "results.json").read_text())
    assert "runs" in saved["metrics"] and len(saved["claims"]) == 6
