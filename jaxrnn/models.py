r"""Models built from jaxrnn cells: what the experiments use and users import.

* ``SequenceRegressor``: the common PyTorch ``LSTMModel`` pattern, a recurrent stack
  and a dense head on the last (valid) step's hidden state.
* ``SequenceClassifier``: the same with class logits, pooling the last step or the mean.
* ``CharLanguageModel``: a character model (Graves 2013; Karpathy 2015): embedding,
  recurrent stack, a log-softmax over the vocabulary at every step, and sampling.
* ``Seq2Seq``: an encoder-decoder (Sutskever et al. 2014; Cho et al. 2014), with
  Bahdanau (additive) or Luong (general) attention or none.

Each takes any jaxrnn cell as a template (``cell=jaxrnn.GRUCell(128,
kernel_init=...)``): the template is cloned for every layer, so its initializers, layer
norm and weight norm options apply everywhere.

``SequenceRegressor``, ``SequenceClassifier`` and ``SequenceTagger`` also take a
*sequence layer* in place of the cell: ``jaxrnn.MinGRU``, ``jaxrnn.MinLSTM`` or
``jaxrnn.LRU``, which map a whole sequence ``(b, t, i) -> (b, t, o)`` at once (by default
with their parallel scan) instead of being stepped by ``jaxrnn.RNN``. The template is
cloned for every layer in the same way, and the heads read the layer's *outputs*: the
output of each sequence's last valid step (``pooling="last"``) or every step's. For a
minGRU / minLSTM that output is the hidden state, as for a cell; for an LRU it is the
readout :math:`\operatorname{Re}(C x_t) + D \odot u_t`, not the complex state. An LRU
keeps its input's width, so it usually comes with ``input_projection`` (a linear layer
applied to every step's input first: the paper's encoder).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _checks, initializers
from jaxrnn.cells import LSTMState, RecurrentCell
from jaxrnn.lru import LRU
from jaxrnn.min_rnn import MinGRU, MinLSTM
from jaxrnn.sequence import RNN, Stack
from jaxrnn.typing import Array

_POOLING = ("last", "mean")
_ATTENTION = ("bahdanau", "luong", None)

SequenceLayer = MinGRU | MinLSTM | LRU
"""The sequence layers a model accepts in place of a cell: ``(b, t, i) -> (b, t, o)``."""
SEQUENCE_LAYERS = (MinGRU, MinLSTM, LRU)


def _check_cell(owner: str, cell: Any, layers: bool = False) -> None:
    """Raises unless ``cell`` is a jaxrnn cell (or, with ``layers``, a sequence layer)."""
    if layers and isinstance(cell, SEQUENCE_LAYERS):
        if cell.time_major:
            raise ValueError(
                f"{owner}: expected a batch-major sequence layer, got {type(cell).__name__} "
                "with time_major=True"
            )
        return
    if not isinstance(cell, RecurrentCell):
        also = " or a sequence layer (MinGRU, MinLSTM, LRU)" if layers else ""
        raise TypeError(
            f"{owner}: expected `cell` to be a jaxrnn cell (SimpleRNNCell, LSTMCell, GRUCell)"
            f"{also}, got {type(cell).__name__}"
        )


def _check_projection(owner: str, input_projection: Any) -> None:
    if input_projection is not None:
        _checks.positive_int(owner, "input_projection", input_projection)


def _last_output(outputs: Array, seq_lengths: Array | None) -> Array:
    """``outputs (b, t, o)`` at each sequence's last valid step: ``(b, o)``.

    For a cell that is the hidden state of the final carry; for a sequence layer its
    output there (for an LRU the readout, not the complex state). A sequence of length
    0 gets its step 0, which every sequence layer sets to zero.
    """
    if seq_lengths is None:
        return outputs[:, -1]
    last = jnp.maximum(jnp.asarray(seq_lengths) - 1, 0)
    return jnp.take_along_axis(outputs, last[:, None, None], axis=1)[:, 0]


def pool(outputs: Array, seq_lengths: Array | None, pooling: str) -> Array:
    """``outputs (b, t, o) -> (b, o)``: the last valid step's, or the mean over valid steps.

    Args:
      outputs: a sequence layer's outputs, zero past each length.
      seq_lengths: optional ``(b,)``.
      pooling: ``"last"`` or ``"mean"``.
    """
    if pooling == "last":
        return _last_output(outputs, seq_lengths)
    batch, time = outputs.shape[:2]
    lengths = jnp.full((batch,), time) if seq_lengths is None else seq_lengths
    return outputs.sum(axis=1) / jnp.maximum(lengths, 1)[:, None]


class _Encoder(Stack):
    """``num_layers`` sequence layers over clones of ``cell``: the models' recurrent part.

    The one ``jaxrnn.sequence.Stack``: a jaxrnn cell is cloned into ``RNN(cell)`` per
    layer, a sequence layer (``MinGRU``, ``MinLSTM``, ``LRU``) is cloned as it is; both
    are then called with the sequence-layer protocol. Variables ``rnn0``, ``rnn1``, ...
    """

    cell: RecurrentCell | SequenceLayer
    num_layers: int = 1
    dropout: float = 0.0
    bidirectional: bool = False
    time_major: bool = False
    return_carry: bool = False

    @nn.nowrap
    def layer_name(self, layer: int, direction: int) -> str:
        """``rnn0``, ``rnn1``, ..."""
        return f"rnn{layer}" + ("_reverse" if direction else "")

    @nn.nowrap
    def make_layer(self, layer: int, direction: int, name: str) -> nn.Module:
        """``RNN(clone of cell)`` for a cell, a clone for a sequence layer."""
        if isinstance(self.cell, RecurrentCell):
            return RNN(self.cell.clone(parent=None, name=None), reverse=direction == 1, name=name)
        return self.cell.clone(parent=self, name=name)


def _project(x: Array, input_projection: int | None) -> Array:
    """``x (b, t, i) -> (b, t, input_projection)`` by a dense layer; ``x`` if None."""
    if input_projection is None:
        return x
    return nn.Dense(input_projection, name="input_projection")(x)


class SequenceRegressor(nn.Module):
    """A recurrent stack and a dense head on the hidden state of the last valid step.

    The usual ``LSTMModel`` of PyTorch tutorials (``out = fc(lstm(x)[:, -1, :])``) for any
    cell and depth; with ``seq_lengths`` the head reads each sequence's own last step.
    With a sequence layer (``jaxrnn.MinGRU``, ``jaxrnn.MinLSTM``, ``jaxrnn.LRU``) in place
    of the cell the head reads that layer's output at the last valid step (see the module
    docstring).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxrnn
      >>> model = SequenceRegressor(jaxrnn.LSTMCell(16), num_layers=2)
      >>> x = jnp.ones((4, 10, 1))                      # (b, t, i)
      >>> variables = model.init(jax.random.key(0), x)
      >>> model.apply(variables, x).shape
      (4, 1)
      >>> lru = SequenceRegressor(jaxrnn.LRU(state_size=32), input_projection=16)
      >>> lru.apply(lru.init(jax.random.key(0), x), x).shape  # parallel scan
      (4, 1)

    Attributes:
      cell: the cell template, e.g. ``jaxrnn.LSTMCell(64)``, or a sequence layer
        template, e.g. ``jaxrnn.MinGRU(64)``.
      num_layers: recurrent layers.
      output_size: outputs of the head.
      dropout: dropout between recurrent layers.
      head_init: initializer of the head's kernel.
      input_projection: width of a dense layer applied to every step's input before
        the recurrent stack (``(b, t, i) -> (b, t, input_projection)``); None: none.
    """

    cell: RecurrentCell | SequenceLayer
    num_layers: int = 1
    output_size: int = 1
    dropout: float = 0.0
    head_init: Any = "lecun_normal"
    input_projection: int | None = None

    @nn.compact
    def __call__(
        self, x: Array, seq_lengths: Array | None = None, deterministic: bool = True
    ) -> Array:
        """``x (b, t, i) -> (b, output_size)``.

        Args:
          x: inputs ``(b, t, i)``.
          seq_lengths: optional ``(b,)``.
          deterministic: disables dropout.

        Returns:
          ``(b, output_size)``.
        """
        _check_cell("SequenceRegressor", self.cell, layers=True)
        _check_projection("SequenceRegressor", self.input_projection)
        x = _project(x, self.input_projection)
        outputs = _Encoder(self.cell, self.num_layers, self.dropout, name="rnn")(
            x, seq_lengths, deterministic=deterministic
        )
        head = nn.Dense(self.output_size, kernel_init=initializers.get(self.head_init))
        return head(_last_output(outputs, seq_lengths))


class SequenceClassifier(nn.Module):
    """A recurrent stack and a linear classifier: logits ``(b, num_classes)``.

    Attributes:
      cell: the cell template, or a sequence layer template (``jaxrnn.MinGRU``,
        ``jaxrnn.MinLSTM``, ``jaxrnn.LRU``; see the module docstring).
      num_classes: classes.
      num_layers: recurrent layers.
      pooling: ``"last"`` (hidden state of the last valid step; a sequence layer's
        output there) or ``"mean"`` (mean of the outputs over the valid steps).
      dropout: dropout between recurrent layers and before the classifier.
      input_projection: width of a dense layer applied to every step's input before
        the recurrent stack; None: none.
    """

    cell: RecurrentCell | SequenceLayer
    num_classes: int
    num_layers: int = 1
    pooling: str = "last"
    dropout: float = 0.0
    input_projection: int | None = None

    @nn.compact
    def __call__(
        self, x: Array, seq_lengths: Array | None = None, deterministic: bool = True
    ) -> Array:
        """``x (b, t, i) -> logits (b, num_classes)``.

        Args:
          x: inputs ``(b, t, i)``.
          seq_lengths: optional ``(b,)``.
          deterministic: disables dropout.

        Returns:
          Logits ``(b, num_classes)``.
        """
        _check_cell("SequenceClassifier", self.cell, layers=True)
        _check_projection("SequenceClassifier", self.input_projection)
        if self.pooling not in _POOLING:
            raise ValueError(
                f"SequenceClassifier: expected `pooling` in {_POOLING}, got {self.pooling!r}"
            )
        x = _project(x, self.input_projection)
        outputs = _Encoder(self.cell, self.num_layers, self.dropout, name="rnn")(
            x, seq_lengths, deterministic=deterministic
        )
        features = pool(outputs, seq_lengths, self.pooling)
        if self.dropout > 0:
            features = nn.Dropout(self.dropout)(features, deterministic=deterministic)
        return nn.Dense(self.num_classes, name="classifier")(features)


class SequenceTagger(nn.Module):
    """A recurrent stack and a dense layer on every step: logits ``(b, t, num_classes)``.

    For per-step targets (the copy task, sequence labelling). With ``seq_lengths`` the
    outputs past a sequence's end are not meaningful: mask them in the loss.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxrnn
      >>> model = SequenceTagger(jaxrnn.LSTMCell(16), num_classes=9)
      >>> x = jnp.ones((4, 10, 3))                      # (b, t, i)
      >>> variables = model.init(jax.random.key(0), x)
      >>> model.apply(variables, x).shape
      (4, 10, 9)

    Attributes:
      cell: the cell template, or a sequence layer template (``jaxrnn.MinGRU``,
        ``jaxrnn.MinLSTM``, ``jaxrnn.LRU``; see the module docstring).
      num_classes: classes per step.
      num_layers: recurrent layers.
      dropout: dropout between recurrent layers and before the classifier.
      input_projection: width of a dense layer applied to every step's input before
        the recurrent stack; None: none.
    """

    cell: RecurrentCell | SequenceLayer
    num_classes: int
    num_layers: int = 1
    dropout: float = 0.0
    input_projection: int | None = None

    @nn.compact
    def __call__(
        self, x: Array, seq_lengths: Array | None = None, deterministic: bool = True
    ) -> Array:
        """``x (b, t, i) -> logits (b, t, num_classes)``.

        Args:
          x: inputs ``(b, t, i)``.
          seq_lengths: optional ``(b,)``.
          deterministic: disables dropout.

        Returns:
          Logits ``(b, t, num_classes)``.
        """
        _check_cell("SequenceTagger", self.cell, layers=True)
        _check_projection("SequenceTagger", self.input_projection)
        x = _project(x, self.input_projection)
        outputs = _Encoder(self.cell, self.num_layers, self.dropout, name="rnn")(
            x, seq_lengths, deterministic=deterministic
        )
        if self.dropout > 0:
            outputs = nn.Dropout(self.dropout)(outputs, deterministic=deterministic)
        return nn.Dense(self.num_classes, name="classifier")(outputs)


class CharLanguageModel(nn.Module):
    r"""Character-level language model (Graves 2013): :math:`\log p(c_{t+1} \mid c_{\le t})`.

    Embedding, a recurrent stack and a log-softmax output layer at every step.

    Attributes:
      vocab_size: number of symbols.
      cell: the cell template.
      embed_size: embedding width.
      num_layers: recurrent layers.
      dropout: dropout between layers and before the output layer.
    """

    vocab_size: int
    cell: RecurrentCell
    embed_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0

    @nn.compact
    def __call__(
        self,
        tokens: Array,
        *,
        initial_carry: Any = None,
        return_carry: bool = False,
        deterministic: bool = True,
    ) -> Any:
        """``tokens (b, t) -> log_probs (b, t, vocab_size)``.

        Args:
          tokens: int ``(b, t)``.
          initial_carry: the recurrent state to start from, as returned with
            ``return_carry`` (every leaf ``(num_layers, b, h)``, see ``jaxrnn.Stack``).
          return_carry: also return the final state (for generation).
          deterministic: disables dropout.

        Returns:
          Log-probabilities of the next symbol, or ``(carry, log_probs)`` with
          ``return_carry``.
        """
        _check_cell("CharLanguageModel", self.cell)
        if not jnp.issubdtype(tokens.dtype, jnp.integer) or tokens.ndim != 2:
            raise TypeError(
                f"CharLanguageModel: expected integer `tokens` of shape (b, t), got "
                f"{tokens.dtype} {tuple(tokens.shape)}"
            )
        x = nn.Embed(self.vocab_size, self.embed_size, name="embed")(tokens)
        carry, outputs = _Encoder(self.cell, self.num_layers, self.dropout, name="rnn")(
            x, initial_carry=initial_carry, return_carry=True, deterministic=deterministic
        )
        if self.dropout > 0:
            outputs = nn.Dropout(self.dropout)(outputs, deterministic=deterministic)
        log_probs = jax.nn.log_softmax(nn.Dense(self.vocab_size, name="output")(outputs))
        return (carry, log_probs) if return_carry else log_probs

    def sample(
        self,
        variables: Any,
        key: Array,
        prompt: Array,
        length: int,
        temperature: float = 1.0,
    ) -> Array:
        """Samples ``length`` symbols after ``prompt`` (call on the unbound model).

        Args:
          variables: the model's variables.
          key: PRNG key.
          prompt: int ``(b, p)``, ``p >= 1``.
          length: symbols to generate.
          temperature: softmax temperature (> 0; small is greedy-like).

        Returns:
          int ``(b, length)``.
        """
        if not temperature > 0:
            raise ValueError(f"sample: expected `temperature` > 0, got {temperature}")
        state, log_probs = self.apply(variables, prompt, return_carry=True)
        last = log_probs[:, -1]

        def body(carry, key_t):
            state, last = carry
            token = jax.random.categorical(key_t, last / temperature)
            state, log_probs = self.apply(
                variables, token[:, None], initial_carry=state, return_carry=True
            )
            return (state, log_probs[:, -1]), token

        _, tokens = jax.lax.scan(body, (state, last), jax.random.split(key, length))
        return tokens.T


class Seq2Seq(nn.Module):
    r"""Encoder-decoder over symbol sequences, with optional attention (Bahdanau et al. 2015).

    The encoder embeds and runs the source; the decoder starts from the encoder's final
    state and, with attention, reads a context vector over the encoder outputs at every
    step (source padding masked):

    * Bahdanau (additive, before the step; the context is fed to the cell):
      :math:`e_s = v^\top \tanh(W_q h_{t-1} + W_k k_s)`,
      :math:`c_t = \sum_s \mathrm{softmax}(e)_s k_s`,
      :math:`h_t = \mathrm{cell}(h_{t-1}, [E y_{t-1}; c_t])`,
      logits from :math:`[h_t; c_t]`;
    * Luong (general, after the step): :math:`e_s = h_t^\top W k_s`,
      :math:`\tilde h_t = \tanh(W_c [c_t; h_t])`, logits from :math:`\tilde h_t`;
    * none: the decoder sees only the encoder's final state.

    Attributes:
      vocab_size: symbols (source and target share the vocabulary).
      cell: the cell template (encoder and decoder get their own clones).
      embed_size: embedding width.
      attention: ``"bahdanau"``, ``"luong"`` or None.
      attention_size: width of the additive attention.

    References:
      Bahdanau, Cho & Bengio, "Neural machine translation by jointly learning to align
      and translate", ICLR 2015. Luong, Pham & Manning, "Effective approaches to
      attention-based neural machine translation", EMNLP 2015.
    """

    vocab_size: int
    cell: RecurrentCell
    embed_size: int = 32
    attention: str | None = "bahdanau"
    attention_size: int = 64

    def __call__(
        self,
        source: Array,
        decoder_inputs: Array,
        source_lengths: Array | None = None,
    ) -> tuple[Array, Array | None]:
        """Teacher-forced decoding.

        Args:
          source: int ``(b, s)``.
          decoder_inputs: int ``(b, t)``: the target shifted right (a start symbol first).
          source_lengths: optional ``(b,)`` valid source lengths.

        Returns:
          ``(logits (b, t, vocab_size), attention weights (b, t, s) or None)``.
        """
        return self.decode(source, decoder_inputs, source_lengths)

    @nn.compact
    def decode(
        self,
        source: Array,
        decoder_inputs: Array,
        source_lengths: Array | None = None,
        greedy_steps: int | None = None,
    ) -> tuple[Array, Array | None]:
        """Teacher-forced (``greedy_steps=None``) or greedy decoding.

        Args:
          source: int ``(b, s)``.
          decoder_inputs: int ``(b, t)``, or ``(b, 1)`` start symbols when greedy.
          source_lengths: optional ``(b,)``.
          greedy_steps: decode this many steps, feeding back the argmax.

        Returns:
          ``(logits, attention weights or None)``.
        """
        _check_cell("Seq2Seq", self.cell)
        if self.attention not in _ATTENTION:
            raise ValueError(
                f"Seq2Seq: expected `attention` in {_ATTENTION}, got {self.attention!r}"
            )
        embed = nn.Embed(self.vocab_size, self.embed_size, name="embed")
        encoder = RNN(self.cell.clone(parent=None, name=None), return_carry=True, name="encoder")
        enc_carry, keys = encoder(embed(source), source_lengths)
        batch, src_len, hidden = keys.shape
        lengths = jnp.full((batch,), src_len) if source_lengths is None else source_lengths
        mask = jnp.arange(src_len)[None, :] < lengths[:, None]

        decoder_cell = self.cell.clone(parent=self, name="decoder")
        context_in = hidden if self.attention == "bahdanau" else 0
        weights = decoder_cell.weights(self.embed_size + context_in)
        step = decoder_cell.step_fn()
        # Every parameter is created here, outside the loop: the loop body is pure.
        init, zeros = nn.initializers.lecun_normal(), nn.initializers.zeros
        if self.attention == "bahdanau":
            w_q = self.param("attention_query", init, (hidden, self.attention_size))
            v = self.param("attention_v", init, (self.attention_size, 1))[:, 0]
            projected = keys @ self.param("attention_key", init, (hidden, self.attention_size))
        elif self.attention == "luong":
            projected = keys @ self.param("attention_general", init, (hidden, hidden)).T
            w_c = self.param("attention_combine", init, (2 * hidden, hidden))
            b_c = self.param("attention_combine_bias", zeros, (hidden,))
        out_features = 2 * hidden if self.attention == "bahdanau" else hidden
        w_out = self.param("output_kernel", init, (out_features, self.vocab_size))
        b_out = self.param("output_bias", zeros, (self.vocab_size,))
        embedding = embed.embedding

        def attend(query):
            if self.attention == "bahdanau":
                scores = jnp.tanh(projected + (query @ w_q)[:, None, :]) @ v
            else:
                scores = jnp.einsum("bh,bsh->bs", query, projected)
            attn = jax.nn.softmax(jnp.where(mask, scores, -1e30), axis=-1)
            return attn, jnp.einsum("bs,bsh->bh", attn, keys)

        def decode_step(carry, token):
            attn = None
            x = embedding[token]
            if self.attention == "bahdanau":
                attn, context = attend(carry.h if isinstance(carry, LSTMState) else carry)
                x = jnp.concatenate([x, context], axis=-1)
            carry, h = step(weights, carry, decoder_cell.project_inputs(weights, x))
            if self.attention == "bahdanau":
                features = jnp.concatenate([h, context], axis=-1)
            elif self.attention == "luong":
                attn, context = attend(h)
                features = jnp.tanh(jnp.concatenate([context, h], axis=-1) @ w_c + b_c)
            else:
                features = h
            return carry, (features @ w_out + b_out, attn)

        if greedy_steps is None:

            def body(carry, token):
                return decode_step(carry, token)

            _, (logits, attn) = jax.lax.scan(body, enc_carry, decoder_inputs.T)
        else:

            def body(state, _):
                carry, token = state
                carry, (logits_t, attn_t) = decode_step(carry, token)
                return (carry, jnp.argmax(logits_t, -1)), (logits_t, attn_t)

            start = decoder_inputs[:, 0]
            _, (logits, attn) = jax.lax.scan(body, (enc_carry, start), None, length=greedy_steps)
        logits = jnp.swapaxes(logits, 0, 1)
        attn = None if attn is None else jnp.swapaxes(attn, 0, 1)
        return logits, attn

    def greedy(
        self, source: Array, start: Array, length: int, source_lengths: Array | None = None
    ) -> tuple[Array, Array | None]:
        """Greedy decoding of ``length`` symbols from start symbols ``start (b,)``.

        Use through ``apply(variables, source, start, length, method=Seq2Seq.greedy)``.

        Args:
          source: int ``(b, s)``.
          start: int ``(b,)`` start symbols.
          length: steps to decode.
          source_lengths: optional ``(b,)``.

        Returns:
          ``(logits (b, length, vocab), attention (b, length, s) or None)``; the tokens
          are ``logits.argmax(-1)``.
        """
        return self.decode(source, start[:, None], source_lengths, greedy_steps=length)


__all__ = [
    "SEQUENCE_LAYERS",
    "CharLanguageModel",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceLayer",
    "SequenceRegressor",
    "SequenceTagger",
]
