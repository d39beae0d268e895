"""Tests of jaxrnn.cells against a NumPy reference of the seed equations and flax.linen.

The reference below is written from the equations of Hochreiter & Schmidhuber (1997),
Gers et al. (2000) and Cho et al. (2014) and the layer-norm / weight-norm definitions
in the ``cells`` docstrings, in float64 NumPy, without calling any jaxrnn function:
only the fused parameter layout (gates i, f, g, o / r, z, n along the last axis) is
shared with the code under test.
"""

import functools
import itertools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from conftest import ORTHO_ATOL, as_numpy64, maybe_x64, tolerance

import jaxrnn.testing as rnn_testing
from jaxrnn import initializers
from jaxrnn.cells import (
    GRUCell,
    LSTMCell,
    LSTMState,
    SimpleRNNCell,
    gru_step,
    lstm_step,
    project_inputs,
    simple_rnn_step,
)

BATCH, INPUT, HIDDEN, STEPS = 3, 5, 4, 5
WEIGHT_STD = 0.5  # non-default weights: every parameter drawn from N(0, 0.5^2)
LAYER_NORM_EPSILON = 1e-5  # as documented in jaxrnn.cells
# Weight norm's initial W = s * V / ||V|| must reproduce V up to float32 rounding.
WEIGHT_NORM_INIT_ATOL = 1e-6
GRAD_CHECK_EPS = 1e-5  # finite-difference step of check_grads, see section 3
NORMAL_POOL_SIZE = 512  # random_like draws this many normals and slices them
FIXED_KEY = 20261123  # the seed of conftest's `key` fixture, for the unittest class

CELLS = {
    "rnn_tanh": (SimpleRNNCell, {"activation": "tanh"}),
    "rnn_relu": (SimpleRNNCell, {"activation": "relu"}),
    "lstm": (LSTMCell, {}),
    "gru": (GRUCell, {"reset_after": False}),  # Cho et al. (2014)
    "gru_reset_after": (GRUCell, {"reset_after": True}),  # the default, PyTorch's
}
NORMS = {
    "plain": {},
    "layer_norm": {"layer_norm": True},
    "weight_norm": {"weight_norm": True},
    "both_norms": {"layer_norm": True, "weight_norm": True},
}
# float64 runs every norm variant; float32 (a precision check, same code paths) the two ends.
REFERENCE_CASES = [(jnp.float64, norm) for norm in NORMS] + [
    (jnp.float32, "plain"),
    (jnp.float32, "both_norms"),
]


def make_cell(name, param_dtype=jnp.float32, **overrides):
    cls, kwargs = CELLS[name]
    return cls(HIDDEN, **kwargs, **overrides, param_dtype=param_dtype)


# ---------------------------------------------------------------------------------------
# The NumPy reference, float64, from the seeds' equations.
# ---------------------------------------------------------------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _layer_norm(z, scale, bias):
    mean = z.mean(axis=-1, keepdims=True)
    var = ((z - mean) ** 2).mean(axis=-1, keepdims=True)
    return (z - mean) / np.sqrt(var + LAYER_NORM_EPSILON) * scale + bias


def _effective(p, name):
    """Weight norm: W = s * V / ||V||, the norm of each column over the input axis."""
    v = p[name]
    if name + "_scale" not in p:
        return v
    return p[name + "_scale"] * v / np.sqrt((v**2).sum(axis=0))


