r"""Regularising an overfitting LSTM character model: dropout, recurrent dropout, weight norm.

A one-layer LSTM character language model with many more parameters than its training
text has characters overfits: its training bits per character keep falling while its
validation bits per character reach a minimum and turn up. Three remedies are compared
with the plain LSTM on the same data, the same training windows, the same steps and the
same initialisation keys (paired by seed):

* ``dropout``: dropout on the recurrent layer's outputs, before the softmax layer (the
  non-recurrent connections of Zaremba, Sutskever & Vinyals 2014; the ``dropout`` of
  ``jaxrnn.models.CharLanguageModel``);
* ``recurrent_dropout``: variational dropout on the state entering the recurrent matmul,
  one mask per sequence, the same at every step (Gal & Ghahramani 2016; the
  ``recurrent_dropout`` of ``jaxrnn.RNN``);
* ``weight_norm``: the LSTM's kernels as :math:`W = s \odot V / \|V\|` (Salimans &
  Kingma 2016; ``jaxrnn.LSTMCell(weight_norm=True)``). It is a reparametrisation for
  optimisation, not a regulariser: the model class is the same, so it is not expected
  to reduce overfitting, and what is checked is how close it stays to the plain LSTM.

Data (``experiments.char_rnn``): Python's pydoc topics, split chronologically by
``char_rnn.split_text``; the training text is the first ``train_chars`` characters of
char_rnn's training part, validation and test the first ``eval_chars`` characters of its
validation and test parts. Vocabulary: the small training text's characters plus the
unknown symbol. Training windows are drawn uniformly (``char_rnn.sample_windows``), Adam
after global-norm clipping (``experiments._trainer.train_seeds``, every seed vmapped).
Every ``eval_every`` steps the model is evaluated deterministically (dropout off) on the
first ``eval_chars`` characters of the training text, on the validation and on the test
text, each cut into consecutive windows (``char_rnn.eval_windows``): training and
validation bits/char (the curves, the gap validation - training), and test bits/char
at the step of lowest validation bits/char (early stopping, chosen on validation
only). The validation and test texts come from much later in the corpus (other topics)
than the small training text, so even the best validation bits/char stay near the
n-gram's (about 3.8-3.9): the small training text covers little of what they discuss.

Baseline in the same run: the interpolated Witten-Bell n-gram (``char_rnn.NGramModel``),
fitted on the same small training text, its order chosen on validation.

The model is ``CharLanguageModel``'s one-layer structure (embedding, ``jaxrnn.RNN`` of an
``LSTMCell``, dropout on the outputs, a dense log-softmax) written out here, because
``CharLanguageModel`` does not pass ``recurrent_dropout`` to its RNN.

References:
  Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 1997.
  Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: a simple way to
  prevent neural networks from overfitting", JMLR 2014. Zaremba, Sutskever & Vinyals,
  "Recurrent neural network regularization", arXiv:1409.2329, 2014. Gal & Ghahramani,
  "A theoretically grounded application of dropout in recurrent neural networks",
  NeurIPS 2016. Salimans & Kingma, "Weight normalization: a simple reparameterization to
  accelerate training of deep neural networks", NeurIPS 2016. Witten & Bell, "The
  zero-frequency problem", IEEE Trans. Information Theory 1991.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness, _trainer, char_rnn
from jaxrnn import training

NAME = "overfitting"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 73
ARMS = ("plain", "dropout", "recurrent_dropout", "weight_norm")
LABELS = {
    "plain": "plain LSTM",
    "dropout": "output dropout",
    "recurrent_dropout": "recurrent dropout",
    "weight_norm": "weight norm",
}
CALIBRATION_SEEDS = (0, 1, 2, 3, 4, 5)  # the thresholds were chosen on these (Config)


class CharLSTM(nn.Module):
    """Embedding, one LSTM layer, output dropout, dense log-softmax.

    Attributes:
      vocab_size: number of symbols.
      hidden_size: LSTM units.
      embed_size: embedding width.
      dropout: dropout rate on the LSTM's outputs (training only).
      recurrent_dropout: variational dropout rate on the recurrent state (training only).
      weight_norm: weight-normalised LSTM kernels.
    """

    vocab_size: int
    hidden_size: int
    embed_size: int = 32
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    weight_norm: bool = False

    @nn.compact
    def __call__(self, tokens: jax.Array, deterministic: bool = True) -> jax.Array:
        """``tokens (b, t) -> log_probs (b, t, vocab_size)``; ``deterministic``: no dropout."""
        x = nn.Embed(self.vocab_size, self.embed_size, name="embed")(tokens)
        cell = jaxrnn.LSTMCell(self.hidden_size, weight_norm=self.weight_norm)
        y = jaxrnn.RNN(cell, recurrent_dropout=self.recurrent_dropout, name="rnn")(
            x, deterministic=deterministic
        )
        if self.dropout > 0:
            y = nn.Dropout(self.dropout)(y, deterministic=deterministic)
        return jax.nn.log_softmax(nn.Dense(self.vocab_size, name="output")(y))


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Plain, dropout, recurrent-dropout and weight-norm LSTMs on a small training text.

    Command line::

        python -m experiments.overfitting          # QUICK: 4 arms, 3 held-out seeds *
        python -m experiments.overfitting --full   # FULL
        python -m experiments.overfitting --seeds=0,1,2,3,4,5   # the calibration seeds

    \* measured 71 s wall / 64 s user (2:05 wall, 73 s user at load 5) on 2 shared
    cores: above the 30-40 s target (compilation of 4 arms is a large part). FULL
    (256 units, 20,000 / 10,000 characters, 600 steps, 4 seeds) is not run yet:
    estimated ~10x QUICK (10-15 min); its thresholds are QUICK's, unchecked there.

    Expected result (QUICK) and the claims, paired by seed against the plain LSTM:

    * the plain LSTM overfits: final validation bits/char - its own best >= 0.2
      (worst seed; its validation minimum is at step 100, training bits/char keep
      falling to ~1.4);
    * output dropout and recurrent dropout each end >= 0.08 bits/char below the plain
      LSTM on validation (worst seed), with a final gap (validation - training)
      <= 0.92 x the plain LSTM's (worst seed). An absent effect scores 0 and 1.0;
    * weight norm is no regulariser: its best (early-stopped) validation bits/char lie
      within +-0.1 of the plain LSTM's on every seed (an equivalence band; dropout's
      best validation is 0.07-0.19 below plain's, so a regulariser fails it).
      Reported, not claimed: weight norm fits the training text more slowly (1.61 vs
      1.38 bits/char at step 200), so at the final step its gap is smaller (2.48 vs
      2.89) and its validation lower (4.09 vs 4.26): overfitting is delayed, not
      prevented.

    Not claimed: test bits/char at the validation-chosen step. Early stopping gives the
    plain LSTM as good a test figure as the dropout arms here (held-out: plain 3.79,
    dropout 3.86, recurrent 3.84, weight norm 3.85; ranges 3.55-4.14), all below the
    best Witten-Bell n-gram fitted on the same text (3-gram, chosen on validation:
    validation 3.99, test 4.68).

    Calibration (seeds 0..5, QUICK; thresholds frozen on these). Plain final - best
    validation: 0.383 0.520 0.350 0.315 0.351 0.421 (min 0.315). Final validation -
    plain's: dropout -0.333 -0.576 -0.425 -0.231 -0.399 -0.397; recurrent -0.307 -0.400
    -0.379 -0.159 -0.311 -0.315. Gap / plain's: dropout 0.818 0.699 0.760 0.835 0.727
    0.774; recurrent 0.779 0.748 0.750 0.850 0.809 0.799. Weight norm best validation -
    plain's: -0.026 +0.023 +0.045 +0.026 -0.002 -0.051. Frozen: 0.2 (0.115 below the
    worst seed), 0.08 (half the worst recurrent seed), 0.92 (0.07 above the worst
    ratio), band 0.1 (about 2x the largest weight-norm difference).

    Held-out check (seeds 100..102, run once after freezing; every claim passes): plain
    overfit 0.275 worst; final validation - plain's: dropout -0.272 worst, recurrent
    -0.266 worst; gap ratios 0.848 and 0.853 worst; weight norm best validation -
    plain's 0.096 extreme: inside the band by only 0.004, so the weight-norm null is
    the weakest claim (an earlier run with evaluations every 20 steps gave 0.090).

    Attributes:
      path: the corpus: empty for Python's pydoc topics, else a UTF-8 text file.
      train_chars: training text: the first this many characters of char_rnn's
        training part.
      eval_chars: validation and test texts: the first this many characters of char_rnn's
        validation and test parts; training bits/char are measured on the first this
        many characters of the training text.
      val_fraction: char_rnn's validation fraction of the corpus.
      test_fraction: char_rnn's test fraction of the corpus.
      ngram_orders: candidate Witten-Bell orders; the best on validation is the baseline.
      arms: any of ``plain``, ``dropout``, ``recurrent_dropout``, ``weight_norm``
        (``plain`` is needed by every claim).
      hidden_size: LSTM units.
      embed_size: embedding width.
      dropout: the ``dropout`` arm's output dropout rate.
      recurrent_dropout: the ``recurrent_dropout`` arm's rate.
      seq_len: characters predicted per window.
      batch_size: windows per step and seed.
      num_steps: training steps per arm.
      learning_rate: Adam's learning rate.
      max_grad_norm: global-norm clipping threshold.
      eval_every: evaluation period in steps (the curves; the final step is evaluated).
      min_overfit: claim bound: plain's final - best validation bits/char, worst seed.
      min_dropout_gain: claim bound: plain's - a dropout arm's final validation
        bits/char, worst seed (paired).
      max_gap_ratio: claim bound: a dropout arm's final gap (validation - training) /
        plain's, worst seed (paired).
      weight_norm_band: half-width of the weight-norm equivalence band on best
        validation bits/char - plain's, every seed (0: not claimed, only reported).
      seeds: one initialisation and data stream per seed (all arms share them). The
        defaults are held out: disjoint from ``CALIBRATION_SEEDS``.
    """

    path: str = ""
    train_chars: int = 6000
    eval_chars: int = 3000
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    ngram_orders: tuple[int, ...] = (2, 3, 4, 5)
    arms: tuple[str, ...] = ARMS
    hidden_size: int = 128
    embed_size: int = 32
    dropout: float = 0.5
    recurrent_dropout: float = 0.25
    seq_len: int = 64
    batch_size: int = 16
    num_steps: int = 200
    learning_rate: float = 1e-2
    max_grad_norm: float = 1.0
    eval_every: int = 25
    min_overfit: float = 0.2
    min_dropout_gain: float = 0.08
    max_gap_ratio: float = 0.92
    weight_norm_band: float = 0.1
    seeds: tuple[int, ...] = (100, 101, 102)

    def __post_init__(self):
        _harness.check_types(self)
        for field in (
            "train_chars",
            "eval_chars",
            "hidden_size",
            "embed_size",
            "seq_len",
            "batch_size",
            "num_steps",
            "eval_every",
        ):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("learning_rate", "max_grad_norm"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        for field in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, field) < 0.5:
                raise ValueError(
                    f"Config: expected 0 < `{field}` < 0.5, got {getattr(self, field)}"
                )
        for field in ("dropout", "recurrent_dropout"):
            if not 0 < getattr(self, field) < 1:
                raise ValueError(f"Config: expected 0 < `{field}` < 1, got {getattr(self, field)}")
        for field in ("min_overfit", "min_dropout_gain", "max_gap_ratio", "weight_norm_band"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Config: expected finite `{field}` >= 0, got {value}")
        if not self.ngram_orders or min(self.ngram_orders) < 1:
            raise ValueError(
                f"Config: expected `ngram_orders` non-empty, each >= 1, got {self.ngram_orders}"
            )
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"Config: unknown `arms` {unknown}; known: {', '.join(ARMS)}")
        if "plain" not in self.arms or len(set(self.arms)) != len(self.arms):
            raise ValueError(f"Config: expected distinct `arms` including 'plain', got {self.arms}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")


