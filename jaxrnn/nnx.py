r"""jaxrnn for ``flax.nnx``: cells, ``RNN``, ``Bidirectional``, stacks, MinGRU/LRU, a model.

Flax recommends NNX to new users: modules are Python objects that hold their
parameters (``nnx.Param``), built eagerly with the input size and an ``nnx.Rngs``.
These are thin NNX shells over the very functions the linen modules run, not a second
copy of the math: each NNX cell keeps its linen twin (``cell.config``, never bound) and
creates its parameters with that twin's ``init``, reads the effective weights (weight
norm, dtype) through the twin's ``weights``, and the sequence layers call
``jaxrnn._scan.apply`` (the whole call of ``jaxrnn.RNN``: fused loops, masking,
reversal, recurrent dropout, checkpointing) and ``jaxrnn.sequence.run_stack``.

Parameter names and nesting are those of the linen modules (``layer0/cell/kernel``,
``rnn/rnn0/cell/bias``, ...), so ``nnx.state(model, nnx.Param).to_pure_dict()`` is the
linen ``params`` tree and ``load_linen_params`` goes the other way: for identical
parameters linen and NNX give identical outputs. The call is the sequence-layer
protocol of ``jaxrnn.sequence`` (``outputs``, or ``(carry, outputs)`` with
``return_carry=True``; keyword-only ``initial_carry``); ``deterministic`` follows NNX's
convention (the attribute, set by ``model.train()`` / ``model.eval()``, unless the call
passes it), as ``nnx.Dropout`` does.

Examples:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxrnn import nnx as rnnx
  >>> lstm = rnnx.LSTM(8, 32, num_layers=2, rngs=nnx.Rngs(0))
  >>> x = jnp.ones((4, 10, 8))
  >>> state, y = lstm(x, return_carry=True)
  >>> y.shape, state.h.shape
  ((4, 10, 32), (2, 4, 32))
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp
from flax import nnx

from jaxrnn import _checks, _scan, cells, lru, min_rnn, models, sequence
from jaxrnn.typing import Array


def load_linen_params(module: nnx.Module, params: Any) -> nnx.Module:
    """Sets an NNX module's parameters from a linen ``params`` tree of the same model.

    Args:
      module: a ``jaxrnn.nnx`` module.
      params: ``variables["params"]`` of the linen twin (same sizes).

    Returns:
      ``module``, updated in place.
    """
    state = nnx.state(module, nnx.Param)
    nnx.replace_by_pure_dict(state, params)
    nnx.update(module, state)
    return module


def _first(value: bool | None, default: bool) -> bool:
    return default if value is None else bool(value)


class _Twin(nnx.Module):
    """An NNX module holding the parameters of a linen jaxrnn module, its ``config``."""

    def _adopt(self, params: dict[str, Array]) -> None:
        self.param_names = tuple(params)
        for key, value in params.items():
            setattr(self, key, nnx.Param(value))

    def params(self) -> dict[str, Array]:
        """The raw parameters, as the linen module's ``params`` dict."""
        return {key: getattr(self, key)[...] for key in self.param_names}


class _Cell(_Twin):
    """An NNX jaxrnn cell: parameters as ``nnx.Param``, math from the linen twin."""

    linen_type: ClassVar[type[nn.Module]]

    def __init__(self, in_features: int, size: int, *, rngs: nnx.Rngs, **config: Any):
        name = type(self).__name__
        self.in_features = _checks.positive_int(name, "in_features", in_features)
        self.config = self.linen_type(size, **config)
        params = self.config.init({"params": rngs.params()}, in_features, method="weights")
        self._adopt(params["params"])

    @property
    def hidden_size(self) -> int:
        """``h`` (``N`` for an LRU cell)."""
        return getattr(self.config, "hidden_size", None) or self.config.state_size

    def weights(self, input_size: int | None = None) -> dict[str, Array]:
        """The effective weights (see ``jaxrnn.cells.RecurrentCell.weights``)."""
        if input_size is not None and input_size != self.in_features:
            raise ValueError(
                f"{type(self).__name__}: built for inputs of {self.in_features} features, "
                f"got {input_size}"
            )
        return self.config.apply({"params": self.params()}, self.in_features, method="weights")

    def __call__(self, carry: Any, x: Array) -> tuple[Any, Array]:
        """One step: ``(carry, x (..., i)) -> (carry, y (..., h))``."""
        return self.config.apply({"params": self.params()}, carry, x)

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> Any:
        """Zeros for a step input of ``input_shape`` (``nnx.RNNCellBase``'s signature)."""
        del rngs
        return self.config.initialize_carry(None, input_shape)


