"""jaxrnn._fused: the fused loops equal the cells' step functions under lax.scan.

The reference is ``jax.lax.scan`` over ``cells.*_step`` with autodiff (itself checked
against PyTorch and a NumPy reference in test_cells.py / test_interop.py): values,
reverse-mode gradients with respect to every input and forward-mode tangents, with and
without padding and recurrent dropout masks, in float64 (exact to rounding) and float32.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import maybe_x64, tolerance

import jaxrnn
import jaxrnn.testing as rnn_testing
from jaxrnn import _fused as fused
from jaxrnn import cells

T, B, IN, H = 7, 3, 4, 5

CASES = {
    "lstm": (4, cells.lstm_step, fused.lstm_scan, False),
    "elman_tanh": (
        1,
        functools.partial(cells.simple_rnn_step, activation=jnp.tanh),
        functools.partial(fused.elman_scan, activation="tanh"),
        False,
    ),
    "elman_relu": (
        1,
        functools.partial(cells.simple_rnn_step, activation=jax.nn.relu),
        functools.partial(fused.elman_scan, activation="relu"),
        False,
    ),
    "elman_sigmoid": (
        1,
        functools.partial(cells.simple_rnn_step, activation=jax.nn.sigmoid),
        functools.partial(fused.elman_scan, activation="sigmoid"),
        False,
    ),
    "gru_reset_before": (
        3,
        functools.partial(cells.gru_step, reset_after=False),
        functools.partial(fused.gru_scan, reset_after=False),
        False,
    ),
    "gru_reset_after": (
        3,
        functools.partial(cells.gru_step, reset_after=True),
        functools.partial(fused.gru_scan, reset_after=True),
        True,
    ),
}


def _problem(name, dtype):
    gates, _, _, recurrent_bias = CASES[name]
    k = jax.random.split(jax.random.key(7), 8)
    weights = {
        "kernel": 0.5 * jax.random.normal(k[0], (IN, gates * H), dtype),
        "recurrent_kernel": 0.5 * jax.random.normal(k[1], (H, gates * H), dtype),
        "bias": 0.3 * jax.random.normal(k[2], (gates * H,), dtype),
    }
    if recurrent_bias:
        weights["recurrent_bias"] = 0.3 * jax.random.normal(k[3], (H,), dtype)
    x = jax.random.normal(k[4], (T, B, IN), dtype)
    h0 = 0.5 * jax.random.normal(k[5], (B, H), dtype)
    carry = cells.LSTMState(h0, 0.5 * h0[::-1]) if name == "lstm" else h0
    cotangent = jax.random.normal(k[6], (T, B, H), dtype)
    return weights, x, carry, cotangent


def _reference(step, gates, weights, carry, x, valid, mask):
    def body(c, inputs):
        xw_t, v = inputs
        new, y = step(weights, c, xw_t, mask)
        if v is None:
            return new, y
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(v, a, b), new, c)
        return new, jnp.where(v, y, 0.0)

    return jax.lax.scan(body, carry, (cells.project_inputs(weights, x, gates), valid))


def _masks(dtype):
    valid = (jnp.arange(T)[:, None] < jnp.array([T, 4, 0])[None])[..., None]
    keep = jax.random.bernoulli(jax.random.key(3), 0.7, (B, H))
    return valid, keep.astype(dtype) / 0.7


def _loss(run, cotangent):
    def loss(weights, x, carry):
        final, ys = run(weights, carry, x)
        leaves = jax.tree_util.tree_leaves(final)
        return jnp.sum(ys * cotangent) + sum(jnp.sum(jnp.sin(leaf)) for leaf in leaves)

    return loss


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_fused_equals_scanned_step(name, padded, dropout, dtype):
    gates, step, scan, _ = CASES[name]
    with maybe_x64(dtype):
        weights, x, carry, cotangent = _problem(name, dtype)
        valid, mask = _masks(dtype)
        valid = valid if padded else None
        mask = mask if dropout else None
        ref = _loss(lambda w, c, x: _reference(step, gates, w, c, x, valid, mask), cotangent)
        new = _loss(lambda w, c, x: scan(w, c, x, valid, mask), cotangent)
        tol = tolerance(dtype)
        np.testing.assert_allclose(new(weights, x, carry), ref(weights, x, carry), **tol)
        grads_ref = jax.grad(ref, argnums=(0, 1, 2))(weights, x, carry)
        grads_new = jax.jit(jax.grad(new, argnums=(0, 1, 2)))(weights, x, carry)
        for a, b in zip(
            jax.tree_util.tree_leaves(grads_new), jax.tree_util.tree_leaves(grads_ref), strict=True
        ):
            np.testing.assert_allclose(a, b, **tol)
        primals = (weights, x, carry)
        _, tangent_ref = jax.jvp(ref, primals, primals)
        _, tangent_new = jax.jvp(new, primals, primals)
        np.testing.assert_allclose(tangent_new, tangent_ref, **tol)


@pytest.mark.parametrize("name", ["lstm", "gru_reset_after", "elman_tanh"])
def test_fused_check_grads_both_modes(name):
    _, _, scan, _ = CASES[name]
    with jax.enable_x64(True):
        weights, x, carry, cotangent = _problem(name, jnp.float64)
        valid, _ = _masks(jnp.float64)
        loss = _loss(lambda w, c, x: scan(w, c, x, valid), cotangent)
        report = rnn_testing.check_gradients(loss, (weights, x, carry), order=2, eps=1e-5)
    assert set(report) == {"fwd order 1", "fwd order 2", "rev order 1", "rev order 2"}


def test_fused_loss_of_inputs_only_skips_weight_terms():
    # Differentiating with respect to the inputs alone (symbolic-zero weight tangents).
    weights, x, carry, cotangent = _problem("lstm", jnp.float32)
    ref = _loss(lambda w, c, x: _reference(cells.lstm_step, 4, w, c, x, None, None), cotangent)
    new = _loss(lambda w, c, x: fused.lstm_scan(w, c, x), cotangent)
    np.testing.assert_allclose(
        jax.grad(new, argnums=1)(weights, x, carry),
        jax.grad(ref, argnums=1)(weights, x, carry),
        **tolerance(jnp.float32),
    )


def test_fused_errors():
    weights, x, carry, _ = _problem("elman_tanh", jnp.float32)
    with pytest.raises(ValueError, match="activation"):
        fused.elman_scan(weights, carry, x, activation="softplus")
    with pytest.raises(ValueError, match="carry"):
        fused.lstm_scan(_problem("lstm", jnp.float32)[0], (carry, carry, carry), x)


LAYERS = {
    "lstm": lambda: jaxrnn.LSTMCell(H),
    "gru": lambda: jaxrnn.GRUCell(H),
    "gru_reset_after": lambda: jaxrnn.GRUCell(H, reset_after=True),
    "relu_rnn": lambda: jaxrnn.SimpleRNNCell(H, activation="relu"),
    "weight_norm_lstm": lambda: jaxrnn.LSTMCell(H, weight_norm=True),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("reverse", [False, True])
def test_rnn_fused_equals_unfused(name, reverse):
    x = jax.random.normal(jax.random.key(0), (B, T, IN))
    lengths = jnp.array([T, 3, 0])
    layers = [
        jaxrnn.RNN(LAYERS[name](), reverse=reverse, fused=flag, recurrent_dropout=0.3)
        for flag in (True, False)
    ]
    variables = layers[0].init(jax.random.key(1), x)
    rngs = {"dropout": jax.random.key(2)}

    def loss(layer, params, x):
        y = layer.apply({"params": params}, x, lengths, deterministic=False, rngs=rngs)
        return jnp.sum(jnp.tanh(y))

    values = [loss(layer, variables["params"], x) for layer in layers]
    grads = [jax.grad(functools.partial(loss, layer), argnums=(0, 1))(variables["params"], x)
             for layer in layers]  # fmt: skip
    tol = tolerance(jnp.float32)
    np.testing.assert_allclose(values[0], values[1], **tol)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, **tol), *grads)


def test_layer_norm_and_custom_activation_take_the_step_loop():
    assert jaxrnn.LSTMCell(H, layer_norm=True).fused_scan() is None
    assert jaxrnn.SimpleRNNCell(H, activation=jnp.sin).fused_scan() is None

    class Subclass(jaxrnn.LSTMCell):
        def step_fn(self):
            return cells.lstm_step

    assert Subclass(H).fused_scan() is None
    assert jaxrnn.LSTMCell(H).fused_scan() is fused.lstm_scan


@pytest.mark.parametrize("chunk", [1, 3, 7, 10])
def test_remat_chunk_gives_the_same_numbers(chunk):
    x = jax.random.normal(jax.random.key(0), (B, T, IN))
    lengths = jnp.array([T, 5, 2])
    plain = jaxrnn.LSTM(H, num_layers=2)
    remat = jaxrnn.LSTM(H, num_layers=2, remat_chunk=chunk)
    variables = plain.init(jax.random.key(1), x)

    def loss(layer, params):
        state, y = layer.apply({"params": params}, x, lengths, return_carry=True)
        return jnp.sum(jnp.tanh(y)) + jnp.sum(state.h * state.c)

    tol = tolerance(jnp.float32)
    np.testing.assert_allclose(
        loss(remat, variables["params"]), loss(plain, variables["params"]), **tol
    )
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, **tol),
        jax.grad(functools.partial(loss, remat))(variables["params"]),
        jax.grad(functools.partial(loss, plain))(variables["params"]),
    )


def test_remat_chunk_lowers_activation_memory():
    # XLA's own buffer assignment for the training step: with chunks of 64 steps the
    # temporaries of a T = 1024 LSTM are several times smaller.
    x = jnp.zeros((4, 1024, 8))
    sizes = {}
    for chunk in (0, 64):
        layer = jaxrnn.RNN(jaxrnn.LSTMCell(32), remat_chunk=chunk)
        params = layer.init(jax.random.key(0), x)
        grad = jax.jit(jax.grad(lambda p, x, layer=layer: jnp.sum(layer.apply(p, x) ** 2)))
        sizes[chunk] = grad.lower(params, x).compile().memory_analysis().temp_size_in_bytes
    assert sizes[64] * 3 < sizes[0], sizes


def test_remat_chunk_errors():
    x = jnp.zeros((2, 4, 3))
    with pytest.raises(ValueError, match="remat_chunk"):
        jaxrnn.RNN(jaxrnn.LSTMCell(4), remat_chunk=-1).init(jax.random.key(0), x)


@pytest.mark.parametrize("name", ["lstm", "gru", "simple"])
def test_bfloat16_mixed_precision_fused_equals_step_and_float32(name):
    # The mixed-precision mode (bf16 matmul operands, f32 accumulation and carries), on
    # a padded batch: the gradients of the fused loop and of the step scan reach the
    # float32 parameters as float32, each within the bfloat16 row of the tolerance
    # table (relative to their scale) of the float32 layer's.
    cell = {
        "lstm": jaxrnn.LSTMCell,
        "gru": functools.partial(jaxrnn.GRUCell, reset_after=True),
        "simple": jaxrnn.SimpleRNNCell,
    }[name]
    x = jax.random.normal(jax.random.key(3), (B, T, IN))
    lengths = jnp.array([T, 3, 0])
    full = jaxrnn.RNN(cell(H))
    variables = full.init(jax.random.key(4), x)

    def loss(layer, variables):
        return jnp.sum(jnp.sin(layer.apply(variables, x, seq_lengths=lengths)))

    grads = {}
    for label, layer in (
        ("f32", full),
        ("fused", jaxrnn.RNN(cell(H, dtype=jnp.bfloat16))),
        ("step", jaxrnn.RNN(cell(H, dtype=jnp.bfloat16), fused=False)),
    ):
        grads[label] = jax.jit(jax.grad(functools.partial(loss, layer)))(variables)
    bf16 = tolerance(jnp.bfloat16)["rtol"]
    for path in ("fused", "step"):
        pairs = zip(jax.tree.leaves(grads[path]), jax.tree.leaves(grads["f32"]), strict=True)
        for ours, ref in pairs:
            assert ours.dtype == jnp.float32
            scale = float(jnp.max(jnp.abs(ref)))
            np.testing.assert_allclose(ours, ref, atol=bf16 * scale, rtol=0)
