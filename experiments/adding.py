r"""The adding problem: which recurrent nets carry two numbers across ``T`` steps.

Every step's input is 2-d: a value :math:`v_t \sim U[0, 1]` and a marker that is 1 at
exactly two steps, one in each half of the sequence, 0 elsewhere. The target, read
from the hidden state of the last step, is the sum of the two marked values.

Baselines, fitted on training sequences and scored on the evaluation sequences every
model is scored on, in the same run:

* the constant predictor: the training targets' mean, whose MSE is about
  :math:`\mathrm{Var}[v_1 + v_2] = 1/6` (``BASELINE_MSE``, the analytic figure; the
  claims use the computed one). Learning one of the two numbers only plateaus near
  :math:`1/12`;
* the best linear predictor: least squares of the target on all :math:`2T` inputs and a
  constant, about 0.96 x 1/6: a linear map cannot form the products
  :math:`v_t m_t` the target is made of.

Models (``jaxrnn.models.SequenceRegressor``: one dense head on the last hidden state,
from ``_synthetic.recurrent_models``): a tanh RNN with the library's initialisation
(Glorot-uniform input kernel, orthogonal recurrent kernel, spectral radius 1: the fair
negative, reported in the table), the IRNN (ReLU, recurrent kernel :math:`I`, input
kernel :math:`\mathcal{N}(0, 0.001^2)`), LSTMs with forget-gate bias 0, 1 and chrono
(:math:`T_{max} = T`), a GRU, and the parallel-scan contenders under the same head,
optimiser and budget:

* minGRU / minLSTM (Feng et al. 2024, the log-space scan): one layer of
  ``hidden_size`` units on the raw 2-d input; its gates and candidate are already
  nonlinear in :math:`x_t` (:math:`z(x_t)\, g(x_t)` can pick out the marked values).
* LRU (Orvieto et al. 2023, ``jax.lax.associative_scan``): the paper's linear encoder,
  one LRU with ``hidden_size`` complex states, :math:`0.9 \le |\lambda| \le 0.999`, the
  head on :math:`\operatorname{Re}(C x_T) + D \odot u_T`. Not the paper's block (no
  normalisation, MLP/GLU or skip; the shared optimiser for :math:`\nu, \theta, \gamma`).
  One such layer is *linear* from the input to the head, so the best it can do is the
  best linear predictor (a claim below).

Several seeds train at once through ``_trainer.train_seeds``, on fresh sequences drawn
at every step from ``fold_in(key, step)``.

References:
  Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 1997
  (Experiment 4). Le, Jaitly & Hinton, "A simple way to initialize recurrent networks of
  rectified linear units", 2015 (the 2-d variant, the IRNN). Arjovsky, Shah & Bengio,
  "Unitary evolution recurrent neural networks", ICML 2016. Tallec & Ollivier, "Can
  recurrent neural networks warp time?", ICLR 2018 (chrono). Feng, Tung, Ahmed, Bengio &
  Hajimirsadeghi, "Were RNNs all we needed?", 2024, arXiv:2410.01201 (minGRU, minLSTM).
  Orvieto et al., "Resurrecting recurrent neural networks for long sequences", ICML 2023,
  arXiv:2303.06349 (LRU).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _harness, _synthetic
from jaxrnn import models, training

NAME = "adding"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 232
# python -m experiments.adding [--full] [--key=value ...]
main = _synthetic.main_of(NAME, __name__)
BASELINE_MSE = 1.0 / 6.0  # Var[v1 + v2], v ~ U[0, 1]: the analytic constant predictor's MSE
CONSTANT, LINEAR = "constant predictor", "least-squares linear predictor"
MODELS = (
    "tanh",
    "irnn",
    "lstm_forget0",
    "lstm_forget1",
    "lstm_chrono",
    "gru",
    "mingru",
    "minlstm",
    "lru",
)
# The gated models with good biases (claim 1) and the pair compared in claim 3.
GATED = ("lstm_forget1", "lstm_chrono", "gru")
# The models with a claim of their own.
CLAIMED = ("tanh", *GATED, "mingru", "lru")
CALIBRATION_SEEDS = (0, 1, 2, 3, 4, 5)

# Frozen thresholds; the calibration behind them is in Config's docstring.
GATED_MAX_FRACTION = 0.1  # worst seed's final MSE <= 0.1 x constant predictor
TANH_MIN_FRACTION = 0.75  # best tanh seed's final MSE >= 0.75 x constant predictor
CHRONO_MAX_RATIO = 0.75  # steps to solve, chrono / b_f = 1, mean over seeds
MINGRU_MAX_FRACTION = 0.1  # worst minGRU seed's final MSE <= 0.1 x constant predictor
LRU_BAND = (0.9, 1.1)  # best LRU seed's final MSE in [0.9, 1.1] x best linear predictor


@dataclasses.dataclass(frozen=True)
class Config(_synthetic.Config):
    r"""The adding problem for recurrent regressors, several seeds each.

    Command line::

        python -m experiments adding          # QUICK: T = 50, 6 models, 3 seeds
        python -m experiments adding --full   # FULL: T = 50, 100, 200, 9 models
        python -m experiments adding --lengths=100 --models=tanh,lstm_chrono --seeds=0,1

    QUICK took ~80 s on 2 cores at a load average of ~1 before the baselines came (of
    which minGRU 26 s and LRU 16 s, the four cells 7..9 s each, compilation included);
    the baselines add a least-squares fit per seed (under a second).

    Expected result (per length T), the claims, each against a baseline from the same
    run on the same evaluation sequences:

    * gated models with good biases (LSTM b_f = 1, LSTM chrono, GRU) get far below the
      constant predictor: the worst seed's final MSE <= 0.1 x its;
    * the tanh RNN with the library's initialisation stays near it: its best seed's
      final MSE >= 0.75 x the constant predictor's;
    * chrono solves it in far fewer steps than b_f = 1: the steps until the smoothed
      training loss (25-step mean) first falls below ``solved_fraction`` x the constant
      predictor's MSE, chrono / b_f = 1 per seed, averaged over seeds, is at most 0.75
      (a run that never gets there counts ``num_steps + 1``; no effect of the chrono
      biases would give about 1 and fail it);
    * one minGRU layer trained by its parallel scan solves it too: its worst seed's
      final MSE <= 0.1 x the constant predictor's;
    * one LRU layer, linear from input to head, does no better than the best linear
      predictor and trains to about it: its best seed's final MSE is in [0.9, 1.1] x
      the least-squares predictor's.

    The claims that a model *stays* near a baseline (tanh, LRU) are negatives: a model
    that learnt nothing passes them too, so they are paired with the positives above
    (same data, head, optimiser, budget), and the tanh RNN starts from the library's
    orthogonal recurrent kernel (initial spectral radius 1.000 on every seed, in the
    table), not from the small N(0, 0.1²) weights (radius ~0.57) it had before. The
    LRU's band cannot tell "trained to the linear predictor" from "stayed at the
    constant one" (0.97 x apart at T = 50); its lower bound is what fails if one LRU
    layer were more than linear.

    Calibration (seeds ``CALIBRATION_SEEDS`` = 0..5, QUICK's setup: T = 50, hidden 32,
    batch 32, Adam 1e-2, global clip 1, 1000 steps), per seed 0..5:

    * baselines on the evaluation sequences: constant predictor 0.1675, 0.1709, 0.1751,
      0.1797, 0.1652, 0.1599; least squares 0.1639, 0.1651, 0.1691, 0.1745, 0.1636,
      0.1550 (0.97..0.99 x the constant);
    * final MSE / constant: LSTM b_f = 1 0.003..0.008, chrono 0.001..0.003, GRU
      0.001..0.004 (gated worst seed 0.008); minGRU 0.021..0.038; tanh RNN (library
      init) 1.121, 1.015, 0.994, 1.009, 1.016, 1.006: with a spectral radius of 1 it
      still does not learn even one of the two numbers (0.5) at T = 50, so the
      claim stays at T = 50 and needs no longer T;
    * LRU / least squares: 1.040, 1.022, 1.046, 1.032, 1.007, 1.030;
    * steps to solve: b_f = 1 604..655, chrono 255..338, GRU 198..258; chrono / b_f = 1
      per seed 0.45, 0.54, 0.42, 0.48, 0.43, 0.55 (mean 0.48).
    * Frozen: gated worst seed <= 0.1 and minGRU worst seed <= 0.1 x constant (kept
      from before; measured <= 0.008 and <= 0.038, b_f = 1's ~650 of 1000 steps being
      the tightest margin, in steps); tanh best seed >= 0.75 x constant (kept; measured
      >= 0.994; learning one number would give ~0.5); chrono / b_f = 1 <= 0.75 (was
      <= 1, which chrono = b_f = 1 would pass; the per-seed maximum seen is 0.55); LRU
      best seed in [0.9, 1.1] x least squares (was [0.75, 1.1] x 1/6; measured
      1.007..1.046). FULL (longer T, 2000 steps) keeps these thresholds but was not
      calibrated: the b_f = 1 plateau and the tanh RNN's failure grow with T.

    Held-out check (the default seeds 100..102, QUICK, after freezing): constant
    predictor 0.1639, 0.1687, 0.1722, least squares 0.1588, 0.1656, 0.1639; gated worst
    seed 0.012 x constant; chrono / b_f = 1 steps 0.48, 0.74, 0.47 (mean 0.56; b_f = 1
    solved seed 101 early, at step 378); tanh 1.000, 0.998, 1.024 x constant (radius
    1.000); minGRU 0.016..0.026; LRU / least squares 1.033, 1.010, 1.082. All pass.

    Earlier calibration, seeds 0..17, of the parallel-scan contenders (1000 steps, final
    MSE / (1/6)): minGRU 0.018..0.062, crossing 0.1 x 1/6 at steps 370..580; LRU
    0.951..1.080; minLSTM (seeds 0..5, not claimed) 0.004..0.035.

    Attributes:
      max_grad_norm: global-norm clipping threshold.
      solved_fraction: "solved" means a smoothed loss below this fraction of the
        constant predictor's MSE.
      (the other fields: ``_synthetic.Config``; ``models`` any of ``tanh``, ``irnn``,
      ``lstm_forget0``, ``lstm_forget1``, ``lstm_chrono``, ``gru``, ``mingru``,
      ``minlstm``, ``lru``; ``lengths`` even, >= 4.)
    """

    known_models = MODELS
    min_length = 4
    even_lengths = True
    positive = ("learning_rate", "max_grad_norm")

    models: tuple[str, ...] = CLAIMED
    max_grad_norm: float = 1.0
    solved_fraction: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.solved_fraction < 1:
            raise ValueError(
                f"Config: expected `solved_fraction` in (0, 1), got {self.solved_fraction}"
            )


# QUICK runs the models the claims are about; FULL all nine, at the three lengths. The
# cost grows like lengths x steps x seeds: FULL (7x the sequence steps, 2x the training
# steps) was about 20-30 min for the cells and ~10 min more for the parallel-scan
# models, estimated from QUICK's per-step costs.
QUICK = Config()
FULL = Config(lengths=(50, 100, 200), num_steps=2000, eval_size=2000, models=MODELS)


# ---------------------------------------------------------------------------------------
# Data and baselines.
# ---------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("batch_size", "length"))
def adding_batch(key: jax.Array, batch_size: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Draws adding-problem sequences.

    Args:
      key: PRNG key.
      batch_size: ``b``.
      length: ``T`` (even): one marker in ``[0, T/2)``, one in ``[T/2, T)``.

    Returns:
      ``(x (b, T, 2), y (b,))``: ``x[..., 0]`` the values, ``x[..., 1]`` the markers,
      ``y`` the sum of the two marked values.
    """
    k_value, k_first, k_second = jax.random.split(key, 3)
    half = length // 2
    values = jax.random.uniform(k_value, (batch_size, length))
    first = jax.random.randint(k_first, (batch_size,), 0, half)
    second = jax.random.randint(k_second, (batch_size,), half, length)
    steps = jnp.arange(length)
    markers = (steps == first[:, None]) | (steps == second[:, None])
    markers = markers.astype(values.dtype)
    x = jnp.stack([values, markers], axis=-1)
    return x, (values * markers).sum(axis=1)


