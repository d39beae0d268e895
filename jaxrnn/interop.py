r"""PyTorch interop: ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` weights to jaxrnn stacks and back.

``from_torch`` turns a PyTorch recurrent module (or its state dict) into a jaxrnn stack
and its variables; ``to_torch_state_dict`` and ``to_torch`` go the other way. torch is
imported only inside the functions that need a torch module; the state-dict paths work
on NumPy arrays without it.

**Weight layout.** PyTorch keeps, for layer ``k`` (suffix ``_reverse`` for the backward
direction), ``weight_ih_l{k} (g*h, i)``, ``weight_hh_l{k} (g*h, h)``, ``bias_ih_l{k}``
and ``bias_hh_l{k} (g*h,)``. jaxrnn keeps ``params/layer{k}[_reverse]/cell/`` with
``kernel (i, g*h)`` and ``recurrent_kernel (h, g*h)``, the transposes, and one
``bias (g*h,)``. The gate orders are the same (LSTM i, f, g, o; GRU r, z, n), so the
kernels are plain transposes. The biases:

* LSTM and Elman RNN: :math:`b = b_{ih} + b_{hh}` (the two only ever appear summed);
* GRU (``reset_after=True``, the only GRU PyTorch has): the r and z blocks of ``bias``
  are :math:`b_{ih} + b_{hh}`; the n block keeps :math:`b_{in}` and ``recurrent_bias``
  :math:`(h,)` is :math:`b_{hn}`, since PyTorch applies the reset gate to
  :math:`h W_{hn} + b_{hn}`.

Going back, ``bias`` becomes ``bias_ih`` and ``bias_hh`` is zero, except a GRU's n block,
which is ``recurrent_bias``. So jaxrnn -> torch -> jaxrnn is bit-exact, and
torch -> jaxrnn -> torch gives the same weights and the same ``bias_ih + bias_hh``.

**Layout of the data.** A ``batch_first=False`` module (PyTorch's default) becomes a
``time_major=True`` stack, so the same ``x (t, b, i)`` goes to both; ``batch_first=True``
becomes a batch-major stack. Unbatched 2-D inputs, which PyTorch accepts, need a batch
axis of one in jaxrnn. Outputs are ``(t, b, d*h)`` (or ``(b, t, d*h)``) and the final
state ``(l*d, b, h)`` (``LSTMState(h_n, c_n)`` for an LSTM), index ``layer * d +
direction``, as in PyTorch. PyTorch's packed sequences correspond to ``seq_lengths``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.sequence import GRU, LSTM, SimpleRNN

_NUM_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_NONLINEARITIES = ("tanh", "relu")
_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_MAX_LISTED = 6


class TorchConfig(NamedTuple):
    """The constructor arguments of the PyTorch module matching a jaxrnn stack.

    Attributes:
      mode: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"`` (PyTorch's ``mode``).
      input_size: ``i``.
      hidden_size: ``h``.
      num_layers: ``l``.
      bidirectional: ``d = 2`` directions if True.
      batch_first: ``(b, t, i)`` inputs if True, ``(t, b, i)`` if False.
      dropout: dropout between layers (training only).
      bias: whether the module has ``bias_ih`` / ``bias_hh``.
      dtype: ``np.float32`` or ``np.float64``.
    """

    mode: str
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    dropout: float
    bias: bool
    dtype: Any


# ---------------------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------------------


def _listed(names: Any) -> str:
    names = sorted(names)
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _suffix(direction: int) -> str:
    return "_reverse" if direction else ""


def _torch_names(num_layers: int, directions: int, bias: bool) -> list[str]:
    """PyTorch's parameter names, in its state-dict order."""
    kinds = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ())
    return [
        f"{kind}_l{layer}{_suffix(direction)}"
        for layer in range(num_layers)
        for direction in range(directions)
        for kind in kinds
    ]


