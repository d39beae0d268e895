"""Tests of jaxrnn.diagnostics against brute force: Python loops, jax.grad, jax.jacrev.

Every reference here is written without the function under test: dL/dh_t from a Python
loop over examples, layers, directions and steps with a perturbation added to each h_t;
ds_T/ds_k from ``jax.jacrev`` of the unrolled loop (with respect to a perturbation of s_k
for every k, and of the whole map s_0 -> s_T); the dense stack from a NumPy float64
forward and backward pass. Parameters are NumPy draws (no ``layer.init`` scans to compile)
and every jitted function is compiled once per test, to keep the file fast.
"""

import doctest
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SPECTRAL_RTOL, tolerance
from jax.flatten_util import ravel_pytree

import jaxrnn
from jaxrnn import diagnostics, initializers
from jaxrnn.cells import LSTMState

B, T, F, H = 2, 5, 3, 4  # batch, time, input features, hidden
LENGTHS = np.array([5, 3])
LONG_T = 40  # the linear-RNN slope and Pascanu-bound checks
WEIGHT_STD = 0.5  # every test parameter N(0, 0.5^2) unless the test sets it
TOL = tolerance(jnp.float32)

CELLS = {
    "rnn_tanh": lambda: jaxrnn.SimpleRNNCell(H),
    "lstm": lambda: jaxrnn.LSTMCell(H),
    "gru": lambda: jaxrnn.GRUCell(H),
    "gru_reset_after": lambda: jaxrnn.GRUCell(H, reset_after=True),
}


@pytest.fixture
def x(key):
    return jax.random.normal(jax.random.fold_in(key, 1), (B, T, F))


def _target(key, shape):
    return jax.random.normal(jax.random.fold_in(key, 2), shape)


def _cell_params(cell, input_size, seed=0, **arrays):
    """A cell's parameters, every entry N(0, WEIGHT_STD^2) unless given in ``arrays``.

    Drawn with NumPy: nothing to compile (``layer.init`` would compile a scan); the
    names and shapes are checked by the cell when the parameters are used.
    """
    rng = np.random.default_rng(seed)
    fused = cell.num_gates * H
    shapes = {"kernel": (input_size, fused), "recurrent_kernel": (H, fused), "bias": (fused,)}
    if getattr(cell, "reset_after", False):
        shapes["recurrent_bias"] = (H,)
    params = {name: WEIGHT_STD * rng.standard_normal(shape) for name, shape in shapes.items()}
    return {name: jnp.asarray(value, jnp.float32) for name, value in {**params, **arrays}.items()}


def _stack_variables(stack, num_layers, directions):
    """Variables with the tree ``stack.init`` makes, one seed per layer and direction."""
    params = {}
    for layer in range(num_layers):
        for direction in range(directions):
            name = f"layer{layer}" + ("_reverse" if direction else "")
            size = F if layer == 0 else directions * H
            seed = layer * directions + direction
            params[name] = {"cell": _cell_params(stack.make_cell(), size, seed)}
    return {"params": params}


# ---------------------------------------------------------------------------------------
# The reference for dL/dh_t: a Python loop with a perturbation added to every h_t.
# ---------------------------------------------------------------------------------------


