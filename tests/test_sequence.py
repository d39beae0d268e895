"""Tests of jaxrnn.sequence: the scan against a Python loop, lengths, reverse, stacks."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tolerance

import jaxrnn
import jaxrnn.testing as rnn_testing
from jaxrnn import initializers as init
from jaxrnn import models

B, T, F, H = 3, 6, 5, 4  # batch, time, input features, hidden
LENGTHS = np.array([6, 3, 0])
TOL = tolerance(jnp.float32)

CELLS = {
    "simple_tanh": lambda: jaxrnn.SimpleRNNCell(H),
    "irnn": lambda: jaxrnn.SimpleRNNCell(H, activation="relu", recurrent_kernel_init="identity"),
    "lstm": lambda: jaxrnn.LSTMCell(H),
    "lstm_weight_norm": lambda: jaxrnn.LSTMCell(H, weight_norm=True),  # fused, weight norm
    "lstm_ln_wn": lambda: jaxrnn.LSTMCell(H, layer_norm=True, weight_norm=True),
    "gru": lambda: jaxrnn.GRUCell(H),
    "gru_reset_before": lambda: jaxrnn.GRUCell(H, reset_after=False),
}


@pytest.fixture
def x():
    return jax.random.normal(jax.random.key(1), (B, T, F))


def _init(module, x, **kwargs):
    return module.init(jax.random.key(0), x, **kwargs)


def _loop(cell, cell_params, xs, carry=None):
    """Steps ``cell`` in a Python loop over ``xs (b, t, i)``: the reference for the scan."""
    if carry is None:
        carry = cell.initialize_carry(jax.random.key(0), xs[:, 0].shape)
    ys = []
    for t in range(xs.shape[1]):
        carry, y = cell.apply({"params": cell_params}, carry, xs[:, t])
        ys.append(y)
    return carry, jnp.stack(ys, axis=1)


def _assert_tree_close(a, b, tol=TOL):
    chex.assert_trees_all_close(a, b, **tol)


def _rows(tree, start, stop=None):
    """Batch rows ``start:stop`` (or the single row ``start``) of every leaf."""
    index = start if stop is None else slice(start, stop)
    return jax.tree_util.tree_map(lambda leaf: leaf[index], tree)


# ---------------------------------------------------------------------------------------
# The properties of jaxrnn.testing, for every cell and sequence layer of jaxrnn.sequence:
# scan equals loop (fused and unfused), padding invariance, reverse and bidirectional
# consistency, finite-difference gradients. (MinGRU, MinLSTM and LRU: their own files.)
# ---------------------------------------------------------------------------------------

LAYERS = {
    **{name: lambda make=make: jaxrnn.RNN(make()) for name, make in CELLS.items()},
    "rnn_reverse": lambda: jaxrnn.RNN(jaxrnn.GRUCell(H), reverse=True),
    "rnn_flax_cell": lambda: jaxrnn.RNN(nn.LSTMCell(H)),
    "bidirectional_concat": lambda: jaxrnn.Bidirectional(
        jaxrnn.RNN(jaxrnn.LSTMCell(H)), jaxrnn.RNN(jaxrnn.LSTMCell(H))
    ),
    "bidirectional_sum": lambda: jaxrnn.Bidirectional(
        jaxrnn.RNN(jaxrnn.GRUCell(H)), jaxrnn.RNN(jaxrnn.GRUCell(H)), merge="sum"
    ),
    "lstm_stack": lambda: jaxrnn.LSTM(H, num_layers=2, bidirectional=True),
    "gru_stack": lambda: jaxrnn.GRU(H, num_layers=2, bidirectional=True),
    "simple_stack": lambda: jaxrnn.SimpleRNN(H, num_layers=2, bidirectional=True),
    "model_encoder": lambda: models._Encoder(jaxrnn.GRUCell(H), num_layers=2),
}
STACKS = ("lstm_stack", "gru_stack", "simple_stack", "model_encoder")
REVERSIBLE = sorted(set(LAYERS) - set(STACKS))  # check_reverse_consistency refuses stacks


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_scan_equals_python_loop(name):
    report = rnn_testing.check_scan_equals_loop(LAYERS[name]())
    assert {"outputs", "final carry"} <= set(report)
    if name in CELLS:  # jaxrnn's cells also compare the fused loop with the step scan
        assert "fused=False" in report


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_padding_never_leaks(name):
    report = rnn_testing.check_padding_invariance(LAYERS[name](), seq_lengths=[5, 2, 0])
    assert report["zero outputs past length"] == 0.0 and report["gradient at padding"] == 0.0


@pytest.mark.parametrize("name", REVERSIBLE)
def test_reverse_and_bidirectional_consistency(name):
    rnn_testing.check_reverse_consistency(LAYERS[name](), seq_lengths=[5, 3, 0])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradients_float64(name):
    # Order 2 in both modes for the cells, where the math lives; order 1 for the layers
    # built from them (their cells are checked here at order 2).
    order = 2 if name in CELLS else 1
    report = rnn_testing.check_gradients(LAYERS[name](), order=order, seq_lengths=[4, 2])
    assert len(report) == 2 * order


@pytest.mark.parametrize("name", STACKS[:3])
def test_stack_carry_layout_is_pytorchs(x, name):
    layer = LAYERS[name]()
    variables = _init(layer, x)
    final, outputs = layer.apply(variables, x, seq_lengths=jnp.asarray(LENGTHS), return_carry=True)
    assert outputs.shape == (B, T, 2 * H)
    assert all(leaf.shape == (4, B, H) for leaf in jax.tree_util.tree_leaves(final))


def test_flax_cell_path_equals_flax_rnn(x):
    # A foreign cell goes through flax.linen.scan; same parameter layout as nn.RNN.
    ours = jaxrnn.RNN(nn.LSTMCell(H), return_carry=True)
    theirs = nn.RNN(nn.LSTMCell(H), return_carry=True)
    variables = _init(theirs, x)
    _assert_tree_close(ours.apply(variables, x), theirs.apply(variables, x))
    lengths = jnp.asarray(LENGTHS)
    carry, ys = ours.apply(variables, x, seq_lengths=lengths)
    ref_carry, _ = theirs.apply(variables, x, seq_lengths=lengths)
    # Flax leaves the carry of an empty sequence undefined (it picks the last step);
    # ours is the initial carry. Compare the non-empty ones.
    _assert_tree_close(_rows(carry, 0, 2), _rows(ref_carry, 0, 2))
    chex.assert_trees_all_equal(
        _rows(carry, 2), _rows(ours.cell.initialize_carry(jax.random.key(0), (1, F)), 0)
    )
    np.testing.assert_array_equal(ys[2], 0.0)


def test_time_major_and_unroll(x):
    layer = jaxrnn.RNN(jaxrnn.LSTMCell(H))
    variables = _init(layer, x)
    batch_major = layer.apply(variables, x)
    time_major = jaxrnn.RNN(jaxrnn.LSTMCell(H), time_major=True).apply(
        variables, jnp.swapaxes(x, 0, 1)
    )
    _assert_tree_close(jnp.swapaxes(time_major, 0, 1), batch_major)
    unrolled = jaxrnn.RNN(jaxrnn.LSTMCell(H), unroll=4).apply(variables, x)
    _assert_tree_close(unrolled, batch_major)


class TestJit(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_no_jit(self):
        x = jax.random.normal(jax.random.key(1), (B, T, F))
        layer = jaxrnn.LSTM(H, num_layers=2, bidirectional=True)
        variables = _init(layer, x)
        lengths = jnp.asarray(LENGTHS)
        apply = self.variant(lambda v, x, n: layer.apply(v, x, seq_lengths=n))
        reference = jax.jit(lambda v, x, n: layer.apply(v, x, seq_lengths=n))(variables, x, lengths)
        _assert_tree_close(apply(variables, x, lengths), reference)


# ---------------------------------------------------------------------------------------
# Initial state: given, learned.
# ---------------------------------------------------------------------------------------


def test_initial_carry(x):
    layer = jaxrnn.RNN(jaxrnn.LSTMCell(H), return_carry=True)
    variables = _init(layer, x)
    k1, k2 = jax.random.split(jax.random.key(3))
    start = jaxrnn.LSTMState(jax.random.normal(k1, (B, H)), jax.random.normal(k2, (B, H)))
    carry, ys = layer.apply(variables, x, initial_carry=start)
    ref_carry, ref_ys = _loop(jaxrnn.LSTMCell(H), variables["params"]["cell"], x, start)
    _assert_tree_close((carry, ys), (ref_carry, ref_ys))
    # A stack takes PyTorch-shaped (layers * directions, b, h) initial states.
    stack = jaxrnn.LSTM(H, num_layers=1)
    stack_vars = {"params": {"layer0": variables["params"]}}
    final, outputs = stack.apply(
        stack_vars,
        x,
        initial_carry=jax.tree_util.tree_map(lambda s: s[None], start),
        return_carry=True,
    )
    _assert_tree_close(outputs, ys)
    _assert_tree_close(final, jax.tree_util.tree_map(lambda s: s[None], carry))
    # A plain (h, c) tuple, as PyTorch users pass it, is accepted too.
    as_tuple = stack.apply(
        stack_vars, x, initial_carry=(start.h[None], start.c[None]), return_carry=True
    )
    _assert_tree_close(as_tuple, (final, outputs))
    _assert_tree_close(layer.apply(variables, x, initial_carry=(start.h, start.c)), (carry, ys))


def test_learned_initial_carry(x):
    layer = jaxrnn.RNN(jaxrnn.GRUCell(H), learned_initial_carry=True)
    variables = _init(layer, x)
    learned = variables["params"]["initial_carry"]
    np.testing.assert_array_equal(learned["h"], np.zeros(H))
    plain = jaxrnn.RNN(jaxrnn.GRUCell(H))
    _assert_tree_close(
        layer.apply(variables, x), plain.apply({"params": {"cell": variables["params"]["cell"]}}, x)
    )
    h0 = jnp.linspace(-1.0, 1.0, H)
    params = {**variables["params"], "initial_carry": {"h": h0}}
    _, ref_ys = _loop(jaxrnn.GRUCell(H), params["cell"], x, jnp.broadcast_to(h0, (B, H)))
    _assert_tree_close(layer.apply({"params": params}, x), ref_ys)
    grads = jax.grad(lambda p: jnp.sum(layer.apply({"params": p}, x) ** 2))(params)
    assert float(jnp.abs(grads["initial_carry"]["h"]).sum()) > 0
    lstm = jaxrnn.RNN(jaxrnn.LSTMCell(H), learned_initial_carry=True)
    assert set(_init(lstm, x)["params"]["initial_carry"]) == {"h", "c"}


# ---------------------------------------------------------------------------------------
# Dropout.
# ---------------------------------------------------------------------------------------


def test_dropout_off_when_deterministic_and_rate_zero_is_no_op(x):
    plain = jaxrnn.LSTM(H, num_layers=2)
    noisy = jaxrnn.LSTM(H, num_layers=2, dropout=0.5, recurrent_dropout=0.5)
    variables = _init(plain, x)
    reference = plain.apply(variables, x)
    _assert_tree_close(noisy.apply(variables, x, deterministic=True), reference)
    rngs = {"dropout": jax.random.key(5)}
    _assert_tree_close(plain.apply(variables, x, deterministic=False, rngs=rngs), reference)
    dropped = noisy.apply(variables, x, deterministic=False, rngs=rngs)
    assert not np.allclose(dropped[0], reference[0])


def test_recurrent_dropout_mask_is_the_same_at_every_step():
    # Identity cell: h_t = x_t + m * h_{t-1}, with x_0 = 1 and x_t = 0 afterwards, so
    # h_t = m^t elementwise iff the mask m is the same at every step.
    hidden, rate, steps = 64, 0.5, 5
    cell = jaxrnn.SimpleRNNCell(hidden, activation="identity", kernel_init="identity",
                                recurrent_kernel_init="identity")  # fmt: skip
    layer = jaxrnn.RNN(cell, recurrent_dropout=rate)
    x = jnp.zeros((2, steps, hidden)).at[:, 0].set(1.0)
    variables = _init(layer, x)
    ys = layer.apply(variables, x, deterministic=False, rngs={"dropout": jax.random.key(7)})
    mask = ys[:, 1]  # m * h_0 = m
    assert set(np.unique(np.asarray(mask)).tolist()) == {0.0, 1.0 / (1.0 - rate)}
    for t in range(1, steps):
        np.testing.assert_allclose(ys[:, t], mask**t, rtol=1e-6)
    assert not np.array_equal(mask[0], mask[1])  # one mask per sequence


# ---------------------------------------------------------------------------------------
# Bad input: clear errors at trace time.
# ---------------------------------------------------------------------------------------


def _bad_inputs():
    x = jnp.ones((B, T, F))
    rnn = jaxrnn.RNN(jaxrnn.LSTMCell(H))
    variables = rnn.init(jax.random.key(0), x)
    stack = jaxrnn.LSTM(H)
    stack_vars = stack.init(jax.random.key(0), x)
    zero = jnp.zeros((B, H))
    return [
        (lambda: rnn.apply(variables, x[0]), ValueError, "rank 3"),
        (lambda: rnn.apply(variables, jnp.ones((B, T, F + 2))), ValueError, "input feature"),
        (lambda: rnn.apply(variables, x, jnp.ones(B)), TypeError, "integer `seq_lengths`"),
        (lambda: rnn.apply(variables, x, jnp.array([1, 2, 9])), ValueError, r"in \[0, 6\]"),
        (lambda: rnn.apply(variables, x, jnp.array([1, -1, 2])), ValueError, r"in \[0, 6\]"),
        (lambda: rnn.apply(variables, x, jnp.array([1, 2])), ValueError, r"shape \(3,\)"),
        (lambda: rnn.apply(variables, x, initial_carry=zero), ValueError, "`initial_carry`"),
        (
            lambda: rnn.apply(variables, x, initial_carry=jaxrnn.LSTMState(zero[:1], zero)),
            ValueError,
            "`initial_carry` leaves of shape",
        ),
        (
            lambda: stack.apply(stack_vars, x, initial_carry=jaxrnn.LSTMState(zero, zero)),
            ValueError,
            "layers \\* directions",
        ),
        (lambda: jaxrnn.LSTM(H, num_layers=0).init(jax.random.key(0), x), ValueError,
         "`num_layers` >= 1"),
        (lambda: jaxrnn.LSTM(H, dropout=1.5).init(jax.random.key(0), x), ValueError,
         "`dropout` in"),
        (lambda: jaxrnn.RNN(nn.GRUCell(H), recurrent_dropout=0.2).init(jax.random.key(0), x),
         ValueError, "needs a jaxrnn cell"),
        (
            lambda: jaxrnn.Bidirectional(
                jaxrnn.RNN(jaxrnn.GRUCell(H)), jaxrnn.RNN(jaxrnn.GRUCell(H)), merge="avg"
            ).init(jax.random.key(0), x),
            ValueError,
            "`merge`",
        ),
        (lambda: jaxrnn.LSTMCell(0).init(jax.random.key(0), zero, x[:, 0]), ValueError,
         "`hidden_size`"),
        (lambda: rnn.apply(variables, x[0]), ValueError,
         r"got shape \(6, 5\); for one unbatched \(t, i\) sequence add the batch axis: x\[None\]"),
        (lambda: jaxrnn.RNN(jaxrnn.GRUCell(H), time_major=True).init(jax.random.key(0), x[0]),
         ValueError, r"add the batch axis: x\[:, None\]"),
        # PyTorch's lstm(x, (h0, c0)): the state lands in seq_lengths; the error names the
        # layer and the keyword the state goes in.
        (lambda: stack.apply(stack_vars, x, (zero[None], zero[None])), TypeError,
         r"^LSTM: expected integer `seq_lengths` of shape \(3,\), got a tuple of arrays; "
         r"the initial state is the keyword argument `initial_carry=`"),
        (lambda: stack.apply(stack_vars, x, zero[None]), TypeError,
         r"^LSTM: expected integer `seq_lengths`, got dtype float32; the initial state is "
         r"the keyword argument `initial_carry=`"),
        (lambda: rnn.apply(variables, x, jaxrnn.LSTMState(zero, zero)), TypeError,
         r"^RNN: .* got LSTMState; the initial state is the keyword argument "
         r"`initial_carry=`"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(19))
def test_bad_input(index):
    make, error, match = _bad_inputs()[index]
    with pytest.raises(error, match=match):
        make()


def test_lengths_are_checked_under_jit_only_for_shape_and_dtype(x):
    layer = jaxrnn.RNN(jaxrnn.GRUCell(H))
    variables = _init(layer, x)
    with pytest.raises(TypeError, match="integer `seq_lengths`"):
        jax.jit(lambda n: layer.apply(variables, x, n))(jnp.ones(B))
    ys = jax.jit(lambda n: layer.apply(variables, x, n))(jnp.asarray(LENGTHS))
    assert ys.shape == (B, T, H)


@pytest.mark.parametrize(
    "make",
    [
        lambda: jaxrnn.RNN(jaxrnn.GRUCell(H), reverse=True, return_carry=True),
        lambda: jaxrnn.RNN(jaxrnn.LSTMCell(H), time_major=True, return_carry=True),
        lambda: jaxrnn.LSTM(H, num_layers=2, bidirectional=True),
        lambda: jaxrnn.MinGRU(H, return_carry=True),
        lambda: jaxrnn.LRU(H, return_carry=True),
    ],
)
def test_out_of_range_lengths_under_jit_give_nan_rows(x, make):
    # Traced lengths cannot raise: the rows of a length outside [0, T] become NaN (outputs
    # and final carry); the other rows are what eager gives, read past no padding.
    layer = make()
    xs = jnp.swapaxes(x, 0, 1) if getattr(layer, "time_major", False) else x
    variables = _init(layer, xs)
    got = jax.jit(lambda n: layer.apply(variables, xs, n))(jnp.array([T + 3, 2, -1]))
    want = layer.apply(variables, xs, jnp.array([T, 2, 0]))
    for got_leaf, want_leaf in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        axis = got_leaf.shape.index(B)  # no other axis of these shapes has B = 3 entries
        rows = np.moveaxis(np.asarray(got_leaf), axis, 0)
        ref = np.moveaxis(np.asarray(want_leaf), axis, 0)
        assert np.isnan(rows[0]).all() and np.isnan(rows[2]).all()
        np.testing.assert_allclose(rows[1], ref[1], **TOL)


def test_initializers_by_name_reach_the_cells(x):
    layer = jaxrnn.LSTM(H, recurrent_kernel_init=("per_gate", {"init": ("identity", {}),
                        "num_gates": 4}), bias_init=init.chrono(t_max=20))  # fmt: skip
    params = _init(layer, x)["params"]["layer0"]["cell"]
    np.testing.assert_array_equal(params["recurrent_kernel"], np.tile(np.eye(H), (1, 4)))
    b_i, b_f, _, _ = np.split(np.asarray(params["bias"]), 4)
    np.testing.assert_array_equal(b_i, -b_f)


# ---------------------------------------------------------------------------------------
# One protocol for every sequence layer.
# ---------------------------------------------------------------------------------------


def _protocol_layers():
    """Every public sequence layer: (layer, has dropout, runs forward only)."""
    gru = jaxrnn.GRUCell(H)
    return {
        "rnn": (jaxrnn.RNN(jaxrnn.LSTMCell(H), recurrent_dropout=0.3), True, True),
        "rnn_flax_cell": (jaxrnn.RNN(nn.LSTMCell(H)), False, True),
        "bidirectional": (jaxrnn.Bidirectional(jaxrnn.RNN(gru), jaxrnn.RNN(gru)), False, False),
        "lstm": (jaxrnn.LSTM(H, num_layers=2, dropout=0.5), True, True),
        "gru_bidirectional": (jaxrnn.GRU(H, num_layers=2, bidirectional=True), False, False),
        "simple_rnn": (jaxrnn.SimpleRNN(H, recurrent_dropout=0.3), True, True),
        "min_gru": (jaxrnn.MinGRU(H), False, True),
        "min_lstm": (jaxrnn.MinLSTM(H, mode="sequential"), False, True),
        "lru": (jaxrnn.LRU(state_size=H), False, True),
        "model_encoder": (models._Encoder(jaxrnn.GRUCell(H), num_layers=2), False, True),
    }


@pytest.mark.parametrize("name", sorted(_protocol_layers()))
def test_every_sequence_layer_follows_one_protocol(x, name):
    """``layer(x, seq_lengths, *, initial_carry, return_carry, deterministic)``."""
    layer, has_dropout, forward = _protocol_layers()[name]
    variables = _init(layer, x)
    lengths = jnp.asarray(LENGTHS)
    # outputs only; (carry, outputs) with return_carry.
    outputs = layer.apply(variables, x, lengths)
    carry, same = layer.apply(variables, x, lengths, return_carry=True)
    _assert_tree_close(same, outputs)
    assert outputs.shape[:2] == (B, T)
    np.testing.assert_array_equal(outputs[2], 0.0)  # length 0: zero outputs
    # initial_carry: the returned carry goes back in; zeros are the default start.
    zeros = jax.tree_util.tree_map(jnp.zeros_like, carry)
    _assert_tree_close(layer.apply(variables, x, lengths, initial_carry=zeros), outputs)
    if forward:  # a run split in two, the carry handed over, is the whole run
        first, head = layer.apply(variables, x[:, :2], return_carry=True)
        tail = layer.apply(variables, x[:, 2:], initial_carry=first)
        _assert_tree_close(jnp.concatenate([head, tail], axis=1), layer.apply(variables, x))
    # deterministic is keyword-only, and False (with the dropout rng) drops where it can.
    rngs = {"dropout": jax.random.key(5)}
    noisy = layer.apply(variables, x, lengths, deterministic=False, rngs=rngs)
    assert noisy.shape == outputs.shape
    assert bool(jnp.all(jnp.isfinite(noisy)))
    assert (not np.allclose(noisy, outputs)) == has_dropout
    _assert_tree_close(layer.apply(variables, x, lengths, deterministic=True), outputs)
    with pytest.raises(TypeError):
        layer.apply(variables, x, lengths, zeros)  # the carry is keyword-only


def test_bidirectional_rejects_mixed_layouts_and_unequal_sums():
    x = jnp.zeros((2, 5, 3))
    mixed = jaxrnn.Bidirectional(
        jaxrnn.RNN(jaxrnn.GRUCell(4), time_major=True), jaxrnn.RNN(jaxrnn.GRUCell(4))
    )
    with pytest.raises(ValueError, match="time_major=True and time_major=False"):
        mixed.init(jax.random.key(0), x)
    unequal = jaxrnn.Bidirectional(
        jaxrnn.RNN(jaxrnn.GRUCell(4)), jaxrnn.RNN(jaxrnn.GRUCell(6)), merge="sum"
    )
    with pytest.raises(ValueError, match=r"merge='sum' .* got 4 \(forward\) and 6"):
        unequal.init(jax.random.key(0), x)


@pytest.mark.parametrize("field", ["dtype", "param_dtype"])
def test_layers_reject_non_floating_dtypes(field):
    for layer in (jaxrnn.LSTM(4, **{field: jnp.int8}), jaxrnn.GRU(4, **{field: "int32"})):
        with pytest.raises(TypeError, match=f"floating `{field}`"):
            layer.init(jax.random.key(0), jnp.zeros((2, 5, 3)))
