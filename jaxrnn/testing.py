r"""Property checks for recurrent cells and sequence layers: point them at any RNN.

Each ``check_*`` function builds its own small inputs from a fixed key, runs the layer
(or cell, or initializer) it is given, and raises ``AssertionError`` naming the
property and its worst deviation when the property fails, e.g.::

    padding invariance: outputs changed when the padding was filled with garbage;
    max |diff| = 3.1e-02 at sequence 2, step 4, unit 0 (atol 1e-05, rtol 1e-05)

On success every check returns a small dict, ``{measured property: worst deviation}``
(floats), that a test may log or compare.

What they accept:

* a jaxrnn sequence layer (``RNN``, ``Bidirectional``, the ``LSTM`` / ``GRU`` /
  ``SimpleRNN`` stacks, ``MinGRU``, ``LRU``, ...) or Flax's own (``flax.linen.RNN``,
  ``flax.linen.Bidirectional``), called with the sequence-layer protocol
  ``layer.apply(variables, x, seq_lengths=..., initial_carry=..., return_carry=True)``
  on batch-major ``x (b, t, i)`` (time-major layers are transposed for them);
* a bare cell ``cell(carry, x) -> (carry, y)`` with ``initialize_carry`` (any
  ``flax.linen.RNNCellBase``: jaxrnn's, ``flax.linen.LSTMCell``, ``GRUCell``,
  ``SimpleCell``, ``OptimizedLSTMCell`` or a user's own), which is run as
  ``jaxrnn.RNN(cell)``.

Conventions of the layer under test, and how the checks read them:

* jaxrnn's layers zero the outputs past each length and return, for an empty
  sequence, the initial carry. ``flax.linen.RNN`` documents neither: its padded
  outputs are whatever the cell computes there and its carry for a length-0 sequence
  is undefined, so for Flax's layers those two sub-properties are skipped (the others,
  valid outputs independent of the padding, the carry at the last valid step, are
  checked as for any layer).
* Tolerances come from one table, ``TOLERANCES``, by the dtype of the outputs
  compared; the sampling tolerances of ``check_initializer`` sit below it.

Examples:
  >>> import jaxrnn
  >>> import jaxrnn.testing as rnn_testing
  >>> report = rnn_testing.check_padding_invariance(jaxrnn.GRUCell(3), time=4)
  >>> sorted(report)  # doctest: +NORMALIZE_WHITESPACE
  ['alone vs batched', 'final carry', 'garbage in the padding', 'gradient at padding',
   'more padding', 'zero outputs past length']
  >>> rnn_testing.check_initializer(jaxrnn.initializers.orthogonal(gain=0.5),
  ...                               {"orthogonal": 0.5}, shape=(16, 16))["orthogonal"] < 1e-5
  True

References:
  Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks",
  ICML 2013, arXiv:1211.5063. Claessen & Hughes, "QuickCheck: a lightweight tool for
  random testing of Haskell programs", ICFP 2000. MacIver, Hatfield-Dodds et al.,
  "Hypothesis: A new approach to property-based testing", JOSS 2019.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from jaxrnn import _scan, diagnostics
from jaxrnn.cells import RecurrentCell
from jaxrnn.sequence import RNN, Stack, merge_directions
from jaxrnn.typing import Array, DType, PRNGKey

# ---------------------------------------------------------------------------------------
# The one tolerance table, and the sampling tolerances.
# ---------------------------------------------------------------------------------------

#: rtol/atol per dtype for exact-math comparisons (that of ``tests/conftest.py``).
TOLERANCES: dict[str, dict[str, float]] = {
    "float64": {"rtol": 1e-10, "atol": 1e-10},
    "float32": {"rtol": 1e-5, "atol": 1e-5},
    "float16": {"rtol": 2e-3, "atol": 2e-3},
    "bfloat16": {"rtol": 1.6e-2, "atol": 1.6e-2},
}
#: Multiple of the bfloat16 row for float32 vs bfloat16 runs of a whole layer: a
#: bfloat16 operand carries a relative rounding error of up to 2^-8 = 3.9e-3, the
#: input and the weights each contribute one per step, and the errors of a few steps
#: add up (``check_transform_stability``).
BFLOAT16_SCALE = 2.0
#: Samples drawn for the moments of ``check_initializer`` (at least 1e5).
NUM_SAMPLES = 200_000
#: A sample mean may be this many standard errors from the expected mean.
MEAN_STANDARD_ERRORS = 5.0
#: Sample variance vs the expected one (about 0.3% standard error at 2e5 samples).
VARIANCE_RTOL = 0.02
#: Sample standard deviation vs the expected one.
STD_RTOL = 0.01
#: W^T W = g^2 I elementwise (float16 / bfloat16: a draw rounded to 16 bits).
ORTHO_ATOL = {"float64": 1e-12, "float32": 1e-5, "float16": 2e-3, "bfloat16": 1.6e-2}
#: Spectral radius and largest singular value vs the expected one.
SPECTRAL_RTOL = {"float64": 1e-10, "float32": 1e-4, "float16": 2e-3, "bfloat16": 1.6e-2}
#: The fixed seed of every check's inputs when no ``key`` is given.
DEFAULT_SEED = 20261123
#: Scale of the garbage written into the padding by ``check_padding_invariance``.
GARBAGE_SCALE = 1e3

_AXES = ("sequence", "step", "unit")


def tolerance(dtype: DType) -> dict[str, float]:
    """The ``{"rtol": ..., "atol": ...}`` row of ``TOLERANCES`` for ``dtype``.

    Args:
      dtype: a floating dtype (``jnp.float32``, ``"bfloat16"``, ...).

    Returns:
      A fresh dict ``{"rtol": float, "atol": float}``.

    Raises:
      ValueError: a dtype without a row.
    """
    name = jnp.dtype(dtype).name
    if name not in TOLERANCES:
        raise ValueError(f"tolerance: expected a dtype in {tuple(TOLERANCES)}, got {name!r}")
    return dict(TOLERANCES[name])


# ---------------------------------------------------------------------------------------
# Inputs, layers and variables.
# ---------------------------------------------------------------------------------------


def _key(key: PRNGKey | None) -> PRNGKey:
    return jax.random.key(DEFAULT_SEED) if key is None else key


def _positive_int(fn: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{fn}: expected `{name}` to be an int >= {minimum}, got {value!r}")
    return int(value)


def _default_lengths(batch: int, time: int) -> np.ndarray:
    """Lengths spread from ``time`` down to 0: ``[t, ..., 0]`` (``[t]`` for one sequence)."""
    if batch == 1:
        return np.array([time], np.int32)
    return np.round(np.linspace(time, 0, batch)).astype(np.int32)


def _lengths(fn: str, seq_lengths: Any, batch: int, time: int) -> np.ndarray:
    if seq_lengths is None:
        return _default_lengths(batch, time)
    lengths = np.asarray(seq_lengths)
    if lengths.shape != (batch,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"{fn}: expected integer `seq_lengths` of shape ({batch},), got {lengths!r}"
        )
    if np.any(lengths < 0) or np.any(lengths > time):
        raise ValueError(f"{fn}: expected `seq_lengths` in [0, {time}], got {lengths.tolist()}")
    return lengths.astype(np.int32)


def _batch_of(fn: str, batch: int | None, seq_lengths: Any, default: int) -> int:
    if seq_lengths is not None and batch is None:
        return len(np.asarray(seq_lengths))
    return _positive_int(fn, "batch", default if batch is None else batch)


def _as_layer(fn: str, obj: Any) -> tuple[nn.Module, bool]:
    """``(layer, wrapped)``: a bare cell is run as ``jaxrnn.RNN(cell)``."""
    if isinstance(obj, nn.RNNCellBase):
        return RNN(obj), True
    if isinstance(obj, nn.Module):
        return obj, False
    raise TypeError(
        f"{fn}: expected a sequence layer (jaxrnn.RNN, flax.linen.RNN, a stack, ...) or a "
        f"recurrent cell (a flax.linen.RNNCellBase), got {type(obj).__name__}"
    )


def _lift(variables: Mapping[str, Any] | None, wrapped: bool) -> Any:
    """A bare cell's variables as those of ``jaxrnn.RNN(cell)``."""
    if variables is None or not wrapped:
        return variables
    return {collection: {"cell": tree} for collection, tree in variables.items()}


def _flax_style(layer: nn.Module) -> bool:
    """Flax's layers: padded outputs are not zeroed, an empty sequence's carry undefined."""
    return isinstance(layer, nn.RNN | nn.Bidirectional)


def _fields(module: nn.Module) -> dict[str, Any]:
    return {
        field.name: getattr(module, field.name, None)
        for field in dataclasses.fields(module)
        if field.init and field.name not in ("parent", "name")
    }


def _rebuild(module: nn.Module, update: Callable[[nn.Module], dict[str, Any]]) -> nn.Module:
    """``module`` and every module among its attributes cloned with ``update(m)``."""
    changes = {}
    for name, value in _fields(module).items():
        if isinstance(value, nn.Module):
            changes[name] = _rebuild(value, update)
        elif (
            isinstance(value, tuple | list)
            and value
            and all(isinstance(item, nn.Module) for item in value)
        ):
            changes[name] = type(value)(_rebuild(item, update) for item in value)
    changes.update(update(module))
    return module.clone(**changes) if changes else module


def _field_values(module: nn.Module, name: str) -> list[Any]:
    """The values of attribute ``name`` in ``module`` and every module it holds."""
    fields = _fields(module)
    found = [fields[name]] if name in fields else []
    for value in fields.values():
        items = value if isinstance(value, tuple | list) else (value,)
        for item in items:
            if isinstance(item, nn.Module):
                found.extend(_field_values(item, name))
    return found


def _with_dtypes(
    module: nn.Module, *, param_dtype: Any = None, dtype: Any = None, set_unset_dtype: bool = False
) -> nn.Module:
    """``module`` with its (and its submodules') ``param_dtype`` / ``dtype`` replaced.

    ``dtype`` (the computation dtype) replaces only a set one unless ``set_unset_dtype``.
    """

    def update(m: nn.Module) -> dict[str, Any]:
        fields, changes = _fields(m), {}
        if param_dtype is not None and "param_dtype" in fields:
            changes["param_dtype"] = param_dtype
        if dtype is not None and "dtype" in fields:
            if fields["dtype"] is not None or set_unset_dtype:
                changes["dtype"] = dtype
        return changes

    return _rebuild(module, update)


