"""Argument checks shared by every jaxrnn module: one home, one wording.

Each check names its caller (``owner``) and the argument, says what was expected and
what came, and raises ``TypeError`` for a wrong kind and ``ValueError`` for a wrong
value. Private: the public modules call these.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn._carry import LSTMState
from jaxrnn.typing import Array, DType


def real(owner: str, name: str, value: Any) -> float:
    """Returns ``value`` as a finite float, or raises naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"{owner}: expected `{name}` to be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: expected `{name}` to be a real number, got {value!r}") from err
    if not math.isfinite(out):
        raise ValueError(f"{owner}: expected `{name}` to be finite, got {value!r}")
    return out


def real_in(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Returns ``value`` as a finite float within the interval, or raises naming it.

    Args:
      owner: the caller, for the message.
      name: the argument.
      value: what came.
      low: the lower bound (None: none).
      high: the upper bound (None: none).
      low_open: exclude ``low``.
      high_open: exclude ``high``.

    Returns:
      The float.
    """
    out = real(owner, name, value)
    below = low is not None and (out <= low if low_open else out < low)
    above = high is not None and (out >= high if high_open else out > high)
    if below or above:
        if high is None:
            expected = f"> {low:g}" if low_open else f">= {low:g}"
        elif low is None:
            expected = f"< {high:g}" if high_open else f"<= {high:g}"
        else:
            expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: expected `{name}` {expected}, got {value!r}")
    return out


def nonnegative_int(owner: str, name: str, value: Any) -> int:
    """Returns ``value`` as an int >= 0, or raises naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: expected `{name}` to be an int >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner}: expected `{name}` to be an int >= 0, got {value!r}")
    return int(value)


def positive_int(owner: str, name: str, value: Any) -> int:
    """Returns ``value`` as an int >= 1, or raises naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: expected `{name}` to be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: expected `{name}` to be a positive int, got {value!r}")
    return int(value)


def rate(owner: str, name: str, value: Any) -> float:
    """A dropout rate: a float in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: expected `{name}` in [0, 1), got {value!r}")
    return float(value)


