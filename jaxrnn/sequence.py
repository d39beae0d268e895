"""Sequence layers: a cell scanned over time, bidirectional wrappers and stacks.

``RNN(cell)`` runs any cell with ``jax.lax.scan``: a jaxrnn cell through its fused path
(the input projection of every time step as one matmul before the scan, the effective
weights computed once), another ``flax.linen`` cell on rank-3 input (e.g.
``flax.linen.LSTMCell``; not the rank-5 ``ConvLSTMCell``) through ``flax.linen.scan``,
without ``recurrent_dropout``, ``remat_chunk`` or ``hidden_probe`` (jaxrnn cells only).

Shapes: batch-major ``x (b, t, i)`` in and ``(b, t, h)`` out unless ``time_major``; the
scan runs time-major inside. ``seq_lengths (b,)`` marks right-padded batches: outputs
past each length are zero and the returned carry is the one at the last valid step.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import GRUCell, LSTMCell, LSTMState, RecurrentCell, SimpleRNNCell
from jaxrnn.typing import Array, DType

_MERGES = ("concat", "sum")


def _check_rate(owner: str, name: str, rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{owner}: expected `{name}` in [0, 1), got {rate!r}")
    return float(rate)


def _check_remat_chunk(owner: str, chunk: Any) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
        raise ValueError(
            f"{owner}: expected `remat_chunk` to be an int >= 0 (0: no checkpointing), got "
            f"{chunk!r}"
        )
    return chunk


def check_inputs(owner: str, x: Any, time_major: bool) -> None:
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


def time_mask(seq_lengths: Array | None, time: int) -> Array | None:
    """``(t, b, 1)`` booleans, True at the steps before each length; None without lengths.

    Args:
      seq_lengths: ``(b,)`` checked lengths, or None.
      time: ``t``.

    Returns:
      The mask, or None.
    """
    if seq_lengths is None:
        return None
    return (jnp.arange(time)[:, None] < seq_lengths[None, :])[..., None]


def check_seq_lengths(
    owner: str, seq_lengths: Any, batch: int, time: int, state_arg: str = "initial_carry"
) -> Array:
    """Validates ``seq_lengths``: integers of shape ``(batch,)`` within ``[0, time]``.

    Values are checked when concrete (outside ``jit``); traced values cannot be
    inspected at trace time and are clamped to ``[0, time]`` instead, so that they never
    index padding, and ``poison_out_of_range`` turns the rows they belong to into NaN.

    Args:
      owner: the caller's name, for the message.
      seq_lengths: the lengths.
      batch: ``b``.
      time: ``t``.
      state_arg: the caller's initial-state argument, named in the error for a state
        passed where the lengths go (PyTorch's ``lstm(x, (h0, c0))`` habit).

    Returns:
      The lengths as an int32 array.
    """
    hint = (
        f"; the initial state is the keyword argument `{state_arg}=` (PyTorch's "
        f"`lstm(x, (h0, c0))` is `.apply(variables, x, {state_arg}=...)`)"
    )
    if isinstance(seq_lengths, tuple | list) and any(hasattr(v, "ndim") for v in seq_lengths):
        raise TypeError(
            f"{owner}: expected integer `seq_lengths` of shape ({batch},), got a "
            f"{type(seq_lengths).__name__} of arrays{hint}"
        )
    lengths = jnp.asarray(seq_lengths)
    if not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise TypeError(
            f"{owner}: expected integer `seq_lengths`, got dtype {lengths.dtype}"
            + (hint if jnp.issubdtype(lengths.dtype, jnp.inexact) else "")
        )
    if lengths.shape != (batch,):
        raise ValueError(
            f"{owner}: expected `seq_lengths` of shape ({batch},), got {tuple(lengths.shape)}"
        )
    if not isinstance(lengths, jax.core.Tracer):
        values = np.asarray(lengths)
        if values.size and (values.min() < 0 or values.max() > time):
            raise ValueError(
                f"{owner}: expected `seq_lengths` in [0, {time}], got min {values.min()} "
                f"and max {values.max()}"
            )
    # Traced values cannot be checked: clamp them so that they can never index padding.
    return jnp.clip(lengths.astype(jnp.int32), 0, time)


def out_of_range(seq_lengths: Any, time: int) -> Array | None:
    """``(b,)`` booleans, True where a traced length lies outside ``[0, time]``.

    None for concrete lengths (``check_seq_lengths`` has already refused those) and
    for no lengths.
    """
    if seq_lengths is None or not isinstance(seq_lengths, jax.core.Tracer):
        return None
    return (seq_lengths < 0) | (seq_lengths > time)


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


def reverse_indices(seq_lengths: Array, time: int) -> Array:
    """Time indices ``(t, b)`` that reverse the first ``seq_lengths[b]`` steps only.

    Padding stays in place, so ``take`` with these indices is its own inverse.

    Args:
      seq_lengths: ``(b,)``.
      time: ``t``.

    Returns:
      ``(t, b)`` int32 indices.
    """
    t = jnp.arange(time, dtype=jnp.int32)[:, None]
    lengths = seq_lengths[None, :]
    return jnp.where(t < lengths, lengths - 1 - t, t)


def _as_carry(template: Any, carry: Any) -> Any:
    """Accepts a plain ``(h, c)`` tuple where the cell's carry is an ``LSTMState``."""
    if (
        isinstance(template, LSTMState)
        and not isinstance(carry, LSTMState)
        and isinstance(carry, tuple | list)
        and len(carry) == 2
    ):
        return LSTMState(*carry)
    return carry


def _take_time(xs: Array, indices: Array) -> Array:
    """``xs (t, b, ...)`` gathered along time with per-example ``indices (t, b)``."""
    expand = indices.reshape(indices.shape + (1,) * (xs.ndim - 2))
    return jnp.take_along_axis(xs, expand, axis=0)


def _masked(new_carry: Any, y: Array, old_carry: Any, valid_t: Array | None) -> tuple[Any, Array]:
    """Keeps the old carry and zeroes the output where the step is padding."""
    if valid_t is None:
        return new_carry, y
    new_carry = jax.tree_util.tree_map(lambda n, o: jnp.where(valid_t, n, o), new_carry, old_carry)
    return new_carry, jnp.where(valid_t, y, jnp.zeros_like(y))


def _step_loop(step: Any, unroll: int) -> Any:
    """``loop(weights, carry, xw, valid, probe, mask) -> (carry, ys)``: ``step`` scanned."""

    def loop(weights, carry, xw, valid, probe, mask):
        def body(carry, inputs):
            xw_t, valid_t, probe_t = inputs
            new_carry, y = step(weights, carry, xw_t, mask)
            if probe_t is not None:
                y = y + probe_t
                new_carry = new_carry._replace(h=y) if isinstance(new_carry, LSTMState) else y
            return _masked(new_carry, y, carry, valid_t)

        return jax.lax.scan(body, carry, (xw, valid, probe), unroll=unroll)

    return loop


def _fused_loop(scan: Any, unroll: int) -> Any:
    """The same signature over a ``jaxrnn.fused`` loop (which takes no probe)."""

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
def _run_cell(
    step: Any,
    scan: Any,
    weights: dict[str, Array],
    carry: Any,
    xw: Array,
    valid: Array | None,
    probe: Array | None,
    mask: Array | None,
    unroll: int,
    remat_chunk: int,
) -> tuple[Any, Array]:
    """The time loop of a jaxrnn cell.

    ``scan`` (a ``jaxrnn.fused`` loop) when given, over the inputs ``xw (t, b, i)``;
    else ``step`` under ``jax.lax.scan`` over projected inputs ``xw (t, b, g*h)``.
    Jitted with the (cached) functions static: called eagerly, a layer compiles its loop
    once per shape instead of at every call; inside an outer ``jit`` it is inlined.
    """
    loop = _step_loop(step, unroll) if scan is None else _fused_loop(scan, unroll)
    if remat_chunk:
        loop = _chunked(loop, remat_chunk)
    return loop(weights, carry, xw, valid, probe, mask)


class RNN(nn.Module):
    """Runs a cell over a sequence with ``jax.lax.scan``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn
      >>> layer = jaxrnn.RNN(jaxrnn.LSTMCell(32))
      >>> x = jnp.ones((4, 10, 8))                                # (b, t, i)
      >>> variables = layer.init(jax.random.key(0), x)
      >>> y = layer.apply(variables, x, seq_lengths=jnp.array([10, 7, 3, 0]))
      >>> y.shape
      (4, 10, 32)

    Attributes:
      cell: a jaxrnn cell or any ``flax.linen.RNNCellBase`` with
        ``__call__(carry, x) -> (carry, y)`` and ``initialize_carry``.
      time_major: ``x`` is ``(t, b, i)`` and outputs ``(t, b, h)``.
      reverse: run from the last valid step to the first; with ``seq_lengths`` only the
        valid part of each sequence is reversed, and outputs stay in input order.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      unroll: passed to ``jax.lax.scan``.
      learned_initial_carry: learn the initial state (a parameter ``initial_carry``
        per carry component, shape ``(h,)``, zero-initialised, shared by the batch).
      recurrent_dropout: variational dropout on the state entering the recurrent
        matmul: one mask per sequence, the same at every step (Gal & Ghahramani 2016).
        jaxrnn cells only; needs the ``"dropout"`` rng when not deterministic.
      fused: run jaxrnn's LSTM, GRU and Elman cells through the loops of
        ``jaxrnn.fused`` (same numbers, faster); False scans the cell's step function.
        Layer-normalised cells and ``hidden_probe`` always take the step loop.
      remat_chunk: gradient checkpointing: when > 0, the loop runs in chunks of this
        many steps under ``jax.checkpoint``, so that the backward pass stores the carry
        every ``remat_chunk`` steps and recomputes the rest (activation memory about
        ``t / remat_chunk + remat_chunk`` steps' worth instead of ``t``). jaxrnn cells
        only.
    """

    cell: nn.RNNCellBase
    time_major: bool = False
    reverse: bool = False
    return_carry: bool = False
    unroll: int = 1
    learned_initial_carry: bool = False
    recurrent_dropout: float = 0.0
    fused: bool = True
    remat_chunk: int = 0

    def _initial_carry(self, initial_carry: Any, batch: int, features: int, dtype: DType) -> Any:
        zeros = self.cell.initialize_carry(jax.random.key(0), (batch, features))
        initial_carry = _as_carry(zeros, initial_carry)
        if initial_carry is not None:
            expected = jax.tree_util.tree_structure(zeros)
            found = jax.tree_util.tree_structure(initial_carry)
            if expected != found:
                raise ValueError(
                    f"RNN: expected `initial_carry` with structure {expected}, got {found}"
                )
            for want, got in zip(
                jax.tree_util.tree_leaves(zeros),
                jax.tree_util.tree_leaves(initial_carry),
                strict=True,
            ):
                if tuple(got.shape) != tuple(want.shape):
                    raise ValueError(
                        f"RNN: expected `initial_carry` leaves of shape {tuple(want.shape)}, "
                        f"got {tuple(got.shape)}"
                    )
            carry = initial_carry
        elif self.learned_initial_carry:
            leaves, treedef = jax.tree_util.tree_flatten(zeros)
            # Named after the carry's fields (h, c for an LSTM), else h, h1, ...
            names = list(getattr(zeros, "_fields", ())) or [
                "h" if k == 0 else f"h{k}" for k in range(len(leaves))
            ]
            learned = self.param(
                "initial_carry",
                lambda key: {n: jnp.zeros(leaf.shape[-1:], leaf.dtype) for n, leaf in
                             zip(names, leaves, strict=True)},
            )  # fmt: skip
            carry = jax.tree_util.tree_unflatten(
                treedef,
                [
                    jnp.broadcast_to(learned[n], leaf.shape)
                    for n, leaf in zip(names, leaves, strict=True)
                ],
            )
        else:
            carry = zeros
        compute = getattr(self.cell, "dtype", None)
        return jax.tree_util.tree_map(
            lambda c: c.astype(compute or jnp.promote_types(c.dtype, dtype)), carry
        )

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        initial_carry: Any = None,
        *,
        deterministic: bool = True,
        reverse: bool | None = None,
        return_carry: bool | None = None,
        hidden_probe: Array | None = None,
    ) -> Any:
        r"""Runs the cell over ``x``.

        Args:
          x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]``.
          initial_carry: optional carry as ``cell.initialize_carry`` makes it for a
            ``(b, i)`` step input; zeros (or the learned state) when omitted.
          deterministic: disables recurrent dropout.
          reverse: overrides the attribute.
          return_carry: overrides the attribute.
          hidden_probe: optional, shaped like the outputs: added to the hidden state
            :math:`h_t` right after each step, so that its gradient is
            :math:`\partial L / \partial h_t` through every later step (the hook of
            ``jaxrnn.diagnostics.hidden_gradient_norms``; pass zeros). jaxrnn cells only.

        Returns:
          ``outputs (b, t, h)``, or ``(carry, outputs)`` with ``return_carry``.
        """
        reverse = self.reverse if reverse is None else reverse
        return_carry = self.return_carry if return_carry is None else return_carry
        rate = _check_rate("RNN", "recurrent_dropout", self.recurrent_dropout)
        remat_chunk = _check_remat_chunk("RNN", self.remat_chunk)
        check_inputs("RNN", x, self.time_major)
        xs = x if self.time_major else jnp.swapaxes(x, 0, 1)  # (t, b, i)
        time, batch, features = xs.shape
        lengths = None
        if seq_lengths is not None:
            lengths = check_seq_lengths("RNN", seq_lengths, batch, time)
        bad = out_of_range(seq_lengths, time)
        carry = self._initial_carry(initial_carry, batch, features, xs.dtype)

        if reverse:
            indices = None if lengths is None else reverse_indices(lengths, time)
            xs = jnp.flip(xs, 0) if indices is None else _take_time(xs, indices)
        valid = time_mask(lengths, time)

        if hidden_probe is not None:
            if not isinstance(self.cell, RecurrentCell):
                raise ValueError(
                    f"RNN: `hidden_probe` needs a jaxrnn cell, got {type(self.cell).__name__}"
                )
            probe = hidden_probe if self.time_major else jnp.swapaxes(hidden_probe, 0, 1)
            if probe.shape != (time, batch, self.cell.hidden_size):
                raise ValueError(
                    "RNN: expected `hidden_probe` shaped like the outputs, "
                    f"{(batch, time, self.cell.hidden_size)} batch-major, got "
                    f"{tuple(hidden_probe.shape)}"
                )
            if reverse:
                probe = jnp.flip(probe, 0) if indices is None else _take_time(probe, indices)
            if self.cell.dtype is not None:
                probe = probe.astype(self.cell.dtype)
        else:
            probe = None

        if isinstance(self.cell, RecurrentCell):
            weights = self.cell.weights(features)
            step = self.cell.step_fn()
            mask = None
            if rate > 0.0 and not deterministic:
                keep = jax.random.bernoulli(
                    self.make_rng("dropout"), 1.0 - rate, (batch, self.cell.hidden_size)
                )
                mask = keep.astype(self.cell.dtype or xs.dtype) / (1.0 - rate)
            scan = self.cell.fused_scan() if self.fused and probe is None else None
            if scan is None:
                xw = self.cell.project_inputs(weights, xs)  # (t, b, g*h): one matmul
            else:
                # The fused loops project inside the loop: on CPU that beats one big
                # (t*b, g*h) buffer written before the loop and read back in it.
                xw = xs if self.cell.dtype is None else xs.astype(self.cell.dtype)
            carry, ys = _run_cell(
                step, scan, weights, carry, xw, valid, probe, mask, self.unroll, remat_chunk
            )
        else:
            if rate > 0.0:
                raise ValueError(
                    f"RNN: `recurrent_dropout` needs a jaxrnn cell, got {type(self.cell).__name__}"
                )
            if remat_chunk:
                raise ValueError(
                    f"RNN: `remat_chunk` needs a jaxrnn cell, got {type(self.cell).__name__}"
                )

            def flax_body(cell, carry, inputs):
                x_t, valid_t = inputs
                new_carry, y = cell(carry, x_t)
                return _masked(new_carry, y, carry, valid_t)

            scan = nn.scan(
                flax_body,
                variable_broadcast="params",
                split_rngs={"params": False},
                in_axes=0,
                out_axes=0,
                unroll=self.unroll,
            )
            carry, ys = scan(self.cell, carry, (xs, valid))

        if reverse:
            ys = jnp.flip(ys, 0) if indices is None else _take_time(ys, indices)
        outputs = ys if self.time_major else jnp.swapaxes(ys, 0, 1)
        carry = poison_out_of_range(bad, carry)
        outputs = poison_out_of_range(bad, outputs, 1 if self.time_major else 0)
        return (carry, outputs) if return_carry else outputs


