r"""Character-level language models: tanh RNN, LSTM and GRU against n-gram baselines.

A character-level model (Graves 2013; ``jaxrnn.models.CharLanguageModel``: an
embedding, one recurrent layer and a log-softmax over the characters at every step) learns
:math:`\log p(c_{t+1} \mid c_{\le t})` on a text that ships with Python itself: the
pydoc topics (``pydoc_data.topics``, the text of the Python Language Reference that
``help("if")`` prints; ~465,000 characters of English prose, grammar rules and code
examples in CPython 3.11), concatenated in the order of their sorted names. ``path``
replaces it with any UTF-8 text file.

The text is split chronologically: training, then ``val_fraction`` for validation, then
the last ``test_fraction`` for the test. The vocabulary is the set of training
characters plus one unknown symbol (``U+FFFD``) for held-out characters never seen in
training. Training windows of ``seq_len + 1`` characters are drawn uniformly from the
training part at every step (a pure function of the seed and the step); every seed
trains at once (``jax.vmap``) through ``experiments._trainer.train_seeds``, Adam after
global-norm clipping, on the mean negative log-likelihood in nats.

Bits per character (the NLL over :math:`\ln 2`) are measured on the validation and the
test parts, each cut into consecutive windows of ``seq_len + 1`` characters (each
window predicts its last ``seq_len`` characters from a zero state, so every character
but the first of the part is predicted once). The claims use the test part; the
validation part gives the curves and chooses the n-gram order. Baselines, fitted on the
training part in the same run and scored on the same predicted characters, each from
the characters before it in its window only (the RNN's information):

* the unigram (add-one smoothed over the vocabulary);
* interpolated Witten-Bell n-grams (``NGramModel``; Witten & Bell 1991, in Chen &
  Goodman 1999's interpolated form): the bigram, and ``n`` in ``ngram_orders`` with the
  best ``n`` chosen on validation. On the pydoc topics the 5-gram is best and beats
  every RNN of QUICK and FULL (see ``Config``).

References:
  Witten & Bell, "The zero-frequency problem: estimating the probabilities of novel
  events in adaptive text compression", IEEE Trans. Information Theory 1991. Chen &
  Goodman, "An empirical study of smoothing techniques for language modeling",
  Computer Speech & Language 1999. Elman, "Finding structure in time", Cognitive
  Science 1990. Hochreiter & Schmidhuber,
  "Long short-term memory", Neural Computation 1997. Cho et al., "Learning phrase
  representations using RNN encoder-decoder for statistical machine translation", EMNLP
  2014 (the GRU). Graves, "Generating sequences with recurrent neural networks",
  arXiv:1308.0850, 2013 (character-level LSTM language models, bits per character).
  Karpathy, Johnson & Fei-Fei, "Visualizing and understanding recurrent networks",
  arXiv:1506.02078, 2015 (char-RNN: LSTM and GRU beat the tanh RNN).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness, _trainer
from jaxrnn import models, training

NAME = "char_rnn"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 70
MODELS = ("tanh", "lstm", "gru")
LABELS = {"tanh": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
GATED = ("lstm", "gru")
UNKNOWN = "\ufffd"  # the vocabulary's symbol 0: characters not seen in training
DEFAULT_CORPUS = "pydoc_data.topics"

DATA_STREAM = 1  # folded into a seed's key for its training windows
CALIBRATION_SEEDS = (0, 1, 2, 3, 4)  # the thresholds were chosen on these (Config)

# Frozen thresholds; the calibration behind them is in Config's docstring.
GATED_MAX_BIGRAM_RATIO = 0.78  # LSTM and GRU, worst seed: test bits/char / the bigram's
GRU_MAX_TANH_RATIO = 0.97  # worst GRU seed / best tanh RNN seed, test bits/char


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Test bits per character of tanh RNN, LSTM and GRU character models and n-grams.

    Command line::

        python -m experiments char_rnn          # QUICK: 3 models, 3 held-out seeds *
        python -m experiments char_rnn --full   # FULL: 1500 steps, 4 held-out seeds
        python -m experiments char_rnn --seeds=0,1,2,3,4   # the calibration seeds
        python -m experiments char_rnn --path=book.txt --models=lstm --seeds=0

    \* about 1 min of CPU time (user time, compile included, measured under load: the
    earlier 2-seed QUICK took 50 s); the n-grams take under a second.

    Expected result (QUICK), the claims (test bits/char on the last 5% of CPython
    3.11's pydoc topics; same run: unigram 4.60, Witten-Bell bigram 3.257, 3-gram 2.394,
    4-gram 1.936, 5-gram 1.789, the 5-gram best on validation: 2.084 there):

    * LSTM and GRU below the Witten-Bell bigram: worst seed <= 0.78 x the bigram's;
    * LSTM and GRU within 1.4 x of the best n-gram's bits/char, worst seed. **The
      n-gram wins at this budget** (and at FULL's): 400 steps of 32 x 64 characters
      (about two passes over the ~420,000 training characters) do not bring a 64-unit RNN to
      a 5-gram's 1.79 bits, which counts every context of four characters. A unigram or
      bigram predictor fails this claim (2.57 x, 1.82 x);
    * the GRU beats the tanh RNN: worst GRU seed / best tanh RNN seed <= 0.97.

    Not claimed: LSTM vs tanh RNN. After 400 steps they are level (test 2.35-2.40 and
    2.34-2.39 on the calibration seeds): the LSTM starts slower (its gates), and the
    lead of gated cells at convergence (Karpathy et al. 2015) needs a longer run. FULL
    has it (LSTM 2.03 vs tanh RNN 2.17-2.22) but does not claim it either.

    Calibration (thresholds chosen on ``CALIBRATION_SEEDS``, then checked on the
    held-out defaults; figures measured under load on 2 shared cores). QUICK (64 units,
    embedding 32, 400 steps of 32 x 64, Adam 1e-2, clip 1), seeds 0..4, test bits/char:
    tanh RNN 2.361 2.341 2.392 2.361 2.373; LSTM 2.353 2.371 2.350 2.399 2.368; GRU
    2.110 2.149 2.140 2.177 2.171. Per seed / bigram: LSTM 0.722-0.737, GRU
    0.648-0.668; / best n-gram: LSTM 1.314-1.341, GRU 1.180-1.217; GRU worst / tanh
    best 0.930. FULL (1500 steps), seeds 0..2: tanh RNN 2.173 2.193 2.217; LSTM 2.028
    2.034 2.033; GRU 1.933 1.977 1.979; / bigram: LSTM <= 0.625, GRU <= 0.608; / best
    n-gram: LSTM 1.133-1.137, GRU 1.081-1.106 (the n-gram still wins); GRU / tanh 0.911.
    Frozen: bigram ratio 0.78 (0.04 above QUICK's worst gated seed, three seed
    spreads; a bigram-level model scores 1.0); ``max_ngram_ratio`` 1.4 in QUICK and 1.2
    in FULL (0.06 above the worst LSTM seed of each; five of QUICK's seed standard
    deviations); GRU / tanh 0.97 (kept from the earlier validation-split calibration:
    0.04 above QUICK's 0.93). ``max_ngram_ratio`` < 1 turns the claim into "below the
    best n-gram": for a budget where an RNN wins (not reached here: FULL's GRU is 8-11%
    above the 5-gram), calibrate it the same way.

    Held-out check (default seeds, measured once after freezing). QUICK, seeds
    100..102: LSTM 2.348 2.344 2.380, GRU 2.139 2.169 2.140, tanh RNN 2.374 2.359
    2.363; LSTM / best n-gram 1.330 worst (mean 1.318, 95% CI [1.290, 1.345]), GRU
    1.212; / bigram LSTM 0.731, GRU 0.666; GRU / tanh 0.919. FULL, seeds 100..103: LSTM
    2.035 2.042 2.029 2.086, GRU 1.961 1.975 1.964 1.939, tanh RNN 2.199 2.176 2.213
    2.195; LSTM / best n-gram 1.166 worst (mean 1.145 [1.122, 1.168]: seed 103 lies
    outside the calibration range, margin 0.034), GRU 1.104; GRU / tanh 0.908.

    Before this baseline the claim was <= 0.6 x the unigram (2.80 bits), which a 3-gram
    passes.

    Attributes:
      path: the corpus: empty for Python's pydoc topics, else a UTF-8 text file.
      max_chars: use only the first ``max_chars`` characters (0: all of them).
      val_fraction: the chronological fraction before the test part: validation (the
        curves and the choice of the n-gram order).
      test_fraction: the chronological fraction at the end: the claims' test split.
      ngram_orders: the candidate n-gram orders; the best on validation is the baseline.
      max_ngram_ratio: bound on worst gated seed / best n-gram's test bits/char (below
        1: the claim reads "below the best n-gram").
      models: any of ``tanh``, ``lstm``, ``gru``.
      hidden_size: recurrent units.
      embed_size: character embedding width.
      seq_len: characters predicted per training window (and validation window).
      batch_size: windows per step and seed.
      num_steps: training steps per model.
      learning_rate: Adam's learning rate.
      max_grad_norm: global-norm clipping threshold.
      seeds: one initialisation and data stream per seed, trained together (vmapped);
        claims take the worst (or, for the tanh RNN, the best) seed. The defaults are
        held out: disjoint from ``CALIBRATION_SEEDS``.
      eval_every: validation period in steps (the curves).
      log_every: training-loss logging period.
      sample_prompt: the text each model continues (characters outside the vocabulary
        read as the unknown symbol).
      sample_length: characters generated per sample.
      temperature: sampling temperature.
      sample_seed: the key of the samples (the same for every model).
    """

    path: str = ""
    max_chars: int = 0
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    ngram_orders: tuple[int, ...] = (3, 4, 5)
    max_ngram_ratio: float = 1.4
    models: tuple[str, ...] = MODELS
    hidden_size: int = 64
    embed_size: int = 32
    seq_len: int = 64
    batch_size: int = 32
    num_steps: int = 400
    learning_rate: float = 1e-2
    max_grad_norm: float = 1.0
    seeds: tuple[int, ...] = (100, 101, 102)
    eval_every: int = 100
    log_every: int = 10
    sample_prompt: str = "The "
    sample_length: int = 200
    temperature: float = 0.7
    sample_seed: int = 0

    def __post_init__(self):
        _harness.check_types(self)
        for field in (
            "hidden_size",
            "embed_size",
            "seq_len",
            "batch_size",
            "num_steps",
            "log_every",
            "sample_length",
        ):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("max_chars", "eval_every"):
            if getattr(self, field) < 0:
                raise ValueError(f"Config: expected `{field}` >= 0, got {getattr(self, field)}")
        for field in ("learning_rate", "max_grad_norm", "temperature"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        for field in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, field) < 0.5:
                raise ValueError(
                    f"Config: expected 0 < `{field}` < 0.5, got {getattr(self, field)}"
                )
        if not self.ngram_orders or min(self.ngram_orders) < 1:
            raise ValueError(
                f"Config: expected `ngram_orders` non-empty, each >= 1, got {self.ngram_orders}"
            )
        if not self.max_ngram_ratio > 0:
            raise ValueError(f"Config: expected `max_ngram_ratio` > 0, got {self.max_ngram_ratio}")
        if not self.sample_prompt:
            raise ValueError("Config: expected a non-empty `sample_prompt`")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown:
            raise ValueError(f"Config: unknown `models` {unknown}; known: {', '.join(MODELS)}")
        if not self.models or len(set(self.models)) != len(self.models):
            raise ValueError(f"Config: expected `models` non-empty and distinct, got {self.models}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")


