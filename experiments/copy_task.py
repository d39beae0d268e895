r"""The copy task: remembering 10 symbols across ``T`` blank steps.

Input (one-hot over 10 tokens: 0 blank, 1..8 symbols, 9 marker), length ``T + 20``: 10
symbols drawn uniformly from 8, ``T - 1`` blanks, the marker, 10 blanks. Target (9
classes, 0 blank and the symbols): ``T + 10`` blanks, then the 10 symbols. The loss is
the per-step cross-entropy averaged over all ``T + 20`` steps.

Baseline, fitted on training sequences and scored on the evaluation sequences every
model is scored on, in the same run: the memoryless predictor, each step's class
frequencies in the training targets (Krichevsky-Trofimov, add-1/2 estimates),
whatever the input. It learns "blank for ``T + 10`` steps, then any of the 8 symbols"
and scores about :math:`10 \ln 8 / (T + 20)` (``baseline(T)``, the analytic figure:
0.297 at T = 50, 0.173 at T = 100), the error models without a long memory never leave.
A model that copies ``k`` of the 10 symbols and guesses the rest ends near
:math:`(10 - k)/10` of it.

Models (``jaxrnn.models.SequenceTagger``: a dense classifier on every step, from
``_synthetic.recurrent_models``): a tanh RNN with the library's initialisation
(Glorot-uniform input kernel, orthogonal recurrent kernel, spectral radius 1: the fair
negative, reported in the table), LSTMs with forget-gate bias 0 and 1 and chrono with
:math:`T_{max} = 3T/2` (Tallec & Ollivier's choice for this task), and the
parallel-scan contenders under the same classifier, optimiser and budget:

* minGRU / minLSTM (Feng et al. 2024, the log-space scan): one layer of
  ``hidden_size`` units on the one-hot inputs, whose gates see only the current input
  (after the marker every input is the same blank, so the ten outputs are read from
  one state relaxing the same way at every step).
* LRU (Orvieto et al. 2023, ``jax.lax.associative_scan``): the paper's linear encoder
  (an embedding), one LRU with ``hidden_size`` complex states, :math:`0.9 \le |\lambda|
  \le 0.999`, the classifier on :math:`\operatorname{Re}(C x_t) + D \odot u_t`. Not the
  paper's block (no normalisation, MLP/GLU or skip; the shared optimiser for
  :math:`\nu, \theta, \gamma`). Copying is a fixed delay of ``T + 10`` steps, a linear
  time-invariant map, which one linear recurrence of damped oscillators can
  approximate.

Several seeds train at once through ``_trainer.train_seeds``, on fresh sequences from
``fold_in(key, step)``, with RMSprop and elementwise gradient clipping as in the
published setup.

References:
  Arjovsky, Shah & Bengio, "Unitary evolution recurrent neural networks", ICML 2016
  (the task and its baseline). Tallec & Ollivier, "Can recurrent neural networks warp
  time?", ICLR 2018 (chrono; copy task at T = 500 and 2000). Krichevsky & Trofimov,
  "The performance of universal encoding", IEEE Trans. Inf. Theory 1981 (the add-1/2
  estimate). Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs all we needed?",
  2024, arXiv:2410.01201 (minGRU, minLSTM). Orvieto et al., "Resurrecting recurrent
  neural networks for long sequences", ICML 2023, arXiv:2303.06349 (LRU).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _harness, _synthetic
from jaxrnn import models, training

NAME = "copy"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 263
# python -m experiments.copy_task [--full] [--key=value ...]
main = _synthetic.main_of(NAME, __name__)
NUM_SYMBOLS = 8  # symbols 1..8
NUM_TO_COPY = 10
BLANK, MARKER = 0, NUM_SYMBOLS + 1
NUM_INPUTS = NUM_SYMBOLS + 2  # blank, symbols, marker
NUM_CLASSES = NUM_SYMBOLS + 1  # blank, symbols
MEMORYLESS = "memoryless predictor"
MODELS = ("tanh", "lstm_forget0", "lstm_forget1", "lstm_chrono", "mingru", "minlstm", "lru")
# The models with a claim of their own.
CLAIMED = ("tanh", "lstm_forget0", "lstm_chrono", "mingru", "lru")
CALIBRATION_SEEDS = (0, 1, 2, 3, 4, 5)

# Frozen thresholds; the calibration behind them is in Config's docstring.
STAY_MIN_FRACTION = 0.95  # best tanh seed's final CE >= 0.95 x memoryless
CHRONO_MAX_FRACTION = 0.9  # worst chrono seed <= 0.9 x memoryless
CHRONO_OVER_FORGET0_MAX = 0.95  # chrono's worst seed / b_f = 0's median seed, final CE
LRU_MEDIAN_MAX_FRACTION = 0.75  # median LRU seed's final CE <= 0.75 x memoryless
MINGRU_MAX_FRACTION = 0.9  # worst minGRU seed's final CE <= 0.9 x memoryless


def baseline(length: int) -> float:
    """The analytic memoryless cross-entropy ``10 ln 8 / (T + 20)``."""
    return NUM_TO_COPY * math.log(NUM_SYMBOLS) / (length + 2 * NUM_TO_COPY)


@dataclasses.dataclass(frozen=True)
class Config(_synthetic.Config):
    r"""The copy task for recurrent taggers, several seeds each.

    Command line::

        python -m experiments copy          # QUICK: T = 50, 5 models, 3 seeds
        python -m experiments copy --full   # FULL: T = 50 and 100, 7 models, 6 seeds
        python -m experiments copy --lengths=100 --models=lstm_chrono --num-steps=3000

    QUICK took ~110 s on 2 cores at a load average of ~1.5 before the baseline came (of
    which minGRU 37 s, LRU 25 s and the three cells 11..17 s each, compilation
    included); the baseline is a count of the training targets.

    Expected result (per length T), the claims, each against the memoryless baseline
    of the same run on the same evaluation sequences (or against b_f = 0):

    * the tanh RNN with the library's initialisation stays at the baseline: its best
      seed's final cross-entropy >= 0.95 x the memoryless predictor's;
    * the chrono LSTM (T_max = 3T/2) leaves it: its worst seed <= 0.9 x the baseline;
    * one LRU layer trained by its parallel scan gets furthest below it: its median
      seed <= 0.75 x the baseline;
    * one minGRU layer trained by its parallel scan leaves it too: its worst seed <=
      0.9 x the baseline (it stops at ~0.81, about one symbol's worth of the ten);
    * chrono ends below the LSTM with b_f = 0: every chrono seed's final cross-entropy
      / b_f = 0's median seed's <= 0.95. This is the claim that separates chrono's
      biases from an absent effect: with no effect chrono would be a b_f = 0 LSTM
      (ratio ~1). "Chrono <= 0.9 x the baseline" alone would not: a b_f = 1 LSTM gets
      there too (below).

    "b_f = 0 stays at the baseline" is not a claim at T = 50: on some seeds it leaves
    it (below); its per-seed values are in the table and ``results.json``. The tanh
    RNN starts from the library's orthogonal recurrent kernel (initial spectral radius
    1.000 on every seed, in the table), not from N(0, 0.1²) weights (radius ~0.57) as
    before: its staying at the baseline is a fair negative.

    Shrunk from the published setup (128 units, RMSprop 1e-3, batch 20, clip 1, T up to
    2000) to run on a CPU: 32 units and RMSprop 1e-2. At 1e-3 (64 units) even chrono is
    still above the baseline (1.02 x) after 1500 steps; Adam 1e-2 reaches the baseline
    in 200 steps and stays there to 1500 (0.97..1.00 x).

    Calibration (seeds ``CALIBRATION_SEEDS`` = 0..5, QUICK's setup: T = 50, 2000 steps,
    six seeds at once), final cross-entropy / memoryless baseline per seed 0..5:

    * memoryless baseline 0.2977..0.2980 (analytic 0.2971);
    * tanh RNN (library init, radius 1.000) 1.000, 0.999, 1.000, 0.999, 0.999, 0.999;
    * LSTM b_f = 0: 0.998, 0.934, 0.999, 0.998, 0.915, 0.872 (median 0.966): at T = 50
      a b_f = 0 LSTM can leave the baseline, slowly;
    * LSTM b_f = 1 (not claimed): 0.894, 0.969, 0.871, 0.867, 0.818, 0.864;
    * chrono: 0.838, 0.767, 0.796, 0.810, 0.752, 0.863; chrono / b_f = 0's median seed
      0.87, 0.79, 0.82, 0.84, 0.78, 0.89 (worst 0.89);
    * minGRU 0.810, 0.810, 0.815, 0.818, 0.810, 0.808; LRU 0.394, 0.202, 0.583, 0.303,
      0.363, 0.221 (median 0.33).
    * Frozen (each kept from the earlier calibration, whose seeds were the same 0..5
      and, for the contenders, 0..17; none loosened): tanh best seed >= 0.95 (measured
      >= 0.999); chrono worst seed <= 0.9 (measured <= 0.863: the QUICK budget allows no
      much lower bound, chrono still descending at 2000 steps, and b_f = 1 reaches
      0.82..0.97 as well); chrono / b_f = 0's median <= 0.95 (worst 0.89); LRU median
      <= 0.75 (0.33; earlier over 18 seeds median 0.29, none above 0.75); minGRU worst
      <= 0.9 (0.818; earlier <= 0.815 over 12 seeds).
    * Held-out check (the default seeds 100..102, QUICK, after freezing): memoryless
      0.2978, 0.2979, 0.2978; tanh 0.999, 0.986, 0.998 (radius 1.000); chrono 0.873,
      0.818, 0.812; chrono / b_f = 0's median 0.875 worst; minGRU 0.803..0.815; LRU
      0.376, 0.277, 0.247. All pass. b_f = 0's seed 100 ended on a loss spike (final
      cross-entropy 4.72, 15.9 x the baseline; RMSprop 1e-2 spikes, seen on the tanh
      RNN too): the b_f = 0 claim reads its median seed, which such a spike leaves alone.
    * FULL, from the earlier calibration: at T = 100 (seeds 0..2, 2000 steps) b_f = 0
      stays at 1.000, 1.001, 1.000 and chrono is at 0.897, 0.977, 0.926, still
      descending: there chrono and b_f = 0 separate clearly; FULL's 5000 steps are
      meant to take chrono below 0.9; not run to the end here.

    Attributes:
      clip: elementwise gradient clipping bound.
      (the other fields: ``_synthetic.Config``; ``models`` any of ``tanh``,
      ``lstm_forget0``, ``lstm_forget1``, ``lstm_chrono``, ``mingru``, ``minlstm``,
      ``lru``; ``lengths`` the blank gaps T >= 1, sequences are T + 20 long.)
    """

    known_models = MODELS
    positive = ("learning_rate", "clip")

    batch_size: int = 20
    num_steps: int = 2000
    optimizer: str = "rmsprop"
    models: tuple[str, ...] = CLAIMED
    eval_size: int = 500
    fit_size: int = 5000
    clip: float = 1.0


QUICK = Config()
FULL = Config(lengths=(50, 100), num_steps=5000, seeds=tuple(range(100, 106)), models=MODELS)


# ---------------------------------------------------------------------------------------
# Data and baseline.
# ---------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("batch_size", "length"))
def copy_batch(key: jax.Array, batch_size: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Draws copy-task sequences.

    Args:
      key: PRNG key.
      batch_size: ``b``.
      length: ``T``, the gap: sequences are ``T + 20`` long.

    Returns:
      ``(inputs (b, T + 20), targets (b, T + 20))``, int32 tokens: inputs are the 10
      symbols (1..8), ``T - 1`` blanks (0), the marker (9) and 10 blanks; targets
      ``T + 10`` blanks, then the symbols.
    """
    symbols = jax.random.randint(key, (batch_size, NUM_TO_COPY), 1, NUM_SYMBOLS + 1)
    blanks = functools.partial(jnp.full, dtype=jnp.int32, fill_value=BLANK)
    marker = jnp.full((batch_size, 1), MARKER, jnp.int32)
    inputs = jnp.concatenate(
        [symbols, blanks((batch_size, length - 1)), marker, blanks((batch_size, NUM_TO_COPY))],
        axis=1,
    )
    targets = jnp.concatenate([blanks((batch_size, length + NUM_TO_COPY)), symbols], axis=1)
    return inputs, targets