class Bidirectional(nn.Module):
    """Runs ``forward_rnn`` forwards and ``backward_rnn`` backwards, length-aware.

    The backward pass reverses only the valid part of each sequence; its outputs come
    back in input order, aligned with the forward ones.

    Attributes:
      forward_rnn: an ``RNN``.
      backward_rnn: an ``RNN`` (run with ``reverse=True`` whatever its attribute).
      merge: ``"concat"`` (features ``h_f + h_b``) or ``"sum"``.
      return_carry: return ``((forward_carry, backward_carry), outputs)``.
    """

    forward_rnn: RNN
    backward_rnn: RNN
    merge: str = "concat"
    return_carry: bool = False

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        initial_carry: tuple[Any, Any] | None = None,
        *,
        deterministic: bool = True,
    ) -> Any:
        """Runs both directions.

        Args:
          x: ``(b, t, i)`` (or time-major, as the RNNs are configured).
          seq_lengths: optional ``(b,)``.
          initial_carry: optional ``(forward_carry, backward_carry)``.
          deterministic: disables recurrent dropout.

        Returns:
          merged outputs, or ``((forward_carry, backward_carry), outputs)``.
        """
        if self.merge not in _MERGES:
            raise ValueError(f"Bidirectional: expected `merge` in {_MERGES}, got {self.merge!r}")
        fwd_init, bwd_init = (None, None) if initial_carry is None else initial_carry
        fwd_carry, fwd = self.forward_rnn(
            x, seq_lengths, fwd_init, deterministic=deterministic, reverse=False,
            return_carry=True,
        )  # fmt: skip
        bwd_carry, bwd = self.backward_rnn(
            x, seq_lengths, bwd_init, deterministic=deterministic, reverse=True,
            return_carry=True,
        )  # fmt: skip
        outputs = jnp.concatenate([fwd, bwd], axis=-1) if self.merge == "concat" else fwd + bwd
        return ((fwd_carry, bwd_carry), outputs) if self.return_carry else outputs


