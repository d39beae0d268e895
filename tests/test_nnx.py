"""Tests of jaxrnn.nnx: the flax.nnx modules against their linen twins.

Covered: every NNX cell's step and ``RNN`` (lengths, reverse, time-major) against the
linen cell and ``jaxrnn.RNN`` after ``load_linen_params``; the stacks' and the
classifier's parameter trees, outputs, carries and ``initial_carry`` round trip against
linen; ``nnx.jit``, a training loop with ``nnx.Optimizer`` and gradients against linen;
an ``nnx.vmap`` ensemble; dropout and ``train()`` / ``eval()``; argument errors; the
whole-sequence layers (MinGRU, MinLSTM, LRU), their steps and cells against linen.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import tolerance
from flax import nnx

import jaxrnn
from jaxrnn import models
from jaxrnn import nnx as rnnx

B, T, F, H, C = 4, 7, 3, 5, 2  # batch, time, input features, hidden, classes
LENGTHS = jnp.array([T, 5, 1, 0])
TOL = tolerance(jnp.float32)

# name: (linen cell class, NNX cell class, cell kwargs)
CELLS = {
    "simple_tanh": (jaxrnn.SimpleRNNCell, rnnx.SimpleRNNCell, {}),
    "simple_relu": (jaxrnn.SimpleRNNCell, rnnx.SimpleRNNCell, {"activation": "relu"}),
    "lstm": (jaxrnn.LSTMCell, rnnx.LSTMCell, {}),
    "gru_reset_after": (jaxrnn.GRUCell, rnnx.GRUCell, {"reset_after": True}),
    "gru_reset_before": (jaxrnn.GRUCell, rnnx.GRUCell, {"reset_after": False}),
    "lstm_weight_norm": (jaxrnn.LSTMCell, rnnx.LSTMCell, {"weight_norm": True}),
    "gru_layer_norm": (jaxrnn.GRUCell, rnnx.GRUCell, {"layer_norm": True}),
}
STACKS = {
    "lstm": (jaxrnn.LSTM, rnnx.LSTM),
    "gru": (jaxrnn.GRU, rnnx.GRU),
    "simple": (jaxrnn.SimpleRNN, rnnx.SimpleRNN),
}
LINEN_CELLS = {"lstm": jaxrnn.LSTMCell, "gru": jaxrnn.GRUCell}


@pytest.fixture
def x():
    return jax.random.normal(jax.random.key(1), (B, T, F))


def _params(module):
    return nnx.to_pure_dict(nnx.state(module, nnx.Param))


def _shapes(tree):
    return jax.tree_util.tree_map(jnp.shape, tree)


def _random_like(tree, seed):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return treedef.unflatten(
        [jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    )


def _load(module, params):
    """``load_linen_params`` after checking that the trees match and the values differ."""
    assert _shapes(_params(module)) == _shapes(params)
    before = jax.tree_util.tree_leaves(_params(module))
    assert any(
        not jnp.array_equal(a, b) for a, b in zip(before, jax.tree.leaves(params), strict=True)
    )
    rnnx.load_linen_params(module, params)
    chex.assert_trees_all_equal(_params(module), params)
    return module


def _cell_pair(name, key):
    linen_type, nnx_type, kwargs = CELLS[name]
    cell = linen_type(H, **kwargs)
    zeros = cell.initialize_carry(None, (B, F))
    params = cell.init(key, zeros, jnp.ones((B, F)))["params"]
    return cell, _load(nnx_type(F, H, rngs=nnx.Rngs(7), **kwargs), params), params


# name: (linen layer, NNX layer, kwargs); the cells are the layers' make_cell()
LAYERS = {
    "min_gru": (jaxrnn.MinGRU, rnnx.MinGRU, {}),
    "min_lstm_sequential": (jaxrnn.MinLSTM, rnnx.MinLSTM, {"mode": "sequential"}),
    "lru": (jaxrnn.LRU, rnnx.LRU, {"r_min": 0.5}),
}
LAYER_CELLS = {"min_gru": rnnx.MinGRUCell, "min_lstm_sequential": rnnx.MinLSTMCell,
               "lru": rnnx.LRUCell}  # fmt: skip


# ---------------------------------------------------------------------------------------
# Cells and RNN against linen.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_step_equals_linen(key, x, name):
    cell, ncell, params = _cell_pair(name, key)
    assert ncell.in_features == F and ncell.hidden_size == H
    carry = _random_like(cell.initialize_carry(None, (B, F)), 2)
    chex.assert_trees_all_equal(
        ncell(carry, x[:, 0]), cell.apply({"params": params}, carry, x[:, 0])
    )
    chex.assert_trees_all_equal(ncell.initialize_carry((B, F)), cell.initialize_carry(None, (B, F)))


@pytest.mark.parametrize("reverse, time_major", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_rnn_equals_linen(key, x, name, reverse, time_major):
    cell, ncell, params = _cell_pair(name, key)
    xs = jnp.swapaxes(x, 0, 1) if time_major else x
    layer = jaxrnn.RNN(cell, reverse=reverse, time_major=time_major)
    nlayer = rnnx.RNN(ncell, reverse=reverse, time_major=time_major)
    assert _shapes(_params(nlayer)) == _shapes({"cell": params})
    ref = layer.apply({"params": {"cell": params}}, xs, LENGTHS, return_carry=True)
    got = nlayer(xs, LENGTHS, return_carry=True)
    chex.assert_trees_all_equal(got, ref)
    outputs = jnp.swapaxes(got[1], 0, 1) if time_major else got[1]  # (b, t, h)
    np.testing.assert_array_equal(outputs[2, 1:], 0.0)  # padding past each length
    np.testing.assert_array_equal(outputs[3], 0.0)
    assert not jnp.allclose(outputs[2, 0], 0.0)
    chex.assert_trees_all_equal(nlayer(xs, LENGTHS), ref[1])


# ---------------------------------------------------------------------------------------
# Stacks and the classifier against linen.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(STACKS))
def test_stack_equals_linen(key, x, kind):
    linen_type, nnx_type = STACKS[kind]
    stack = linen_type(hidden_size=H, num_layers=2, bidirectional=True)
    params = stack.init(key, x)["params"]
    nstack = _load(nnx_type(F, H, 2, bidirectional=True, rngs=nnx.Rngs(3)), params)
    apply = lambda x, **kw: stack.apply({"params": params}, x, LENGTHS, **kw)  # noqa: E731
    chex.assert_trees_all_equal(nstack(x, LENGTHS), apply(x))
    carry, outputs = nstack(x, LENGTHS, return_carry=True)
    chex.assert_trees_all_equal((carry, outputs), apply(x, return_carry=True))
    assert outputs.shape == (B, T, 2 * H)
    for leaf in jax.tree_util.tree_leaves(carry):
        assert leaf.shape == (4, B, H)  # (layers * directions, b, h)
    if kind == "lstm":
        assert isinstance(carry, jaxrnn.LSTMState)
    # Feeding the carry back in: same as linen, and not the zero-start result.
    again = nstack(x, LENGTHS, initial_carry=carry, return_carry=True)
    chex.assert_trees_all_equal(again, apply(x, initial_carry=carry, return_carry=True))
    assert not jnp.allclose(again[1][:, :5], outputs[:, :5])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_classifier_equals_linen(key, x, cell):
    model = models.SequenceClassifier(LINEN_CELLS[cell](H), num_classes=C, num_layers=2)
    params = model.init(key, x, LENGTHS)["params"]
    nmodel = rnnx.SequenceClassifier(F, H, C, cell=cell, num_layers=2, rngs=nnx.Rngs(3))
    _load(nmodel, params)
    logits = nmodel(x, LENGTHS)
    assert logits.shape == (B, C)
    chex.assert_trees_all_equal(logits, model.apply({"params": params}, x, LENGTHS))


# ---------------------------------------------------------------------------------------
# Transforms and training.
# ---------------------------------------------------------------------------------------


def _xent(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def _task():
    """Is the mean of feature 0 over the valid steps positive? (lengths 3..7)."""
    k1, k2 = jax.random.split(jax.random.key(11))
    xs = jax.random.normal(k1, (32, T, F))
    lengths = jax.random.randint(k2, (32,), 3, T + 1)
    valid = jnp.arange(T)[None, :] < lengths[:, None]
    labels = (jnp.where(valid, xs[..., 0], 0.0).sum(1) > 0).astype(jnp.int32)
    return xs, lengths, labels


def test_jit_equals_eager(x):
    nstack = rnnx.LSTM(F, H, 2, bidirectional=True, rngs=nnx.Rngs(0))
    carry, ys = nstack(x, LENGTHS, return_carry=True)
    jit_carry, jit_ys = nnx.jit(lambda m, x, n: m(x, n, return_carry=True))(nstack, x, LENGTHS)
    chex.assert_trees_all_close((jit_carry, jit_ys), (carry, ys), **TOL)


def test_gradients_equal_linen(key):
    xs, lengths, labels = _task()
    model = models.SequenceClassifier(jaxrnn.LSTMCell(H), num_classes=C, num_layers=2)
    params = model.init(key, xs, lengths)["params"]
    nmodel = _load(rnnx.SequenceClassifier(F, H, C, num_layers=2, rngs=nnx.Rngs(3)), params)
    ref_loss, ref = jax.value_and_grad(
        lambda p: _xent(model.apply({"params": p}, xs, lengths), labels)
    )(params)
    loss, grads = nnx.value_and_grad(lambda m: _xent(m(xs, lengths), labels))(nmodel)
    np.testing.assert_allclose(loss, ref_loss, **TOL)
    assert _shapes(nnx.to_pure_dict(grads)) == _shapes(ref)
    chex.assert_trees_all_close(nnx.to_pure_dict(grads), ref, **TOL)
    assert all(float(jnp.abs(g).max()) > 0 for g in jax.tree_util.tree_leaves(ref))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_training_loop_decreases_loss(cell):
    xs, lengths, labels = _task()
    model = rnnx.SequenceClassifier(
        F, H, C, cell=cell, pooling="last", dropout=0.1, rngs=nnx.Rngs(0, dropout=1)
    )
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xs, lengths, labels):
        loss, grads = nnx.value_and_grad(lambda m: _xent(m(xs, lengths), labels))(model)
        optimizer.update(model, grads)
        return loss

    model.train()
    losses = [float(step(model, optimizer, xs, lengths, labels)) for _ in range(30)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses
    model.eval()
    accuracy = jnp.mean(jnp.argmax(model(xs, lengths), -1) == labels)
    assert accuracy > 0.8


def test_vmap_ensemble(x):
    @nnx.split_rngs(splits=3)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def make(rngs):
        return rnnx.LSTM(F, H, 2, rngs=rngs)

    ensemble = make(nnx.Rngs(0))
    ys = nnx.vmap(lambda m, x, n: m(x, n), in_axes=(0, None, None))(ensemble, x, LENGTHS)
    assert ys.shape == (3, B, T, H)
    stacked = _params(ensemble)
    linen = jaxrnn.LSTM(hidden_size=H, num_layers=2)
    graphdef, state = nnx.split(ensemble)
    for k in range(3):
        member = jax.tree_util.tree_map(lambda a, k=k: a[k], stacked)
        ref = linen.apply({"params": member}, x, LENGTHS)
        chex.assert_trees_all_close(ys[k], ref, **TOL)
        alone = nnx.merge(graphdef, jax.tree_util.tree_map(lambda a, k=k: a[k], state))
        chex.assert_trees_all_close(alone(x, LENGTHS), ref, **TOL)
    assert not jnp.allclose(ys[0], ys[1]) and not jnp.allclose(ys[1], ys[2])


# ---------------------------------------------------------------------------------------
# Dropout.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_layers, dropout", [(2, 0.5), (1, 0.0)])
def test_dropout_train_and_eval(x, num_layers, dropout):
    model = rnnx.LSTM(
        F, H, num_layers, dropout=dropout, recurrent_dropout=0.3, rngs=nnx.Rngs(0, dropout=1)
    )
    model.eval()
    first = model(x, LENGTHS)
    chex.assert_trees_all_equal(model(x, LENGTHS), first)
    chex.assert_trees_all_equal(model(x, LENGTHS, deterministic=True), first)
    model.train()
    noisy = model(x, LENGTHS)
    assert not jnp.allclose(noisy, first)
    assert not jnp.allclose(model(x, LENGTHS), noisy)  # fresh masks every call
    chex.assert_trees_all_equal(model(x, LENGTHS, deterministic=True), first)
    model.eval()
    assert not jnp.allclose(model(x, LENGTHS, deterministic=False), first)


def test_recurrent_dropout_without_rngs_raises(x):
    layer = rnnx.RNN(rnnx.LSTMCell(F, H, rngs=nnx.Rngs(0)), recurrent_dropout=0.3)
    with pytest.raises(ValueError, match="rngs"):
        layer(x)
    layer.eval()
    assert layer(x).shape == (B, T, H)


# ---------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------


def test_rnn_rejects_other_cells():
    with pytest.raises(TypeError, match=r"jaxrnn\.nnx SimpleRNNCell, LSTMCell or GRUCell"):
        rnnx.RNN(jaxrnn.LSTMCell(H))
    with pytest.raises(TypeError, match=r"jaxrnn\.nnx SimpleRNNCell, LSTMCell or GRUCell"):
        rnnx.RNN(nnx.LSTMCell(F, H, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match="whole-sequence layers"):
        rnnx.RNN(rnnx.MinGRUCell(F, H, rngs=nnx.Rngs(0)))


def test_wrong_in_features_raises(x):
    wide = jnp.ones((B, T, F + 1))
    cell = rnnx.GRUCell(F, H, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="feature"):
        cell(cell.initialize_carry((B, F + 1)), wide[:, 0])
    with pytest.raises(ValueError, match="feature"):
        rnnx.RNN(cell)(wide)
    with pytest.raises(ValueError, match="feature"):
        rnnx.LSTM(F, H, 2, rngs=nnx.Rngs(0))(wide)
    with pytest.raises(ValueError, match="feature"):
        rnnx.SequenceClassifier(F, H, C, rngs=nnx.Rngs(0))(wide)


def test_carry_passed_as_seq_lengths_raises(x):
    stack = rnnx.LSTM(F, H, 2, rngs=nnx.Rngs(0))
    h0 = jnp.zeros((2, B, H))
    with pytest.raises(TypeError, match="initial_carry="):
        stack(x, h0)
    with pytest.raises(TypeError, match="initial_carry="):
        stack(x, (h0, h0))
    layer = rnnx.RNN(rnnx.SimpleRNNCell(F, H, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match="initial_carry="):
        layer(x, jnp.zeros((B, H)))
    # The keyword works, for the tuple PyTorch habit too.
    chex.assert_trees_all_equal(stack(x, initial_carry=(h0, h0)), stack(x))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_whole_sequence_layers_and_their_cells_equal_linen(key, x, name):
    """MinGRU, MinLSTM and LRU: the layer, its step and its NNX cell, against linen."""
    linen_type, nnx_type, kwargs = LAYERS[name]
    layer = linen_type(H, **kwargs)
    params = layer.init(key, x)["params"]
    nlayer = _load(nnx_type(F, H, rngs=nnx.Rngs(3), **kwargs), params)
    want = layer.apply({"params": params}, x, LENGTHS, return_carry=True)
    chex.assert_trees_all_equal(nlayer(x, LENGTHS, return_carry=True), want)
    carry, _ = want
    chex.assert_trees_all_equal(
        nlayer(x, initial_carry=carry), layer.apply({"params": params}, x, initial_carry=carry)
    )
    # One step with the same parameters, as the layer's linen make_cell() takes them.
    cell = layer.make_cell()
    start = _random_like(cell.initialize_carry(None, (B, F)), 4).astype(carry.dtype)
    expected = cell.apply({"params": params}, start, x[:, 0])
    chex.assert_trees_all_equal(nlayer.step(start, x[:, 0]), expected)
    cell_kwargs = {k: v for k, v in kwargs.items() if k != "mode"}  # the cells have no mode
    ncell = _load(LAYER_CELLS[name](F, H, rngs=nnx.Rngs(5), **cell_kwargs), params)
    chex.assert_trees_all_equal(ncell(start, x[:, 0]), expected)
