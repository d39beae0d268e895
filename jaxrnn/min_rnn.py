r"""minGRU and minLSTM: recurrences linear in the state, trained with a parallel scan.

Feng et al. (2024) drop the hidden state from the gates and the candidate of the GRU
and the LSTM, and the range restriction (tanh) from the candidate. What is left is
linear in the state,

.. math::
    h_t = a_t \odot h_{t-1} + b_t, \qquad a_t, b_t \text{ functions of } x_t \text{ only},

so every :math:`h_t` of a sequence comes out of one parallel prefix scan (Blelloch
1990) in :math:`O(\log t)` depth instead of a :math:`t`-step loop:

* minGRU: :math:`z_t = \sigma(x_t W_z + b_z)`, :math:`\tilde h_t = g(x_t W_h + b_h)`,
  :math:`a_t = 1 - z_t`, :math:`b_t = z_t \odot \tilde h_t`;
* minLSTM: :math:`f'_t = \sigma(x_t W_f + b_f)`, :math:`i'_t = \sigma(x_t W_i + b_i)`,
  normalised :math:`f_t = f'_t / (f'_t + i'_t)`, :math:`i_t = i'_t / (f'_t + i'_t)`,
  :math:`\tilde h_t = g(x_t W_h + b_h)`, :math:`a_t = f_t`, :math:`b_t = i_t \odot
  \tilde h_t`;

with :math:`g(x) = x + 1/2` for :math:`x \ge 0` and :math:`\sigma(x)` otherwise, which
keeps the candidate positive so that :math:`\log b_t` exists.

**Two modes, one set of parameters.** The layers ``MinGRU`` / ``MinLSTM`` run a whole
sequence ``(b, t, i) -> (b, t, h)`` in ``mode="parallel"`` (the log-space parallel scan)
or ``mode="sequential"`` (every step's gates at once, then a ``jax.lax.scan`` of
:math:`h_t = a_t h_{t-1} + b_t`; on a CPU this one trains faster, see ``_MinRNN``).
The cells ``MinGRUCell`` / ``MinLSTMCell`` are the step ``__call__(carry, x) -> (carry,
y)`` for generation. All four have the same flat parameters, so the variables of a
layer trained in parallel apply to the cell as they are::

    kernel  (i, g*h)   gates fused along the last axis: minGRU (z, h~), minLSTM (f, i, h~)
    bias    (g*h,)     with use_bias=True (the paper's nn.Linear layers have biases)

so a minGRU has :math:`2 d_h d_x + 2 d_h` parameters and a minLSTM
:math:`3 d_h d_x + 3 d_h`. The carry is the hidden state ``h (..., h)`` (a minLSTM has
no cell state).

**Log space.** The parallel mode scans the pairs :math:`(\log a_t, \log b_t)` with the
associative operator

.. math::
    (\alpha_1, \beta_1) \bullet (\alpha_2, \beta_2)
    = (\alpha_1 + \alpha_2,\ \operatorname{logaddexp}(\beta_1 + \alpha_2, \beta_2)),

so that products of many gates underflow gracefully and no term of a sum is ever
larger than the result. (The paper's code evaluates the same recurrence with Heinsen's
cumulative sums, :math:`\log h_t = a^*_t + \operatorname{logcumsumexp}(\log b -
a^*)_t`, :math:`a^* = \operatorname{cumsum}(\log a)`; in float32 :math:`a^*` reaches
about :math:`-5000` at :math:`t = 4096` and its rounding error, about :math:`7
\cdot 10^{-4}` relative in :math:`h_t`, with it. The pairwise scan stays within
:math:`5 \cdot 10^{-7}` of a float64 loop there.) The prefix of step :math:`t` is
:math:`(\log A_t, \log B_t)` with :math:`A_t = \prod_{s \le t} a_s` and
:math:`B_t = \sum_{s \le t} (\prod_{s < r \le t} a_r)\, b_s`, and
:math:`h_t = A_t\, h_0 + B_t`. The initial state enters linearly, outside the
logarithms: unlike the paper's code, which prepends :math:`\log h_0` to the scan and
so needs :math:`h_0 > 0`, any real :math:`h_0` (negative included) works, and the
sequential mode gives the same result.

**Padding.** With ``seq_lengths`` (right padding) a padded step keeps the state:
:math:`a = 1, b = 0`, i.e. :math:`\log a = 0, \log b = -\infty`; outputs past each
length are zero and the returned carry is the state after the last valid step.

References:
  Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We Needed?", 2024,
  arXiv:2410.01201. Heinsen, "Efficient Parallelization of a Ubiquitous Sequential
  Computation", 2023, arXiv:2311.06281. Blelloch, "Prefix sums and their
  applications", 1990.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _checks, _scan, initializers
from jaxrnn.typing import Array, DType, PRNGKey

Weights = dict[str, Array]
MODES = ("parallel", "sequential")


# ---------------------------------------------------------------------------------------
# The pure math.
# ---------------------------------------------------------------------------------------


def g(x: Array) -> Array:
    r"""Candidate activation: :math:`x + 1/2` if :math:`x \ge 0`, else :math:`\sigma(x)`.

    Args:
      x: any shape.

    Returns:
      :math:`g(x) > 0`, shaped like ``x``.
    """
    return jnp.where(x >= 0, x + 0.5, jax.nn.sigmoid(x))


def log_g(x: Array) -> Array:
    r""":math:`\log g(x)`: :math:`\log(x + 1/2)` if :math:`x \ge 0`, else :math:`\log \sigma(x)`.

    Both branches are finite everywhere (``relu`` keeps the unused one away from
    :math:`\log` of a negative number), so the gradient is too.

    Args:
      x: any shape.

    Returns:
      shaped like ``x``.
    """
    return jnp.where(x >= 0, jnp.log(jax.nn.relu(x) + 0.5), -jax.nn.softplus(-x))


def _log_add_exp(x: Array, y: Array) -> Array:
    """``log(exp(x) + exp(y))``, -inf when both are, with finite gradients throughout.

    ``jnp.logaddexp`` is right in value but its derivative at -inf arguments multiplies
    by ``exp(-out)``, which overflows when the other term is small; here the padding
    values (-inf) and an all-padding prefix get exactly zero gradient.
    """
    both_empty = jnp.isneginf(x) & jnp.isneginf(y)
    x = jnp.where(both_empty, 0.0, x)
    y = jnp.where(both_empty, 0.0, y)
    out = jnp.maximum(x, y) + jnp.log1p(jnp.exp(-jnp.abs(x - y)))
    return jnp.where(both_empty, -jnp.inf, out)


def _log_combine(left: tuple[Array, Array], right: tuple[Array, Array]) -> tuple[Array, Array]:
    """The associative operator of ``log_space_scan`` (``left`` is earlier in time)."""
    log_a1, log_b1 = left
    log_a2, log_b2 = right
    return log_a1 + log_a2, _log_add_exp(log_b1 + log_a2, log_b2)


def log_space_scan(log_a: Array, log_b: Array, h0: Array | None = None) -> Array:
    r"""All states of :math:`h_t = a_t \odot h_{t-1} + b_t` at once, from log coefficients.

    A ``jax.lax.associative_scan`` over time of the pairs :math:`(\log a_t, \log b_t)`
    (see the module docstring), then :math:`h_t = A_t\, h_0 + B_t`.

    Args:
      log_a: ``(t, ...)`` :math:`\log a_t \le 0` (0 at padded steps), time-major.
      log_b: ``(t, ...)`` :math:`\log b_t` (:math:`-\infty` at padded steps).
      h0: optional ``(...)`` initial state, any sign; zero when omitted.

    Returns:
      ``(t, ...)`` the states :math:`h_1, \dots, h_t`.
    """
    log_a_prefix, log_b_prefix = jax.lax.associative_scan(_log_combine, (log_a, log_b), axis=0)
    h = jnp.exp(log_b_prefix)
    if h0 is not None:
        h = h + jnp.exp(log_a_prefix) * h0
    return h


def min_gru_coefficients(xw: Array) -> tuple[Array, Array]:
    r"""The log coefficients :math:`(\log a_t, \log b_t)` of minGRU, from the projected input.

    .. math::
        \log a_t = \log(1 - z_t) = -\operatorname{softplus}(k_z), \quad
        \log b_t = \log z_t + \log g(k_h) = -\operatorname{softplus}(-k_z) + \log g(k_h)

    Args:
      xw: ``(..., 2h)``, :math:`[k_z; k_h] = x_t W + b`.

    Returns:
      ``(log_a, log_b)``, each ``(..., h)``.
    """
    k_z, k_h = jnp.split(xw, 2, axis=-1)
    return -jax.nn.softplus(k_z), -jax.nn.softplus(-k_z) + log_g(k_h)


def _min_lstm_log_gate_difference(k_f: Array, k_i: Array) -> Array:
    # log i' - log f' = softplus(-k_f) - softplus(-k_i): then f = sigmoid(-d), i = sigmoid(d).
    return jax.nn.softplus(-k_f) - jax.nn.softplus(-k_i)


def min_lstm_coefficients(xw: Array) -> tuple[Array, Array]:
    r"""The log coefficients :math:`(\log a_t, \log b_t)` of minLSTM, from the projected input.

    With :math:`d = \log i'_t - \log f'_t = \operatorname{softplus}(-k_f) -
    \operatorname{softplus}(-k_i)`, the normalised gates are :math:`f_t = \sigma(-d)`
    and :math:`i_t = \sigma(d)`:

    .. math::
        \log a_t = \log f_t = -\operatorname{softplus}(d), \quad
        \log b_t = \log i_t + \log g(k_h) = -\operatorname{softplus}(-d) + \log g(k_h)

    Args:
      xw: ``(..., 3h)``, :math:`[k_f; k_i; k_h] = x_t W + b`.

    Returns:
      ``(log_a, log_b)``, each ``(..., h)``.
    """
    k_f, k_i, k_h = jnp.split(xw, 3, axis=-1)
    d = _min_lstm_log_gate_difference(k_f, k_i)
    return -jax.nn.softplus(d), -jax.nn.softplus(-d) + log_g(k_h)


def min_gru_linear_coefficients(xw: Array) -> tuple[Array, Array]:
    r"""The coefficients :math:`(a_t, b_t) = (1 - z_t, z_t\, g(k_h))` of minGRU, linear space.

    :math:`1 - z_t` is computed as :math:`\sigma(-k_z)`, which keeps its relative
    precision when :math:`z_t` is close to 1.

    Args:
      xw: ``(..., 2h)`` projected input :math:`[k_z; k_h]`.

    Returns:
      ``(a, b)``, each ``(..., h)``.
    """
    k_z, k_h = jnp.split(xw, 2, axis=-1)
    return jax.nn.sigmoid(-k_z), jax.nn.sigmoid(k_z) * g(k_h)


def min_gru_step(h: Array, xw: Array) -> tuple[Array, Array]:
    r"""One minGRU step, in linear space: :math:`h_t = (1 - z_t) h_{t-1} + z_t g(k_h)`.

    Args:
      h: ``(..., h)`` previous state.
      xw: ``(..., 2h)`` projected input :math:`[k_z; k_h]`.

    Returns:
      ``(h_t, h_t)``.
    """
    a, b = min_gru_linear_coefficients(xw)
    h = a * h + b
    return h, h


def min_lstm_linear_coefficients(xw: Array) -> tuple[Array, Array]:
    r"""The coefficients :math:`(a_t, b_t) = (f_t, i_t\, g(k_h))` of minLSTM, linear space.

    :math:`f_t = f'_t / (f'_t + i'_t) = \sigma(-d)` and :math:`i_t = \sigma(d)` with
    :math:`d = \log i'_t - \log f'_t` (see ``min_lstm_coefficients``).

    Args:
      xw: ``(..., 3h)`` projected input :math:`[k_f; k_i; k_h]`.

    Returns:
      ``(a, b)``, each ``(..., h)``.
    """
    k_f, k_i, k_h = jnp.split(xw, 3, axis=-1)
    d = _min_lstm_log_gate_difference(k_f, k_i)
    return jax.nn.sigmoid(-d), jax.nn.sigmoid(d) * g(k_h)


def min_lstm_step(h: Array, xw: Array) -> tuple[Array, Array]:
    r"""One minLSTM step in linear space: :math:`h_t = f_t \odot h_{t-1} + i_t \odot g(k_h)`.

    Args:
      h: ``(..., h)`` previous state.
      xw: ``(..., 3h)`` projected input :math:`[k_f; k_i; k_h]`.

    Returns:
      ``(h_t, h_t)``.
    """
    a, b = min_lstm_linear_coefficients(xw)
    h = a * h + b
    return h, h


def project_inputs(weights: Weights, x: Array) -> Array:
    """``x (..., i) -> (..., g*h)``: :math:`x W + b`, any leading axes.

    Args:
      weights: ``kernel (i, g*h)`` and, with biases, ``bias (g*h,)``.
      x: ``(..., i)``.

    Returns:
      ``(..., g*h)``.
    """
    xw = x @ weights["kernel"]
    return xw + weights["bias"] if "bias" in weights else xw


# ---------------------------------------------------------------------------------------
# Time loops (time-major). Jitted with the pure functions static, so that an eager call
# compiles once per shape; inside an outer jit they are inlined.
# ---------------------------------------------------------------------------------------


@jax.jit
def _scan_log_coefficients(
    log_a: Array, log_b: Array, h0: Array, valid: Array | None
) -> tuple[Array, Array]:
    """``(t, b, h)`` log coefficients -> ``(final (b, h), states (t, b, h))``.

    The same compiled scan serves minGRU and minLSTM: only the coefficients differ.
    """
    if valid is not None:
        log_a = jnp.where(valid, log_a, 0.0)
        log_b = jnp.where(valid, log_b, -jnp.inf)
    hs = log_space_scan(log_a, log_b, h0)
    final = hs[-1]  # padded steps keep the state, so the last one is the final carry
    if valid is not None:
        hs = jnp.where(valid, hs, 0.0)
    return final, hs


def _linear_step(h: Array, ab: tuple[Array, Array]) -> tuple[Array, Array]:
    a, b = ab
    h = a * h + b
    return h, h


@jax.jit
def _scan_linear_coefficients(
    a: Array, b: Array, h0: Array, valid: Array | None
) -> tuple[Array, Array]:
    """``(t, b, h)`` coefficients -> ``(final (b, h), states (t, b, h))``, step by step.

    The gates of every step are computed before the loop (``*_linear_coefficients``
    over the whole ``(t, b, g*h)`` projection), so the loop itself is one multiply-add
    per step: on a CPU, where the parallel scan's extra work and transcendentals are
    not paid back by parallel depth, the faster way to train.
    """
    return _scan.masked_scan(_linear_step, h0, (a, b), valid)


# ---------------------------------------------------------------------------------------
# Flax modules.
# ---------------------------------------------------------------------------------------


def _weights(module: Any, input_size: int) -> Weights:
    """Creates (or reads) ``kernel`` and ``bias`` in ``module``'s scope.

    One function for the cells and the layers, so that their variables are the same.
    """
    owner = type(module).__name__
    hidden = _checks.positive_int(owner, "hidden_size", module.hidden_size)
    fused = module.num_gates * hidden
    specs = {
        "kernel": (module.kernel_init, module.default_kernel_init, (input_size, fused)),
        "bias": (module.bias_init, module.default_bias_init, (fused,)),
    }
    if not module.use_bias:
        del specs["bias"]
    w = {}
    for name, (spec, default, shape) in specs.items():
        attribute = f"{name}_init"
        try:
            init = initializers.get(default if spec is None else spec)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{owner}: invalid `{attribute}`: {err}") from err
        if module.has_variable("params", name):
            found = tuple(module.get_variable("params", name).shape)
            if found != shape:
                raise ValueError(
                    f"{owner}: parameter `{name}` has shape {found} but the input needs "
                    f"{shape}; is the input feature size right?"
                )
        w[name] = module.param(name, init, shape, module.param_dtype)
    if module.dtype is not None:
        w = {k: v.astype(module.dtype) for k, v in w.items()}
    return w


class _MinRNNCell(nn.RNNCellBase):
    r"""Base of ``MinGRUCell`` and ``MinLSTMCell``: one step, for generation.

    Attributes:
      hidden_size: ``h``.
      kernel_init: initializer of ``kernel (i, g*h)`` (an initializer, a name or a
        ``(name, kwargs)`` pair, see ``jaxrnn.initializers.get``); default each gate's
        ``(i, h)`` block Glorot uniform, as if the paper's separate linear maps.
      bias_init: initializer of ``bias (g*h,)``; default zeros.
      use_bias: whether the linear maps have biases.
      dtype: computation dtype (None: that of the inputs and parameters).
      param_dtype: parameter dtype.
    """

    hidden_size: int
    kernel_init: Any = None
    bias_init: Any = None
    use_bias: bool = True
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    num_gates: ClassVar[int] = 1
    default_kernel_init: ClassVar[Any] = None
    default_bias_init: ClassVar[Any] = "zeros"
    step_fn: ClassVar[Callable[[Array, Array], tuple[Array, Array]]]

    @nn.compact
    def weights(self, input_size: int) -> Weights:
        """Creates (or reads) the parameters.

        Args:
          input_size: ``i``.

        Returns:
          ``{"kernel": (i, g*h), "bias": (g*h,)}`` in the computation dtype.
        """
        return _weights(self, input_size)

    def __call__(self, carry: Array, x: Array) -> tuple[Array, Array]:
        """One step, the body ``jax.lax.scan`` expects.

        Args:
          carry: ``(..., h)`` the previous state.
          x: ``(..., i)`` the step's input.

        Returns:
          ``(h_t, h_t)``, each ``(..., h)``.
        """
        owner = type(self).__name__
        _checks.array(owner, "x", x, "(..., i)")
        hidden = _checks.positive_int(owner, "hidden_size", self.hidden_size)
        carry = _checks.state(owner, "carry", carry, (*x.shape[:-1], hidden))
        w = self.weights(x.shape[-1])
        if self.dtype is not None:
            x, carry = x.astype(self.dtype), carry.astype(self.dtype)
        return type(self).step_fn(carry, project_inputs(w, x))

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> Array:
        """Zeros of shape ``input_shape[:-1] + (h,)``; ``rng`` is unused.

        Args:
          rng: unused (the signature of ``flax.linen.RNNCellBase``).
          input_shape: the shape of one step's input, ``(..., i)``.

        Returns:
          The zero state.
        """
        del rng
        hidden = _checks.positive_int(type(self).__name__, "hidden_size", self.hidden_size)
        dtype = self.param_dtype if self.dtype is None else self.dtype
        return jnp.zeros((*input_shape[:-1], hidden), dtype)

    @property
    def num_feature_axes(self) -> int:
        """One feature axis (the interface of ``flax.linen.RNN``)."""
        return 1


class MinGRUCell(_MinRNNCell):
    r"""The minGRU step (Feng et al. 2024), for generation one token at a time.

    .. math::
        z_t = \sigma(x_t W_z + b_z), \quad \tilde h_t = g(x_t W_h + b_h), \quad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    ``kernel (i, 2h)`` holds :math:`[W_z, W_h]`, ``bias (2h,)`` :math:`[b_z; b_h]`: the
    variables of a ``MinGRU`` layer apply unchanged. See the module docstring.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> cell = MinGRUCell(8)
      >>> x = jnp.ones((3, 4))                                  # (b, i), one step
      >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
      >>> variables = cell.init(jax.random.key(1), carry, x)
      >>> carry, y = cell.apply(variables, carry, x)
      >>> y.shape
      (3, 8)

    References:
      Feng et al., "Were RNNs All We Needed?", 2024, arXiv:2410.01201, section 3.1.
    """

    num_gates: ClassVar[int] = 2
    default_kernel_init: ClassVar[Any] = ("per_gate", {"init": "glorot_uniform", "num_gates": 2})
    step_fn: ClassVar[Callable[[Array, Array], tuple[Array, Array]]] = staticmethod(min_gru_step)


class MinLSTMCell(_MinRNNCell):
    r"""The minLSTM step (Feng et al. 2024), for generation one token at a time.

    .. math::
        f'_t = \sigma(x_t W_f + b_f), \quad i'_t = \sigma(x_t W_i + b_i), \quad
        \tilde h_t = g(x_t W_h + b_h) \\
        h_t = \frac{f'_t}{f'_t + i'_t} \odot h_{t-1}
            + \frac{i'_t}{f'_t + i'_t} \odot \tilde h_t

    ``kernel (i, 3h)`` holds :math:`[W_f, W_i, W_h]`, ``bias (3h,)`` the three biases:
    the variables of a ``MinLSTM`` layer apply unchanged. See the module docstring.

    References:
      Feng et al., "Were RNNs All We Needed?", 2024, arXiv:2410.01201, section 3.2.
    """

    num_gates: ClassVar[int] = 3
    default_kernel_init: ClassVar[Any] = ("per_gate", {"init": "glorot_uniform", "num_gates": 3})
    step_fn: ClassVar[Callable[[Array, Array], tuple[Array, Array]]] = staticmethod(min_lstm_step)


class _MinRNN(nn.Module):
    r"""Base of ``MinGRU`` and ``MinLSTM``: the recurrence over a whole sequence.

    Attributes:
      hidden_size: ``h``.
      mode: ``"parallel"`` (the log-space ``associative_scan``, :math:`O(\log t)`
        depth: for accelerators) or ``"sequential"`` (gates for every step at once,
        then a ``jax.lax.scan`` of one multiply-add per step: faster on a CPU, where
        there is no parallel depth to gain; ``python -m experiments benchmark``
        measures both); same parameters, same results up to rounding.
      time_major: ``x`` is ``(t, b, i)`` and outputs ``(t, b, h)``.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      kernel_init: see the cell.
      bias_init: see the cell.
      use_bias: see the cell.
      dtype: computation dtype (None: that of the inputs and parameters).
      param_dtype: parameter dtype.
    """

    hidden_size: int
    mode: str = "parallel"
    time_major: bool = False
    return_carry: bool = False
    kernel_init: Any = None
    bias_init: Any = None
    use_bias: bool = True
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    cell_type: ClassVar[type[_MinRNNCell]] = _MinRNNCell
    coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]]
    linear_coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]]

    @property
    def num_gates(self) -> int:
        """The cell's number of fused gates (2 for minGRU, 3 for minLSTM)."""
        return self.cell_type.num_gates

    @property
    def default_kernel_init(self) -> Any:
        """The cell's default kernel initializer."""
        return self.cell_type.default_kernel_init

    @property
    def default_bias_init(self) -> Any:
        """The cell's default bias initializer."""
        return self.cell_type.default_bias_init

    @nn.nowrap
    def make_cell(self) -> _MinRNNCell:
        """The step module with this layer's configuration: its variables apply to it."""
        return self.cell_type(
            hidden_size=self.hidden_size,
            kernel_init=self.kernel_init,
            bias_init=self.bias_init,
            use_bias=self.use_bias,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            parent=None,
        )

    @nn.compact
    def __call__(
        self,
        x: Array,
        seq_lengths: Array | None = None,
        *,
        initial_carry: Array | None = None,
        return_carry: bool | None = None,
        deterministic: bool = True,
        mode: str | None = None,
    ) -> Any:
        """Runs the recurrence over ``x``.

        Args:
          x: ``(b, t, i)`` (``(t, b, i)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]`` (right padding).
          initial_carry: optional ``(b, h)`` initial state, any sign; zeros if omitted.
          return_carry: overrides the attribute.
          deterministic: accepted for the sequence-layer protocol (no dropout here).
          mode: overrides the attribute.

        Returns:
          ``outputs (b, t, h)`` (zero past each length), or ``(carry, outputs)`` with
          ``return_carry``, ``carry (b, h)`` the state after the last valid step.
        """
        del deterministic  # nothing random in the recurrence
        owner = type(self).__name__
        mode = _checks.one_of(owner, "mode", self.mode if mode is None else mode, MODES)
        return_carry = self.return_carry if return_carry is None else return_carry
        hidden = _checks.positive_int(owner, "hidden_size", self.hidden_size)
        _checks.inputs(owner, x, self.time_major)
        xs = x if self.time_major else jnp.swapaxes(x, 0, 1)  # (t, b, i)
        time, batch, features = xs.shape
        lengths = None
        if seq_lengths is not None:
            lengths = _checks.seq_lengths(owner, seq_lengths, batch, time)
        w = _weights(self, features)
        if self.dtype is not None:
            xs = xs.astype(self.dtype)
        xw = project_inputs(w, xs)  # (t, b, g*h): one matmul for every step
        if initial_carry is None:
            h0 = jnp.zeros((batch, hidden), xw.dtype)
        else:
            h0 = _checks.state(owner, "initial_carry", initial_carry, (batch, hidden))
            h0 = h0.astype(jnp.promote_types(h0.dtype, xw.dtype))
        valid = _scan.time_mask(lengths, time)
        if time == 0:
            carry, hs = h0, jnp.zeros((0, batch, hidden), h0.dtype)
        elif mode == "parallel":
            log_a, log_b = type(self).coefficients_fn(xw)
            carry, hs = _scan_log_coefficients(log_a, log_b, h0, valid)
        else:
            a, b = type(self).linear_coefficients_fn(xw)
            carry, hs = _scan_linear_coefficients(a, b, h0, valid)
        outputs = hs if self.time_major else jnp.swapaxes(hs, 0, 1)
        carry, outputs = _scan.poison(seq_lengths, time, carry, outputs, self.time_major)
        return (carry, outputs) if return_carry else outputs


class MinGRU(_MinRNN):
    r"""A minGRU layer over whole sequences: parallel log-space scan or sequential scan.

    .. math::
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot g(x_t W_h + b_h), \quad
        z_t = \sigma(x_t W_z + b_z)

    Parameters ``kernel (i, 2h)`` and ``bias (2h,)``: :math:`2 d_h d_x + 2 d_h` in all.
    ``MinGRUCell`` with the same ``hidden_size`` is the step, with the same variables;
    ``make_cell()`` builds it.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> layer = MinGRU(8)
      >>> x = jnp.ones((3, 6, 4))                               # (b, t, i)
      >>> variables = layer.init(jax.random.key(0), x)
      >>> carry, y = layer.apply(variables, x[:, :2], return_carry=True)  # prompt
      >>> cell = layer.make_cell()
      >>> carry, y_next = cell.apply(variables, carry, x[:, 2])  # then step by step
      >>> y_next.shape
      (3, 8)

    References:
      Feng et al., "Were RNNs All We Needed?", 2024, arXiv:2410.01201.
    """

    cell_type: ClassVar[type[_MinRNNCell]] = MinGRUCell
    coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]] = staticmethod(
        min_gru_coefficients
    )
    linear_coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]] = staticmethod(
        min_gru_linear_coefficients
    )


