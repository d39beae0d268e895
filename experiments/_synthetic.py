r"""What the two synthetic long-memory tasks share: the adding problem and the copy task.

Both train the same recurrent models (``recurrent_models``: tanh RNN, IRNN, LSTMs with
three forget-gate biases, GRU, minGRU, minLSTM, LRU) under one of the library's heads
(``jaxrnn.models.SequenceRegressor`` for adding, ``SequenceTagger`` for copy), on fresh
sequences drawn at every step, several seeds at once through ``_trainer.train_seeds``,
and state their claims against baselines fitted and scored on the same sequences as the
models. This module holds that, once:

* ``Config``: the fields and checks the two configs share (each experiment subclasses
  it, adding its own fields and changing defaults);
* ``Task``: what differs between the two: how a batch is drawn, the head, the loss;
* ``make_split``: per seed and length, the init and data keys, ``fit_size`` training
  sequences for the baselines (drawn like the training batches, never used to train
  the models) and the ``eval_size`` evaluation sequences every model and baseline is
  scored on;
* ``train_model``: one model over every seed through ``_trainer.train_seeds``, with the
  initial spectral radius of a simple RNN's recurrent kernel;
* ``run_models``, ``metrics``, ``table``, ``figure`` and ``result``: the run, its
  ``results.json`` numbers, the printed table, the loss figure and the ``Result``.

References:
  Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 1997. Le,
  Jaitly & Hinton, "A simple way to initialize recurrent networks of rectified linear
  units", 2015 (IRNN). Tallec & Ollivier, "Can recurrent neural networks warp time?",
  ICLR 2018 (chrono). Feng et al., "Were RNNs all we needed?", 2024, arXiv:2410.01201
  (minGRU, minLSTM). Orvieto et al., "Resurrecting recurrent neural networks for long
  sequences", ICML 2023, arXiv:2303.06349 (LRU).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness, _trainer
from jaxrnn import diagnostics, models, training

LRU_RING = (0.9, 0.999)  # the LRU's initial |λ| range (the paper's on the Long Range Arena)
# The fold of a seed's data key that draws the baselines' training sequences: far past
# any training step, so the models never see these sequences.
FIT_FOLD = 2**31 - 1
Template = jaxrnn.RecurrentCell | models.SequenceLayer
Runs = Mapping[int, Mapping[str, Mapping[str, Any]]]  # runs[T][model][key]
Baselines = Mapping[int, Mapping[str, np.ndarray]]  # baselines[T][name], per seed


def recurrent_models(hidden: int, chrono_t_max: float) -> dict[str, tuple[str, Template]]:
    """Model name -> (label, cell or sequence layer template).

    The tanh RNN gets the library's default initialisation (Glorot-uniform input kernel,
    orthogonal recurrent kernel: spectral radius 1), the fair negative: a model that
    fails the task with it fails for want of memory, not of a sensible start.

    Args:
      hidden: units (the LRU's complex states).
      chrono_t_max: chrono's :math:`T_{max}` (Tallec & Ollivier).
    """
    return {
        "tanh": ("tanh RNN, library init (orthogonal W_h)", jaxrnn.SimpleRNNCell(hidden)),
        "irnn": (
            "IRNN",
            jaxrnn.SimpleRNNCell(
                hidden,
                activation="relu",
                kernel_init=("normal", {"stddev": 0.001}),
                recurrent_kernel_init=("identity", {"gain": 1.0}),
            ),
        ),
        "lstm_forget0": (
            "LSTM, b_f = 0",
            jaxrnn.LSTMCell(hidden, bias_init=("lstm_bias", {"forget": 0.0})),
        ),
        "lstm_forget1": (
            "LSTM, b_f = 1",
            jaxrnn.LSTMCell(hidden, bias_init=("lstm_bias", {"forget": 1.0})),
        ),
        "lstm_chrono": (
            f"LSTM, chrono T_max={chrono_t_max:g}",
            jaxrnn.LSTMCell(hidden, bias_init=("chrono", {"t_max": float(chrono_t_max)})),
        ),
        # Cho et al.'s (2014) GRU, the references' formula (jaxrnn's default is PyTorch's).
        "gru": ("GRU", jaxrnn.GRUCell(hidden, reset_after=False)),
        "mingru": ("minGRU (parallel scan)", jaxrnn.MinGRU(hidden)),
        "minlstm": ("minLSTM (parallel scan)", jaxrnn.MinLSTM(hidden)),
        "lru": (
            f"LRU, |λ| in [{LRU_RING[0]:g}, {LRU_RING[1]:g}]",
            jaxrnn.LRU(state_size=hidden, r_min=LRU_RING[0], r_max=LRU_RING[1]),
        ),
    }


def make_model(head: Callable[..., nn.Module], cell: Template, hidden: int) -> nn.Module:
    """``head(cell)``; an LRU gets the paper's linear encoder, a projection to ``hidden``."""
    return head(cell, input_projection=hidden if isinstance(cell, jaxrnn.LRU) else None)


# ---------------------------------------------------------------------------------------
# Config.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """The fields both tasks' configs share (see the subclasses' docstrings).

    Attributes:
      lengths: sequence lengths (gaps) T.
      hidden_size: recurrent units.
      batch_size: sequences per step and seed.
      num_steps: training steps.
      learning_rate: the optimiser's learning rate.
      optimizer: ``adam`` or ``rmsprop``.
      seeds: one run per seed (weights and data); vmapped.
      models: names from the subclass's ``known_models``.
      eval_size: evaluation sequences per seed (models and baselines).
      fit_size: training sequences per seed the baselines are fitted on.
      smoothing: moving-average window (steps) of the training-loss curves.
    """

    # Class attributes, not fields (unannotated: check_types reads only the fields).
    known_models = ()  # the model names a subclass accepts
    min_length = 1
    even_lengths = False
    positive = ("learning_rate",)  # float fields that must be > 0

    lengths: tuple[int, ...] = (50,)
    hidden_size: int = 32
    batch_size: int = 32
    num_steps: int = 1000
    learning_rate: float = 1e-2
    optimizer: str = "adam"
    seeds: tuple[int, ...] = (100, 101, 102)
    models: tuple[str, ...] = ()
    eval_size: int = 1000
    fit_size: int = 20000
    smoothing: int = 25

    def __post_init__(self):
        _harness.check_types(self)
        name = type(self).__name__
        sizes = ("hidden_size", "batch_size", "num_steps", "eval_size", "fit_size", "smoothing")
        for field in sizes:
            if getattr(self, field) < 1:
                raise ValueError(f"{name}: expected `{field}` >= 1, got {getattr(self, field)}")
        even = self.even_lengths
        if not self.lengths or any(t < self.min_length or (even and t % 2) for t in self.lengths):
            raise ValueError(
                f"{name}: expected {'even ' if even else ''}`lengths` >= {self.min_length}, "
                f"got {self.lengths}"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"{name}: expected distinct `seeds`, at least one, got {self.seeds}")
        unknown = [m for m in self.models if m not in self.known_models]
        if unknown:
            raise ValueError(
                f"{name}: unknown `models` {unknown}; known: {', '.join(self.known_models)}"
            )
        if not self.models or len(set(self.models)) != len(self.models):
            raise ValueError(f"{name}: expected `models` non-empty and distinct, got {self.models}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(
                f"{name}: expected `optimizer` adam or rmsprop, got {self.optimizer!r}"
            )
        for field in self.positive:
            if not getattr(self, field) > 0:
                raise ValueError(f"{name}: expected `{field}` > 0, got {getattr(self, field)}")


def smoke(config_class: type[Config], **changes: Any) -> Config:
    """A seconds-long config for the tests: tiny sizes, two seeds (``changes`` win)."""
    tiny = dict(hidden_size=4, batch_size=4, num_steps=6, seeds=(0, 1), eval_size=8, fit_size=64)
    return config_class(**{**tiny, "smoothing": 2, **changes})


# ---------------------------------------------------------------------------------------
# Task, data split, training.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Task:
    """What one synthetic task is, for the shared loop.

    Attributes:
      name: the experiment's name.
      draw: ``(key, batch_size, length) -> (x (b, t, i), y)``, model-ready inputs.
      head: ``head(cell, input_projection=...) -> nn.Module`` (a library model).
      loss: ``(outputs, y) -> scalar``, the training loss and the evaluation metric.
      metric: the metric's name in the table and figure, e.g. ``"MSE"``.
      chrono_t_max: ``length -> T_max`` of the chrono LSTM.
      baselines: ``(fit (x, y), eval (x, y)) -> {name: value}`` for one seed (NumPy
        arrays), the baselines fitted on the training sequences and scored on the
        evaluation ones; the first is the one the table divides by.
      claimed: the models with a claim of their own (a run without one says so).
      calibration_seeds: the seeds the thresholds were chosen on.
      thresholds: the frozen thresholds, by name, for ``results.json``.
    """

    name: str
    draw: Callable[[jax.Array, int, int], tuple[jax.Array, jax.Array]]
    head: Callable[..., nn.Module]
    loss: Callable[[jax.Array, jax.Array], jax.Array]
    metric: str
    chrono_t_max: Callable[[int], float]
    baselines: Callable[[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], dict]
    claimed: tuple[str, ...]
    calibration_seeds: tuple[int, ...]
    thresholds: Mapping[str, Any]

    def templates(self, config: Config, length: int) -> dict[str, tuple[str, Template]]:
        """``recurrent_models`` at ``length``, restricted to the config's known models."""
        every = recurrent_models(config.hidden_size, self.chrono_t_max(length))
        return {name: every[name] for name in config.known_models}


@dataclasses.dataclass
class Split:
    """One length's keys and sequences, one row per seed.

    Attributes:
      init_keys: ``(s,)`` keys of the models' weights (and dropout rngs).
      data_keys: ``(s,)`` keys of the training streams (``fold_in(key, step)``).
      fit: ``(x, y)`` with a leading seed axis: the baselines' training sequences.
      eval: ``(x, y)`` with a leading seed axis: every model's and baseline's test set.
    """

    init_keys: jax.Array
    data_keys: jax.Array
    fit: tuple[jax.Array, jax.Array]
    eval: tuple[jax.Array, jax.Array]


def make_split(config: Config, task: Task, length: int) -> Split:
    """The keys and sequences of ``length``: the same for every model, not across seeds."""
    keys = _trainer.seed_keys(config.seeds, length)
    split = jax.vmap(lambda k: jax.random.split(k, 3))(keys)
    init_keys, data_keys, eval_keys = split[:, 0], split[:, 1], split[:, 2]
    fit_keys = jax.vmap(lambda k: jax.random.fold_in(k, FIT_FOLD))(data_keys)
    fit = jax.vmap(lambda k: task.draw(k, config.fit_size, length))(fit_keys)
    held = jax.vmap(lambda k: task.draw(k, config.eval_size, length))(eval_keys)
    return Split(init_keys, data_keys, fit, held)


def fresh_batches(
    task: Task, keys: jax.Array, batch_size: int, length: int
) -> Callable[[int], dict[str, jax.Array]]:
    """``batches(step)``: a pure, jitted function of the step, one batch per seed.

    Args:
      task: draws the sequences.
      keys: ``(s,)`` PRNG keys, one data stream per seed.
      batch_size: ``b``.
      length: ``T``.

    Returns:
      ``step -> {"x": (s, b, ...), "y": (s, b, ...)}`` from ``fold_in(key, step)``.
    """

    @jax.jit
    def batches(step):
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, step))(keys)
        x, y = jax.vmap(lambda k: task.draw(k, batch_size, length))(step_keys)
        return {"x": x, "y": y}

    return batches