QUICK = Config()
FULL = Config(hidden_size=256, train_chars=20000, eval_chars=10000, num_steps=600,
              seeds=(100, 101, 102, 103))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------------------


def prepare_data(config: Config) -> dict:
    """The small training text, the validation and test texts, and the n-gram baseline.

    Returns:
      ``vocab``, ``train_ids (n,)``, ``train_windows``, ``val_windows``, ``test_windows``
      (each ``(m, L + 1)``), ``num_chars``, ``ngram`` (``char_rnn.ngram_baselines``).

    Raises:
      ValueError: a part is too short for one window (or the batch).
    """
    text = char_rnn.load_corpus(config.path)
    train_part, val_part, test_part = char_rnn.split_text(
        text, config.val_fraction, config.test_fraction
    )
    train_text = train_part[: config.train_chars]
    val_text, test_text = val_part[: config.eval_chars], test_part[: config.eval_chars]
    need = config.seq_len + 1
    if len(train_text) < need + config.batch_size or min(len(val_text), len(test_text)) < need:
        raise ValueError(
            f"Config: `train_chars` / `eval_chars` too small for `seq_len` {config.seq_len}: "
            f"{len(train_text)} training, {len(val_text)} validation, {len(test_text)} test "
            "characters"
        )
    vocab = char_rnn.build_vocab(train_text)
    train_ids = char_rnn.encode(train_text, vocab)
    windows = {
        name: char_rnn.eval_windows(char_rnn.encode(part, vocab), config.seq_len)
        for name, part in (
            ("train", train_text[: config.eval_chars]),
            ("val", val_text),
            ("test", test_text),
        )
    }
    return {
        "vocab": vocab,
        "train_ids": train_ids,
        "train_windows": windows["train"],
        "val_windows": windows["val"],
        "test_windows": windows["test"],
        "num_chars": {"train": len(train_text), "val": len(val_text), "test": len(test_text)},
        "ngram": char_rnn.ngram_baselines(
            train_ids, windows["val"], windows["test"], len(vocab), config.ngram_orders
        ),
    }


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------


