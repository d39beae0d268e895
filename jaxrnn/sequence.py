"""Sequence layers: a cell scanned over time, bidirectional wrappers and stacks.

Every sequence layer of jaxrnn (``RNN``, ``Bidirectional``, the ``LSTM`` / ``GRU`` /
``SimpleRNN`` stacks, ``MinGRU``, ``MinLSTM``, ``LRU`` and the models' recurrent
encoders) is called the same way, Flax's ``nn.RNN`` convention::

    outputs = layer.apply(variables, x, seq_lengths=None, *, initial_carry=None,
                          return_carry=False, deterministic=True)
    carry, outputs = layer.apply(variables, x, return_carry=True)

``x (b, t, i)`` in and ``outputs (b, t, o)`` out (``(t, b, ...)`` with
``time_major``); ``seq_lengths (b,)`` marks right-padded batches: outputs past each
length are zero and the returned carry is the one at the last valid step. A layer's
carry is what its ``initial_carry`` takes: a cell's carry for ``RNN`` (an LSTM's is
``LSTMState(h, c)``), ``(forward, backward)`` for ``Bidirectional``, and for a stack
PyTorch's layout, every leaf ``(layers * directions, b, h)`` with index ``layer *
directions + direction`` (``LSTMState(h_n, c_n)`` for an LSTM), so that a PyTorch
``h_n`` goes in and comes out unchanged.

``RNN(cell)`` runs a jaxrnn cell through its fused path (the effective weights
computed once, see ``jaxrnn._scan``), and another ``flax.linen`` cell on rank-3 input
(e.g. ``flax.linen.LSTMCell``; not the rank-5 ``ConvLSTMCell``) through
``flax.linen.scan``, without ``recurrent_dropout``, ``remat_chunk`` or
``hidden_probe`` (jaxrnn cells only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _checks, _scan
from jaxrnn.cells import GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell
from jaxrnn.typing import Array, DType

_MERGES = ("concat", "sum")


def carry_names(zeros: Any) -> list[str]:
    """Names of a carry's leaves: its fields (``h``, ``c`` for an LSTM), else h, h1, ..."""
    if dataclasses.is_dataclass(zeros):
        return [field.name for field in dataclasses.fields(zeros)]
    leaves = jax.tree_util.tree_leaves(zeros)
    return list(getattr(zeros, "_fields", ())) or [
        "h" if k == 0 else f"h{k}" for k in range(len(leaves))
    ]


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
      >>> carry, y = layer.apply(variables, x, return_carry=True)
      >>> carry.h.shape, carry.c.shape                            # LSTMState(h, c)
      ((4, 32), (4, 32))

    Attributes:
      cell: a jaxrnn cell or any ``flax.linen.RNNCellBase`` with
        ``__call__(carry, x) -> (carry, y)`` and ``initialize_carry``.
      time_major: ``x`` is ``(t, b, i)`` and outputs ``(t, b, h)``.
      reverse: run from the last valid step to the first; with ``seq_lengths`` only the
        valid part of each sequence is reversed, and outputs stay in input order.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      unroll: steps per loop iteration, passed to ``jax.lax.scan``; None (default):
        the loop's own choice (4 for the fused LSTM loop, the fastest on a CPU in
        ``experiments/benchmark.py``; 1 otherwise).
      learned_initial_carry: learn the initial state (a parameter ``initial_carry``
        per carry component, shape ``(h,)``, zero-initialised, shared by the batch).
      recurrent_dropout: variational dropout on the state entering the recurrent
        matmul: one mask per sequence, the same at every step (Gal & Ghahramani 2016).
        jaxrnn cells only; needs the ``"dropout"`` rng when not deterministic.
      fused: run jaxrnn's LSTM, GRU and Elman cells through the loops of
        ``jaxrnn._fused`` (same numbers, faster); False scans the cell's step function.
        Layer-normalised cells and ``hidden_probe`` always take the step loop. On a GPU
        a plain float32 LSTM (no norms, recurrent dropout, probe or ``remat_chunk``)
        runs through cuDNN instead (``jax.experimental.rnn``, see ``jaxrnn._cudnn``).
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
    unroll: int | None = None
    learned_initial_carry: bool = False
    recurrent_dropout: float = 0.0
    fused: bool = True
    remat_chunk: int = 0

    def _learned_carry(self, zeros: Any) -> Any:
        """The learned initial carry, a parameter ``initial_carry`` named by the carry."""
        leaves, treedef = jax.tree_util.tree_flatten(zeros)
        names = carry_names(zeros)
        learned = self.param(
            "initial_carry",
            lambda key: {n: jnp.zeros(leaf.shape[-1:], leaf.dtype) for n, leaf in
                         zip(names, leaves, strict=True)},
        )  # fmt: skip
        return jax.tree_util.tree_unflatten(
            treedef,
            [
                jnp.broadcast_to(learned[n], leaf.shape)
                for n, leaf in zip(names, leaves, strict=True)
            ],
        )

    @nn.nowrap
    def hidden_probe_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of ``hidden_probe`` for an input of ``input_shape``: the outputs'."""
        if not isinstance(self.cell, RecurrentCell):
            raise TypeError(
                f"RNN: `hidden_probe` needs a jaxrnn cell, got an RNN of {type(self.cell).__name__}"
            )
        return (*input_shape[:2], self.cell.hidden_size)

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool = True,
        reverse: bool | None = None,
        hidden_probe: Array | None = None,
    ) -> Any:
        r"""Runs the cell over ``x``.

        Args:
          x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]``.
          initial_carry: optional carry as ``cell.initialize_carry`` makes it for a
            ``(b, i)`` step input; zeros (or the learned state) when omitted.
          return_carry: overrides the attribute.
          deterministic: disables recurrent dropout.
          reverse: overrides the attribute.
          hidden_probe: optional, shaped like the outputs: added to the hidden state
            :math:`h_t` right after each step, so that its gradient is
            :math:`\partial L / \partial h_t` through every later step (the hook of
            ``jaxrnn.diagnostics.hidden_gradient_norms``; pass zeros). jaxrnn cells only.

        Returns:
          ``outputs (b, t, h)``, or ``(carry, outputs)`` with ``return_carry``.
        """
        reverse = self.reverse if reverse is None else reverse
        return_carry = self.return_carry if return_carry is None else return_carry
        loop = None
        if not isinstance(self.cell, RecurrentCell):  # another linen cell: flax.linen.scan

            def loop(xs, lengths, carry):
                return self._flax_cell(xs, lengths, carry, reverse, hidden_probe)

        return _scan.apply(
            "RNN", self.cell, getattr(self.cell, "weights", None), x, seq_lengths,
            initial_carry=initial_carry, time_major=self.time_major, reverse=reverse,
            return_carry=return_carry, hidden_probe=hidden_probe,
            recurrent_dropout=self.recurrent_dropout,
            dropout_key_fn=None if deterministic else lambda: self.make_rng("dropout"),
            fused=self.fused, unroll=self.unroll, remat_chunk=self.remat_chunk,
            learned_carry_fn=self._learned_carry if self.learned_initial_carry else None,
            loop_fn=loop,
        )  # fmt: skip

    def _flax_cell(self, xs, lengths, carry, reverse, hidden_probe):
        """Another linen cell, under ``flax.linen.scan`` with the same masking."""
        name = type(self.cell).__name__
        rate, remat_chunk = self.recurrent_dropout, self.remat_chunk
        for flag, what in ((rate > 0.0, "recurrent_dropout"), (remat_chunk, "remat_chunk"),
                           (hidden_probe is not None, "hidden_probe")):  # fmt: skip
            if flag:
                raise ValueError(f"RNN: `{what}` needs a jaxrnn cell, got {name}")
        time = xs.shape[0]
        indices = None
        if reverse:
            indices = None if lengths is None else _scan.reverse_indices(lengths, time)
            xs = jnp.flip(xs, 0) if indices is None else _scan.take_time(xs, indices)

        def flax_body(cell, carry, inputs):
            x_t, valid_t = inputs
            new_carry, y = cell(carry, x_t)
            return _scan.keep(new_carry, carry, valid_t), _scan.zero_padding(y, valid_t)

        scan = nn.scan(
            flax_body,
            variable_broadcast="params",
            split_rngs={"params": False},
            in_axes=0,
            out_axes=0,
            unroll=1 if self.unroll is None else self.unroll,
        )
        carry, ys = scan(self.cell, carry, (xs, _scan.time_mask(lengths, time)))
        if reverse:
            ys = jnp.flip(ys, 0) if indices is None else _scan.take_time(ys, indices)
        return carry, ys