@contextlib.contextmanager
def _maybe_x64(enabled: bool) -> Iterator[None]:
    if enabled:
        with jax.enable_x64(True):
            yield
    else:
        yield


def _x64_available() -> bool:
    return jax.default_backend() != "tpu"


def _inputs(key: PRNGKey, batch: int, time: int, input_size: int, dtype: Any) -> Array:
    return jax.random.normal(key, (batch, time, input_size), dtype)


def _cast(tree: Any, dtype: Any) -> Any:
    """Every floating leaf of ``tree`` in ``dtype``."""
    return jax.tree_util.tree_map(
        lambda v: v.astype(dtype) if jnp.issubdtype(jnp.asarray(v).dtype, jnp.floating) else v,
        tree,
    )


def _init(layer: nn.Module, variables: Any, key: PRNGKey, x: Array, dtype: Any = None) -> Any:
    """The given variables, or ``layer.init``; floating leaves cast to ``dtype`` if given.

    The cast makes float64 variables of a cell without a ``param_dtype`` (a user's
    ``nn.Dense`` computes in the promoted dtype of its inputs and parameters).
    """
    if variables is None:
        variables = layer.init(key, _time_major_in(layer, x))
    return variables if dtype is None else _cast(variables, dtype)


def _time_major_in(layer: nn.Module, x: Array) -> Array:
    return jnp.swapaxes(x, 0, 1) if getattr(layer, "time_major", False) else x


def _apply(
    layer: nn.Module,
    variables: Any,
    x: Array,
    lengths: Any = None,
    initial_carry: Any = None,
) -> tuple[Any, Array]:
    """``(carry, outputs (b, t, o))`` of ``layer`` on batch-major ``x (b, t, i)``, jitted.

    Under ``jax.jit`` with the layer static: Flax modules hash by value, so equal layers
    share one compilation per shape (eager, ``flax.linen.scan`` would compile its loop
    at every call). An unhashable layer runs eagerly.
    """
    if lengths is not None:
        lengths = jnp.asarray(lengths, jnp.int32)
    try:
        hash(layer)
    except TypeError:
        return _apply_eager(layer, variables, x, lengths, initial_carry)
    return _apply_jit(layer, variables, x, lengths, initial_carry)


def _apply_eager(
    layer: nn.Module,
    variables: Any,
    x: Array,
    lengths: Any = None,
    initial_carry: Any = None,
) -> tuple[Any, Array]:
    """``_apply`` without ``jax.jit``: the layer's own eager behaviour."""
    kwargs: dict[str, Any] = {"return_carry": True}
    if lengths is not None:
        kwargs["seq_lengths"] = jnp.asarray(lengths, jnp.int32)
    if initial_carry is not None:
        kwargs["initial_carry"] = initial_carry
    carry, ys = layer.apply(variables, _time_major_in(layer, x), **kwargs)
    return carry, _time_major_in(layer, ys)


_apply_jit = jax.jit(_apply_eager, static_argnums=0)


def _carry_axes(layer: nn.Module, variables: Any, x: Array) -> Any:
    """The batch axis of every leaf of ``layer``'s carry (where its size follows ``b``)."""

    def shapes(batch: int) -> Any:
        spec = jax.ShapeDtypeStruct((batch, *x.shape[1:]), x.dtype)
        return jax.eval_shape(lambda v, x: _apply(layer, v, x)[0], variables, spec)

    def axis(a: jax.ShapeDtypeStruct, b: jax.ShapeDtypeStruct) -> int:
        moved = [k for k, (m, n) in enumerate(zip(a.shape, b.shape, strict=True)) if m != n]
        if len(moved) != 1:
            raise TypeError(f"cannot find the batch axis of a carry leaf of shape {a.shape}")
        return moved[0]

    return jax.tree_util.tree_map(axis, shapes(x.shape[0]), shapes(x.shape[0] + 1))


def _random_carry(layer: nn.Module, variables: Any, x: Array, key: PRNGKey) -> Any:
    """A random carry shaped like the one ``layer`` returns: the start of every run."""
    spec = jax.eval_shape(lambda v, x: _apply(layer, v, x)[0], variables, x)
    leaves, treedef = jax.tree_util.tree_flatten(spec)
    keys = jax.random.split(key, max(len(leaves), 1))
    return jax.tree_util.tree_unflatten(
        treedef,
        [0.5 * jax.random.normal(k, s.shape, s.dtype) for k, s in zip(keys, leaves, strict=False)],
    )


def _rows(tree: Any, axes: Any, start: int, stop: int | None = None) -> Any:
    """Batch rows ``start:stop`` of every leaf (one row, kept as a batch of 1)."""
    stop = start + 1 if stop is None else stop
    return jax.tree_util.tree_map(
        lambda leaf, axis: jax.lax.slice_in_dim(leaf, start, stop, axis=axis), tree, axes
    )


# ---------------------------------------------------------------------------------------
# Comparisons with messages that name the property and the worst deviation.
# ---------------------------------------------------------------------------------------


def _numpy(x: Any) -> np.ndarray:
    """A float64 (complex128 for a complex ``x``: both parts kept) NumPy copy."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        return np.asarray(x).astype(np.complex128)
    if x.dtype != jnp.float64:
        x = x.astype(jnp.float32)
    return np.asarray(x, np.float64)


def _sin(leaf: Array) -> Array:
    """``sin`` elementwise, real: of the real and imaginary parts of a complex leaf."""
    if jnp.iscomplexobj(leaf):
        return jnp.sin(jnp.real(leaf)) + jnp.sin(jnp.imag(leaf))
    return jnp.sin(leaf)


def _where(index: tuple[int, ...], names: Sequence[str] | None) -> str:
    if names is not None and len(names) == len(index):
        return ", ".join(f"{name} {i}" for name, i in zip(names, index, strict=True))
    return f"index {tuple(int(i) for i in index)}"


def _assert_close(
    prop: str,
    what: str,
    actual: Any,
    expected: Any,
    tol: Mapping[str, float],
    names: Sequence[str] | None = None,
) -> float:
    """Max |actual - expected|, or an AssertionError naming ``prop`` and the worst entry."""
    a, e = _numpy(actual), _numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{prop}: {what} has shape {a.shape}, expected {e.shape}")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - e)
    both_nan = np.isnan(a) & np.isnan(e)
    diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
    bad = diff > tol["atol"] + tol["rtol"] * np.abs(e)
    worst = float(diff.max())
    if bad.any():
        index = np.unravel_index(np.argmax(np.where(bad, diff, -1.0)), diff.shape)
        raise AssertionError(
            f"{prop}: {what}; max |diff| = {worst:.1e} at {_where(index, names)} "
            f"(atol {tol['atol']:.0e}, rtol {tol['rtol']:.0e})"
        )
    return worst


def _assert_trees_close(
    prop: str, what: str, actual: Any, expected: Any, tol: Mapping[str, float]
) -> float:
    a_leaves, a_def = jax.tree_util.tree_flatten_with_path(actual)
    e_leaves, e_def = jax.tree_util.tree_flatten(expected)
    if a_def.num_leaves != e_def.num_leaves:
        raise AssertionError(f"{prop}: {what} has structure {a_def}, expected {e_def}")
    worst = 0.0
    for (path, a), e in zip(a_leaves, e_leaves, strict=True):
        name = what + jax.tree_util.keystr(path)
        worst = max(worst, _assert_close(prop, name, a, e, tol))
    return worst


class _Worst(dict):
    """``{label: worst deviation}``: ``add`` keeps the largest value seen per label."""

    def add(self, label: str, value: float) -> None:
        self[label] = max(self.get(label, 0.0), float(value))


def _assert_zero(prop: str, what: str, values: Any, names: Sequence[str] | None = None) -> float:
    return _assert_close(
        prop, what, values, np.zeros(np.shape(values)), {"atol": 0.0, "rtol": 0.0}, names
    )


def _output_tolerance(outputs: Any) -> dict[str, float]:
    # finfo(...).dtype: the real dtype of a complex one (complex64: float32), else itself.
    leaves = jax.tree_util.tree_leaves(outputs)
    dtypes = [jnp.finfo(jnp.asarray(leaf).dtype).dtype for leaf in leaves]
    loosest = max(dtypes, key=lambda d: TOLERANCES.get(jnp.dtype(d).name, {"atol": 1.0})["atol"])
    return tolerance(loosest)


# ---------------------------------------------------------------------------------------
# The reference: cells stepped in a Python loop.
# ---------------------------------------------------------------------------------------


class _Direction(NamedTuple):
    """One direction of one layer: a cell, its variables and how it is run."""

    cell: nn.RNNCellBase
    variables: Any
    reverse: bool
    input_order: bool  # reversed outputs come back in input order


def _sub(variables: Any, name: str) -> Any:
    return {c: tree[name] for c, tree in variables.items() if name in tree}


def _direction(fn: str, module: nn.Module, variables: Any) -> _Direction:
    """The cell of an ``RNN``-like module (a ``cell`` attribute, or ``make_cell()``)."""
    cell = getattr(module, "cell", None)
    if isinstance(cell, nn.RNNCellBase):
        cell_variables = _sub(variables, "cell")
        if "params" not in cell_variables:
            raise TypeError(
                f"{fn}: cannot find the variables of the cell of {type(module).__name__} "
                "(expected them under 'cell', as jaxrnn.RNN and flax.linen.RNN keep them)"
            )
    elif callable(getattr(module, "make_cell", None)) and not isinstance(module, Stack):
        cell, cell_variables = module.make_cell(), variables  # MinGRU, LRU: one set
    else:
        raise TypeError(
            f"{fn}: expected a layer that runs a cell (jaxrnn.RNN, flax.linen.RNN, a layer "
            f"with `make_cell`, Bidirectional or a stack), got {type(module).__name__}"
        )
    return _Direction(
        cell,
        cell_variables,
        bool(getattr(module, "reverse", False)),
        bool(getattr(module, "keep_order", True)),
    )


def _loop(direction: _Direction, x: Array, carry: Any) -> tuple[Any, Array]:
    """The cell stepped in a Python loop over ``x (b, t, i)`` from ``carry``."""
    cell, variables = direction.cell, direction.variables

    # Eager: each op compiled once per shape, shared by every check of a cell of one size.
    def step(c, x_t):
        return cell.apply(variables, c, x_t)

    xs = x[:, ::-1] if direction.reverse else x
    ys = []
    for t in range(xs.shape[1]):
        carry, y = step(carry, xs[:, t])
        ys.append(y)
    outputs = jnp.stack(ys, axis=1)
    if direction.reverse and direction.input_order:
        outputs = outputs[:, ::-1]
    return carry, outputs


def _reference(fn: str, layer: nn.Module, variables: Any, x: Array, carry: Any) -> Any:
    """``(carry, outputs)`` of ``layer`` over full-length ``x``, from its cells' loops."""
    if isinstance(layer, Stack):
        directions = 2 if layer.bidirectional else 1
        inputs, finals = x, []
        for k in range(layer.num_layers):
            per_direction = []
            for d in range(directions):
                name = layer.layer_name(k, d)
                module = layer.make_layer(k, d, name)
                slot = k * directions + d
                start = jax.tree_util.tree_map(lambda c, s=slot: c[s], carry)
                final, ys = _loop(_direction(fn, module, _sub(variables, name)), inputs, start)
                per_direction.append(ys)
                finals.append(final)
            inputs = jnp.concatenate(per_direction, -1) if directions == 2 else per_direction[0]
        return jax.tree_util.tree_map(lambda *c: jnp.stack(c), *finals), inputs
    if hasattr(layer, "forward_rnn") and hasattr(layer, "backward_rnn"):
        runs = []
        for name, start, reverse in (
            ("forward_rnn", carry[0], False),
            ("backward_rnn", carry[1], True),
        ):
            d = _direction(fn, getattr(layer, name), _sub(variables, name))
            runs.append(_loop(d._replace(reverse=reverse, input_order=True), x, start))
        ys = [run[1] for run in runs]
        merged = (
            merge_directions(ys, layer.merge) if hasattr(layer, "merge") else layer.merge_fn(*ys)
        )
        return (runs[0][0], runs[1][0]), merged
    return _loop(_direction(fn, layer, variables), x, carry)


