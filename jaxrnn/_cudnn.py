r"""The LSTM through cuDNN (``jax.experimental.rnn``) on a GPU, where the layer allows.

On a GPU, cuDNN's fused LSTM runs the whole sequence, forward and backward, in one
kernel per direction, which a ``lax.scan`` of per-step GEMMs does not match. It covers
the plain LSTM only: ``eligible`` says when a layer's configuration is one (a GPU with
JAX's cuDNN RNN bindings, float32, no layer or weight norm, no recurrent dropout, no
hidden-state probe, no gradient checkpointing), and ``lstm`` then takes jaxrnn's
effective weights, packed into cuDNN's flat layout by ``pack``, with the same results
as the fused loop up to float32 rounding (``tests/test_cudnn.py`` checks the packing
and the padding rules on any backend against ``jax.experimental.rnn.lstm_ref``, the
reference of that layout). cuDNN's derivative is a ``custom_vjp``: forward-mode
differentiation (``jax.jvp``) of such a layer needs ``fused=False`` or the CPU.

References:
  Appleyard, Kocisky & Blunsom, "Optimizing performance of recurrent neural networks on
  GPUs", 2016 (the cuDNN RNN).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.experimental import rnn

from jaxrnn._carry import LSTMState
from jaxrnn.typing import Array


def available() -> bool:
    """Whether the default backend is a GPU with JAX's cuDNN RNN bindings."""
    return jax.default_backend() == "gpu" and getattr(rnn, "gpu_rnn", None) is not None


def eligible(cell: Any, carry: Any, xs: Array, *, probe: Any, mask: Any, remat_chunk: int) -> bool:
    """Whether ``jaxrnn._scan.run`` can hand this LSTM to cuDNN.

    A plain ``jaxrnn.LSTMCell`` (its fused loop, no layer or weight norm), float32
    inputs, parameters and carry, no probe, no recurrent-dropout mask and no
    ``remat_chunk``, on a GPU with the bindings (``available``).
    """
    from jaxrnn import _fused  # here: _fused imports _scan, which imports this module

    if not available():
        return False
    if probe is not None or mask is not None or remat_chunk:
        return False
    if getattr(cell, "weight_norm", False) or cell.fused_scan() is not _fused.lstm_scan:
        return False
    if cell.dtype not in (None, jnp.float32) or jnp.dtype(cell.param_dtype) != jnp.float32:
        return False
    leaves = jax.tree_util.tree_leaves(carry)
    return xs.dtype == jnp.float32 and all(leaf.dtype == jnp.float32 for leaf in leaves)


def pack(weights: dict[str, Array]) -> Array:
    """The LSTM's effective weights -> cuDNN's flat vector (one layer, one direction).

    ``kernel (i, 4h)``, ``recurrent_kernel (h, 4h)`` and ``bias (4h,)`` (gates i, f, g,
    o in both) become ``[W_ih (4h, i), W_hh (4h, h), b_ih (4h,), b_hh (4h,)]``
    flattened, with ``W = kernel.T`` and ``b_hh = 0`` (jaxrnn has one bias).
    """
    bias = weights["bias"]
    parts = (weights["kernel"].T, weights["recurrent_kernel"].T, bias, jnp.zeros_like(bias))
    return jnp.concatenate([p.reshape(-1) for p in parts])


def lstm(
    weights: dict[str, Array],
    carry: Any,
    xs: Array,
    lengths: Array | None,
    *,
    implementation: Callable[..., tuple[Array, Array, Array]] | None = None,
) -> tuple[LSTMState, Array]:
    """The LSTM over ``xs (t, b, i)`` through cuDNN; ``(LSTMState(h_T, c_T), ys (t, b, h))``.

    jaxrnn's padding rules hold: outputs are zero after each length and the final carry
    is the one at the last valid step (the initial carry for a length of 0, which cuDNN
    does not take: such rows run one step and are put back).

    Args:
      weights: the cell's effective weights.
      carry: ``(h, c)``, each ``(b, h)``.
      xs: time-major inputs.
      lengths: ``(b,)`` valid lengths, or None (all ``t``).
      implementation: ``jax.experimental.rnn.lstm``'s signature; default that function
        (tests pass its reference).
    """
    time, batch, inputs = xs.shape
    hidden = weights["recurrent_kernel"].shape[0]
    h0, c0 = jax.tree_util.tree_leaves(carry)
    full = jnp.full((batch,), time, jnp.int32)
    given = full if lengths is None else jnp.asarray(lengths, jnp.int32)
    call = rnn.lstm if implementation is None else implementation
    ys, h_n, c_n = call(
        jnp.swapaxes(xs, 0, 1), h0[None], c0[None], pack(weights), jnp.maximum(given, 1),
        input_size=inputs, hidden_size=hidden, num_layers=1, dropout=0.0,
        bidirectional=False,
    )  # fmt: skip
    empty = (given == 0)[:, None]
    h_t, c_t = jnp.where(empty, h0, h_n[0]), jnp.where(empty, c0, c_n[0])
    ys = jnp.swapaxes(ys, 0, 1)
    valid = (jnp.arange(time)[:, None] < given[None, :])[..., None]
    return LSTMState(h_t, c_t), jnp.where(valid, ys, jnp.zeros_like(ys))


def reference(x, h_0, c_0, weights, seq_lengths, **kwargs) -> tuple[Array, Array, Array]:
    """``jax.experimental.rnn.lstm``'s signature over its reference, ``lstm_ref``.

    The packed weights unpacked by ``unpack_lstm_weights``: what cuDNN computes, on any
    backend (for tests).
    """
    shape = (kwargs["input_size"], kwargs["hidden_size"], kwargs["num_layers"])
    unpacked = rnn.unpack_lstm_weights(weights, *shape, kwargs["bidirectional"])
    return rnn.lstm_ref(x, h_0, c_0, *unpacked, seq_lengths, *shape, kwargs["dropout"],
                        kwargs["bidirectional"])  # fmt: skip