class Bidirectional(nn.Module):
    """Runs ``forward_rnn`` forwards and ``backward_rnn`` backwards, length-aware.

    The backward pass reverses only the valid part of each sequence; its outputs come
    back in input order, aligned with the forward ones. The carry is
    ``(forward_carry, backward_carry)``, as in ``flax.linen.Bidirectional``.

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

    @property
    def time_major(self) -> bool:
        """The layout of the RNNs (``forward_rnn.time_major``)."""
        return self.forward_rnn.time_major

    @nn.nowrap
    def hidden_probe_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(2, b, t, h)``: the forward direction's probe, then the backward one's."""
        shape = self.forward_rnn.hidden_probe_shape(input_shape)
        if self.backward_rnn.hidden_probe_shape(input_shape) != shape:
            raise ValueError("Bidirectional: `hidden_probe` needs directions of one size")
        return (2, *shape)

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: tuple[Any, Any] | None = None,
        return_carry: bool | None = None,
        deterministic: bool = True,
        hidden_probe: Array | None = None,
    ) -> Any:
        """Runs both directions.

        Args:
          x: ``(b, t, i)`` (or time-major, as the RNNs are configured).
          seq_lengths: optional ``(b,)``.
          initial_carry: optional ``(forward_carry, backward_carry)``.
          return_carry: overrides the attribute.
          deterministic: disables recurrent dropout.
          hidden_probe: optional ``(2, b, t, h)`` (see ``RNN``), forward then backward.

        Returns:
          merged outputs, or ``((forward_carry, backward_carry), outputs)``.
        """
        _checks.one_of("Bidirectional", "merge", self.merge, _MERGES)
        layouts = [
            getattr(rnn, "time_major", False) for rnn in (self.forward_rnn, self.backward_rnn)
        ]
        if layouts[0] != layouts[1]:
            raise ValueError(
                "Bidirectional: expected `forward_rnn` and `backward_rnn` of one layout, got "
                f"time_major={layouts[0]} and time_major={layouts[1]}"
            )
        return_carry = self.return_carry if return_carry is None else return_carry
        starts = bidirectional_starts(initial_carry)
        probes = (None, None) if hidden_probe is None else (hidden_probe[0], hidden_probe[1])
        carries, ys = [], []
        for rnn, start, probe, backward in zip(
            (self.forward_rnn, self.backward_rnn), starts, probes, (False, True), strict=True
        ):
            extra = {} if probe is None else {"hidden_probe": probe}
            carry, y = rnn(
                x, seq_lengths, initial_carry=start, return_carry=True,
                deterministic=deterministic, reverse=backward, **extra,
            )  # fmt: skip
            carries.append(carry)
            ys.append(y)
        outputs = merge_directions(ys, self.merge)
        return (tuple(carries), outputs) if return_carry else outputs