def initial_spectral_radius(
    model: nn.Module, init_keys: jax.Array, example: jax.Array, activation: str
) -> np.ndarray:
    """``(s,)`` spectral radius of each seed's initial recurrent kernel.

    The initial parameters are drawn as ``_trainer.train_seeds`` draws them (the first
    half of each key's split), so these are the kernels the runs start from.
    """
    params = jax.vmap(lambda k: model.init(jax.random.split(k)[0], example))(init_keys)
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    (kernel,) = [leaf for path, leaf in flat if path[-1].key == "recurrent_kernel"]
    spectrum = diagnostics.recurrent_spectrum(kernel, activation)
    return np.asarray(spectrum.spectral_radius, np.float64)


def train_model(
    config: Config,
    task: Task,
    name: str,
    length: int,
    split: Split,
    optimizer,
    *,
    dtype: Any = None,
) -> dict[str, Any]:
    """Trains one model on every seed at once through ``_trainer.train_seeds``.

    ``dtype`` (e.g. ``jnp.bfloat16``) replaces the cell's compute dtype; the default
    keeps the template's.

    Returns:
      ``loss (steps, s)`` the training curves, ``final (s,)`` the metric on the
      evaluation sequences, ``seconds`` (compilation included) and, for a simple RNN,
      ``spectral_radius (s,)`` of its initial recurrent kernel.
    """
    cell = task.templates(config, length)[name][1]
    if dtype is not None:
        cell = cell.clone(dtype=dtype)
    model = make_model(task.head, cell, config.hidden_size)
    example = split.eval[0][0, :1]

    def loss_fn(params, batch, rng):
        del rng
        return task.loss(model.apply(params, batch["x"]), batch["y"])

    eval_x, eval_y = split.eval

    @jax.jit
    def evaluate(params):
        held_out = {"x": eval_x, "y": eval_y}
        return {"metric": jax.vmap(loss_fn, in_axes=(0, 0, None))(params, held_out, None)}

    start = time.perf_counter()
    try:
        runs = _trainer.train_seeds(
            lambda key: model.init(key, example),
            loss_fn,
            optimizer,
            fresh_batches(task, split.data_keys, config.batch_size, length),
            split.init_keys,
            num_steps=config.num_steps,
            eval_fn=evaluate,
            description=f"{task.name} T={length} {name}"
            + ("" if dtype is None else f" ({jnp.dtype(dtype).name})"),
        )
    except training.NonFiniteError as err:
        # Every seed diverged (e.g. an IRNN at a long T and a large rate): the model's
        # figures are NaN, so every claim about it fails, and the other models still run.
        nan = np.full(len(config.seeds), np.nan)
        got = {
            "loss": np.full((config.num_steps, len(config.seeds)), np.nan),
            "final": nan,
            "seconds": time.perf_counter() - start,
            "diverged": str(err),
        }
    else:
        got = {
            "loss": runs.loss,
            "final": np.asarray(runs.final["metric"], np.float64),
            "seconds": runs.seconds,
        }
    if isinstance(cell, jaxrnn.SimpleRNNCell):
        got["spectral_radius"] = initial_spectral_radius(
            model, split.init_keys, example, cell.activation
        )
    return got


