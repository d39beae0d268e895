"""Tests of jaxrnn.interop: parity with torch.nn.LSTM / GRU / RNN, round trips, errors."""

import doctest
import functools
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import import_torch, tolerance

import jaxrnn
from jaxrnn import interop

MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]
INPUT_SIZE = 5
DEFAULT_SHAPE = {"batch": 3, "time": 7, "hidden": 4}


# ---------------------------------------------------------------------------------------
# Helpers: a seeded torch module, both forward passes as NumPy.
# ---------------------------------------------------------------------------------------


def make_torch(mode, *, hidden=4, num_layers=1, bidirectional=False, batch_first=False,
               bias=True, dropout=0.0, seed=0, double=False):  # fmt: skip
    torch = import_torch()
    torch.manual_seed(seed)
    kwargs = {
        "input_size": INPUT_SIZE,
        "hidden_size": hidden,
        "num_layers": num_layers,
        "bias": bias,
        "batch_first": batch_first,
        "dropout": dropout,
        "bidirectional": bidirectional,
    }
    if mode == "LSTM":
        module = torch.nn.LSTM(**kwargs)
    elif mode == "GRU":
        module = torch.nn.GRU(**kwargs)
    else:
        module = torch.nn.RNN(**kwargs, nonlinearity=mode[len("RNN_") :].lower())
    module.eval()
    return module.double() if double else module


def torch_inputs(module, batch, time, seed=1):
    """``x`` laid out as the module takes it: ``(b, t, i)`` or ``(t, b, i)``."""
    torch = import_torch()
    torch.manual_seed(seed)
    shape = (batch, time, INPUT_SIZE) if module.batch_first else (time, batch, INPUT_SIZE)
    return torch.randn(*shape, dtype=next(module.parameters()).dtype)


def run_torch(module, x, initial_state=None):
    """``(outputs, [h_n] or [h_n, c_n])`` as NumPy."""
    torch = import_torch()
    with torch.no_grad():
        outputs, final = module(x, initial_state)
    final = list(final) if isinstance(final, tuple) else [final]
    return outputs.numpy(), [f.numpy() for f in final]


def run_jax(layer, variables, x, **kwargs):
    """``(outputs, leaves of the final state)`` as NumPy, through one jit."""
    apply = jax.jit(functools.partial(layer.apply, return_carry=True))
    final, outputs = apply(variables, x, **kwargs)
    return np.asarray(outputs), [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(final)]


def assert_same_run(ours, theirs, dtype):
    (outputs, finals), (want_outputs, want_finals) = ours, theirs
    np.testing.assert_allclose(outputs, want_outputs, **tolerance(dtype))
    assert len(finals) == len(want_finals)
    for got, want in zip(finals, want_finals, strict=True):
        np.testing.assert_allclose(got, want, **tolerance(dtype))


def nonlinearity(mode):
    return {"RNN_TANH": "tanh", "RNN_RELU": "relu"}.get(mode)


def random_variables(layer, seed, dtype=np.float32):
    """Variables of ``layer`` (inputs of ``INPUT_SIZE``), every leaf Gaussian, none zero.

    The structure comes from ``jax.eval_shape`` of ``layer.init``: nothing is compiled.
    """
    with jax.enable_x64(np.dtype(dtype) == np.float64):
        shapes = jax.eval_shape(layer.init, jax.random.key(0), jnp.zeros((1, 1, INPUT_SIZE)))
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(
        lambda leaf: (0.5 * rng.standard_normal(leaf.shape)).astype(dtype), shapes
    )


def assert_trees_equal(ours, theirs):
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for got, want in zip(
        jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs), strict=True
    ):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------
# PyTorch parity, float32.
# ---------------------------------------------------------------------------------------

# Every mode x {1, 3} layers x {uni, bi}; batch_first alternates so each mode sees both.
PARITY_CASES = [
    (mode, num_layers, bidirectional, bidirectional != (num_layers == 3))
    for mode in MODES
    for num_layers in (1, 3)
    for bidirectional in (False, True)
]