class MinLSTM(_MinRNN):
    r"""A minLSTM layer over whole sequences: parallel log-space scan or sequential scan.

    .. math::
        h_t = \frac{f'_t}{f'_t + i'_t} \odot h_{t-1}
            + \frac{i'_t}{f'_t + i'_t} \odot g(x_t W_h + b_h), \quad
        f'_t = \sigma(x_t W_f + b_f), \ i'_t = \sigma(x_t W_i + b_i)

    Parameters ``kernel (i, 3h)`` and ``bias (3h,)``: :math:`3 d_h d_x + 3 d_h` in all.
    ``MinLSTMCell`` with the same ``hidden_size`` is the step, with the same variables.

    References:
      Feng et al., "Were RNNs All We Needed?", 2024, arXiv:2410.01201.
    """

    cell_type: ClassVar[type[_MinRNNCell]] = MinLSTMCell
    coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]] = staticmethod(
        min_lstm_coefficients
    )
    linear_coefficients_fn: ClassVar[Callable[[Array], tuple[Array, Array]]] = staticmethod(
        min_lstm_linear_coefficients
    )


__all__ = [
    "MODES",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "g",
    "log_g",
    "log_space_scan",
    "min_gru_coefficients",
    "min_gru_linear_coefficients",
    "min_gru_step",
    "min_lstm_coefficients",
    "min_lstm_linear_coefficients",
    "min_lstm_step",
    "project_inputs",
]