def bidirectional_starts(initial_carry: Any) -> tuple[Any, Any]:
    """``(forward, backward)`` initial carries of a ``Bidirectional`` (None: zeros)."""
    if initial_carry is None:
        return (None, None)
    if isinstance(initial_carry, tuple | list) and len(initial_carry) == 2:
        return tuple(initial_carry)
    raise ValueError(
        "Bidirectional: expected `initial_carry` to be a pair (forward_carry, "
        f"backward_carry), got {type(initial_carry).__name__}"
    )


def merge_directions(ys: list[Array], merge: str) -> Array:
    """The forward and backward outputs, concatenated on features or summed."""
    if merge == "concat":
        return jnp.concatenate(ys, axis=-1)
    if ys[0].shape != ys[1].shape:
        raise ValueError(
            f"Bidirectional: merge='sum' needs directions of one output size, got "
            f"{ys[0].shape[-1]} (forward) and {ys[1].shape[-1]} (backward); use "
            "merge='concat'"
        )
    return ys[0] + ys[1]


class Stack(nn.Module):
    """The one stack of jaxrnn: ``LSTM``, ``GRU``, ``SimpleRNN`` and the models' encoders.

    Runs ``num_layers`` layers (two per layer, forward and backward, when
    ``bidirectional``), each made by ``make_layer`` and called with the sequence-layer
    protocol, with dropout between layers (PyTorch's ``dropout``). The carry, in and
    out, is PyTorch's layout: every leaf ``(layers * directions, ...)``, index
    ``layer * directions + direction``. Subclasses declare the attributes below (so
    that each keeps its own positional order) and define ``make_layer`` (and, for a
    clear error on a wrong ``initial_carry``, ``slot_carry``).

    Attributes:
      num_layers: ``l``.
      bidirectional: a backward layer beside each forward one, outputs concatenated.
      dropout: dropout on the outputs of every layer but the last.
      time_major: ``(t, b, i)`` in and out.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
    """

    @nn.nowrap
    def make_layer(self, layer: int, direction: int, name: str) -> nn.Module:
        """The sequence layer at ``layer`` and ``direction`` (1: backward), named ``name``."""
        raise NotImplementedError

    @nn.nowrap
    def layer_name(self, layer: int, direction: int) -> str:
        """The name of a layer's variables: ``layer0``, ``layer0_reverse``, ..."""
        return f"layer{layer}" + ("_reverse" if direction else "")

    @nn.nowrap
    def slot_carry(self, batch: int) -> Any:
        """One layer's zero carry for ``batch`` sequences, or None where unknown."""
        return None

    @nn.nowrap
    def hidden_size_of_probe(self) -> int:
        """The hidden size of every layer (for ``hidden_probe``)."""
        raise TypeError(f"{type(self).__name__}: `hidden_probe` needs jaxrnn cells")

    @nn.nowrap
    def hidden_probe_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(l*d, b, t, h)`` (``(l*d, t, b, h)`` if time-major)."""
        return (self.num_slots, *input_shape[:2], self.hidden_size_of_probe())

    @property
    def num_slots(self) -> int:
        """``layers * directions``."""
        return self.num_layers * (2 if self.bidirectional else 1)

    def _check(self, name: str) -> None:
        check_num_layers(name, self.num_layers)

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool = True,
        hidden_probe: Array | None = None,
    ) -> Any:
        """Runs every layer (both directions if bidirectional).

        Args:
          x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]``.
          initial_carry: optional, shaped like the returned carry.
          return_carry: overrides the attribute.
          deterministic: disables dropout and recurrent dropout; when False the
            ``"dropout"`` rng is needed.
          hidden_probe: optional ``(l*d, b, t, h)`` (``(l*d, t, b, h)`` if
            ``time_major``): each slice is the ``hidden_probe`` of one layer and
            direction (see ``RNN``), index ``layer * d + direction``.

        Returns:
          ``outputs (b, t, d*h)`` of the last layer (``d`` = 2 if bidirectional), or
          ``(carry, outputs)`` with ``return_carry``: the final carry of every layer and
          direction as PyTorch returns it, ``(l*d, b, h)`` (an ``LSTMState`` of two such
          for an LSTM), index ``layer * d + direction``.
        """
        name = type(self).__name__
        self._check(name)
        return_carry = self.return_carry if return_carry is None else return_carry
        dropout = _checks.rate(name, "dropout", self.dropout)

        def call_layer(layer, direction, inputs, **kwargs):
            module = self.make_layer(layer, direction, self.layer_name(layer, direction))
            return module(inputs, seq_lengths, deterministic=deterministic, **kwargs)

        def drop(inputs):
            return nn.Dropout(dropout)(inputs, deterministic=deterministic)

        carry, outputs = run_stack(
            name, x, seq_lengths, num_layers=self.num_layers,
            bidirectional=self.bidirectional, time_major=self.time_major,
            initial_carry=initial_carry, hidden_probe=hidden_probe,
            slot_carry=self.slot_carry, call_layer=call_layer,
            drop=drop if dropout > 0.0 else None,
        )  # fmt: skip
        return (carry, outputs) if return_carry else outputs


def check_num_layers(owner: str, num_layers: Any) -> int:
    """``num_layers``: an int >= 1."""
    if isinstance(num_layers, bool) or not isinstance(num_layers, int):
        raise TypeError(f"{owner}: expected an int `num_layers`, got {num_layers!r}")
    if num_layers < 1:
        raise ValueError(f"{owner}: expected `num_layers` >= 1, got {num_layers}")
    return num_layers


def _slot_carries(owner: str, initial_carry: Any, slots: int, template: Any) -> list[Any]:
    """Per-slot initial carries from PyTorch's ``(l*d, b, h)`` layout."""
    if initial_carry is None:
        return [None] * slots
    layout = " (layers * directions, batch, hidden)"
    if template is not None:
        stacked = jax.tree_util.tree_map(
            lambda leaf: jax.ShapeDtypeStruct((slots, *leaf.shape), leaf.dtype), template
        )
        initial_carry = _checks.carry(owner, "initial_carry", initial_carry, stacked, layout)
    for leaf in jax.tree_util.tree_leaves(initial_carry):
        if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != slots:
            raise ValueError(
                f"{owner}: expected `initial_carry` leaves with a leading axis of {slots}"
                f"{layout}, got shape {tuple(jnp.shape(leaf))}"
            )
    return [jax.tree_util.tree_map(lambda s, k=k: s[k], initial_carry) for k in range(slots)]