def _reference_stack(cell, slot_params, x, deltas, num_layers, directions, lengths):
    """Outputs and final state of a stack, stepped example by example in Python.

    ``deltas (l*d, b, t, h)`` is added to h_t right after each step; the backward
    direction runs over the first ``lengths[e]`` steps in reverse; outputs past a length
    are zero. Returns ``(outputs (b, t, d*h), final_state (l*d, b, h) per leaf)``.
    """
    step = cell.step_fn()

    def perturbed_step(weights, carry, x_t, delta):
        carry, y = step(weights, carry, cell.project_inputs(weights, x_t))
        y = y + delta
        return (carry.replace(h=y) if isinstance(carry, LSTMState) else y), y

    batch, time, _ = x.shape
    inputs = [x[e] for e in range(batch)]
    finals = []
    for layer in range(num_layers):
        per_direction = []
        for direction in range(directions):
            slot = layer * directions + direction
            size = inputs[0].shape[-1]
            weights = cell.apply({"params": slot_params[slot]}, size, method="weights")
            ys_all, carries = [], []
            for e in range(batch):
                carry = cell.initialize_carry(None, (size,))
                ys = [jnp.zeros(H)] * time
                order = range(lengths[e])
                for s in reversed(order) if direction else order:
                    carry, ys[s] = perturbed_step(weights, carry, inputs[e][s], deltas[slot, e, s])
                ys_all.append(jnp.stack(ys))
                carries.append(carry)
            per_direction.append(ys_all)
            finals.append(jax.tree_util.tree_map(lambda *c: jnp.stack(c), *carries))
        inputs = [jnp.concatenate([d[e] for d in per_direction], -1) for e in range(batch)]
    final_state = jax.tree_util.tree_map(lambda *c: jnp.stack(c), *finals)
    return jnp.stack(inputs), final_state


def _stack_loss(target):
    def loss_fn(result):  # what a stack returns with return_carry=True
        final_state, outputs = result
        leaves = jax.tree_util.tree_leaves(final_state)
        return jnp.sum(jnp.tanh(outputs) * target) + sum(jnp.sum(leaf**2) for leaf in leaves)

    return loss_fn


def _rnn_loss(target):
    return lambda outputs: 0.5 * jnp.sum((outputs - target) ** 2)


# ---------------------------------------------------------------------------------------
# hidden_gradients / hidden_gradient_norms.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lstm", "gru"])  # Elman cells: the stack test below
def test_rnn_hidden_gradients_equal_python_loop(name, x, key):
    layer = jaxrnn.RNN(CELLS[name]())
    variables = {"params": {"cell": _cell_params(layer.cell, F)}}
    loss_fn = _rnn_loss(_target(key, (B, T, H)))

    grads = jax.jit(functools.partial(diagnostics.hidden_gradients, layer, loss_fn=loss_fn))(
        variables, x
    )

    def loss(deltas):
        cell_params = [variables["params"]["cell"]]
        outputs, _ = _reference_stack(layer.cell, cell_params, x, deltas, 1, 1, [T] * B)
        return loss_fn(outputs)

    expected = np.asarray(jax.jit(jax.grad(loss))(jnp.zeros((1, B, T, H)))[0])
    assert grads.shape == (B, T, H)
    np.testing.assert_allclose(grads, expected, **TOL)


def test_stack_hidden_gradients_equal_python_loop_with_padding(x, key):
    # Two layers, bidirectional, padded: every slot, direction and mask is exercised.
    # (Elman cells: the cheapest reference; the LSTM probe path is tested above.)
    layer = jaxrnn.SimpleRNN(H, num_layers=2, bidirectional=True)
    variables = _stack_variables(layer, 2, 2)
    loss_fn = _stack_loss(_target(key, (B, T, 2 * H)))
    lengths = jnp.asarray(LENGTHS)

    grads = jax.jit(
        functools.partial(diagnostics.hidden_gradients, layer, loss_fn=loss_fn, return_carry=True)
    )(variables, x, seq_lengths=lengths)
    params = variables["params"]
    slots = [params[f"layer{k}{suffix}"]["cell"] for k in range(2) for suffix in ("", "_reverse")]

    def loss(deltas):
        outputs, final = _reference_stack(layer.make_cell(), slots, x, deltas, 2, 2, LENGTHS)
        return loss_fn((final, outputs))

    expected = np.asarray(jax.jit(jax.grad(loss))(jnp.zeros((4, B, T, H))))
    assert grads.shape == (4, B, T, H)
    np.testing.assert_allclose(grads, expected, **TOL)
    # Past each length the gradient is exactly zero, before it is not.
    for e, length in enumerate(LENGTHS):
        assert np.all(np.asarray(grads[:, e, length:]) == 0)
        assert np.all(np.linalg.norm(grads[:, e, :length], axis=-1) > 0)