QUICK = Config()
FULL = Config(num_steps=1500, seeds=(100, 101, 102, 103), max_ngram_ratio=1.2)


def make_cell(name: str, hidden: int) -> jaxrnn.RecurrentCell:
    """The cell template of model ``name``: jaxrnn's defaults for each cell.

    ``tanh``: ``SimpleRNNCell`` (orthogonal recurrent kernel); ``lstm``: ``LSTMCell``
    (forget-gate bias 1); ``gru``: ``GRUCell``.
    """
    if name == "tanh":
        return jaxrnn.SimpleRNNCell(hidden)
    if name == "lstm":
        return jaxrnn.LSTMCell(hidden)
    if name == "gru":
        # Cho et al.'s (2014) GRU, the references' formula (jaxrnn's default is PyTorch's).
        return jaxrnn.GRUCell(hidden, reset_after=False)
    raise ValueError(f"make_cell: unknown model {name!r}; known: {', '.join(MODELS)}")


# ---------------------------------------------------------------------------------------
# Corpus, vocabulary, baseline.
# ---------------------------------------------------------------------------------------


def load_corpus(path: str = "", max_chars: int = 0) -> str:
    """The text to model.

    Args:
      path: empty for Python's pydoc topics (``pydoc_data.topics.topics``, joined in the
        order of their sorted names); else a UTF-8 text file.
      max_chars: keep only the first ``max_chars`` characters (0: all).

    Returns:
      The text.

    Raises:
      ValueError: ``path`` is not a file or not UTF-8 text, or the pydoc topics are
        missing from this Python (then pass ``path``).
    """
    if not path:
        try:
            from pydoc_data.topics import topics
        except ImportError as err:
            raise ValueError(
                f"load_corpus: this Python has no {DEFAULT_CORPUS}; pass `path` to a text file"
            ) from err
        text = "".join(topics[name] for name in sorted(topics))
    else:
        file = pathlib.Path(path).expanduser()
        if not file.is_file():
            raise ValueError(f"load_corpus: `path` {path!r} is not a file")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"load_corpus: `path` {path!r} is not UTF-8 text: {err}") from err
    return text[:max_chars] if max_chars else text