def make_model(config: Config, arm: str, vocab_size: int) -> CharLSTM:
    """The model of ``arm``: the plain LSTM with that arm's one change."""
    return CharLSTM(
        vocab_size,
        config.hidden_size,
        config.embed_size,
        dropout=config.dropout if arm == "dropout" else 0.0,
        recurrent_dropout=config.recurrent_dropout if arm == "recurrent_dropout" else 0.0,
        weight_norm=arm == "weight_norm",
    )


def nll(model: CharLSTM, params, tokens: jax.Array, rng: jax.Array | None = None) -> jax.Array:
    """Mean NLL in nats of ``tokens[:, 1:]``; dropout on with ``rng``, off without it."""
    if rng is None:
        log_probs = model.apply(params, tokens[:, :-1])
    else:
        log_probs = model.apply(params, tokens[:, :-1], deterministic=False, rngs={"dropout": rng})
    return -jnp.take_along_axis(log_probs, tokens[:, 1:, None], axis=-1).mean()


def train(config: Config, arm: str, data: dict) -> dict:
    """Trains ``arm`` for every seed at once; evaluates every ``eval_every`` steps.

    Seed ``s`` initialises from ``seed_keys([s])`` (every arm alike) and draws its
    windows from ``seed_keys([s], char_rnn.DATA_STREAM)``.

    Returns:
      ``steps (e,)``, ``train_curve``, ``val_curve``, ``test_curve`` (each ``(e, s)``
      bits/char), ``final_train``, ``final_val``, ``final_gap``, ``best_val``,
      ``best_step``, ``early_test`` (test bits/char at ``best_step``), ``final_test``
      (each ``(s,)``), ``nonfinite_steps``, ``seconds``.
    """
    model = make_model(config, arm, len(data["vocab"]))
    example = jnp.zeros((1, config.seq_len), jnp.int32)
    train_ids = jnp.asarray(data["train_ids"])
    data_keys = _trainer.seed_keys(config.seeds, char_rnn.DATA_STREAM)
    parts = {k: jnp.asarray(data[f"{k}_windows"]) for k in ("train", "val", "test")}

    def batches(index):
        return {
            "tokens": char_rnn.sample_windows(
                train_ids, data_keys, index, batch_size=config.batch_size, seq_len=config.seq_len
            )
        }

    def loss_fn(params, batch, rng):
        loss = nll(model, params, batch["tokens"], rng)
        return loss, {"bits": char_rnn.nats_to_bits(loss)}

    @jax.jit
    def evaluate(params):
        bits = jax.vmap(lambda p, w: char_rnn.nats_to_bits(nll(model, p, w)), in_axes=(0, None))
        return {k: bits(params, w) for k, w in parts.items()}

    runs = _trainer.train_seeds(
        lambda key: model.init(key, example),
        loss_fn,
        training.make_optimizer(config.learning_rate, config.max_grad_norm),
        batches,
        _trainer.seed_keys(config.seeds),
        num_steps=config.num_steps,
        eval_fn=evaluate,
        eval_every=config.eval_every,
        log_every=config.eval_every,
        progress=False,
        description=f"{NAME} {arm}",
    )
    evals = [
        row
        for i, row in enumerate(runs.evals)
        if i == 0 or row["step"] != runs.evals[i - 1]["step"]
    ]
    steps = np.asarray([row["step"] for row in evals])
    curves = {k: np.asarray([row[k] for row in evals], np.float64) for k in parts}
    best = curves["val"].argmin(0)
    cols = np.arange(len(config.seeds))
    return {
        "steps": steps,
        "train_curve": curves["train"],
        "val_curve": curves["val"],
        "test_curve": curves["test"],
        "final_train": curves["train"][-1],
        "final_val": curves["val"][-1],
        "final_test": curves["test"][-1],
        "final_gap": curves["val"][-1] - curves["train"][-1],
        "best_val": curves["val"][best, cols],
        "best_step": steps[best],
        "early_test": curves["test"][best, cols],
        "nonfinite_steps": np.asarray(jax.device_get(runs.state.nonfinite_total)),
        "seconds": runs.seconds,
    }