@pytest.mark.parametrize(("mode", "num_layers", "bidirectional", "batch_first"), PARITY_CASES)
def test_matches_torch(mode, num_layers, bidirectional, batch_first):
    module = make_torch(
        mode, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    layer, variables = interop.from_torch(module)
    assert layer.time_major is not batch_first
    x = torch_inputs(module, DEFAULT_SHAPE["batch"], DEFAULT_SHAPE["time"])
    ours = run_jax(layer, variables, x.numpy())
    assert_same_run(ours, run_torch(module, x), jnp.float32)
    directions = 2 if bidirectional else 1
    assert ours[1][0].shape == (num_layers * directions, DEFAULT_SHAPE["batch"], 4)


# Shape corners (one sequence, one step, wider hidden) and bias=False, one per mode.
SHAPE_CASES = [
    ("LSTM", {"batch": 1, "time": 1, "hidden": 16}, False, True),
    ("GRU", {"batch": 1, "time": 7, "hidden": 16}, False, False),
    ("RNN_TANH", {"batch": 3, "time": 1, "hidden": 16}, True, True),
    ("RNN_RELU", {"batch": 1, "time": 7, "hidden": 4}, False, False),
]


@pytest.mark.parametrize(("mode", "shape", "bias", "batch_first"), SHAPE_CASES)
def test_matches_torch_shapes_and_no_bias(mode, shape, bias, batch_first):
    module = make_torch(
        mode, hidden=shape["hidden"], num_layers=2, bidirectional=True, bias=bias,
        batch_first=batch_first,
    )  # fmt: skip
    layer, variables = interop.from_torch(module)
    if not bias:
        for cell in variables["params"].values():
            for name in ("bias", "recurrent_bias"):
                if name in cell["cell"]:
                    np.testing.assert_array_equal(cell["cell"][name], 0.0)
    x = torch_inputs(module, shape["batch"], shape["time"])
    assert_same_run(run_jax(layer, variables, x.numpy()), run_torch(module, x), jnp.float32)


@pytest.mark.parametrize("mode", MODES)
def test_matches_torch_with_initial_state(mode):
    torch = import_torch()
    module = make_torch(mode, num_layers=2, bidirectional=True, batch_first=mode != "GRU")
    layer, variables = interop.from_torch(module)
    x = torch_inputs(module, 3, 7)
    torch.manual_seed(2)
    h0 = torch.randn(4, 3, 4)
    c0 = torch.randn(4, 3, 4)
    if mode == "LSTM":
        theirs = run_torch(module, x, (h0, c0))
        initial_state = jaxrnn.LSTMState(h0.numpy(), c0.numpy())
    else:
        theirs = run_torch(module, x, h0)
        initial_state = h0.numpy()
    ours = run_jax(layer, variables, x.numpy(), initial_carry=initial_state)
    assert_same_run(ours, theirs, jnp.float32)
    # The initial state matters: without it the final state differs.
    zero_start = run_jax(layer, variables, x.numpy())
    assert np.abs(zero_start[1][0] - ours[1][0]).max() > 1e-3


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_matches_torch_float64(mode):
    module = make_torch(mode, num_layers=2, bidirectional=True, batch_first=True, double=True)
    layer, variables = interop.from_torch(module)
    assert layer.param_dtype == jnp.float64
    assert all(leaf.dtype == np.float64 for leaf in jax.tree_util.tree_leaves(variables))
    x = torch_inputs(module, 3, 7)
    with jax.enable_x64(True):
        ours = run_jax(layer, variables, x.numpy())
    assert ours[0].dtype == np.float64
    assert_same_run(ours, run_torch(module, x), jnp.float64)


@pytest.mark.parametrize(("mode", "batch_first"), [("LSTM", True), ("GRU", False)])
def test_matches_torch_packed_sequences(mode, batch_first):
    torch = import_torch()
    pack = torch.nn.utils.rnn.pack_padded_sequence
    unpack = torch.nn.utils.rnn.pad_packed_sequence
    module = make_torch(mode, num_layers=2, bidirectional=True, batch_first=batch_first)
    layer, variables = interop.from_torch(module)
    lengths = torch.tensor([7, 3, 1, 5])  # unsorted, one full, one of a single step
    x = torch_inputs(module, 4, 7)
    with torch.no_grad():
        packed, final = module(pack(x, lengths, batch_first, enforce_sorted=False))
    outputs, _ = unpack(packed, batch_first, total_length=7)
    final = list(final) if isinstance(final, tuple) else [final]
    theirs = outputs.numpy(), [f.numpy() for f in final]

    ours = run_jax(layer, variables, x.numpy(), seq_lengths=lengths.numpy())
    assert_same_run(ours, theirs, jnp.float32)
    past_end = np.arange(7)[None, :] >= lengths.numpy()[:, None]  # (b, t)
    if not batch_first:
        past_end = past_end.T
    np.testing.assert_array_equal(ours[0][past_end], 0.0)
    # Padding content does not leak in: garbage past the lengths changes nothing.
    noisy = x.numpy().copy()
    noisy[np.broadcast_to(np.expand_dims(past_end, -1), noisy.shape)] = 1e3
    again = run_jax(layer, variables, noisy, seq_lengths=lengths.numpy())
    assert_same_run(again, ours, jnp.float32)


# ---------------------------------------------------------------------------------------
# State dicts.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("as_numpy", [False, True])
def test_state_dict_path_equals_module_path(mode, as_numpy):
    module = make_torch(mode, num_layers=2, bidirectional=True, batch_first=True, dropout=0.25)
    state = module.state_dict()
    if as_numpy:
        state = {name: tensor.numpy() for name, tensor in state.items()}
    layer, variables = interop.from_torch(module)
    from_state, state_variables = interop.from_torch(
        state, batch_first=True, nonlinearity=nonlinearity(mode), dropout=0.25
    )
    assert from_state == layer
    assert layer.dropout == 0.25
    assert_trees_equal(state_variables, variables)


def test_state_dict_mode_spellings():
    state = make_torch("RNN_RELU", num_layers=2).state_dict()
    want = interop.from_torch(state, batch_first=False, nonlinearity="relu")
    for options in ({"mode": "RNN_RELU"}, {"mode": "rnn", "nonlinearity": "relu"},
                    {"mode": "rnn_relu", "nonlinearity": "RELU"}):  # fmt: skip
        layer, variables = interop.from_torch(state, batch_first=False, **options)
        assert layer == want[0]
        assert layer.activation == "relu"
        assert_trees_equal(variables, want[1])


@pytest.mark.parametrize("mode", MODES)
def test_gru_and_lstm_bias_layout(mode):
    module = make_torch(mode, hidden=4)
    state = {name: tensor.detach().numpy() for name, tensor in module.state_dict().items()}
    _, variables = interop.from_torch(module)
    cell = variables["params"]["layer0"]["cell"]
    np.testing.assert_array_equal(cell["kernel"], state["weight_ih_l0"].T)
    np.testing.assert_array_equal(cell["recurrent_kernel"], state["weight_hh_l0"].T)
    b_ih, b_hh = state["bias_ih_l0"], state["bias_hh_l0"]
    if mode == "GRU":
        np.testing.assert_array_equal(cell["bias"][:8], b_ih[:8] + b_hh[:8])
        np.testing.assert_array_equal(cell["bias"][8:], b_ih[8:])
        np.testing.assert_array_equal(cell["recurrent_bias"], b_hh[8:])
    else:
        np.testing.assert_array_equal(cell["bias"], b_ih + b_hh)
        assert "recurrent_bias" not in cell


# ---------------------------------------------------------------------------------------
# Round trips.
# ---------------------------------------------------------------------------------------

STACKS = [
    (jaxrnn.LSTM(4, num_layers=2, bidirectional=True), "LSTM"),
    (jaxrnn.GRU(4, num_layers=3, time_major=True, reset_after=True), "GRU"),
    (jaxrnn.SimpleRNN(16, bidirectional=True, activation="relu"), "RNN_RELU"),
    (jaxrnn.SimpleRNN(4, num_layers=2, time_major=True, activation="tanh"), "RNN_TANH"),
]


@pytest.mark.parametrize(("layer", "mode"), STACKS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_round_trip_jaxrnn_torch_jaxrnn_is_exact(layer, mode, dtype):
    layer = layer.clone(param_dtype=dtype)
    variables = random_variables(layer, seed=3, dtype=dtype)
    state = interop.to_torch_state_dict(layer, variables)
    assert all(a.dtype == np.dtype(dtype) for a in state.values())
    back_layer, back = interop.from_torch(
        state, batch_first=not layer.time_major, nonlinearity=nonlinearity(mode)
    )
    assert back_layer == layer
    assert_trees_equal(back, variables)
    config = interop.torch_config(layer, variables)
    assert config.mode == mode and config.input_size == INPUT_SIZE


@pytest.mark.parametrize("mode", MODES)
def test_round_trip_torch_jaxrnn_torch(mode):
    torch = import_torch()
    module = make_torch(mode, hidden=4, num_layers=2, bidirectional=True, batch_first=True)
    original = {name: t.detach().numpy() for name, t in module.state_dict().items()}
    layer, variables = interop.from_torch(module)
    state = interop.to_torch_state_dict(layer, variables)
    assert list(state) == list(original)  # PyTorch's names, in its order
    for name, array in state.items():
        assert array.shape == original[name].shape and array.dtype == np.float32
        if name.startswith("weight"):
            np.testing.assert_array_equal(array, original[name])
    for name in state:
        if name.startswith("bias_ih"):
            hh = name.replace("bias_ih", "bias_hh")
            # One float32 rounding of the same sum on both sides: equal to the bit.
            np.testing.assert_array_equal(state[name] + state[hh], original[name] + original[hh])
    rebuilt = interop.to_torch(layer, variables).eval()
    assert type(rebuilt) is type(module) and rebuilt.batch_first
    x = torch_inputs(module, 3, 7)
    assert_same_run(run_torch(rebuilt, x), run_torch(module, x), jnp.float32)
    with torch.no_grad():
        np.testing.assert_array_equal(rebuilt.weight_hh_l1_reverse, module.weight_hh_l1_reverse)


@pytest.mark.parametrize("reset_after", [True, None], ids=["explicit", "default"])
def test_to_torch_matches_jaxrnn(key, reset_after):
    """A default ``jaxrnn.GRU`` is PyTorch's GRU: it exports, and runs the same there."""
    torch = import_torch()
    options = {} if reset_after is None else {"reset_after": reset_after}
    layer = jaxrnn.GRU(4, num_layers=2, bidirectional=True, **options)
    variables = random_variables(layer, seed=4)
    x = jax.random.normal(key, (3, 7, INPUT_SIZE))
    module = interop.to_torch(layer, variables).eval()
    theirs = run_torch(module, torch.from_numpy(np.array(x)))
    assert_same_run(run_jax(layer, variables, x), theirs, jnp.float32)


# ---------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------


def test_proj_size_is_rejected():
    torch = import_torch()
    module = torch.nn.LSTM(INPUT_SIZE, 8, proj_size=3)
    with pytest.raises(ValueError, match="proj_size"):
        interop.from_torch(module)
    with pytest.raises(ValueError, match="proj_size"):
        interop.from_torch(module.state_dict(), batch_first=False)


@pytest.mark.parametrize("make", ["linear", "lstm_cell", "list"])
def test_not_an_rnn_module_is_a_type_error(make):
    torch = import_torch()
    thing = {
        "linear": lambda: torch.nn.Linear(3, 4),
        "lstm_cell": lambda: torch.nn.LSTMCell(3, 4),
        "list": lambda: [np.zeros((4, 4))],
    }[make]()
    with pytest.raises(TypeError, match=r"torch\.nn\.LSTM, GRU or RNN"):
        interop.from_torch(thing)


def test_state_dict_errors_name_the_option():
    gru = make_torch("GRU", num_layers=2).state_dict()
    rnn = make_torch("RNN_TANH").state_dict()
    with pytest.raises(ValueError, match="batch_first"):
        interop.from_torch(gru)
    with pytest.raises(ValueError, match="nonlinearity"):
        interop.from_torch(rnn, batch_first=True)
    with pytest.raises(ValueError, match="nonlinearity"):
        interop.from_torch(rnn, batch_first=True, mode="RNN")
    with pytest.raises(ValueError, match="hidden_size=5"):
        interop.from_torch(gru, batch_first=True, hidden_size=5)
    with pytest.raises(ValueError, match="num_layers=3"):
        interop.from_torch(gru, batch_first=True, num_layers=3)
    with pytest.raises(ValueError, match="bidirectional=True"):
        interop.from_torch(gru, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="mode 'LSTM' has 4 gate"):
        interop.from_torch(gru, batch_first=True, mode="LSTM")
    with pytest.raises(ValueError, match="`nonlinearity` applies to mode 'RNN' only"):
        interop.from_torch(gru, batch_first=True, nonlinearity="tanh")
    with pytest.raises(ValueError, match="expected `mode` in"):
        interop.from_torch(gru, batch_first=True, mode="transformer")
    with pytest.raises(TypeError, match="batch_first"):
        interop.from_torch(gru, batch_first="yes")
    incomplete = {k: v for k, v in gru.items() if k != "bias_hh_l1"}
    with pytest.raises(ValueError, match="lacks 'bias_hh_l1'"):
        interop.from_torch(incomplete, batch_first=True)
    prefixed = {"rnn." + k: v for k, v in gru.items()}
    with pytest.raises(ValueError, match=r"unexpected state-dict keys 'rnn\.bias_hh_l0'"):
        interop.from_torch(prefixed, batch_first=True)
    wrong_shape = {**gru, "weight_ih_l1": gru["weight_ih_l1"][:, :3]}
    with pytest.raises(ValueError, match=r"`weight_ih_l1` of shape \(12, 4\)"):
        interop.from_torch(wrong_shape, batch_first=True)
    integers = {k: v.numpy().astype(np.int32) for k, v in gru.items()}
    with pytest.raises(TypeError, match="floating `weight_ih_l0`"):
        interop.from_torch(integers, batch_first=True)
    int_tensors = {k: v.long() for k, v in gru.items()}  # torch tensors, not NumPy
    with pytest.raises(TypeError, match=r"floating `weight_ih_l0`, got dtype torch\.int64"):
        interop.from_torch(int_tensors, batch_first=True)


def test_module_options_must_agree():
    module = make_torch("RNN_TANH", batch_first=True)
    with pytest.raises(ValueError, match="batch_first=False"):
        interop.from_torch(module, batch_first=False)
    with pytest.raises(ValueError, match="nonlinearity='relu'"):
        interop.from_torch(module, nonlinearity="relu")
    with pytest.raises(ValueError, match="mode='GRU'"):
        interop.from_torch(module, mode="GRU")
    layer, _ = interop.from_torch(module, mode="RNN", nonlinearity="tanh", batch_first=True)
    assert layer.activation == "tanh" and not layer.time_major


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (jaxrnn.LSTM(4, layer_norm=True), "layer_norm"),
        (jaxrnn.LSTM(4, weight_norm=True), "weight_norm"),
        (jaxrnn.GRU(4, reset_after=False), "reset_after"),
        (jaxrnn.SimpleRNN(4, activation="sigmoid"), "activation"),
    ],
)
def test_to_torch_rejects_what_torch_lacks(key, layer, match):
    variables = jax.eval_shape(layer.init, key, jnp.zeros((2, 3, INPUT_SIZE)))
    with pytest.raises(ValueError, match=match):
        interop.to_torch_state_dict(layer, variables)