class _Stack(nn.Module):
    """A PyTorch-shaped stack of recurrent layers (see ``LSTM``)."""

    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    time_major: bool = False
    unroll: int = 1
    fused: bool = True
    remat_chunk: int = 0
    kernel_init: Any = None
    recurrent_kernel_init: Any = None
    bias_init: Any = None
    layer_norm: bool = False
    weight_norm: bool = False
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    def _cell_kwargs(self) -> dict[str, Any]:
        kwargs = {
            "hidden_size": self.hidden_size,
            "layer_norm": self.layer_norm,
            "weight_norm": self.weight_norm,
            "dtype": self.dtype,
            "param_dtype": self.param_dtype,
            "kernel_init": self.kernel_init,
            "recurrent_kernel_init": self.recurrent_kernel_init,
            "bias_init": self.bias_init,
        }
        return kwargs

    def make_cell(self) -> RecurrentCell:
        """A fresh, unbound cell for one layer and direction."""
        raise NotImplementedError

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        initial_state: Any = None,
        deterministic: bool = True,
        hidden_probes: Array | None = None,
    ) -> tuple[Array, Any]:
        """Runs every layer (both directions if bidirectional).

        Args:
          x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]``.
          initial_state: optional, shaped like the returned final state.
          deterministic: disables dropout and recurrent dropout; when False the
            ``"dropout"`` rng is needed.
          hidden_probes: optional ``(l*d, b, t, h)`` (``(l*d, t, b, h)`` if
            ``time_major``): each slice is the ``hidden_probe`` of one layer and
            direction (see ``RNN``), index ``layer * d + direction``.

        Returns:
          ``(outputs, final_state)``: outputs ``(b, t, d*h)`` of the last layer
          (``d`` = 2 if bidirectional), and the final state of every layer and
          direction as PyTorch returns it: ``(l*d, b, h)`` (an ``LSTMState`` of two such
          for an LSTM), index ``layer * d + direction``.
        """
        name = type(self).__name__
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int):
            raise TypeError(f"{name}: expected an int `num_layers`, got {self.num_layers!r}")
        if self.num_layers < 1:
            raise ValueError(f"{name}: expected `num_layers` >= 1, got {self.num_layers}")
        dropout = _check_rate(name, "dropout", self.dropout)
        _check_rate(name, "recurrent_dropout", self.recurrent_dropout)
        check_inputs(name, x, self.time_major)
        directions = 2 if self.bidirectional else 1
        batch = x.shape[1] if self.time_major else x.shape[0]
        slots = self.num_layers * directions
        if seq_lengths is not None:  # here, so that the error names this layer
            time = x.shape[0] if self.time_major else x.shape[1]
            check_seq_lengths(name, seq_lengths, batch, time, state_arg="initial_state")

        initial = [None] * slots
        if initial_state is not None:
            template = self.make_cell().initialize_carry(jax.random.key(0), (batch, 1))
            initial_state = _as_carry(template, initial_state)
            expected_shape = (slots, batch, self.hidden_size)
            leaves = jax.tree_util.tree_leaves(initial_state)
            treedef = jax.tree_util.tree_structure(template)
            if jax.tree_util.tree_structure(initial_state) != treedef:
                raise ValueError(
                    f"{name}: expected `initial_state` with structure {treedef}, got "
                    f"{jax.tree_util.tree_structure(initial_state)}"
                )
            for leaf in leaves:
                if tuple(leaf.shape) != expected_shape:
                    raise ValueError(
                        f"{name}: expected `initial_state` of shape {expected_shape} "
                        f"(layers * directions, batch, hidden), got {tuple(leaf.shape)}"
                    )
            initial = [jax.tree_util.tree_map(lambda s, k=k: s[k], initial_state) for k in
                       range(slots)]  # fmt: skip

        if hidden_probes is not None and hidden_probes.shape[0] != slots:
            raise ValueError(
                f"{name}: expected `hidden_probes` with a leading axis of {slots} "
                f"(layers * directions), got shape {tuple(hidden_probes.shape)}"
            )
        outputs, finals = x, []
        for layer in range(self.num_layers):
            if layer > 0 and dropout > 0.0:
                outputs = nn.Dropout(dropout)(outputs, deterministic=deterministic)
            per_direction = []
            for direction in range(directions):
                rnn = RNN(
                    self.make_cell(),
                    time_major=self.time_major,
                    reverse=direction == 1,
                    return_carry=True,
                    unroll=self.unroll,
                    recurrent_dropout=self.recurrent_dropout,
                    fused=self.fused,
                    remat_chunk=self.remat_chunk,
                    name=f"layer{layer}" + ("_reverse" if direction else ""),
                )
                slot = layer * directions + direction
                carry, y = rnn(
                    outputs,
                    seq_lengths,
                    initial[slot],
                    deterministic=deterministic,
                    hidden_probe=None if hidden_probes is None else hidden_probes[slot],
                )
                per_direction.append(y)
                finals.append(carry)
            outputs = jnp.concatenate(per_direction, axis=-1)
        final_state = jax.tree_util.tree_map(lambda *c: jnp.stack(c), *finals)
        return outputs, final_state


