"""Tests of jaxrnn.min_rnn: parallel (log-space scan) against sequential and a NumPy loop.

The reference below is written from the equations of Feng et al. (2024), sections 3.1
and 3.2, in float64 NumPy, step by step in linear space, without calling any jaxrnn
function: only the fused parameter layout (``kernel (i, g*h)``, gates z, h~ / f, i, h~
along the last axis) is shared with the code under test.

Compiling ``jax.lax.associative_scan`` costs XLA about 0.3 s of CPU per level of its tree
(3.5 s at T = 4096, three times that for its gradient), so the long runs are computed
once, by a module-scoped fixture, and everything else uses one short shape and calls the
layers eagerly: their time loops are module-level jitted functions, compiled once per
shape and reused by every test.
"""

import doctest
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import VARIANCE_RTOL, as_numpy64, tolerance

import jaxrnn
import jaxrnn.testing as rnn_testing
from jaxrnn import min_rnn
from jaxrnn.min_rnn import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell

BATCH, INPUT, HIDDEN, STEPS = 3, 4, 8, 6
LONG = 4096  # the longest sequence checked, parallel against sequential
LONG_LENGTHS = (LONG, 2500, 0)  # a full row, a padded one, an empty one
LENGTHS = (STEPS, 2, 0)
RTOL32 = tolerance(jnp.float32)["rtol"]  # 1e-5, the float32 row of conftest.TOLERANCES
FIXED_KEY = 20261123  # the seed of conftest's `key` fixture, for module-scoped fixtures

LAYERS = {"min_gru": MinGRU, "min_lstm": MinLSTM}
CELLS = {"min_gru": MinGRUCell, "min_lstm": MinLSTMCell}
NUM_GATES = {"min_gru": 2, "min_lstm": 3}


# ---------------------------------------------------------------------------------------
# The NumPy reference, float64, from the paper's equations.
# ---------------------------------------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _g(x):
    return np.where(x >= 0, x + 0.5, _sigmoid(x))


def reference(name, params, x, h0, lengths):
    """``x (b, t, i)``, ``h0 (b, h)`` -> ``(final (b, h), outputs (b, t, h))``."""
    kernel, bias = as_numpy64(params["kernel"]), as_numpy64(params["bias"])
    x, h = as_numpy64(x), as_numpy64(h0).copy()
    hidden = h.shape[-1]
    outputs = np.zeros((*x.shape[:2], hidden))
    for t in range(x.shape[1]):
        pre = x[:, t] @ kernel + bias
        if name == "min_gru":
            z = _sigmoid(pre[:, :hidden])
            new = (1.0 - z) * h + z * _g(pre[:, hidden:])
        else:
            f, i = _sigmoid(pre[:, :hidden]), _sigmoid(pre[:, hidden : 2 * hidden])
            new = f / (f + i) * h + i / (f + i) * _g(pre[:, 2 * hidden :])
        valid = (t < np.asarray(lengths))[:, None]
        h = np.where(valid, new, h)
        outputs[:, t] = np.where(valid, new, 0.0)
    return h, outputs


def max_relative_error(actual, expected):
    """Elementwise, over the nonzero entries (states are positive, padding is zero)."""
    actual, expected = as_numpy64(actual), as_numpy64(expected)
    nonzero = expected != 0
    assert np.array_equal(actual == 0, ~nonzero), "zeros in different places"
    return np.max(np.abs(actual - expected)[nonzero] / np.abs(expected[nonzero]))


@functools.cache
def inputs(batch, steps, dtype=jnp.float32):
    """``x (b, t, i)`` and a positive initial state ``h0 (b, h)``, as the paper assumes.

    Cached, as are the parameters below: every test of a shape sees the same arrays.
    Drawn by NumPy with a fixed seed, which compiles nothing.
    """
    rng = np.random.default_rng([FIXED_KEY, steps])
    x = rng.standard_normal((batch, steps, INPUT))
    h0 = rng.uniform(0.1, 2.0, (batch, HIDDEN))
    return jnp.asarray(x, dtype), jnp.asarray(h0, dtype)


@functools.cache
def init_params(name, dtype=jnp.float32):
    # Non-zero biases, so that a bias in the wrong gate would show.
    layer = LAYERS[name](HIDDEN, param_dtype=dtype, bias_init=("normal", {"stddev": 0.5}))
    key = jax.random.fold_in(jax.random.key(FIXED_KEY), NUM_GATES[name])
    # Parameters do not depend on the length: a one-step init compiles no tree.
    return jax.jit(layer.init)(key, jnp.zeros((1, 1, INPUT), dtype))["params"]