# ---------------------------------------------------------------------------------------
# Claims, table, figure, summary.
# ---------------------------------------------------------------------------------------


def claims(config: Config, runs: dict) -> tuple[list[_harness.Claim], list[str]]:
    """The claims, paired by seed against the plain LSTM of the same run.

    Args:
      config: the thresholds.
      runs: arm -> at least ``final_val``, ``best_val``, ``final_gap`` (each ``(s,)``).

    Returns:
      The claims, and the names of those this config's arms cannot check.
    """
    plain = runs["plain"]
    out = [
        _harness.versus(
            "plain LSTM overfits: final validation bits/char - its best, worst seed",
            plain["final_val"],
            "plain LSTM's lowest validation bits/char (same run)",
            plain["best_val"],
            low=config.min_overfit,
            reduce="min",
            relative=False,
        )
    ]
    skipped = []
    for arm in ("dropout", "recurrent_dropout"):
        if arm not in runs:
            skipped.append(f"{LABELS[arm]} vs plain")
            continue
        out.append(
            _harness.versus(
                f"{LABELS[arm]}: final validation bits/char below the plain LSTM's, worst seed",
                runs[arm]["final_val"],
                "plain LSTM, same seed",
                plain["final_val"],
                high=-config.min_dropout_gain,
                relative=False,
            )
        )
        out.append(
            _harness.versus(
                f"{LABELS[arm]}: final gap (validation - training bits/char) / the plain "
                "LSTM's, worst seed",
                runs[arm]["final_gap"],
                "plain LSTM's final gap, same seed",
                plain["final_gap"],
                high=config.max_gap_ratio,
            )
        )
    if "weight_norm" in runs and config.weight_norm_band > 0:
        band = config.weight_norm_band
        out.append(
            _harness.versus(
                "weight norm is no regulariser: best (early-stopped) validation bits/char - "
                "plain's inside the equivalence band (every seed)",
                runs["weight_norm"]["best_val"],
                "plain LSTM, same seed",
                plain["best_val"],
                low=-band,
                high=band,
                reduce="extreme",
                relative=False,
            )
        )
    elif "weight_norm" in runs:
        skipped.append("weight norm (reported, not claimed)")
    return out, skipped