def run_stack(
    owner: str,
    x: Array,
    seq_lengths: Any,
    *,
    num_layers: int,
    bidirectional: bool,
    time_major: bool,
    initial_carry: Any,
    hidden_probe: Array | None,
    slot_carry: Callable[[int], Any],
    call_layer: Callable[..., tuple[Any, Array]],
    drop: Callable[[Array], Array] | None,
) -> tuple[Any, Array]:
    """The loop of every stack (``Stack`` and ``jaxrnn.nnx``'s): layers, directions, dropout.

    Args:
      owner: the stack's name, for errors.
      x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
      seq_lengths: optional ``(b,)`` lengths.
      num_layers: ``l``.
      bidirectional: two directions per layer.
      time_major: the layout.
      initial_carry: optional, every leaf ``(l*d, b, ...)``.
      hidden_probe: optional ``(l*d, ...)`` probes, one per layer and direction.
      slot_carry: ``batch -> one layer's zero carry`` (or None) to check against.
      call_layer: ``(layer, direction, inputs, initial_carry=, return_carry=True, [hidden_probe=])
        -> (carry, outputs)``.
      drop: dropout between layers, or None.

    Returns:
      ``(carry, outputs)``: every leaf of the carry ``(l*d, b, ...)``.
    """
    _checks.inputs(owner, x, time_major)
    directions = 2 if bidirectional else 1
    slots = num_layers * directions
    batch, time = (x.shape[1], x.shape[0]) if time_major else x.shape[:2]
    if seq_lengths is not None:  # here, so that the error names this layer
        _checks.seq_lengths(owner, seq_lengths, batch, time)
    initial = _slot_carries(owner, initial_carry, slots, slot_carry(batch))
    if hidden_probe is not None and hidden_probe.shape[0] != slots:
        raise ValueError(
            f"{owner}: expected `hidden_probe` with a leading axis of {slots} "
            f"(layers * directions), got shape {tuple(hidden_probe.shape)}"
        )
    outputs, finals = x, []
    for layer in range(num_layers):
        if layer > 0 and drop is not None:
            outputs = drop(outputs)
        per_direction = []
        for direction in range(directions):
            slot = layer * directions + direction
            extra = {} if hidden_probe is None else {"hidden_probe": hidden_probe[slot]}
            carry, y = call_layer(
                layer, direction, outputs, initial_carry=initial[slot], return_carry=True, **extra
            )
            per_direction.append(y)
            finals.append(carry)
        outputs = per_direction[0] if directions == 1 else jnp.concatenate(per_direction, -1)
    return jax.tree_util.tree_map(lambda *c: jnp.stack(c), *finals), outputs