def split_text(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Chronological split ``(train, val, test)`` of ``text`` (``n`` characters).

    ``test`` is the last ``round(n test_fraction)`` characters, ``val`` the
    ``round(n val_fraction)`` before them, ``train`` the rest.
    """
    first_test = len(text) - round(len(text) * test_fraction)
    first_val = first_test - round(len(text) * val_fraction)
    return text[:first_val], text[first_val:first_test], text[first_test:]


def build_vocab(text: str) -> tuple[str, ...]:
    """The vocabulary of ``text``: ``UNKNOWN`` (id 0), then its characters, sorted."""
    return (UNKNOWN, *sorted(set(text) - {UNKNOWN}))


def encode(text: str, vocab: tuple[str, ...]) -> np.ndarray:
    """Character ids ``(len(text),)`` int32; characters not in ``vocab`` get 0."""
    index = {char: i for i, char in enumerate(vocab)}
    return np.fromiter((index.get(char, 0) for char in text), dtype=np.int32, count=len(text))


def decode(ids: np.ndarray, vocab: tuple[str, ...]) -> str:
    """The text of character ids ``(n,)``."""
    return "".join(vocab[int(i)] for i in np.asarray(ids).reshape(-1))


def nats_to_bits(nats: float | np.ndarray) -> float | np.ndarray:
    r"""Converts a log-likelihood in nats to bits: :math:`x / \ln 2`."""
    return nats / math.log(2.0)


def unigram_bits(
    train_ids: np.ndarray, target_ids: np.ndarray, vocab_size: int, alpha: float = 1.0
) -> float:
    r"""Cross-entropy in bits per character of the training unigram on ``target_ids``.

    .. math::
        q(c) = \frac{n_c + \alpha}{n + \alpha V}, \qquad
        H = -\frac{1}{m} \sum_{t=1}^{m} \log_2 q(c_t),

    :math:`n_c` the count of ``c`` in ``train_ids`` (``n`` of them), ``V`` the
    vocabulary size.

    Args:
      train_ids: ``(n,)`` ids the frequencies come from.
      target_ids: ``(m,)`` ids scored.
      vocab_size: ``V``.
      alpha: additive smoothing (0: the raw frequencies; a target never seen in
        training then costs infinitely many bits).

    Returns:
      ``H`` in bits per character.
    """
    counts = np.bincount(np.asarray(train_ids).reshape(-1), minlength=vocab_size)
    with np.errstate(divide="ignore"):
        log_q = np.log2(counts + alpha) - np.log2(counts.sum() + alpha * vocab_size)
    return float(-log_q[np.asarray(target_ids).reshape(-1)].mean())


def entropy_bits(ids: np.ndarray, vocab_size: int) -> float:
    """Shannon entropy in bits of the character frequencies of ``ids`` ``(n,)``."""
    counts = np.bincount(np.asarray(ids).reshape(-1), minlength=vocab_size)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def eval_windows(ids: np.ndarray, seq_len: int) -> np.ndarray:
    """Consecutive windows ``(m, seq_len + 1)`` of ``ids``, each overlapping the next by one.

    Window ``k`` is ``ids[k L : (k + 1) L + 1]`` (``L = seq_len``): its last ``L`` ids,
    the ones predicted, tile ``ids[1 : m L + 1]``; a tail shorter than ``L`` is dropped.

    Raises:
      ValueError: fewer than ``seq_len + 1`` ids.
    """
    count = (len(ids) - 1) // seq_len
    if count < 1:
        raise ValueError(
            f"eval_windows: {len(ids)} ids hold no window of `seq_len` + 1 = {seq_len + 1}"
        )
    rows = np.arange(count)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    return np.asarray(ids)[rows]


# ---------------------------------------------------------------------------------------
# The n-gram baseline: interpolated Witten-Bell.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NGramModel:
    r"""An interpolated Witten-Bell character n-gram model (``NGramModel.fit`` builds one).

    With :math:`h` the last :math:`k` characters before :math:`c` (:math:`k \le n - 1`),
    :math:`h'` its last :math:`k - 1`, :math:`C(h c)` the training count of
    :math:`h` followed by :math:`c`, :math:`C(h) = \sum_c C(h c)` and
    :math:`N_{1+}(h\,\bullet)` the number of distinct characters seen after :math:`h`:

    .. math::
        q(c \mid h) = \frac{C(h c) + N_{1+}(h\,\bullet)\, q(c \mid h')}
                           {C(h) + N_{1+}(h\,\bullet)},
        \qquad q(c \mid \varnothing_{-1}) = \frac{1}{V},

    the recursion starting from the uniform distribution over the ``V`` symbols below
    the unigram level (:math:`k = 0`, the empty context). A context never seen in
    training (:math:`C(h) = 0`) or longer than the history available backs off:
    :math:`q(c \mid h) = q(c \mid h')`. Every level is a convex combination of a
    normalised estimate and a normalised lower level, so
    :math:`\sum_c q(c \mid h) = 1` for every :math:`h` and every :math:`q > 0`: the
    unknown symbol and characters never seen after :math:`h` keep the uniform floor's
    share. Nothing is tuned on held-out data (Witten-Bell has no free parameter); only
    the order :math:`n` is chosen, on the validation split.

    Attributes:
      order: :math:`n` (1: the unigram interpolated with the uniform distribution).
      vocab_size: ``V``.
      tables: per context length ``k = 0 .. n - 1``: ``(joint_keys, joint_counts,
        context_keys, context_totals, context_types)``, sorted int64 keys of the seen
        ``(h, c)`` pairs (``h`` read as a base-``V`` number, then ``c``) with their
        counts, and of the seen contexts ``h`` with :math:`C(h)` and
        :math:`N_{1+}(h\,\bullet)`.

    References:
      Witten & Bell, "The zero-frequency problem: estimating the probabilities of novel
      events in adaptive text compression", IEEE Trans. Information Theory 1991.
      Chen & Goodman, "An empirical study of smoothing techniques for language
      modeling", Computer Speech & Language 1999 (the interpolated form above, their
      section 2.4).
    """

    order: int
    vocab_size: int
    tables: tuple[tuple[np.ndarray, ...], ...]

    @classmethod
    def fit(cls, ids: np.ndarray, order: int, vocab_size: int) -> NGramModel:
        """Counts the n-grams of ``ids`` ``(n,)`` (ids in ``[0, vocab_size)``).

        Raises:
          ValueError: ``order`` < 1, ids out of range, or ``vocab_size ** order`` too
            large for int64 keys.
        """
        ids = np.asarray(ids, np.int64).reshape(-1)
        if order < 1:
            raise ValueError(f"NGramModel.fit: expected `order` >= 1, got {order}")
        if vocab_size**order >= 2**63:
            raise ValueError(
                f"NGramModel.fit: `vocab_size` ** `order` = {vocab_size}**{order} does not "
                "fit int64 keys; use a smaller order"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
            raise ValueError(
                f"NGramModel.fit: expected ids in [0, {vocab_size}), got [{ids.min()}, {ids.max()}]"
            )
        tables = []
        for k in range(order):
            count = max(ids.size - k, 0)
            context = np.zeros(count, np.int64)
            for j in range(k):
                context = context * vocab_size + ids[j : j + count]
            joint_keys, joint_counts = np.unique(
                context * vocab_size + ids[k : k + count], return_counts=True
            )
            context_keys, first = np.unique(joint_keys // vocab_size, return_index=True)
            totals = np.add.reduceat(joint_counts, first) if first.size else first
            types = np.diff(np.append(first, joint_keys.size))
            tables.append((joint_keys, joint_counts, context_keys, totals, types))
        return cls(order, vocab_size, tuple(tables))

    def probs(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        r""":math:`q(c \mid h)` of ``targets (m,)`` after ``contexts (m, n - 1)``.

        ``contexts[i]`` holds the ``n - 1`` characters before ``targets[i]``, the last
        one nearest; entries -1 (on the left) mark history that is not available, and
        the levels that would need it are skipped (the estimate backs off).
        """
        targets = np.asarray(targets, np.int64).reshape(-1)
        contexts = np.asarray(contexts, np.int64).reshape(targets.size, self.order - 1)
        probs = np.full(targets.shape, 1.0 / self.vocab_size)
        for k, (joint_keys, joint_counts, context_keys, totals, types) in enumerate(self.tables):
            if not context_keys.size:
                continue
            used = contexts[:, contexts.shape[1] - k :]
            available = np.all(used >= 0, axis=1)
            key = np.zeros(targets.shape, np.int64)
            for j in range(k):
                key = key * self.vocab_size + np.maximum(used[:, j], 0)
            at = np.minimum(np.searchsorted(context_keys, key), context_keys.size - 1)
            seen = available & (context_keys[at] == key)
            joint = key * self.vocab_size + targets
            at_joint = np.minimum(np.searchsorted(joint_keys, joint), joint_keys.size - 1)
            joint_count = np.where(joint_keys[at_joint] == joint, joint_counts[at_joint], 0)
            total, distinct = totals[at], types[at]
            mixed = (joint_count + distinct * probs) / np.maximum(total + distinct, 1)
            probs = np.where(seen, mixed, probs)
        return probs

    def distribution(self, history: np.ndarray) -> np.ndarray:
        r""":math:`q(\cdot \mid h)` ``(V,)`` after the ids ``history`` (any length)."""
        width = self.order - 1
        history = np.asarray(history, np.int64).reshape(-1)
        history = history[history.size - min(width, history.size) :]
        context = np.full(width, -1, np.int64)
        context[width - history.size :] = history
        contexts = np.broadcast_to(context, (self.vocab_size, self.order - 1))
        return self.probs(contexts, np.arange(self.vocab_size))

    def window_bits(self, windows: np.ndarray) -> float:
        """Bits per character on ``windows (w, L + 1)``, scored as the RNNs score them.

        Each window's last ``L`` characters are predicted from the characters before
        them in the same window only (the RNN starts every window from a zero state),
        so the first predictions back off to shorter contexts.
        """
        windows = np.asarray(windows, np.int64)
        width = self.order - 1
        padded = np.concatenate([np.full((len(windows), width), -1), windows], axis=1)
        steps = windows.shape[1] - 1
        # contexts[w, t] = padded[w, t + 1 : t + 1 + width]: the width ids before target t + 1.
        rows = np.arange(steps)[:, None] + 1 + np.arange(width)[None, :]
        contexts = padded[:, rows].reshape(len(windows) * steps, width)
        return float(-np.log2(self.probs(contexts, windows[:, 1:].reshape(-1))).mean())


def ngram_baselines(
    train_ids: np.ndarray,
    val_windows: np.ndarray,
    test_windows: np.ndarray,
    vocab_size: int,
    orders: tuple[int, ...],
) -> dict:
    """Witten-Bell n-grams of each order in ``(2, *orders)``: the bigram and the candidates.

    Args:
      train_ids: ``(n,)`` the training ids (the counts).
      val_windows: ``(w, L + 1)`` the validation windows: choose the order.
      test_windows: ``(w', L + 1)`` the test windows: the figure the claims use.
      vocab_size: ``V``.
      orders: the candidate orders, e.g. ``(3, 4, 5)``.

    Returns:
      ``val_bits`` and ``test_bits`` (order -> bits/char), ``best_order`` (the
      candidate lowest on validation), ``best_test_bits``, ``bigram_test_bits``.
    """
    val, test = {}, {}
    for order in sorted({2, *orders}):
        model = NGramModel.fit(train_ids, order, vocab_size)
        val[order], test[order] = model.window_bits(val_windows), model.window_bits(test_windows)
    best = min(orders, key=lambda order: val[order])
    return {
        "val_bits": val,
        "test_bits": test,
        "best_order": best,
        "best_test_bits": test[best],
        "bigram_test_bits": test[2],
    }


def prepare_data(config: Config) -> dict:
    """Loads, splits and encodes the corpus; fits the n-gram baselines.

    Returns:
      ``vocab`` (tuple of characters), ``train_ids (n,)``, ``val_windows (m, L + 1)``,
      ``test_windows (m', L + 1)``, ``num_chars`` ``{"train", "val", "test"}``,
      ``unknown_test`` (test characters not in the vocabulary), ``unigram_bits`` (on
      the predicted test characters; ``unigram_val_bits`` on validation),
      ``train_entropy_bits``, ``ngram`` (as
      ``ngram_baselines`` returns it).

    Raises:
      ValueError: a corpus too short for one training window and batch, one validation
        and one test window (the message names ``path``).
    """
    text = load_corpus(config.path, config.max_chars)
    train_text, val_text, test_text = split_text(text, config.val_fraction, config.test_fraction)
    need = config.seq_len + 1
    if len(train_text) < need + config.batch_size or min(len(val_text), len(test_text)) < need:
        raise ValueError(
            f"char_rnn: the corpus (`path` {config.path or DEFAULT_CORPUS!r}, {len(text)} "
            f"characters) is too short: it splits into {len(train_text)} training, "
            f"{len(val_text)} validation and {len(test_text)} test characters; needs at "
            f"least `seq_len` + 1 + `batch_size` = {need + config.batch_size} and "
            f"`seq_len` + 1 = {need} in each held-out part"
        )
    vocab = build_vocab(train_text)
    train_ids, val_ids = encode(train_text, vocab), encode(val_text, vocab)
    test_ids = encode(test_text, vocab)
    val_windows = eval_windows(val_ids, config.seq_len)
    test_windows = eval_windows(test_ids, config.seq_len)
    return {
        "vocab": vocab,
        "train_ids": train_ids,
        "val_windows": val_windows,
        "test_windows": test_windows,
        "num_chars": {"train": len(train_text), "val": len(val_text), "test": len(test_text)},
        "unknown_test": int((test_ids == 0).sum()),
        "unigram_bits": unigram_bits(train_ids, test_windows[:, 1:], len(vocab)),
        "unigram_val_bits": unigram_bits(train_ids, val_windows[:, 1:], len(vocab)),
        "train_entropy_bits": entropy_bits(train_ids, len(vocab)),
        "ngram": ngram_baselines(
            train_ids, val_windows, test_windows, len(vocab), config.ngram_orders
        ),
    }


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("batch_size", "seq_len"))
def sample_windows(
    train_ids: jax.Array, keys: jax.Array, step: jax.Array, batch_size: int, seq_len: int
) -> jax.Array:
    """Training windows for every seed: a pure function of the keys and the step.

    Args:
      train_ids: ``(n,)`` int32.
      keys: ``(s,)`` PRNG keys, one data stream per seed.
      step: the step (folded into each key).
      batch_size: ``b``.
      seq_len: ``L``.

    Returns:
      int32 ``(s, b, L + 1)``, each row a uniformly placed slice of ``train_ids``.
    """

    def one(key):
        starts = jax.random.randint(
            jax.random.fold_in(key, step), (batch_size,), 0, train_ids.shape[0] - seq_len
        )
        return train_ids[starts[:, None] + jnp.arange(seq_len + 1)[None, :]]

    return jax.vmap(one)(keys)


def _nll(model: models.CharLanguageModel, params, tokens: jax.Array) -> jax.Array:
    """Mean NLL in nats of ``tokens[:, 1:]`` given ``tokens[:, :-1]``, tokens ``(b, L + 1)``."""
    log_probs = model.apply(params, tokens[:, :-1])
    picked = jnp.take_along_axis(log_probs, tokens[:, 1:, None], axis=-1)
    return -picked.mean()


def train(config: Config, model_name: str, data: dict) -> dict:
    """Trains one model for every seed at once (vmapped) through ``_trainer.train_seeds``.

    Seed ``s`` initialises from ``seed_keys([s])`` and draws its training windows from
    ``seed_keys([s], DATA_STREAM)``.

    Returns:
      ``test_bits (s,)`` and ``val_bits (s,)`` final, ``val_curve (evals, s)`` and
      ``eval_steps (evals,)``, ``train_bits (logs, s)`` and ``logged_steps (logs,)``,
      ``sample`` (the first seed's continuation of the prompt), ``nonfinite_steps
      (s,)``, ``seconds``.
    """
    vocab = data["vocab"]
    model = models.CharLanguageModel(
        len(vocab), make_cell(model_name, config.hidden_size), embed_size=config.embed_size
    )
    example = jnp.zeros((1, config.seq_len), jnp.int32)
    train_ids = jnp.asarray(data["train_ids"])
    data_keys = _trainer.seed_keys(config.seeds, DATA_STREAM)
    val_windows, test_windows = jnp.asarray(data["val_windows"]), jnp.asarray(data["test_windows"])

    def batches(index):
        tokens = sample_windows(
            train_ids, data_keys, index, batch_size=config.batch_size, seq_len=config.seq_len
        )
        return {"tokens": tokens}

    def loss_fn(params, batch, rng):
        del rng
        nll = _nll(model, params, batch["tokens"])
        return nll, {"bits": nats_to_bits(nll)}

    @jax.jit
    def held_out_bits(params):
        bits = jax.vmap(lambda p, w: nats_to_bits(_nll(model, p, w)), in_axes=(0, None))
        return {"val_bits": bits(params, val_windows), "test_bits": bits(params, test_windows)}

    runs = _trainer.train_seeds(
        lambda key: model.init(key, example),
        loss_fn,
        training.make_optimizer(config.learning_rate, config.max_grad_norm),
        batches,
        _trainer.seed_keys(config.seeds),
        num_steps=config.num_steps,
        eval_fn=held_out_bits,
        eval_every=config.eval_every,
        log_every=config.log_every,
        progress=False,
        description=f"{NAME} {model_name}",
    )
    first = jax.tree_util.tree_map(lambda leaf: leaf[0], runs.state.params)
    prompt = jnp.asarray(encode(config.sample_prompt, vocab))[None]
    generated = jax.jit(
        lambda params, key: model.sample(
            params, key, prompt, config.sample_length, temperature=config.temperature
        )
    )(first, jax.random.key(config.sample_seed))
    return {
        "test_bits": np.asarray(runs.final["test_bits"], np.float64),
        "val_bits": np.asarray(runs.final["val_bits"], np.float64),
        "val_curve": np.asarray([row["val_bits"] for row in runs.evals], np.float64),
        "eval_steps": np.asarray([row["step"] for row in runs.evals]),
        "train_bits": runs.curves["bits"],
        "logged_steps": runs.steps,
        "sample": config.sample_prompt + decode(np.asarray(generated[0]), vocab),
        "nonfinite_steps": np.asarray(jax.device_get(runs.state.nonfinite_total)),
        "seconds": runs.seconds,
    }


# ---------------------------------------------------------------------------------------
# Claims, table, figure, summary.
# ---------------------------------------------------------------------------------------


def _claims(config: Config, ngram: dict, runs: dict) -> tuple[list[_harness.Claim], list[str]]:
    """The claims on the test split, each against a baseline from the same run.

    Args:
      config: the config (``max_ngram_ratio``, ``ngram_orders``).
      ngram: ``ngram_baselines``'s result.
      runs: model name -> at least ``{"test_bits": (s,)}``.

    Returns:
      The claims, and the names of those this config's models cannot check.
    """
    claims, skipped = [], []
    bigram, best = ngram["bigram_test_bits"], ngram["best_test_bits"]
    best_name = f"best n-gram (Witten-Bell {ngram['best_order']}-gram, chosen on validation)"
    strong = config.max_ngram_ratio < 1.0
    for name in GATED:
        if name not in runs:
            skipped.append(f"{LABELS[name]} below the bigram")
            skipped.append(f"{LABELS[name]} against the best n-gram")
            continue
        bits = runs[name]["test_bits"]
        claims.append(
            _harness.versus(
                f"{LABELS[name]} below the Witten-Bell bigram: test bits/char, worst seed",
                bits,
                "Witten-Bell bigram",
                bigram,
                high=GATED_MAX_BIGRAM_RATIO,
            )
        )
        relation = "below" if strong else f"within {config.max_ngram_ratio:g}x of"
        claims.append(
            _harness.versus(
                f"{LABELS[name]} {relation} the best n-gram's test bits/char, worst seed",
                bits,
                best_name,
                best,
                high=config.max_ngram_ratio,
            )
        )
    if "gru" in runs and "tanh" in runs:
        claims.append(
            _harness.versus(
                "GRU beats the tanh RNN: test bits/char, GRU worst seed / tanh RNN best seed",
                runs["gru"]["test_bits"],
                "tanh RNN (best seed, same run)",
                runs["tanh"]["test_bits"].min(),
                high=GRU_MAX_TANH_RATIO,
            )
        )
    else:
        skipped.append("GRU vs tanh RNN")
    return claims, skipped


def _one_line(text: str) -> str:
    return text.replace("\n", "↵")


def _table(config: Config, data: dict, runs: dict) -> str:
    ngram = data["ngram"]
    best = ngram["best_test_bits"]
    rows = [("model", "test bits/char per seed", "mean", "/ best n-gram", "val mean", "sec")]
    rows.append(("unigram (add-one)", f"{data['unigram_bits']:.3f}", "", "", "", ""))
    for order in sorted(ngram["test_bits"]):
        label = f"Witten-Bell {order}-gram" + (" (best)" if order == ngram["best_order"] else "")
        test = ngram["test_bits"][order]
        rows.append(
            (label, f"{test:.3f}", "", f"{test / best:.3f}", f"{ngram['val_bits'][order]:.3f}", "")
        )
    for name, run in runs.items():
        rows.append(
            (
                LABELS[name],
                " ".join(f"{v:.3f}" for v in run["test_bits"]),
                f"{run['test_bits'].mean():.3f}",
                f"{run['test_bits'].mean() / best:.3f}",
                f"{run['val_bits'].mean():.3f}",
                f"{run['seconds']:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    chars = data["num_chars"]
    lines = [
        f"{config.path or DEFAULT_CORPUS}: {chars['train']} train / {chars['val']} val / "
        f"{chars['test']} test characters, vocabulary {len(data['vocab'])}; "
        f"{config.hidden_size} units, {config.num_steps} steps of {config.batch_size} x "
        f"{config.seq_len}",
        *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows),
        f"samples (seed {config.seeds[0]}, temperature {config.temperature:g}, ↵ = newline):",
    ]
    lines += [f"  {LABELS[name]}: {_one_line(run['sample'])}" for name, run in runs.items()]
    return "\n".join(lines)


def _figure(config: Config, data: dict, runs: dict) -> Figure:
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    for i, (name, run) in enumerate(runs.items()):
        color = f"C{i}"
        curve = run["val_curve"]
        left.plot(run["eval_steps"], curve.mean(1), ".-", color=color, label=LABELS[name])
        left.fill_between(run["eval_steps"], curve.min(1), curve.max(1), color=color, alpha=0.2)
        window = max(1, min(5, len(run["train_bits"])))
        train_bits = _harness.moving_average(run["train_bits"], window)
        right.plot(run["logged_steps"], train_bits.mean(1), color=color, label=LABELS[name])
    ngram, best = data["ngram"], data["ngram"]["best_order"]
    for ax in (left, right):  # the baselines on the validation split, as the left curves
        ax.axhline(data["unigram_val_bits"], color="k", ls="--", label="unigram")
        ax.axhline(ngram["val_bits"][2], color="0.4", ls="-.", label="Witten-Bell bigram")
        ax.axhline(ngram["val_bits"][best], color="k", ls=":", label=f"Witten-Bell {best}-gram")
        ax.set(xlabel="step", ylabel="bits per character")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    left.set_title("validation bits/char (seed mean; band: range)")
    right.set_title("training bits/char (seed mean, moving average)")
    fig.suptitle("lines: the baselines on validation (the claims use the test split)")
    return fig


def _summary(config: Config, data: dict, runs: dict, skipped: list[str]) -> str:
    source = f"`{config.path}`" if config.path else "Python's pydoc topics (`pydoc_data.topics`)"
    ngram = data["ngram"]
    best = ngram["best_test_bits"]
    results = ", ".join(
        f"{LABELS[n]} {r['test_bits'].mean():.3f} [{r['test_bits'].min():.3f}-"
        f"{r['test_bits'].max():.3f}]"
        for n, r in runs.items()
    )
    chars = data["num_chars"]
    text = (
        f"Character-level language models (embedding {config.embed_size}, one "
        f"recurrent layer of {config.hidden_size}, log-softmax output) on {source}, "
        f"{chars['train']} training, {chars['val']} validation and {chars['test']} test "
        f"characters (chronological), vocabulary {len(data['vocab'])}; "
        f"{config.num_steps} Adam steps of {config.batch_size} windows of {config.seq_len}, "
        f"{len(config.seeds)} seeds. Test bits per character, seed mean [range]: "
        f"unigram {data['unigram_bits']:.3f}, Witten-Bell bigram "
        f"{ngram['bigram_test_bits']:.3f}, best interpolated Witten-Bell n-gram "
        f"(n = {ngram['best_order']}, chosen on validation among "
        f"{', '.join(map(str, config.ngram_orders))}) {best:.3f}, {results}."
    )
    gated = [n for n in GATED if n in runs]
    losers = [LABELS[n] for n in gated if runs[n]["test_bits"].min() >= best]
    if losers:
        one = len(losers) == 1
        text += (
            f" The n-gram wins at this budget: {' and '.join(losers)} "
            f"{'stays' if one else 'stay'} above its bits/char on every seed"
            + (
                f", so the claim is only that {'it comes' if one else 'they come'} within "
                f"{config.max_ngram_ratio:g}x of it."
                if config.max_ngram_ratio > 1
                else "."
            )
        )
    text += " Samples are in the table and in results.json."
    if skipped:
        text += f" Claims not checked (not in this config): {'; '.join(skipped)}."
    return text


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    data = prepare_data(config)
    runs = {name: train(config, name, data) for name in config.models}
    claims, skipped = _claims(config, data["ngram"], runs)
    metrics = {
        "corpus": config.path or DEFAULT_CORPUS,
        "num_chars": data["num_chars"],
        "vocab_size": len(data["vocab"]),
        "unknown_test_chars": data["unknown_test"],
        "unigram_bits": data["unigram_bits"],
        "unigram_val_bits": data["unigram_val_bits"],
        "train_entropy_bits": data["train_entropy_bits"],
        "ngram": data["ngram"],
        "runs": {
            name: {key: value for key, value in run_.items() if key != "sample"}
            for name, run_ in runs.items()
        },
        "samples": {name: run_["sample"] for name, run_ in runs.items()},
        "thresholds": {
            "gated_max_bigram_ratio": GATED_MAX_BIGRAM_RATIO,
            "max_ngram_ratio": config.max_ngram_ratio,
            "gru_max_tanh_ratio": GRU_MAX_TANH_RATIO,
        },
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=claims,
        summary=_summary(config, data, runs, skipped),
        table=_table(config, data, runs),
        figures={"bits_per_char": _figure(config, data, runs)},
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.char_rnn [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