def numpy_step(name, p, carry, x, mask=None):
    """One step of cell ``name`` on float64 NumPy params ``p``; returns (carry, y).

    ``mask`` multiplies the previous state wherever it enters a matmul.
    """
    w_x, w_h, b = _effective(p, "kernel"), _effective(p, "recurrent_kernel"), p["bias"]
    h, c = carry if name == "lstm" else (carry, None)
    hidden = h.shape[-1]
    h_in = h if mask is None else h * mask
    layer_norm = "input_norm_scale" in p

    def gate(a, k):  # block k of a fused (..., g*h) axis
        return a[..., k * hidden : (k + 1) * hidden]

    def norm(z, group, k):
        if not layer_norm:
            return z
        return _layer_norm(z, gate(p[group + "_scale"], k), gate(p[group + "_bias"], k))

    def x_term(k):  # LN(W_x x) + b
        return norm(x @ gate(w_x, k), "input_norm", k) + gate(b, k)

    def h_term(k, state):  # LN(W_h state)
        return norm(state @ gate(w_h, k), "recurrent_norm", k)

    def affine(k, state):  # W_k . [state, x] + b_k, the seeds' form
        if layer_norm:
            return x_term(k) + h_term(k, state)
        stacked = np.concatenate([gate(w_h, k), gate(w_x, k)], axis=0)
        return np.concatenate([state, x], axis=-1) @ stacked + gate(b, k)

    if name.startswith("rnn"):
        act = np.tanh if name == "rnn_tanh" else (lambda z: np.maximum(z, 0.0))
        h = act(affine(0, h_in))
        return h, h
    if name == "lstm":
        i_t = _sigmoid(affine(0, h_in))
        f_t = _sigmoid(affine(1, h_in))
        c_tilde = np.tanh(affine(2, h_in))
        o_t = _sigmoid(affine(3, h_in))
        c_t = f_t * c + i_t * c_tilde
        if layer_norm:
            h_t = o_t * np.tanh(_layer_norm(c_t, p["cell_norm_scale"], p["cell_norm_bias"]))
        else:
            h_t = o_t * np.tanh(c_t)
        return (h_t, c_t), h_t
    r = _sigmoid(affine(0, h_in))
    z = _sigmoid(affine(1, h_in))
    if name == "gru":  # Cho et al. / seeds: h~ = tanh(W [r*h, x] + b)
        h_tilde = np.tanh(affine(2, r * h_in))
        h = (1.0 - z) * h + z * h_tilde
    else:  # PyTorch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1-z) n + z h
        n = np.tanh(x_term(2) + r * (h_term(2, h_in) + p["recurrent_bias"]))
        h = (1.0 - z) * n + z * h
    return h, h


def numpy_run(name, params, carry, xs):
    p = {k: as_numpy64(v) for k, v in params.items()}
    carry = jax.tree_util.tree_map(as_numpy64, (carry.h, carry.c) if name == "lstm" else carry)
    ys = []
    for x in as_numpy64(xs):
        carry, y = numpy_step(name, p, carry, x)
        ys.append(y)
    return carry, np.stack(ys)


# ---------------------------------------------------------------------------------------
# Set-up: random non-default parameters, inputs and a nonzero carry.
# ---------------------------------------------------------------------------------------


def random_like(key, tree, std=WEIGHT_STD):
    """A tree shaped like ``tree`` (arrays or ShapeDtypeStructs) of N(0, std^2) draws.

    One fixed-size draw sliced into the leaves: a draw per leaf shape would compile a
    sampler per shape.
    """
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    sizes = [int(np.prod(leaf.shape)) for leaf in leaves]
    dtype = leaves[0].dtype
    assert sum(sizes) <= NORMAL_POOL_SIZE and all(leaf.dtype == dtype for leaf in leaves)
    pool = np.asarray(std * jax.random.normal(key, (NORMAL_POOL_SIZE,), dtype))
    chunks = np.split(pool[: sum(sizes)], np.cumsum(sizes)[:-1])
    return treedef.unflatten(
        [jnp.asarray(c.reshape(leaf.shape)) for c, leaf in zip(chunks, leaves, strict=True)]
    )


def setup(cell, key, dtype):
    """(variables, carry, xs): random params, a random nonzero carry, STEPS inputs."""
    k_params, k_carry, k_x = jax.random.split(key, 3)
    x = jnp.zeros((BATCH, INPUT), dtype)
    zero_carry = cell.initialize_carry(key, x.shape)
    # Only the parameter structure is needed: eval_shape runs no initializer.
    variables = random_like(k_params, jax.eval_shape(cell.init, key, zero_carry, x))
    carry = random_like(k_carry, zero_carry)
    xs = random_like(k_x, jax.ShapeDtypeStruct((STEPS, BATCH, INPUT), dtype), std=1.0)
    return variables, carry, xs


def run(apply, variables, carry, xs):
    ys = []
    for x in xs:
        carry, y = apply(variables, carry, x)
        ys.append(y)
    return carry, jnp.stack(ys)


def assert_close(actual, expected, dtype):
    actual = jax.tree_util.tree_map(as_numpy64, actual)
    jax.tree_util.tree_map(
        lambda a, e: np.testing.assert_allclose(a, e, **tolerance(dtype)), actual, expected
    )


