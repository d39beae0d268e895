r"""The Linear Recurrent Unit (LRU): a diagonal complex linear recurrence, parallel in time.

Orvieto et al. (2023) show that a plain RNN matches deep state-space models on long
sequences once its recurrence is linear, diagonalised over the complex numbers,
exponentially parametrised for stability and normalised at initialisation:

.. math::
    x_k &= \Lambda \odot x_{k-1} + \gamma \odot (B u_k) \\
    y_k &= \operatorname{Re}(C x_k) + D \odot u_k \\
    \Lambda &= \exp(-\exp(\nu^{\log}) + i \exp(\theta^{\log})), \quad
    \gamma = \exp(\gamma^{\log})

with input and output ``u_k, y_k`` of size ``H`` (the model width, here the input's
feature size ``i``) and a complex state ``x_k`` of size ``N`` (``state_size``).
:math:`|\lambda_j| = \exp(-\exp(\nu^{\log}_j)) \in (0, 1)` for every real
:math:`\nu^{\log}`, so the recurrence is stable throughout training.

**Initialisation** (the paper's Lemma 3.2 and Appendix A): the eigenvalues are uniform
on the ring :math:`r_{\min} \le |\lambda| \le r_{\max}`, phase
:math:`\theta \in [0, \theta_{\max}]`: with :math:`u_1, u_2 \sim U[0, 1]`,

.. math::
    \nu = -\tfrac12 \log\big(u_1 (r_{\max}^2 - r_{\min}^2) + r_{\min}^2\big), \quad
    \theta = \theta_{\max} u_2,

so that :math:`|\lambda|^2 = e^{-2\nu}` is uniform on :math:`[r_{\min}^2,
r_{\max}^2]` (uniform area on the ring); ``nu_log`` and ``theta_log`` store the logs.
:math:`\gamma = \sqrt{1 - |\lambda|^2}` keeps the state's variance at that of
:math:`B u` for white-noise inputs; ``gamma_log`` is then trained freely. The complex
matrices are Glorot-like, :math:`B = (B^{re} + i B^{im})` with entries
:math:`\mathcal N(0, 1/(2H))` per part, :math:`C` with :math:`\mathcal N(0, 1/N)` per
part, and :math:`D \sim \mathcal N(0, 1)`.

**Parameters** (the names of the paper's code)::

    nu_log, theta_log, gamma_log   (N,)
    B_re, B_im                     (N, H)
    C_re, C_im                     (H, N)
    D                              (H,)

:math:`2NH + 2HN + H + 3N` real numbers. ``LRU`` runs a sequence ``(b, t, H) -> (b, t,
H)`` with ``jax.lax.associative_scan`` (``mode="parallel"``, training) or a
``jax.lax.scan`` of the step (``mode="sequential"``); ``LRUCell`` is the step
``__call__(carry, u) -> (carry, y)`` for generation, with the same variables. The carry
is the complex state ``x (..., N)`` (complex64 for float32 inputs).

**Precision.** In float32 both modes compute the same rounded :math:`\lambda`, whose
powers :math:`\lambda^n` drift from the exact ones by about :math:`n \epsilon`
relative: for eigenvalues within :math:`10^{-4}` of the unit circle and :math:`t =
4096` each mode is then about :math:`5 \cdot 10^{-5}` (relative to the largest
output) from a float64 evaluation of the same parameters, while the two modes agree to
about :math:`10^{-5}`; at the default ring, to about :math:`10^{-6}`. Use float64
where that matters.

References:
  Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De, "Resurrecting Recurrent Neural
  Networks for Long Sequences", ICML 2023, arXiv:2303.06349 (Appendix A: the code).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _checks, _scan
from jaxrnn.min_rnn import MODES
from jaxrnn.typing import Array, DType, Initializer, PRNGKey, Shape

Weights = dict[str, Array]
DEFAULT_MAX_PHASE = 2.0 * math.pi


# ---------------------------------------------------------------------------------------
# Initializers (the signature of jax.nn.initializers).
# ---------------------------------------------------------------------------------------


def check_ring(owner: str, r_min: Any, r_max: Any, max_phase: Any) -> tuple[float, float, float]:
    """Validates the ring of initial eigenvalues.

    Args:
      owner: the caller's name, for the message.
      r_min: the smallest modulus, in ``[0, r_max)``.
      r_max: the largest modulus, in ``(r_min, 1]``.
      max_phase: the largest phase, > 0.

    Returns:
      ``(r_min, r_max, max_phase)`` as floats.
    """
    r_min = _checks.real(owner, "r_min", r_min)
    r_max = _checks.real(owner, "r_max", r_max)
    max_phase = _checks.real(owner, "max_phase", max_phase)
    if not 0.0 <= r_min < r_max <= 1.0:
        raise ValueError(
            f"{owner}: expected 0 <= `r_min` < `r_max` <= 1, got r_min={r_min!r} and "
            f"r_max={r_max!r}"
        )
    if max_phase <= 0.0:
        raise ValueError(f"{owner}: expected `max_phase` > 0, got {max_phase!r}")
    return r_min, r_max, max_phase


def _uniform_open(key: PRNGKey, shape: Shape, dtype: DType) -> Array:
    # U(0, 1) without 0, whose log would make a parameter infinite.
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


def _compute_dtype(owner: str, dtype: DType) -> Any:
    return _checks.float_dtype(owner, dtype)[1]


def nu_log_init(r_min: float = 0.0, r_max: float = 1.0) -> Initializer:
    r"""``nu_log`` of eigenvalues uniform on the ring :math:`r_{\min} \le |\lambda| \le r_{\max}`.

    .. math::
        \nu^{\log} = \log\big(-\tfrac12 \log(u (r_{\max}^2 - r_{\min}^2) + r_{\min}^2)\big),
        \quad u \sim U(0, 1),

    so that :math:`|\lambda|^2 = \exp(-2 \exp(\nu^{\log}))` is uniform on
    :math:`[r_{\min}^2, r_{\max}^2]`.

    Args:
      r_min: the smallest modulus, in ``[0, r_max)``.
      r_max: the largest modulus, in ``(r_min, 1]``.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      Orvieto et al., ICML 2023, arXiv:2303.06349, Lemma 3.2 and Appendix A.
    """
    r_min, r_max, _ = check_ring("nu_log_init", r_min, r_max, 1.0)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        compute = _compute_dtype("nu_log_init", dtype)
        u = _uniform_open(key, shape, compute)
        modulus_squared = u * (r_max**2 - r_min**2) + r_min**2
        # The largest value below 1 keeps nu > 0, so that its log is finite at r_max = 1.
        modulus_squared = jnp.clip(
            modulus_squared, jnp.finfo(compute).tiny, 1.0 - jnp.finfo(compute).epsneg
        )
        return jnp.log(-0.5 * jnp.log(modulus_squared)).astype(dtype)

    return init


def theta_log_init(max_phase: float = DEFAULT_MAX_PHASE) -> Initializer:
    r"""``theta_log`` of phases uniform on :math:`[0, \theta_{\max}]`: :math:`\log \theta_{\max} u`.

    Args:
      max_phase: :math:`\theta_{\max} > 0` (:math:`2\pi`: the whole circle).

    Returns:
      ``init(key, shape, dtype)``.

    References:
      Orvieto et al., ICML 2023, arXiv:2303.06349, Appendix A.
    """
    _, _, max_phase = check_ring("theta_log_init", 0.0, 1.0, max_phase)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        compute = _compute_dtype("theta_log_init", dtype)
        return jnp.log(max_phase * _uniform_open(key, shape, compute)).astype(dtype)

    return init


def gamma_log_of(nu_log: Array) -> Array:
    r"""The normalisation :math:`\log\sqrt{1 - |\lambda|^2}` for ``nu_log``.

    :math:`1 - |\lambda|^2 = -\operatorname{expm1}(-2 \exp(\nu^{\log}))`, exact to
    rounding even for :math:`|\lambda|` within float precision of 1.

    Args:
      nu_log: ``(N,)``.

    Returns:
      ``(N,)`` ``gamma_log``.
    """
    return 0.5 * jnp.log(-jnp.expm1(-2.0 * jnp.exp(nu_log)))


def scaled_normal(scale: float) -> Initializer:
    r""":math:`\mathcal N(0, 1) / \text{scale}` entries (the paper's ``matrix_init``).

    Args:
      scale: the divisor, > 0.

    Returns:
      ``init(key, shape, dtype)``.
    """
    scale = _checks.real("scaled_normal", "scale", scale)
    if scale <= 0:
        raise ValueError(f"scaled_normal: expected `scale` > 0, got {scale!r}")

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        compute = _compute_dtype("scaled_normal", dtype)
        return (jax.random.normal(key, shape, compute) / scale).astype(dtype)

    return init


def eigenvalues(nu_log: Array, theta_log: Array) -> Array:
    r""":math:`\lambda = \exp(-\exp(\nu^{\log}) + i \exp(\theta^{\log}))`.

    Args:
      nu_log: ``(N,)``.
      theta_log: ``(N,)``.

    Returns:
      ``(N,)`` complex.
    """
    return jnp.exp(-jnp.exp(nu_log) + 1j * jnp.exp(theta_log))


# ---------------------------------------------------------------------------------------
# The pure math.
# ---------------------------------------------------------------------------------------


def effective_weights(params: Weights) -> Weights:
    r"""The complex operators of the recurrence from the real parameters.

    Args:
      params: ``nu_log, theta_log, gamma_log (N,)``, ``B_re, B_im (N, H)``,
        ``C_re, C_im (H, N)``, ``D (H,)``.

    Returns:
      ``lambda (N,)`` complex, ``B (N, H)`` complex, normalised by :math:`\gamma`,
      ``C (H, N)`` complex and ``D (H,)``.
    """
    gamma = jnp.exp(params["gamma_log"])
    return {
        "lambda": eigenvalues(params["nu_log"], params["theta_log"]),
        "B": (params["B_re"] + 1j * params["B_im"]) * gamma[:, None],
        "C": params["C_re"] + 1j * params["C_im"],
        "D": params["D"],
    }


def input_drive(weights: Weights, u: Array) -> Array:
    r""":math:`\gamma \odot (B u)` for ``u (..., H)``, any leading axes: ``(..., N)`` complex.

    Args:
      weights: as ``effective_weights`` returns them.
      u: ``(..., H)``.

    Returns:
      ``(..., N)``.
    """
    return u @ weights["B"].T


def readout(weights: Weights, x: Array, u: Array) -> Array:
    r""":math:`y = \operatorname{Re}(C x) + D \odot u`, any leading axes.

    Args:
      weights: as ``effective_weights`` returns them.
      x: ``(..., N)`` complex states.
      u: ``(..., H)`` inputs.

    Returns:
      ``(..., H)`` real.
    """
    c = weights["C"]
    # Re(C x) = C_re x_re - C_im x_im, without forming the imaginary part.
    return x.real @ c.real.T - x.imag @ c.imag.T + weights["D"] * u


def lru_step(weights: Weights, x: Array, u: Array) -> tuple[Array, Array]:
    r"""One step: :math:`x_k = \lambda \odot x_{k-1} + \gamma \odot (B u_k)`, then the readout.

    Args:
      weights: as ``effective_weights`` returns them.
      x: ``(..., N)`` complex previous state.
      u: ``(..., H)`` input.

    Returns:
      ``(x_k, y_k)``: ``(..., N)`` complex and ``(..., H)`` real.
    """
    x = weights["lambda"] * x + input_drive(weights, u)
    return x, readout(weights, x, u)


def _linear_combine(left: tuple[Array, Array], right: tuple[Array, Array]) -> tuple[Array, Array]:
    """``(a1, b1) • (a2, b2) = (a1 a2, a2 b1 + b2)``, ``left`` earlier in time."""
    a1, b1 = left
    a2, b2 = right
    return a1 * a2, a2 * b1 + b2


def linear_scan(a: Array, b: Array, x0: Array | None = None) -> Array:
    r"""All states of :math:`x_k = a_k \odot x_{k-1} + b_k` by ``jax.lax.associative_scan``.

    The prefix of step :math:`k` is :math:`(A_k, X_k)`, :math:`A_k = \prod_{j \le k}
    a_j`, and :math:`x_k = A_k x_0 + X_k`.

    Args:
      a: ``(t, ...)`` coefficients, time-major (1 at padded steps).
      b: ``(t, ...)`` inputs (0 at padded steps).
      x0: optional ``(...)`` initial state; zero when omitted.

    Returns:
      ``(t, ...)`` the states :math:`x_1, \dots, x_t`.
    """
    a_prefix, x = jax.lax.associative_scan(_linear_combine, (a, b), axis=0)
    if x0 is not None:
        x = x + a_prefix * x0
    return x


@jax.jit
def _parallel(weights: Weights, us: Array, x0: Array, valid: Array | None) -> tuple[Array, Array]:
    """``us (t, b, H)`` -> ``(final (b, N), ys (t, b, H))`` by the parallel scan."""
    drive = input_drive(weights, us)  # (t, b, N): one matmul for every step
    a = jnp.broadcast_to(weights["lambda"].astype(drive.dtype), drive.shape)
    if valid is not None:
        a = jnp.where(valid, a, jnp.ones((), a.dtype))
        drive = jnp.where(valid, drive, jnp.zeros((), drive.dtype))
    xs = linear_scan(a, drive, x0)
    ys = readout(weights, xs, us)
    if valid is not None:
        ys = jnp.where(valid, ys, 0.0)
    return xs[-1], ys


@jax.jit
def _sequential(weights: Weights, us: Array, x0: Array, valid: Array | None) -> tuple[Array, Array]:
    """``us (t, b, H)`` -> ``(final (b, N), ys (t, b, H))`` by a scan of ``lru_step``."""
    return _scan.masked_scan(functools.partial(lru_step, weights), x0, us, valid)


# ---------------------------------------------------------------------------------------
# Flax modules.
# ---------------------------------------------------------------------------------------


def _parameters(module: Any, input_size: int) -> Weights:
    """Creates (or reads) the LRU parameters in ``module``'s scope; returns them.

    One function for the cell and the layer, so that their variables are the same.
    """
    owner = type(module).__name__
    n = _checks.positive_int(owner, "state_size", module.state_size)
    r_min, r_max, max_phase = check_ring(owner, module.r_min, module.r_max, module.max_phase)
    h = int(input_size)
    expected = {
        "nu_log": (n,), "theta_log": (n,), "gamma_log": (n,), "B_re": (n, h),
        "B_im": (n, h), "C_re": (h, n), "C_im": (h, n), "D": (h,),
    }  # fmt: skip
    for name, shape in expected.items():
        if module.has_variable("params", name):
            found = tuple(module.get_variable("params", name).shape)
            if found != shape:
                raise ValueError(
                    f"{owner}: parameter `{name}` has shape {found} but the input and "
                    f"`state_size` need {shape}; is the input feature size right?"
                )
    dtype = module.param_dtype
    p = {
        "nu_log": module.param("nu_log", nu_log_init(r_min, r_max), (n,), dtype),
        "theta_log": module.param("theta_log", theta_log_init(max_phase), (n,), dtype),
    }
    p["gamma_log"] = module.param("gamma_log", lambda key: gamma_log_of(p["nu_log"]))
    b_init, c_init = scaled_normal(math.sqrt(2 * h)), scaled_normal(math.sqrt(n))
    p["B_re"] = module.param("B_re", b_init, (n, h), dtype)
    p["B_im"] = module.param("B_im", b_init, (n, h), dtype)
    p["C_re"] = module.param("C_re", c_init, (h, n), dtype)
    p["C_im"] = module.param("C_im", c_init, (h, n), dtype)
    p["D"] = module.param("D", scaled_normal(1.0), (h,), dtype)
    if module.dtype is not None:
        # The eigenvalue parameters stay in the parameter dtype whatever the compute
        # dtype: |lambda| = exp(-exp(nu_log)) sits within 1e-3 of 1, and bfloat16's 8-bit
        # mantissa in nu_log moves it by a relative 0.4%, which 200 steps compound into a
        # 10-25% error. The complex recurrence runs in complex64 anyway.
        eigen = ("nu_log", "theta_log", "gamma_log")  # never narrower than the parameters
        p = {
            k: v.astype(jnp.promote_types(v.dtype, module.dtype) if k in eigen else module.dtype)
            for k, v in p.items()
        }
    return p


def _complex_dtype(dtype: DType) -> Any:
    return jnp.result_type(dtype, jnp.complex64)


class LRUCell(nn.RNNCellBase):
    r"""The LRU step (Orvieto et al. 2023), for generation one step at a time.

    .. math::
        x_k = \lambda \odot x_{k-1} + \gamma \odot (B u_k), \quad
        y_k = \operatorname{Re}(C x_k) + D \odot u_k

    The carry is the complex state ``x (..., N)``; the output has the input's size
    ``H``. The variables of an ``LRU`` layer apply unchanged. See the module docstring.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> cell = LRUCell(state_size=8)
      >>> u = jnp.ones((3, 4))                                  # (b, H), one step
      >>> carry = cell.initialize_carry(jax.random.key(0), u.shape)
      >>> variables = cell.init(jax.random.key(1), carry, u)
      >>> carry, y = cell.apply(variables, carry, u)
      >>> carry.shape, carry.dtype, y.shape
      ((3, 8), dtype('complex64'), (3, 4))

    Attributes:
      state_size: ``N``, the number of complex state units.
      r_min: smallest initial eigenvalue modulus, in ``[0, r_max)``.
      r_max: largest initial eigenvalue modulus, in ``(r_min, 1]`` (the paper uses
        ``r_min=0.9, r_max=0.999`` on the Long Range Arena).
      max_phase: initial phases uniform on ``[0, max_phase]``.
      dtype: computation dtype (None: that of the inputs and parameters); the state
        is complex, complex64 at least (there is no complex bfloat16 or float16).
      param_dtype: parameter dtype.

    References:
      Orvieto et al., "Resurrecting Recurrent Neural Networks for Long Sequences", ICML
      2023, arXiv:2303.06349.
    """

    state_size: int
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = DEFAULT_MAX_PHASE
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    @nn.compact
    def weights(self, input_size: int) -> Weights:
        """Creates (or reads) the parameters; returns the effective complex weights.

        Args:
          input_size: ``H``.

        Returns:
          See ``effective_weights``.
        """
        return effective_weights(_parameters(self, input_size))

    def __call__(self, carry: Array, u: Array) -> tuple[Array, Array]:
        """One step, the body ``jax.lax.scan`` expects.

        Args:
          carry: ``(..., N)`` complex previous state.
          u: ``(..., H)`` input.

        Returns:
          ``(x_k, y_k)``: ``(..., N)`` complex and ``(..., H)``.
        """
        owner = type(self).__name__
        _checks.array(owner, "u", u, "(..., H)")
        n = _checks.positive_int(owner, "state_size", self.state_size)
        carry = _checks.state(owner, "carry", carry, (*u.shape[:-1], n))
        w = self.weights(u.shape[-1])
        if self.dtype is not None:
            u = u.astype(self.dtype)
            carry = carry.astype(_complex_dtype(self.dtype))
        carry, y = lru_step(w, carry, u)
        return carry, y if self.dtype is None else y.astype(self.dtype)

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> Array:
        """Complex zeros of shape ``input_shape[:-1] + (N,)``; ``rng`` is unused.

        Args:
          rng: unused (the signature of ``flax.linen.RNNCellBase``).
          input_shape: the shape of one step's input, ``(..., H)``.

        Returns:
          The zero state.
        """
        del rng
        n = _checks.positive_int(type(self).__name__, "state_size", self.state_size)
        dtype = self.param_dtype if self.dtype is None else self.dtype
        return jnp.zeros((*input_shape[:-1], n), _complex_dtype(dtype))

    @property
    def num_feature_axes(self) -> int:
        """One feature axis (the interface of ``flax.linen.RNN``)."""
        return 1


class LRU(nn.Module):
    r"""An LRU layer over whole sequences: ``jax.lax.associative_scan`` or sequential scan.

    .. math::
        x_k = \lambda \odot x_{k-1} + \gamma \odot (B u_k), \quad
        y_k = \operatorname{Re}(C x_k) + D \odot u_k, \quad
        \lambda = \exp(-\exp(\nu^{\log}) + i \exp(\theta^{\log}))

    ``(b, t, H) -> (b, t, H)``. Parameters ``nu_log, theta_log, gamma_log (N,)``,
    ``B_re, B_im (N, H)``, ``C_re, C_im (H, N)``, ``D (H,)``: :math:`4NH + H + 3N`.
    ``LRUCell`` with the same configuration (``make_cell()``) is the step, with the
    same variables. With ``seq_lengths`` a padded step keeps the state
    (:math:`a = 1, b = 0`) and outputs zero.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> layer = LRU(state_size=8, r_min=0.9, r_max=0.999)
      >>> u = jnp.ones((3, 6, 4))                              # (b, t, H)
      >>> variables = layer.init(jax.random.key(0), u)
      >>> layer.apply(variables, u).shape
      (3, 6, 4)

    Attributes:
      state_size: ``N``.
      r_min: see ``LRUCell``.
      r_max: see ``LRUCell``.
      max_phase: see ``LRUCell``.
      mode: ``"parallel"`` (``jax.lax.associative_scan``, for training) or
        ``"sequential"`` (``jax.lax.scan`` of the step).
      time_major: ``x`` is ``(t, b, H)`` and outputs ``(t, b, H)``.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      dtype: computation dtype (None: that of the inputs and parameters).
      param_dtype: parameter dtype.

    References:
      Orvieto et al., "Resurrecting Recurrent Neural Networks for Long Sequences", ICML
      2023, arXiv:2303.06349.
    """

    state_size: int
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = DEFAULT_MAX_PHASE
    mode: str = "parallel"
    time_major: bool = False
    return_carry: bool = False
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    @nn.nowrap
    def make_cell(self) -> LRUCell:
        """The step module with this layer's configuration: its variables apply to it."""
        return LRUCell(
            state_size=self.state_size,
            r_min=self.r_min,
            r_max=self.r_max,
            max_phase=self.max_phase,
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
          x: ``(b, t, H)`` (``(t, b, H)`` if ``time_major``).
          seq_lengths: optional ``(b,)`` integers in ``[0, t]`` (right padding).
          initial_carry: optional ``(b, N)`` (complex) initial state; zeros if omitted.
          return_carry: overrides the attribute.
          deterministic: accepted for the sequence-layer protocol (no dropout here).
          mode: overrides the attribute.

        Returns:
          ``outputs (b, t, H)`` (zero past each length), or ``(carry, outputs)`` with
          ``return_carry``, ``carry (b, N)`` complex, the state after the last valid step.
        """
        del deterministic  # nothing random in the recurrence
        owner = type(self).__name__
        mode = _checks.one_of(owner, "mode", self.mode if mode is None else mode, MODES)
        return_carry = self.return_carry if return_carry is None else return_carry
        n = _checks.positive_int(owner, "state_size", self.state_size)
        _checks.inputs(owner, x, self.time_major)
        us = x if self.time_major else jnp.swapaxes(x, 0, 1)  # (t, b, H)
        time, batch, features = us.shape
        lengths = None
        if seq_lengths is not None:
            lengths = _checks.seq_lengths(owner, seq_lengths, batch, time)
        w = effective_weights(_parameters(self, features))
        if self.dtype is not None:
            us = us.astype(self.dtype)
        state_dtype = _complex_dtype(jnp.result_type(us.dtype, w["B"].dtype))
        if initial_carry is None:
            x0 = jnp.zeros((batch, n), state_dtype)
        else:
            x0 = _checks.state(owner, "initial_carry", initial_carry, (batch, n))
            x0 = x0.astype(jnp.promote_types(x0.dtype, state_dtype))
        valid = _scan.time_mask(lengths, time)
        if time == 0:
            carry, ys = x0, jnp.zeros((0, batch, features), us.dtype)
        elif mode == "parallel":
            carry, ys = _parallel(w, us, x0, valid)
        else:
            carry, ys = _sequential(w, us, x0, valid)
        if self.dtype is not None:
            ys = ys.astype(self.dtype)  # the complex state is at least complex64
        outputs = ys if self.time_major else jnp.swapaxes(ys, 0, 1)
        carry, outputs = _scan.poison(seq_lengths, time, carry, outputs, self.time_major)
        return (carry, outputs) if return_carry else outputs


__all__ = [
    "DEFAULT_MAX_PHASE",
    "LRU",
    "MODES",
    "LRUCell",
    "check_ring",
    "effective_weights",
    "eigenvalues",
    "gamma_log_of",
    "input_drive",
    "linear_scan",
    "lru_step",
    "nu_log_init",
    "readout",
    "scaled_normal",
    "theta_log_init",
]