def seed_baselines(task: Task, split: Split) -> dict[str, np.ndarray]:
    """``{baseline: (s,)}``: ``task.baselines`` of every seed, on that seed's sequences."""
    fit = [np.asarray(a) for a in split.fit]
    held = [np.asarray(a) for a in split.eval]
    per_seed = [
        task.baselines((fit[0][s], fit[1][s]), (held[0][s], held[1][s])) for s in range(len(fit[0]))
    ]
    return {name: np.array([row[name] for row in per_seed]) for name in per_seed[0]}


def run_models(
    config: Config, task: Task, optimizer: optax.GradientTransformation
) -> tuple[dict[int, dict[str, dict]], dict[int, dict[str, np.ndarray]]]:
    """Every model at every length, and the baselines on the same sequences.

    Returns:
      ``(runs, baselines)``: ``runs[T][model]`` as ``train_model`` returns it;
      ``baselines[T][name]`` one value per seed.
    """
    runs, baselines = {}, {}
    for length in config.lengths:
        split = make_split(config, task, length)
        baselines[length] = seed_baselines(task, split)
        runs[length] = {
            name: train_model(config, task, name, length, split, optimizer)
            for name in config.models
        }
    return runs, baselines


# ---------------------------------------------------------------------------------------
# Metrics, table, figure, result.
# ---------------------------------------------------------------------------------------