class _CellStack(Stack):
    """A PyTorch-shaped stack of one jaxrnn cell type (see ``LSTM``)."""

    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    time_major: bool = False
    unroll: int | None = None
    fused: bool = True
    remat_chunk: int = 0
    kernel_init: Any = None
    recurrent_kernel_init: Any = None
    bias_init: Any = None
    layer_norm: bool = False
    weight_norm: bool = False
    dtype: DType | None = None
    param_dtype: DType = jnp.float32
    return_carry: bool = False

    def _cell_kwargs(self) -> dict[str, Any]:
        return {
            "hidden_size": self.hidden_size,
            "layer_norm": self.layer_norm,
            "weight_norm": self.weight_norm,
            "dtype": self.dtype,
            "param_dtype": self.param_dtype,
            "kernel_init": self.kernel_init,
            "recurrent_kernel_init": self.recurrent_kernel_init,
            "bias_init": self.bias_init,
        }

    @nn.nowrap
    def make_cell(self) -> RecurrentCell:
        """A fresh, unbound cell for one layer and direction."""
        raise NotImplementedError

    @nn.nowrap
    def make_layer(self, layer: int, direction: int, name: str) -> nn.Module:
        """``RNN(make_cell())``, reversed for ``direction`` 1."""
        return RNN(
            self.make_cell(),
            time_major=self.time_major,
            reverse=direction == 1,
            unroll=self.unroll,
            recurrent_dropout=self.recurrent_dropout,
            fused=self.fused,
            remat_chunk=self.remat_chunk,
            name=name,
        )

    @nn.nowrap
    def slot_carry(self, batch: int) -> Any:
        """The cell's zero carry for ``(batch, h)``."""
        return self.make_cell().initialize_carry(jax.random.key(0), (batch, 1))

    @nn.nowrap
    def hidden_size_of_probe(self) -> int:
        """``hidden_size``."""
        return self.hidden_size

    def _check(self, name: str) -> None:
        super()._check(name)
        _checks.rate(name, "recurrent_dropout", self.recurrent_dropout)