class SimpleRNNCell(_Cell):
    """NNX ``jaxrnn.SimpleRNNCell(in_features, hidden_size, ..., rngs=)``; see the linen cell."""

    linen_type = cells.SimpleRNNCell


class LSTMCell(_Cell):
    """NNX ``jaxrnn.LSTMCell(in_features, hidden_size, ..., rngs=)``; carry ``LSTMState``."""

    linen_type = cells.LSTMCell


class GRUCell(_Cell):
    """NNX ``jaxrnn.GRUCell(in_features, hidden_size, ..., rngs=)``; ``reset_after=True``."""

    linen_type = cells.GRUCell


class MinGRUCell(_Cell):
    """NNX ``jaxrnn.MinGRUCell(in_features, hidden_size, ..., rngs=)``: one minGRU step."""

    linen_type = min_rnn.MinGRUCell


class MinLSTMCell(_Cell):
    """NNX ``jaxrnn.MinLSTMCell(in_features, hidden_size, ..., rngs=)``: one minLSTM step."""

    linen_type = min_rnn.MinLSTMCell


class LRUCell(_Cell):
    """NNX ``jaxrnn.LRUCell(in_features, state_size, ..., rngs=)``: one LRU step."""

    linen_type = lru.LRUCell


class _Layer(_Twin):
    """A whole-sequence jaxrnn layer (``MinGRU``, ``MinLSTM``, ``LRU``) in NNX."""

    linen_type: ClassVar[type[nn.Module]]

    def __init__(self, in_features: int, size: int, *, rngs: nnx.Rngs, **config: Any):
        name = type(self).__name__
        self.in_features = _checks.positive_int(name, "in_features", in_features)
        self.config = self.linen_type(size, **config)
        example = jnp.zeros((1, 1, in_features))  # (b, t, i) and (t, b, i) alike
        self._adopt(self.config.init({"params": rngs.params()}, example)["params"])

    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool | None = None,
        mode: str | None = None,
    ) -> Any:
        """The sequence-layer protocol (see the linen layer); ``mode`` overrides."""
        del deterministic  # nothing random in these recurrences
        return self.config.apply(
            {"params": self.params()}, x, seq_lengths, initial_carry=initial_carry,
            return_carry=return_carry, mode=mode,
        )  # fmt: skip

    def step(self, carry: Array, x: Array) -> tuple[Array, Array]:
        """One step with the same parameters, for generation (the linen ``make_cell()``)."""
        return self.config.make_cell().apply({"params": self.params()}, carry, x)


class MinGRU(_Layer):
    """NNX ``jaxrnn.MinGRU(in_features, hidden_size, mode=..., rngs=)``."""

    linen_type = min_rnn.MinGRU


class MinLSTM(_Layer):
    """NNX ``jaxrnn.MinLSTM(in_features, hidden_size, mode=..., rngs=)``."""

    linen_type = min_rnn.MinLSTM


class LRU(_Layer):
    """NNX ``jaxrnn.LRU(in_features, state_size, r_min=..., r_max=..., rngs=)``."""

    linen_type = lru.LRU