def _pure_step(name, mask):
    if name == "lstm":
        return functools.partial(lstm_step, recurrent_mask=mask)
    if name.startswith("gru"):
        reset_after = name == "gru_reset_after"
        return functools.partial(gru_step, recurrent_mask=mask, reset_after=reset_after)
    activation = jnp.tanh if name == "rnn_tanh" else jax.nn.relu
    return functools.partial(simple_rnn_step, recurrent_mask=mask, activation=activation)


# ---------------------------------------------------------------------------------------
# 1. Against the NumPy reference.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize(
    ("dtype", "norm"), REFERENCE_CASES, ids=[f"{jnp.dtype(d).name}-{n}" for d, n in REFERENCE_CASES]
)
def test_cell_matches_numpy_reference(key, dtype, norm, name):
    with maybe_x64(dtype):
        cell = make_cell(name, dtype, **NORMS[norm])
        variables, carry, xs = setup(cell, key, dtype)
        carry_out, ys = run(cell.apply, variables, carry, xs)
        ref_carry, ref_ys = numpy_run(name, variables["params"], carry, xs)
        assert ys.dtype == dtype
        assert_close(ys, ref_ys, dtype)
        assert_close((carry_out.h, carry_out.c) if name == "lstm" else carry_out, ref_carry, dtype)


@pytest.mark.parametrize("name", CELLS)
def test_pure_steps_match_numpy_reference_with_recurrent_mask(key, name):
    """The pure step functions, fed ``project_inputs``, with a dropout mask on h."""
    with jax.enable_x64(True):
        cell = make_cell(name, jnp.float64, layer_norm=True)
        variables, carry, xs = setup(cell, key, jnp.float64)
        weights = variables["params"]
        mask = jax.random.bernoulli(jax.random.fold_in(key, 1), 0.7, (BATCH, HIDDEN)) / 0.7
        xw = project_inputs(weights, xs[0], cell.num_gates)
        new_carry, y = _pure_step(name, mask)(weights, carry, xw)
        ref_carry, ref_y = numpy_step(
            name,
            {k: as_numpy64(v) for k, v in weights.items()},
            (as_numpy64(carry.h), as_numpy64(carry.c)) if name == "lstm" else as_numpy64(carry),
            as_numpy64(xs[0]),
            as_numpy64(mask),
        )
        assert_close(y, ref_y, jnp.float64)
        assert_close(
            (new_carry.h, new_carry.c) if name == "lstm" else new_carry, ref_carry, jnp.float64
        )


# ---------------------------------------------------------------------------------------
# 2. Parity with flax.linen's own cells, the same weights moved into their layout.
# ---------------------------------------------------------------------------------------


def _blocks(p, num_gates):
    hidden = p["recurrent_kernel"].shape[0]
    return [slice(k * hidden, (k + 1) * hidden) for k in range(num_gates)]


def flax_lstm_params(p):
    out = {}
    for gate, s in zip("ifgo", _blocks(p, 4), strict=True):
        out["i" + gate] = {"kernel": p["kernel"][:, s]}
        out["h" + gate] = {"kernel": p["recurrent_kernel"][:, s], "bias": p["bias"][s]}
    return out


def flax_gru_params(p):
    out = {}
    for gate, s in zip("rzn", _blocks(p, 3), strict=True):
        out["i" + gate] = {"kernel": p["kernel"][:, s], "bias": p["bias"][s]}
        out["h" + gate] = {"kernel": p["recurrent_kernel"][:, s]}
    out["hn"]["bias"] = p["recurrent_bias"]
    return out


def flax_simple_params(p):
    return {"i": {"kernel": p["kernel"], "bias": p["bias"]}, "h": {"kernel": p["recurrent_kernel"]}}


FLAX_PARITY = {
    "lstm": ("lstm", lambda: nn.LSTMCell(HIDDEN), flax_lstm_params),
    "optimized_lstm": ("lstm", lambda: nn.OptimizedLSTMCell(HIDDEN), flax_lstm_params),
    "gru": ("gru_reset_after", lambda: nn.GRUCell(HIDDEN), flax_gru_params),
    "simple_tanh": ("rnn_tanh", lambda: nn.SimpleCell(HIDDEN), flax_simple_params),
    "simple_relu": (
        "rnn_relu",
        lambda: nn.SimpleCell(HIDDEN, activation_fn=jax.nn.relu),
        flax_simple_params,
    ),
}