def constant_predictor_mse(train_y: np.ndarray, eval_y: np.ndarray) -> float:
    """MSE on ``eval_y (n,)`` of predicting the mean of ``train_y (m,)``."""
    return float(np.mean((np.asarray(eval_y, np.float64) - np.mean(train_y)) ** 2))


def linear_predictor_mse(
    train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray
) -> float:
    """MSE on the evaluation set of the least-squares affine map of the flattened inputs.

    Args:
      train_x: ``(m, ...)`` training inputs, flattened to ``(m, d)``.
      train_y: ``(m,)`` training targets.
      eval_x: ``(n, ...)`` evaluation inputs.
      eval_y: ``(n,)`` evaluation targets.

    Returns:
      The MSE of :math:`[x, 1] w` with :math:`w` minimising the training squared error
      (float64 ``numpy.linalg.lstsq``).
    """

    def design(x):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        return np.concatenate([x, np.ones((len(x), 1))], axis=1)

    weights, *_ = np.linalg.lstsq(design(train_x), np.asarray(train_y, np.float64), rcond=None)
    return float(np.mean((design(eval_x) @ weights - np.asarray(eval_y, np.float64)) ** 2))


def _baselines(fit, held) -> dict[str, float]:
    return {
        CONSTANT: constant_predictor_mse(fit[1], held[1]),
        LINEAR: linear_predictor_mse(fit[0], fit[1], held[0], held[1]),
    }