class LSTM(_CellStack):
    """A stack of LSTM layers, PyTorch-shaped (``torch.nn.LSTM``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn
      >>> lstm = jaxrnn.LSTM(hidden_size=32, num_layers=2, bidirectional=True)
      >>> x = jnp.ones((4, 10, 8))
      >>> variables = lstm.init(jax.random.key(0), x)
      >>> outputs = lstm.apply(variables, x)
      >>> state, outputs = lstm.apply(variables, x, return_carry=True)
      >>> outputs.shape, state.h.shape, state.c.shape       # PyTorch's h_n and c_n
      ((4, 10, 64), (4, 4, 32), (4, 4, 32))

    Attributes:
      hidden_size: ``h``.
      num_layers: ``l``.
      bidirectional: a backward layer beside each forward one.
      dropout: dropout on the outputs of every layer but the last (PyTorch's).
      recurrent_dropout: variational dropout on the recurrent state (Gal &
        Ghahramani 2016).
      time_major: ``(t, b, i)`` in and out.
      return_carry: return ``(carry, outputs)``, the carry ``LSTMState(h_n, c_n)``,
        each ``(l*d, b, h)``.
      unroll: steps per loop iteration, passed to ``jax.lax.scan``; None (default):
        the loop's own choice (4 for the fused LSTM loop, the fastest on a CPU in
        ``experiments/benchmark.py``; 1 otherwise).
      fused: see ``RNN`` (the fast loops of ``jaxrnn._fused``; default True).
      remat_chunk: gradient checkpointing every so many steps, see ``RNN``.
      kernel_init: see ``LSTMCell`` (None: the cell's default).
      recurrent_kernel_init: see ``LSTMCell``.
      bias_init: see ``LSTMCell`` (default ``lstm_bias(forget=1.0)``).
      layer_norm: see ``LSTMCell``.
      weight_norm: see ``LSTMCell``.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    @nn.nowrap
    def make_cell(self) -> RecurrentCell:
        """A fresh LSTM cell."""
        return LSTMCell(**self._cell_kwargs(), parent=None)


class GRU(_CellStack):
    """A stack of GRU layers, PyTorch-shaped (``torch.nn.GRU``); carry ``h_n (l*d, b, h)``.

    Attributes are those of ``LSTM`` plus ``reset_after`` (see ``GRUCell``): True, by
    default, is PyTorch's ``nn.GRU``; False is the formula of Cho et al. (2014).
    """

    reset_after: bool = True

    @nn.nowrap
    def make_cell(self) -> RecurrentCell:
        """A fresh GRU cell."""
        return GRUCell(**self._cell_kwargs(), reset_after=self.reset_after, parent=None)


class SimpleRNN(_CellStack):
    """A stack of Elman layers, PyTorch-shaped (``torch.nn.RNN``); carry ``h_n (l*d, b, h)``.

    Attributes are those of ``LSTM`` plus ``activation`` (``"tanh"`` or ``"relu"`` or a
    callable, see ``SimpleRNNCell``).
    """

    activation: Any = "tanh"

    @nn.nowrap
    def make_cell(self) -> RecurrentCell:
        """A fresh Elman cell."""
        return SimpleRNNCell(**self._cell_kwargs(), activation=self.activation, parent=None)


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "SimpleRNN",
    "Stack",
]