def _as_numpy(name: str, value: Any) -> np.ndarray:
    """A torch tensor or array-like as a NumPy array (float64 kept, other floats float32)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, no torch import
        value = value.detach().cpu()
        if not getattr(value, "is_floating_point", lambda: True)():
            raise TypeError(f"from_torch: expected a floating `{name}`, got dtype {value.dtype}")
        if str(value.dtype) != "torch.float64":
            value = value.float()  # bfloat16 has no NumPy dtype
        value = value.numpy()
    try:
        array = np.asarray(value)
    except Exception as err:  # any failure means: not an array
        raise TypeError(
            f"from_torch: expected `{name}` to be a tensor or an array, got {type(value).__name__}"
        ) from err
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"from_torch: expected a floating `{name}`, got dtype {array.dtype}")
    return array if array.dtype == np.float64 else array.astype(np.float32)


def _check_option(name: str, value: Any, kind: type) -> None:
    if value is None:
        return
    if kind is bool:
        ok = isinstance(value, bool | np.bool_)
    elif kind is int:
        ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not ok:
        raise TypeError(
            f"from_torch: expected `{name}` to be a {kind.__name__} or None, got {value!r}"
        )


def _agree(name: str, given: Any, found: Any, where: str) -> Any:
    """``found``, after checking that an explicitly ``given`` option agrees with it."""
    if given is not None and given != found:
        raise ValueError(f"from_torch: `{name}={given!r}` disagrees with the {where}: {found!r}")
    return found


def _resolve_mode(mode: Any, nonlinearity: Any, num_gates: int) -> str:
    """PyTorch's mode from the ``mode`` / ``nonlinearity`` options and the gate count."""
    if nonlinearity is not None:
        if not isinstance(nonlinearity, str) or nonlinearity.lower() not in _NONLINEARITIES:
            raise ValueError(
                f"from_torch: expected `nonlinearity` in {_NONLINEARITIES}, got {nonlinearity!r}"
            )
        nonlinearity = nonlinearity.lower()
    if mode is not None:
        if not isinstance(mode, str):
            raise TypeError(f"from_torch: expected `mode` to be a str, got {mode!r}")
        normal = mode.upper()
        if normal == "RNN":
            if nonlinearity is None:
                raise ValueError(
                    "from_torch: `mode='RNN'` needs `nonlinearity` ('tanh' or 'relu'): a "
                    "state dict does not record it (or pass mode='RNN_TANH' / 'RNN_RELU')"
                )
            normal = "RNN_" + nonlinearity.upper()
        if normal not in _NUM_GATES:
            raise ValueError(f"from_torch: expected `mode` in {(*_NUM_GATES, 'RNN')}, got {mode!r}")
    elif num_gates == 4:
        normal = "LSTM"
    elif num_gates == 3:
        normal = "GRU"
    elif num_gates == 1:
        if nonlinearity is None:
            raise ValueError(
                "from_torch: the state dict is an Elman RNN's; pass `nonlinearity` ('tanh' or "
                "'relu') or `mode` ('RNN_TANH' or 'RNN_RELU'): a state dict does not record it"
            )
        normal = "RNN_" + nonlinearity.upper()
    else:
        raise ValueError(
            f"from_torch: `weight_hh_l0` has {num_gates} gate blocks of `hidden_size` rows; "
            f"expected 4 (LSTM), 3 (GRU) or 1 (RNN)"
        )
    if nonlinearity is not None:
        if not normal.startswith("RNN_"):
            raise ValueError(
                f"from_torch: `nonlinearity` applies to mode 'RNN' only, got mode {normal!r}"
            )
        if normal != "RNN_" + nonlinearity.upper():
            raise ValueError(
                f"from_torch: `nonlinearity={nonlinearity!r}` disagrees with `mode={mode!r}`"
            )
    if _NUM_GATES[normal] != num_gates:
        raise ValueError(
            f"from_torch: mode {normal!r} has {_NUM_GATES[normal]} gate(s) but `weight_hh_l0` "
            f"has {num_gates} blocks of `hidden_size` rows"
        )
    return normal