def _mse(outputs: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((outputs[:, 0] - y) ** 2)


TASK = _synthetic.Task(
    name=NAME,
    draw=adding_batch,
    head=models.SequenceRegressor,
    loss=_mse,
    metric="MSE",
    chrono_t_max=float,
    baselines=_baselines,
    claimed=CLAIMED,
    calibration_seeds=CALIBRATION_SEEDS,
    thresholds={
        "gated_max_fraction": GATED_MAX_FRACTION,
        "tanh_min_fraction": TANH_MIN_FRACTION,
        "chrono_max_ratio": CHRONO_MAX_RATIO,
        "mingru_max_fraction": MINGRU_MAX_FRACTION,
        "lru_band": list(LRU_BAND),
    },
)
# The claims about one model's final MSE against a baseline.
BOUNDS = (
    _synthetic.Bound(
        "tanh",
        "tanh RNN (library init) final MSE stays near the constant",
        CONSTANT,
        low=TANH_MIN_FRACTION,
        reduce="min",
    ),
    _synthetic.Bound(
        "mingru",
        "minGRU (parallel scan) final MSE far below the constant",
        CONSTANT,
        high=MINGRU_MAX_FRACTION,
    ),
    _synthetic.Bound(
        "lru",
        "LRU (linear in its input) no better than least squares",
        LINEAR,
        low=LRU_BAND[0],
        high=LRU_BAND[1],
        reduce="min",
    ),
)


def steps_to_solve(curves: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """Per column of ``curves (steps, s)``: the first step (1-based) below ``threshold``.

    ``threshold`` is a scalar or one per column. A column that never gets there gets
    ``steps + 1``.
    """
    below = curves < threshold
    return np.where(below.any(axis=0), below.argmax(axis=0) + 1, len(curves) + 1)


# ---------------------------------------------------------------------------------------
# Claims and run.
# ---------------------------------------------------------------------------------------


def _claims(config: Config, runs: dict, baselines: dict) -> list[_harness.Claim]:
    claims = []
    for length in config.lengths:
        got = runs[length]
        gated = [m for m in GATED if m in got]
        if gated:
            worst = np.max([got[m]["final"] for m in gated], axis=0)  # per seed
            claims.append(
                _harness.versus(
                    f"T={length}: gated ({', '.join(gated)}) final MSE far below the constant",
                    worst,
                    CONSTANT,
                    baselines[length][CONSTANT],
                    high=GATED_MAX_FRACTION,
                )
            )
        if "lstm_chrono" in got and "lstm_forget1" in got:
            claims.append(
                _harness.versus(
                    f"T={length}: steps to solve, chrono far fewer than b_f = 1",
                    got["lstm_chrono"]["steps_to_solve"],
                    "LSTM b_f = 1 steps to solve",
                    got["lstm_forget1"]["steps_to_solve"],
                    high=CHRONO_MAX_RATIO,
                    reduce="mean",
                )
            )
        claims += _synthetic.bound_claims(length, got, baselines[length], BOUNDS)
    return claims


def _summary(config: Config, runs: dict, baselines: dict) -> str:
    means = {
        t: ", ".join(f"{k} {np.mean(v):.4f}" for k, v in b.items()) for t, b in baselines.items()
    }
    return (
        f"The adding problem at T = {', '.join(map(str, config.lengths))}, "
        f"{len(config.seeds)} seeds trained at once per model, {config.num_steps} steps of "
        f"{config.optimizer} on fresh batches of {config.batch_size}; baselines on the "
        f"same evaluation sequences ({'; '.join(f'T={t}: {m}' for t, m in means.items())}). "
        "Gated models with good forget biases (LSTM b_f = 1, chrono, GRU) leave the "
        "constant predictor far behind; the tanh RNN, with the library's orthogonal "
        f"recurrent kernel (initial spectral radius {_synthetic.radius_text(runs, 'tanh')}), "
        "stays near it: its gradient vanishes across the gap between the markers and "
        "the end. Of the parallel-scan contenders, one minGRU layer (gates and candidate "
        "nonlinear in the input) solves it too; one LRU layer, linear from input to "
        "head, cannot form the products of values and markers and ends at the "
        "least-squares linear predictor's error."
    )


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    optimizer = training.make_optimizer(
        config.learning_rate, config.max_grad_norm, optimizer=config.optimizer
    )
    runs, baselines = _synthetic.run_models(config, TASK, optimizer)
    for length, got in runs.items():
        threshold = config.solved_fraction * baselines[length][CONSTANT]
        for run_ in got.values():
            smoothed = _harness.moving_average(run_["loss"], config.smoothing)
            run_["steps_to_solve"] = steps_to_solve(smoothed, threshold)
    clipping = f"global clip {config.max_grad_norm:g}"
    return _synthetic.result(config, TASK, runs, baselines, _claims, _summary, clipping)


if __name__ == "__main__":
    raise SystemExit(main())
