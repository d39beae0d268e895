"""Bad input across the public API (the callers of jaxrnn._checks), by hypothesis.

Each target is one argument of one public constructor or function, with a strategy of
values that must be refused: NaN, infinities, values out of range, bools, strings, lists,
None, wrong ranks. The property: a ``ValueError`` or ``TypeError`` whose message names the
argument; never another exception type, never acceptance. ``derandomize`` fixes the
examples, so the test is deterministic.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxrnn
from jaxrnn import initializers as init
from jaxrnn import parallel, training
from jaxrnn.checkpoint import Checkpointer

KEY = jax.random.key(0)
X = jnp.zeros((2, 5, 3))

# Values that are never a real number, or never a finite one.
NOT_REAL = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, None, True, False]),
    st.text(max_size=3),
    st.lists(st.floats(-1, 1), min_size=1, max_size=2),
)
NEGATIVE = st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False)
NOT_POSITIVE = st.one_of(NEGATIVE, st.just(0.0))
OUTSIDE_UNIT = st.one_of(NEGATIVE, st.floats(min_value=1.0, allow_nan=False, allow_infinity=False))
NOT_POSITIVE_INT = st.one_of(
    st.integers(max_value=0),
    st.sampled_from([True, 1.5, "2", None, math.nan]),
)
NOT_RATE = st.one_of(OUTSIDE_UNIT, st.sampled_from([math.nan, "0.1", True, None]))


def _optimizer(**kwargs):
    return training.make_optimizer(**{"learning_rate": 1e-3, **kwargs})


def _layer(cls, **kwargs):
    return cls(**kwargs).init(KEY, X)


def _cell(cls, hidden_size):
    cell = cls(hidden_size)
    return cell.init(KEY, cell.initialize_carry(KEY, (2, 3)), jnp.zeros((2, 3)))


_STEP_OPTIMIZER = training.make_optimizer(1e-3)
_STATE = training.TrainState.create({"w": jnp.ones(2)}, _STEP_OPTIMIZER, KEY)
_STEP = training.make_train_step(lambda p, b, r: jnp.sum(p["w"]), _STEP_OPTIMIZER)


def _fit(**kwargs):
    return training.fit(
        _STATE, _STEP, lambda s: {}, **{"num_steps": 2, "progress": False, **kwargs}
    )


TARGETS = {
    # name: (argument named in the error, function of the bad value, strategy)
    "make_optimizer.learning_rate": (
        "learning_rate", lambda v: _optimizer(learning_rate=v), st.one_of(NOT_REAL, NOT_POSITIVE)
    ),
    "make_optimizer.max_grad_norm": (
        "max_grad_norm", lambda v: _optimizer(max_grad_norm=v),
        st.one_of(NOT_REAL.filter(lambda v: v is not None), NOT_POSITIVE),
    ),
    "make_optimizer.b1": ("b1", lambda v: _optimizer(b1=v), st.one_of(NOT_REAL, OUTSIDE_UNIT)),
    "make_optimizer.b2": ("b2", lambda v: _optimizer(b2=v), st.one_of(NOT_REAL, OUTSIDE_UNIT)),
    "make_optimizer.eps": ("eps", lambda v: _optimizer(eps=v), st.one_of(NOT_REAL, NOT_POSITIVE)),
    "make_optimizer.momentum": (
        "momentum", lambda v: _optimizer(optimizer="sgd", momentum=v), st.one_of(NOT_REAL, NEGATIVE)
    ),
    "make_optimizer.weight_decay": (
        "weight_decay", lambda v: _optimizer(optimizer="adamw", weight_decay=v),
        st.one_of(NOT_REAL, NEGATIVE),
    ),
    "normal.stddev": (
        "stddev", lambda v: init.normal(v)(KEY, (3, 3)), st.one_of(NOT_REAL, NEGATIVE)
    ),
    "truncated_normal.stddev": (
        "stddev", lambda v: init.truncated_normal(v)(KEY, (3, 3)), st.one_of(NOT_REAL, NEGATIVE)
    ),
    "variance_scaling.scale": (
        "scale", lambda v: init.variance_scaling(v, "fan_in", "normal")(KEY, (3, 3)),
        st.one_of(NOT_REAL, NOT_POSITIVE),
    ),
    "orthogonal.gain": ("gain", lambda v: init.orthogonal(v)(KEY, (3, 3)), NOT_REAL),
    "spectral_radius.radius": (
        "radius", lambda v: init.spectral_radius(v)(KEY, (3, 3)), st.one_of(NOT_REAL, NOT_POSITIVE)
    ),
    "calculate_gain.param": (
        "param", lambda v: init.calculate_gain("leaky_relu", v),
        NOT_REAL.filter(lambda v: v is not None),
    ),
    "glorot_uniform.shape": (
        "shape", lambda v: init.get("glorot_uniform")(KEY, v),
        st.one_of(
            st.tuples(st.integers(max_value=-1), st.integers(1, 3)),
            st.sampled_from([(3.5, 2), "33", None, (3, True)]),
        ),
    ),
    "LSTMCell.hidden_size": (
        "hidden_size", lambda v: _cell(jaxrnn.LSTMCell, v), NOT_POSITIVE_INT
    ),
    "GRU.num_layers": (
        "num_layers", lambda v: _layer(jaxrnn.GRU, hidden_size=4, num_layers=v), NOT_POSITIVE_INT
    ),
    "LSTM.dropout": (
        "dropout", lambda v: _layer(jaxrnn.LSTM, hidden_size=4, num_layers=2, dropout=v), NOT_RATE
    ),
    "SimpleRNN.dtype": (
        "dtype", lambda v: _layer(jaxrnn.SimpleRNN, hidden_size=4, dtype=v),
        st.sampled_from([jnp.int8, jnp.int32, "int16", bool, jnp.uint8]),
    ),
    "LRU.state_size": ("state_size", lambda v: _layer(jaxrnn.LRU, state_size=v), NOT_POSITIVE_INT),
    "array_batches.batch_size": (
        "batch_size", lambda v: training.array_batches({"x": np.zeros(10)}, v, 0)(0),
        st.one_of(NOT_POSITIVE_INT, st.integers(min_value=11)),
    ),
    "array_batches.seed": (
        "seed", lambda v: training.array_batches({"x": np.zeros(10)}, 2, v)(0),
        st.one_of(st.integers(max_value=-1), st.sampled_from([2.5, "0", None, True])),
    ),
    "fit.num_steps": ("num_steps", lambda v: _fit(num_steps=v), NOT_POSITIVE_INT),
    "fit.log_every": ("log_every", lambda v: _fit(log_every=v), NOT_POSITIVE_INT),
    "TrainState.create.key": (
        "key", lambda v: training.TrainState.create({"w": jnp.ones(2)}, _STEP_OPTIMIZER, v),
        st.sampled_from([None, 3, "key", jnp.zeros(5, jnp.uint32), jnp.zeros(2, jnp.float32)]),
    ),
    "Checkpointer.max_to_keep": (
        "max_to_keep", lambda v: Checkpointer("/nonexistent/jaxrnn", max_to_keep=v, create=False),
        NOT_POSITIVE_INT.filter(lambda v: v is not None),
    ),
    "local_batch.process_count": (
        "process_count", lambda v: parallel.local_batch({"x": np.zeros(4)}, 0, v),
        st.one_of(st.integers(max_value=0), st.just(3), st.sampled_from([1.5, "2"])),
    ),
}  # fmt: skip


@pytest.mark.parametrize("target", list(TARGETS))
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_bad_values_are_refused_naming_the_argument(target, data):
    argument, call, values = TARGETS[target]
    value = data.draw(values, label=argument)
    with pytest.raises((ValueError, TypeError)) as info:
        call(value)
    assert argument in str(info.value), f"{target}={value!r}: {info.value}"
