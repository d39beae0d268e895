"""Tests of jaxrnn.testing: every check passes on correct RNNs and catches a broken one."""

import functools

import conftest
import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest
from hypothesis import given, settings

import jaxrnn
import jaxrnn.testing as rnn_testing
from jaxrnn import _fused, diagnostics
from jaxrnn import initializers as init

H = 3  # hidden units everywhere: tiny, for a 2-core CPU

CELLS = {
    "lstm": lambda **kw: jaxrnn.LSTMCell(H, **kw),
    "gru": lambda **kw: jaxrnn.GRUCell(H, **kw),
    "simple": lambda **kw: jaxrnn.SimpleRNNCell(H, **kw),
}
NAMES = sorted(CELLS)


class ElmanCell(nn.RNNCellBase):
    """A user's own cell: h_t = tanh(x W + h U + b), with nothing from jaxrnn."""

    features: int

    @nn.compact
    def __call__(self, carry, x):
        h = nn.Dense(self.features, name="input")(x)
        h = jnp.tanh(h + nn.Dense(self.features, use_bias=False, name="recurrent")(carry))
        return h, h

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        del rng
        return jnp.zeros((*input_shape[:-1], self.features))

    @property
    def num_feature_axes(self):
        return 1


def test_tolerance_table_is_the_one_of_the_tests():
    # One table: the tests' conftest takes jaxrnn.testing's, it does not keep a copy.
    assert conftest.TOLERANCES is rnn_testing.TOLERANCES
    assert conftest.ORTHO_ATOL is rnn_testing.ORTHO_ATOL
    assert rnn_testing.tolerance(jnp.float32) == {"rtol": 1e-5, "atol": 1e-5}
    assert rnn_testing.tolerance(jnp.bfloat16) == {"rtol": 1.6e-2, "atol": 1.6e-2}
    assert rnn_testing.NUM_SAMPLES >= 100_000
    with pytest.raises(ValueError, match="expected a dtype in"):
        rnn_testing.tolerance(jnp.int32)


# ---------------------------------------------------------------------------------------
# Every check passes on jaxrnn's LSTM, GRU and SimpleRNN.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_scan_equals_loop(name):
    report = rnn_testing.check_scan_equals_loop(jaxrnn.RNN(CELLS[name]()))
    assert report["outputs"] < 1e-12 and report["fused=False"] < 1e-10


def test_scan_equals_loop_bidirectional_stack_and_min_gru():
    report = rnn_testing.check_scan_equals_loop(jaxrnn.GRU(H, num_layers=2, bidirectional=True))
    assert set(report) == {"outputs", "final carry", "fused=False"}
    report = rnn_testing.check_scan_equals_loop(jaxrnn.MinGRU(H))
    assert "the other `mode`" in report


@pytest.mark.parametrize("name", NAMES)
def test_padding_invariance(name):
    report = rnn_testing.check_padding_invariance(jaxrnn.RNN(CELLS[name]()))
    assert report["gradient at padding"] == 0.0 and report["zero outputs past length"] == 0.0


def test_padding_invariance_of_a_stack_and_a_bidirectional_layer():
    rnn_testing.check_padding_invariance(jaxrnn.LSTM(H, num_layers=2), seq_lengths=[4, 0, 2])
    gru = jaxrnn.GRUCell(H)
    rnn_testing.check_padding_invariance(jaxrnn.Bidirectional(jaxrnn.RNN(gru), jaxrnn.RNN(gru)))


@pytest.mark.parametrize("name", NAMES)
def test_reverse_consistency(name):
    report = rnn_testing.check_reverse_consistency(CELLS[name]())
    assert report["outputs"] < 1e-5


def test_reverse_consistency_of_bidirectional():
    layer = jaxrnn.Bidirectional(jaxrnn.RNN(jaxrnn.LSTMCell(H)), jaxrnn.RNN(jaxrnn.LSTMCell(H)))
    rnn_testing.check_reverse_consistency(layer)


