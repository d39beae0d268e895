r"""Training: the optax chain (clip, then Adam), a guarded jitted step, and ``fit``.

The design's optimiser is ``optax.chain(optax.clip_by_global_norm(c), optax.adam(lr))``:
gradient-norm clipping (Pascanu et al. 2013, Algorithm 1) *ahead of* Adam, so that one
exploding gradient is scaled down before it reaches Adam's moment estimates. Clipping
after Adam would let a single norm-1e6 gradient inflate the second-moment estimate
:math:`v` and shrink every later update by orders of magnitude.

``make_train_step`` builds a jitted ``step(state, batch) -> (state, metrics)`` reporting
the loss, the global gradient norm before and after clipping, whether it clipped, and
the parameter norm. A step whose loss or gradients are not finite leaves the parameters
and the optimizer state bit-identical and is counted; ``fit`` stops with
``NonFiniteError`` after ``max_nonfinite_steps`` such steps in a row.

Several seeds train in one program by ``jax.vmap`` over the state (``num_seeds``), and
data parallelism over devices comes from ``jaxrnn.parallel`` (a sharded batch and
replicated parameters; XLA inserts the gradient all-reduce).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import numbers
import pathlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import _checks
from jaxrnn.typing import Array

_CLIPPINGS = ("global_norm", "elementwise", "none")
_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
_SCHEDULES = ("constant", "cosine", "warmup_cosine", "linear")


class NonFiniteError(RuntimeError):
    """Training stopped after too many consecutive non-finite steps."""


class PreemptedError(RuntimeError):
    """A multi-process ``fit`` stopped at a step agreed by every process on a SIGTERM.

    jax's preemption service turns a SIGTERM to any process (a scheduler's preemption
    notice, ``kill``, ``timeout``) into a step that every process reaches; ``fit`` saves a
    checkpoint there (with ``checkpoint_dir``) and raises this in every process.
    Relaunching the same command resumes from that step.
    """


# ---------------------------------------------------------------------------------------
# Optimisers.
# ---------------------------------------------------------------------------------------


class ClippedNormState(NamedTuple):
    """State of ``record_clipped_norm``: the global norm of the last updates it saw."""

    clipped_grad_norm: Array


def record_clipped_norm() -> optax.GradientTransformation:
    """Identity transformation that records the global norm of what passes through.

    Placed right after the clipping transformation, its state holds the norm of the
    clipped gradient, which the train step reports (``optax.tree_utils.tree_get``).

    Returns:
      An ``optax.GradientTransformation`` leaving updates unchanged.
    """

    def init(params):
        del params
        return ClippedNormState(jnp.zeros((), jnp.float32))

    def update(updates, state, params=None):
        del state, params
        return updates, ClippedNormState(optax.tree.norm(updates).astype(jnp.float32))

    return optax.GradientTransformation(init, update)


def _schedule(
    learning_rate: float | optax.Schedule,
    schedule: str | None,
    total_steps: int | None,
    warmup_steps: int,
) -> float | optax.Schedule:
    if callable(learning_rate):
        if schedule not in (None, "constant"):
            raise ValueError(
                "make_optimizer: `schedule` must be None when `learning_rate` is already a "
                f"schedule, got {schedule!r}"
            )
        return learning_rate
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(
            f"make_optimizer: expected `learning_rate` to be a number or an optax schedule, "
            f"got {learning_rate!r}"
        )
    learning_rate = _checks.real_in(
        "make_optimizer", "learning_rate", learning_rate, 0, low_open=True
    )
    if schedule in (None, "constant"):
        return learning_rate
    if schedule not in _SCHEDULES:
        raise ValueError(f"make_optimizer: expected `schedule` in {_SCHEDULES}, got {schedule!r}")
    if total_steps is None:
        raise ValueError(f"make_optimizer: schedule={schedule!r} needs an int `total_steps`")
    _checks.nonnegative_int("make_optimizer", "warmup_steps", warmup_steps)
    _checks.positive_int("make_optimizer", "total_steps", total_steps)
    if total_steps <= warmup_steps:
        raise ValueError(
            "make_optimizer: a schedule needs int `total_steps` > `warmup_steps` >= 0, got "
            f"total_steps={total_steps!r}, warmup_steps={warmup_steps!r}"
        )
    if schedule == "cosine":
        return optax.cosine_decay_schedule(learning_rate, total_steps)
    if schedule == "linear":
        return optax.linear_schedule(learning_rate, 0.0, total_steps)
    return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup_steps, total_steps)


def make_optimizer(
    learning_rate: float | optax.Schedule,
    max_grad_norm: float | None = 1.0,
    *,
    clipping: str = "global_norm",
    optimizer: str = "adam",
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    momentum: float = 0.9,
    nesterov: bool = False,
    decay: float = 0.9,
    weight_decay: float = 1e-4,
    schedule: str | None = None,
    total_steps: int | None = None,
    warmup_steps: int = 0,
) -> optax.GradientTransformation:
    r"""The training optimiser: clipping, then the update rule.

    By default ``optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr))``
    (with ``record_clipped_norm`` between them). Pascanu et al.'s Algorithm 1:

    .. math::
        g \leftarrow \frac{c}{\|g\|} g \quad \text{if } \|g\| \ge c,

    with :math:`c` suggested between 0.5 and 10 times the average gradient norm.

    Args:
      learning_rate: a float or an optax schedule.
      max_grad_norm: ``c``: the global-norm threshold, or the elementwise bound for
        ``clipping="elementwise"``; ignored for ``clipping="none"``; None with the
        default clipping means no clipping.
      clipping: ``"global_norm"`` (default), ``"elementwise"`` (each gradient entry
        clipped to ``[-c, c]``, as in Arjovsky et al.'s uRNN experiments) or ``"none"``.
      optimizer: ``"adam"``, ``"adamw"`` (decoupled ``weight_decay``), ``"sgd"`` (with
        ``momentum``, optionally ``nesterov``: Sutskever et al. 2013) or ``"rmsprop"`` (``decay``,
        ``eps``; the optimiser of the copy and adding problem papers).
      b1: Adam's first-moment decay.
      b2: Adam's second-moment decay.
      eps: Adam's / RMSprop's epsilon.
      momentum: SGD momentum (0 for plain SGD).
      nesterov: Nesterov momentum for SGD.
      decay: RMSprop's squared-gradient decay.
      weight_decay: AdamW's decoupled weight decay.
      schedule: ``None`` / ``"constant"``, ``"cosine"``, ``"warmup_cosine"`` or
        ``"linear"`` (to zero), over ``total_steps``.
      total_steps: length of the schedule.
      warmup_steps: linear warm-up steps of ``"warmup_cosine"``.

    Returns:
      An ``optax.GradientTransformation``.

    Raises:
      ValueError: unknown ``clipping``, ``optimizer`` or ``schedule``; a learning rate,
        threshold or ``eps`` that is not finite and > 0; ``b1``, ``b2``, ``decay``
        outside ``[0, 1)``; a negative ``momentum`` or ``weight_decay`` (PyTorch's
        bounds).
      TypeError: a hyper-parameter that is not a real number.

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013, arXiv:1211.5063. Kingma & Ba, "Adam", ICLR 2015.
    """
    owner = "make_optimizer"
    # PyTorch's bounds (torch.optim.Adam/SGD/RMSprop): 0 <= beta < 1, eps >= 0, momentum
    # >= 0, weight decay >= 0.
    b1 = _checks.real_in(owner, "b1", b1, 0, 1, high_open=True)
    b2 = _checks.real_in(owner, "b2", b2, 0, 1, high_open=True)
    eps = _checks.real_in(owner, "eps", eps, 0)
    momentum = 0.0 if momentum is None else _checks.real_in(owner, "momentum", momentum, 0)
    decay = _checks.real_in(owner, "decay", decay, 0, 1, high_open=True)
    weight_decay = _checks.real_in(owner, "weight_decay", weight_decay, 0)
    if not isinstance(nesterov, bool):
        raise TypeError(f"{owner}: expected `nesterov` to be a bool, got {nesterov!r}")
    if max_grad_norm is not None and clipping != "none" and max_grad_norm != math.inf:
        # inf: nothing is clipped, the norm is still recorded
        max_grad_norm = _checks.real_in(owner, "max_grad_norm", max_grad_norm, 0, low_open=True)
    if max_grad_norm is None and clipping == "global_norm":
        clipping = "none"  # max_grad_norm=None: no clipping
    if clipping not in _CLIPPINGS:
        raise ValueError(f"make_optimizer: expected `clipping` in {_CLIPPINGS}, got {clipping!r}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(
            f"make_optimizer: expected `optimizer` in {_OPTIMIZERS}, got {optimizer!r}"
        )
    lr = _schedule(learning_rate, schedule, total_steps, warmup_steps)
    chain = []
    if clipping != "none":
        if max_grad_norm is None:
            raise ValueError(
                f"make_optimizer: expected `max_grad_norm` > 0 with clipping={clipping!r}, "
                f"got {max_grad_norm!r}"
            )
        if clipping == "global_norm":
            chain.append(optax.clip_by_global_norm(max_grad_norm))
        else:
            chain.append(optax.clip(max_grad_norm))
    chain.append(record_clipped_norm())
    if optimizer == "adam":
        chain.append(optax.adam(lr, b1=b1, b2=b2, eps=eps))
    elif optimizer == "adamw":
        chain.append(optax.adamw(lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay))
    elif optimizer == "sgd":
        chain.append(optax.sgd(lr, momentum=momentum or None, nesterov=nesterov))
    else:
        chain.append(optax.rmsprop(lr, decay=decay, eps=eps))
    return optax.chain(*chain)


# ---------------------------------------------------------------------------------------
# Train state and step.
# ---------------------------------------------------------------------------------------


class TrainState(flax.struct.PyTreeNode):
    """Everything a run needs to continue bit-identically: a pytree of arrays.

    Attributes:
      step: int32 scalar, the number of steps taken (skipped non-finite ones included).
      params: the parameters.
      opt_state: the optimizer state.
      rng: uint32 raw key data (``jax.random.key_data``) of the step rng stream.
      nonfinite_streak: int32, consecutive non-finite steps up to now.
      nonfinite_total: int32, all non-finite (skipped) steps.
    """

    step: Array
    params: Any
    opt_state: Any
    rng: Array
    nonfinite_streak: Array
    nonfinite_total: Array

    @classmethod
    def create(cls, params: Any, optimizer: optax.GradientTransformation, key: Array) -> TrainState:
        """A fresh state at step 0.

        Args:
          params: the initial parameters.
          optimizer: the optax transformation (its ``init`` makes ``opt_state``).
          key: a PRNG key (typed or raw) for dropout and other per-step randomness.

        Returns:
          The state.
        """
        dtype = getattr(key, "dtype", None)
        if dtype is None or not (
            jnp.issubdtype(dtype, jax.dtypes.prng_key) or jnp.issubdtype(dtype, jnp.unsignedinteger)
        ):
            raise TypeError(
                "TrainState.create: expected `key` to be a PRNG key (jax.random.key(seed)) or "
                f"its raw uint32 data, got {key!r}"
            )
        if jnp.issubdtype(dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        try:  # raw data of the wrong length fails here, not at the first step
            jax.random.wrap_key_data(key)
        except Exception as err:
            raise ValueError(
                "TrainState.create: expected `key` to be raw key data of the default PRNG "
                f"implementation (shape {jax.random.key_data(jax.random.key(0)).shape}), got "
                f"shape {jnp.shape(key)}"
            ) from err
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=optimizer.init(params),
            rng=jnp.asarray(key),
            nonfinite_streak=jnp.zeros((), jnp.int32),
            nonfinite_total=jnp.zeros((), jnp.int32),
        )


def _stays_finite(new: Any, old: Any) -> Array:
    """True unless an entry that was finite in ``old`` is not finite in ``new``.

    Entries that were already infinite stay allowed: ``optax.contrib.reduce_on_plateau``
    starts its best value at inf, a parameter may hold an ``-inf`` mask.
    """
    checks = [
        jnp.all(jnp.isfinite(n) | ~jnp.isfinite(o))
        for n, o in zip(jax.tree_util.tree_leaves(new), jax.tree_util.tree_leaves(old), strict=True)
        if jnp.issubdtype(jnp.result_type(n), jnp.inexact)
    ]
    return jnp.all(jnp.stack(checks)) if checks else jnp.asarray(True)


def _select(keep_new: Array, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(lambda n, o: jnp.where(keep_new, n, o), new, old)


def make_train_step(
    loss_fn: Callable[..., Any],
    optimizer: optax.GradientTransformation,
    *,
    num_seeds: int | None = None,
    shared_batch: bool = False,
    jit: bool = True,
) -> Callable[[TrainState, Any], tuple[TrainState, dict[str, Array]]]:
    r"""Builds ``step(state, batch) -> (state, metrics)``.

    ``loss_fn(params, batch, rng)`` returns a scalar loss or ``(loss, aux)`` with
    ``aux`` a dict of scalar metrics. The step splits ``state.rng``, differentiates,
    applies ``optimizer`` and, when the loss, the gradient norm, the new parameters or
    the new optimizer state are not finite, keeps the old parameters and optimizer
    state (selected, not zero-updated, so they stay bit-identical; unlike
    ``optax.apply_if_finite``, which lets non-finite updates through after a number of
    errors).

    Metrics: ``loss``, ``grad_norm`` (:math:`\|g\|` before clipping),
    ``clipped_grad_norm`` (after), ``clipped`` (bool), ``param_norm``, ``nonfinite``
    (bool), ``nonfinite_streak``, and ``aux``'s entries.

    Args:
      loss_fn: ``(params, batch, rng) -> loss`` or ``(loss, aux)``.
      optimizer: e.g. ``make_optimizer(...)``. Any optax transformation works; the
        clipped norm is read from ``record_clipped_norm``'s state when present, else it
        equals ``grad_norm``.
      num_seeds: if set, ``state`` has a leading axis of this size (one run per seed,
        e.g. from ``jax.vmap(TrainState.create, ...)``) and the step is vmapped over it.
      shared_batch: with ``num_seeds``: one batch for every seed instead of a batch
        with a leading seed axis.
      jit: wrap in ``jax.jit``.

    Returns:
      The step function.
    """

    def step(state: TrainState, batch: Any) -> tuple[TrainState, dict[str, Array]]:
        rng, step_rng = jax.random.split(jax.random.wrap_key_data(state.rng))

        def loss_and_aux(params):
            out = loss_fn(params, batch, step_rng)
            loss, aux = out if isinstance(out, tuple) else (out, {})
            if jnp.shape(loss) != ():
                raise TypeError(
                    "make_train_step: expected `loss_fn` to return a scalar loss (or "
                    f"(loss, aux)), got a loss of shape {jnp.shape(loss)}; reduce it, e.g. "
                    "with jnp.mean"
                )
            return loss, aux

        (loss, aux), grads = jax.value_and_grad(loss_and_aux, has_aux=True)(state.params)
        grad_norm = optax.tree.norm(grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        clipped_norm = optax.tree_utils.tree_get(opt_state, "clipped_grad_norm", grad_norm)
        # The update too: a huge learning rate can turn finite gradients into infinite
        # parameters (or optimizer moments).
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        finite = finite & _stays_finite(updates, state.params)
        finite = finite & _stays_finite(opt_state, state.opt_state)
        params = _select(finite, params, state.params)
        opt_state = _select(finite, opt_state, state.opt_state)
        streak = jnp.where(finite, 0, state.nonfinite_streak + 1).astype(jnp.int32)
        new_state = state.replace(
            step=state.step + 1,
            params=params,
            opt_state=opt_state,
            rng=jax.random.key_data(rng),
            nonfinite_streak=streak,
            nonfinite_total=state.nonfinite_total + (~finite).astype(jnp.int32),
        )
        metrics = {
            "loss": loss,
            "grad_norm": grad_norm,
            "clipped_grad_norm": clipped_norm.astype(grad_norm.dtype),
            "clipped": clipped_norm < grad_norm,
            "param_norm": optax.tree.norm(params),
            "nonfinite": ~finite,
            "nonfinite_streak": streak,
            **aux,
        }
        return new_state, metrics

    if num_seeds is not None:
        if isinstance(num_seeds, bool) or not isinstance(num_seeds, int) or num_seeds < 1:
            raise ValueError(f"make_train_step: expected `num_seeds` >= 1, got {num_seeds!r}")
        vmapped = jax.vmap(step, in_axes=(0, None if shared_batch else 0))

        def step(state: TrainState, batch: Any) -> tuple[TrainState, dict[str, Array]]:
            for path, leaf in jax.tree_util.tree_leaves_with_path(state):
                if jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != num_seeds:
                    raise ValueError(
                        f"make_train_step: with num_seeds={num_seeds}, expected every leaf of "
                        f"`state` to have a leading seed axis of {num_seeds}, got shape "
                        f"{jnp.shape(leaf)} at {jax.tree_util.keystr(path)}; build the state "
                        "with jax.vmap(TrainState.create, ...) over that many keys"
                    )
            return vmapped(state, batch)

    return jax.jit(step) if jit else step


# ---------------------------------------------------------------------------------------
# Data order and fit.
# ---------------------------------------------------------------------------------------


def array_batches(
    arrays: Mapping[str, Any],
    batch_size: int,
    seed: int,
    *,
    drop_last: bool = True,
    process_index: int | None = None,
    process_count: int | None = None,
) -> Callable[[int], dict[str, np.ndarray]]:
    """``batch(step)`` over in-memory arrays, reshuffled every epoch from ``seed``.

    The order is a pure function of ``(seed, step)``, so a resumed run sees exactly the
    batches an uninterrupted one would, and every process of a multi-process run draws
    the same global batch. Each process gets its own block of
    ``batch_size // process_count`` rows of it (``jaxrnn.parallel.local_batch``), which
    ``fit(..., mesh=...)`` assembles into the global batch; in a single process that
    block is the whole batch. The function's ``global_batch_size`` attribute is
    ``batch_size``, and ``fit`` checks the assembled batch against it.

    Args:
      arrays: same-length arrays ``(n, ...)``.
      batch_size: examples per global batch, ``<= n`` and divisible by
        ``process_count``.
      seed: the data-order seed (an integer ``>= 0``).
      drop_last: drop the incomplete batch at the end of each epoch (must be True with
        several processes, whose blocks must have one size).
      process_index: this process (default ``jax.process_index()``).
      process_count: the number of processes (default ``jax.process_count()``).

    Returns:
      ``batch(step) -> {name: (batch_size // process_count, ...)}``.

    Raises:
      ValueError: arrays of different lengths, a batch size out of range or not divisible
        by ``process_count``, a negative seed.
      TypeError: a batch size or seed that is not an integer.
    """
    from jaxrnn import parallel

    for name, value in (("batch_size", batch_size), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"array_batches: expected an integer `{name}`, got {value!r}")
    if seed < 0:
        raise ValueError(f"array_batches: expected `seed` >= 0, got {seed}")
    if not isinstance(arrays, Mapping) or not arrays:
        raise TypeError(
            f"array_batches: expected `arrays` to be a non-empty mapping of name to array, "
            f"got {type(arrays).__name__}"
        )
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if any(v.ndim == 0 for v in arrays.values()):
        raise ValueError("array_batches: expected `arrays` of rank >= 1 (examples first)")
    sizes = {len(v) for v in arrays.values()}
    if len(sizes) != 1:
        raise ValueError(f"array_batches: expected `arrays` of one length, got {sizes}")
    (n,) = sizes
    if not 0 < batch_size <= n:
        raise ValueError(f"array_batches: expected 0 < `batch_size` <= {n}, got {batch_size}")
    per_epoch = n // batch_size if drop_last else math.ceil(n / batch_size)

    layout: list[tuple[int, int]] = []  # read once, at the first batch

    def slot() -> tuple[int, int]:
        if layout:
            return layout[0]
        index, count = parallel.process_slot(process_index, process_count, "array_batches")
        if batch_size % count or (count > 1 and not drop_last):
            raise ValueError(
                f"array_batches: with process_count={count}, expected a `batch_size` divisible "
                f"by it and drop_last=True, got batch_size={batch_size}, drop_last={drop_last}"
            )
        layout.append((index, count))
        return index, count

    if process_index is not None or process_count is not None:
        slot()  # given: checked now; jax's own are read at the first batch, so that this
        # may be called before jax.distributed.initialize (which must precede the backend)

    def batch(step: int) -> dict[str, np.ndarray]:
        index, count = slot()
        local = batch_size // count
        epoch, position = divmod(int(step), per_epoch)
        order = np.random.default_rng([seed, epoch]).permutation(n)
        rows = order[position * batch_size : (position + 1) * batch_size]
        rows = rows[index * local : (index + 1) * local]
        return {k: v[rows] for k, v in arrays.items()}

    if drop_last:  # every batch has batch_size rows
        batch.global_batch_size = batch_size
    return batch


class FitResult(NamedTuple):
    """What ``fit`` returns.

    Attributes:
      state: the final ``TrainState``.
      history: one dict of host metrics per logged step (``step`` included).
      evals: one dict per evaluation (``step`` included).
    """

    state: TrainState
    history: list[dict[str, Any]]
    evals: list[dict[str, Any]]


def _host(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in jax.device_get(dict(metrics)).items():
        v = np.asarray(v)
        out[k] = v.item() if v.ndim == 0 else v.tolist()
    return out


def _median(value: Any) -> float:
    # Over seeds: one diverged seed must not turn the progress bar into inf.
    return float(np.median(value))


class _MetricsWriter:
    """Appends metrics rows to a ``.jsonl`` file, or to ``.csv`` files.

    A CSV file has one header, so evaluation rows (other columns) go to a sibling file
    ``<stem>_eval.csv``; JSONL keeps both kinds in one file, tagged by ``kind``.
    """

    def __init__(self, path: str | pathlib.Path | None, write: bool = True):
        self.path = None if path is None else pathlib.Path(path)
        self.fields: dict[pathlib.Path, list[str]] = {}
        if self.path is not None:
            if self.path.suffix not in (".jsonl", ".csv"):
                raise ValueError(
                    f"fit: expected `metrics_path` ending in .jsonl or .csv, got {self.path}"
                )
            blocked = [q for q in self.path.parents if q.exists() and not q.is_dir()]
            if self.path.is_dir() or blocked:
                raise ValueError(
                    f"fit: expected `metrics_path` to be a file in a directory, got {self.path} "
                    f"({'a directory' if self.path.is_dir() else f'{blocked[0]} is a file'})"
                )
            if not write:  # another process writes the file
                self.path = None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def drop_after(self, step: int) -> None:
        """Removes the rows of steps after ``step`` (logged, then lost with a crash).

        A resumed run logs those steps again; without this the file would hold them twice.
        A row that cannot be read (a line cut short by a crash) is dropped with a warning.
        """
        if self.path is None:
            return
        paths = [self.path]
        if self.path.suffix == ".csv":
            paths.append(self.path.with_name(self.path.stem + "_eval.csv"))
        for path in paths:
            if not path.exists() or path.stat().st_size == 0:
                continue
            if path.suffix == ".jsonl":
                rows = path.read_text().splitlines(keepends=True)
                kept = [line for line in rows if _row_step(line, json.loads) <= step]
                text = "".join(kept)
            else:
                with path.open(newline="") as f:
                    header, *rows = list(csv.reader(f))
                position = header.index("step") if "step" in header else -1

                def csv_step(row, position=position):
                    return {"step": row[position] if position >= 0 else None}

                kept = [row for row in rows if _row_step(row, csv_step) <= step]
                out = io.StringIO()
                csv.writer(out).writerows([header, *kept])
                text = out.getvalue()
            if len(kept) != len(rows):
                temporary = path.with_name(path.name + ".tmp")
                temporary.write_text(text)
                temporary.replace(path)  # atomic: a crash keeps the old file or the new

    def write(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        if self.path.suffix == ".jsonl":
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            return
        path = self.path
        if row.get("kind") == "eval":
            path = self.path.with_name(self.path.stem + "_eval.csv")
        flat = {k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
        new_file = not path.exists() or path.stat().st_size == 0
        if new_file or path not in self.fields:
            self.fields[path] = list(flat) if new_file else _csv_header(path)
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields[path], extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(flat)


def _row_step(row: Any, parse: Callable[[Any], dict[str, Any]]) -> float:
    """The step of a metrics row; infinity (dropped) with a warning if it is unreadable."""
    try:
        return int(parse(row)["step"])
    except (ValueError, KeyError, IndexError, TypeError):
        warnings.warn(f"fit: dropping an unreadable metrics row {row!r}", stacklevel=4)
        return math.inf


def _csv_header(path: pathlib.Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f))


def fit(
    state: TrainState,
    train_step: Callable[[TrainState, Any], tuple[TrainState, dict[str, Array]]],
    batches: Callable[[int], Any],
    *,
    num_steps: int,
    eval_fn: Callable[[Any], Mapping[str, Any]] | None = None,
    eval_every: int = 0,
    log_every: int = 1,
    metrics_path: str | pathlib.Path | None = None,
    checkpoint_dir: str | pathlib.Path | None = None,
    checkpoint_every: int = 0,
    keep_checkpoints: int = 3,
    resume: bool = True,
    max_nonfinite_steps: int = 10,
    mesh: Any = None,
    global_batch_size: int | None = None,
    progress: bool = True,
    description: str = "train",
) -> FitResult:
    """Runs ``train_step`` until ``state.step == num_steps``.

    The batch of step ``s`` is ``batches(s)``: with ``array_batches`` or any pure
    function of the step, the data order is fixed by the seed and a resumed run is
    bit-identical to an uninterrupted one.

    * Progress bar (tqdm) with the loss and the gradient norm (medians over seeds).
    * Metrics every ``log_every`` steps to ``metrics_path`` (``.jsonl`` or ``.csv``).
    * ``eval_fn(params) -> {name: value}`` every ``eval_every`` steps and at the end.
    * Checkpoints (orbax, atomic, the last ``keep_checkpoints`` kept) every
      ``checkpoint_every`` steps, at the end, and before any exception propagates, so
      no finished step is lost. A Ctrl-C is held until the step in flight (and a save in
      progress) is done, then raised as ``KeyboardInterrupt`` after saving that step; a
      second Ctrl-C raises at once (``jaxrnn._interrupts``). With ``resume`` and an
      existing checkpoint the run continues from the latest one; ``resume=False`` on a
      directory that already holds checkpoints raises ``CheckpointError`` rather than
      mixing two runs.
    * Non-finite steps are skipped by the step; after ``max_nonfinite_steps`` in a row
      (in every seed, for a vmapped state) ``NonFiniteError`` is raised.
    * ``mesh``: data parallelism; the state is replicated (a checkpoint is restored
      straight into the replicated sharding) and every batch sharded over the mesh's
      first axis (see ``jaxrnn.parallel``); the assembled global batch must have
      ``global_batch_size`` rows.

    Several processes (after ``jax.distributed.initialize``; see the README's
    multi-process section): every process runs ``fit`` with the same arguments and its
    own rows of each batch (``array_batches`` gives them). Process 0 alone writes
    ``metrics_path`` and shows the progress bar; every process evaluates (the evaluation
    may need the collectives) and returns the same history. An exception in one process
    ends every process within seconds, the failing one with its own error and the others
    with exit status 1 after printing it (``jaxrnn._peers``); the checkpoints finished
    before it stay, and relaunching every process resumes from the latest (a Ctrl-C too
    takes this path: the steps after the last checkpoint are lost). A SIGTERM to any
    process stops all of them at a step they agree on, saves it and raises
    ``PreemptedError``. ``NonFiniteError`` is raised by every process at the same step, after
    a collective save.

    Args:
      state: the initial state (ignored in favour of the checkpoint when resuming).
      train_step: from ``make_train_step``.
      batches: ``batch(step) -> batch``.
      num_steps: total steps of the run (not additional steps); a state restored at or
        past it trains nothing (with a UserWarning when past it).
      eval_fn: optional evaluation on the parameters.
      eval_every: evaluation period in steps (0: only at the end).
      log_every: logging period in steps.
      metrics_path: optional metrics file (``.jsonl``; or ``.csv``, with evaluation rows
        in ``<stem>_eval.csv``).
      checkpoint_dir: optional checkpoint directory.
      checkpoint_every: checkpoint period in steps (0: only at the end).
      keep_checkpoints: how many checkpoints to keep.
      resume: continue from the latest checkpoint in ``checkpoint_dir`` if any (if
        False, the directory must hold no checkpoint).
      max_nonfinite_steps: consecutive non-finite steps tolerated.
      mesh: optional ``jax.sharding.Mesh`` for data parallelism.
      global_batch_size: the leading size of the assembled global batch with ``mesh``;
        None takes ``batches.global_batch_size`` (set by ``array_batches``) if there is
        one, else nothing is checked.
      progress: show the progress bar (in process 0).
      description: the progress bar's label.

    Returns:
      ``FitResult(state, history, evals)``.

    Raises:
      NonFiniteError: too many consecutive non-finite steps (in every seed; a seed
        stuck alone gets a RuntimeWarning naming it, and trains no further).
      PreemptedError: a multi-process run stopped by a SIGTERM.
      ValueError: a global batch of another size than ``global_batch_size``.
      jaxrnn.checkpoint.CheckpointError: an unreadable checkpoint when resuming.
    """
    from tqdm.auto import tqdm

    from jaxrnn import _interrupts, _peers, parallel
    from jaxrnn import checkpoint as checkpoint_lib

    for name, value, low in (
        ("num_steps", num_steps, 1),
        ("log_every", log_every, 1),
        ("max_nonfinite_steps", max_nonfinite_steps, 1),
        ("eval_every", eval_every, 0),
        ("checkpoint_every", checkpoint_every, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"fit: expected int `{name}` >= {low}, got {value!r}")
    if global_batch_size is None:
        global_batch_size = getattr(batches, "global_batch_size", None)
    multi = jax.process_count() > 1
    lead = jax.process_index() == 0  # writes the metrics, shows the progress
    with contextlib.ExitStack() as cleanup:
        # Held from the start: a Ctrl-C during the restore is raised after the first step
        # (or when fit ends), not inside orbax or a gc callback, where Python loses it.
        interrupts = cleanup.enter_context(_interrupts.held())
        watch = cleanup.enter_context(_peers.PeerWatch("fit"))
        try:  # in a multi-process run, a failure here too must end every process
            writer = _MetricsWriter(metrics_path, write=lead)
            if mesh is not None:
                # Restored leaves take the shardings of the target, so restore into the mesh.
                state = parallel.replicate(state, mesh)
            manager = None
            if checkpoint_dir is not None:
                manager = checkpoint_lib.Checkpointer(checkpoint_dir, max_to_keep=keep_checkpoints)
                existing = manager.all_steps()
                try:
                    if existing and not resume:
                        # A fresh run here would skip saving the steps already present and could
                        # end behind the old latest step, which a later resume would pick.
                        raise checkpoint_lib.CheckpointError(
                            f"fit: {manager.directory} already holds the checkpoints {existing} of "
                            "another run; pass resume=True to continue it, or an empty directory"
                        )
                    if existing:
                        state = manager.restore(state)
                except BaseException:
                    manager.close()
                    raise
            history: list[dict[str, Any]] = []
            evals: list[dict[str, Any]] = []
            start = int(np.max(jax.device_get(state.step)))
            restored = manager is not None and bool(existing)
            if restored:  # rows logged after that checkpoint come again: drop them
                writer.drop_after(start)
            if start > num_steps:
                where = f"restored from {manager.directory}" if manager and existing else "given"
                warnings.warn(
                    f"fit: the state {where} is at step {start}, past `num_steps`={num_steps} (the "
                    "run's total, not a number of further steps); nothing is trained and that "
                    f"state is returned. Pass num_steps > {start} to train on.",
                    stacklevel=2,
                )
        except BaseException as err:
            watch.fail(err, 0)
            raise

        def evaluate(step: int, log: bool = True) -> None:
            if eval_fn is not None:  # every process: the evaluation may need the collectives
                row = {"step": step, **_host(eval_fn(state.params))}
                evals.append(row)
                if log:
                    writer.write({"kind": "eval", **row})

        def save(step: int, force: bool = False) -> None:
            if manager is not None:
                manager.save(step, state, force=force)

        def sharded(batch: Any) -> Any:
            batch = parallel.shard_batch(batch, mesh)
            sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(batch)}
            if global_batch_size is not None and sizes != {global_batch_size}:
                raise ValueError(
                    f"fit: the global batch assembled from the {jax.process_count()} processes "
                    f"has leading sizes {sorted(sizes)}, expected {global_batch_size} "
                    "(`global_batch_size`); each process's `batches` must return only its own "
                    "rows (array_batches does, jaxrnn.parallel.local_batch cuts them)"
                )
            return batch

        stuck: set[int] = set()  # seeds past max_nonfinite_steps, reported once each
        bar = tqdm(
            total=num_steps, initial=start, desc=description, disable=not (progress and lead)
        )
        step = start
        failed = True  # until the run ends normally
        # A step's metrics are read on the host (a sync) only once the next step has
        # been dispatched, so that the device computes step k + 1 while the host logs
        # and checks step k: one sync per step would leave the device idle for every
        # batch, dispatch and log row. Steps that evaluate, save or (with several
        # processes) agree on preemption read their own metrics first, so that the
        # logs come in step order, and the metrics of the last step are read before
        # the run ends, however it ends.
        pending: list[tuple[int, Any]] = []  # (step, metrics) not read yet: 0 or 1

        def read(check: bool = True) -> None:
            while pending:
                done, metrics = pending.pop()
                streak = np.atleast_1d(jax.device_get(metrics["nonfinite_streak"]))
                if (done % log_every == 0) or done == num_steps:
                    row = {"step": done, **_host(metrics)}
                    history.append(row)
                    writer.write({"kind": "train", **row})
                    bar.set_postfix(
                        loss=_median(row["loss"]),
                        grad_norm=_median(row["grad_norm"]),
                        refresh=False,
                    )
                bar.update(1)
                if check:
                    _check_streaks(streak, done, max_nonfinite_steps, stuck)

        try:
            with contextlib.closing(bar):
                while step < num_steps:
                    batch = batches(step)
                    if mesh is not None:
                        batch = sharded(batch)
                    state, metrics = train_step(state, batch)
                    step += 1
                    read()  # the previous step's, while this one runs
                    pending.append((step, metrics))
                    due_eval = eval_every and step % eval_every == 0 and step != num_steps
                    due_save = (
                        checkpoint_every and step % checkpoint_every == 0 and step != num_steps
                    )
                    if due_eval or due_save or multi:
                        read()
                    if due_eval:
                        evaluate(step)
                    if multi and _peers.preempted(step):
                        save(step, force=True)
                        where = f"saved in {manager.directory}" if manager else "not saved"
                        raise PreemptedError(
                            f"fit: stopped at step {step} on a preemption notice (SIGTERM) "
                            f"agreed by all {jax.process_count()} processes; the checkpoint "
                            f"of step {step} is {where}. Relaunch every process with the "
                            "same command to resume."
                        )
                    if due_save:
                        save(step)
                    interrupts.check()  # a Ctrl-C during the step or the save: raised here
                read()
            # A restored run that trains nothing logged this evaluation already.
            evaluate(step, log=step > start or not restored)
            save(step, force=True)
        except (NonFiniteError, PreemptedError):
            read(check=False)
            # Raised by every process at the same step (from replicated values): the
            # processes can still save together.
            if manager is not None and step > start and manager.latest_step() != step:
                save(step, force=True)
            raise
        except BaseException as err:
            with contextlib.suppress(Exception):  # the error being raised is the one to see
                read(check=False)  # the last step's row, for the checkpoint saved below
            if multi:
                # Raised in this process alone: a collective save would wait forever for
                # the others, so keep the finished checkpoints and end every process.
                watch.fail(err, step)
            elif manager is not None and step > start and manager.latest_step() != step:
                save(step, force=True)  # never lose a finished step
            raise
        else:
            failed = False
        finally:
            if manager is not None and not (multi and watch.failed):
                try:
                    manager.close()
                except Exception:
                    if not failed:
                        raise
                    # The error being raised is the one to see; the saves are complete.
    return FitResult(state, history, evals)


def _check_streaks(
    streak: np.ndarray, step: int, max_nonfinite_steps: int, stuck: set[int]
) -> None:
    """Warns once per seed stuck in non-finite steps; raises when every seed is."""
    over = {int(i) for i in np.flatnonzero(streak >= max_nonfinite_steps)}
    several = streak.size > 1
    if len(over) == streak.size:
        per_seed = f" (per seed: {streak.tolist()})" if several else ""
        raise NonFiniteError(
            f"fit: {int(np.min(streak))} consecutive steps with a non-finite loss or "
            f"gradient up to step {step}{per_seed} (max_nonfinite_steps="
            f"{max_nonfinite_steps}); parameters are those of the last finite step. Lower "
            "the learning rate, clip gradients or check the data."
        )
    new = over - stuck
    if several and new:
        stuck.update(new)
        warnings.warn(
            f"fit: seeds {sorted(new)} of {streak.size} have had {max_nonfinite_steps} or more "
            f"consecutive non-finite steps up to step {step} (streaks {streak.tolist()}); "
            "their parameters stay those of their last finite step while the other seeds "
            "train on. fit stops when every seed is stuck.",
            RuntimeWarning,
            stacklevel=3,
        )


__all__ = [
    "ClippedNormState",
    "FitResult",
    "NonFiniteError",
    "PreemptedError",
    "TrainState",
    "array_batches",
    "fit",
    "make_optimizer",
    "make_train_step",
    "record_clipped_norm",
]