class RNN(nnx.Module):
    """NNX ``jaxrnn.RNN``: runs an NNX jaxrnn cell over a sequence.

    Args:
      cell: a ``jaxrnn.nnx`` cell.
      time_major: ``(t, b, i)`` in and out.
      reverse: run backwards over the valid steps (outputs in input order).
      return_carry: return ``(carry, outputs)``.
      unroll: steps per loop iteration, passed to ``jax.lax.scan``; None (default):
        the loop's own choice (4 for the fused LSTM loop, the fastest on a CPU in
        ``experiments/benchmark.py``; 1 otherwise).
      recurrent_dropout: variational dropout on the recurrent state (Gal & Ghahramani
        2016); needs ``rngs`` with a ``dropout`` stream.
      fused: the fused loops (see ``jaxrnn.RNN``).
      remat_chunk: gradient checkpointing every so many steps.
      deterministic: no recurrent dropout (``model.eval()`` / ``model.train()`` set it).
      rngs: for recurrent dropout.
    """

    def __init__(
        self,
        cell: _Cell,
        *,
        time_major: bool = False,
        reverse: bool = False,
        return_carry: bool = False,
        unroll: int | None = None,
        recurrent_dropout: float = 0.0,
        fused: bool = True,
        remat_chunk: int = 0,
        deterministic: bool = False,
        rngs: nnx.Rngs | None = None,
    ):
        if not isinstance(cell, _Cell) or not isinstance(cell.config, cells.RecurrentCell):
            raise TypeError(
                "RNN: expected a jaxrnn.nnx SimpleRNNCell, LSTMCell or GRUCell, got "
                f"{type(cell).__name__} (MinGRU, MinLSTM and LRU are whole-sequence layers)"
            )
        self.cell = cell
        self.time_major = time_major
        self.reverse = reverse
        self.return_carry = return_carry
        self.unroll = unroll
        self.recurrent_dropout = _checks.rate("RNN", "recurrent_dropout", recurrent_dropout)
        self.fused = fused
        self.remat_chunk = remat_chunk
        self.deterministic = deterministic
        self.rngs = rngs["dropout"].fork() if rngs is not None else nnx.data(None)

    def hidden_probe_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The outputs' shape (see ``jaxrnn.RNN``)."""
        return (*input_shape[:2], self.cell.hidden_size)

    def _dropout_stream(self, deterministic: bool) -> Any:
        if deterministic or self.recurrent_dropout == 0.0:
            return None
        if self.rngs is None:
            raise ValueError(
                "RNN: `recurrent_dropout` > 0 and not deterministic needs `rngs` with a "
                "'dropout' stream (or model.eval())"
            )
        return self.rngs

    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool | None = None,
        reverse: bool | None = None,
        hidden_probe: Array | None = None,
    ) -> Any:
        """The sequence-layer protocol (see ``jaxrnn.RNN.__call__``)."""
        stream = self._dropout_stream(_first(deterministic, self.deterministic))
        return _scan.apply(
            "RNN", self.cell.config, self.cell.weights, x, seq_lengths,
            initial_carry=initial_carry, time_major=self.time_major,
            reverse=_first(reverse, self.reverse),
            return_carry=_first(return_carry, self.return_carry), hidden_probe=hidden_probe,
            recurrent_dropout=self.recurrent_dropout,
            dropout_key_fn=stream, fused=self.fused,
            unroll=self.unroll, remat_chunk=self.remat_chunk,
        )  # fmt: skip


class Bidirectional(nnx.Module):
    """NNX ``jaxrnn.Bidirectional``: carry ``(forward, backward)``, outputs merged.

    Args:
      forward_rnn: an NNX ``RNN``.
      backward_rnn: an NNX ``RNN`` (run reversed whatever its attribute).
      merge: ``"concat"`` or ``"sum"``.
      return_carry: return ``((forward, backward), outputs)``.
    """

    def __init__(
        self, forward_rnn: RNN, backward_rnn: RNN, *, merge: str = "concat", return_carry=False
    ):
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge = _checks.one_of("Bidirectional", "merge", merge, sequence._MERGES)
        self.return_carry = return_carry

    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool | None = None,
    ) -> Any:
        """The sequence-layer protocol (see ``jaxrnn.Bidirectional.__call__``)."""
        starts = sequence.bidirectional_starts(initial_carry)
        carries, ys = [], []
        for rnn, start, backward in zip(
            (self.forward_rnn, self.backward_rnn), starts, (False, True), strict=True
        ):
            carry, y = rnn(
                x, seq_lengths, initial_carry=start, return_carry=True,
                deterministic=deterministic, reverse=backward,
            )  # fmt: skip
            carries.append(carry)
            ys.append(y)
        outputs = sequence.merge_directions(ys, self.merge)
        return (tuple(carries), outputs) if _first(return_carry, self.return_carry) else outputs