@pytest.mark.parametrize("case", FLAX_PARITY)
def test_cell_matches_flax(key, case):
    name, make_flax, convert = FLAX_PARITY[case]
    ours = make_cell(name)
    theirs = make_flax()
    variables, carry, xs = setup(ours, key, jnp.float32)
    flax_variables = {"params": convert(variables["params"])}
    # The converted tree has exactly flax's own parameter names and shapes.
    flax_init = jax.eval_shape(theirs.init, key, theirs.initialize_carry(key, xs[0].shape), xs[0])
    assert jax.tree_util.tree_map(jnp.shape, flax_variables) == jax.tree_util.tree_map(
        jnp.shape, flax_init
    )
    # Flax's LSTM carry is (c, h); jaxrnn's is LSTMState(h, c).
    flax_carry = (carry.c, carry.h) if name == "lstm" else carry
    our_carry, our_ys = run(ours.apply, variables, carry, xs)
    flax_carry, flax_ys = run(theirs.apply, flax_variables, flax_carry, xs)
    if name == "lstm":
        flax_carry = LSTMState(h=flax_carry[1], c=flax_carry[0])
    assert_close(our_ys, as_numpy64(flax_ys), jnp.float32)
    assert_close(our_carry, jax.tree_util.tree_map(as_numpy64, flax_carry), jnp.float32)


# ---------------------------------------------------------------------------------------
# 3. Gradients by finite differences, float64.
# ---------------------------------------------------------------------------------------
# check_grads compares AD with central differences (fixed random directions) at its own
# float64 tolerance, 1e-5 times the output size: the finite-difference error sets it, not
# the TOLERANCES row. Its default step 1e-4 leaves a truncation error of ~2e-5 relative
# on second derivatives through layer norm, hence GRAD_CHECK_EPS.
#
# Cost: every primitive run eagerly under a new transformation compiles once (~35 ms on
# a 2-core CPU), and order 2 in both modes multiplies them. So the recurrences, where the
# math lives, get order 2 through the pure step functions, and so does project_inputs;
# the modules, which add weight norm and run every layer norm, get order 1 on top.


@pytest.mark.parametrize("name", CELLS)
def test_pure_step_gradients(key, name):
    with jax.enable_x64(True):
        cell = make_cell(name, jnp.float64)
        variables, carry, xs = setup(cell, key, jnp.float64)
        weights = variables["params"]
        xw = project_inputs(weights, xs[0], cell.num_gates)
        mask = jax.random.bernoulli(jax.random.fold_in(key, 2), 0.8, (BATCH, HIDDEN)) / 0.8
        rnn_testing.check_gradients(
            _pure_step(name, mask), (weights, carry, xw), order=2, eps=GRAD_CHECK_EPS
        )


def _projection_weights(key, num_gates, layer_norm):
    gh = num_gates * HIDDEN
    shapes = {"kernel": (INPUT, gh), "bias": (gh,)}
    if layer_norm:
        shapes |= {"input_norm_scale": (gh,), "input_norm_bias": (gh,)}
    return random_like(key, {k: jax.ShapeDtypeStruct(s, jnp.float64) for k, s in shapes.items()})


@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "layer_norm"])
def test_project_inputs_gradients(key, layer_norm):
    # Four gates only: the gate count changes a reshape, which the module checks and the
    # shape test below cover; order 2 through layer norm costs ~3 s per shape.
    with jax.enable_x64(True):
        k_w, k_x = jax.random.split(key)
        weights = _projection_weights(k_w, 4, layer_norm)
        x = random_like(k_x, jax.ShapeDtypeStruct((BATCH, INPUT), jnp.float64), std=1.0)
        project = functools.partial(project_inputs, num_gates=4)
        rnn_testing.check_gradients(project, (weights, x), order=2, eps=GRAD_CHECK_EPS)


@pytest.mark.parametrize("num_gates", [1, 3, 4])
def test_project_inputs_any_leading_axes(key, num_gates):
    with jax.enable_x64(True):
        weights = _projection_weights(key, num_gates, layer_norm=True)
        project = functools.partial(project_inputs, num_gates=num_gates)
        x_seq = jax.ShapeDtypeStruct((STEPS, BATCH, INPUT), jnp.float64)
        # Shapes only: eval_shape compiles nothing.
        assert jax.eval_shape(project, weights, x_seq).shape == (STEPS, BATCH, num_gates * HIDDEN)


