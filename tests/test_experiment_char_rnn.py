"""Tests of the char_rnn experiment: corpus, vocabulary, baselines, claims, a seconds-long run."""

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments import _harness, char_rnn

SMOKE = char_rnn.Config(
    max_chars=6000,
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
    train, val, test = char_rnn.split_text("abcdefghij", 0.3, 0.2)
    assert (train, val, test) == ("abcde", "fgh", "ij")


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


PERIODIC = np.tile(np.array([1, 1, 2], np.int32), 1000)  # "aab" repeated: period 3


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_ngram_distributions_sum_to_one_and_unseen_contexts_back_off(order):
    vocab = char_rnn.build_vocab("the cat sat on the mat")
    train = char_rnn.encode("the cat sat on the mat", vocab)
    model = char_rnn.NGramModel.fit(train, order, len(vocab))
    histories = [[], train[:1], train[:7], char_rnn.encode("zzzz", vocab), train[-4:]]
    for history in histories:
        dist = model.distribution(np.asarray(history, np.int32))
        assert dist.shape == (len(vocab),) and np.all(dist > 0)  # the unknown symbol too
        assert dist.sum() == pytest.approx(1.0, abs=1e-12)
    if order > 1:  # a context never seen ("zz..." is all unknown) backs off to order 1
        unigram = char_rnn.NGramModel.fit(train, 1, len(vocab))
        np.testing.assert_allclose(
            model.distribution(char_rnn.encode("zzzz", vocab)), unigram.distribution([])
        )


def test_ngram_on_a_periodic_string_known_answers():
    windows = char_rnn.eval_windows(PERIODIC, 30)
    # n = 4 > period: every character is determined by the previous two (three at most).
    four = char_rnn.NGramModel.fit(PERIODIC, 4, 3)
    assert four.window_bits(windows) < 0.05
    # The bigram knows that b is followed by a, but after a it sees a and b half each:
    # 1 bit on 2/3 of the characters (a small smoothing cost aside).
    bigram = char_rnn.NGramModel.fit(PERIODIC, 2, 3)
    assert bigram.window_bits(windows) == pytest.approx(2 / 3, abs=0.02)
    # By hand, one level: after "b" (count 999, one type) "a" gets (999 + q1(a)) / 1000.
    unigram = char_rnn.NGramModel.fit(PERIODIC, 1, 3)
    expected = (999 + unigram.distribution([])[1]) / 1000
    assert bigram.distribution([2])[1] == pytest.approx(expected)


def test_unigram_on_a_uniform_string_is_log2_vocab():
    vocab_size = 7
    ids = np.tile(np.arange(vocab_size, dtype=np.int32), 50)
    windows = char_rnn.eval_windows(ids, 10)
    unigram = char_rnn.NGramModel.fit(ids, 1, vocab_size)
    assert unigram.window_bits(windows) == pytest.approx(math.log2(vocab_size))
    assert char_rnn.unigram_bits(ids, ids, vocab_size) == pytest.approx(math.log2(vocab_size))


def test_ngram_window_bits_match_the_probabilities_within_each_window():
    rng = np.random.default_rng(0)
    train, windows = rng.integers(0, 4, 500), rng.integers(0, 4, (3, 6))
    model = char_rnn.NGramModel.fit(train, 3, 4)
    # Target t of a window sees at most its window's t previous characters.
    expected = [
        -math.log2(model.distribution(row[max(0, t - 2) : t])[row[t]])
        for row in windows
        for t in range(1, 6)
    ]
    assert model.window_bits(windows) == pytest.approx(np.mean(expected))
    with pytest.raises(ValueError, match="expected `order` >= 1"):
        char_rnn.NGramModel.fit(train, 0, 4)
    with pytest.raises(ValueError, match=r"ids in \[0, 3\)"):
        char_rnn.NGramModel.fit(train, 2, 3)


def test_ngram_baselines_choose_the_order_on_validation():
    windows = char_rnn.eval_windows(PERIODIC[:301], 30)
    got = char_rnn.ngram_baselines(PERIODIC, windows, windows, 3, (1, 3))
    assert set(got["test_bits"]) == {1, 2, 3}  # the bigram is always fitted
    assert got["best_order"] == 3 and got["best_test_bits"] == got["test_bits"][3]
    assert got["bigram_test_bits"] == got["test_bits"][2]


NGRAM = {"bigram_test_bits": 3.26, "best_test_bits": 1.79, "best_order": 5}


@pytest.mark.parametrize("config", [char_rnn.QUICK, char_rnn.FULL], ids=["quick", "full"])
def test_claims_fail_for_a_unigram_or_bigram_predictor(config):
    for constant in (4.6, NGRAM["bigram_test_bits"]):  # unigram's, bigram's bits/char
        runs = {name: {"test_bits": np.full(3, constant)} for name in char_rnn.MODELS}
        claims, skipped = char_rnn._claims(config, NGRAM, runs)
        assert len(claims) == 5 and not skipped
        assert not any(claim.passed for claim in claims)
        assert claims[0].baseline == "Witten-Bell bigram" and claims[0].baseline_value == 3.26


def test_below_the_ngram_claim_fails_for_a_model_as_good_as_the_ngram():
    # max_ngram_ratio < 1 states "below the best n-gram" (a budget where the RNNs win).
    strong = dataclasses.replace(char_rnn.FULL, max_ngram_ratio=0.98)
    runs = {name: {"test_bits": np.full(3, NGRAM["best_test_bits"])} for name in char_rnn.MODELS}
    runs["tanh"] = {"test_bits": np.full(3, 2.4)}
    claims, _ = char_rnn._claims(strong, NGRAM, runs)
    below = [claim for claim in claims if "below the best n-gram" in claim.name]
    assert len(below) == 2 and not any(claim.passed for claim in below)
    better = {name: {"test_bits": np.array([1.6, 1.62, 1.65])} for name in char_rnn.GATED}
    better["tanh"] = runs["tanh"]
    assert all(claim.passed for claim in char_rnn._claims(strong, NGRAM, better)[0])


def test_default_seeds_are_held_out():
    for config in (char_rnn.QUICK, char_rnn.FULL):
        assert _harness.held_out(config.seeds, char_rnn.CALIBRATION_SEEDS)


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
    with pytest.raises(ValueError, match="`ngram_orders`"):
        char_rnn.Config(ngram_orders=(0, 3))
    with pytest.raises(TypeError, match="`temperature`"):
        char_rnn.Config(temperature="hot")
    assert _harness.parse_overrides(char_rnn.QUICK, ["--path=a.txt"]).path == "a.txt"


def test_smoke_run_writes_results_samples_and_figure(tmp_path):
    result = char_rnn.run(SMOKE)
    assert result.name == "char_rnn" and result.seeds == SMOKE.seeds
    assert result.calibration_seeds == char_rnn.CALIBRATION_SEEDS and not result.held_out
    names = [claim.name for claim in result.claims]
    assert len(names) == 3 and all(name.startswith("GRU") for name in names)
    assert "below the Witten-Bell bigram" in names[0] and "best n-gram" in names[1]
    assert "GRU beats the tanh RNN" in names[2]
    assert "LSTM below the bigram" in result.summary  # the skipped claim is named
    for claim in result.claims:
        assert math.isfinite(claim.measured) and math.isfinite(claim.baseline_value)
        assert claim.baseline and all(math.isfinite(x) for x in claim.interval)
    ngram = result.metrics["ngram"]
    assert ngram["best_order"] in SMOKE.ngram_orders
    assert result.claims[1].baseline_value == ngram["best_test_bits"]
    for name in SMOKE.models:
        got = result.metrics["runs"][name]
        assert got["test_bits"].shape == (2,) and np.all(got["test_bits"] > 0)
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