class _Stack(nnx.Module):
    """NNX stacks: layers ``layer0``, ``layer0_reverse``, ... run by ``run_stack``."""

    cell_type: ClassVar[type[_Cell]]
    layer_prefix: ClassVar[str] = "layer"

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int | None = None,
        fused: bool = True,
        remat_chunk: int = 0,
        deterministic: bool = False,
        rngs: nnx.Rngs,
        **cell_config: Any,
    ):
        name = type(self).__name__
        self.num_layers = sequence.check_num_layers(name, num_layers)
        self.bidirectional = bidirectional
        self.time_major = time_major
        self.return_carry = return_carry
        self.hidden_size = hidden_size
        self.dropout = nnx.Dropout(
            _checks.rate(name, "dropout", dropout), deterministic=deterministic, rngs=rngs
        )
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for direction in range(directions):
                size = in_features if layer == 0 else hidden_size * directions
                cell = self.cell_type(size, hidden_size, rngs=rngs, **cell_config)
                rnn = RNN(
                    cell, time_major=time_major, reverse=direction == 1, unroll=unroll,
                    recurrent_dropout=recurrent_dropout, fused=fused, remat_chunk=remat_chunk,
                    deterministic=deterministic, rngs=rngs,
                )  # fmt: skip
                setattr(self, self._layer_name(layer, direction), rnn)

    def _layer_name(self, layer: int, direction: int) -> str:
        return f"{self.layer_prefix}{layer}" + ("_reverse" if direction else "")

    def hidden_probe_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(l*d, b, t, h)`` (see ``jaxrnn.LSTM``)."""
        slots = self.num_layers * (2 if self.bidirectional else 1)
        return (slots, *input_shape[:2], self.hidden_size)

    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        deterministic: bool | None = None,
        hidden_probe: Array | None = None,
    ) -> Any:
        """The sequence-layer protocol (see ``jaxrnn.LSTM.__call__``)."""
        owner = type(self).__name__

        def call_layer(layer, direction, inputs, **kwargs):
            rnn = getattr(self, self._layer_name(layer, direction))
            return rnn(inputs, seq_lengths, deterministic=deterministic, **kwargs)

        def slot_carry(batch):
            return getattr(self, self._layer_name(0, 0)).cell.initialize_carry((batch, 1))

        carry, outputs = sequence.run_stack(
            owner, x, seq_lengths, num_layers=self.num_layers,
            bidirectional=self.bidirectional, time_major=self.time_major,
            initial_carry=initial_carry, hidden_probe=hidden_probe, slot_carry=slot_carry,
            call_layer=call_layer,
            drop=lambda inputs: self.dropout(inputs, deterministic=deterministic),
        )  # fmt: skip
        return (carry, outputs) if _first(return_carry, self.return_carry) else outputs


class LSTM(_Stack):
    """NNX ``jaxrnn.LSTM(in_features, hidden_size, num_layers, ..., rngs=)``.

    Keyword arguments beyond the stack's (``kernel_init``, ``bias_init``,
    ``layer_norm``, ``weight_norm``, ``dtype``, ...) go to every ``LSTMCell``.
    """

    cell_type = LSTMCell


class GRU(_Stack):
    """NNX ``jaxrnn.GRU(in_features, hidden_size, num_layers, ..., rngs=)``."""

    cell_type = GRUCell


class SimpleRNN(_Stack):
    """NNX ``jaxrnn.SimpleRNN(in_features, hidden_size, num_layers, ..., rngs=)``."""

    cell_type = SimpleRNNCell


class _Encoder(_Stack):
    """The models' recurrent part: layers ``rnn0``, ``rnn1``, ... (see linen ``models``)."""

    layer_prefix = "rnn"

    def __init__(self, cell_type: type[_Cell], *args: Any, **kwargs: Any):
        self.cell_type = cell_type
        super().__init__(*args, **kwargs)


_CELLS = {"lstm": LSTMCell, "gru": GRUCell, "simple": SimpleRNNCell}


class SequenceClassifier(nnx.Module):
    """NNX ``jaxrnn.models.SequenceClassifier``: a recurrent stack and a linear classifier.

    Args:
      in_features: ``i``.
      hidden_size: ``h`` of every layer.
      num_classes: classes.
      cell: ``"lstm"``, ``"gru"`` or ``"simple"``.
      num_layers: recurrent layers.
      pooling: ``"last"`` (the output of each sequence's last valid step) or
        ``"mean"`` (mean of the outputs over the valid steps).
      dropout: dropout between recurrent layers and before the classifier.
      deterministic: no dropout (``model.eval()`` / ``model.train()`` set it).
      rngs: parameters and dropout.
      **cell_config: passed to every cell (``kernel_init``, ``reset_after``, ...).
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        num_classes: int,
        *,
        cell: str = "lstm",
        num_layers: int = 1,
        pooling: str = "last",
        dropout: float = 0.0,
        deterministic: bool = False,
        rngs: nnx.Rngs,
        **cell_config: Any,
    ):
        owner = "SequenceClassifier"
        cell_type = _CELLS[_checks.one_of(owner, "cell", cell, tuple(_CELLS))]
        self.pooling = _checks.one_of(owner, "pooling", pooling, models._POOLING)
        self.rnn = _Encoder(
            cell_type, in_features, hidden_size, num_layers, dropout=dropout,
            deterministic=deterministic, rngs=rngs, **cell_config,
        )  # fmt: skip
        self.dropout = nnx.Dropout(dropout, deterministic=deterministic, rngs=rngs)
        self.classifier = nnx.Linear(hidden_size, num_classes, rngs=rngs)

    def __call__(
        self, x: Array, seq_lengths: Array | None = None, *, deterministic: bool | None = None
    ) -> Array:
        """``x (b, t, i) -> logits (b, num_classes)``."""
        outputs = self.rnn(x, seq_lengths, deterministic=deterministic)
        features = models.pool(outputs, seq_lengths, self.pooling)
        if self.dropout.rate > 0:
            features = self.dropout(features, deterministic=deterministic)
        return self.classifier(features)


__all__ = [
    "GRU",
    "LRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "LRUCell",
    "LSTMCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "SequenceClassifier",
    "SimpleRNN",
    "SimpleRNNCell",
    "load_linen_params",
]