@pytest.mark.parametrize("name", NAMES)
def test_gradients(name):
    report = rnn_testing.check_gradients(jaxrnn.RNN(CELLS[name]()))
    assert set(report) == {"fwd order 1", "fwd order 2", "rev order 1", "rev order 2"}
    assert max(report.values()) < 1e-6


def test_gradients_of_a_function():
    def f(w, x):
        return jnp.sum(jnp.tanh(x @ w))

    args = (jnp.ones((3, 2)), jnp.linspace(-1.0, 1.0, 6).reshape(2, 3))
    assert max(rnn_testing.check_gradients(f, args).values()) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_transform_stability(name):
    report = rnn_testing.check_transform_stability(jaxrnn.RNN(CELLS[name]()))
    assert report["retraces"] == 0.0
    assert report["bfloat16"] < rnn_testing.BFLOAT16_SCALE * 1.6e-2


GLOROT_BOUND = (6 / 512) ** 0.5  # glorot_uniform on (256, 256)
INITIALIZERS = {
    "glorot_uniform": (
        init.glorot_uniform(),
        {"mean": 0.0, "variance": 2 / 512, "bounds": (-GLOROT_BOUND, GLOROT_BOUND)},
        {},
    ),
    "he_normal": (init.he_normal(truncated=False), {"mean": 0.0, "variance": 2 / 256}, {}),
    "normal": (init.normal(stddev=2.0, mean=-3.0), {"mean": -3.0, "std": 2.0}, {}),
    "truncated_normal": (
        init.truncated_normal(stddev=0.5, lower=-2.0, upper=2.0),
        {"std": 0.5, "bounds": (-1.0, 1.0)},
        {},
    ),
    "uniform": (init.uniform(-0.2, 0.6), {"mean": 0.2, "variance": 0.8**2 / 12}, {}),
    "orthogonal": (init.orthogonal(gain=1.3), {"orthogonal": 1.3}, {"shape": (64, 32)}),
    "per_gate": (
        init.per_gate(init.orthogonal(), num_gates=4),
        {"orthogonal": 1.0},
        {"shape": (16, 64), "num_gates": 4},
    ),
    "spectral_radius": (init.spectral_radius(0.9), {"spectral_radius": 0.9}, {"shape": (32, 32)}),
    "max_singular_value": (
        init.max_singular_value(1.5),
        {"max_singular_value": 1.5},
        {"shape": (20, 30)},
    ),
}


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializers(name):
    sampler, expected, kwargs = INITIALIZERS[name]
    report = rnn_testing.check_initializer(sampler, expected, **kwargs)
    assert set(report) == set(expected)


def test_initializer_float64_orthogonality():
    report = rnn_testing.check_initializer(
        init.orthogonal(), {"orthogonal": 1.0}, shape=(32, 32), dtype=jnp.float64
    )
    assert report["orthogonal"] < 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_gradient_decay(name):
    # Default jaxrnn initialisation: orthogonal recurrences, forget bias 1.
    report = rnn_testing.check_gradient_decay(CELLS[name](), min_rate=0.2, max_rate=1.5)
    assert 0.2 <= report["min rate"] <= report["max rate"] <= 1.5


def test_gradient_decay_of_a_stack():
    rnn_testing.check_gradient_decay(jaxrnn.SimpleRNN(H, num_layers=2), min_rate=0.1)


ACTIVATIONS = {
    "lstm": (4, diagnostics.LSTM_GATE_ACTIVATIONS),
    "gru": (3, diagnostics.GRU_GATE_ACTIVATIONS),
    "simple": (1, "tanh"),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("gain", "condition"), [(0.9, "vanishing"), (4.5, "exploding")])