def test_time_major_reverse_padded_lstm_and_one_layer_stack(x, key):
    # A reversed, padded LSTM layer, batch-major and time-major, and the same cell as the
    # backward half of a bidirectional stack (apply returns its outputs).
    layer = jaxrnn.RNN(jaxrnn.LSTMCell(H), reverse=True)
    variables = {"params": {"cell": _cell_params(layer.cell, F)}}
    layer_tm = layer.clone(time_major=True)
    stack_reversed = jaxrnn.LSTM(H, bidirectional=True)
    target = _target(key, (B, T, H))
    loss_fn = _rnn_loss(target)
    lengths = jnp.asarray(LENGTHS)

    @jax.jit
    def diagnose(variables, x):
        batch_major = diagnostics.hidden_gradients(
            layer, variables, x, loss_fn, seq_lengths=lengths
        )
        time_major = diagnostics.hidden_gradient_norms(
            layer_tm, variables, jnp.swapaxes(x, 0, 1),
            lambda y: loss_fn(jnp.swapaxes(y, 0, 1)), seq_lengths=lengths, per_example=True,
        )  # fmt: skip
        # The backward half of a bidirectional stack is this reversed layer.
        both = {"params": {"layer0": variables["params"], "layer0_reverse": variables["params"]}}
        stacked = diagnostics.hidden_gradient_norms(
            stack_reversed, both, x, lambda out: loss_fn(out[..., H:]), seq_lengths=lengths
        )
        return batch_major, time_major, stacked

    batch_major, time_major, stacked = diagnose(variables, x)
    assert time_major.shape == (B, T) and stacked.shape == (2, T)
    np.testing.assert_allclose(time_major, np.linalg.norm(batch_major, axis=-1), **TOL)
    np.testing.assert_allclose(stacked[1], np.linalg.norm(batch_major, axis=(0, 2)), **TOL)
    assert np.all(np.asarray(stacked[0]) == 0)  # the forward half does not reach the loss
    assert np.all(np.asarray(time_major)[1, LENGTHS[1] :] == 0)
    assert np.all(np.asarray(time_major)[1, : LENGTHS[1]] > 0)


def test_loss_at_the_end_decays_at_least_as_sigma_max(key):
    # Loss at the last step only, tanh RNN with sigma_1(W_h) = 0.5:
    # ||dL/dh_k|| <= 0.5^(T-1-k) ||dL/dh_{T-1}||.
    x = jax.random.normal(key, (B, 12, F))
    layer = jaxrnn.RNN(jaxrnn.SimpleRNNCell(H))
    w = initializers.orthogonal(gain=0.5)(key, (H, H))
    variables = {"params": {"cell": _cell_params(layer.cell, F, recurrent_kernel=w)}}
    norms = jax.jit(
        functools.partial(
            diagnostics.hidden_gradient_norms, layer, loss_fn=lambda y: jnp.sum(y[:, -1])
        )
    )(variables, x)
    assert norms.shape == (12,)
    bound = norms[-1] * 0.5 ** np.arange(11, -1, -1)
    assert np.all(np.asarray(norms) <= bound * (1 + TOL["rtol"]))
    assert float(norms[0]) < 1e-2 * float(norms[-1])


# ---------------------------------------------------------------------------------------
# jacobian_products against jax.jacrev of the unrolled map.
# ---------------------------------------------------------------------------------------