def metrics(
    config: Config,
    runs: Runs,
    baselines: Baselines,
    thresholds: Mapping[str, Any],
) -> dict[str, Any]:
    """The numbers of ``results.json``: per length the baselines and every run."""
    keep = ("final", "seconds", "spectral_radius", "steps_to_solve", "diverged")
    return {
        "lengths": list(config.lengths),
        "baselines": {str(t): dict(b) for t, b in baselines.items()},
        "runs": {
            str(length): {
                name: {
                    **{k: run[k] for k in keep if k in run},
                    # Every 10th point of the smoothed curve keeps results.json small.
                    "loss_smoothed_every_10": _harness.moving_average(
                        run["loss"], config.smoothing
                    )[9::10],
                }
                for name, run in got.items()
            }
            for length, got in runs.items()
        },
        "thresholds": dict(thresholds),
    }


def _numbers(values: Sequence[float], fmt: str) -> str:
    return " ".join(format(v, fmt) for v in values)


def table(
    config: Config,
    task: Task,
    runs: Runs,
    baselines: Baselines,
    header: str,
) -> str:
    """The printed table: per length the baselines, then per model its seeds' figures.

    Columns: the final metric per seed, its ratio to the first baseline per seed, the
    steps to solve where measured, the initial spectral radius of a simple RNN's
    recurrent kernel, and the wall time.
    """
    lines = [f"{header}; seeds {', '.join(map(str, config.seeds))}"]
    for length, got in runs.items():
        (main, base), *_ = baselines[length].items()
        lines += [
            f"T = {length}: "
            + "; ".join(f"{k} {_numbers(v, '.4f')}" for k, v in baselines[length].items()),
            f"{'model':14s} {f'final {task.metric} per seed':>30s} {f'/ {main}':>24s} "
            f"{'steps to solve':>16s} {'rho(W_h) at init':>18s} {'sec':>5s}",
        ]
        for name, run in got.items():
            steps = run.get("steps_to_solve")
            solve = (
                ""
                if steps is None
                else _numbers(steps, "d").replace(str(config.num_steps + 1), "-")
            )
            radius = _numbers(run["spectral_radius"], ".3f") if "spectral_radius" in run else ""
            lines.append(
                f"{name:14s} {_numbers(run['final'], '.4f'):>30s} "
                f"{_numbers(run['final'] / base, '.3f'):>24s} {solve:>16s} {radius:>18s} "
                f"{run['seconds']:5.0f}"
            )
    return "\n".join(lines)


