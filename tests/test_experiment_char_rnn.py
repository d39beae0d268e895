"""Tests of the char_rnn experiment: corpus, vocabulary, baseline and a seconds-long run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments import _harness, char_rnn

SMOKE = char_rnn.Config(
    max_chars=3000,
    models=("tanh", "gru"),  # LSTM: the same code path; its claim is reported skipped
    hidden_size=8,
    embed_size=4,
    seq_len=16,
    batch_size=4,
    num_steps=3,
    seeds=(0, 1),
    eval_every=2,
    log_every=1,
    sample_length=12,
)


def test_default_corpus_ships_with_python():
    text = char_rnn.load_corpus()
    assert len(text) > 200_000  # ~465,000 characters in CPython 3.11
    assert "statement" in text
    assert char_rnn.load_corpus(max_chars=100) == text[:100]


def test_path_overrides_the_corpus_and_errors_name_the_argument(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    assert char_rnn.load_corpus(str(path)) == "héllo wörld\n"
    with pytest.raises(ValueError, match=r"`path` '.*missing.txt' is not a file"):
        char_rnn.load_corpus(str(tmp_path / "missing.txt"))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match=r"`path` '.*binary.txt' is not UTF-8"):
        char_rnn.load_corpus(str(binary))


def test_too_short_corpus_raises_naming_path(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("x" * 100)
    config = dataclasses.replace(SMOKE, path=str(path), max_chars=0)
    with pytest.raises(ValueError, match=r"`path` '.*short.txt', 100 characters\) is too short"):
        char_rnn.prepare_data(config)


def test_split_is_chronological():
    train, val = char_rnn.split_text("abcdefghij", 0.3)
    assert (train, val) == ("abcdefg", "hij")


def test_vocabulary_from_train_and_unknown_characters():
    vocab = char_rnn.build_vocab("banana")
    assert vocab == (char_rnn.UNKNOWN, "a", "b", "n")
    ids = char_rnn.encode("bandana!", vocab)
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [2, 1, 3, 0, 1, 3, 1, 0])  # d and ! are unknown
    assert char_rnn.decode(ids, vocab) == "ban\ufffdana\ufffd"


def test_unigram_cross_entropy_by_hand():
    vocab = char_rnn.build_vocab("aab")  # ids: unknown 0, a 1, b 2
    train, val = char_rnn.encode("aab", vocab), char_rnn.encode("ab", vocab)
    # q(a) = 2/3, q(b) = 1/3: H = -(log2 2/3 + log2 1/3) / 2.
    expected = -(math.log2(2 / 3) + math.log2(1 / 3)) / 2
    assert char_rnn.unigram_bits(train, val, len(vocab), alpha=0.0) == pytest.approx(expected)
    # Add-one: q = (n_c + 1) / (3 + 3): q(a) = 1/2, q(b) = 1/3, q(unknown) = 1/6.
    unseen = char_rnn.encode("abz", vocab)
    expected_smoothed = -(math.log2(1 / 2) + math.log2(1 / 3) + math.log2(1 / 6)) / 3
    got = char_rnn.unigram_bits(train, unseen, len(vocab), alpha=1.0)
    assert got == pytest.approx(expected_smoothed)
    assert char_rnn.unigram_bits(train, unseen, len(vocab), alpha=0.0) == math.inf
    # The entropy of the frequencies themselves.
    assert char_rnn.entropy_bits(train, len(vocab)) == pytest.approx(
        -(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3)
    )
    assert char_rnn.entropy_bits(np.zeros(5, np.int32), 3) == 0.0


def test_nats_to_bits():
    assert char_rnn.nats_to_bits(math.log(2.0)) == pytest.approx(1.0)
    assert char_rnn.nats_to_bits(math.log(256.0)) == pytest.approx(8.0)
    np.testing.assert_allclose(char_rnn.nats_to_bits(np.array([0.0, math.log(4.0)])), [0, 2])


def test_eval_windows_predict_every_character_once():
    ids = np.arange(23)
    windows = char_rnn.eval_windows(ids, 5)
    assert windows.shape == (4, 6)
    np.testing.assert_array_equal(windows[:, 1:].ravel(), ids[1:21])  # the tail of 2 dropped
    np.testing.assert_array_equal(windows[1:, 0], windows[:-1, -1])  # overlap by one
    with pytest.raises(ValueError, match="`seq_len` \\+ 1 = 6"):
        char_rnn.eval_windows(ids[:5], 5)


def test_training_windows_are_slices_and_a_pure_function_of_the_step():
    train_ids = np.arange(50, dtype=np.int32)
    keys = jax.random.split(jax.random.key(0), 3)
    first = np.asarray(char_rnn.sample_windows(train_ids, keys, 3, batch_size=4, seq_len=7))
    again = np.asarray(char_rnn.sample_windows(train_ids, keys, 3, batch_size=4, seq_len=7))
    other = np.asarray(char_rnn.sample_windows(train_ids, keys, 4, batch_size=4, seq_len=7))
    assert first.shape == (3, 4, 8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.all(np.diff(first, axis=-1) == 1)  # contiguous slices of the training ids
    assert first.min() >= 0 and first.max() <= 49


def test_config_rejects_wrong_types_and_names():
    with pytest.raises(ValueError, match="--seq_len: expected int, got 'long'"):
        _harness.parse_overrides(char_rnn.QUICK, ["--seq-len=long"])
    with pytest.raises(ValueError, match=r"unknown `models` \['rnn'\]"):
        char_rnn.Config(models=("lstm", "rnn"))
    with pytest.raises(ValueError, match="`val_fraction`"):
        char_rnn.Config(val_fraction=1.0)
    with pytest.raises(TypeError, match="`temperature`"):
        char_rnn.Config(temperature="hot")
    assert _harness.parse_overrides(char_rnn.QUICK, ["--path=a.txt"]).path == "a.txt"


def test_smoke_run_writes_results_samples_and_figure(tmp_path):
    result = char_rnn.run(SMOKE)
    assert result.name == "char_rnn" and result.seeds == SMOKE.seeds
    names = [claim.name for claim in result.claims]
    assert len(names) == 2 and all(name.startswith("GRU") for name in names)
    assert "GRU beats the tanh RNN" in names[1]
    assert "LSTM below the unigram" in result.summary  # the skipped claim is named
    assert all(math.isfinite(claim.measured) for claim in result.claims)
    for name in SMOKE.models:
        got = result.metrics["runs"][name]
        assert got["val_bits"].shape == (2,) and np.all(got["val_bits"] > 0)
        assert got["val_curve"].shape == (2, 2)  # evaluated at steps 2 and 3
        sample = result.metrics["samples"][name]
        assert sample.startswith(SMOKE.sample_prompt)
        assert len(sample) == len(SMOKE.sample_prompt) + SMOKE.sample_length
        assert sample[len(SMOKE.sample_prompt) :].replace("\n", "↵") in result.table
    unigram = result.metrics["unigram_bits"]
    assert 3.0 < unigram < 7.0  # near log2 of the vocabulary's effective size
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert set(record["metrics"]["samples"]) == set(SMOKE.models)
    assert (run_dir / "bits_per_char.png").stat().st_size > 0