def _brute_force_products(cell, variables, x, initial_carry):
    """Per example, from jax.jacrev of unrolled Python loops of the cell's step.

    Returns the step Jacobians ds_t/ds_{t-1}; ds_T/ds_k for every k, as the Jacobian of
    s_T with respect to a perturbation added to s_k; and ds_T/ds_0 of the whole map.
    """
    weights = cell.apply(variables, x.shape[-1], method="weights")
    step = cell.step_fn()
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda c: c[0], initial_carry))
    time = x.shape[1]

    def one_step(state, x_t):
        return ravel_pytree(step(weights, unravel(state), cell.project_inputs(weights, x_t))[0])[0]

    def run(state, xs, perturbations):
        for s in range(time):
            state = one_step(state + perturbations[s], xs[s])
        return state

    @jax.jit
    @jax.vmap
    def per_example(state, xs):
        states = [state]
        for s in range(time):
            states.append(one_step(states[-1], xs[s]))
        jacobians = jnp.stack([jax.jacrev(one_step)(states[s], xs[s]) for s in range(time)])
        zeros = jnp.zeros((time, state.shape[0]))
        products = jnp.moveaxis(jax.jacrev(run, argnums=2)(state, xs, zeros), 1, 0)
        return jacobians, products, jax.jacrev(run)(state, xs, zeros)

    flat = jax.vmap(lambda c: ravel_pytree(c)[0])(initial_carry)
    return jax.tree_util.tree_map(np.asarray, per_example(flat, x))


@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru_reset_after"])
def test_jacobian_products_equal_jacrev(name, x, key):
    cell = CELLS[name]()
    variables = {"params": _cell_params(cell, F)}
    k1, k2 = jax.random.split(key)
    h0 = 0.5 * jax.random.normal(k1, (B, H))
    # A non-zero start; an LSTM takes a plain (h, c) tuple.
    carry = (h0, 0.5 * jax.random.normal(k2, (B, H))) if name == "lstm" else h0
    out = jax.jit(lambda v, x, c: diagnostics.jacobian_products(cell, v, x, c))(variables, x, carry)
    n = 2 * H if name == "lstm" else H
    assert out.products.shape == (B, T, n, n) and out.singular_values.shape == (B, T, n)

    reference_carry = LSTMState(*carry) if name == "lstm" else carry
    jacobians, products, whole_map = _brute_force_products(cell, variables, x, reference_carry)
    np.testing.assert_allclose(out.jacobians, jacobians, **TOL)
    np.testing.assert_allclose(out.products, products, **TOL)
    np.testing.assert_allclose(out.products[:, 0], whole_map, **TOL)
    singular_values = np.linalg.svd(products.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(out.singular_values, singular_values, **TOL)
    np.testing.assert_allclose(out.norms, singular_values[..., 0], **TOL)
    np.testing.assert_allclose(np.exp(out.log_singular_values), out.singular_values, **TOL)
    assert np.all(np.diff(np.asarray(out.singular_values), axis=-1) <= 0)  # descending


@functools.partial(jax.jit, static_argnums=0)
def _products(activation, variables, x):
    """Jacobian products of a SimpleRNNCell: one compile per activation and shape."""
    cell = jaxrnn.SimpleRNNCell(H, activation=activation)
    return diagnostics.jacobian_products(cell, variables, x)


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.1])
def test_linear_rnn_growth_rate_is_log_rho(rho, key):
    # h_t = h_{t-1} W + 0 x_t + 0, W = rho Q.
    cell = jaxrnn.SimpleRNNCell(H, activation="identity")
    x = jax.random.normal(key, (1, LONG_T, F))
    zeros = {"kernel": jnp.zeros((F, H)), "bias": jnp.zeros(H)}
    w = initializers.orthogonal(gain=rho)(key, (H, H))
    variables = {"params": _cell_params(cell, F, recurrent_kernel=w, **zeros)}
    out = _products("identity", variables, x)
    # W = rho Q: every singular value of dh_T/dh_k = (W^T)^(T-k) is rho^(T-k).
    slope = out.log_singular_values[0, 0] / LONG_T
    np.testing.assert_allclose(slope, np.full(H, np.log(rho)), **TOL)
    steps = np.arange(LONG_T, 0, -1)
    np.testing.assert_allclose(out.norms[0], rho**steps, **TOL)
    w = np.asarray(variables["params"]["recurrent_kernel"], np.float64)
    np.testing.assert_allclose(out.products[0, 0], np.linalg.matrix_power(w.T, LONG_T), **TOL)