def test_pascanu_condition_on_the_cells_kernels(name, gain, condition):
    # Each gate block orthogonal with this gain: 0.9 < 1 <= 1 / gamma for every gate;
    # 4.5 > 4 = 1 / gamma of the sigmoid gates.
    gates, activation = ACTIVATIONS[name]
    recurrent = ("per_gate", {"init": ("orthogonal", {"gain": gain}), "num_gates": gates})
    layer = jaxrnn.RNN(CELLS[name](recurrent_kernel_init=recurrent))
    kernel = layer.init(jax.random.key(0), jnp.ones((1, 2, 2)))["params"]["cell"]
    report = rnn_testing.check_pascanu_condition(
        kernel["recurrent_kernel"], activation, num_gates=gates, condition=condition
    )
    assert report["max_singular_value"] == pytest.approx(gain, rel=1e-4)


# ---------------------------------------------------------------------------------------
# Outside jaxrnn: Flax's own cells and a user's cell, bare or in flax.linen.RNN.
# ---------------------------------------------------------------------------------------

FOREIGN = {
    "flax_lstm": lambda: nn.LSTMCell(H),
    "flax_gru": lambda: nn.GRUCell(H),
    "custom": lambda: ElmanCell(H),
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_checks_on_cells_outside_jaxrnn(name):
    cell = FOREIGN[name]()
    for layer in (cell, nn.RNN(cell)):  # run as jaxrnn.RNN(cell), and Flax's own layer
        rnn_testing.check_scan_equals_loop(layer)
        rnn_testing.check_padding_invariance(layer)
        rnn_testing.check_reverse_consistency(layer)
        rnn_testing.check_gradient_decay(layer, min_rate=0.05)
    rnn_testing.check_gradients(cell, order=1)
    rnn_testing.check_transform_stability(nn.RNN(cell), eager=False)


def test_flax_bidirectional_and_keep_order():
    layer = nn.Bidirectional(nn.RNN(nn.GRUCell(H)), nn.RNN(nn.GRUCell(H)))
    rnn_testing.check_reverse_consistency(layer)
    rnn_testing.check_reverse_consistency(nn.RNN(nn.GRUCell(H), keep_order=True))
    rnn_testing.check_scan_equals_loop(layer)


# ---------------------------------------------------------------------------------------
# Each check catches a broken cell, layer or initializer.
# ---------------------------------------------------------------------------------------

_RELU_LOOP = functools.partial(_fused.elman_scan, activation="relu")


class WrongFusedCell(jaxrnn.SimpleRNNCell):
    """A tanh cell whose fused whole-sequence loop runs relu: scan != its own step."""

    @nn.nowrap
    def fused_scan(self):
        return _RELU_LOOP


def test_scan_equals_loop_catches_a_wrong_fused_loop():
    with pytest.raises(
        AssertionError,
        match=r"^scan equals loop: outputs of the scanned layer "
        r"differ from the cell stepped in a Python loop; max \|diff\| = ",
    ):
        rnn_testing.check_scan_equals_loop(WrongFusedCell(H))


class IgnoresLengths(nn.Module):
    """Forgets to pass `seq_lengths` on: the padding runs through the cell."""

    cell: nn.RNNCellBase

    @nn.compact
    def __call__(self, x, seq_lengths=None, *, initial_carry=None, return_carry=False):
        del seq_lengths
        rnn = jaxrnn.RNN(self.cell, name="rnn")
        return rnn(x, initial_carry=initial_carry, return_carry=return_carry)


class CarryOneStepEarly(nn.Module):
    """Outputs right, but with lengths the carry of the step before the last valid one."""

    cell: nn.RNNCellBase

    @nn.compact
    def __call__(self, x, seq_lengths=None, *, initial_carry=None, return_carry=False):
        rnn = jaxrnn.RNN(self.cell, name="rnn")
        carry, ys = rnn(x, seq_lengths, initial_carry=initial_carry, return_carry=True)
        if seq_lengths is not None:
            early = jnp.maximum(seq_lengths - 1, 0)
            carry, _ = rnn(x, early, initial_carry=initial_carry, return_carry=True)
        return (carry, ys) if return_carry else ys


def test_padding_invariance_catches_a_layer_that_ignores_lengths():
    with pytest.raises(
        AssertionError,
        match=r"^padding invariance: final carry of sequence 1 "
        r"changed when padded with garbage: carry.* max \|diff\|",
    ):
        rnn_testing.check_padding_invariance(IgnoresLengths(jaxrnn.GRUCell(H)))


def test_padding_invariance_catches_a_carry_at_the_wrong_step():
    with pytest.raises(
        AssertionError,
        match=r"^padding invariance: final carry of sequence 0 "
        r"\(length 5\) is not the carry at its last valid step",
    ):
        rnn_testing.check_padding_invariance(CarryOneStepEarly(jaxrnn.LSTMCell(H)))


class WholeSequenceReverse(nn.Module):
    """reverse=True flips the whole padded sequence: the padding comes first."""

    cell: nn.RNNCellBase
    reverse: bool = False

    @nn.compact
    def __call__(self, x, seq_lengths=None, *, initial_carry=None, return_carry=False):
        rnn = jaxrnn.RNN(self.cell, name="rnn")
        if not self.reverse:
            return rnn(x, seq_lengths, initial_carry=initial_carry, return_carry=return_carry)
        carry, ys = rnn(jnp.flip(x, 1), initial_carry=initial_carry, return_carry=True)
        ys = jnp.flip(ys, 1)
        if seq_lengths is not None:
            ys = jnp.where(
                jnp.arange(x.shape[1])[None, :, None] < seq_lengths[:, None, None], ys, 0
            )
        return (carry, ys) if return_carry else ys


def test_reverse_consistency_catches_a_whole_sequence_reversal():
    with pytest.raises(
        AssertionError,
        match=r"^reverse consistency: outputs of sequence 1 "
        r"\(length 2\) differ from the forward direction over its valid part "
        r"reversed by hand; max \|diff\|",
    ):
        rnn_testing.check_reverse_consistency(WholeSequenceReverse(jaxrnn.GRUCell(H)), time=4)


@jax.custom_vjp
def _tanh_wrong_vjp(z):
    return jnp.tanh(z)


def _tanh_fwd(z):
    y = jnp.tanh(z)
    return y, y


def _tanh_bwd(y, g):
    return (2.0 * g * (1.0 - y**2),)  # twice the true derivative


_tanh_wrong_vjp.defvjp(_tanh_fwd, _tanh_bwd)


class WrongGradientCell(ElmanCell):
    @nn.compact
    def __call__(self, carry, x):
        z = nn.Dense(self.features)(x) + nn.Dense(self.features, use_bias=False)(carry)
        h = _tanh_wrong_vjp(z)
        return h, h


def test_gradients_catch_a_wrong_custom_vjp():
    with pytest.raises(
        AssertionError,
        match=r"^gradients: rev-mode derivatives of order 1 "
        r"disagree with finite differences",
    ):
        rnn_testing.check_gradients(WrongGradientCell(H), modes=("rev",), order=1)


class RecompilingLayer(nn.Module):
    """Builds a new jax.jit at every call: every eager call traces and compiles it again."""

    cell: nn.RNNCellBase

    @nn.compact
    def __call__(self, x, seq_lengths=None, *, initial_carry=None, return_carry=False):
        carry, ys = jaxrnn.RNN(self.cell, name="rnn")(
            x, seq_lengths, initial_carry=initial_carry, return_carry=True
        )
        ys = jax.jit(lambda y: 1.0 * y)(ys)
        return (carry, ys) if return_carry else ys


class TracerSensitiveLayer(RecompilingLayer):
    """Computes something else under jax.jit than eagerly."""

    @nn.compact
    def __call__(self, x, seq_lengths=None, *, initial_carry=None, return_carry=False):
        carry, ys = jaxrnn.RNN(self.cell, name="rnn")(
            x, seq_lengths, initial_carry=initial_carry, return_carry=True
        )
        if isinstance(ys, jax.core.Tracer):
            ys = 1.01 * ys
        return (carry, ys) if return_carry else ys


def test_transform_stability_catches_recompilation():
    with pytest.raises(
        AssertionError,
        match=r"^transform stability: eager calls of the same "
        r"shape recompile: \d+ XLA compilations in calls 2 to 3",
    ):
        rnn_testing.check_transform_stability(RecompilingLayer(jaxrnn.GRUCell(H)))


def test_transform_stability_catches_jit_disagreement():
    with pytest.raises(
        AssertionError,
        match=r"^transform stability: jax.jit changes \(carry, "
        r"outputs\)\[1\]; max \|diff\|",
    ):
        rnn_testing.check_transform_stability(TracerSensitiveLayer(jaxrnn.GRUCell(H)))


def test_initializer_check_catches_a_wrong_variance_and_a_non_orthogonal_draw():
    wrong = init.normal(stddev=1.1 * (2 / 512) ** 0.5)  # claims Glorot's variance
    with pytest.raises(
        AssertionError,
        match=r"^initializer: sample variance 0\.0047.*, "
        r"expected 0\.00390625",
    ):
        rnn_testing.check_initializer(wrong, {"mean": 0.0, "variance": 2 / 512})
    with pytest.raises(AssertionError, match=r"^initializer: not orthogonal with gain 1"):
        rnn_testing.check_initializer(init.glorot_uniform(), {"orthogonal": 1.0}, shape=(16, 16))
    with pytest.raises(ValueError, match="unknown properties"):
        rnn_testing.check_initializer(init.zeros, {"kurtosis": 3.0})


def test_pascanu_condition_catches_a_kernel_that_violates_it():
    w = init.orthogonal(gain=1.5)(jax.random.key(0), (H, H))
    with pytest.raises(
        AssertionError,
        match=r"^Pascanu condition: the sufficient condition for "
        r"vanishing gradients, gamma \* sigma_1 < 1, does not hold: gamma \* "
        r"sigma_1 = 1 \* 1\.5 = 1\.5 >= 1 \(tanh\)",
    ):
        rnn_testing.check_pascanu_condition(w, "tanh")
    fused = init.per_gate(init.orthogonal(gain=0.5), 4)(jax.random.key(0), (H, 4 * H))
    with pytest.raises(
        AssertionError,
        match=r"necessary condition for exploding .* in gate "
        r"block \d \(sigmoid\)",
    ):
        rnn_testing.check_pascanu_condition(
            fused, diagnostics.LSTM_GATE_ACTIVATIONS, num_gates=4, condition="exploding"
        )


def test_gradient_decay_catches_vanishing_gradients():
    cell = jaxrnn.SimpleRNNCell(H, recurrent_kernel_init=("orthogonal", {"gain": 0.1}))
    with pytest.raises(
        AssertionError,
        match=r"^gradient decay: \|\|dL/dh_t\|\| decays faster "
        r"than min_rate=0\.5 per step: \(n_\d+ / n_9\)",
    ):
        rnn_testing.check_gradient_decay(cell, min_rate=0.5)


# ---------------------------------------------------------------------------------------
# Hypothesis.
# ---------------------------------------------------------------------------------------


@settings(max_examples=5, deadline=None, derandomize=True)
@given(rnn_testing.sequence_batches(max_batch=3, max_time=4, max_input_size=3, max_hidden_size=3))
def test_padding_invariance_for_drawn_batches(sample):
    shape = sample.shape
    assert sample.inputs().shape == (shape.batch, shape.time, shape.input_size)
    rnn_testing.check_padding_invariance(
        jaxrnn.GRUCell(shape.hidden_size),
        batch=shape.batch,
        time=shape.time,
        input_size=shape.input_size,
        seq_lengths=sample.seq_lengths,
        key=sample.key(),
    )


def test_hypothesis_profile_is_bounded():
    import hypothesis

    # conftest loads the bounded profile for the whole suite.
    assert hypothesis.settings.default.max_examples <= 10
    assert hypothesis.settings.default.derandomize
    name = rnn_testing.register_hypothesis_profile("jaxrnn-test", max_examples=7)
    profile = hypothesis.settings.get_profile(name)
    assert profile.max_examples == 7 and profile.deadline is None and profile.derandomize
