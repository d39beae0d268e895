"""The experiments' one trainer: a model over several seeds at once, curves and finals.

Every experiment trains "one model, one run per seed" the same way: one train state per
seed (``jax.vmap`` of ``TrainState.create``), one vmapped, jitted step
(``jaxrnn.training.make_train_step(num_seeds=s)``), ``jaxrnn.training.fit`` for the loop,
and the per-seed training curves and final evaluation read back as NumPy arrays. This
module is that, once: ``seed_keys`` derives the per-seed keys, ``stack_batches`` stacks
one ``array_batches`` stream per seed, and ``train_seeds`` runs the loop.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import training


def seed_keys(seeds: Sequence[int], *fold: int) -> jax.Array:
    """``(s,)`` typed PRNG keys, ``key(seed)`` folded with each of ``fold`` in turn.

    Args:
      seeds: one integer per run.
      *fold: integers folded into every key (e.g. a sequence length), so that runs of
        one seed at different settings draw different numbers.

    Returns:
      The keys, stacked.
    """
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds))
    for value in fold:
        keys = jax.vmap(lambda k, v=value: jax.random.fold_in(k, v))(keys)
    return keys


def stack_batches(
    arrays: Mapping[str, Any], batch_size: int, seeds: Sequence[int]
) -> Callable[[int], dict[str, np.ndarray]]:
    """``batch(step)`` with a leading seed axis: one ``array_batches`` order per seed.

    Args:
      arrays: same-length arrays ``(n, ...)``.
      batch_size: examples per seed and step.
      seeds: one data-order seed per run.

    Returns:
      ``batch(step) -> {name: (s, batch_size, ...)}``.
    """
    streams = [training.array_batches(arrays, batch_size, seed) for seed in seeds]

    def batch(step: int) -> dict[str, np.ndarray]:
        parts = [stream(step) for stream in streams]
        return {k: np.stack([p[k] for p in parts]) for k in parts[0]}

    return batch


@dataclasses.dataclass
class SeedRuns:
    """What ``train_seeds`` returns.

    Attributes:
      curves: each logged scalar metric of the step (``loss``, ``grad_norm``, ...) as a
        ``(logs, s)`` float64 array.
      steps: ``(logs,)`` the logged steps (1-based).
      final: the last evaluation, each entry a ``(s, ...)`` array.
      evals: every evaluation (``step`` included), as ``fit`` returns them.
      state: the final vmapped ``TrainState``.
      seconds: wall time, compilation included.
    """

    curves: dict[str, np.ndarray]
    steps: np.ndarray
    final: dict[str, np.ndarray]
    evals: list[dict[str, Any]]
    state: training.TrainState
    seconds: float

    @property
    def loss(self) -> np.ndarray:
        """``(logs, s)``: the training loss curves."""
        return self.curves["loss"]


@functools.lru_cache(maxsize=32)
def _programs(init, loss_fn, optimizer, num_seeds: int, shared_batch: bool):
    """The jitted ``create`` and ``step``, built once per (init, loss, optimizer, seeds).

    Cached on the objects' identity, so that two runs of one model (e.g. two input
    orders of the same shape) share one compilation.
    """

    @jax.jit
    @jax.vmap
    def create(key):
        init_key, rng_key = jax.random.split(key)
        return training.TrainState.create(init(init_key), optimizer, rng_key)

    step = training.make_train_step(
        loss_fn, optimizer, num_seeds=num_seeds, shared_batch=shared_batch
    )
    return create, step


def train_seeds(
    init: Callable[[jax.Array], Any],
    loss_fn: Callable[..., Any],
    optimizer: optax.GradientTransformation,
    batches: Callable[[int], Any],
    keys: jax.Array,
    *,
    num_steps: int,
    eval_fn: Callable[[Any], Mapping[str, Any]] | None = None,
    eval_every: int = 0,
    log_every: int = 1,
    shared_batch: bool = False,
    max_nonfinite_steps: int = 10,
    progress: bool = True,
    description: str = "train",
) -> SeedRuns:
    """Trains one run per key, all at once (vmapped), through ``training.fit``.

    Args:
      init: ``key -> params`` for one run (e.g. ``lambda k: model.init(k, example)``).
      loss_fn: ``(params, batch, rng) -> loss`` or ``(loss, aux)`` for one run.
      optimizer: the optax transformation (``training.make_optimizer``).
      batches: ``step -> batch``, every leaf with a leading seed axis ``s`` (or one
        batch for every seed with ``shared_batch``).
      keys: ``(s,)`` PRNG keys, one per run; each is split into the init key and the
        train state's rng (dropout).
      num_steps: training steps.
      eval_fn: ``params (vmapped, leading s) -> {name: (s, ...)}``, run after the last
        step (and every ``eval_every`` steps).
      eval_every: evaluate every this many steps (0: at the end only).
      log_every: log (and return in ``curves``) every this many steps.
      shared_batch: one batch for every seed.
      max_nonfinite_steps: ``fit``'s limit on consecutive skipped steps.
      progress: show a progress bar.
      description: the progress bar's label.

    Returns:
      The curves, the final evaluation and the final state.

    The jitted programs are cached on ``(init, loss_fn, optimizer)`` by identity: pass
    the same objects to reuse one compilation across calls of the same shapes.
    """
    start = time.perf_counter()
    create, step = _programs(init, loss_fn, optimizer, len(keys), shared_batch)
    result = training.fit(
        create(keys),
        step,
        batches,
        num_steps=num_steps,
        eval_fn=eval_fn,
        eval_every=eval_every,
        log_every=log_every,
        max_nonfinite_steps=max_nonfinite_steps,
        progress=progress,
        description=description,
    )
    history = result.history
    names = [k for k, v in history[0].items() if k != "step" and np.ndim(v) == 1]
    curves = {k: np.asarray([row[k] for row in history], np.float64) for k in names}
    final = {} if not result.evals else result.evals[-1]
    return SeedRuns(
        curves=curves,
        steps=np.asarray([row["step"] for row in history]),
        final={k: np.asarray(v) for k, v in final.items() if k != "step"},
        evals=result.evals,
        state=result.state,
        seconds=time.perf_counter() - start,
    )