def _alternatives(layer: nn.Module) -> list[tuple[str, nn.Module]]:
    """Other code paths of the same layer that must compute the same numbers."""
    out = []
    foreign = isinstance(layer, RNN) and not isinstance(layer.cell, RecurrentCell)
    if not foreign and any(value is True for value in _field_values(layer, "fused")):
        out.append(
            (
                "fused=False",
                _rebuild(
                    layer, lambda m: {"fused": False} if _fields(m).get("fused") is True else {}
                ),
            )
        )
    modes = {"parallel": "sequential", "sequential": "parallel"}
    if any(value in modes for value in _field_values(layer, "mode")):
        out.append(
            (
                "the other `mode`",
                _rebuild(
                    layer,
                    lambda m: (
                        {"mode": modes[_fields(m)["mode"]]}
                        if _fields(m).get("mode") in modes
                        else {}
                    ),
                ),
            )
        )
    return out


def check_scan_equals_loop(
    layer_or_cell: Any,
    variables: Mapping[str, Any] | None = None,
    *,
    batch: int = 2,
    time: int = 4,
    input_size: int = 3,
    key: PRNGKey | None = None,
    x64: bool = True,
) -> dict[str, float]:
    r"""The scanned layer equals its cell stepped in a Python loop; fused equals unfused.

    Runs the layer over ``x (b, t, i)`` from a random initial carry and compares
    outputs and final carry with the cell's ``__call__`` stepped in a Python loop (the
    reference of ``flax.linen``'s own tests): forwards for an ``RNN``, backwards for a
    reversed one, each direction of a ``Bidirectional`` and every layer of a stack
    composed by hand. For jaxrnn layers the other code paths of the same parameters
    must give the same numbers too: the fused loops (``jaxrnn.RNN(cell, fused=True)``,
    the default, with hand-written derivatives) against ``fused=False`` (the step
    function under ``jax.lax.scan``), and ``mode="parallel"`` against
    ``"sequential"`` (``MinGRU``, ``LRU``), on a padded batch, outputs, carry and
    reverse-mode gradients with respect to parameters, inputs and initial carry.

    In float64 by default (``jax.enable_x64``; the layer is rebuilt with
    ``param_dtype=float64`` and any set ``dtype`` float64, so rounding cannot hide a
    wrong formula): tolerance ``TOLERANCES["float64"]``.

    Args:
      layer_or_cell: a sequence layer, or a cell (run as ``jaxrnn.RNN(cell)``).
      variables: optional variables of the layer (of the cell, for a cell), cast to
        float64 with ``x64``; default: ``layer.init`` with ``key``.
      batch: ``b``.
      time: ``t``.
      input_size: ``i``.
      key: PRNG key of the inputs, parameters and initial carry (default fixed).
      x64: compare in float64 (where the backend has it), else in float32.

    Returns:
      ``{"outputs": ..., "final carry": ..., [path]: ...}``: the max |difference| of
      each comparison.

    Raises:
      AssertionError: a comparison fails (the message names it and the worst entry).
      TypeError: a layer whose cells cannot be found.
    """
    fn = "check_scan_equals_loop"
    prop = "scan equals loop"
    layer, wrapped = _as_layer(fn, layer_or_cell)
    x64 = x64 and _x64_available()
    dtype = jnp.float64 if x64 else jnp.float32
    k_x, k_init, k_carry, k_cot = jax.random.split(_key(key), 4)
    report = {}
    with _maybe_x64(x64):
        if x64:
            layer = _with_dtypes(layer, param_dtype=jnp.float64, dtype=jnp.float64)
        x = _inputs(
            k_x,
            _positive_int(fn, "batch", batch),
            _positive_int(fn, "time", time),
            _positive_int(fn, "input_size", input_size),
            dtype,
        )
        variables = _init(layer, _lift(variables, wrapped), k_init, x, dtype if x64 else None)
        start = _random_carry(layer, variables, x, k_carry)
        carry, ys = _apply(layer, variables, x, initial_carry=start)
        ref_carry, ref_ys = _reference(fn, layer, variables, x, start)
        tol = _output_tolerance(ys)
        report["outputs"] = _assert_close(
            prop,
            "outputs of the scanned layer differ from the cell stepped in a Python loop",
            ys,
            ref_ys,
            tol,
            _AXES,
        )
        report["final carry"] = _assert_trees_close(
            prop,
            "final carry of the scanned layer differs from the Python loop's: carry",
            carry,
            ref_carry,
            tol,
        )
        lengths = _default_lengths(x.shape[0], x.shape[1])
        for label, other in _alternatives(layer):
            report[label] = _compare_paths(
                prop, label, layer, other, variables, x, lengths, start, k_cot, tol
            )
    return report


def _compare_paths(prop, label, layer, other, variables, x, lengths, start, key, tol) -> float:
    """Values and reverse-mode gradients of two code paths of one layer, padded."""

    def run(module):
        def f(v, x, c):
            return _apply(module, v, x, lengths, c)

        out, vjp = jax.vjp(f, variables, x, start)
        leaves, treedef = jax.tree_util.tree_flatten(out)
        keys = jax.random.split(key, len(leaves))
        cotangent = jax.tree_util.tree_unflatten(
            treedef,
            [
                jax.random.normal(k, leaf.shape, leaf.dtype)
                for k, leaf in zip(keys, leaves, strict=True)
            ],
        )
        return out, vjp(cotangent)

    (carry, ys), grads = run(layer)
    (o_carry, o_ys), o_grads = run(other)
    worst = _assert_close(
        prop, f"outputs differ between the default path and {label}", o_ys, ys, tol, _AXES
    )
    worst = max(
        worst,
        _assert_trees_close(
            prop,
            f"final carry differs between the default path and {label}: carry",
            o_carry,
            carry,
            tol,
        ),
    )
    names = ("variables", "x", "initial_carry")
    for name, g_other, g in zip(names, o_grads, grads, strict=True):
        worst = max(
            worst,
            _assert_trees_close(
                prop,
                f"gradients differ between the default path and {label}: d/d{name}",
                g_other,
                g,
                tol,
            ),
        )
    return worst


# ---------------------------------------------------------------------------------------
# Padding.
# ---------------------------------------------------------------------------------------


def _setup(fn, layer_or_cell, variables, batch, time, input_size, seq_lengths, key, dtype):
    layer, wrapped = _as_layer(fn, layer_or_cell)
    batch = _batch_of(fn, batch, seq_lengths, 3)
    time = _positive_int(fn, "time", time)
    lengths = _lengths(fn, seq_lengths, batch, time)
    keys = jax.random.split(_key(key), 6)
    x = _inputs(keys[0], batch, time, _positive_int(fn, "input_size", input_size), dtype)
    variables = _init(layer, _lift(variables, wrapped), keys[1], x)
    return layer, variables, x, lengths, keys[2:]


def _valid(lengths: np.ndarray, time: int) -> np.ndarray:
    """``(b, t, 1)`` booleans, True before each length."""
    return (np.arange(time)[None, :] < lengths[:, None])[..., None]


