"""Tests of the seq2seq_attention experiment: the reversal data and a smoke run."""

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments import _harness, seq2seq_attention

S2S = seq2seq_attention
SMOKE = S2S.Config(
    hidden=8,
    embed_size=4,
    min_length=2,
    max_length=5,
    steps=3,
    batch_size=8,
    eval_per_length=4,
    attentions=("none", "bahdanau"),  # Luong: its own test in test_models
    seeds=(0, 1),
    log_every=1,
)


def test_uniform_band_mass_known_values():
    # L <= 2: every valid position is within one of the anti-diagonal. L = 3: steps
    # t = 0, 1, 2 see 2/3, 3/3, 2/3 of the mass on the band, mean 7/9 = (3L - 2) / L^2.
    lengths = np.array([1, 2, 3, 12])
    np.testing.assert_allclose(
        S2S.uniform_band_mass(lengths, 12), [1.0, 1.0, 7 / 9, 34 / 144], rtol=1e-12
    )


def test_unigram_predictor_on_a_constant_test_set():
    config = dataclasses.replace(SMOKE, min_length=2, max_length=3)
    rng = np.random.default_rng(0)
    test = S2S.reversal_batch(rng, np.array([2, 2, 3, 3]), 3)
    baseline = S2S.unigram_predictor(config, test)
    symbol = baseline["symbol"]
    assert S2S.FIRST_DIGIT <= symbol < S2S.VOCAB_SIZE
    # Strings made only of that symbol are matched exactly; others get their count right.
    test["target"] = np.where(test["target"] != S2S.PAD, symbol, S2S.PAD).astype(np.int32)
    test["target"][1, 0] = symbol + 1 if symbol + 1 < S2S.VOCAB_SIZE else symbol - 1
    baseline = S2S.unigram_predictor(config, test)
    np.testing.assert_allclose(baseline["exact"], [0.5, 1.0])
    np.testing.assert_allclose(baseline["token_accuracy"], [0.75, 1.0])


def _fake(exact_last, band=0.9, lengths=4):
    exact = np.full((2, lengths), 1.0)
    exact[:, -1] = exact_last
    return {"exact": exact, "anti_diagonal": np.full((2, lengths), band)}


def test_claims_fail_when_attention_is_no_better_than_the_baselines():
    config = dataclasses.replace(SMOKE, attentions=("none", "bahdanau", "luong"))
    baselines = {
        "unigram": {"exact": np.zeros(4), "token_accuracy": np.full(4, 0.1)},
        "uniform_band_mass": np.full(4, 0.3),
    }
    good = {"none": _fake(0.05), "bahdanau": _fake(0.9), "luong": _fake(0.9)}
    claims, skipped = S2S._claims(config, good, baselines)
    assert len(claims) == 7 and not skipped and all(c.passed for c in claims)
    assert all(c.baseline and math.isfinite(c.baseline_value) for c in claims)
    # Attention that does what no attention does, with uniform weights, fails every
    # attention claim; a no-attention model that does not degrade fails its own.
    same = {"none": _fake(0.9), "bahdanau": _fake(0.9, band=0.3), "luong": _fake(0.9, band=0.3)}
    claims, _ = S2S._claims(config, same, baselines)
    failed = [c.name for c in claims if not c.passed]
    assert len(failed) == 5 and all("memoryless" not in name for name in failed)
    # The memoryless predictor's own figures fail every claim.
    memoryless = {"none": _fake(0.0), "bahdanau": _fake(0.0, 0.3), "luong": _fake(0.0, 0.3)}
    memoryless["none"]["exact"][:] = 0.0
    claims, _ = S2S._claims(config, memoryless, baselines)
    assert not any(c.passed for c in claims)


def test_reversal_batch_targets_padding_and_lengths():
    lengths = np.array([1, 3, 5, 4])
    batch = S2S.reversal_batch(np.random.default_rng(0), lengths, 5)
    np.testing.assert_array_equal(batch["lengths"], lengths)
    for name in ("source", "target", "decoder_inputs"):
        assert batch[name].shape == (4, 5) and batch[name].dtype == np.int32
    for row, n in enumerate(lengths):
        source, target = batch["source"][row], batch["target"][row]
        assert np.all((source[:n] >= S2S.FIRST_DIGIT) & (source[:n] < S2S.VOCAB_SIZE))
        np.testing.assert_array_equal(target[:n], source[:n][::-1])
        assert np.all(source[n:] == S2S.PAD) and np.all(target[n:] == S2S.PAD)
    np.testing.assert_array_equal(batch["decoder_inputs"][:, 0], S2S.START)
    np.testing.assert_array_equal(batch["decoder_inputs"][:, 1:], batch["target"][:, :-1])


def test_training_batches_and_test_set_are_fixed_by_seed():
    batches = S2S.train_batches(SMOKE, 0)
    first, again = batches(3), batches(3)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert first["source"].shape == (SMOKE.batch_size, SMOKE.max_length)
    assert np.all((first["lengths"] >= SMOKE.min_length) & (first["lengths"] <= SMOKE.max_length))
    test = S2S.make_test_set(SMOKE)
    np.testing.assert_array_equal(np.bincount(test["lengths"])[2:], [SMOKE.eval_per_length] * 4)
    np.testing.assert_array_equal(test["source"], S2S.make_test_set(SMOKE)["source"])


def test_config_rejects_wrong_types_and_names():
    with pytest.raises(ValueError, match="--max_length: expected int, got 'long'"):
        _harness.parse_overrides(S2S.QUICK, ["--max-length=long"])
    with pytest.raises(TypeError, match="`seeds`"):
        S2S.Config(seeds=(0, 1.5))
    with pytest.raises(ValueError, match=r"unknown `attentions` \['dot'\]"):
        S2S.Config(attentions=("dot",))
    with pytest.raises(ValueError, match="`min_length`"):
        S2S.Config(min_length=5, max_length=4)


def test_smoke_run_writes_results_and_figures(tmp_path):
    result = S2S.run(SMOKE)
    names = [claim.name for claim in result.claims]
    assert sum(name.startswith("Bahdanau: exact match") for name in names) == 2
    assert any(name.startswith("Bahdanau: anti-diagonal") for name in names)
    assert any(name.startswith("no attention") for name in names)
    assert all(math.isfinite(claim.measured) for claim in result.claims)
    assert all(claim.baseline for claim in result.claims)
    assert result.calibration_seeds == S2S.CALIBRATION_SEEDS and not result.held_out
    assert S2S.QUICK.seeds and _harness.held_out(S2S.QUICK.seeds, S2S.CALIBRATION_SEEDS)
    assert _harness.held_out(S2S.FULL.seeds, S2S.CALIBRATION_SEEDS)
    assert result.metrics["baselines"]["uniform_band_mass"].shape == (4,)
    num_lengths = SMOKE.max_length - SMOKE.min_length + 1
    for attention in SMOKE.attentions:
        m = result.metrics["results"][attention]
        assert m["exact"].shape == (2, num_lengths)
        assert np.all((m["exact"] >= 0) & (m["exact"] <= 1))
        assert m["exact"].dtype.kind == "f"
    heat = result.metrics["results"]["bahdanau"]["attention_example"]
    assert heat.shape == (SMOKE.max_length, SMOKE.max_length)
    np.testing.assert_allclose(heat.sum(-1), 1.0, rtol=1e-5)  # softmax rows
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert all("measured" in claim for claim in record["claims"])
    for stem in ("exact_match", "attention"):
        assert (run_dir / f"{stem}.png").stat().st_size > 0