class LSTM(_Stack):
    """A stack of LSTM layers, PyTorch-shaped: ``outputs, (h_n, c_n) = layer.apply(...)``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn
      >>> lstm = jaxrnn.LSTM(hidden_size=32, num_layers=2, bidirectional=True)
      >>> x = jnp.ones((4, 10, 8))
      >>> variables = lstm.init(jax.random.key(0), x)
      >>> outputs, (h_n, c_n) = lstm.apply(variables, x)
      >>> outputs.shape, h_n.shape
      ((4, 10, 64), (4, 4, 32))

    Attributes:
      hidden_size: ``h``.
      num_layers: ``l``.
      bidirectional: a backward layer beside each forward one.
      dropout: dropout on the outputs of every layer but the last (PyTorch's).
      recurrent_dropout: variational dropout on the recurrent state (Gal &
        Ghahramani 2016).
      time_major: ``(t, b, i)`` in and out.
      unroll: passed to ``jax.lax.scan``.
      fused: see ``RNN`` (the fast loops of ``jaxrnn.fused``; default True).
      remat_chunk: gradient checkpointing every so many steps, see ``RNN``.
      kernel_init: see ``LSTMCell`` (None: the cell's default).
      recurrent_kernel_init: see ``LSTMCell``.
      bias_init: see ``LSTMCell`` (default ``lstm_bias(forget=1.0)``).
      layer_norm: see ``LSTMCell``.
      weight_norm: see ``LSTMCell``.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    def make_cell(self) -> RecurrentCell:
        """A fresh LSTM cell."""
        return LSTMCell(**self._cell_kwargs(), parent=None)


class GRU(_Stack):
    """A stack of GRU layers, PyTorch-shaped: ``outputs, h_n = layer.apply(...)``.

    Attributes are those of ``LSTM`` plus ``reset_after`` (see ``GRUCell``; False, the
    seeds' Cho et al. formula, by default; ``from_torch`` builds ``reset_after=True``).
    """

    reset_after: bool = False

    def make_cell(self) -> RecurrentCell:
        """A fresh GRU cell."""
        return GRUCell(**self._cell_kwargs(), reset_after=self.reset_after, parent=None)


class SimpleRNN(_Stack):
    """A stack of Elman layers, PyTorch-shaped: ``outputs, h_n = layer.apply(...)``.

    Attributes are those of ``LSTM`` plus ``activation`` (``"tanh"`` or ``"relu"`` or a
    callable, see ``SimpleRNNCell``).
    """

    activation: Any = "tanh"

    def make_cell(self) -> RecurrentCell:
        """A fresh Elman cell."""
        return SimpleRNNCell(**self._cell_kwargs(), activation=self.activation, parent=None)


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "SimpleRNN",
    "check_seq_lengths",
    "reverse_indices",
]