def _table(config: Config, data: dict, runs: dict) -> str:
    ngram = data["ngram"]
    rows = [("model", "train", "val best", "val final", "gap", "test @best val", "sec")]
    for order in sorted(ngram["test_bits"]):
        label = f"Witten-Bell {order}-gram" + (" (best)" if order == ngram["best_order"] else "")
        rows.append(
            (
                label,
                "",
                f"{ngram['val_bits'][order]:.3f}",
                "",
                "",
                f"{ngram['test_bits'][order]:.3f}",
                "",
            )
        )

    def cell(values):
        return f"{values.mean():.3f} [{values.min():.3f}-{values.max():.3f}]"

    for arm, run in runs.items():
        rows.append(
            (
                LABELS[arm],
                cell(run["final_train"]),
                cell(run["best_val"]),
                cell(run["final_val"]),
                cell(run["final_gap"]),
                cell(run["early_test"]),
                f"{run['seconds']:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    chars = data["num_chars"]
    return "\n".join(
        [
            f"{chars['train']} train / {chars['val']} val / {chars['test']} test characters, "
            f"vocabulary {len(data['vocab'])}; {config.hidden_size} units, "
            f"{config.num_steps} steps of {config.batch_size} x {config.seq_len}; "
            "bits/char, seed mean [range]",
            *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows),
        ]
    )


def _figure(config: Config, data: dict, runs: dict) -> Figure:
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    for i, (arm, run) in enumerate(runs.items()):
        color = f"C{i}"
        left.plot(
            run["steps"], run["val_curve"].mean(1), "-", color=color, label=f"{LABELS[arm]} val"
        )
        left.plot(
            run["steps"],
            run["train_curve"].mean(1),
            "--",
            color=color,
            label=f"{LABELS[arm]} train",
        )
        gap = run["final_gap"]
        right.bar(i, gap.mean(), color=color, alpha=0.6)
        right.plot(np.full(gap.shape, i), gap, "k.")
    best = data["ngram"]["best_order"]
    left.axhline(
        data["ngram"]["val_bits"][best], color="k", ls=":", label=f"Witten-Bell {best}-gram val"
    )
    left.set(
        xlabel="step",
        ylabel="bits per character",
        title="training (dashed) and validation bits/char, seed mean",
    )
    left.grid(alpha=0.3)
    left.legend(fontsize="x-small", ncol=2)
    right.set_xticks(range(len(runs)), [LABELS[a] for a in runs], rotation=20, fontsize="small")
    right.set(ylabel="bits per character", title="final gap: validation - training")
    right.grid(alpha=0.3, axis="y")
    return fig


def _summary(config: Config, data: dict, runs: dict, skipped: list[str]) -> str:
    ngram = data["ngram"]
    chars = data["num_chars"]
    plain = runs["plain"]
    parts = []
    for arm, run in runs.items():
        diff = run["final_val"] - plain["final_val"]
        mean, low, high = _harness.t_interval(diff) if arm != "plain" else (0.0, 0.0, 0.0)
        parts.append(
            f"{LABELS[arm]} final validation {run['final_val'].mean():.3f} (best "
            f"{run['best_val'].mean():.3f}), gap {run['final_gap'].mean():.3f}, test at the "
            f"validation-chosen step {run['early_test'].mean():.3f}"
            + (
                f", final validation - plain's {mean:+.3f} [{low:+.3f}, {high:+.3f}]"
                if arm != "plain"
                else ""
            )
        )
    text = (
        f"A one-layer LSTM character model ({config.hidden_size} units) on {chars['train']} "
        f"training characters of the pydoc topics ({config.num_steps} Adam steps of "
        f"{config.batch_size} x {config.seq_len}, {len(config.seeds)} seeds, arms paired by "
        f"seed); validation and test {chars['val']} / {chars['test']} characters. Seed means "
        f"(bits/char; 95% t interval of paired differences): " + "; ".join(parts) + ". "
        f"Baseline: Witten-Bell {ngram['best_order']}-gram (order chosen on validation) fitted "
        f"on the same training text, validation {ngram['val_bits'][ngram['best_order']]:.3f}, "
        f"test {ngram['best_test_bits']:.3f}."
    )
    if skipped:
        text += f" Not claimed here: {'; '.join(skipped)}."
    return text


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    data = prepare_data(config)
    runs = {arm: train(config, arm, data) for arm in config.arms}
    checked, skipped = claims(config, runs)
    metrics = {
        "num_chars": data["num_chars"],
        "vocab_size": len(data["vocab"]),
        "ngram": data["ngram"],
        "runs": runs,
        "thresholds": {
            "min_overfit": config.min_overfit,
            "min_dropout_gain": config.min_dropout_gain,
            "max_gap_ratio": config.max_gap_ratio,
            "weight_norm_band": config.weight_norm_band,
        },
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=checked,
        summary=_summary(config, data, runs, skipped),
        table=_table(config, data, runs),
        figures={"curves": _figure(config, data, runs)},
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.overfitting [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