def test_to_torch_state_dict_checks_its_arguments(key):
    layer = jaxrnn.LSTM(4, num_layers=2)
    variables = jax.eval_shape(layer.init, key, jnp.zeros((2, 3, INPUT_SIZE)))
    with pytest.raises(TypeError, match=r"jaxrnn\.LSTM"):
        interop.to_torch_state_dict(jaxrnn.RNN(jaxrnn.LSTMCell(4)), variables)
    with pytest.raises(ValueError, match="num_layers=3"):
        interop.to_torch_state_dict(layer.clone(num_layers=3), variables)
    with pytest.raises(ValueError, match="hidden_size=5"):
        interop.to_torch_state_dict(layer.clone(hidden_size=5), variables)
    # The activation given as the function itself is accepted.
    rnn = jaxrnn.SimpleRNN(4, activation=jax.nn.relu)
    rnn_variables = jax.eval_shape(rnn.init, key, jnp.zeros((2, 3, INPUT_SIZE)))
    assert interop.torch_config(rnn, rnn_variables).mode == "RNN_RELU"


# ---------------------------------------------------------------------------------------
# Packaging: the docstring example, and no torch needed for the state-dict paths.
# ---------------------------------------------------------------------------------------


def test_docstring_examples():
    import_torch()
    results = doctest.testmod(interop, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0


def test_state_dict_paths_work_without_torch():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        import numpy as np
        import jaxrnn.interop as interop

        rng = np.random.default_rng(0)
        state = {}
        for name, shape in [("weight_ih_l0", (12, 5)), ("weight_hh_l0", (12, 4)),
                            ("bias_ih_l0", (12,)), ("bias_hh_l0", (12,))]:
            state[name] = rng.standard_normal(shape).astype(np.float32)
        layer, variables = interop.from_torch(state, batch_first=True)
        back = interop.to_torch_state_dict(layer, variables)
        assert type(layer).__name__ == "GRU" and layer.reset_after
        np.testing.assert_array_equal(back["weight_hh_l0"], state["weight_hh_l0"])
        try:
            interop.from_torch(object())
        except TypeError as err:
            assert "torch is not installed" in str(err)
        else:
            raise AssertionError("expected a TypeError")
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
