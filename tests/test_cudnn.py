"""jaxrnn._cudnn: the cuDNN LSTM path, against jax.experimental.rnn's own reference.

On a CPU cuDNN is not there, so the packing of jaxrnn's weights into cuDNN's flat
layout and the padding rules around the call are checked through ``lstm_ref``, the
reference ``jax.experimental.rnn`` ships for that layout (``_cudnn.reference``): the
result must equal jaxrnn's fused loop. On a GPU the same comparison runs through cuDNN.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tolerance

import jaxrnn
from jaxrnn import _cudnn, _fused

T, B, IN, H = 9, 4, 3, 6


def _problem():
    k = jax.random.split(jax.random.key(11), 5)
    weights = {
        "kernel": 0.5 * jax.random.normal(k[0], (IN, 4 * H)),
        "recurrent_kernel": 0.5 * jax.random.normal(k[1], (H, 4 * H)),
        "bias": 0.3 * jax.random.normal(k[2], (4 * H,)),
    }
    xs = jax.random.normal(k[3], (T, B, IN))
    h0 = 0.5 * jax.random.normal(k[4], (B, H))
    return weights, xs, jaxrnn.LSTMState(h0, -0.5 * h0)


@pytest.mark.parametrize("lengths", [None, [T, 5, 1, 0]], ids=["full", "padded"])
def test_packed_weights_through_the_reference_equal_the_fused_loop(lengths):
    weights, xs, carry = _problem()
    lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
    valid = None if lengths is None else (jnp.arange(T)[:, None] < lengths[None])[..., None]
    want_carry, want_ys = _fused.lstm_scan(weights, carry, xs, valid)
    got_carry, got_ys = _cudnn.lstm(weights, carry, xs, lengths, implementation=_cudnn.reference)
    tol = tolerance(jnp.float32)
    np.testing.assert_allclose(got_ys, want_ys, **tol)
    np.testing.assert_allclose(got_carry.h, want_carry.h, **tol)
    np.testing.assert_allclose(got_carry.c, want_carry.c, **tol)
    if lengths is not None:  # the empty row keeps its initial carry, outputs zero
        np.testing.assert_array_equal(got_carry.h[3], carry.h[3])
        np.testing.assert_array_equal(got_ys[:, 3], 0.0)


def test_pack_is_cudnns_layout():
    # W_ih (4h, i), W_hh (4h, h), b_ih, b_hh: unpacked by jax's own unpacker.
    weights, _, _ = _problem()
    w_ih, w_hh, b_ih, b_hh = jax.experimental.rnn.unpack_lstm_weights(
        _cudnn.pack(weights), IN, H, 1, False
    )
    np.testing.assert_array_equal(w_ih[0], weights["kernel"].T)
    np.testing.assert_array_equal(w_hh[0], weights["recurrent_kernel"].T)
    np.testing.assert_array_equal(b_ih[0], weights["bias"])
    np.testing.assert_array_equal(b_hh[0], 0.0)


def _eligible(cell, **kwargs):
    x = jnp.zeros((T, B, IN), kwargs.pop("x_dtype", jnp.float32))
    carry = cell.initialize_carry(None, (B, IN))
    options = {"probe": None, "mask": None, "remat_chunk": 0, **kwargs}
    return _cudnn.eligible(cell, carry, x, **options)


def test_eligible_configurations(monkeypatch):
    assert _eligible(jaxrnn.LSTMCell(H)) is _cudnn.available()  # False on a CPU
    monkeypatch.setattr(_cudnn, "available", lambda: True)
    assert _eligible(jaxrnn.LSTMCell(H))
    assert _eligible(jaxrnn.LSTMCell(H, dtype=jnp.float32))
    refused = [
        _eligible(jaxrnn.LSTMCell(H, layer_norm=True)),
        _eligible(jaxrnn.LSTMCell(H, weight_norm=True)),
        _eligible(jaxrnn.LSTMCell(H, dtype=jnp.bfloat16)),
        _eligible(jaxrnn.LSTMCell(H), x_dtype=jnp.float16),
        _eligible(jaxrnn.LSTMCell(H), mask=jnp.ones((B, H))),
        _eligible(jaxrnn.LSTMCell(H), probe=jnp.zeros((T, B, H))),
        _eligible(jaxrnn.LSTMCell(H), remat_chunk=4),
        _eligible(jaxrnn.GRUCell(H)),
        _eligible(jaxrnn.SimpleRNNCell(H)),
    ]
    assert not any(refused), refused


@pytest.mark.parametrize("reverse", [False, True])
def test_the_layer_takes_the_cudnn_path_where_eligible(monkeypatch, reverse):
    # With cuDNN "available" (its reference standing in for it), jaxrnn.RNN over a padded
    # batch gives the fused loop's outputs, final carry and gradients.
    x = jax.random.normal(jax.random.key(2), (B, T, IN))
    lengths = jnp.array([T, 5, 1, 0])
    layer = jaxrnn.RNN(jaxrnn.LSTMCell(H), return_carry=True, reverse=reverse)
    variables = layer.init(jax.random.key(3), x)

    def loss(variables):
        carry, ys = layer.apply(variables, x, seq_lengths=lengths)
        return jnp.sum(jnp.sin(ys)) + jnp.sum(carry.c), (carry, ys)

    want = jax.grad(loss, has_aux=True)(variables)
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        return _cudnn.reference(*args, **kwargs)

    monkeypatch.setattr(_cudnn, "available", lambda: True)
    monkeypatch.setattr(jax.experimental.rnn, "lstm", fake)
    got = jax.grad(loss, has_aux=True)(variables)
    assert calls, "the cuDNN path was not taken"
    tol = tolerance(jnp.float32)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, **tol)