def _both_modes(params, x, lengths, h0):
    """Parallel and sequential, each ``(carry, outputs)``, for both models.

    Eager: the layers' jitted time loops then compile once per shape, and minGRU and
    minLSTM share the compiled log-space scan.
    """
    out = {}
    for name, layer_type in LAYERS.items():
        layer = layer_type(HIDDEN, return_carry=True)
        for mode in min_rnn.MODES:
            out[name, mode] = layer.apply(
                {"params": params[name]}, x, lengths, initial_carry=h0, mode=mode
            )
    return out


@pytest.fixture(scope="module")
def long_run():
    params = {name: init_params(name) for name in LAYERS}
    x, h0 = inputs(len(LONG_LENGTHS), LONG)
    lengths = jnp.array(LONG_LENGTHS)
    return params, x, h0, lengths, _both_modes(params, x, lengths, h0)


# ---------------------------------------------------------------------------------------
# 1. Parallel against sequential, and both against the NumPy loop.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_parallel_equals_sequential_long(long_run, name):
    *_, out = long_run
    (carry_p, y_p), (carry_s, y_s) = out[name, "parallel"], out[name, "sequential"]
    assert y_p.shape == (len(LONG_LENGTHS), LONG, HIDDEN)
    assert max_relative_error(y_p, y_s) <= RTOL32
    assert max_relative_error(carry_p, carry_s) <= RTOL32


@pytest.mark.parametrize("name", LAYERS)
def test_long_run_against_reference(long_run, name):
    """Both float32 modes within 1e-5 of the float64 loop over 4096 steps, padding kept."""
    params, x, h0, lengths, out = long_run
    ref_carry, ref_y = reference(name, params[name], x, h0, lengths)
    for mode in min_rnn.MODES:
        carry, y = out[name, mode]
        assert max_relative_error(y, ref_y) <= RTOL32, mode
        assert max_relative_error(carry, ref_carry) <= RTOL32, mode
    # The empty row keeps its initial state; the padded one its state at step 2500.
    np.testing.assert_array_equal(out[name, "parallel"][0][2], h0[2])
    np.testing.assert_allclose(as_numpy64(ref_y[1, 2499]), as_numpy64(ref_carry[1]))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("options", ["plain", "lengths_and_state"])
def test_short_against_reference(name, dtype, options):
    with jax.enable_x64(dtype == jnp.float64):
        params = init_params(name, dtype)
        x, h0 = inputs(BATCH, STEPS, dtype)
        lengths = jnp.array(LENGTHS) if options == "lengths_and_state" else None
        h0 = h0 if options == "lengths_and_state" else None
        layer = LAYERS[name](HIDDEN, return_carry=True, param_dtype=dtype)
        ref_carry, ref_y = reference(
            name,
            params,
            x,
            np.zeros((BATCH, HIDDEN)) if h0 is None else h0,
            [STEPS] * BATCH if lengths is None else lengths,
        )
        for mode in min_rnn.MODES:
            carry, y = layer.apply({"params": params}, x, lengths, initial_carry=h0, mode=mode)
            assert y.dtype == dtype and carry.dtype == dtype
            np.testing.assert_allclose(as_numpy64(y), ref_y, **tolerance(dtype))
            np.testing.assert_allclose(as_numpy64(carry), ref_carry, **tolerance(dtype))


@pytest.mark.parametrize("name", LAYERS)
def test_any_initial_state(name):
    """The state enters outside the logarithms: negative h0 works in parallel too."""
    params = init_params(name)
    x, h0 = inputs(BATCH, STEPS)
    h0 = h0 - 1.5  # both signs
    layer = LAYERS[name](HIDDEN, return_carry=True)
    ref_carry, ref_y = reference(name, params, x, h0, [STEPS] * BATCH)
    carry, y = layer.apply({"params": params}, x, None, initial_carry=h0)
    np.testing.assert_allclose(as_numpy64(y), ref_y, **tolerance(jnp.float32))
    np.testing.assert_allclose(as_numpy64(carry), ref_carry, **tolerance(jnp.float32))


def test_one_step_and_empty_sequences():
    params = init_params("min_gru")
    x, h0 = inputs(BATCH, 1)
    layer = MinGRU(HIDDEN, return_carry=True)
    ref_carry, ref_y = reference("min_gru", params, x, h0, [1, 1, 0])
    carry, y = layer.apply({"params": params}, x, jnp.array([1, 1, 0]), initial_carry=h0)
    np.testing.assert_allclose(as_numpy64(y), ref_y, **tolerance(jnp.float32))
    np.testing.assert_allclose(as_numpy64(carry), ref_carry, **tolerance(jnp.float32))
    carry, y = layer.apply({"params": params}, x[:, :0], None, initial_carry=h0)
    assert y.shape == (BATCH, 0, HIDDEN)
    np.testing.assert_array_equal(carry, h0)