@pytest.mark.parametrize(
    ("activation", "value", "gamma"), [("tanh", 0.8, 1.0), ("sigmoid", 3.0, 0.25)]
)
def test_pascanu_bound_on_product_norms(activation, value, gamma, key):
    cell = jaxrnn.SimpleRNNCell(H, activation=activation)
    x = jax.random.normal(key, (B, LONG_T, F))
    w = initializers.max_singular_value(value)(key, (H, H))
    variables = {"params": _cell_params(cell, F, recurrent_kernel=w)}
    spectrum = diagnostics.recurrent_spectrum(variables["params"]["recurrent_kernel"], activation)
    np.testing.assert_allclose(spectrum.max_singular_value, value, **TOL)
    assert bool(spectrum.vanishing_sufficient)
    out = _products(activation, variables, x)
    # ||dh_T/dh_k|| <= (gamma sigma_1)^(T-k), in log space (no underflow at T = 40).
    log_bound = np.arange(LONG_T, 0, -1) * np.log(gamma * value)
    assert np.all(np.asarray(out.log_singular_values[..., 0]) <= log_bound + TOL["rtol"] * LONG_T)


# ---------------------------------------------------------------------------------------
# recurrent_spectrum.
# ---------------------------------------------------------------------------------------


def _orthogonal(key, gain, n=6):
    return initializers.orthogonal(gain=gain)(key, (n, n))


def test_spectrum_matches_numpy(key):
    w = jax.random.normal(key, (3, 6, 6)) / np.sqrt(6)
    out = jax.jit(diagnostics.recurrent_spectrum, static_argnames="activation")(
        w, activation="relu"
    )
    w64 = np.asarray(w, np.float64)
    rho = np.abs(np.linalg.eigvals(w64)).max(-1)
    sigma = np.linalg.svd(w64, compute_uv=False)[..., 0]
    np.testing.assert_allclose(out.spectral_radius, rho, rtol=SPECTRAL_RTOL["float32"])
    np.testing.assert_allclose(out.max_singular_value, sigma, **TOL)
    assert out.spectral_radius.shape == (3,) and float(out.gamma) == 1.0
    np.testing.assert_array_equal(out.vanishing_sufficient, sigma < 1)
    np.testing.assert_array_equal(out.exploding_necessary_satisfied, sigma > 1)


@pytest.mark.parametrize(
    ("activation", "gain", "vanishing", "exploding"),
    [
        ("tanh", 0.9, True, False),
        ("tanh", 1.1, False, True),
        ("relu", 0.9, True, False),
        ("relu", 1.1, False, True),
        ("identity", 0.9, True, False),
        ("identity", 1.1, False, True),
        ("sigmoid", 3.9, True, False),  # 1/gamma = 4
        ("sigmoid", 4.1, False, True),
    ],
)
def test_pascanu_flags(activation, gain, vanishing, exploding, key):
    out = diagnostics.recurrent_spectrum(_orthogonal(key, gain), activation)
    np.testing.assert_allclose(out.spectral_radius, gain, rtol=SPECTRAL_RTOL["float32"])
    np.testing.assert_allclose(out.max_singular_value, gain, **TOL)
    assert bool(out.vanishing_sufficient) is vanishing
    assert bool(out.exploding_necessary_satisfied) is exploding


def test_gaussian_kernel_at_radius_above_one_can_explode(key):
    # The clipping experiment's init: a Gaussian draw rescaled to spectral radius 1.5.
    # For tanh (gamma = 1) Pascanu et al.'s necessary condition for exploding gradients,
    # sigma_1 > 1, holds (a non-normal draw has sigma_1 >= rho), and the sufficient one
    # for vanishing does not.
    w = initializers.spectral_radius(1.5)(key, (4, 32, 32))
    out = diagnostics.recurrent_spectrum(w, "tanh")
    np.testing.assert_allclose(out.spectral_radius, 1.5, rtol=SPECTRAL_RTOL["float32"])
    assert np.all(np.asarray(out.max_singular_value) >= 1.5)
    assert np.all(np.asarray(out.exploding_necessary_satisfied))
    assert not np.any(np.asarray(out.vanishing_sufficient))


