"""Tests of jaxrnn.models: heads read the right steps, padding never leaks, decoding agrees."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tolerance

import jaxrnn
from jaxrnn import models

TOL = tolerance(jnp.float32)
B, T, F, H, V = 3, 7, 2, 8, 11
LENGTHS = jnp.array([7, 4, 1])


@pytest.fixture
def x():
    return jax.random.normal(jax.random.key(1), (B, T, F))


@pytest.mark.parametrize("cell", [jaxrnn.LSTMCell(H), jaxrnn.GRUCell(H)])
def test_regressor_reads_the_last_valid_step(x, cell):
    model = models.SequenceRegressor(cell, num_layers=2, output_size=3)
    variables = model.init(jax.random.key(0), x)
    padded = model.apply(variables, x, seq_lengths=LENGTHS)
    assert padded.shape == (B, 3)
    for b, n in enumerate(LENGTHS.tolist()):
        alone = model.apply(variables, x[b : b + 1, :n])
        chex.assert_trees_all_close(padded[b], alone[0], **TOL)
    # The tutorial LSTMModel: the head on outputs[:, -1] of the last layer.
    params = variables["params"]
    h = x
    for k in range(2):
        rnn = jaxrnn.RNN(cell)
        h = rnn.apply({"params": params["rnn"][f"rnn{k}"]}, h)
    expected = nn.Dense(3).apply({"params": params["Dense_0"]}, h[:, -1])
    chex.assert_trees_all_close(model.apply(variables, x), expected, **TOL)


def test_classifier_mean_pooling(x):
    model = models.SequenceClassifier(jaxrnn.GRUCell(H), num_classes=4, pooling="mean")
    variables = model.init(jax.random.key(0), x)
    logits = model.apply(variables, x, seq_lengths=LENGTHS)
    outputs = jaxrnn.RNN(jaxrnn.GRUCell(H)).apply(
        {"params": variables["params"]["rnn"]["rnn0"]}, x, LENGTHS
    )
    pooled = outputs.sum(1) / LENGTHS[:, None]
    expected = nn.Dense(4).apply({"params": variables["params"]["classifier"]}, pooled)
    chex.assert_trees_all_close(logits, expected, **TOL)
    with pytest.raises(ValueError, match="`pooling`"):
        models.SequenceClassifier(jaxrnn.GRUCell(H), 4, pooling="max").init(jax.random.key(0), x)
    with pytest.raises(TypeError, match="jaxrnn cell"):
        models.SequenceClassifier(nn.GRUCell(H), 4).init(jax.random.key(0), x)


def test_char_language_model_state_and_sampling():
    model = models.CharLanguageModel(V, jaxrnn.LSTMCell(H), embed_size=5, num_layers=2)
    tokens = jax.random.randint(jax.random.key(2), (B, T), 0, V)
    variables = model.init(jax.random.key(0), tokens)
    log_probs = model.apply(variables, tokens)
    chex.assert_trees_all_close(jax.nn.logsumexp(log_probs, -1), jnp.zeros((B, T)), atol=1e-5)
    # Two halves with the state carried over equal one pass.
    state, first = model.apply(variables, tokens[:, :3], return_carry=True)
    assert state.h.shape == state.c.shape == (2, B, H)  # (layers, b, h), as a stack's
    second = model.apply(variables, tokens[:, 3:], initial_carry=state)
    chex.assert_trees_all_close(jnp.concatenate([first, second], 1), log_probs, **TOL)
    sample = model.sample(variables, jax.random.key(3), tokens[:, :2], 6)
    assert sample.shape == (B, 6) and int(sample.min()) >= 0 and int(sample.max()) < V
    np.testing.assert_array_equal(sample, model.sample(variables, jax.random.key(3),
                                                       tokens[:, :2], 6))  # fmt: skip
    with pytest.raises(TypeError, match="integer `tokens`"):
        model.apply(variables, tokens.astype(jnp.float32))


@pytest.mark.parametrize("attention", ["bahdanau", "luong", None])
def test_seq2seq(attention):
    model = models.Seq2Seq(V, jaxrnn.GRUCell(H), embed_size=6, attention=attention)
    source = jax.random.randint(jax.random.key(4), (B, T), 1, V)
    targets = jax.random.randint(jax.random.key(5), (B, 5), 1, V)
    variables = model.init(jax.random.key(0), source, targets)
    logits, attn = model.apply(variables, source, targets, LENGTHS)
    assert logits.shape == (B, 5, V)
    # Padding in the source never leaks.
    pad = jnp.arange(T)[None, :] >= LENGTHS[:, None]
    noisy = jnp.where(pad, (source + 3) % V, source)
    chex.assert_trees_all_close(model.apply(variables, noisy, targets, LENGTHS)[0], logits, **TOL)
    if attention is None:
        assert attn is None
    else:
        chex.assert_trees_all_close(attn.sum(-1), jnp.ones((B, 5)), atol=1e-5)
        np.testing.assert_array_equal(jnp.where(pad[:, None, :], attn, 0.0), 0.0)
    # Greedy decoding equals teacher forcing on the greedy tokens.
    greedy, _ = model.apply(variables, source, targets[:, 0], 5, LENGTHS,
                            method=models.Seq2Seq.greedy)  # fmt: skip
    fed = jnp.concatenate([targets[:, :1], greedy.argmax(-1)[:, :-1]], axis=1)
    chex.assert_trees_all_close(model.apply(variables, source, fed, LENGTHS)[0], greedy, **TOL)
    grads = jax.grad(lambda p: model.apply({"params": p}, source, targets, LENGTHS)[0].sum())(
        variables["params"]
    )
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree_util.tree_leaves(grads))


def test_seq2seq_rejects_unknown_attention():
    model = models.Seq2Seq(V, jaxrnn.GRUCell(H), attention="dot")
    tokens = jnp.ones((B, 4), jnp.int32)
    with pytest.raises(ValueError, match="`attention`"):
        model.init(jax.random.key(0), tokens, tokens)


def test_tagger_scores_every_step(x):
    model = models.SequenceTagger(jaxrnn.LSTMCell(H), num_classes=5, num_layers=2)
    variables = model.init(jax.random.key(0), x)
    logits = model.apply(variables, x)
    assert logits.shape == (B, T, 5)
    params = variables["params"]
    h = x
    for k in range(2):
        h = jaxrnn.RNN(jaxrnn.LSTMCell(H)).apply({"params": params["rnn"][f"rnn{k}"]}, h)
    expected = nn.Dense(5).apply({"params": params["classifier"]}, h)
    chex.assert_trees_all_close(logits, expected, **TOL)


def test_regressor_head_reads_a_sequence_layers_last_valid_output():
    # A sequence layer in place of the cell (the adding and copy contenders use this).
    # The LRU: its carry (the complex state) is not its output, which the head reads.
    layer = jaxrnn.LRU(state_size=4)
    x = jax.random.normal(jax.random.key(0), (3, 7, 2))
    lengths = jnp.array([7, 4, 1])
    model = models.SequenceRegressor(layer, output_size=2, input_projection=6)
    variables = model.init(jax.random.key(1), x)
    got = model.apply(variables, x, lengths)
    params = variables["params"]
    u = x @ params["input_projection"]["kernel"] + params["input_projection"]["bias"]
    outputs = layer.apply({"params": params["rnn"]["rnn0"]}, u, lengths)
    last = outputs[jnp.arange(3), lengths - 1]
    head = params["Dense_0"]
    np.testing.assert_allclose(got, last @ head["kernel"] + head["bias"], **tolerance(x.dtype))
    # The sequential mode of the same layer gives the same predictions.
    sequential = models.SequenceRegressor(
        layer.clone(mode="sequential"), output_size=2, input_projection=6
    )
    np.testing.assert_allclose(sequential.apply(variables, x, lengths), got, **tolerance(x.dtype))


def test_models_reject_what_they_cannot_run():
    x = jnp.zeros((2, 5, 2))
    with pytest.raises(ValueError, match="time_major=True"):
        models.SequenceRegressor(jaxrnn.MinGRU(3, time_major=True)).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="`input_projection`"):
        models.SequenceRegressor(jaxrnn.GRUCell(3), input_projection=0).init(jax.random.key(0), x)
    with pytest.raises(TypeError, match="jaxrnn cell"):  # stepped one token at a time
        models.CharLanguageModel(5, jaxrnn.MinGRU(3)).init(
            jax.random.key(0), jnp.zeros((2, 3), jnp.int32)
        )