def remat_chunk(owner: str, chunk: Any) -> int:
    """A checkpointing chunk: an int >= 0 (0: no checkpointing)."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
        raise ValueError(
            f"{owner}: expected `remat_chunk` to be an int >= 0 (0: no checkpointing), got "
            f"{chunk!r}"
        )
    return chunk


def one_of(owner: str, name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """Returns ``value`` if it is one of ``choices``, else raises a ``ValueError``."""
    if value not in choices:
        raise ValueError(f"{owner}: expected `{name}` in {choices}, got {value!r}")
    return value


def float_dtype(owner: str, dtype: DType) -> tuple[Any, Any]:
    """Returns ``(dtype, compute_dtype)``: a floating dtype and the one to sample in.

    The compute dtype is float64 for float64 (where x64 is enabled) and float32 for
    every narrower float, whose samples are drawn in float32 and then rounded.
    """
    try:
        out = jnp.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{owner}: expected a floating `dtype`, got {dtype!r}") from err
    if not jnp.issubdtype(out, jnp.floating):
        raise TypeError(f"{owner}: expected a floating `dtype`, got {out}")
    compute = jnp.float64 if out == jnp.float64 else jnp.float32
    return out, jax.dtypes.canonicalize_dtype(compute)


def array(owner: str, name: str, value: Any, layout: str) -> None:
    """Checks that ``value`` is a floating array of rank >= 1 (one step, ``layout``)."""
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        raise TypeError(
            f"{owner}: expected `{name}` to be an array {layout}, got {type(value).__name__}"
        )
    if value.ndim < 1:
        raise ValueError(f"{owner}: expected `{name}` of shape {layout}, got a scalar")
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(f"{owner}: expected a floating `{name}`, got dtype {value.dtype}")


def inputs(owner: str, x: Any, time_major: bool) -> None:
    """Checks that ``x`` is a floating array of rank 3, naming ``owner`` in the error.

    Args:
      owner: the caller's name, for the message.
      x: the input sequence.
      time_major: which layout, ``(t, b, i)`` or ``(b, t, i)``, the message names.
    """
    layout = "(t, b, i)" if time_major else "(b, t, i)"
    if not hasattr(x, "ndim") or not hasattr(x, "dtype"):
        raise TypeError(f"{owner}: expected `x` to be an array {layout}, got {type(x).__name__}")
    if x.ndim != 3:
        hint = ""
        if x.ndim == 2:  # one sequence (t, i), as PyTorch's unbatched input
            add = "x[:, None]" if time_major else "x[None]"
            hint = f"; for one unbatched (t, i) sequence add the batch axis: {add}"
        raise ValueError(
            f"{owner}: expected `x` of rank 3 {layout}, got shape {tuple(x.shape)}{hint}"
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{owner}: expected a floating `x`, got dtype {x.dtype}")


def seq_lengths(owner: str, lengths: Any, batch: int, time: int) -> Array:
    """Validates ``seq_lengths``: integers of shape ``(batch,)`` within ``[0, time]``.

    Values are checked when concrete (outside ``jit``); traced values cannot be
    inspected at trace time and are clamped to ``[0, time]`` instead, so that they never
    index padding, and ``poison_out_of_range`` turns the rows they belong to into NaN.
    A float array or a tuple of arrays (PyTorch's ``lstm(x, (h0, c0))`` habit) gets an
    error that points to ``initial_carry=``.

    Args:
      owner: the caller's name, for the message.
      lengths: the lengths.
      batch: ``b``.
      time: ``t``.

    Returns:
      The lengths as an int32 array.
    """
    hint = (
        "; the initial state is the keyword argument `initial_carry=` (PyTorch's "
        "`lstm(x, (h0, c0))` is `.apply(variables, x, initial_carry=...)`)"
    )
    if isinstance(lengths, tuple | list) and any(hasattr(v, "ndim") for v in lengths):
        raise TypeError(
            f"{owner}: expected integer `seq_lengths` of shape ({batch},), got a "
            f"{type(lengths).__name__} of arrays{hint}"
        )
    if not hasattr(lengths, "dtype") and not isinstance(lengths, list | tuple | int):
        raise TypeError(
            f"{owner}: expected integer `seq_lengths` of shape ({batch},), got "
            f"{type(lengths).__name__}{hint}"
        )
    values = jnp.asarray(lengths)
    if not jnp.issubdtype(values.dtype, jnp.integer):
        raise TypeError(
            f"{owner}: expected integer `seq_lengths`, got dtype {values.dtype}"
            + (hint if jnp.issubdtype(values.dtype, jnp.inexact) else "")
        )
    if values.shape != (batch,):
        raise ValueError(
            f"{owner}: expected `seq_lengths` of shape ({batch},), got {tuple(values.shape)}"
        )
    if not isinstance(values, jax.core.Tracer):
        concrete = np.asarray(values)
        if concrete.size and (concrete.min() < 0 or concrete.max() > time):
            raise ValueError(
                f"{owner}: expected `seq_lengths` in [0, {time}], got min {concrete.min()} "
                f"and max {concrete.max()}"
            )
    # Traced values cannot be checked: clamp them so that they can never index padding.
    return jnp.clip(values.astype(jnp.int32), 0, time)


def out_of_range(lengths: Any, time: int) -> Array | None:
    """``(b,)`` booleans, True where a traced length lies outside ``[0, time]``.

    None for concrete lengths (``seq_lengths`` has already refused those) and for no
    lengths.
    """
    if lengths is None or not isinstance(lengths, jax.core.Tracer):
        return None
    return (lengths < 0) | (lengths > time)


def poison_out_of_range(bad: Array | None, tree: Any, batch_axis: int = 0) -> Any:
    """Sets the batch rows flagged by ``out_of_range`` to NaN in every floating leaf.

    Under ``jit`` a length outside ``[0, t]`` cannot raise; its row of the outputs and
    of the final carry becomes NaN instead of a silently clamped result (as
    ``jnp.take(..., mode="fill")`` marks an out-of-bounds read), which any loss, metric
    or non-finite guard downstream sees.

    Args:
      bad: from ``out_of_range``, or None (the tree is returned unchanged).
      tree: arrays with the batch on ``batch_axis``.
      batch_axis: the batch axis of every leaf.
    """
    if bad is None:
        return tree

    def poison(leaf: Array) -> Array:
        if not jnp.issubdtype(leaf.dtype, jnp.inexact):
            return leaf
        shape = [1] * leaf.ndim
        shape[batch_axis] = bad.shape[0]
        return jnp.where(bad.reshape(shape), jnp.nan, leaf)

    return jax.tree_util.tree_map(poison, tree)


def state(owner: str, name: str, value: Any, shape: tuple[int, ...]) -> Array:
    """Checks that ``value`` is one array of ``shape``; returns it as an array."""
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        raise TypeError(
            f"{owner}: expected `{name}` to be an array of shape {tuple(shape)}, "
            f"got {type(value).__name__}"
        )
    if tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"{owner}: expected `{name}` of shape {tuple(shape)}, got {tuple(value.shape)}"
        )
    return jnp.asarray(value)


def carry(owner: str, name: str, value: Any, template: Any, layout: str = "") -> Any:
    """Checks that the pytree ``value`` has the structure and leaf shapes of ``template``.

    A plain ``(h, c)`` pair (PyTorch's order) is accepted for an ``LSTMState``
    template and returned as one.

    Args:
      owner: the caller's name, for the message.
      name: the argument's name (``carry``, ``initial_carry``).
      value: the carry given.
      template: a carry of the expected structure and shapes (the zero carry).
      layout: words on the expected shape for the message, e.g.
        ``" (layers * directions, batch, hidden)"``.

    Returns:
      ``value``, as the template's type.
    """
    if (
        isinstance(template, LSTMState)
        and not isinstance(value, LSTMState)
        and isinstance(value, tuple | list)
        and len(value) == 2
    ):
        value = LSTMState(*value)
    expected = jax.tree_util.tree_structure(template)
    found = jax.tree_util.tree_structure(value)
    if expected != found:
        raise ValueError(f"{owner}: expected `{name}` with structure {expected}, got {found}")
    for want, got in zip(
        jax.tree_util.tree_leaves(template), jax.tree_util.tree_leaves(value), strict=True
    ):
        if tuple(jnp.shape(got)) != tuple(want.shape):
            raise ValueError(
                f"{owner}: expected `{name}` leaves of shape {tuple(want.shape)}{layout}, "
                f"got {tuple(jnp.shape(got))}"
            )
    return value
