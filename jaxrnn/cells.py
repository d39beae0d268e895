r"""Recurrent cells: the step math as pure functions, and Flax modules on top.

Each cell is a ``flax.linen`` module with ``__call__(carry, x) -> (carry, y)``, exactly
the body ``jax.lax.scan`` expects, and ``initialize_carry(key, input_shape)``. Its
parameters are a flat dict, the same for every cell::

    kernel            (i, g*h)   input weights, gates fused along the last axis
    recurrent_kernel  (h, g*h)   recurrent weights, same gate order
    bias              (g*h,)     (for an LSTM: W_ih and W_hh biases summed)
    recurrent_bias    (h,)       GRU with reset_after=True only: PyTorch's b_hn

plus, with ``weight_norm=True``, ``kernel_scale`` / ``recurrent_kernel_scale``
``(g*h,)`` and, with ``layer_norm=True``, ``{input,recurrent}_norm_{scale,bias}``
``(g*h,)`` (and ``cell_norm_{scale,bias}`` ``(h,)`` for an LSTM).

**Carry order.** An LSTM carry is ``LSTMState(h, c)``: hidden state first, as in
PyTorch, Keras and Equinox (Flax's own cells use ``(c, h)``). Everywhere in jaxrnn.

The step is split in two pure functions so that a sequence layer can run the input
projection for all time steps as one matmul before the scan:

* ``project_inputs(weights, x)``: :math:`x W + b` (and its layer norm), any leading axes;
* ``step(weights, carry, xw, recurrent_mask)``: the recurrence given that projection.

``weights`` are the *effective* weights (after weight normalisation), computed once per
sequence by the module's ``weights(input_size)`` method rather than at every step.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _checks, _precision, initializers
from jaxrnn import _fused as fused
from jaxrnn._carry import LSTMState
from jaxrnn.typing import Array, DType, PRNGKey

Weights = dict[str, Array]
LAYER_NORM_EPSILON = 1e-5


# ---------------------------------------------------------------------------------------
# Pure helpers.
# ---------------------------------------------------------------------------------------


def _gate_layer_norm(z: Array, scale: Array, bias: Array, num_gates: int) -> Array:
    """Layer norm of each gate's pre-activation block of ``z (..., g*h)`` on its own."""
    blocks = z.reshape(*z.shape[:-1], num_gates, z.shape[-1] // num_gates)
    mean = blocks.mean(axis=-1, keepdims=True)
    var = jnp.square(blocks - mean).mean(axis=-1, keepdims=True)
    normed = (blocks - mean) * jax.lax.rsqrt(var + LAYER_NORM_EPSILON)
    return normed.reshape(z.shape) * scale + bias


def _masked(h: Array, recurrent_mask: Array | None) -> Array:
    return h if recurrent_mask is None else h * recurrent_mask


def _recurrent_projection(weights: Weights, h: Array, num_gates: int) -> Array:
    hw = _precision.matmul(h, weights["recurrent_kernel"], h.dtype)
    if "recurrent_norm_scale" in weights:
        hw = _gate_layer_norm(
            hw, weights["recurrent_norm_scale"], weights["recurrent_norm_bias"], num_gates
        )
    return hw


def project_inputs(weights: Weights, x: Array, num_gates: int) -> Array:
    r"""The input half of every gate: :math:`\mathrm{LN}(x W) + b`.

    Args:
      weights: effective weights, ``kernel (i, g*h)`` and ``bias (g*h,)``.
      x: ``(..., i)``, any leading axes (a whole ``(t, b, i)`` sequence at once).
      num_gates: ``g``.

    Returns:
      ``(..., g*h)``.
    """
    xw = _precision.matmul(x, weights["kernel"], weights["bias"].dtype)
    if "input_norm_scale" in weights:
        xw = _gate_layer_norm(
            xw, weights["input_norm_scale"], weights["input_norm_bias"], num_gates
        )
    return xw + weights["bias"]


# ---------------------------------------------------------------------------------------
# The recurrences, given the projected input xw.
# ---------------------------------------------------------------------------------------


def simple_rnn_step(
    weights: Weights,
    h: Array,
    xw: Array,
    recurrent_mask: Array | None = None,
    activation: Callable[[Array], Array] = jnp.tanh,
) -> tuple[Array, Array]:
    r"""Elman step :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)`.

    Args:
      weights: ``recurrent_kernel (h, h)``.
      h: ``(..., h)`` previous state.
      xw: ``(..., h)`` projected input :math:`x_t W_x + b`.
      recurrent_mask: optional ``(..., h)`` dropout mask on :math:`h_{t-1}`.
      activation: :math:`\phi`.

    Returns:
      ``(h_t, h_t)``.
    """
    h = activation(xw + _recurrent_projection(weights, _masked(h, recurrent_mask), 1))
    return h, h


def lstm_step(
    weights: Weights,
    carry: LSTMState,
    xw: Array,
    recurrent_mask: Array | None = None,
) -> tuple[LSTMState, Array]:
    r"""LSTM step (Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000).

    .. math::
        [i; f; g; o] &= x_t W_x + h_{t-1} W_h + b \\
        c_t &= \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g) \\
        h_t &= \sigma(o) \odot \tanh(c_t)

    With layer norm (Ba et al. 2016) each gate's input and recurrent projections are
    normalised separately and :math:`h_t = \sigma(o) \odot \tanh(\mathrm{LN}(c_t))`.

    Args:
      weights: ``recurrent_kernel (h, 4h)`` (+ layer-norm parameters).
      carry: ``LSTMState(h, c)``, each ``(..., h)``.
      xw: ``(..., 4h)`` projected input.
      recurrent_mask: optional ``(..., h)`` dropout mask on :math:`h_{t-1}`.

    Returns:
      ``(LSTMState(h_t, c_t), h_t)``.
    """
    h, c = carry.h, carry.c
    z = xw + _recurrent_projection(weights, _masked(h, recurrent_mask), 4)
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    c_out = c
    if "cell_norm_scale" in weights:
        c_out = _gate_layer_norm(c, weights["cell_norm_scale"], weights["cell_norm_bias"], 1)
    h = jax.nn.sigmoid(o) * jnp.tanh(c_out)
    return LSTMState(h, c), h


def gru_step(
    weights: Weights,
    h: Array,
    xw: Array,
    recurrent_mask: Array | None = None,
    reset_after: bool = True,
) -> tuple[Array, Array]:
    r"""GRU step, gates r, z, n.

    ``reset_after=False``: Cho et al. (2014), the reset gate applied
    to the state before the recurrent matmul:

    .. math::
        r &= \sigma(x W_{xr} + h W_{hr} + b_r), \quad
        z = \sigma(x W_{xz} + h W_{hz} + b_z) \\
        \tilde h &= \tanh(x W_{xn} + (r \odot h) W_{hn} + b_n) \\
        h_t &= (1 - z) \odot h + z \odot \tilde h

    ``reset_after=True``: PyTorch / cuDNN / Keras, the reset applied after the matmul,
    with a separate recurrent bias :math:`b_{hn}`:
    :math:`\tilde h = \tanh(x W_{xn} + b_n + r \odot (h W_{hn} + b_{hn}))` and
    :math:`h_t = (1 - z) \odot \tilde h + z \odot h`. (PyTorch's z is the keep gate;
    the two conventions are the same cell with z replaced by 1 - z.)

    Args:
      weights: ``recurrent_kernel (h, 3h)`` (+ ``recurrent_bias (h,)`` when
        ``reset_after``, + layer-norm parameters).
      h: ``(..., h)`` previous state.
      xw: ``(..., 3h)`` projected input.
      recurrent_mask: optional ``(..., h)`` dropout mask on :math:`h_{t-1}` where it
        enters a matmul (the interpolation uses the unmasked state).
      reset_after: which formula, see above.

    Returns:
      ``(h_t, h_t)``.
    """
    hidden = h.shape[-1]
    h_in = _masked(h, recurrent_mask)
    x_r, x_z, x_n = jnp.split(xw, 3, axis=-1)
    if reset_after:
        h_r, h_z, h_n = jnp.split(_recurrent_projection(weights, h_in, 3), 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        n = jnp.tanh(x_n + r * (h_n + weights["recurrent_bias"]))
        h = (1.0 - z) * n + z * h
        return h, h
    # Reset before the matmul: the candidate's recurrent term needs r first.
    u = weights["recurrent_kernel"]
    h_rz = _precision.matmul(h_in, u[:, : 2 * hidden], h.dtype)
    if "recurrent_norm_scale" in weights:
        scale, bias = weights["recurrent_norm_scale"], weights["recurrent_norm_bias"]
        h_rz = _gate_layer_norm(h_rz, scale[: 2 * hidden], bias[: 2 * hidden], 2)
    h_r, h_z = jnp.split(h_rz, 2, axis=-1)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    h_n = _precision.matmul(r * h_in, u[:, 2 * hidden :], h.dtype)
    if "recurrent_norm_scale" in weights:
        h_n = _gate_layer_norm(h_n, scale[2 * hidden :], bias[2 * hidden :], 1)
    n = jnp.tanh(x_n + h_n)
    h = (1.0 - z) * h + z * n
    return h, h


# ---------------------------------------------------------------------------------------
# Flax modules.
# ---------------------------------------------------------------------------------------

_ACTIVATIONS = fused.ELMAN_ACTIVATIONS


# The effective weights a computation dtype applies to as such; the rest (biases,
# layer-norm parameters) take the carry's dtype.
_MATRICES = ("kernel", "recurrent_kernel")


def _column_norm(kernel: Array) -> Array:
    return jnp.sqrt(jnp.sum(jnp.square(kernel), axis=0))


class RecurrentCell(nn.RNNCellBase):
    r"""Base of the jaxrnn cells: parameters, weight/layer norm, carry, fused step.

    Subclasses set ``num_gates`` and the default initializers and implement
    ``step_fn``. Initializer attributes take an initializer, a name or a
    ``(name, kwargs)`` pair (see ``jaxrnn.initializers.get``).

    Attributes:
      hidden_size: ``h``, the number of hidden units.
      kernel_init: initializer of ``kernel (i, g*h)``; default Glorot uniform.
      recurrent_kernel_init: initializer of ``recurrent_kernel (h, g*h)``; default each
        gate's ``(h, h)`` block orthogonal.
      bias_init: initializer of ``bias (g*h,)``.
      layer_norm: normalise each gate's input and recurrent pre-activations separately
        (Ba, Kiros & Hinton, "Layer Normalization", 2016).
      weight_norm: reparametrise ``kernel`` and ``recurrent_kernel`` as
        :math:`W = s \\odot V / \\|V\\|_\\text{col}` with a learned per-unit scale ``s``
        initialised to the column norms, so the initial W is the initializer's draw
        (Salimans & Kingma, "Weight Normalization", NeurIPS 2016).
      dtype: computation dtype (None: that of the inputs and parameters). A 32- or
        64-bit float is the dtype of weights, inputs, carries and outputs. bfloat16 or
        float16 is mixed precision (Micikevicius et al., ICLR 2018): the matmuls take
        16-bit operands and accumulate in float32, while the gates, carries and
        outputs stay in float32 (or a wider ``param_dtype``); see ``carry_dtype``.
      param_dtype: parameter dtype.
    """

    hidden_size: int
    kernel_init: Any = None
    recurrent_kernel_init: Any = None
    bias_init: Any = None
    layer_norm: bool = False
    weight_norm: bool = False
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    num_gates: ClassVar[int] = 1
    default_kernel_init: ClassVar[Any] = "glorot_uniform"
    default_recurrent_kernel_init: ClassVar[Any] = None
    default_bias_init: ClassVar[Any] = "zeros"

    def _init(self, attribute: str) -> Any:
        spec = getattr(self, attribute)
        if spec is None:
            spec = getattr(self, "default_" + attribute)
        try:
            return initializers.get(spec)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{type(self).__name__}: invalid `{attribute}`: {err}") from err

    def _check(self) -> None:
        if (
            isinstance(self.hidden_size, bool)
            or not isinstance(self.hidden_size, numbers.Integral)
            or self.hidden_size < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: expected `hidden_size` to be a positive int, "
                f"got {self.hidden_size!r}"
            )
        for name in ("dtype", "param_dtype"):
            value = getattr(self, name)
            if value is None and name == "dtype":
                continue
            try:
                floating = jnp.issubdtype(jnp.dtype(value), jnp.floating)
            except TypeError:
                floating = False
            if not floating:
                raise TypeError(
                    f"{type(self).__name__}: expected a floating `{name}` (e.g. jnp.float32, "
                    f"jnp.bfloat16), got {value!r}"
                )

    def _weight(self, name: str, init: Any, shape: tuple[int, ...]) -> Array:
        if self.has_variable("params", name):
            found = self.get_variable("params", name).shape
            if tuple(found) != shape:
                raise ValueError(
                    f"{type(self).__name__}: parameter `{name}` has shape {tuple(found)} but "
                    f"the input needs {shape}; is the input feature size right?"
                )
        kernel = self.param(name, init, shape, self.param_dtype)
        if not self.weight_norm:
            return kernel
        scale = self.param(
            name + "_scale",
            lambda key, shape, dtype: _column_norm(kernel).astype(dtype),
            (shape[-1],),
            self.param_dtype,
        )
        norm = _column_norm(kernel)
        # A zero column stays zero (its scale starts at 0) instead of turning into NaN.
        return kernel * (scale / jnp.where(norm > 0, norm, 1.0))

    @nn.compact
    def weights(self, input_size: int) -> Weights:
        """Creates (or reads) the parameters; returns the effective weights.

        Args:
          input_size: ``i``, the input feature size.

        Returns:
          A dict with ``kernel (i, g*h)``, ``recurrent_kernel (h, g*h)``,
          ``bias (g*h,)`` and the cell's optional entries, in the computation dtype.
        """
        self._check()
        g, h = self.num_gates, int(self.hidden_size)
        w = {
            "kernel": self._weight("kernel", self._init("kernel_init"), (input_size, g * h)),
            "recurrent_kernel": self._weight(
                "recurrent_kernel", self._init("recurrent_kernel_init"), (h, g * h)
            ),
            "bias": self.param("bias", self._init("bias_init"), (g * h,), self.param_dtype),
        }
        w.update(self.extra_weights())
        if self.layer_norm:
            for name, size in self.norm_sizes().items():
                w[name + "_scale"] = self.param(
                    name + "_scale", initializers.ones, (size,), self.param_dtype
                )
                w[name + "_bias"] = self.param(
                    name + "_bias", initializers.zeros, (size,), self.param_dtype
                )
        if self.dtype is not None:
            carry = self.carry_dtype()
            w = {k: v.astype(self.dtype if k in _MATRICES else carry) for k, v in w.items()}
        return w

    @nn.nowrap
    def carry_dtype(self) -> jnp.dtype:
        """The dtype of the carry, the gate arithmetic and the outputs.

        ``param_dtype`` without ``dtype``; float32 (or ``param_dtype``, if wider) for a
        16-bit ``dtype``, the mixed-precision mode; else ``dtype``.
        """
        return _precision.carry_dtype(self.dtype, self.param_dtype)

    def extra_weights(self) -> Weights:
        """Cell-specific parameters beyond kernel, recurrent kernel and bias."""
        return {}

    @nn.nowrap
    def norm_sizes(self) -> dict[str, int]:
        """Names and sizes of the layer-norm parameter groups."""
        gh = self.num_gates * self.hidden_size
        return {"input_norm": gh, "recurrent_norm": gh}

    @nn.nowrap
    def project_inputs(self, weights: Weights, x: Array) -> Array:
        """``x (..., i) -> (..., g*h)``: the input half of every gate, all steps at once."""
        if self.dtype is not None:
            x = x.astype(self.dtype)
        return project_inputs(weights, x, self.num_gates)

    @nn.nowrap
    def step_fn(self) -> Callable[..., tuple[Any, Array]]:
        """The pure ``step(weights, carry, xw, recurrent_mask) -> (carry, y)``."""
        raise NotImplementedError

    @nn.nowrap
    def fused_scan(self) -> Callable[..., tuple[Any, Array]] | None:
        """The whole-sequence loop of ``jaxrnn._fused``, or None where there is none.

        ``scan(weights, carry, x, valid, mask, unroll) -> (carry, outputs)`` computes
        ``step_fn()`` scanned over time with hand-written derivatives. None with
        ``layer_norm``, for a subclass that overrides ``step_fn`` and for cells without
        a fused loop; ``jaxrnn.RNN`` then scans ``step_fn()``.
        """
        return None

    @nn.nowrap
    def _fusable(self, base: type) -> bool:
        return not self.layer_norm and type(self).step_fn is base.step_fn

    def __call__(self, carry: Any, x: Array) -> tuple[Any, Array]:
        """One step.

        Args:
          carry: the state, as ``initialize_carry`` makes it.
          x: ``(..., i)``.

        Returns:
          ``(new_carry, y)``, ``y (..., h)``.
        """
        _checks.array(type(self).__name__, "x", x, "(..., i)")
        expected = self.initialize_carry(None, x.shape)
        carry = _checks.carry(type(self).__name__, "carry", carry, expected)
        w = self.weights(x.shape[-1])
        if self.dtype is not None:
            carry = jax.tree_util.tree_map(lambda c: c.astype(self.carry_dtype()), carry)
        return self.step_fn()(w, carry, self.project_inputs(w, x))

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> Any:
        """Zeros of shape ``input_shape[:-1] + (h,)``; ``rng`` is unused.

        Args:
          rng: unused (the signature of ``flax.linen.RNNCellBase``).
          input_shape: the shape of one step's input, ``(..., i)``.

        Returns:
          The zero carry.
        """
        del rng
        self._check()
        return jnp.zeros((*input_shape[:-1], int(self.hidden_size)), self.carry_dtype())

    @property
    def num_feature_axes(self) -> int:
        """One feature axis (the interface of ``flax.linen.RNN``)."""
        return 1


class SimpleRNNCell(RecurrentCell):
    r"""Elman RNN cell: :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)`.

    With ``activation="relu"`` and ``recurrent_kernel_init="identity"`` this is the IRNN
    of Le, Jaitly & Hinton (2015).

    Attributes:
      activation: ``"tanh"`` (default), ``"relu"``, ``"sigmoid"``, ``"identity"`` or
        any callable.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> cell = SimpleRNNCell(8, activation="relu", recurrent_kernel_init="identity")
      >>> x = jnp.ones((2, 3))
      >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
      >>> variables = cell.init(jax.random.key(1), carry, x)
      >>> carry, y = cell.apply(variables, carry, x)
      >>> y.shape
      (2, 8)
    """

    activation: Any = "tanh"

    num_gates: ClassVar[int] = 1
    default_recurrent_kernel_init: ClassVar[Any] = "orthogonal"

    @nn.nowrap
    def step_fn(self) -> Callable[..., tuple[Array, Array]]:
        """The pure Elman step with this cell's activation."""
        activation = self.activation
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(
                    f"SimpleRNNCell: expected `activation` in {tuple(_ACTIVATIONS)} or a "
                    f"callable, got {activation!r}"
                )
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(
                f"SimpleRNNCell: expected `activation` to be a name or a callable, "
                f"got {activation!r}"
            )
        return _simple_rnn_step_with(activation)

    @nn.nowrap
    def fused_scan(self) -> Callable[..., tuple[Array, Array]] | None:
        """``jaxrnn._fused.elman_scan`` for a named activation (not a callable)."""
        self.step_fn()  # validates the activation
        if not self._fusable(SimpleRNNCell) or not isinstance(self.activation, str):
            return None
        return _FUSED_ELMAN[self.activation]


@functools.cache
def _simple_rnn_step_with(activation: Callable[[Array], Array]) -> Callable[..., Any]:
    # One function object per activation, so jitted scans over it are compiled once.
    def step(weights, carry, xw, recurrent_mask=None):
        return simple_rnn_step(weights, carry, xw, recurrent_mask, activation)

    return step


class LSTMCell(RecurrentCell):
    r"""LSTM cell, fused gates i, f, g, o; carry ``LSTMState(h, c)``.

    .. math::
        [i; f; g; o] &= x_t W_x + h_{t-1} W_h + b \\
        c_t &= \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g), \quad
        h_t = \sigma(o) \odot \tanh(c_t)

    Defaults: Glorot-uniform ``kernel``, each gate's recurrent block orthogonal, and
    ``lstm_bias(forget=1.0)`` (Jozefowicz et al. 2015). With ``layer_norm`` the cell
    state is normalised before the output tanh as well (Ba et al. 2016).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> cell = LSTMCell(16, bias_init=("chrono", {"t_max": 100}))
      >>> x = jnp.ones((4, 3))
      >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
      >>> variables = cell.init(jax.random.key(1), carry, x)
      >>> carry, y = cell.apply(variables, carry, x)
      >>> carry.h.shape, carry.c.shape
      ((4, 16), (4, 16))
    """

    num_gates: ClassVar[int] = 4
    default_recurrent_kernel_init: ClassVar[Any] = (
        "per_gate",
        {"init": "orthogonal", "num_gates": 4},
    )
    default_bias_init: ClassVar[Any] = ("lstm_bias", {"forget": 1.0})

    @nn.nowrap
    def norm_sizes(self) -> dict[str, int]:
        """Input and recurrent gate norms plus the cell-state norm."""
        return {**super().norm_sizes(), "cell_norm": self.hidden_size}

    @nn.nowrap
    def step_fn(self) -> Callable[..., tuple[LSTMState, Array]]:
        """The pure LSTM step."""
        return lstm_step

    @nn.nowrap
    def fused_scan(self) -> Callable[..., tuple[LSTMState, Array]] | None:
        """``jaxrnn._fused.lstm_scan`` (None with ``layer_norm``)."""
        return fused.lstm_scan if self._fusable(LSTMCell) else None

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> LSTMState:
        """``LSTMState(h, c)`` of zeros, each ``input_shape[:-1] + (h,)``.

        Args:
          rng: unused.
          input_shape: the shape of one step's input, ``(..., i)``.

        Returns:
          The zero carry.
        """
        zeros = super().initialize_carry(rng, input_shape)
        return LSTMState(zeros, zeros)


class GRUCell(RecurrentCell):
    r"""GRU cell, fused gates r, z, n.

    ``reset_after=True`` (default) is PyTorch's, cuDNN's, Keras' and Flax's GRU:
    :math:`n = \tanh(x W_{xn} + b_n + r \odot (h W_{hn} + b_{hn}))`,
    :math:`h_t = (1 - z) \odot n + z \odot h_{t-1}`, with the extra parameter
    ``recurrent_bias (h,)`` (:math:`b_{hn}`); ``jaxrnn.interop.to_torch_state_dict``
    exports it to ``torch.nn.GRU``. ``reset_after=False`` is the formula of Cho et al.
    (2014), the reset applied before the recurrent matmul:
    :math:`\tilde h = \tanh(W [r \odot h, x] + b)`,
    :math:`h_t = (1 - z) \odot h_{t-1} + z \odot \tilde h` (no PyTorch equivalent).
    See ``gru_step``.

    Attributes:
      reset_after: which formula.
      recurrent_bias_init: initializer of ``recurrent_bias`` (``reset_after`` only).
    """

    reset_after: bool = True
    recurrent_bias_init: Any = None

    num_gates: ClassVar[int] = 3
    default_recurrent_bias_init: ClassVar[Any] = "zeros"
    default_recurrent_kernel_init: ClassVar[Any] = (
        "per_gate",
        {"init": "orthogonal", "num_gates": 3},
    )

    def extra_weights(self) -> Weights:
        """``recurrent_bias (h,)`` when ``reset_after``."""
        if not self.reset_after:
            return {}
        init = self._init("recurrent_bias_init")
        return {
            "recurrent_bias": self.param(
                "recurrent_bias", init, (self.hidden_size,), self.param_dtype
            )
        }

    @nn.nowrap
    def step_fn(self) -> Callable[..., tuple[Array, Array]]:
        """The pure GRU step with this cell's ``reset_after``."""
        return _GRU_STEPS[bool(self.reset_after)]

    @nn.nowrap
    def fused_scan(self) -> Callable[..., tuple[Array, Array]] | None:
        """``jaxrnn._fused.gru_scan`` with this ``reset_after`` (None with ``layer_norm``)."""
        return _FUSED_GRU[bool(self.reset_after)] if self._fusable(GRUCell) else None


_GRU_STEPS = {flag: functools.partial(gru_step, reset_after=flag) for flag in (False, True)}
# One function object per variant, so that jitted loops over them compile once.
_FUSED_GRU = {flag: functools.partial(fused.gru_scan, reset_after=flag) for flag in (False, True)}
_FUSED_ELMAN = {name: functools.partial(fused.elman_scan, activation=name) for name in _ACTIVATIONS}


__all__ = [
    "GRUCell",
    "LSTMCell",
    "LSTMState",
    "RecurrentCell",
    "SimpleRNNCell",
    "gru_step",
    "lstm_step",
    "project_inputs",
    "simple_rnn_step",
]