@pytest.mark.parametrize("name", CELLS)
def test_cell_step_gradients(key, name):
    """The module's step w.r.t. params, carry and input, weight and layer norm on."""
    with jax.enable_x64(True):
        cell = make_cell(name, jnp.float64, layer_norm=True, weight_norm=True)
        variables, carry, xs = setup(cell, key, jnp.float64)

        def step(params, carry, x):
            return cell.apply({"params": params}, carry, x)

        rnn_testing.check_gradients(
            step, (variables["params"], carry, xs[0]), order=1, eps=GRAD_CHECK_EPS
        )


# ---------------------------------------------------------------------------------------
# 4. jit and no-jit agree (chex variants), both against the NumPy reference.
# ---------------------------------------------------------------------------------------


class TestJitAgreement(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(name, name) for name in CELLS])
    def test_steps_jit_and_no_jit(self, name):
        key = jax.random.key(FIXED_KEY)
        cell = make_cell(name, layer_norm=True)
        variables, carry, xs = setup(cell, key, jnp.float32)

        @self.variant
        def steps(variables, carry, xs):
            return run(cell.apply, variables, carry, xs)

        carry_out, ys = steps(variables, carry, xs)
        ref_carry, ref_ys = numpy_run(name, variables["params"], carry, xs)
        assert_close(ys, ref_ys, jnp.float32)
        assert_close(
            (carry_out.h, carry_out.c) if name == "lstm" else carry_out, ref_carry, jnp.float32
        )


# ---------------------------------------------------------------------------------------
# 5. Initialisation defaults and initializer specs.
# ---------------------------------------------------------------------------------------


def init_params(cell, key, input_size=INPUT):
    x = jnp.zeros((BATCH, input_size), cell.param_dtype)
    return cell.init(key, cell.initialize_carry(key, x.shape), x)["params"]


def effective_weights(cell, variables, input_size=INPUT):
    return cell.apply(variables, input_size, method=cell.weights)


def assert_orthogonal(q):
    q = np.asarray(q, np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(q.shape[1]), atol=ORTHO_ATOL["float32"])


def test_lstm_default_bias_has_forget_block_one(key):
    bias = init_params(LSTMCell(HIDDEN), key)["bias"]
    expected = np.concatenate([np.zeros(HIDDEN), np.ones(HIDDEN), np.zeros(2 * HIDDEN)])
    np.testing.assert_array_equal(bias, expected)


@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru", "gru_reset_after"])
def test_default_recurrent_kernel_is_orthogonal_per_gate(key, name):
    cell = make_cell(name)
    params = init_params(cell, key)
    u = params["recurrent_kernel"]
    blocks = np.split(np.asarray(u), cell.num_gates, axis=-1)
    assert len(blocks) == {"lstm": 4, "gru": 3, "gru_reset_after": 3}.get(name, 1)
    for block in blocks:
        assert_orthogonal(block)
    # Independent draws, not one block repeated.
    for a, b in itertools.pairwise(blocks):
        assert not np.allclose(a, b)
    if name != "lstm":  # the LSTM's forget block is 1, tested above
        np.testing.assert_array_equal(params["bias"], np.zeros(cell.num_gates * HIDDEN))


def test_initializer_spec_object(key):
    cell = LSTMCell(HIDDEN, kernel_init=initializers.constant(0.3), bias_init=initializers.ones)
    params = init_params(cell, key)
    np.testing.assert_array_equal(params["kernel"], np.full((INPUT, 4 * HIDDEN), 0.3, np.float32))
    np.testing.assert_array_equal(params["bias"], np.ones(4 * HIDDEN))


def test_initializer_spec_name(key):
    # Whole-matrix orthogonal (h, 4h): orthonormal rows, unlike the per-gate default.
    u = init_params(LSTMCell(HIDDEN, recurrent_kernel_init="orthogonal"), key)["recurrent_kernel"]
    u = np.asarray(u, np.float64)
    np.testing.assert_allclose(u @ u.T, np.eye(HIDDEN), atol=ORTHO_ATOL["float32"])
    assert_orthogonal(
        init_params(GRUCell(HIDDEN, kernel_init="orthogonal"), key, input_size=3 * HIDDEN)["kernel"]
    )