def check_padding_invariance(
    layer_or_cell: Any,
    variables: Mapping[str, Any] | None = None,
    *,
    batch: int | None = None,
    time: int = 5,
    input_size: int = 3,
    seq_lengths: Sequence[int] | None = None,
    key: PRNGKey | None = None,
    extra_padding: int = 2,
) -> dict[str, float]:
    r"""Right padding never leaks: what a sequence gives depends on its valid steps only.

    On a batch ``x (b, t, i)`` with ``seq_lengths`` (default spread from ``t`` down to
    0, e.g. ``[5, 2, 0]``) and a random initial carry, the outputs at valid steps and
    the final carry must not change when

    * the padding is filled with garbage (``GARBAGE_SCALE`` times a normal draw),
    * the batch is padded further (``extra_padding`` more garbage steps),
    * each sequence is run alone, cut to its length (so batched with longer ones it
      gives what it gives alone), from its own row of the initial carry;

    and (jaxrnn's convention, not Flax's: see the module docstring) the outputs past
    each length are exactly zero, and an empty sequence returns its initial carry. The
    final carry (``return_carry=True``) thus equals the carry at the last valid step.
    Finally the gradient of a loss of the valid outputs and the final carry with
    respect to the padding positions of ``x`` must be exactly zero.

    Args:
      layer_or_cell: a sequence layer, or a cell (run as ``jaxrnn.RNN(cell)``).
      variables: optional variables (of the cell, for a cell); default ``layer.init``.
      batch: ``b`` (default 3, or ``len(seq_lengths)``).
      time: ``t``.
      input_size: ``i``.
      seq_lengths: optional ``(b,)`` lengths in ``[0, t]``.
      key: PRNG key of inputs, garbage, parameters and carry (default fixed).
      extra_padding: how many steps the batch is padded further.

    Returns:
      ``{"garbage in the padding", "more padding", "alone vs batched", "final carry",
      "zero outputs past length", "gradient at padding"}``: each the worst deviation.

    Raises:
      AssertionError: a property fails; the message names it, the sequence and step.
    """
    fn = "check_padding_invariance"
    prop = "padding invariance"
    layer, variables, x, lengths, keys = _setup(
        fn, layer_or_cell, variables, batch, time, input_size, seq_lengths, key, jnp.float32
    )
    batch, time = x.shape[:2]
    flax_style = _flax_style(layer)
    axes = _carry_axes(layer, variables, x)
    start = _random_carry(layer, variables, x, keys[0])
    valid = _valid(lengths, time)
    defined = lengths > 0 if flax_style else np.ones(batch, bool)  # rows with a defined carry
    carry, ys = _apply(layer, variables, x, lengths, start)
    tol = _output_tolerance(ys)
    report = _Worst()

    garbage = GARBAGE_SCALE * jax.random.normal(
        keys[1], (batch, time + extra_padding, x.shape[2]), x.dtype
    )
    variants = {
        "garbage in the padding": ("padded with garbage", jnp.where(valid, x, garbage[:, :time])),
        "more padding": (
            f"padded with {extra_padding} more garbage steps",
            jnp.concatenate([x, garbage[:, time:]], axis=1),
        ),
    }
    for label, (what, x_other) in variants.items():
        o_carry, o_ys = _apply(layer, variables, x_other, lengths, start)
        got, want = jnp.where(valid, o_ys[:, :time], 0), jnp.where(valid, ys, 0)
        message = f"outputs at valid steps changed when {what}"
        report.add(label, _assert_close(prop, message, got, want, tol, _AXES))
        for b in np.flatnonzero(defined):
            message = f"final carry of sequence {b} changed when {what}: carry"
            got, want = _rows(o_carry, axes, b), _rows(carry, axes, b)
            report.add(label, _assert_trees_close(prop, message, got, want, tol))
        if not flax_style:
            past = jnp.where(_valid(lengths, o_ys.shape[1]), 0, o_ys)
            message = f"outputs past the lengths are not zero when {what}"
            report.add(label, _assert_zero(prop, message, past, _AXES))

    report.add("alone vs batched", 0.0)
    report.add("final carry", 0.0)
    for b, n in enumerate(lengths.tolist()):
        row_carry, row_start = _rows(carry, axes, b), _rows(start, axes, b)
        if n == 0:
            if not flax_style:
                message = f"final carry of empty sequence {b} is not its initial carry: carry"
                report.add(
                    "final carry", _assert_trees_close(prop, message, row_carry, row_start, tol)
                )
            continue
        a_carry, a_ys = _apply(layer, variables, x[b : b + 1, :n], None, row_start)
        message = (
            f"outputs of sequence {b} (length {n}) batched with longer sequences "
            "differ from the sequence run alone"
        )
        report.add(
            "alone vs batched", _assert_close(prop, message, ys[b : b + 1, :n], a_ys, tol, _AXES)
        )
        message = (
            f"final carry of sequence {b} (length {n}) is not the carry at its last "
            "valid step: carry"
        )
        report.add("final carry", _assert_trees_close(prop, message, row_carry, a_carry, tol))
    report.add("zero outputs past length", 0.0)
    if not flax_style:
        message = "outputs past the lengths are not zero"
        report.add(
            "zero outputs past length", _assert_zero(prop, message, jnp.where(valid, 0, ys), _AXES)
        )

    weights = jax.random.normal(keys[2], ys.shape, ys.dtype)
    row_masks = jax.tree_util.tree_map(
        lambda leaf, axis: jnp.expand_dims(
            jnp.asarray(defined), tuple(k for k in range(leaf.ndim) if k != axis)
        ),
        carry,
        axes,
    )

    def loss(x):
        c, y = _apply(layer, variables, x, lengths, start)
        value = jnp.sum(jnp.where(valid, y, 0) * weights)
        masks = jax.tree_util.tree_leaves(row_masks)
        for leaf, mask in zip(jax.tree_util.tree_leaves(c), masks, strict=True):
            value = value + jnp.sum(jnp.where(mask, _sin(leaf), 0))
        return value

    grad = jax.grad(loss)(x)
    message = (
        "the gradient of a loss of the valid outputs and the final carry with respect "
        "to the padding of x is not zero"
    )
    report.add("gradient at padding", _assert_zero(prop, message, jnp.where(valid, 0, grad), _AXES))
    return dict(report)


# ---------------------------------------------------------------------------------------
# Reverse.
# ---------------------------------------------------------------------------------------


def check_reverse_consistency(
    layer_or_cell: Any,
    variables: Mapping[str, Any] | None = None,
    *,
    batch: int | None = None,
    time: int = 5,
    input_size: int = 3,
    seq_lengths: Sequence[int] | None = None,
    key: PRNGKey | None = None,
) -> dict[str, float]:
    r"""A reversed layer over a padded batch equals the forward one over each valid part reversed.

    For a layer with a ``reverse`` attribute (``jaxrnn.RNN``, ``flax.linen.RNN``, a
    bare cell run as ``jaxrnn.RNN(cell, reverse=True)``) the layer is rebuilt with
    ``reverse=True`` and ``reverse=False`` (same parameters). For every sequence ``b``
    of length :math:`n_b`, the reversed layer's outputs ``y[b, :n_b]`` must equal the
    forward layer's over ``x[b, :n_b]`` reversed by hand (only its valid part; the
    padding stays at the end), flipped back into input order (Flax: unless
    ``keep_order=False``, in processing order), and its final carry that forward run's.
    For a ``Bidirectional`` (jaxrnn's or Flax's) the merged outputs must equal the
    forward direction merged with the backward one computed that way.

    Args:
      layer_or_cell: a layer with ``reverse``, a ``Bidirectional``, or a cell.
      variables: optional variables (of the cell, for a cell); default ``layer.init``.
      batch: ``b`` (default 3, or ``len(seq_lengths)``).
      time: ``t``.
      input_size: ``i``.
      seq_lengths: optional ``(b,)`` lengths (default spread from ``t`` down to 0).
      key: PRNG key (default fixed).

    Returns:
      ``{"outputs": ..., "final carry": ..., "zero outputs past length": ...}``.

    Raises:
      AssertionError: the reversed layer disagrees with the manual reversal.
      TypeError: a layer with neither ``reverse`` nor two directions.
    """
    fn = "check_reverse_consistency"
    prop = "reverse consistency"
    layer, wrapped = _as_layer(fn, layer_or_cell)
    bidirectional = hasattr(layer, "forward_rnn") and hasattr(layer, "backward_rnn")
    if not bidirectional:
        if "reverse" not in _fields(layer):
            raise TypeError(
                f"{fn}: expected a layer with a `reverse` attribute (jaxrnn.RNN, "
                f"flax.linen.RNN), a Bidirectional, or a cell, got {type(layer).__name__}"
            )
        layer = layer.clone(reverse=True)
    layer, variables, x, lengths, keys = _setup(
        fn,
        layer,
        _lift(variables, wrapped) if wrapped else variables,
        batch,
        time,
        input_size,
        seq_lengths,
        key,
        jnp.float32,
    )
    batch, time = x.shape[:2]
    flax_style = _flax_style(layer)
    start = _random_carry(layer, variables, x, keys[0])
    carry, ys = _apply(layer, variables, x, lengths, start)
    tol = _output_tolerance(ys)
    axes = _carry_axes(layer, variables, x)
    if bidirectional:
        backward = layer.backward_rnn.clone(reverse=False)
        b_vars = _sub(variables, "backward_rnn")
        f_carry, f_ys = _apply(
            layer.forward_rnn.clone(reverse=False),
            _sub(variables, "forward_rnn"),
            x,
            lengths,
            start[0],
        )
        forward_order = True
    else:
        backward, b_vars = layer.clone(reverse=False), variables
        forward_order = bool(getattr(layer, "keep_order", True))
    report = _Worst({"outputs": 0.0, "final carry": 0.0, "zero outputs past length": 0.0})
    for b, n in enumerate(lengths.tolist()):
        row_carry, row_start = _rows(carry, axes, b), _rows(start, axes, b)
        if n == 0:
            if not flax_style:
                message = f"final carry of empty sequence {b} is not its initial carry: carry"
                report.add(
                    "final carry", _assert_trees_close(prop, message, row_carry, row_start, tol)
                )
                message = f"outputs of empty sequence {b} are not zero"
                report.add(
                    "zero outputs past length", _assert_zero(prop, message, ys[b : b + 1], _AXES)
                )
            continue
        manual = x[b : b + 1, :n][:, ::-1]  # the valid part, reversed by hand
        m_start = row_start[1] if bidirectional else row_start
        m_carry, m_ys = _apply(backward, b_vars, manual, None, m_start)
        if forward_order:
            m_ys = m_ys[:, ::-1]
        expected_carry = m_carry
        if bidirectional:
            parts = [f_ys[b : b + 1, :n], m_ys]
            merge = getattr(layer, "merge", None)
            m_ys = merge_directions(parts, merge) if merge else layer.merge_fn(*parts)
            expected_carry = (_rows(f_carry, axes[0], b), m_carry)
        message = (
            f"outputs of sequence {b} (length {n}) differ from the forward direction "
            "over its valid part reversed by hand"
        )
        report.add("outputs", _assert_close(prop, message, ys[b : b + 1, :n], m_ys, tol, _AXES))
        message = (
            f"final carry of sequence {b} (length {n}) differs from the forward "
            "direction's over its valid part reversed by hand: carry"
        )
        report.add(
            "final carry", _assert_trees_close(prop, message, row_carry, expected_carry, tol)
        )
        if not flax_style:
            message = f"outputs of sequence {b} past its length {n} are not zero"
            report.add(
                "zero outputs past length", _assert_zero(prop, message, ys[b : b + 1, n:], _AXES)
            )
    return dict(report)


# ---------------------------------------------------------------------------------------
# Gradients.
# ---------------------------------------------------------------------------------------