def figure(
    config: Config,
    task: Task,
    runs: Runs,
    baselines: Baselines,
) -> Figure:
    """Smoothed training curves (seed mean, band: range) and the baselines (dashed)."""
    fig = Figure(figsize=(6 * len(config.lengths), 4.5), layout="constrained")
    axes = fig.subplots(1, len(config.lengths), squeeze=False)[0]
    steps = np.arange(1, config.num_steps + 1)
    for ax, (length, got) in zip(axes, runs.items(), strict=True):
        labels = task.templates(config, length)
        for name, run in got.items():
            curves = _harness.moving_average(run["loss"], config.smoothing)
            (line,) = ax.plot(steps, curves.mean(1), label=labels[name][0])
            ax.fill_between(steps, curves.min(1), curves.max(1), alpha=0.2, color=line.get_color())
        for (name, values), style in zip(baselines[length].items(), ("--", ":"), strict=False):
            ax.axhline(float(np.mean(values)), color="k", linestyle=style, label=name)
        ax.set(
            yscale="log",
            title=f"{task.name}, T = {length}",
            xlabel="step",
            ylabel=f"training {task.metric} ({config.smoothing}-step mean)",
        )
        ax.grid(alpha=0.3)
    axes[0].legend(title="seed mean (band: per-seed range)", fontsize="small")
    return fig