def test_time_major():
    params = init_params("min_lstm")
    x, _ = inputs(BATCH, STEPS)
    batch_major = MinLSTM(HIDDEN).apply({"params": params}, x)
    time_major = MinLSTM(HIDDEN, time_major=True).apply({"params": params}, x.swapaxes(0, 1))
    np.testing.assert_array_equal(time_major.swapaxes(0, 1), batch_major)


def test_log_g_is_log_of_g():
    with jax.enable_x64(True):
        x = jnp.linspace(-40.0, 40.0, 1001, dtype=jnp.float64)
        np.testing.assert_allclose(min_rnn.log_g(x), np.log(_g(np.asarray(x))), rtol=1e-12)
        np.testing.assert_allclose(min_rnn.g(x), _g(np.asarray(x)), rtol=1e-15)
        assert np.all(np.asarray(min_rnn.g(x)) > 0)


# ---------------------------------------------------------------------------------------
# 2. Step by step: the cell uses the layer's variables (train in parallel, generate).
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_generate_after_parallel_prompt(key, name):
    params = init_params(name)
    x, h0 = inputs(BATCH, STEPS)
    layer = LAYERS[name](HIDDEN)
    _, ref_y = reference(name, params, x, h0, [STEPS] * BATCH)
    prompt = 2
    carry, _ = layer.apply(
        {"params": params}, x[:, :prompt], None, initial_carry=h0, return_carry=True
    )
    cell = layer.make_cell()
    assert isinstance(cell, CELLS[name]) and isinstance(cell, nn.RNNCellBase)
    assert cell.initialize_carry(key, x[:, 0].shape).shape == (BATCH, HIDDEN)
    step = jax.jit(cell.apply)
    for t in range(prompt, STEPS):
        carry, y = step({"params": params}, carry, x[:, t])
        np.testing.assert_allclose(as_numpy64(y), ref_y[:, t], **tolerance(jnp.float32))


@pytest.mark.parametrize("name", LAYERS)
def test_cell_in_jaxrnn_rnn(name):
    """The cell is a flax RNNCellBase: jaxrnn.RNN scans it like any other."""
    params = init_params(name)
    x, _ = inputs(BATCH, STEPS)
    rnn = jaxrnn.RNN(CELLS[name](HIDDEN))
    scanned = jax.jit(rnn.apply)({"params": {"cell": params}}, x, jnp.array(LENGTHS))
    _, ref_y = reference(name, params, x, np.zeros((BATCH, HIDDEN)), LENGTHS)
    np.testing.assert_allclose(as_numpy64(scanned), ref_y, **tolerance(jnp.float32))


# ---------------------------------------------------------------------------------------
# 3. Gradients, float64 (eager, so that both tests share the compiled scans).
# ---------------------------------------------------------------------------------------


def _loss(name):
    """The jitted float64 loss of the parallel layer, of parameters, inputs and h0."""
    layer = LAYERS[name](HIDDEN, param_dtype=jnp.float64, return_carry=True)
    lengths = jnp.array(LENGTHS)  # an empty row too: no NaN from log 0 = -inf

    def loss(params, x, h0):
        carry, y = layer.apply({"params": params}, x, lengths, initial_carry=h0)
        return jnp.sum(jnp.sin(y)) + jnp.sum(carry**2)

    return jax.jit(loss)


@pytest.mark.parametrize("name", LAYERS)
def test_check_grads_float64(name):
    # jaxrnn.testing.check_gradients: jax.test_util.check_grads at orders 1 and 2, both
    # modes, w.r.t. parameters, inputs and initial state, on a batch with an empty row.
    with jax.enable_x64(True):
        params = init_params(name, jnp.float64)
        x, h0 = inputs(BATCH, STEPS, jnp.float64)
        report = rnn_testing.check_gradients(_loss(name), (params, x, h0))
    assert set(report) == {"fwd order 1", "fwd order 2", "rev order 1", "rev order 2"}


# ---------------------------------------------------------------------------------------
# 3b. The properties of jaxrnn.testing: the layer over a sequence equals the cell stepped
# in a Python loop, and mode="parallel" equals "sequential" (values and gradients);
# padding never leaks, in both modes; the cell run backwards equals a hand reversal.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_scan_equals_loop_and_parallel_equals_sequential(name):
    report = rnn_testing.check_scan_equals_loop(LAYERS[name](HIDDEN), time=STEPS)
    assert "the other `mode`" in report


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
@pytest.mark.parametrize("name", LAYERS)
def test_padding_invariance(name, mode):
    report = rnn_testing.check_padding_invariance(LAYERS[name](HIDDEN, mode=mode), time=STEPS)
    assert report["gradient at padding"] == 0.0


@pytest.mark.parametrize("name", LAYERS)
def test_reverse_consistency_of_the_cell(name):
    rnn_testing.check_reverse_consistency(CELLS[name](HIDDEN), time=STEPS)