def _directional_error(
    f: Callable[..., Array], args: tuple, mode: str, order: int, key: PRNGKey, eps: float
) -> float:
    """|k-th directional derivative - central difference of the (k-1)-th| / its scale."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    keys = jax.random.split(key, max(len(leaves), 1))
    direction = jax.tree_util.tree_unflatten(
        treedef,
        [
            jax.random.normal(k, jnp.shape(leaf), jnp.asarray(leaf).dtype)
            if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)
            else jnp.zeros_like(leaf)
            for k, leaf in zip(keys, leaves, strict=False)
        ],
    )

    def scalar(*a):
        out = f(*a)
        return sum(jnp.sum(_sin(leaf)) for leaf in jax.tree_util.tree_leaves(out))

    def derivative(g):
        if mode == "fwd":
            return lambda *a: jax.jvp(g, a, tuple(direction))[1]

        def along(*a):
            grads = jax.grad(g, argnums=tuple(range(len(a))))(*a)
            products = jax.tree_util.tree_map(lambda u, v: jnp.sum(u * v), grads, tuple(direction))
            return sum(jax.tree_util.tree_leaves(products))

        return along

    lower = scalar
    for _ in range(order - 1):
        lower = derivative(lower)
    exact = float(jax.jit(derivative(lower))(*args))
    lower = jax.jit(lower)  # compiled once, run at both shifted points

    def shifted(sign):
        return tuple(
            jax.tree_util.tree_map(
                lambda a, v: (
                    a + sign * eps * v if jnp.issubdtype(jnp.asarray(a).dtype, jnp.inexact) else a
                ),
                args,
                tuple(direction),
            )
        )

    numeric = (float(lower(*shifted(1))) - float(lower(*shifted(-1)))) / (2 * eps)
    return abs(exact - numeric) / max(1.0, abs(numeric))


def check_gradients(
    fn_or_layer: Any,
    args: Sequence[Any] | None = None,
    *,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    batch: int = 2,
    time: int = 4,
    input_size: int = 3,
    seq_lengths: Sequence[int] | None = None,
    key: PRNGKey | None = None,
    eps: float = 1e-5,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, float]:
    r"""Derivatives of every order up to ``order`` agree with finite differences.

    ``jax.test_util.check_grads`` in each mode (``"fwd"``: ``jax.jvp``, ``"rev"``:
    ``jax.vjp``) for orders 1 to ``order``, in float64 (``jax.enable_x64``): for a
    layer (or a cell, run as ``jaxrnn.RNN``) rebuilt with ``param_dtype=float64``, of
    :math:`L(\theta, x) = \sum_t \langle u_t, \sin y_t \rangle + \sum \sin(\text{carry})`
    on a small padded batch (default lengths ``[t, 0]``), with respect to the
    parameters and the inputs; for a function, of ``fn(*args)`` (floating ``args``
    cast to float64). A ``jax.custom_vjp`` has no forward mode: check it with
    ``modes=("rev",)``.

    Args:
      fn_or_layer: a function of ``args``, a sequence layer or a cell.
      args: the arguments of a function (ignored for a layer).
      order: the highest order checked (>= 1).
      modes: any of ``"fwd"``, ``"rev"``.
      batch: ``b`` of a layer's inputs.
      time: ``t``.
      input_size: ``i``.
      seq_lengths: optional ``(b,)`` lengths.
      key: PRNG key of inputs and parameters (default fixed).
      eps: the finite-difference step.
      atol: passed to ``check_grads`` (None: its float64 default).
      rtol: likewise.

    Returns:
      ``{"fwd order 1": ..., "rev order 2": ..., ...}``: the relative error of the
      directional derivative along one random direction against a central difference
      (a measurement for the record; ``check_grads`` decides).

    Raises:
      AssertionError: ``check_grads`` fails; the message names mode and order.
    """
    fn = "check_gradients"
    order = _positive_int(fn, "order", order)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"{fn}: expected `modes` among ('fwd', 'rev'), got {mode!r}")
    x64 = _x64_available()
    k_x, k_init, k_u, k_dir = jax.random.split(_key(key), 4)
    report = {}
    with _maybe_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        if isinstance(fn_or_layer, nn.Module):
            layer, _ = _as_layer(fn, fn_or_layer)
            layer = _with_dtypes(layer, param_dtype=dtype, dtype=dtype)
            batch = _batch_of(fn, batch, seq_lengths, 2)
            lengths = _lengths(fn, seq_lengths, batch, _positive_int(fn, "time", time))
            x = _inputs(k_x, batch, time, _positive_int(fn, "input_size", input_size), dtype)
            variables = _init(layer, None, k_init, x, dtype)
            params = variables["params"]
            rest = {c: v for c, v in variables.items() if c != "params"}
            shape = jax.eval_shape(
                lambda p, x: _apply(layer, {**rest, "params": p}, x)[1], params, x
            )
            u = jax.random.normal(k_u, shape.shape, shape.dtype)

            def f(params, x):
                carry, ys = _apply(layer, {**rest, "params": params}, x, lengths)
                carry_terms = sum(jnp.sum(_sin(c)) for c in jax.tree_util.tree_leaves(carry))
                return jnp.sum(u * jnp.sin(ys)) + carry_terms

            args = (params, x)
        else:
            if not callable(fn_or_layer) or args is None:
                raise TypeError(
                    f"{fn}: expected a layer, a cell, or a function with its `args`, got "
                    f"{type(fn_or_layer).__name__} and args={args!r}"
                )
            f = fn_or_layer
            args = tuple(
                jax.tree_util.tree_map(
                    lambda a: (
                        jnp.asarray(a, dtype)
                        if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)
                        else a
                    ),
                    tuple(args),
                )
            )
        for mode in modes:
            # check_grads at `order` checks every lower order on the way; only when it
            # fails are the orders run one by one, to name the first that disagrees.
            try:
                check_grads(f, args, order=order, modes=(mode,), atol=atol, rtol=rtol, eps=eps)
            except AssertionError as err:
                k, first = order, err
                for lower in range(1, order):
                    try:
                        check_grads(
                            f, args, order=lower, modes=(mode,), atol=atol, rtol=rtol, eps=eps
                        )
                    except AssertionError as lower_err:
                        k, first = lower, lower_err
                        break
                raise AssertionError(
                    f"gradients: {mode}-mode derivatives of order {k} disagree with finite "
                    f"differences (eps {eps:g}, {jnp.dtype(dtype).name}); directional "
                    f"error {_directional_error(f, args, mode, k, k_dir, eps):.1e}:\n{first}"
                ) from None
            for k in range(1, order + 1):
                report[f"{mode} order {k}"] = _directional_error(f, args, mode, k, k_dir, eps)
    return report


# ---------------------------------------------------------------------------------------
# Transformations.
# ---------------------------------------------------------------------------------------

# XLA compilations only: Flax traces (``jax.eval_shape``) every ``param``'s initializer
# at every call to check its shape, which costs a trace but compiles nothing.
_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_unique = itertools.count()


@contextlib.contextmanager
def _count_compilations() -> Iterator[list[str]]:
    """Collects the XLA compilations (of any ``jax.jit`` or eager op) in the block."""
    events: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        del duration, kwargs
        if event == _COMPILE_EVENT:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def check_transform_stability(
    layer_or_cell: Any,
    *,
    batch: int | None = None,
    time: int = 5,
    input_size: int = 3,
    seq_lengths: Sequence[int] | None = None,
    key: PRNGKey | None = None,
    num_models: int = 2,
    calls: int = 3,
    bfloat16_scale: float = BFLOAT16_SCALE,
    eager: bool = True,
) -> dict[str, float]:
    r"""The same numbers under ``jit``, ``vmap``, ``jax.checkpoint`` and bfloat16; no retracing.

    On a padded batch, from a random initial carry, the layer's ``(carry, outputs)``:

    * ``jax.jit`` equals eager (``TOLERANCES`` of the outputs' dtype);
    * ``jax.vmap`` over a batch of ``num_models`` models (their variables stacked, each
      initialised from its own key) equals each model run on its own;
    * ``jax.checkpoint`` (remat) gives the same loss and gradients (parameters and
      inputs) as the plain function;
    * bfloat16 against float32: the layer rebuilt with ``dtype=bfloat16`` (the
      computation dtype of jaxrnn's and Flax's cells; parameters stay float32), or,
      for a layer without a ``dtype`` attribute, variables and inputs cast to bfloat16,
      within ``bfloat16_scale`` times the bfloat16 row of ``TOLERANCES`` (default
      ``BFLOAT16_SCALE * 1.6e-2`` absolute and relative);
    * no recompilation: under ``jax.jit`` the function is traced once for ``calls``
      calls of one shape with new inputs, lengths and parameters
      (``chex.assert_max_traces``), and eager calls after the first trace and compile
      nothing (no ``jax.jit`` inside the layer rebuilt per call; counted with
      ``jax.monitoring``).

    Args:
      layer_or_cell: a sequence layer, or a cell (run as ``jaxrnn.RNN(cell)``).
      batch: ``b`` (default 3, or ``len(seq_lengths)``).
      time: ``t``.
      input_size: ``i``.
      seq_lengths: optional ``(b,)`` lengths (default spread from ``t`` down to 0).
      key: PRNG key (default fixed).
      num_models: models stacked for ``vmap``.
      calls: calls of one shape in the recompilation test (>= 2).
      bfloat16_scale: multiple of the bfloat16 row allowed for bfloat16 vs float32.
      eager: also require eager calls to compile nothing after the first. False for a
        layer run by ``flax.linen.scan`` (``flax.linen.RNN``, ``jaxrnn.RNN`` of a Flax
        cell): called eagerly, it compiles its loop at every call, by design; jit it.

    Returns:
      ``{"jit", "vmap", "checkpoint", "bfloat16", "retraces"}``: the max |difference|
      of each comparison (for ``"retraces"``: traces and compiles after the first call).

    Raises:
      AssertionError: a transformation changes the numbers, or the layer recompiles.

    References:
      Kalamkar et al., "A Study of BFLOAT16 for Deep Learning Training",
      arXiv:1905.12322, 2019.
    """
    fn = "check_transform_stability"
    prop = "transform stability"
    calls = _positive_int(fn, "calls", calls, 2)
    num_models = _positive_int(fn, "num_models", num_models)
    layer, variables, x, lengths, keys = _setup(
        fn, layer_or_cell, None, batch, time, input_size, seq_lengths, key, jnp.float32
    )
    start = _random_carry(layer, variables, x, keys[0])
    lengths = jnp.asarray(lengths)

    def apply(v, x, n, c):
        return _apply_eager(layer, v, x, n, c)

    apply.__name__ = f"apply_{type(layer).__name__}_{next(_unique)}"  # its own trace counter
    jitted = jax.jit(chex.assert_max_traces(apply, n=1))
    reference = apply(variables, x, lengths, start)
    tol = _output_tolerance(reference)
    report = {}
    message = "jax.jit changes (carry, outputs)"
    got = jitted(variables, x, lengths, start)
    report["jit"] = _assert_trees_close(prop, message, got, reference, tol)

    model_keys = jax.random.split(keys[1], num_models)
    models = [layer.init(k, _time_major_in(layer, x)) for k in model_keys]
    stacked = jax.tree_util.tree_map(lambda *v: jnp.stack(v), *models)
    batched = jax.jit(jax.vmap(apply, in_axes=(0, None, None, None)))(stacked, x, lengths, start)
    worst = 0.0
    for m, v in enumerate(models):
        worst = max(
            worst,
            _assert_trees_close(
                prop,
                f"jax.vmap over a batch of {num_models} models changes model {m}'s "
                "(carry, outputs)",
                jax.tree_util.tree_map(lambda leaf, m=m: leaf[m], batched),
                apply(v, x, lengths, start),
                tol,
            ),
        )
    report["vmap"] = worst

    weights = jax.random.normal(keys[2], reference[1].shape, reference[1].dtype)

    def loss(v, x):
        c, y = apply(v, x, lengths, start)
        carry_terms = sum(jnp.sum(_sin(leaf)) for leaf in jax.tree_util.tree_leaves(c))
        return jnp.sum(weights * jnp.sin(y)) + carry_terms

    plain = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(variables, x)
    remat = jax.jit(jax.value_and_grad(jax.checkpoint(loss), argnums=(0, 1)))(variables, x)
    report["checkpoint"] = _assert_trees_close(
        prop,
        "jax.checkpoint changes the loss or its gradients: (loss, (d/dvariables, d/dx))",
        remat,
        plain,
        tol,
    )

    report["bfloat16"] = _check_bfloat16(
        prop, layer, variables, x, lengths, start, reference, bfloat16_scale
    )
    arguments = (variables, x, lengths, start)
    report["retraces"] = _check_no_retrace(
        prop, layer, apply if eager else None, jitted, arguments, keys[3], calls
    )
    return report


def _check_bfloat16(prop, layer, variables, x, lengths, start, reference, scale) -> float:
    if _field_values(layer, "dtype"):
        low = _with_dtypes(layer, dtype=jnp.bfloat16, set_unset_dtype=True)
        how = "with dtype=bfloat16"
        out = _apply(low, variables, x, lengths, start)
    else:
        how = "with variables and inputs in bfloat16"
        bf16 = functools.partial(_cast, dtype=jnp.bfloat16)
        out = _apply(layer, bf16(variables), bf16(x), lengths, bf16(start))
    row = tolerance(jnp.bfloat16)
    tol = {"atol": scale * row["atol"], "rtol": scale * row["rtol"]}
    return _assert_trees_close(
        prop,
        f"the layer run {how} strays from float32 beyond {scale:g} x the bfloat16 row: "
        "(carry, outputs)",
        out,
        reference,
        tol,
    )


def _check_no_retrace(prop, layer, apply, jitted, first_arguments, key, calls) -> float:
    """``jitted`` (called once) is not traced again; eager ``apply`` compiles once only.

    ``apply`` None: the eager test is skipped.
    """
    _, x, lengths, start = first_arguments
    keys = jax.random.split(key, 3 * calls)
    time = x.shape[1]

    def fresh(k: int) -> tuple:
        v = layer.init(keys[3 * k], _time_major_in(layer, x))
        x_k = jax.random.normal(keys[3 * k + 1], x.shape, x.dtype)
        n_k = jax.random.randint(keys[3 * k + 2], lengths.shape, 0, time + 1).astype(lengths.dtype)
        return v, x_k, n_k, start

    arguments = [first_arguments] + [fresh(k) for k in range(1, calls)]
    try:
        for args in arguments[1:]:
            jax.block_until_ready(jitted(*args))
    except AssertionError as err:
        raise AssertionError(
            f"{prop}: jax.jit of the layer was traced again for a call of the same shape "
            f"(within {calls} calls):\n{err}"
        ) from None
    if apply is None:
        return 0.0
    with _count_compilations() as events:
        jax.block_until_ready(apply(*arguments[0]))
        first = len(events)
        for args in arguments[1:]:
            jax.block_until_ready(apply(*args))
    again = len(events) - first
    if again:
        raise AssertionError(
            f"{prop}: eager calls of the same shape recompile: {again} XLA compilations in "
            f"calls 2 to {calls} after {first} in the first (a jax.jit built anew inside the "
            "layer at every call, or a static argument that is a new object each time?)"
        )
    return float(again)


# ---------------------------------------------------------------------------------------
# Initializers.
# ---------------------------------------------------------------------------------------

_EXPECTATIONS = (
    "mean",
    "variance",
    "std",
    "bounds",
    "orthogonal",
    "spectral_radius",
    "max_singular_value",
)


def _matrices(sample: np.ndarray, num_gates: int) -> np.ndarray:
    """``(g, rows, cols / g)`` blocks of a draw viewed as ``(prod(shape[:-1]), shape[-1])``."""
    matrix = sample.reshape(-1, sample.shape[-1])
    return np.stack(np.split(matrix, num_gates, axis=-1))


def check_initializer(
    init: Callable[..., Array],
    expected: Mapping[str, Any],
    *,
    shape: Sequence[int] = (256, 256),
    dtype: DType = jnp.float32,
    key: PRNGKey | None = None,
    num_samples: int = NUM_SAMPLES,
    num_gates: int = 1,
) -> dict[str, float]:
    r"""A sampler ``init(key, shape, dtype)`` keeps what its name promises.

    ``expected`` names the properties and their values:

    * ``"mean"``: :math:`|\bar w - \mu| \le` ``MEAN_STANDARD_ERRORS`` standard errors
      :math:`\hat\sigma / \sqrt{n}`;
    * ``"variance"`` / ``"std"``: within ``VARIANCE_RTOL`` / ``STD_RTOL`` (relative);
      e.g. Glorot's :math:`2 / (\text{fan\_in} + \text{fan\_out})`, He's
      :math:`2 / \text{fan\_in}`;
    * ``"bounds"``: ``(low, high)``, every sample inside (inclusive, the bounds rounded
      to ``dtype``);
    * ``"orthogonal"``: the gain ``g``: :math:`W^\top W = g^2 I` (tall) or
      :math:`W W^\top = g^2 I` (wide) within ``ORTHO_ATOL`` times ``max(1, g^2)``, for
      the draw viewed as a ``(prod(shape[:-1]), shape[-1])`` matrix (each of
      ``num_gates`` column blocks on its own, for a fused gate kernel);
    * ``"spectral_radius"``: :math:`\max |\lambda_i(W)|` of each square block, within
      ``SPECTRAL_RTOL``;
    * ``"max_singular_value"``: :math:`\sigma_1(W)` of each block, within
      ``SPECTRAL_RTOL``.

    Moments and bounds pool ``ceil(num_samples / prod(shape))`` draws of ``shape``
    from keys split off ``key`` (``jax.vmap``), so fan-dependent samplers keep their
    fans; matrix properties use one draw. A fixed key makes the check deterministic.

    Args:
      init: the sampler.
      expected: ``{property: value}``, properties among those above.
      shape: the shape drawn.
      dtype: the dtype drawn.
      key: PRNG key (default fixed).
      num_samples: samples pooled for moments and bounds (>= 1e5).
      num_gates: column blocks of a fused kernel for the matrix properties.

    Returns:
      ``{property: deviation}``: |measured - expected| (relative for variance, std,
      spectral radius and singular value; the largest excursion past a bound, 0 when
      inside).

    Raises:
      AssertionError: a property fails.
      ValueError: an unknown property, too few samples, or a shape that does not fit.

    Examples:
      >>> from jaxrnn import initializers
      >>> import jaxrnn.testing as rnn_testing
      >>> report = rnn_testing.check_initializer(initializers.glorot_uniform(),
      ...     {"mean": 0.0, "variance": 2 / 512, "bounds": (-(6 / 512) ** 0.5, (6 / 512) ** 0.5)})
      >>> report["variance"] < 0.02
      True

    References:
      Glorot & Bengio, AISTATS 2010. He, Zhang, Ren & Sun, ICCV 2015. Saxe, McClelland
      & Ganguli, ICLR 2014. Pascanu, Mikolov & Bengio, ICML 2013.
    """
    fn = "check_initializer"
    prop = "initializer"
    unknown = sorted(set(expected) - set(_EXPECTATIONS))
    if unknown:
        raise ValueError(f"{fn}: unknown properties {unknown}; known: {_EXPECTATIONS}")
    if num_samples < 100_000:
        raise ValueError(f"{fn}: expected `num_samples` >= 100000, got {num_samples}")
    shape = tuple(int(s) for s in shape)
    name = jnp.dtype(dtype).name
    key = _key(key)
    report = {}
    with _maybe_x64(name == "float64"):
        moments = {"mean", "variance", "std", "bounds"} & set(expected)
        if moments:
            draws = max(1, math.ceil(num_samples / max(1, math.prod(shape))))
            keys = jax.random.split(key, draws)
            pooled = jax.vmap(lambda k: init(k, shape, dtype))(keys)
            if pooled.shape != (draws, *shape):
                raise AssertionError(
                    f"{prop}: draws of shape {pooled.shape[1:]}, asked for {shape}"
                )
            samples = _numpy(pooled).ravel()
            n, mean, std = samples.size, samples.mean(), samples.std()
            if "mean" in expected:
                report["mean"] = _check_scalar(
                    prop,
                    "sample mean",
                    mean,
                    float(expected["mean"]),
                    MEAN_STANDARD_ERRORS * std / math.sqrt(n),
                    f"{MEAN_STANDARD_ERRORS:g} standard errors, n = {n}",
                )
            for what, value, rtol in (
                ("variance", samples.var(), VARIANCE_RTOL),
                ("std", std, STD_RTOL),
            ):
                if what in expected:
                    want = float(expected[what])
                    allowed = rtol * want if want else tolerance(dtype)["atol"]
                    report[what] = _check_scalar(
                        prop, f"sample {what}", value, want, allowed, f"rtol {rtol:g}, n = {n}"
                    ) / (want or 1.0)
            if "bounds" in expected:
                # The bounds as the dtype stores them: float32(-0.2) < -0.2.
                low, high = (float(jnp.asarray(b, dtype)) for b in expected["bounds"])
                excursion = max(0.0, low - samples.min(), samples.max() - high)
                if excursion > 0:
                    raise AssertionError(
                        f"{prop}: samples leave the bounds [{low:g}, {high:g}]: min "
                        f"{samples.min():.6g}, max {samples.max():.6g} (n = {n})"
                    )
                report["bounds"] = excursion
        matrix_props = {"orthogonal", "spectral_radius", "max_singular_value"} & set(expected)
        if matrix_props:
            if len(shape) < 2 or shape[-1] % num_gates:
                raise ValueError(
                    f"{fn}: expected a matrix shape (..., n*{num_gates}) for "
                    f"{sorted(matrix_props)}, got {shape}"
                )
            blocks = _matrices(_numpy(init(key, shape, dtype)), num_gates)
            report.update(_matrix_checks(fn, prop, blocks, expected, name))
    return report


def _check_scalar(
    prop: str, what: str, value: float, want: float, allowed: float, how: str
) -> float:
    deviation = abs(float(value) - want)
    if not deviation <= allowed:
        raise AssertionError(
            f"{prop}: {what} {float(value):.6g}, expected {want:.6g}; |diff| = {deviation:.1e} "
            f"> {allowed:.1e} ({how})"
        )
    return deviation


def _matrix_checks(fn, prop, blocks, expected, name) -> dict[str, float]:
    report = {}
    gates, rows, cols = blocks.shape
    if "orthogonal" in expected:
        gain = float(expected["orthogonal"])
        grams = (
            blocks.transpose(0, 2, 1) @ blocks
            if rows >= cols
            else blocks @ blocks.transpose(0, 2, 1)
        )
        target = gain**2 * np.eye(min(rows, cols))
        atol = ORTHO_ATOL[name] * max(1.0, gain**2)
        diff = np.abs(grams - target)
        worst = float(diff.max())
        if worst > atol:
            gate, i, j = np.unravel_index(np.argmax(diff), diff.shape)
            which = "W^T W" if rows >= cols else "W W^T"
            raise AssertionError(
                f"{prop}: not orthogonal with gain {gain:g}: max |{which} - g^2 I| = {worst:.1e} "
                f"at ({i}, {j})"
                + (f" of gate block {gate}" if gates > 1 else "")
                + f" (atol {atol:.0e})"
            )
        report["orthogonal"] = worst
    rtol = SPECTRAL_RTOL[name]
    for what, measure in (
        ("spectral_radius", "spectral radius"),
        ("max_singular_value", "largest singular value"),
    ):
        if what not in expected:
            continue
        if what == "spectral_radius":
            if rows != cols:
                raise ValueError(
                    f"{fn}: the spectral radius needs square blocks, got {rows}x{cols}"
                )
            values = np.abs(np.linalg.eigvals(blocks)).max(axis=-1)
        else:
            values = np.linalg.svd(blocks, compute_uv=False)[..., 0]
        want = float(expected[what])
        relative = np.abs(values - want) / want
        gate = int(np.argmax(relative))
        if relative[gate] > rtol:
            raise AssertionError(
                f"{prop}: {measure} {values[gate]:.6g}, expected {want:.6g}; relative "
                f"|diff| = {relative[gate]:.1e}"
                + (f" in gate block {gate}" if gates > 1 else "")
                + f" (rtol {rtol:.0e})"
            )
        report[what] = float(relative.max())
    return report


# ---------------------------------------------------------------------------------------
# Gradient flow.
# ---------------------------------------------------------------------------------------


def _carry_gradient_norms(fn, layer, variables, x, loss_fn) -> Array:
    """``(1, t)`` norms of dL/ds_t for the full carry s_t of a foreign cell's RNN."""
    direction = _direction(fn, layer, variables)
    if direction.reverse:
        raise TypeError(f"{fn}: expected a forward layer, got reverse=True")
    cell, cell_vars = direction.cell, direction.variables
    carry0 = cell.initialize_carry(jax.random.key(0), x[:, 0].shape)
    carry0 = _scan.cast_carry(carry0, _scan.carry_dtype(cell), x.dtype)

    def loss(probes):
        def body(carry, inputs):
            x_t, probe_t = inputs
            carry, y = cell.apply(cell_vars, carry, x_t)
            carry = jax.tree_util.tree_map(jnp.add, carry, probe_t)
            return carry, y

        _, ys = jax.lax.scan(body, carry0, (jnp.swapaxes(x, 0, 1), probes))
        return loss_fn(jnp.swapaxes(ys, 0, 1))

    time = x.shape[1]
    probes = jax.tree_util.tree_map(lambda c: jnp.zeros((time, *c.shape), c.dtype), carry0)
    grads = jax.grad(loss)(probes)
    squares = sum(
        jnp.sum(jnp.square(g.astype(jnp.float32)), axis=tuple(range(1, g.ndim)))
        for g in jax.tree_util.tree_leaves(grads)
    )
    return jnp.sqrt(squares)[None]


def check_gradient_decay(
    layer_or_cell: Any,
    variables: Mapping[str, Any] | None = None,
    *,
    min_rate: float,
    max_rate: float | None = None,
    batch: int = 3,
    time: int = 10,
    input_size: int = 3,
    key: PRNGKey | None = None,
) -> dict[str, float]:
    r""":math:`\|\partial L / \partial h_t\|` decays no faster than ``min_rate`` per step.

    With :math:`L = \langle u, y_T \rangle` a loss on the last output (``u`` a fixed
    random vector) and :math:`n_t = \|\partial L / \partial h_t\|` (over units and
    batch; ``jaxrnn.diagnostics.hidden_gradient_norms``, the total derivative through
    every later step), the worst geometric rate over the window,

    .. math::
        r = \min_{t < T} \Big(\frac{n_t}{n_T}\Big)^{1/(T - t)},

    must be at least ``min_rate`` (and at most ``max_rate``, when given: no explosion).
    Pascanu et al. bound :math:`n_t \le (\gamma\,\sigma_1(W_h))^{T-t} n_T` for a
    simple RNN; this check measures the rate of an actual layer. For a layer of a
    foreign cell (no ``hidden_probe``), :math:`n_t` is the norm of the gradient with
    respect to the whole carry :math:`s_t` (for Flax's LSTM, ``(c, h)``); for a stack,
    every layer's :math:`n_t` is checked.

    Args:
      layer_or_cell: a forward sequence layer (``RNN``, a unidirectional stack,
        ``flax.linen.RNN``) or a cell.
      variables: optional variables (of the cell, for a cell); default ``layer.init``.
      min_rate: the slowest decay allowed per step, > 0 (e.g. 0.5).
      max_rate: optional fastest growth allowed per step (> 1 means growing backwards).
      batch: ``b``.
      time: ``t`` (>= 2).
      input_size: ``i``.
      key: PRNG key (default fixed).

    Returns:
      ``{"min rate": r, "max rate": ...}``: the worst rates measured.

    Raises:
      AssertionError: the gradient decays faster than ``min_rate`` (or grows faster than
        ``max_rate``).
      TypeError: a bidirectional or reversed layer.

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013, arXiv:1211.5063 (section 2). Bengio, Simard & Frasconi,
      "Learning long-term dependencies with gradient descent is difficult", IEEE TNN
      1994.
    """
    fn = "check_gradient_decay"
    prop = "gradient decay"
    if not min_rate > 0:
        raise ValueError(f"{fn}: expected `min_rate` > 0, got {min_rate!r}")
    time = _positive_int(fn, "time", time, 2)
    layer, wrapped = _as_layer(fn, layer_or_cell)
    if (
        hasattr(layer, "forward_rnn")
        or getattr(layer, "bidirectional", False)
        or getattr(layer, "reverse", False)
    ):
        raise TypeError(f"{fn}: expected a forward layer; check each direction on its own")
    k_x, k_init, k_u = jax.random.split(_key(key), 3)
    x = _inputs(
        k_x,
        _positive_int(fn, "batch", batch),
        time,
        _positive_int(fn, "input_size", input_size),
        jnp.float32,
    )
    variables = _init(layer, _lift(variables, wrapped), k_init, x)
    shape = jax.eval_shape(lambda v, x: _apply(layer, v, x)[1], variables, x)
    u = jax.random.normal(k_u, (shape.shape[0], shape.shape[-1]), shape.dtype)

    def loss_fn(outputs):
        ys = outputs[1] if isinstance(outputs, tuple) else outputs
        ys = _time_major_in(layer, ys)
        return jnp.sum(u * ys[:, -1])

    try:
        layer.hidden_probe_shape(x.shape)
        norms = diagnostics.hidden_gradient_norms(
            layer, variables, _time_major_in(layer, x), loss_fn
        )
        quantity = "||dL/dh_t||"
    except (AttributeError, TypeError):
        norms = _carry_gradient_norms(fn, layer, variables, x, lambda ys: jnp.sum(u * ys[:, -1]))
        quantity = "||dL/ds_t|| (s_t the whole carry)"
    norms = np.asarray(norms, np.float64).reshape(-1, time)  # (slots, t)
    steps = (time - 1) - np.arange(time - 1)  # T - t for t < T
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = (norms[:, :-1] / norms[:, -1:]) ** (1.0 / steps)  # (slots, t - 1)
    rates = np.where(np.isnan(rates), 0.0, rates)
    slot, t = np.unravel_index(np.argmin(rates), rates.shape)
    where = f"layer slot {slot}, " if norms.shape[0] > 1 else ""
    worst = float(rates[slot, t])
    if worst < min_rate:
        raise AssertionError(
            f"{prop}: {quantity} decays faster than min_rate={min_rate:g} per step: "
            f"(n_{t} / n_{time - 1})^(1/{time - 1 - t}) = {worst:.3g} at {where}step {t} "
            f"(n_{t} = {norms[slot, t]:.2e}, n_{time - 1} = {norms[slot, -1]:.2e})"
        )
    report = {"min rate": worst, "max rate": float(rates.max())}
    if max_rate is not None and report["max rate"] > max_rate:
        slot, t = np.unravel_index(np.argmax(rates), rates.shape)
        raise AssertionError(
            f"{prop}: {quantity} grows faster than max_rate={max_rate:g} per step going "
            f"back in time: {report['max rate']:.3g} at step {t} (n_{t} = {norms[slot, t]:.2e},"
            f" n_{time - 1} = {norms[slot, -1]:.2e})"
        )
    return report


def check_pascanu_condition(
    recurrent_kernel: Array,
    activation: str | Sequence[str] = "tanh",
    *,
    num_gates: int = 1,
    condition: str = "vanishing",
) -> dict[str, float]:
    r"""Pascanu et al.'s condition on a recurrent kernel, vanishing or exploding.

    For :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)` with :math:`|\phi'| \le \gamma`
    (:math:`\gamma = 1` for tanh and ReLU, 1/4 for the sigmoid):

    * ``condition="vanishing"``: the *sufficient* condition for vanishing long-term
      gradients holds, :math:`\sigma_1(W_h) < 1 / \gamma` (linear: :math:`\rho < 1`):
      the recurrence is contractive, its gradients cannot explode;
    * ``condition="exploding"``: the *necessary* condition for exploding gradients
      holds, :math:`\sigma_1(W_h) > 1 / \gamma`: vanishing is not guaranteed (and
      explosion possible).

    A fused gate kernel ``(h, g*h)`` is checked block by block, each with its own
    activation (``jaxrnn.diagnostics.LSTM_GATE_ACTIVATIONS``), a per-gate heuristic;
    computed by ``jaxrnn.diagnostics.recurrent_spectrum``.

    Args:
      recurrent_kernel: ``(..., h, g*h)``; leading axes are a batch, all checked.
      activation: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``, or one per gate.
      num_gates: ``g``.
      condition: ``"vanishing"`` or ``"exploding"``.

    Returns:
      ``{"gamma * sigma_1": worst, "max_singular_value": max, "spectral_radius": max}``;
      worst is the largest :math:`\gamma\sigma_1` for ``"vanishing"``, the smallest for
      ``"exploding"`` (:math:`\rho` for a linear block).

    Raises:
      AssertionError: the condition does not hold.
      ValueError: an unknown ``condition``.

    Examples:
      >>> import jax
      >>> from jaxrnn import initializers
      >>> import jaxrnn.testing as rnn_testing
      >>> w = initializers.orthogonal(gain=0.9)(jax.random.key(0), (8, 8))
      >>> round(rnn_testing.check_pascanu_condition(w, "tanh")["gamma * sigma_1"], 4)
      0.9

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013, arXiv:1211.5063 (section 2.1).
    """
    fn = "check_pascanu_condition"
    if condition not in ("vanishing", "exploding"):
        raise ValueError(
            f"{fn}: expected `condition` 'vanishing' or 'exploding', got {condition!r}"
        )
    spectrum = diagnostics.recurrent_spectrum(recurrent_kernel, activation, num_gates=num_gates)
    names = [activation] * num_gates if isinstance(activation, str) else list(activation)
    linear = np.array([name == "identity" for name in names])
    rho = np.asarray(spectrum.spectral_radius, np.float64).reshape(-1, num_gates)
    sigma = np.asarray(spectrum.max_singular_value, np.float64).reshape(-1, num_gates)
    gamma = np.broadcast_to(np.asarray(spectrum.gamma, np.float64).reshape(-1), (num_gates,))
    measure = np.where(linear, rho, gamma * sigma)  # (batch, g)
    holds = np.asarray(
        spectrum.vanishing_sufficient
        if condition == "vanishing"
        else spectrum.exploding_necessary_satisfied
    ).reshape(-1, num_gates)
    vanishing = condition == "vanishing"
    pick = np.argmax if vanishing else np.argmin
    if holds.all():
        index = np.unravel_index(pick(measure), measure.shape)
    else:
        failing = np.where(holds, -np.inf if vanishing else np.inf, measure)
        index = np.unravel_index(pick(failing), measure.shape)
        batch_index, gate = index
        if linear[gate]:
            what = f"rho = {measure[index]:.4g}"
        else:
            what = f"gamma * sigma_1 = {gamma[gate]:g} * {sigma[index]:.4g} = {measure[index]:.4g}"
        where = f" in gate block {gate} ({names[gate]})" if num_gates > 1 else f" ({names[0]})"
        where += f", kernel {batch_index}" if measure.shape[0] > 1 else ""
        if vanishing:
            raise AssertionError(
                "Pascanu condition: the sufficient condition for vanishing gradients, "
                f"gamma * sigma_1 < 1, does not hold: {what} >= 1{where}"
            )
        raise AssertionError(
            "Pascanu condition: the necessary condition for exploding gradients, "
            f"gamma * sigma_1 > 1, does not hold: {what} <= 1{where}"
        )
    return {
        "gamma * sigma_1": float(measure[index]),
        "max_singular_value": float(sigma.max()),
        "spectral_radius": float(rho.max()),
    }


# ---------------------------------------------------------------------------------------
# Hypothesis strategies.
# ---------------------------------------------------------------------------------------


def _hypothesis():
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError as err:  # a dev-only dependency
        raise ImportError(
            "jaxrnn.testing's strategies need hypothesis: pip install hypothesis"
        ) from err
    return hypothesis, strategies


class SequenceShape(NamedTuple):
    """Sizes of a small recurrent problem drawn by ``shapes``.

    Attributes:
      batch: ``b``.
      time: ``t``.
      input_size: ``i``.
      hidden_size: ``h``.
    """

    batch: int
    time: int
    input_size: int
    hidden_size: int


class SequenceBatch(NamedTuple):
    """A padded batch drawn by ``sequence_batches``: sizes, lengths, dtype and a seed.

    Attributes:
      shape: the ``SequenceShape``.
      seq_lengths: ``(b,)`` lengths in ``[0, t]``, a tuple of ints.
      dtype: the dtype of the inputs.
      seed: the seed of the inputs (``key()``), drawn by hypothesis, so reproducible.
    """

    shape: SequenceShape
    seq_lengths: tuple[int, ...]
    dtype: Any
    seed: int

    def key(self) -> PRNGKey:
        """``jax.random.key(seed)``: pass it as the ``key`` of a check."""
        return jax.random.key(self.seed)

    def inputs(self) -> Array:
        """``x (b, t, i)`` standard normal in ``dtype`` from ``key()``."""
        s = self.shape
        return jax.random.normal(self.key(), (s.batch, s.time, s.input_size)).astype(self.dtype)


def shapes(
    *,
    max_batch: int = 3,
    max_time: int = 6,
    max_input_size: int = 4,
    max_hidden_size: int = 4,
) -> Any:
    """A hypothesis strategy of small ``SequenceShape``s (sizes from 1 to each maximum).

    The defaults keep every example a fraction of a second on a 2-core CPU; batch 1 and
    time 1 are included.

    Args:
      max_batch: the largest ``b``.
      max_time: the largest ``t``.
      max_input_size: the largest ``i``.
      max_hidden_size: the largest ``h``.

    Returns:
      A ``hypothesis.strategies.SearchStrategy[SequenceShape]``.

    Raises:
      ImportError: hypothesis is not installed (``pip install hypothesis``).
    """
    _, st = _hypothesis()
    return st.builds(
        SequenceShape,
        batch=st.integers(1, max_batch),
        time=st.integers(1, max_time),
        input_size=st.integers(1, max_input_size),
        hidden_size=st.integers(1, max_hidden_size),
    )


def sequence_batches(
    *,
    max_batch: int = 3,
    max_time: int = 6,
    max_input_size: int = 4,
    max_hidden_size: int = 4,
    dtypes: Sequence[Any] = (jnp.float32,),
) -> Any:
    """A hypothesis strategy of padded batches: shapes, lengths (0 and ``t`` included), dtype.

    Lengths are drawn independently in ``[0, t]``; hypothesis favours and shrinks
    towards the ends, so empty and full sequences come up early.

    Examples:
      >>> import jaxrnn.testing as rnn_testing
      >>> from hypothesis import given, settings
      >>> @settings(max_examples=3, deadline=None, derandomize=True)
      ... @given(rnn_testing.sequence_batches(max_batch=2, max_time=3))
      ... def test(sample):
      ...     assert all(0 <= n <= sample.shape.time for n in sample.seq_lengths)
      >>> test()

    Args:
      max_batch: the largest ``b``.
      max_time: the largest ``t``.
      max_input_size: the largest ``i``.
      max_hidden_size: the largest ``h``.
      dtypes: the dtypes to draw from.

    Returns:
      A ``hypothesis.strategies.SearchStrategy[SequenceBatch]``.

    Raises:
      ImportError: hypothesis is not installed (``pip install hypothesis``).
    """
    _, st = _hypothesis()

    @st.composite
    def batches(draw):
        shape = draw(
            shapes(
                max_batch=max_batch,
                max_time=max_time,
                max_input_size=max_input_size,
                max_hidden_size=max_hidden_size,
            )
        )
        lengths = draw(
            st.lists(st.integers(0, shape.time), min_size=shape.batch, max_size=shape.batch)
        )
        dtype = draw(st.sampled_from(list(dtypes)))
        return SequenceBatch(shape, tuple(lengths), dtype, draw(st.integers(0, 2**31 - 1)))

    return batches()


def register_hypothesis_profile(
    name: str = "jaxrnn", *, max_examples: int = 10, deadline: Any = None, **settings: Any
) -> str:
    """Registers a bounded hypothesis profile for JAX tests on a small CPU.

    ``deadline=None`` because the first example of every shape compiles; derandomised,
    so every run draws the same examples (fixed keys, as everywhere in jaxrnn). Use it
    from a ``conftest.py``::

        import hypothesis
        import jaxrnn.testing as rnn_testing

        hypothesis.settings.load_profile(rnn_testing.register_hypothesis_profile())

    or register it there and choose it with ``pytest --hypothesis-profile=jaxrnn``.

    Args:
      name: the profile's name.
      max_examples: examples per test.
      deadline: per-example deadline (None: none).
      **settings: more ``hypothesis.settings`` (e.g. ``derandomize=False``).

    Returns:
      ``name``.

    Raises:
      ImportError: hypothesis is not installed (``pip install hypothesis``).
    """
    hypothesis, _ = _hypothesis()
    options = {"derandomize": True, "print_blob": True, **settings}
    hypothesis.settings.register_profile(
        name, max_examples=max_examples, deadline=deadline, **options
    )
    return name


__all__ = [
    "BFLOAT16_SCALE",
    "DEFAULT_SEED",
    "GARBAGE_SCALE",
    "MEAN_STANDARD_ERRORS",
    "NUM_SAMPLES",
    "ORTHO_ATOL",
    "SPECTRAL_RTOL",
    "STD_RTOL",
    "TOLERANCES",
    "VARIANCE_RTOL",
    "SequenceBatch",
    "SequenceShape",
    "check_gradient_decay",
    "check_gradients",
    "check_initializer",
    "check_padding_invariance",
    "check_pascanu_condition",
    "check_reverse_consistency",
    "check_scan_equals_loop",
    "check_transform_stability",
    "register_hypothesis_profile",
    "sequence_batches",
    "shapes",
    "tolerance",
]