def test_initializer_spec_name_and_kwargs(key):
    t_max = 50
    bias = init_params(LSTMCell(HIDDEN, bias_init=("chrono", {"t_max": t_max})), key)["bias"]
    b_i, b_f, b_g, b_o = np.split(np.asarray(bias), 4)
    # log U[1, t_max - 1], up to float32 rounding of the log.
    assert np.all(b_f >= 0.0)
    assert np.all(b_f <= np.log(t_max - 1) + tolerance(jnp.float32)["atol"])
    assert np.ptp(b_f) > 0.0  # drawn, not constant
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(b_g, 0.0)
    np.testing.assert_array_equal(b_o, 0.0)


@pytest.mark.parametrize(
    ("cls", "attribute"),
    [
        (LSTMCell, "kernel_init"),
        (LSTMCell, "recurrent_kernel_init"),
        (LSTMCell, "bias_init"),
        (SimpleRNNCell, "kernel_init"),
        (GRUCell, "recurrent_kernel_init"),
    ],
)
def test_unknown_initializer_name_raises_naming_attribute(key, cls, attribute):
    cell = cls(HIDDEN, **{attribute: "no_such_initializer"})
    with pytest.raises(ValueError, match=f"`{attribute}`.*no_such_initializer"):
        init_params(cell, key)


def test_unknown_recurrent_bias_init_raises(key):
    cell = GRUCell(HIDDEN, reset_after=True, recurrent_bias_init="no_such_initializer")
    with pytest.raises(ValueError, match="`recurrent_bias_init`"):
        init_params(cell, key)


@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru"])
def test_weight_norm_initial_weights_are_the_draw(key, name):
    cell = make_cell(name, weight_norm=True)
    variables = {"params": init_params(cell, key)}
    params = variables["params"]
    effective = effective_weights(cell, variables)
    for param in ("kernel", "recurrent_kernel"):
        # The stored direction V is the initializer's draw; s starts at ||V||, so W = V.
        np.testing.assert_allclose(
            params[param + "_scale"],
            np.sqrt((np.asarray(params[param], np.float64) ** 2).sum(0)),
            **tolerance(jnp.float32),
        )
        np.testing.assert_allclose(effective[param], params[param], atol=WEIGHT_NORM_INIT_ATOL)
    # So the per-gate orthogonal recurrent blocks stay orthogonal.
    for block in np.split(np.asarray(effective["recurrent_kernel"]), cell.num_gates, -1):
        assert_orthogonal(block)
    # And the effective weights follow the scale: doubling s doubles W.
    doubled = {"params": {**params, "kernel_scale": 2.0 * params["kernel_scale"]}}
    np.testing.assert_allclose(
        effective_weights(cell, doubled)["kernel"],
        2.0 * params["kernel"],
        atol=WEIGHT_NORM_INIT_ATOL,
    )


# ---------------------------------------------------------------------------------------
# 6. Errors.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden_size", [0, -3, 2.5, 4.0, "4", True, None])
@pytest.mark.parametrize("cls", [SimpleRNNCell, LSTMCell, GRUCell])
def test_bad_hidden_size_raises(key, cls, hidden_size):
    cell = cls(hidden_size)
    with pytest.raises(ValueError, match="`hidden_size`"):
        cell.initialize_carry(key, (BATCH, INPUT))
    x = jnp.zeros((BATCH, INPUT))
    carry = jnp.zeros((BATCH, HIDDEN))
    with pytest.raises(ValueError, match="`hidden_size`"):
        cell.init(key, LSTMState(carry, carry) if cls is LSTMCell else carry, x)


@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru_reset_after"])
@pytest.mark.parametrize("weight_norm", [False, True], ids=["plain", "weight_norm"])
def test_wrong_input_size_raises(key, name, weight_norm):
    cell = make_cell(name, weight_norm=weight_norm)
    small = jnp.zeros((BATCH, 3))
    variables = jax.tree_util.tree_map(
        lambda a: jnp.zeros(a.shape, a.dtype),
        jax.eval_shape(cell.init, key, cell.initialize_carry(key, small.shape), small),
    )
    x = jnp.zeros((BATCH, 5))
    g = cell.num_gates
    with pytest.raises(ValueError, match=rf"shape \(3, {g * HIDDEN}\).*\(5, {g * HIDDEN}\)"):
        cell.apply(variables, cell.initialize_carry(key, x.shape), x)