# ---------------------------------------------------------------------------------------
# 4. Parameters, jit, errors.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("name", LAYERS)
def test_parameter_count(name, use_bias):
    """minGRU: two linear maps x -> h (2 d_h d_x + 2 d_h); minLSTM three."""
    d_x, d_h, gates = 5, 7, NUM_GATES[name]
    layer = LAYERS[name](d_h, use_bias=use_bias)
    shapes = jax.eval_shape(layer.init, jax.random.key(0), jnp.zeros((2, 3, d_x)))["params"]
    assert {k: v.shape for k, v in shapes.items()} == (
        {"kernel": (d_x, gates * d_h)} | ({"bias": (gates * d_h,)} if use_bias else {})
    )
    count = sum(v.size for v in jax.tree.leaves(shapes))
    assert count == gates * d_h * d_x + (gates * d_h if use_bias else 0)


def test_per_gate_default_init(key):
    """Each gate's (i, h) block is drawn on its own: the paper's separate nn.Linear maps."""
    params = jax.jit(MinLSTM(1024).init)(key, jnp.zeros((1, 1, 64)))["params"]
    blocks = np.split(as_numpy64(params["kernel"]), 3, axis=-1)
    bound = np.sqrt(6.0 / (64 + 1024))  # Glorot uniform of an (i, h) block
    for block in blocks:
        assert np.abs(block).max() <= bound
        np.testing.assert_allclose(block.var(), bound**2 / 3, rtol=VARIANCE_RTOL)
    np.testing.assert_array_equal(params["bias"], 0.0)


@pytest.mark.parametrize("name", LAYERS)
def test_jit_with_traced_lengths(name):
    params = init_params(name)
    x, _ = inputs(BATCH, STEPS)
    layer = LAYERS[name](HIDDEN)
    run = jax.jit(lambda p, x, lengths: layer.apply({"params": p}, x, lengths))
    out = run(params, x, jnp.array(LENGTHS))
    _, ref_y = reference(name, params, x, np.zeros((BATCH, HIDDEN)), LENGTHS)
    np.testing.assert_allclose(as_numpy64(out), ref_y, **tolerance(jnp.float32))


def _apply(layer, x, *args, **kwargs):
    # Errors are raised while tracing: eval_shape compiles nothing.
    return jax.eval_shape(lambda: layer.init_with_output(jax.random.key(0), x, *args, **kwargs))


X = jnp.zeros((BATCH, STEPS, INPUT))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: _apply(MinGRU(0), X), ValueError, "hidden_size"),
        (lambda: _apply(MinGRU(2.5), X), TypeError, "hidden_size"),
        (lambda: _apply(MinGRU(True), X), TypeError, "hidden_size"),
        (lambda: _apply(MinGRU(4, mode="fast"), X), ValueError, "mode"),
        (lambda: _apply(MinGRU(4), X, mode="log"), ValueError, "mode"),
        (lambda: _apply(MinGRU(4), X[0]), ValueError, "rank 3"),
        (lambda: _apply(MinGRU(4), X.astype(jnp.int32)), TypeError, "floating"),
        (lambda: _apply(MinGRU(4), X.tolist()), TypeError, "array"),
        (lambda: _apply(MinLSTM(4), X, jnp.array([1, 2])), ValueError, "seq_lengths"),
        (lambda: _apply(MinLSTM(4), X, jnp.array([1.0, 2, 3])), TypeError, "seq_lengths"),
        (lambda: _apply(MinLSTM(4), X, jnp.array([1, 2, 99])), ValueError, "seq_lengths"),
        (
            lambda: _apply(MinLSTM(4), X, None, initial_carry=jnp.zeros((BATCH, 5))),
            ValueError,
            "initial_carry",
        ),
        (lambda: _apply(MinLSTM(4, kernel_init="nope"), X), ValueError, "kernel_init"),
        (lambda: _apply(MinLSTM(4, bias_init=3), X), TypeError, "bias_init"),
    ],
)
def test_bad_inputs(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_cell_bad_carry(key):
    cell = MinGRUCell(HIDDEN)
    x = jnp.zeros((BATCH, INPUT))
    with pytest.raises(ValueError, match="carry"):
        cell.init(key, jnp.zeros((BATCH, HIDDEN + 1)), x)
    with pytest.raises(TypeError, match="carry"):
        cell.init(key, [0.0] * HIDDEN, x)


def test_wrong_input_size_names_the_parameter():
    params = init_params("min_gru")
    with pytest.raises(ValueError, match="kernel"):
        MinGRU(HIDDEN).apply({"params": params}, jnp.zeros((BATCH, STEPS, INPUT + 1)))


def test_docstring_examples():
    results = doctest.testmod(min_rnn, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0