def memoryless_log_probs(length: int) -> jax.Array:
    """``(T + 20, 9)`` log-probabilities of the best predictor without memory.

    Blank with certainty for ``T + 10`` steps, uniform over the 8 symbols for the last 10.
    """
    blank = jax.nn.one_hot(BLANK, NUM_CLASSES)
    uniform = jnp.concatenate([jnp.zeros(1), jnp.full(NUM_SYMBOLS, 1.0 / NUM_SYMBOLS)])
    probs = jnp.concatenate(
        [jnp.tile(blank, (length + NUM_TO_COPY, 1)), jnp.tile(uniform, (NUM_TO_COPY, 1))]
    )
    return jnp.log(probs)


def cross_entropy(log_probs_or_logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean per-step cross-entropy over batch and time.

    Args:
      log_probs_or_logits: ``(b, t, 9)`` (normalised or not: a log-softmax is applied;
        ``-inf`` entries of a normalised input stay ``-inf``).
      targets: int ``(b, t)``.

    Returns:
      A scalar.
    """
    log_probs = jax.nn.log_softmax(log_probs_or_logits, axis=-1)
    picked = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return -picked.mean()


def memoryless_cross_entropy(train_targets: np.ndarray, eval_targets: np.ndarray) -> float:
    r"""Cross-entropy on ``eval_targets`` of each step's class frequencies in training.

    Args:
      train_targets: int ``(m, t)`` training targets.
      eval_targets: int ``(n, t)`` evaluation targets.

    Returns:
      The mean over the evaluation steps of :math:`-\ln p_t(y)`, with :math:`p_t` the
      add-1/2 (Krichevsky-Trofimov) estimate of step ``t``'s class distribution over
      ``NUM_CLASSES`` from the training targets.
    """
    train_targets, eval_targets = np.asarray(train_targets), np.asarray(eval_targets)
    counts = np.stack([(train_targets == c).sum(0) for c in range(NUM_CLASSES)], axis=-1)
    probs = (counts + 0.5) / (len(train_targets) + 0.5 * NUM_CLASSES)  # (t, classes)
    picked = np.take_along_axis(probs[None], eval_targets[..., None], axis=-1)[..., 0]
    return float(-np.log(picked).mean())


@functools.partial(jax.jit, static_argnames=("batch_size", "length"))
def _draw(key: jax.Array, batch_size: int, length: int) -> tuple[jax.Array, jax.Array]:
    """``copy_batch`` with one-hot inputs ``(b, T + 20, 10)``: what the tagger reads."""
    inputs, targets = copy_batch(key, batch_size, length)
    return jax.nn.one_hot(inputs, NUM_INPUTS), targets


TASK = _synthetic.Task(
    name=NAME,
    draw=_draw,
    head=functools.partial(models.SequenceTagger, num_classes=NUM_CLASSES),
    loss=cross_entropy,
    metric="cross-entropy",
    chrono_t_max=lambda length: 1.5 * length,
    baselines=lambda fit, held: {MEMORYLESS: memoryless_cross_entropy(fit[1], held[1])},
    claimed=CLAIMED,
    calibration_seeds=CALIBRATION_SEEDS,
    thresholds={
        "stay_min_fraction": STAY_MIN_FRACTION,
        "chrono_max_fraction": CHRONO_MAX_FRACTION,
        "chrono_over_forget0_max": CHRONO_OVER_FORGET0_MAX,
        "lru_median_max_fraction": LRU_MEDIAN_MAX_FRACTION,
        "mingru_max_fraction": MINGRU_MAX_FRACTION,
    },
)
# The claims about one model's final cross-entropy against the memoryless baseline.
BOUNDS = (
    _synthetic.Bound(
        "tanh",
        "tanh RNN (library init) stays at the memoryless baseline",
        MEMORYLESS,
        low=STAY_MIN_FRACTION,
        reduce="min",
    ),
    _synthetic.Bound(
        "lstm_chrono",
        "chrono LSTM leaves the memoryless baseline",
        MEMORYLESS,
        high=CHRONO_MAX_FRACTION,
    ),
    _synthetic.Bound(
        "lru",
        "LRU (parallel scan) far below the memoryless baseline",
        MEMORYLESS,
        high=LRU_MEDIAN_MAX_FRACTION,
        reduce="median",
    ),
    _synthetic.Bound(
        "mingru",
        "minGRU (parallel scan) leaves the memoryless baseline",
        MEMORYLESS,
        high=MINGRU_MAX_FRACTION,
    ),
)


# ---------------------------------------------------------------------------------------
# Claims and run.
# ---------------------------------------------------------------------------------------


def _claims(config: Config, runs: dict, baselines: dict) -> list[_harness.Claim]:
    claims = []
    for length in config.lengths:
        got = runs[length]
        claims += _synthetic.bound_claims(length, got, baselines[length], BOUNDS)
        if "lstm_chrono" in got and "lstm_forget0" in got:
            # Seeds are not paired across models (different weights), so each chrono seed
            # is compared with the typical b_f = 0 seed.
            forget0 = float(np.median(got["lstm_forget0"]["final"]))
            name = f"T={length}: chrono LSTM below b_f = 0"
            baseline_name = "LSTM b_f = 0, median seed"
            claims.append(
                _harness.versus(
                    name,
                    got["lstm_chrono"]["final"],
                    baseline_name,
                    forget0,
                    high=CHRONO_OVER_FORGET0_MAX,
                )
            )
    return claims


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    optimizer = training.make_optimizer(
        config.learning_rate, config.clip, clipping="elementwise", optimizer=config.optimizer
    )
    runs, baselines = _synthetic.run_models(config, TASK, optimizer)
    clipping = f"elementwise clip {config.clip:g}"
    return _synthetic.result(config, TASK, runs, baselines, _claims, _summary, clipping)


def _summary(config: Config, runs: dict, baselines: dict) -> str:
    summary = (
        f"The copy task at T = {', '.join(map(str, config.lengths))}, {len(config.seeds)} "
        f"seeds trained at once per model, {config.num_steps} steps of {config.optimizer} "
        f"{config.learning_rate:g} with elementwise clipping, batch {config.batch_size}, "
        f"{config.hidden_size} units; the memoryless baseline on the same evaluation "
        "sequences is "
        + ", ".join(f"{np.mean(b[MEMORYLESS]):.4f} at T = {t}" for t, b in baselines.items())
        + " (10 ln 8/(T+20) analytically). The tanh RNN, with the library's orthogonal "
        f"recurrent kernel (initial spectral radius {_synthetic.radius_text(runs, 'tanh')}), "
        "forgets the symbols and settles on the memoryless baseline; chrono's forget "
        "biases up to log(3T/2) keep them and the loss falls below it. The LSTM with "
        "forget bias 0 mostly stays at the baseline"
    )
    for length, got in runs.items():
        if "lstm_forget0" in got:
            left = got["lstm_forget0"]["final"] < 0.95 * baselines[length][MEMORYLESS]
            summary += f"; at T = {length} {int(left.sum())} of {left.size} seeds left it"
    summary += (
        ". Of the parallel-scan contenders, one LRU layer (a linear recurrence: copying "
        "is a fixed delay) gets furthest below the baseline, with a wide spread over "
        "seeds; one minGRU layer, whose gates see only the current input, leaves it by "
        "about one symbol's worth."
    )
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