def test_unknown_activation_raises(key):
    with pytest.raises(ValueError, match=r"`activation`.*swish"):
        init_params(SimpleRNNCell(HIDDEN, activation="swish"), key)
    with pytest.raises(TypeError, match="`activation`"):
        init_params(SimpleRNNCell(HIDDEN, activation=3), key)


def test_callable_activation(key):
    cell = SimpleRNNCell(HIDDEN, activation=jax.nn.relu)
    by_name = SimpleRNNCell(HIDDEN, activation="relu")
    variables, carry, xs = setup(cell, key, jnp.float32)
    np.testing.assert_array_equal(
        cell.apply(variables, carry, xs[0])[1], by_name.apply(variables, carry, xs[0])[1]
    )


# ---------------------------------------------------------------------------------------
# 7. Carry and dtypes.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_shape", [(), (BATCH,), (2, BATCH)], ids=str)
@pytest.mark.parametrize("param_dtype", [jnp.float32, jnp.bfloat16, jnp.float64], ids=str)
@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru"])
def test_initialize_carry(key, name, param_dtype, batch_shape):
    with maybe_x64(param_dtype):
        cell = make_cell(name, param_dtype)
        carry = cell.initialize_carry(key, (*batch_shape, INPUT))
        if name == "lstm":
            assert isinstance(carry, LSTMState)
        for part in (carry.h, carry.c) if name == "lstm" else (carry,):
            assert part.shape == (*batch_shape, HIDDEN)
            assert part.dtype == param_dtype
            np.testing.assert_array_equal(part, 0.0)
        # The carry feeds straight back into the cell (shapes only: eval_shape compiles
        # nothing), unbatched included.
        x = jax.ShapeDtypeStruct((*batch_shape, INPUT), param_dtype)
        variables = jax.eval_shape(cell.init, key, carry, x)
        new_carry, y = jax.eval_shape(cell.apply, variables, carry, x)
        assert jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), new_carry) == (
            jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), carry)
        )
        assert (y.shape, y.dtype) == ((*batch_shape, HIDDEN), param_dtype)


@pytest.mark.parametrize("half_dtype", [jnp.bfloat16, jnp.float16], ids=str)
@pytest.mark.parametrize("name", CELLS)
def test_half_precision_is_mixed_and_close_to_float32(key, name, half_dtype):
    # 16-bit matmul operands, float32 everything else (jaxrnn._precision): the matrices
    # are 16-bit, biases and norms, carries and outputs float32, and the result within
    # the 16-bit row of the tolerance table of the float32 cell's.
    full = make_cell(name, layer_norm=name == "lstm")
    half = make_cell(name, layer_norm=name == "lstm", dtype=half_dtype)
    variables, carry, xs = setup(full, key, jnp.float32)
    weights = effective_weights(half, variables)
    for k, w in weights.items():
        assert w.dtype == (half_dtype if k in ("kernel", "recurrent_kernel") else jnp.float32), k
    assert half.carry_dtype() == jnp.float32
    zeros = jax.tree_util.tree_leaves(half.initialize_carry(key, (BATCH, INPUT)))
    assert all(c.dtype == jnp.float32 for c in zeros)
    carry_half, ys_half = run(jax.jit(half.apply), variables, carry, xs)
    carry_full, ys_full = run(full.apply, variables, carry, xs)
    assert ys_half.dtype == jnp.float32
    assert all(c.dtype == jnp.float32 for c in jax.tree_util.tree_leaves(carry_half))
    assert_close(ys_half, as_numpy64(ys_full), half_dtype)
    assert_close(carry_half, jax.tree_util.tree_map(as_numpy64, carry_full), half_dtype)