def test_linear_case_uses_the_spectral_radius():
    # Non-normal: spectral radius 0.5, largest singular value > 2.
    w = jnp.diag(jnp.array([0.5, 0.4, 0.3, 0.2])) + jnp.triu(jnp.full((H, H), 2.0), 1)
    linear = diagnostics.recurrent_spectrum(w, "identity")
    tanh = diagnostics.recurrent_spectrum(w, "tanh")
    np.testing.assert_allclose(linear.spectral_radius, 0.5, rtol=SPECTRAL_RTOL["float32"])
    assert float(linear.max_singular_value) > 2
    assert bool(linear.vanishing_sufficient) and not bool(linear.exploding_necessary_satisfied)
    assert not bool(tanh.vanishing_sufficient) and bool(tanh.exploding_necessary_satisfied)


def test_per_gate_report_for_lstm_and_gru(key):
    gains = (0.5, 5.0, 1.5, 3.0)
    keys = jax.random.split(key, 4)
    kernel = jnp.concatenate([_orthogonal(k, g, H) for k, g in zip(keys, gains, strict=True)], 1)
    out = diagnostics.recurrent_spectrum(kernel, diagnostics.LSTM_GATE_ACTIVATIONS, num_gates=4)
    assert out.max_singular_value.shape == (4,)
    np.testing.assert_allclose(out.max_singular_value, gains, **TOL)
    np.testing.assert_allclose(out.spectral_radius, gains, rtol=SPECTRAL_RTOL["float32"])
    np.testing.assert_array_equal(out.gamma, [0.25, 0.25, 1.0, 0.25])
    # sigmoid: 0.5/4 and 3/4 vanish; 5/4 may explode; tanh at 1.5 may explode.
    np.testing.assert_array_equal(out.vanishing_sufficient, [True, False, False, True])
    np.testing.assert_array_equal(out.exploding_necessary_satisfied, [False, True, True, False])
    # GRU-shaped kernels batched over a leading axis, one activation name for every gate.
    gru = diagnostics.recurrent_spectrum(
        jnp.stack([kernel[:, : 3 * H], kernel[:, H:]]), "tanh", num_gates=3
    )
    assert gru.max_singular_value.shape == (2, 3) and gru.gamma.shape == (3,)
    np.testing.assert_allclose(gru.max_singular_value, [gains[:3], gains[1:]], **TOL)
    np.testing.assert_array_equal(gru.vanishing_sufficient, [[True, False, False], [False] * 3])


# ---------------------------------------------------------------------------------------
# dense_stack_moments against a NumPy loop.
# ---------------------------------------------------------------------------------------

_NUMPY_ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
    "sigmoid": (
        lambda z: 1 / (1 + np.exp(-z)),
        lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
    ),
}


@pytest.mark.parametrize(
    ("activation", "top_gradient_shape"),
    [("tanh", "shared"), ("relu", "per_example"), ("sigmoid", "callable")],
)
def test_dense_stack_moments_equal_numpy_loop(activation, top_gradient_shape, key):
    depth, width, batch = 4, 8, 6
    k1, k2, k3 = jax.random.split(key, 3)
    weights = jax.random.normal(k1, (depth, width, width)) * np.sqrt(2 / width)
    x = jax.random.normal(k2, (batch, width))
    r = jax.random.normal(k3, (batch, width) if top_gradient_shape == "per_example" else (width,))
    # A name, or (last case) the function itself.
    phi_jax = jax.nn.sigmoid if top_gradient_shape == "callable" else activation
    out = jax.jit(diagnostics.dense_stack_moments, static_argnames="activation")(
        weights, x, r, activation=phi_jax
    )

    phi, dphi = _NUMPY_ACTIVATIONS[activation]
    w64, a = np.asarray(weights, np.float64), np.asarray(x, np.float64)
    zs, z2, a2 = [], [], []
    for layer in range(depth):
        z = a @ w64[layer]
        a = phi(z)
        zs.append(z)
        z2.append(np.mean(z**2))
        a2.append(np.mean(a**2))
    delta = np.broadcast_to(np.asarray(r, np.float64), a.shape) * dphi(zs[-1])
    g2 = [np.mean(delta**2)]
    for layer in range(depth - 1, 0, -1):
        delta = (delta @ w64[layer].T) * dphi(zs[layer - 1])
        g2.insert(0, np.mean(delta**2))
    np.testing.assert_allclose(out.preactivation, z2, **TOL)
    np.testing.assert_allclose(out.activation, a2, **TOL)
    np.testing.assert_allclose(out.gradient, g2, **TOL)


