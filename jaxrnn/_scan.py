r"""Every time loop of jaxrnn: the masked scan and the run of a cell over a sequence.

One home for the rule "a padded step keeps the carry and outputs zero" (``keep`` and
``masked_scan``), for the length-aware reversal, and for ``run``, the pure function
behind ``jaxrnn.RNN`` and ``jaxrnn.nnx.RNN``: given a cell's effective weights it runs
the sequence through the cell's fused loop or its step function under
``jax.lax.scan``, with recurrent dropout, the hidden-state probe and gradient
checkpointing. Private: the sequence layers are the public face.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn import _checks, _cudnn
from jaxrnn._carry import LSTMState
from jaxrnn.typing import Array


def time_mask(lengths: Array | None, time: int) -> Array | None:
    """``(t, b, 1)`` booleans, True at the steps before each length; None without lengths."""
    if lengths is None:
        return None
    return (jnp.arange(time)[:, None] < lengths[None, :])[..., None]


def reverse_indices(lengths: Array, time: int) -> Array:
    """Time indices ``(t, b)`` that reverse the first ``lengths[b]`` steps only.

    Padding stays in place, so ``take_time`` with these indices is its own inverse.
    """
    t = jnp.arange(time, dtype=jnp.int32)[:, None]
    lengths = lengths[None, :]
    return jnp.where(t < lengths, lengths - 1 - t, t)


def take_time(xs: Array, indices: Array) -> Array:
    """``xs (t, b, ...)`` gathered along time with per-example ``indices (t, b)``."""
    expand = indices.reshape(indices.shape + (1,) * (xs.ndim - 2))
    return jnp.take_along_axis(xs, expand, axis=0)


def keep(new_carry: Any, old_carry: Any, valid_t: Array | None) -> Any:
    """The carry after a step: ``new_carry`` where the step is valid, else ``old_carry``."""
    if valid_t is None:
        return new_carry
    return jax.tree_util.tree_map(lambda n, o: jnp.where(valid_t, n, o), new_carry, old_carry)


def zero_padding(ys: Array, valid: Array | None) -> Array:
    """Outputs with zeros at the padded steps."""
    return ys if valid is None else jnp.where(valid, ys, jnp.zeros_like(ys))


def masked_scan(
    step: Callable[[Any, Any], tuple[Any, Any]],
    carry: Any,
    xs: Any,
    valid: Array | None,
    unroll: int = 1,
) -> tuple[Any, Any]:
    """``jax.lax.scan`` of ``step(carry, x_t) -> (carry, y_t)`` keeping the carry at padding.

    Args:
      step: the pure step.
      carry: the initial carry (a pytree).
      xs: the per-step inputs, time-major ``(t, ...)`` (a pytree).
      valid: ``(t, b, 1)`` booleans, or None when nothing is padded.
      unroll: passed to ``jax.lax.scan``.

    Returns:
      ``(final_carry, ys)``; every leaf of ``ys (t, ...)`` is zero at padded steps.
    """

    def body(carry, inputs):
        x_t, valid_t = inputs
        new_carry, y = step(carry, x_t)
        return keep(new_carry, carry, valid_t), jax.tree_util.tree_map(
            lambda leaf: zero_padding(leaf, valid_t), y
        )

    return jax.lax.scan(body, carry, (xs, valid), unroll=unroll)


def _with_hidden(carry: Any, h: Array) -> Any:
    """``carry`` with its hidden state replaced by ``h`` (an LSTM's ``.h``)."""
    return carry.replace(h=h) if isinstance(carry, LSTMState) else h


def _step_loop(step: Any, unroll: int | None) -> Any:
    """``loop(weights, carry, xw, valid, probe, mask) -> (carry, ys)``: ``step`` scanned."""

    def loop(weights, carry, xw, valid, probe, mask):
        def cell(carry, inputs):
            xw_t, probe_t = inputs
            new_carry, y = step(weights, carry, xw_t, mask)
            if probe_t is not None:
                y = y + probe_t
                new_carry = _with_hidden(new_carry, y)
            return new_carry, y

        return masked_scan(cell, carry, (xw, probe), valid, 1 if unroll is None else unroll)

    return loop


def _fused_loop(scan: Any, unroll: int | None) -> Any:
    """The same signature over a fused loop (which takes no probe)."""

    def loop(weights, carry, xw, valid, probe, mask):
        del probe  # None: layers with a probe take the step loop
        return scan(weights, carry, xw, valid, mask, unroll)

    return loop


def _chunked(loop: Any, chunk: int) -> Any:
    """``loop`` over chunks of ``chunk`` steps, each under ``jax.checkpoint``.

    Backward passes keep only the carry at chunk boundaries and recompute each chunk's
    residuals, so activation memory grows like ``t / chunk + chunk`` instead of ``t``.
    The sequence is padded to whole chunks with invalid steps, which keep the carry.
    """

    def chunked(weights, carry, xw, valid, probe, mask):
        time = xw.shape[0]
        count = -(-time // chunk)
        pad = count * chunk - time
        if valid is None:
            valid = jnp.ones((time, 1, 1), bool)
        # A (t, 1, 1) mask broadcasts against the batch; padding steps are invalid.
        valid = jnp.broadcast_to(valid, (time, xw.shape[1], 1))

        def split(a, fill):
            if a is None:
                return None
            a = jnp.concatenate([a, jnp.full((pad, *a.shape[1:]), fill, a.dtype)]) if pad else a
            return a.reshape(count, chunk, *a.shape[1:])

        @jax.checkpoint
        def body(carry, inputs):
            xw_c, valid_c, probe_c = inputs
            return loop(weights, carry, xw_c, valid_c, probe_c, mask)

        carry, ys = jax.lax.scan(body, carry, (split(xw, 0), split(valid, False), split(probe, 0)))
        return carry, ys.reshape(count * chunk, *ys.shape[2:])[:time]

    return chunked


@functools.partial(jax.jit, static_argnames=("step", "scan", "unroll", "remat_chunk"))
def _run_cell(step, scan, weights, carry, xw, valid, probe, mask, unroll, remat_chunk):
    """The time loop of a jaxrnn cell.

    ``scan`` (a fused loop) when given, over the inputs ``xw (t, b, i)``; else ``step``
    under ``jax.lax.scan`` over projected inputs ``xw (t, b, g*h)``. Jitted with the
    (cached) functions static: called eagerly, a layer compiles its loop once per shape
    instead of at every call; inside an outer ``jit`` it is inlined.
    """
    loop = _step_loop(step, unroll) if scan is None else _fused_loop(scan, unroll)
    if remat_chunk:
        loop = _chunked(loop, remat_chunk)
    return loop(weights, carry, xw, valid, probe, mask)


def run(
    cell: Any,
    weights: dict[str, Array],
    xs: Array,
    lengths: Array | None,
    carry: Any,
    *,
    reverse: bool = False,
    probe: Array | None = None,
    dropout_mask: Array | None = None,
    fused: bool = True,
    unroll: int | None = None,
    remat_chunk: int = 0,
) -> tuple[Any, Array]:
    """Runs a jaxrnn cell over a time-major sequence, given its effective weights.

    Args:
      cell: a jaxrnn cell (``jaxrnn.cells.RecurrentCell``, linen or its NNX twin): its
        ``step_fn``, ``fused_scan``, ``project_inputs`` and ``dtype`` are used, never
        its parameters.
      weights: the cell's effective weights (``cell.weights(i)``).
      xs: ``(t, b, i)`` inputs.
      lengths: checked ``(b,)`` lengths, or None.
      carry: the initial carry, in the computation dtype.
      reverse: run from the last valid step to the first; outputs stay in input order.
      probe: optional ``(t, b, h)`` added to the hidden state after each step.
      dropout_mask: optional ``(b, h)`` recurrent-dropout mask (scaled keep mask).
      fused: use the cell's fused loop where it has one (and no probe is given).
      unroll: passed to ``jax.lax.scan``; None: the loop's default (see ``jaxrnn.RNN``).
      remat_chunk: gradient checkpointing every so many steps (0: none).

    Returns:
      ``(final carry, outputs (t, b, h))``.
    """
    time = xs.shape[0]
    indices = None
    if reverse:
        indices = None if lengths is None else reverse_indices(lengths, time)
        xs = jnp.flip(xs, 0) if indices is None else take_time(xs, indices)
        if probe is not None:
            probe = jnp.flip(probe, 0) if indices is None else take_time(probe, indices)
    if probe is not None and cell.dtype is not None:
        probe = probe.astype(cell.carry_dtype())
    valid = time_mask(lengths, time)
    step = cell.step_fn()
    scan = cell.fused_scan() if fused and probe is None else None
    if scan is None:
        xw = cell.project_inputs(weights, xs)  # (t, b, g*h): one matmul
    else:
        # The fused loops project inside the loop: on CPU that beats one big (t*b, g*h)
        # buffer written before the loop and read back in it.
        xw = xs if cell.dtype is None else xs.astype(cell.dtype)
    eligible = scan is not None and _cudnn.eligible(
        cell, carry, xw, probe=probe, mask=dropout_mask, remat_chunk=remat_chunk
    )
    if eligible:  # a plain float32 LSTM on a GPU: cuDNN's fused kernel
        carry, ys = _cudnn.lstm(weights, carry, xw, lengths)
    else:
        carry, ys = _run_cell(step, scan, weights, carry, xw, valid, probe, dropout_mask,
                              unroll, remat_chunk)  # fmt: skip
    if reverse:
        ys = jnp.flip(ys, 0) if indices is None else take_time(ys, indices)
    return carry, ys


def dropout_mask(key: Array, rate: float, shape: tuple[int, ...], dtype: Any) -> Array:
    """A variational-dropout mask: one Bernoulli keep mask, scaled by ``1 / (1 - rate)``."""
    keep_mask = jax.random.bernoulli(key, 1.0 - rate, shape)
    return keep_mask.astype(dtype) / (1.0 - rate)


def poison(seq_lengths: Any, time: int, carry: Any, outputs: Array, time_major: bool) -> Any:
    """``(carry, outputs)`` with the rows of out-of-range traced lengths set to NaN."""
    bad = _checks.out_of_range(seq_lengths, time)
    carry = _checks.poison_out_of_range(bad, carry)
    outputs = _checks.poison_out_of_range(bad, outputs, 1 if time_major else 0)
    return carry, outputs


def carry_dtype(cell: Any) -> Any:
    """The dtype a cell keeps its carry in, or None: promoted with the inputs' dtype.

    A jaxrnn cell with a ``dtype``: its ``carry_dtype()`` (float32 in the 16-bit
    mixed-precision mode, see ``jaxrnn._precision``); any other cell: its ``dtype``.
    """
    dtype = getattr(cell, "dtype", None)
    if dtype is not None and hasattr(cell, "carry_dtype"):
        return cell.carry_dtype()
    return dtype


def cast_carry(carry: Any, compute: Any, dtype: Any) -> Any:
    """The carry in the dtype ``compute``, else promoted with the inputs' ``dtype``."""
    return jax.tree_util.tree_map(
        lambda c: jnp.asarray(c).astype(compute or jnp.promote_types(c.dtype, dtype)), carry
    )


def apply(
    owner: str,
    cell: Any,
    weights_fn: Callable[[int], dict[str, Array]],
    x: Array,
    seq_lengths: Any,
    *,
    initial_carry: Any,
    time_major: bool,
    reverse: bool,
    return_carry: bool,
    hidden_probe: Array | None,
    recurrent_dropout: float,
    dropout_key_fn: Callable[[], Array] | None,
    fused: bool,
    unroll: int,
    remat_chunk: int,
    learned_carry_fn: Callable[[Any], Any] | None = None,
    loop_fn: Callable[..., tuple[Any, Array]] | None = None,
) -> Any:
    """A jaxrnn cell over a sequence, the whole call of ``jaxrnn.RNN`` (linen and NNX).

    Checks the arguments, builds the initial carry, runs ``run`` and returns what the
    sequence-layer protocol returns.

    Args:
      owner: the layer's name, for errors.
      cell: the jaxrnn (linen) cell whose pure functions run the loop.
      weights_fn: ``input_size -> effective weights`` (creates linen parameters).
      x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
      seq_lengths: optional ``(b,)`` lengths.
      initial_carry: the carry to start from, or None.
      time_major: the layout of ``x`` and the outputs.
      reverse: run backwards over the valid steps.
      return_carry: return ``(carry, outputs)``.
      hidden_probe: optional probe shaped like the outputs.
      recurrent_dropout: the rate.
      dropout_key_fn: ``() -> key`` when dropout is active (not deterministic), else None.
      fused: use the cell's fused loop.
      unroll: passed to ``jax.lax.scan``.
      remat_chunk: gradient checkpointing.
      learned_carry_fn: ``zeros -> carry``, the learned initial carry, or None.
      loop_fn: ``(xs, lengths, carry) -> (carry, ys)`` in place of ``run``, for a
        cell other than jaxrnn's (``cell`` then needs only ``initialize_carry``).

    Returns:
      ``outputs``, or ``(carry, outputs)`` with ``return_carry``.
    """
    rate = _checks.rate(owner, "recurrent_dropout", recurrent_dropout)
    remat_chunk = _checks.remat_chunk(owner, remat_chunk)
    _checks.inputs(owner, x, time_major)
    xs = x if time_major else jnp.swapaxes(x, 0, 1)  # (t, b, i)
    time, batch, features = xs.shape
    lengths = None
    if seq_lengths is not None:
        lengths = _checks.seq_lengths(owner, seq_lengths, batch, time)
    zeros = cell.initialize_carry(jax.random.key(0), (batch, features))
    if initial_carry is not None:
        carry = _checks.carry(owner, "initial_carry", initial_carry, zeros)
    elif learned_carry_fn is not None:
        carry = learned_carry_fn(zeros)
    else:
        carry = zeros
    carry = cast_carry(carry, carry_dtype(cell), xs.dtype)
    if loop_fn is not None:
        carry, ys = loop_fn(xs, lengths, carry)
    else:
        carry, ys = _run_jaxrnn_cell(
            owner, cell, weights_fn, xs, lengths, carry, x_shape=x.shape,
            time_major=time_major, reverse=reverse, hidden_probe=hidden_probe, rate=rate,
            dropout_key_fn=dropout_key_fn, fused=fused, unroll=unroll,
            remat_chunk=remat_chunk,
        )  # fmt: skip
    outputs = ys if time_major else jnp.swapaxes(ys, 0, 1)
    carry, outputs = poison(seq_lengths, time, carry, outputs, time_major)
    return (carry, outputs) if return_carry else outputs


def _run_jaxrnn_cell(
    owner, cell, weights_fn, xs, lengths, carry, *, x_shape, time_major, reverse,
    hidden_probe, rate, dropout_key_fn, fused, unroll, remat_chunk,
):  # fmt: skip
    """``apply``'s loop for a jaxrnn cell: probe, dropout mask, ``run``."""
    batch, features = xs.shape[1:]
    probe = None
    if hidden_probe is not None:
        expected = (*x_shape[:2], cell.hidden_size)
        if tuple(hidden_probe.shape) != expected:
            raise ValueError(
                f"{owner}: expected `hidden_probe` shaped like the outputs, {expected}, got "
                f"{tuple(hidden_probe.shape)}"
            )
        probe = hidden_probe if time_major else jnp.swapaxes(hidden_probe, 0, 1)
    mask = None
    if rate > 0.0 and dropout_key_fn is not None:
        mask = dropout_mask(
            dropout_key_fn(), rate, (batch, cell.hidden_size), carry_dtype(cell) or xs.dtype
        )
    return run(
        cell, weights_fn(features), xs, lengths, carry, reverse=reverse, probe=probe,
        dropout_mask=mask, fused=fused, unroll=unroll, remat_chunk=remat_chunk,
    )  # fmt: skip
