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
        # None: no clipping; inf: nothing clipped, the norm recorded
        st.one_of(NOT_REAL.filter(lambda v: v is not None and v != math.inf), NOT_POSITIVE),
    ),
    "make_optimizer.b1": ("b1", lambda v: _optimizer(b1=v), st.one_of(NOT_REAL, OUTSIDE_UNIT)),
    "make_optimizer.b2": ("b2", lambda v: _optimizer(b2=v), st.one_of(NOT_REAL, OUTSIDE_UNIT)),
    "make_optimizer.eps": ("eps", lambda v: _optimizer(eps=v), st.one_of(NOT_REAL, NEGATIVE)),
    "make_optimizer.momentum": (
        "momentum", lambda v: _optimizer(optimizer="sgd", momentum=v),
        st.one_of(NOT_REAL.filter(lambda v: v is not None), NEGATIVE),  # None: no momentum
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


# The audit: every (argument, bad value) pair below, run at once; one report of every
# value that was accepted or gave another error than a ValueError/TypeError naming the
# argument. (Before these checks: 345 of these 425 refused clearly, 7 obscure errors,
# 73 accepted silently.)
BAD_REAL = [math.nan, math.inf, -math.inf, True, "1", [1.0], None]
NEG = [-1.0, -1e-3]
AUDIT = []


def add(name, arg, fn, values):
    AUDIT.extend((name, arg, fn, v) for v in values)


def init_layer(m):
    return m.init(KEY, X)


def cell_init(c):
    return c.init(KEY, c.initialize_carry(KEY, (2, 3)), jnp.zeros((2, 3)))


opt = _optimizer
T, P, K = training, parallel, KEY


add(
    "make_optimizer",
    "learning_rate",
    lambda v: opt(learning_rate=v),
    BAD_REAL[:-1] + NEG + [0.0, None],
)
add(
    "make_optimizer",
    "max_grad_norm",
    lambda v: opt(max_grad_norm=v),
    [math.nan, -math.inf, True, "1", [1.0], *NEG, 0.0],
)
for a in ("b1", "b2", "decay"):
    add("make_optimizer", a, lambda v, a=a: opt(**{a: v}), BAD_REAL + NEG + [1.0, 1.5])
for a in ("eps",):
    add("make_optimizer", a, lambda v, a=a: opt(**{a: v}), BAD_REAL + NEG)
add("make_optimizer", "momentum", lambda v: opt(momentum=v), BAD_REAL[:-1] + NEG)
add("make_optimizer", "weight_decay", lambda v: opt(weight_decay=v), BAD_REAL + NEG)
for a in ("total_steps", "warmup_steps"):
    add(
        "make_optimizer",
        a,
        lambda v, a=a: opt(schedule="cosine", **{"total_steps": 10, a: v}),
        [math.nan, 1.5, "3", -1, True],
    )
add("normal", "stddev", lambda v: init.normal(v)(K, (3, 3)), BAD_REAL + NEG)
add("uniform", "low", lambda v: init.uniform(low=v)(K, (3, 3)), [*BAD_REAL, 0.05, 0.06])
add("uniform", "high", lambda v: init.uniform(high=v)(K, (3, 3)), [*BAD_REAL, -0.05, -0.06])
add("truncated_normal", "stddev", lambda v: init.truncated_normal(v)(K, (3, 3)), BAD_REAL + NEG)
add(
    "constant",
    "value",
    lambda v: init.constant(v)(K, (3, 3)),
    [math.nan, math.inf, "1", [1.0], None],
)
add(
    "variance_scaling",
    "scale",
    lambda v: init.variance_scaling(v, "fan_in", "normal")(K, (3, 3)),
    BAD_REAL + NEG + [0.0],
)
add(
    "variance_scaling",
    "mode",
    lambda v: init.variance_scaling(1.0, v, "normal")(K, (3, 3)),
    ["fan", 1, None],
)
add(
    "variance_scaling",
    "distribution",
    lambda v: init.variance_scaling(1.0, "fan_in", v)(K, (3, 3)),
    ["gauss", 1, None],
)
add("orthogonal", "gain", lambda v: init.orthogonal(v)(K, (3, 3)), BAD_REAL)
add("orthogonal", "method", lambda v: init.orthogonal(1.0, method=v)(K, (3, 3)), ["lu", 1, None])
add("identity", "gain", lambda v: init.identity(v)(K, (3, 3)), BAD_REAL)
add(
    "spectral_radius",
    "radius",
    lambda v: init.spectral_radius(v)(K, (3, 3)),
    BAD_REAL + NEG + [0.0],
)
add(
    "max_singular_value",
    "value",
    lambda v: init.max_singular_value(v)(K, (3, 3)),
    BAD_REAL + NEG + [0.0],
)
add(
    "calculate_gain",
    "param",
    lambda v: init.calculate_gain("leaky_relu", v),
    [math.nan, math.inf, "1", [1.0], True],
)
add("calculate_gain", "nonlinearity", lambda v: init.calculate_gain(v), ["relu6", 1, None])
for which in ("normal", "uniform", "glorot_normal", "he_uniform", "orthogonal"):
    add(
        which,
        "shape",
        lambda v, which=which: init.get(which)(K, v),
        [(-1, 3), (3.5, 2), "33", None, (3, True)],
    )
    add(
        which,
        "dtype",
        lambda v, which=which: init.get(which)(K, (3, 3), v),
        [jnp.int32, "int8", bool, "floaty"],
    )
for cls in ("LSTMCell", "GRUCell", "SimpleRNNCell"):
    add(
        cls,
        "hidden_size",
        lambda v, cls=cls: cell_init(getattr(jaxrnn, cls)(v)),
        [0, -1, 1.5, True, "4", None, math.nan],
    )
for cls in ("LSTM", "GRU", "SimpleRNN"):
    add(
        cls,
        "hidden_size",
        lambda v, cls=cls: init_layer(getattr(jaxrnn, cls)(v)),
        [0, -1, 1.5, True, "4", None],
    )
    add(
        cls,
        "num_layers",
        lambda v, cls=cls: init_layer(getattr(jaxrnn, cls)(4, num_layers=v)),
        [0, -1, 1.5, True, "2", None],
    )
    add(
        cls,
        "dropout",
        lambda v, cls=cls: init_layer(getattr(jaxrnn, cls)(4, num_layers=2, dropout=v)),
        [math.nan, -0.1, 1.0, 1.5, "0.1", True],
    )
    add(
        cls,
        "dtype",
        lambda v, cls=cls: init_layer(getattr(jaxrnn, cls)(4, dtype=v)),
        [jnp.int8, "int32", bool],
    )
add(
    "LSTMCell",
    "recurrent_dropout",
    lambda v: cell_init(jaxrnn.LSTMCell(4, recurrent_dropout=v)),
    [math.nan, -0.1, 1.0, "0.1", True],
)
add(
    "LSTM",
    "input",
    lambda v: jaxrnn.LSTM(4).init(K, v),
    [jnp.zeros((5, 3)), jnp.zeros((2, 5, 3), jnp.int32), np.zeros((2, 2, 2, 2)), "x", None],
)
add(
    "LSTM",
    "seq_lengths",
    lambda v: jaxrnn.LSTM(4).init(K, X, v),
    [jnp.array([1.5, 2.0]), jnp.array([6, 1]), jnp.array([-1, 1]), jnp.array([1, 2, 3]), "2"],
)
add("MinGRU", "hidden_size", lambda v: init_layer(jaxrnn.MinGRU(v)), [0, -1, 1.5, True, "4"])
add("LRU", "state_size", lambda v: init_layer(jaxrnn.LRU(v)), [0, -1, 1.5, True, "4"])
add("LRU", "r_min", lambda v: init_layer(jaxrnn.LRU(8, r_min=v)), [math.nan, -0.5, 1.5, "0.1"])
add("LRU", "r_max", lambda v: init_layer(jaxrnn.LRU(8, r_max=v)), [math.nan, 1.5, "0.9", 0.0])
add(
    "Bidirectional",
    "merge",
    lambda v: jaxrnn.Bidirectional(
        jaxrnn.RNN(jaxrnn.GRUCell(4)), jaxrnn.RNN(jaxrnn.GRUCell(4)), merge=v
    ).init(K, X),
    ["add", 1, None],
)
data = {"x": np.zeros((10, 2))}
add(
    "array_batches",
    "batch_size",
    lambda v: T.array_batches(data, v, 0)(0),
    [0, -1, 11, 2.5, True, "2", None],
)
add("array_batches", "seed", lambda v: T.array_batches(data, 2, v)(0), [-1, 2.5, "0", None])
add(
    "array_batches",
    "arrays",
    lambda v: T.array_batches(v, 2, 0)(0),
    [{"a": np.zeros(3), "b": np.zeros(4)}, "abc"],
)
state_ = T.TrainState.create({"w": jnp.ones(2)}, T.make_optimizer(1e-3), K)
step_ = T.make_train_step(lambda p, b, r: jnp.sum(p["w"]), T.make_optimizer(1e-3))
for a in ("num_steps", "log_every", "max_nonfinite_steps", "eval_every", "checkpoint_every"):
    add(
        "fit",
        a,
        lambda v, a=a: T.fit(
            state_, step_, lambda s: {}, **{"num_steps": 2, a: v, "progress": False}
        ),
        [-1, 1.5, True, "2", None]
        + ([0] if a in ("num_steps", "log_every", "max_nonfinite_steps") else []),
    )
add(
    "fit",
    "metrics_path",
    lambda v: T.fit(state_, step_, lambda s: {}, num_steps=1, metrics_path=v, progress=False),
    ["m.txt", "."],
)
add(
    "TrainState.create",
    "key",
    lambda v: T.TrainState.create({"w": jnp.ones(2)}, T.make_optimizer(1e-3), v),
    [None, 3, jnp.zeros(5, jnp.uint32), "key", jnp.zeros(2, jnp.float32)],
)
add(
    "make_train_step",
    "num_seeds",
    lambda v: T.make_train_step(lambda p, b, r: 0.0, T.make_optimizer(1e-3), num_seeds=v),
    [0, -1, 1.5, True, "2"],
)
add(
    "Checkpointer",
    "max_to_keep",
    lambda v: Checkpointer("audit_ck", max_to_keep=v),
    [0, -1, 1.5, True, "2"],
)
add(
    "local_batch",
    "process_index",
    lambda v: P.local_batch({"x": np.zeros(4)}, v, 2),
    [-1, 2, 1.5, True, "0"],
)
add(
    "local_batch",
    "process_count",
    lambda v: P.local_batch({"x": np.zeros(4)}, 0, v),
    [0, -1, 3, 1.5, "2"],
)


def test_the_audit_of_bad_inputs_finds_none_accepted_or_obscure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wrong = []
    for name, argument, call, value in AUDIT:
        try:
            call(value)
        except (ValueError, TypeError) as err:
            named = argument in str(err) or (argument in ("input", "arrays") and name in str(err))
            if not named:
                wrong.append(f"{name}({argument}={value!r}): {type(err).__name__}: {err}")
        except Exception as err:
            wrong.append(f"{name}({argument}={value!r}): {type(err).__name__}: {err}")
        else:
            wrong.append(f"{name}({argument}={value!r}) was accepted")
    print(f"{len(AUDIT)} bad inputs, {len(AUDIT) - len(wrong)} refused naming the argument")
    assert not wrong, "\n".join(wrong)