def _dot_dtypes(jaxpr) -> set:
    """(lhs, rhs, out) dtypes of every dot_general in a closed jaxpr, nested ones too."""
    found = set()
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            found.add((*(v.aval.dtype.name for v in eqn.invars), eqn.outvars[0].aval.dtype.name))
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else (param,):
                if hasattr(sub, "jaxpr"):
                    found |= _dot_dtypes(sub.jaxpr if hasattr(sub.jaxpr, "eqns") else sub)
                elif hasattr(sub, "eqns"):
                    found |= _dot_dtypes(sub)
    return found


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "step"])
@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru", "gru_reset_after"])
def test_bfloat16_matmuls_take_bfloat16_operands_and_accumulate_in_float32(key, name, fused):
    # Every matmul of the forward pass is bf16 x bf16 -> f32: none rounds its product
    # to bfloat16, none runs in float32.
    from jaxrnn import RNN

    layer = RNN(make_cell(name, dtype=jnp.bfloat16), fused=fused)
    x = jax.random.normal(key, (BATCH, STEPS, INPUT))
    variables = layer.init(key, x)
    dots = _dot_dtypes(jax.make_jaxpr(layer.apply)(variables, x).jaxpr)
    assert dots == {("bfloat16", "bfloat16", "float32")}, dots


# ---------------------------------------------------------------------------------------
# Edge cases found in review.
# ---------------------------------------------------------------------------------------


def test_weight_norm_keeps_zero_columns_finite(key):
    # identity on a non-square (i, 4h) kernel leaves zero columns: no NaN from 0 / 0.
    cell = LSTMCell(HIDDEN, weight_norm=True, kernel_init="identity")
    x = jnp.ones((BATCH, INPUT))
    carry = cell.initialize_carry(key, x.shape)
    variables = cell.init(key, carry, x)
    _, y = cell.apply(variables, carry, x)
    assert bool(jnp.all(jnp.isfinite(y)))


def test_none_initializers_mean_the_defaults(key):
    x = jnp.ones((BATCH, INPUT))
    explicit = LSTMCell(HIDDEN, kernel_init="glorot_uniform")
    implicit = LSTMCell(HIDDEN, kernel_init=None, recurrent_kernel_init=None, bias_init=None)
    carry = explicit.initialize_carry(key, x.shape)
    chex.assert_trees_all_equal(explicit.init(key, carry, x), implicit.init(key, carry, x))
    gru = GRUCell(HIDDEN, reset_after=True, recurrent_bias_init=None)
    assert gru.init(key, gru.initialize_carry(key, x.shape), x)["params"]["recurrent_bias"].shape


def test_carry_shape_is_checked_and_tuples_accepted(key):
    cell = LSTMCell(HIDDEN)
    x = jnp.ones((BATCH, INPUT))
    carry = cell.initialize_carry(key, x.shape)
    variables = cell.init(key, carry, x)
    with pytest.raises(ValueError, match="`carry` leaves of shape"):
        cell.apply(variables, LSTMState(carry.h[:1], carry.c[:1]), x)
    with pytest.raises(ValueError, match="`carry` leaves of shape"):
        cell.apply(variables, LSTMState(carry.h[:, :2], carry.c), x)
    chex.assert_trees_all_equal(
        cell.apply(variables, (carry.h, carry.c), x), cell.apply(variables, carry, x)
    )


def test_lstm_state_is_read_by_name_only():
    """``(c, h) = state`` would swap silently (Flax's order): it raises with the hint."""
    state = LSTMState(h=jnp.zeros(2), c=jnp.ones(2))
    with pytest.raises(TypeError, match=r"cannot be unpacked.*`state\.h` and `state\.c`"):
        _c, _h = state
    with pytest.raises(TypeError, match=r"cannot be indexed.*`state\.h`"):
        state[0]
    with pytest.raises(TypeError, match="no length"):
        len(state)
    np.testing.assert_array_equal(state.c, 1.0)
    # A pytree [h, c]: through jit, tree_map and replace.
    assert [float(leaf.sum()) for leaf in jax.tree_util.tree_leaves(state)] == [0.0, 2.0]
    doubled = jax.jit(lambda s: jax.tree_util.tree_map(lambda a: 2 * a + 1, s))(state)
    assert isinstance(doubled, LSTMState)
    np.testing.assert_array_equal(doubled.h, 1.0)
    np.testing.assert_array_equal(doubled.c, 3.0)
    np.testing.assert_array_equal(state.replace(h=jnp.full(2, 5.0)).h, 5.0)


def test_gru_default_is_pytorchs():
    """``GRUCell()`` is PyTorch's / Keras' / Flax's GRU (reset after the matmul)."""
    cell = GRUCell(HIDDEN)
    assert cell.reset_after is True
    x = jnp.ones((BATCH, INPUT))
    params = cell.init(jax.random.key(0), cell.initialize_carry(None, x.shape), x)["params"]
    assert params["recurrent_bias"].shape == (HIDDEN,)