def radius_text(runs: Runs, name: str) -> str:
    """``"T=50: 1.000..1.000"``: the initial spectral radius range of model ``name``."""
    parts = [
        f"T={length}: {got[name]['spectral_radius'].min():.3f}..."
        f"{got[name]['spectral_radius'].max():.3f}"
        for length, got in runs.items()
        if name in got and "spectral_radius" in got[name]
    ]
    return ", ".join(parts)


def result(
    config: Config,
    task: Task,
    runs: Runs,
    baselines: Baselines,
    claims: Callable[[Config, Any, Any], list[_harness.Claim]],
    summary: Callable[[Config, Any, Any], str],
    clipping: str,
) -> _harness.Result:
    """The ``Result``: claims, metrics, table, loss figure.

    Args:
      config: the run's config.
      task: the task.
      runs: ``runs[T][model]``.
      baselines: ``baselines[T][name]``, per seed.
      claims: ``(config, runs, baselines) -> claims``.
      summary: ``(config, runs, baselines) -> paragraph`` for the report; the models
        whose claims were skipped are added to it.
      clipping: how gradients are clipped, for the table's header.
    """
    text = summary(config, runs, baselines)
    missing = [m for m in task.claimed if m not in config.models]
    if missing:
        text += f" Models not run, their claims skipped: {', '.join(missing)}."
    header = (
        f"hidden {config.hidden_size}, batch {config.batch_size}, {config.num_steps} steps, "
        f"{config.optimizer} {config.learning_rate:g}, {clipping}"
    )
    return _harness.Result(
        name=task.name,
        config=config,
        seeds=config.seeds,
        metrics=metrics(config, runs, baselines, task.thresholds),
        claims=claims(config, runs, baselines),
        summary=text,
        table=table(config, task, runs, baselines, header),
        figures={"loss": figure(config, task, runs, baselines)},
        calibration_seeds=task.calibration_seeds,
    )


# ---------------------------------------------------------------------------------------
# Claims of one model's final metric against a baseline.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bound:
    """A claim about one model's final metric over a baseline (``_harness.versus``).

    Attributes:
      model: the model's name.
      words: what is claimed, after ``"T=<length>: "``.
      baseline: the baseline's name (a key of the task's baselines).
      low: lower bound on ``reduce`` of model / baseline over seeds.
      high: upper bound.
      reduce: ``max`` (worst seed of a lower-is-better metric), ``min``, ``median``.
    """

    model: str
    words: str
    baseline: str
    low: float = -math.inf
    high: float = math.inf
    reduce: str = "max"


def bound_claims(
    length: int,
    got: Mapping[str, Mapping[str, Any]],
    baselines: Mapping[str, np.ndarray],
    bounds: Sequence[Bound],
) -> list[_harness.Claim]:
    """The claims of ``bounds`` whose model ran, each against its per-seed baseline."""
    return [
        _harness.versus(
            f"T={length}: {bound.words}",
            got[bound.model]["final"],
            bound.baseline,
            baselines[bound.baseline],
            low=bound.low,
            high=bound.high,
            reduce=bound.reduce,
        )
        for bound in bounds
        if bound.model in got
    ]


def main_of(name: str, module_name: str) -> Callable[[list[str] | None], int]:
    """``main(argv)`` of an experiment module: ``python -m experiments.<module>``."""
    return functools.partial(_harness.module_main, name, module_name)