def _config_from_state(
    arrays: dict[str, np.ndarray],
    *,
    mode: Any,
    hidden_size: Any,
    num_layers: Any,
    bidirectional: Any,
    batch_first: Any,
    nonlinearity: Any,
    input_size: Any,
    dropout: Any,
) -> TorchConfig:
    """Reads the configuration off the names and shapes; checks them against the options."""
    where = "state dict"
    parsed = {}
    unknown = []
    for name in arrays:
        match = _KEY.match(name) if isinstance(name, str) else None
        if match is None:
            unknown.append(str(name))
        else:
            parsed[name] = (match.group(1), int(match.group(2)), bool(match.group(3)))
    if unknown:
        raise ValueError(
            "from_torch: unexpected state-dict keys "
            f"{_listed(unknown)}; expected PyTorch's weight_ih_l{{k}}, weight_hh_l{{k}}, "
            "bias_ih_l{k}, bias_hh_l{k} (suffix _reverse), without a module prefix"
        )
    if any(kind == "weight_hr" for kind, _, _ in parsed.values()):
        raise ValueError(
            "from_torch: the state dict has `weight_hr_l{k}` (an LSTM with `proj_size` > 0); "
            "jaxrnn has no projected LSTM, expected proj_size=0"
        )
    if "weight_hh_l0" not in arrays or "weight_ih_l0" not in arrays:
        raise ValueError(
            "from_torch: expected `weight_ih_l0` and `weight_hh_l0` in the state dict, got keys "
            f"{_listed(arrays)}"
        )
    found_layers = 1 + max(layer for _, layer, _ in parsed.values())
    found_bidirectional = any(reverse for _, _, reverse in parsed.values())
    found_bias = any(kind.startswith("bias") for kind, _, _ in parsed.values())
    num_layers = _agree("num_layers", num_layers, found_layers, where)
    bidirectional = _agree("bidirectional", bidirectional, found_bidirectional, where)
    directions = 2 if bidirectional else 1
    expected = set(_torch_names(num_layers, directions, found_bias))
    missing = expected - set(arrays)
    if missing:
        raise ValueError(
            f"from_torch: the state dict of a {num_layers}-layer "
            f"{'bidirectional ' if bidirectional else ''}module lacks {_listed(missing)}"
        )

    weight_hh = arrays["weight_hh_l0"]
    if weight_hh.ndim != 2 or weight_hh.shape[1] < 1 or weight_hh.shape[0] % weight_hh.shape[1]:
        raise ValueError(
            f"from_torch: expected `weight_hh_l0` of shape (g*h, h), got {tuple(weight_hh.shape)}"
        )
    hidden = _agree("hidden_size", hidden_size, int(weight_hh.shape[1]), where)
    mode = _resolve_mode(mode, nonlinearity, weight_hh.shape[0] // hidden)
    gh = _NUM_GATES[mode] * hidden
    weight_ih = arrays["weight_ih_l0"]
    if weight_ih.ndim != 2:
        raise ValueError(
            f"from_torch: expected `weight_ih_l0` of shape (g*h, i), got {tuple(weight_ih.shape)}"
        )
    inputs = _agree("input_size", input_size, int(weight_ih.shape[1]), where)
    for name, (kind, layer, _) in parsed.items():
        if kind == "weight_ih":
            shape = (gh, inputs if layer == 0 else directions * hidden)
        elif kind == "weight_hh":
            shape = (gh, hidden)
        else:
            shape = (gh,)
        if tuple(arrays[name].shape) != shape:
            raise ValueError(
                f"from_torch: expected `{name}` of shape {shape} for a {mode} with "
                f"hidden_size={hidden}, input_size={inputs}, bidirectional={bidirectional}, "
                f"got {tuple(arrays[name].shape)}"
            )
    if batch_first is None:
        raise ValueError(
            "from_torch: pass `batch_first` (True or False) with a state dict: it does not "
            "record the data layout"
        )
    dropout = 0.0 if dropout is None else float(dropout)
    float64 = all(a.dtype == np.float64 for a in arrays.values())
    return TorchConfig(
        mode=mode,
        input_size=inputs,
        hidden_size=hidden,
        num_layers=num_layers,
        bidirectional=bool(bidirectional),
        batch_first=bool(batch_first),
        dropout=dropout,
        bias=found_bias,
        dtype=np.float64 if float64 else np.float32,
    )


def _state_from_module(module: Any, options: dict[str, Any]) -> tuple[dict, dict]:
    """The arrays of a torch RNN module and its options, checked against the given ones."""
    try:
        import torch  # optional: imported only when a module comes
    except ImportError as err:
        raise TypeError(
            "from_torch: expected a torch.nn.LSTM, GRU or RNN or a state dict (a Mapping), got "
            f"{type(module).__name__} and torch is not installed"
        ) from err
    if not isinstance(module, torch.nn.RNNBase):
        raise TypeError(
            "from_torch: expected a torch.nn.LSTM, GRU or RNN (or a state dict), got "
            f"{type(module).__name__}"
        )
    if module.mode not in _NUM_GATES:
        raise TypeError(
            f"from_torch: expected a module of mode in {tuple(_NUM_GATES)}, got {module.mode!r}"
        )
    proj_size = getattr(module, "proj_size", 0)
    if proj_size:
        raise ValueError(
            f"from_torch: jaxrnn has no projected LSTM, expected proj_size=0, got "
            f"proj_size={proj_size}"
        )
    where = f"{type(module).__name__} module"
    found = {
        "mode": module.mode,
        "hidden_size": module.hidden_size,
        "num_layers": module.num_layers,
        "bidirectional": bool(module.bidirectional),
        "batch_first": bool(module.batch_first),
        "input_size": module.input_size,
        "dropout": float(module.dropout),
    }
    nonlinearity = options.pop("nonlinearity")
    if nonlinearity is not None and module.mode != f"RNN_{str(nonlinearity).upper()}":
        raise ValueError(
            f"from_torch: `nonlinearity={nonlinearity!r}` disagrees with the {where} mode "
            f"{module.mode!r}"
        )
    given_mode = options.pop("mode")
    if given_mode is not None:
        normal = str(given_mode).upper()
        if normal != module.mode and not (normal == "RNN" and module.mode.startswith("RNN_")):
            raise ValueError(
                f"from_torch: `mode={given_mode!r}` disagrees with the {where} mode {module.mode!r}"
            )
    for name, given in options.items():
        _agree(name, given, found[name], where)
    names = _torch_names(
        module.num_layers, 2 if module.bidirectional else 1, bool(module.bias)
    )  # getattr, not state_dict(): parametrised weights (e.g. weight norm) come out effective
    arrays = {name: getattr(module, name) for name in names}
    return arrays, found


# ---------------------------------------------------------------------------------------
# torch -> jaxrnn.
# ---------------------------------------------------------------------------------------


def from_torch(
    module_or_state_dict: Any,
    *,
    mode: str | None = None,
    hidden_size: int | None = None,
    num_layers: int | None = None,
    bidirectional: bool | None = None,
    batch_first: bool | None = None,
    nonlinearity: str | None = None,
    input_size: int | None = None,
    dropout: float | None = None,
) -> tuple[LSTM | GRU | SimpleRNN, dict[str, Any]]:
    r"""A jaxrnn stack and variables computing what a PyTorch LSTM, GRU or RNN computes.

    ``layer.apply(variables, x, return_carry=True)`` returns ``(final_state, outputs)``
    equal to the module's ``(output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM, as
    ``LSTMState(h_n, c_n)``) up to floating-point rounding, for the same ``x``; a
    ``batch_first=False`` module becomes a ``time_major=True`` stack. An initial state
    ``h_0`` (``(h_0, c_0)``) goes in as ``initial_carry`` (``LSTMState(h_0, c_0)`` or
    the pair), and a ``PackedSequence``'s lengths as ``seq_lengths``.

    Kernels are the transposed PyTorch weights; biases are summed where PyTorch only ever
    uses their sum (see the module docstring), so a GRU keeps :math:`b_{hn}` apart as
    ``recurrent_bias``. Modules without bias get zero biases. PyTorch's ``dropout``
    becomes the stack's ``dropout`` (applied only with ``deterministic=False``).

    Args:
      module_or_state_dict: a ``torch.nn.LSTM``, ``torch.nn.GRU`` or ``torch.nn.RNN``
        (any ``num_layers``, ``bidirectional``, ``batch_first``, ``bias``,
        ``nonlinearity``), or such a module's state dict: a mapping from PyTorch's names
        (``weight_ih_l0 (g*h, i)``, ``weight_hh_l0 (g*h, h)``, ``bias_ih_l0 (g*h,)``,
        ``bias_hh_l0 (g*h,)``, ... ``_reverse``; no module prefix) to torch tensors or
        NumPy arrays.
      mode: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"``, ``"RNN_RELU"`` or ``"RNN"`` (with
        ``nonlinearity``), case-insensitive. Inferred for a state dict from the gate
        count of ``weight_hh_l0`` except tanh versus relu.
      hidden_size: ``h``; inferred from ``weight_hh_l0``.
      num_layers: ``l``; inferred from the keys.
      bidirectional: inferred from the keys (``_reverse``).
      batch_first: required with a state dict (it does not record the layout).
      nonlinearity: ``"tanh"`` or ``"relu"``, for an Elman RNN's state dict (or use
        ``mode``).
      input_size: ``i``; inferred from ``weight_ih_l0``.
      dropout: dropout between layers for a state dict (default 0).

    Options given with a module must agree with it; options given with a state dict must
    agree with its names and shapes.

    Returns:
      ``(layer, variables)``: a ``jaxrnn.LSTM``, ``jaxrnn.GRU`` (``reset_after=True``)
      or ``jaxrnn.SimpleRNN`` (``activation`` ``"tanh"`` or ``"relu"``), and
      ``{"params": {"layer{k}[_reverse]": {"cell": {...}}}}`` of NumPy arrays: float64
      (and ``param_dtype=float64``) when every tensor is float64, float32 otherwise
      (float16 and bfloat16 tensors are widened). Float64 needs
      ``jax.enable_x64(True)`` when applied.

    Raises:
      TypeError: not an RNN module or a mapping; non-floating tensors.
      ValueError: ``proj_size > 0`` (``weight_hr_l{k}``), a missing option
        (``batch_first``; ``nonlinearity`` for an Elman RNN's state dict), an option that
        disagrees with the module or the shapes, missing or unexpected keys.

    Examples:
      >>> import numpy as np, torch
      >>> import jaxrnn.interop
      >>> _ = torch.manual_seed(0)
      >>> gru = torch.nn.GRU(5, 8, num_layers=2, bidirectional=True, batch_first=True)
      >>> layer, variables = jaxrnn.interop.from_torch(gru)
      >>> x = torch.randn(3, 7, 5)                                   # (b, t, i)
      >>> h_n, outputs = layer.apply(variables, x.numpy(), return_carry=True)
      >>> outputs.shape, h_n.shape
      ((3, 7, 16), (4, 3, 8))
      >>> want, want_h_n = gru(x)
      >>> bool(np.allclose(outputs, want.detach().numpy(), atol=1e-5))
      True
    """
    _check_option("hidden_size", hidden_size, int)
    _check_option("num_layers", num_layers, int)
    _check_option("input_size", input_size, int)
    _check_option("bidirectional", bidirectional, bool)
    _check_option("batch_first", batch_first, bool)
    _check_option("dropout", dropout, float)
    options = {
        "mode": mode,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "bidirectional": bidirectional,
        "batch_first": batch_first,
        "nonlinearity": nonlinearity,
        "input_size": input_size,
        "dropout": dropout,
    }
    if isinstance(module_or_state_dict, Mapping):
        state = dict(module_or_state_dict)
    else:
        state, found = _state_from_module(module_or_state_dict, dict(options))
        options.update(found, nonlinearity=None)
    arrays = {name: _as_numpy(name, value) for name, value in state.items()}
    config = _config_from_state(arrays, **options)
    arrays = {name: a.astype(config.dtype, copy=False) for name, a in arrays.items()}
    return _make_layer(config), {"params": _params_from_arrays(config, arrays)}


def _make_layer(config: TorchConfig) -> LSTM | GRU | SimpleRNN:
    kwargs = {
        "hidden_size": config.hidden_size,
        "num_layers": config.num_layers,
        "bidirectional": config.bidirectional,
        "dropout": config.dropout,
        "time_major": not config.batch_first,
        "param_dtype": jnp.float64 if config.dtype == np.float64 else jnp.float32,
    }
    if config.mode == "LSTM":
        return LSTM(**kwargs)
    if config.mode == "GRU":
        return GRU(**kwargs, reset_after=True)
    return SimpleRNN(**kwargs, activation=config.mode[len("RNN_") :].lower())


def _params_from_arrays(config: TorchConfig, arrays: dict[str, np.ndarray]) -> dict:
    hidden, gh = config.hidden_size, _NUM_GATES[config.mode] * config.hidden_size
    params = {}
    for layer in range(config.num_layers):
        for direction in range(2 if config.bidirectional else 1):
            suffix = f"_l{layer}{_suffix(direction)}"
            zeros = np.zeros((gh,), config.dtype)
            bias_ih = arrays.get("bias_ih" + suffix, zeros)
            bias_hh = arrays.get("bias_hh" + suffix, zeros)
            cell = {
                "kernel": np.ascontiguousarray(arrays["weight_ih" + suffix].T),
                "recurrent_kernel": np.ascontiguousarray(arrays["weight_hh" + suffix].T),
            }
            if config.mode == "GRU":
                # b_hn sits inside r * (h W_hn + b_hn): it cannot be folded into the bias.
                rz = bias_ih[: 2 * hidden] + bias_hh[: 2 * hidden]
                cell["bias"] = np.concatenate([rz, bias_ih[2 * hidden :]])
                cell["recurrent_bias"] = bias_hh[2 * hidden :].copy()
            else:
                cell["bias"] = bias_ih + bias_hh
            params[f"layer{layer}{_suffix(direction)}"] = {"cell": cell}
    return params


# ---------------------------------------------------------------------------------------
# jaxrnn -> torch.
# ---------------------------------------------------------------------------------------


def _activation_name(activation: Any) -> str | None:
    if isinstance(activation, str):
        return activation if activation in _NONLINEARITIES else None
    for name, function in (("tanh", jnp.tanh), ("relu", jax.nn.relu)):
        if activation is function:
            return name
    return None


def _check_layer(layer: Any) -> tuple[str, int]:
    """PyTorch's mode and the gate count of a convertible jaxrnn stack."""
    if not isinstance(layer, LSTM | GRU | SimpleRNN):
        raise TypeError(
            "to_torch_state_dict: expected a jaxrnn.LSTM, jaxrnn.GRU or jaxrnn.SimpleRNN, got "
            f"{type(layer).__name__}"
        )
    name = type(layer).__name__
    for option in ("layer_norm", "weight_norm"):
        if getattr(layer, option):
            raise ValueError(
                f"to_torch_state_dict: PyTorch has no {option.replace('_', ' ')}: expected "
                f"`{option}=False`, got {name}({option}=True)"
            )
    if isinstance(layer, LSTM):
        return "LSTM", 4
    if isinstance(layer, GRU):
        if not layer.reset_after:
            raise ValueError(
                "to_torch_state_dict: PyTorch's GRU applies the reset gate after the matmul: "
                "expected `reset_after=True`, got GRU(reset_after=False)"
            )
        return "GRU", 3
    activation = _activation_name(layer.activation)
    if activation is None:
        raise ValueError(
            f"to_torch_state_dict: PyTorch's RNN has nonlinearity 'tanh' or 'relu': expected "
            f"`activation` 'tanh' or 'relu', got {layer.activation!r}"
        )
    return "RNN_" + activation.upper(), 1


def _layer_params(layer: Any, variables: Any, num_gates: int) -> dict[str, dict[str, Any]]:
    """The cells' parameters, ``{"layer0": {...}, ...}``, checked against ``layer``."""
    if not isinstance(variables, Mapping):
        raise TypeError(
            "to_torch_state_dict: expected `variables` to be a mapping "
            f"({{'params': ...}}), got {type(variables).__name__}"
        )
    params = variables.get("params", variables)
    directions = 2 if layer.bidirectional else 1
    names = [
        f"layer{k}{_suffix(direction)}"
        for k in range(layer.num_layers)
        for direction in range(directions)
    ]
    if set(params) != set(names):
        raise ValueError(
            f"to_torch_state_dict: expected params {_listed(names)} for "
            f"num_layers={layer.num_layers}, bidirectional={layer.bidirectional}, got "
            f"{_listed(map(str, params))}"
        )
    keys = {"kernel", "recurrent_kernel", "bias"}
    if isinstance(layer, GRU):
        keys.add("recurrent_bias")
    hidden = layer.hidden_size
    shapes = {"recurrent_kernel": (hidden, num_gates * hidden), "bias": (num_gates * hidden,)}
    shapes["recurrent_bias"] = (hidden,)
    cells = {}
    for name in names:
        cell = params[name].get("cell", {}) if isinstance(params[name], Mapping) else {}
        if set(cell) != keys:
            raise ValueError(
                f"to_torch_state_dict: expected `{name}/cell` to hold {_listed(keys)}, got "
                f"{_listed(map(str, cell))}"
            )
        # Shapes and dtypes only: abstract values (``jax.eval_shape``) do for torch_config.
        cell = {k: v if hasattr(v, "shape") and hasattr(v, "dtype") else np.asarray(v)
                for k, v in cell.items()}  # fmt: skip
        for key, shape in shapes.items():
            if key in cell and tuple(cell[key].shape) != shape:
                raise ValueError(
                    f"to_torch_state_dict: expected `{name}/cell/{key}` of shape {shape} for "
                    f"hidden_size={hidden}, got {tuple(cell[key].shape)}"
                )
        if cell["kernel"].ndim != 2 or cell["kernel"].shape[1] != num_gates * hidden:
            raise ValueError(
                f"to_torch_state_dict: expected `{name}/cell/kernel` of shape "
                f"(i, {num_gates * hidden}), got {tuple(cell['kernel'].shape)}"
            )
        cells[name] = cell
    return cells


def to_torch_state_dict(layer: LSTM | GRU | SimpleRNN, variables: Any) -> dict[str, np.ndarray]:
    """The PyTorch state dict of a jaxrnn stack: the inverse of ``from_torch``.

    ``weight_ih_l{k} (g*h, i)`` and ``weight_hh_l{k} (g*h, h)`` are the transposed
    kernels; ``bias_ih_l{k} (g*h,)`` is ``bias`` and ``bias_hh_l{k}`` is zero except a
    GRU's n block, which is ``recurrent_bias`` (PyTorch only ever uses ``bias_ih +
    bias_hh`` elsewhere). Suffix ``_reverse`` for the backward direction. Arrays keep the
    parameter dtype, so ``from_torch`` of the result reproduces ``variables`` bit for bit.
    The matching module is ``torch.nn.LSTM`` / ``GRU`` / ``RNN(nonlinearity=...)`` with
    ``batch_first = not layer.time_major`` (see ``to_torch``). Options without a PyTorch
    counterpart that do not change the weights (``recurrent_dropout``, ``unroll``,
    initializers) are not carried over.

    Args:
      layer: a ``jaxrnn.LSTM``, ``jaxrnn.GRU`` with ``reset_after=True`` or
        ``jaxrnn.SimpleRNN`` with ``activation`` ``"tanh"`` or ``"relu"``, without
        ``layer_norm`` or ``weight_norm``.
      variables: ``layer``'s variables, ``{"params": ...}`` (or the params alone).

    Returns:
      A dict of NumPy arrays in PyTorch's names and order.

    Raises:
      TypeError: ``layer`` is not one of those stacks.
      ValueError: ``layer_norm`` / ``weight_norm`` / ``reset_after=False`` / another
        activation (no PyTorch equivalent), or parameters that do not match ``layer``.
    """
    _, num_gates = _check_layer(layer)
    cells = _layer_params(layer, variables, num_gates)
    hidden = layer.hidden_size
    state = {}
    for name, cell in cells.items():
        cell = {key: np.asarray(value) for key, value in cell.items()}
        suffix = "_l" + name[len("layer") :]
        bias = cell["bias"]
        bias_hh = np.zeros_like(bias)
        if "recurrent_bias" in cell:
            bias_hh[2 * hidden :] = cell["recurrent_bias"]
        state["weight_ih" + suffix] = np.ascontiguousarray(cell["kernel"].T)
        state["weight_hh" + suffix] = np.ascontiguousarray(cell["recurrent_kernel"].T)
        state["bias_ih" + suffix] = bias.copy()
        state["bias_hh" + suffix] = bias_hh
    order = _torch_names(layer.num_layers, 2 if layer.bidirectional else 1, True)
    return {name: state[name] for name in order}


def torch_config(layer: LSTM | GRU | SimpleRNN, variables: Any) -> TorchConfig:
    """The constructor arguments of the PyTorch module matching ``layer``.

    Args:
      layer: as for ``to_torch_state_dict``.
      variables: ``layer``'s variables (for the input size and the dtype).

    Returns:
      A ``TorchConfig``; ``bias`` is always True.
    """
    mode, num_gates = _check_layer(layer)
    cells = _layer_params(layer, variables, num_gates)
    kernel = cells["layer0"]["kernel"]
    float64 = all(np.dtype(a.dtype) == np.float64 for cell in cells.values() for a in cell.values())
    return TorchConfig(
        mode=mode,
        input_size=int(kernel.shape[0]),
        hidden_size=layer.hidden_size,
        num_layers=layer.num_layers,
        bidirectional=bool(layer.bidirectional),
        batch_first=not layer.time_major,
        dropout=float(layer.dropout),
        bias=True,
        dtype=np.float64 if float64 else np.float32,
    )


def to_torch(layer: LSTM | GRU | SimpleRNN, variables: Any) -> Any:
    """A ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` holding ``layer``'s weights.

    The module is built from ``torch_config`` (``batch_first = not layer.time_major``,
    ``dropout = layer.dropout``; float64 when every parameter is) and loaded with
    ``to_torch_state_dict``. It is returned in training mode, as PyTorch constructs
    modules: call ``.eval()`` before comparing outputs when ``dropout > 0``.

    Args:
      layer: as for ``to_torch_state_dict``.
      variables: ``layer``'s variables.

    Returns:
      The torch module.

    Raises:
      ValueError, TypeError: as ``to_torch_state_dict``.
    """
    import torch  # optional: imported only when asked for

    config = torch_config(layer, variables)
    kwargs = {
        "input_size": config.input_size,
        "hidden_size": config.hidden_size,
        "num_layers": config.num_layers,
        "bias": True,
        "batch_first": config.batch_first,
        "dropout": config.dropout,
        "bidirectional": config.bidirectional,
        "dtype": torch.float64 if config.dtype == np.float64 else torch.float32,
    }
    if config.mode == "LSTM":
        module = torch.nn.LSTM(**kwargs)
    elif config.mode == "GRU":
        module = torch.nn.GRU(**kwargs)
    else:
        module = torch.nn.RNN(**kwargs, nonlinearity=config.mode[len("RNN_") :].lower())
    state = to_torch_state_dict(layer, variables)
    module.load_state_dict(
        {name: torch.from_numpy(array.astype(config.dtype)) for name, array in state.items()}
    )
    return module


__all__ = ["TorchConfig", "from_torch", "to_torch", "to_torch_state_dict", "torch_config"]