# ---------------------------------------------------------------------------------------
# Errors name the argument.
# ---------------------------------------------------------------------------------------


@functools.cache
def _bad_calls():
    x = jnp.ones((B, T, F))
    cell = jaxrnn.GRUCell(H)
    rnn = jaxrnn.RNN(cell)
    cell_vars = {"params": _cell_params(cell, F)}
    variables = {"params": {"cell": cell_vars["params"]}}
    flax_rnn = jaxrnn.RNN(nn.GRUCell(H))
    w, xs = jnp.ones((3, 4, 4)), jnp.ones((2, 4))
    loss = jnp.sum
    hgn = diagnostics.hidden_gradient_norms
    return [
        (lambda: hgn(jaxrnn.GRUCell(H), variables, x, loss), TypeError, "`layer`"),
        (lambda: hgn(flax_rnn, variables, x, loss), TypeError, "`layer` to run a jaxrnn cell"),
        (lambda: hgn(rnn, variables, x[0], loss), ValueError, "`x` of rank 3"),
        (lambda: hgn(rnn, variables, x, lambda y: y), ValueError, "`loss_fn` to return a scalar"),
        (lambda: hgn(rnn, variables, x, loss, per_example=1), TypeError, "`per_example`"),
        (lambda: diagnostics.jacobian_products(rnn, variables, x), TypeError, "`cell`"),
        (lambda: diagnostics.jacobian_products(cell, variables["params"], x), ValueError,
         "`variables`"),
        (lambda: diagnostics.jacobian_products(cell, [cell_vars], x), TypeError, "`variables`"),
        (lambda: diagnostics.jacobian_products(cell, cell_vars, x.astype(jnp.int32)), TypeError,
         "floating `x`"),
        (lambda: diagnostics.jacobian_products(cell, cell_vars, x, jnp.zeros((B, H + 1))),
         ValueError, "`initial_carry` leaves"),
        (lambda: diagnostics.recurrent_spectrum([[1.0]]), TypeError, "`kernel`"),
        (lambda: diagnostics.recurrent_spectrum(jnp.ones((4, 16))), ValueError, "`num_gates`"),
        (lambda: diagnostics.recurrent_spectrum(jnp.ones((4, 4)), "gelu"), ValueError,
         "`activation` in"),
        (lambda: diagnostics.recurrent_spectrum(jnp.ones((4, 16)), ("tanh",) * 3, num_gates=4),
         ValueError, "one activation per gate"),
        (lambda: diagnostics.recurrent_spectrum(jnp.ones((4, 4)), num_gates=0), ValueError,
         "`num_gates` >= 1"),
        (lambda: diagnostics.dense_stack_moments(w[0], xs, xs[0]), ValueError, "`weights`"),
        (lambda: diagnostics.dense_stack_moments(w, jnp.ones((2, 5)), xs[0]), ValueError,
         r"`weights` of shape \(l, 5, 5\)"),
        (lambda: diagnostics.dense_stack_moments(w, xs, jnp.ones(3)), ValueError,
         "`top_gradient`"),
        (lambda: diagnostics.dense_stack_moments(w, xs, xs[0], "swish"), ValueError,
         "`activation`"),
        (lambda: diagnostics.dense_stack_moments(w, xs, xs[0], 3), TypeError, "`activation`"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(20))
def test_bad_input(index):
    make, error, match = _bad_calls()[index]
    with pytest.raises(error, match=match):
        make()


def test_bad_calls_table_is_fully_parametrized():
    assert len(_bad_calls()) == 20


def test_docstring_examples():
    results = doctest.testmod(diagnostics, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0
