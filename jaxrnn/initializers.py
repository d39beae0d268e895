r"""PRNG-keyed weight initializers: ``init(key, shape, dtype) -> Array``.

Every public factory here returns a function with the signature of
``jax.nn.initializers``, so it drops into ``flax.linen.Module.param`` anywhere::

    kernel = self.param("kernel", jaxrnn.initializers.glorot_uniform(), (i, h))

The catalogue follows the seed articles on weight initialisation: constant, normal,
uniform and truncated-normal samplers; variance scaling (Glorot/Xavier, He/Kaiming,
LeCun); orthogonal (QR or SVD) and identity recurrences; samplers with a prescribed
spectral radius or largest singular value (the knobs of Pascanu et al.'s vanishing and
exploding conditions); per-gate drawing and LSTM forget-gate / chrono biases.

Conventions:

* Dense kernels are ``(fan_in, fan_out)`` as in Flax (``in_axis=-2``, ``out_axis=-1``),
  the transpose of PyTorch's ``(out, in)`` ``weight``.
* Random samplers compute in float32 (float64 when asked for float64 with x64 on) and
  cast at the end, so a bfloat16 or float16 draw is the float32 draw rounded: the same
  key gives the same weights in every precision.
* Where ``jax.nn.initializers`` computes exactly the same thing (zeros, ones, constant,
  normal, variance scaling and its named variants, QR orthogonal) it is called, and the
  tests check the agreement.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _checks
from jaxrnn import _lapack as lapack
from jaxrnn.typing import Array, DType, Initializer, PRNGKey, Shape

_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
_ORTHOGONAL_METHODS = ("qr", "svd")
_LSTM_GATES = 4  # i, f, g, o


# ---------------------------------------------------------------------------------------
# Argument checking shared by every factory.
# ---------------------------------------------------------------------------------------


_real = _checks.real


def _positive(fn: str, name: str, value: Any) -> float:
    out = _real(fn, name, value)
    if out <= 0:
        raise ValueError(f"{fn}: expected `{name}` > 0, got {value!r}")
    return out


def _shape(fn: str, shape: Shape) -> tuple[int, ...]:
    try:
        dims = tuple(shape)
    except TypeError as err:
        raise TypeError(f"{fn}: expected `shape` to be a sequence of ints, got {shape!r}") from err
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise TypeError(
                f"{fn}: expected `shape` to be a sequence of non-negative ints, got {shape!r}"
            )
    return tuple(int(d) for d in dims)


def _min_rank(fn: str, shape: tuple[int, ...], rank: int = 2) -> None:
    if len(shape) < rank:
        raise ValueError(
            f"{fn}: expected a `shape` of rank >= {rank}, got {shape} of rank {len(shape)}"
        )


_float_dtype = _checks.float_dtype


def _gate_axis(fn: str, shape: tuple[int, ...], num_gates: int, axis: int = -1) -> int:
    _min_rank(fn, shape, 1)
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{fn}: `axis`={axis} is out of range for shape {shape}")
    axis %= len(shape)
    if shape[axis] % num_gates:
        raise ValueError(
            f"{fn}: expected `shape[{axis}]` divisible by the number of gates {num_gates}, "
            f"got shape {shape}"
        )
    return axis


# ---------------------------------------------------------------------------------------
# Constants.
# ---------------------------------------------------------------------------------------


def zeros(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
    """All zeros (the usual bias). ``key`` is ignored.

    Args:
      key: unused; kept for the common signature.
      shape: any shape.
      dtype: the output dtype.

    Returns:
      ``jnp.zeros(shape, dtype)``.
    """
    return jax.nn.initializers.zeros(key, _shape("zeros", shape), dtype)


def ones(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
    """All ones (e.g. a layer-norm scale). ``key`` is ignored.

    Args:
      key: unused; kept for the common signature.
      shape: any shape.
      dtype: the output dtype.

    Returns:
      ``jnp.ones(shape, dtype)``.
    """
    return jax.nn.initializers.ones(key, _shape("ones", shape), dtype)


def constant(value: float) -> Initializer:
    """Fills every entry with ``value``.

    E.g. a ReLU bias of 0.01, a common recipe to keep units active early in training
    (Goodfellow, Bengio & Courville 2016, section 8.4).

    Args:
      value: the constant (a real number).

    Returns:
      ``init(key, shape, dtype)``; ``key`` is ignored.
    """
    value = _real("constant", "value", value)
    base = jax.nn.initializers.constant(value)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        return base(key, _shape("constant", shape), dtype)

    return init


# ---------------------------------------------------------------------------------------
# Plain distributions.
# ---------------------------------------------------------------------------------------


def normal(stddev: float = 0.01, mean: float = 0.0) -> Initializer:
    r"""Samples :math:`w \sim \mathcal{N}(\text{mean}, \text{stddev}^2)`.

    Args:
      stddev: standard deviation, > 0. The default 0.01 is the classic "small random values",
        which vanish in deep stacks (Glorot & Bengio 2010).
      mean: the mean.

    Returns:
      ``init(key, shape, dtype)``.

    Examples:
      >>> import jax
      >>> w = normal(0.1)(jax.random.key(0), (3, 4))
      >>> w.shape, str(w.dtype)
      ((3, 4), 'float32')
    """
    stddev = _positive("normal", "stddev", stddev)
    mean = _real("normal", "mean", mean)
    base = jax.nn.initializers.normal(stddev)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype("normal", dtype)
        out = base(key, _shape("normal", shape), compute)
        if mean:
            out = out + jnp.asarray(mean, compute)
        return out.astype(dtype)

    return init


def uniform(low: float = -0.05, high: float = 0.05) -> Initializer:
    r"""Samples :math:`w \sim U[\text{low}, \text{high})`.

    Unlike ``jax.nn.initializers.uniform(scale)``, which draws from ``[0, scale)``, the
    default here is symmetric around zero (Keras' ``RandomUniform``).

    Args:
      low: lower bound.
      high: upper bound, > ``low``.

    Returns:
      ``init(key, shape, dtype)``.
    """
    low = _real("uniform", "low", low)
    high = _real("uniform", "high", high)
    if not high > low:
        raise ValueError(f"uniform: expected `high` > `low`, got low={low}, high={high}")

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype("uniform", dtype)
        shape = _shape("uniform", shape)
        return jax.random.uniform(key, shape, compute, low, high).astype(dtype)

    return init


def _std_truncated_standard_normal(a: float, b: float) -> float:
    """Standard deviation of N(0, 1) truncated to [a, b] (float64).

    Wide intervals use the closed form; on an interval narrower than 1 its variance,
    about :math:`(b - a)^2 / 12`, is a difference of terms near 1 and loses every digit
    as the interval shrinks, so there the moments are integrated instead (64-point
    Gauss-Legendre, exact to rounding for a density this smooth on so short an
    interval), about the midpoint and with the density relative to its value there.
    """
    if b - a < 1.0:
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        nodes, weights = np.polynomial.legendre.leggauss(64)
        u = half * nodes  # x - mid
        density = weights * np.exp(-u * (u + 2.0 * mid) / 2.0)  # phi(x) / phi(mid)
        mean = np.sum(density * u) / np.sum(density)
        return float(np.sqrt(np.sum(density * (u - mean) ** 2) / np.sum(density)))
    sqrt2 = math.sqrt(2.0)

    def pdf(x: float) -> float:
        return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)

    # Mass in [a, b] from the tail that avoids cancellation.
    if a >= 0:
        mass = 0.5 * (math.erfc(a / sqrt2) - math.erfc(b / sqrt2))
    elif b <= 0:
        mass = 0.5 * (math.erfc(-b / sqrt2) - math.erfc(-a / sqrt2))
    else:
        mass = 0.5 * (math.erf(b / sqrt2) - math.erf(a / sqrt2))
    mean = (pdf(a) - pdf(b)) / mass
    var = 1.0 + (a * pdf(a) - b * pdf(b)) / mass - mean * mean
    return math.sqrt(max(var, 0.0))


def _truncated_normal_scale(lower: float, upper: float) -> float:
    r"""Solves for s with std(N(0, s^2) truncated to [lower, upper]) = 1.

    The std of the truncated distribution grows monotonically in ``s`` from 0 to that of
    U[lower, upper], :math:`(upper - lower) / \sqrt{12}`, so a root exists iff that
    exceeds 1; bisection on :math:`\log s` finds it to double precision.
    """

    def std(s: float) -> float:
        return s * _std_truncated_standard_normal(lower / s, upper / s)

    lo, hi = 1e-6, 1e7
    if std(hi) <= 1.0:
        raise ValueError(
            "truncated_normal: the bounds are too narrow for the requested stddev: "
            f"`upper` - `lower` = {upper - lower:g} (in units of stddev) must exceed "
            f"sqrt(12) = {math.sqrt(12.0):.4f}, the width of a uniform with that stddev"
        )
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if std(mid) < 1.0:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1.0 < 1e-15:
            break
    return math.sqrt(lo * hi)


def truncated_normal(
    stddev: float = 1.0, mean: float = 0.0, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    r"""A normal truncated to an interval, with the requested standard deviation.

    Every sample lies in :math:`[\mu + \text{lower}\,\sigma, \mu + \text{upper}\,\sigma]`
    (:math:`\mu` = ``mean``, :math:`\sigma` = ``stddev``) and the samples' standard
    deviation is exactly :math:`\sigma` (a given mean and variance within a given
    interval). The underlying normal :math:`\mathcal{N}(\mu, (s\sigma)^2)` is
    cut at :math:`[\text{lower}, \text{upper}] / s`, with the scale :math:`s \ge 1`
    solved for once when the initializer is built:

    .. math::
        s^2 \left[1 + \frac{\alpha\phi(\alpha) - \beta\phi(\beta)}{Z}
        - \left(\frac{\phi(\alpha) - \phi(\beta)}{Z}\right)^2\right] = 1, \quad
        \alpha = \text{lower}/s,\ \beta = \text{upper}/s,\ Z = \Phi(\beta) - \Phi(\alpha).

    For the default :math:`\pm 2` this gives :math:`s \approx 1.378`, a cut at about
    :math:`\pm 1.451` of the underlying normal's own sigma.

    How this differs from ``jax.nn.initializers.truncated_normal(stddev)``: there
    ``stddev`` is the scale of the normal *before* truncation at :math:`\pm 2` of it, so
    its samples have standard deviation :math:`0.880\,\sigma`, not :math:`\sigma`.
    (``variance_scaling(..., "truncated_normal")`` corrects for this by the constant
    0.8796 and keeps the :math:`\pm 2` cut of the underlying normal.)

    With asymmetric bounds the samples' mean moves from ``mean`` towards the wider side;
    their standard deviation is still ``stddev``.

    Args:
      stddev: the samples' standard deviation, > 0.
      mean: centre of the underlying normal (the samples' mean for symmetric bounds).
      lower: lower bound, in units of ``stddev`` relative to ``mean``.
      upper: upper bound, in units of ``stddev``; ``upper - lower`` must exceed
        :math:`\sqrt{12} \approx 3.464` (the width of a uniform with unit std), or no
        distribution on the interval reaches the requested spread.

    Returns:
      ``init(key, shape, dtype)``.

    Raises:
      ValueError: non-positive ``stddev``, ``upper <= lower`` or bounds too narrow.

    References:
      Wikipedia, "Truncated normal distribution" (moments).
    """
    fn = "truncated_normal"
    stddev = _positive(fn, "stddev", stddev)
    mean = _real(fn, "mean", mean)
    lower = _real(fn, "lower", lower)
    upper = _real(fn, "upper", upper)
    if not upper > lower:
        raise ValueError(f"{fn}: expected `upper` > `lower`, got lower={lower}, upper={upper}")
    scale = _truncated_normal_scale(lower, upper)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        z = jax.random.truncated_normal(key, lower / scale, upper / scale, shape, compute)
        out = mean + (scale * stddev) * z
        # Rounding of the affine map may step over a bound by an ulp: clip it back.
        out = jnp.clip(out, mean + lower * stddev, mean + upper * stddev)
        return out.astype(dtype)

    init.scale = scale  # the solved s, for inspection
    return init


# ---------------------------------------------------------------------------------------
# Variance scaling and its named variants.
# ---------------------------------------------------------------------------------------


def _axes(value: int | Sequence[int]) -> tuple[int, ...]:
    return (value,) if isinstance(value, numbers.Integral) else tuple(value)


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
) -> Initializer:
    r"""Zero-mean samples with variance ``scale / n``, ``n`` a fan of the shape.

    .. math::
        \mathrm{Var}[w] = \frac{\text{scale}}{n}, \quad n = \begin{cases}
        n_\text{in} & \text{fan\_in} \\ n_\text{out} & \text{fan\_out} \\
        (n_\text{in} + n_\text{out}) / 2 & \text{fan\_avg} \\
        \sqrt{n_\text{in} n_\text{out}} & \text{fan\_geo\_avg}\end{cases}

    The fans multiply the ``in_axis`` / ``out_axis`` sizes by the receptive field, the
    product of every axis not named in ``in_axis``, ``out_axis`` or ``batch_axis``, so
    an N-D convolution kernel ``(*spatial, in, out)`` gets
    :math:`n_\text{in} = \text{in} \cdot \prod \text{spatial}`. ``uniform`` draws from
    :math:`U[-\sqrt{3\,\text{scale}/n}, \sqrt{3\,\text{scale}/n}]`; ``truncated_normal``
    cuts the underlying normal at :math:`\pm 2` of its own sigma and rescales so the
    variance is exact (Keras, ``jax.nn.initializers``).

    This delegates to ``jax.nn.initializers.variance_scaling`` after checking the
    arguments.

    Args:
      scale: variance multiplier, > 0 (1 for LeCun/Glorot, 2 for He, gain**2 in
        ``torch.nn.init`` terms).
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
      in_axis: axis or axes of the input dimension.
      out_axis: axis or axes of the output dimension.
      batch_axis: axes ignored by the fan computation (e.g. a stack of kernels).

    Returns:
      ``init(key, shape, dtype)``.

    Raises:
      ValueError: non-positive scale, unknown mode or distribution, or (on call) a
        shape without the named axes.

    References:
      Glorot & Bengio, "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS 2010. He et al., "Delving Deep into Rectifiers",
      ICCV 2015. LeCun et al., "Efficient BackProp", 1998.
    """
    fn = "variance_scaling"
    scale = _positive(fn, "scale", scale)
    if mode not in _MODES:
        raise ValueError(f"{fn}: expected `mode` in {_MODES}, got {mode!r}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"{fn}: expected `distribution` in {_DISTRIBUTIONS}, got {distribution!r}")
    named_axes = _axes(in_axis) + _axes(out_axis) + _axes(batch_axis)
    base = jax.nn.initializers.variance_scaling(
        scale, mode, distribution, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        if not shape:
            raise ValueError(f"{fn}: cannot compute fans of an empty `shape` ()")
        for ax in named_axes:
            if not -len(shape) <= ax < len(shape):
                raise ValueError(
                    f"{fn}: axis {ax} (in_axis={in_axis}, out_axis={out_axis}, "
                    f"batch_axis={batch_axis}) is out of range for `shape` {shape}; "
                    "a fan needs a shape of rank >= 2 with the default axes"
                )
        if 0 in shape:
            return jnp.zeros(shape, dtype)
        return base(key, shape, compute).astype(dtype)

    return init


def _normal_distribution(fn: str, truncated: bool) -> str:
    """``variance_scaling``'s distribution for the ``*_normal`` initializers."""
    if not isinstance(truncated, bool):
        raise TypeError(f"{fn}: expected a bool `truncated`, got {type(truncated).__name__}")
    return "truncated_normal" if truncated else "normal"


def glorot_normal(
    gain: float = 1.0,
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
    *,
    truncated: bool = True,
) -> Initializer:
    r"""Glorot/Xavier normal: :math:`\mathrm{Var}[w] = g^2 \cdot 2 / (n_\text{in} + n_\text{out})`.

    Keeps forward and backward variance roughly constant through tanh layers. Drawn from
    a normal truncated at two of its standard deviations, rescaled to the variance above
    (as ``jax.nn.initializers.glorot_normal`` and Keras do); ``truncated=False`` draws
    the untruncated normal of ``torch.nn.init.xavier_normal_(gain=g)``. Both have the
    same variance.

    Args:
      gain: multiplier of the standard deviation, > 0 (see ``calculate_gain``).
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.
      truncated: the truncated normal (default) or the plain one.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      Glorot & Bengio, AISTATS 2010.
    """
    gain = _positive("glorot_normal", "gain", gain)
    distribution = _normal_distribution("glorot_normal", truncated)
    return variance_scaling(gain**2, "fan_avg", distribution, in_axis, out_axis, batch_axis)


def glorot_uniform(
    gain: float = 1.0,
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
) -> Initializer:
    r"""Glorot/Xavier uniform: :math:`U[-a, a]`, :math:`a = g\sqrt{6/(n_\text{in}+n_\text{out})}`.

    The bound of ``torch.nn.init.xavier_uniform_(gain=g)`` and Keras' default kernel
    initializer.

    Args:
      gain: multiplier of the bound, > 0 (see ``calculate_gain``).
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      Glorot & Bengio, AISTATS 2010.
    """
    gain = _positive("glorot_uniform", "gain", gain)
    return variance_scaling(gain**2, "fan_avg", "uniform", in_axis, out_axis, batch_axis)


def _he(distribution: str, name: str) -> Callable[..., Initializer]:
    def factory(
        negative_slope: float = 0.0,
        in_axis: int | Sequence[int] = -2,
        out_axis: int | Sequence[int] = -1,
        batch_axis: int | Sequence[int] = (),
    ) -> Initializer:
        slope = _real(name, "negative_slope", negative_slope)
        scale = 2.0 / (1.0 + slope**2)
        return variance_scaling(scale, "fan_in", distribution, in_axis, out_axis, batch_axis)

    return factory


def he_normal(
    negative_slope: float = 0.0,
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
    *,
    truncated: bool = True,
) -> Initializer:
    r"""He/Kaiming normal: :math:`\mathrm{Var}[w] = 2 / ((1 + a^2)\, n_\text{in})`.

    ReLU zeroes half its inputs, halving the second moment; doubling the weight variance
    keeps it constant with depth. ``a`` is the leaky-ReLU negative slope (0 for ReLU).
    Truncated normal as in Keras and JAX (cut at two of its standard deviations and
    rescaled to this variance); ``truncated=False`` draws the untruncated normal of
    ``torch.nn.init.kaiming_normal_(a=a, nonlinearity="leaky_relu")``, same variance.

    Args:
      negative_slope: ``a``; 0 for ReLU.
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.
      truncated: the truncated normal (default) or the plain one.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      He et al., "Delving Deep into Rectifiers", ICCV 2015.
    """
    distribution = _normal_distribution("he_normal", truncated)
    return _he(distribution, "he_normal")(negative_slope, in_axis, out_axis, batch_axis)


def he_uniform(
    negative_slope: float = 0.0,
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
) -> Initializer:
    r"""He/Kaiming uniform: :math:`U[-b, b]`, :math:`b = \sqrt{6 / ((1 + a^2)\, n_\text{in})}`.

    Args:
      negative_slope: ``a``; 0 for ReLU.
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      He et al., ICCV 2015.
    """
    return _he("uniform", "he_uniform")(negative_slope, in_axis, out_axis, batch_axis)


def lecun_normal(
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
    *,
    truncated: bool = True,
) -> Initializer:
    r"""LeCun normal: :math:`\mathrm{Var}[w] = 1 / n_\text{in}` (truncated normal).

    LeCun, Bottou, Orr & Müller (1998)'s choice for tanh and sigmoid networks; with ReLU
    the second moment halves at every layer. Truncated as in JAX and Keras;
    ``truncated=False`` draws the untruncated normal of the same variance.

    Args:
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.
      truncated: the truncated normal (default) or the plain one.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      LeCun et al., "Efficient BackProp", 1998.
    """
    distribution = _normal_distribution("lecun_normal", truncated)
    return variance_scaling(1.0, "fan_in", distribution, in_axis, out_axis, batch_axis)


def lecun_uniform(
    in_axis: int | Sequence[int] = -2,
    out_axis: int | Sequence[int] = -1,
    batch_axis: int | Sequence[int] = (),
) -> Initializer:
    r"""LeCun uniform: :math:`U[-\sqrt{3 / n_\text{in}}, \sqrt{3 / n_\text{in}}]`.

    Args:
      in_axis: see ``variance_scaling``.
      out_axis: see ``variance_scaling``.
      batch_axis: see ``variance_scaling``.

    Returns:
      ``init(key, shape, dtype)``.

    References:
      LeCun et al., 1998.
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis)


xavier_normal = glorot_normal
xavier_uniform = glorot_uniform
kaiming_normal = he_normal
kaiming_uniform = he_uniform


_LINEAR_GAIN = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ========================  =====================================
    nonlinearity              gain
    ========================  =====================================
    linear, identity, conv*   1
    sigmoid                   1
    tanh                      5/3
    relu                      :math:`\sqrt{2}`
    leaky_relu                :math:`\sqrt{2 / (1 + a^2)}`, a = param (default 0.01)
    selu                      3/4
    ========================  =====================================

    Args:
      nonlinearity: the name, as above.
      param: the negative slope for ``leaky_relu``; ignored otherwise.

    Returns:
      The gain, a float.

    Raises:
      ValueError: unknown nonlinearity or a non-numeric ``param`` for leaky_relu.
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(
                f"calculate_gain: expected `param` (the negative slope) to be a number, "
                f"got {param!r}"
            )
        elif not math.isfinite(param):
            raise ValueError(
                f"calculate_gain: expected `param` (the negative slope) to be finite, got {param!r}"
            )
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    known = (*_LINEAR_GAIN, "tanh", "relu", "leaky_relu", "selu")
    raise ValueError(f"calculate_gain: expected `nonlinearity` in {known}, got {nonlinearity!r}")


# ---------------------------------------------------------------------------------------
# Orthogonal, identity and spectrally normalised recurrences.
# ---------------------------------------------------------------------------------------


def orthogonal(gain: float = 1.0, method: str = "qr", column_axis: int = -1) -> Initializer:
    r"""A (semi-)orthogonal matrix times ``gain``: every singular value equals ``gain``.

    Orthogonal maps keep :math:`\|Wx\| = \|x\|`, so products of them through time neither
    vanish nor explode (Saxe, McClelland & Ganguli 2014). The shape is viewed as a matrix
    ``(prod(other axes), shape[column_axis])``; a tall one gets orthonormal columns, a
    wide one orthonormal rows.

    * ``method="qr"``: Q of :math:`A = QR`, :math:`A_{ij} \sim \mathcal{N}(0, 1)`, with
      the columns' signs fixed by :math:`\mathrm{sign}(\mathrm{diag}\,R)` so that Q is
      Haar distributed (Mezzadri 2007); without that fix Householder QR gives
      :math:`Q_{11} < 0` every time. Delegates to ``jax.nn.initializers.orthogonal``.
    * ``method="svd"``: :math:`U V^\top` of :math:`A = U \Sigma V^\top` (Saxe et al.'s
      recipe), the orthogonal matrix nearest to A; also Haar distributed, and free of
      any sign convention of the SVD routine.

    Args:
      gain: multiplier, > 0: every singular value equals ``gain``.
      method: ``"qr"`` or ``"svd"``.
      column_axis: the axis holding the columns (flattening as ``jax.nn.initializers``).

    Returns:
      ``init(key, shape, dtype)`` for shapes of rank >= 2.

    References:
      Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of learning
      in deep linear neural networks", ICLR 2014. Mezzadri, "How to generate random
      matrices from the classical compact groups", Notices of the AMS, 2007.
    """
    fn = "orthogonal"
    gain = _positive(fn, "gain", gain)
    if method not in _ORTHOGONAL_METHODS:
        raise ValueError(f"{fn}: expected `method` in {_ORTHOGONAL_METHODS}, got {method!r}")
    qr_init = jax.nn.initializers.orthogonal(scale=gain, column_axis=column_axis)

    def svd_init(key: PRNGKey, shape: Shape, dtype: DType) -> Array:
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols if n_cols else 0
        if n_rows == 0 or n_cols == 0:
            return jnp.zeros(shape, dtype)
        a = jax.random.normal(key, (n_rows, n_cols), dtype)
        u, _, vt = jnp.linalg.svd(a, full_matrices=False)
        q = (u @ vt).reshape((*np.delete(shape, column_axis).tolist(), n_cols))
        return gain * jnp.moveaxis(q, -1, column_axis)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _min_rank(fn, shape)
        if not -len(shape) <= column_axis < len(shape):
            raise ValueError(f"{fn}: `column_axis`={column_axis} is out of range for {shape}")
        sample = qr_init if method == "qr" else svd_init
        # One matrix per LAPACK call, also under jax.vmap (see jaxrnn._lapack: batched
        # factorisations can deadlock XLA's CPU thread pool).
        draw = lapack.one_at_a_time(lambda key: sample(key, shape, compute))
        return draw(key).astype(dtype)

    return init


def identity(gain: float = 1.0) -> Initializer:
    r"""``gain`` times the identity: the IRNN recurrent kernel.

    A ReLU RNN with :math:`W_{hh} = I` copies its state forward unchanged, so gradients
    neither vanish nor explode at the start of training. Non-square matrices get ones on
    the main diagonal (``jnp.eye(rows, cols)``); leading axes of an N-D shape are a batch
    of such matrices. ``key`` is ignored.

    Args:
      gain: the diagonal value, > 0 (Le et al. use 1; public reproductions of the
        adding problem needed 0.01 for stability).

    Returns:
      ``init(key, shape, dtype)`` for shapes of rank >= 2.

    References:
      Le, Jaitly & Hinton, "A Simple Way to Initialize Recurrent Networks of Rectified
      Linear Units", arXiv:1504.00941, 2015.
    """
    fn = "identity"
    gain = _positive(fn, "gain", gain)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        del key
        dtype, _ = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _min_rank(fn, shape)
        eye = jnp.eye(shape[-2], shape[-1], dtype=dtype) * jnp.asarray(gain, dtype)
        return jnp.broadcast_to(eye, shape)

    return init


def _resolve_base(fn: str, base: Any) -> Initializer:
    if base is None:
        return normal(stddev=1.0)
    try:
        return get(base)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{fn}: invalid `base`: {err}") from err


def _max_abs_eigenvalue(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # np.asarray first: called eagerly, the callback receives jax arrays, whose astype
    # would narrow float64 back to float32 without x64.
    matrix = np.asarray(hi, np.float64) + np.asarray(lo, np.float64)
    radius = np.abs(np.linalg.eigvals(matrix)).max(axis=-1)
    radius_hi = radius.astype(np.float32)
    return radius_hi, (radius - radius_hi).astype(np.float32)


def spectral_radius_of(matrix: Array) -> Array:
    r"""Spectral radius :math:`\max_i |\lambda_i|` of (a batch of) square matrices.

    The eigenvalues of a non-symmetric matrix are computed on the host in float64
    (``numpy.linalg.eigvals`` through ``jax.pure_callback``), so this runs under ``jit``
    and ``vmap`` on every backend, including those without a non-symmetric
    eigensolver, and is exact for defective matrices too (a Jordan block's powers
    defeat iterative estimates in float32). It is not differentiable; it serves
    initialisation and diagnostics.

    Args:
      matrix: ``(..., n, n)``.

    Returns:
      ``(...)`` spectral radii, in the dtype of ``matrix``.
    """
    matrix = jnp.asarray(matrix)
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(
            f"spectral_radius_of: expected `matrix` of shape (..., n, n), got {matrix.shape}"
        )
    # The callback may run on a thread that does not see a `jax.enable_x64` context and
    # would narrow float64 operands and results to float32: exchange float64 values as
    # exact float32 (hi, lo) pairs (48 significant bits) instead.
    hi = matrix.astype(jnp.float32)
    lo = (matrix - hi.astype(matrix.dtype)).astype(jnp.float32)
    out = jax.ShapeDtypeStruct(matrix.shape[:-2], jnp.float32)
    radius_hi, radius_lo = jax.pure_callback(
        _max_abs_eigenvalue, (out, out), hi, lo, vmap_method="broadcast_all"
    )
    return radius_hi.astype(matrix.dtype) + radius_lo.astype(matrix.dtype)


def spectral_radius(radius: float, base: Any = None) -> Initializer:
    r"""A sample of ``base`` rescaled so that its spectral radius is ``radius``.

    :math:`W = \rho\, A / \rho(A)`, :math:`A \sim` ``base`` (default
    :math:`\mathcal{N}(0, 1)` entries). For a linear RNN :math:`h_t = W h_{t-1}` the
    long-term gradients vanish when :math:`\rho < 1` and can only explode when
    :math:`\rho > 1` (Pascanu et al. 2013).

    Args:
      radius: the target spectral radius, > 0.
      base: initializer, name or ``(name, kwargs)`` of the matrix to rescale.

    Returns:
      ``init(key, shape, dtype)`` for square ``(..., n, n)`` shapes; leading axes are a
      batch of independently rescaled matrices.

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013, arXiv:1211.5063.
    """
    fn = "spectral_radius"
    radius = _positive(fn, "radius", radius)
    base_init = _resolve_base(fn, base)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _min_rank(fn, shape)
        if shape[-1] != shape[-2] or shape[-1] == 0:
            raise ValueError(f"{fn}: expected a square `shape` (..., n, n), n >= 1, got {shape}")
        w = base_init(key, shape, compute).astype(compute)
        rho = spectral_radius_of(w)
        _rescalable(
            fn,
            "spectral radius",
            rho,
            "zeros, or a nilpotent matrix such as a strictly triangular one",
        )
        return (w * (radius / rho)[..., None, None]).astype(dtype)

    return init


def max_singular_value(value: float, base: Any = None) -> Initializer:
    r"""A sample of ``base`` rescaled so that its largest singular value is ``value``.

    :math:`W = s\, A / \sigma_1(A)`. In Pascanu et al.'s analysis of
    :math:`h_t = W\,\sigma(h_{t-1}) + \dots` with :math:`|\sigma'| \le \gamma`,
    :math:`\sigma_1 < 1/\gamma` is sufficient for vanishing gradients and
    :math:`\sigma_1 > 1/\gamma` necessary for exploding ones (:math:`\gamma = 1` for
    tanh, 1/4 for sigmoid).

    Args:
      value: the target largest singular value, > 0.
      base: initializer, name or ``(name, kwargs)`` of the matrix to rescale.

    Returns:
      ``init(key, shape, dtype)`` for ``(..., m, n)`` shapes; leading axes are a batch.

    References:
      Pascanu, Mikolov & Bengio, ICML 2013, arXiv:1211.5063.
    """
    fn = "max_singular_value"
    value = _positive(fn, "value", value)
    base_init = _resolve_base(fn, base)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _min_rank(fn, shape)
        if 0 in shape[-2:]:
            raise ValueError(f"{fn}: expected a `shape` (..., m, n), m, n >= 1, got {shape}")
        w = base_init(key, shape, compute).astype(compute)
        sigma = lapack.svd(w, compute_uv=False)[..., 0]
        _rescalable(fn, "largest singular value", sigma, "the zero matrix")
        return (w * (value / sigma)[..., None, None]).astype(dtype)

    return init


def _rescalable(fn: str, what: str, scale: Array, example: str) -> None:
    """Raises when a sample's ``scale`` is 0 or not finite: it cannot be rescaled.

    Under a trace (``jit``) the values are unknown and such a sample comes out NaN.
    """
    if isinstance(scale, jax.core.Tracer):
        return
    bad = ~np.isfinite(np.asarray(scale)) | (np.asarray(scale) == 0)
    if np.any(bad):
        raise ValueError(
            f"{fn}: expected a `base` whose samples can be rescaled, got one with {what} "
            f"{np.asarray(scale)[bad].flat[0]} ({example})"
        )


# ---------------------------------------------------------------------------------------
# Gate-aware initializers for fused LSTM / GRU parameters.
# ---------------------------------------------------------------------------------------


def per_gate(init: Any, num_gates: int, axis: int = -1) -> Initializer:
    r"""Draws each of ``num_gates`` equal blocks of ``axis`` independently with ``init``.

    A fused LSTM recurrent kernel ``(h, 4h)`` drawn with
    ``per_gate(orthogonal(), 4)`` has each gate's ``(h, h)`` block orthogonal on its
    own; a whole-matrix orthogonal ``(h, 4h)`` (Keras) only has orthonormal rows.

    Args:
      init: the per-block initializer (object, name or ``(name, kwargs)``).
      num_gates: number of blocks, >= 1.
      axis: the fused gate axis.

    Returns:
      ``init(key, shape, dtype)``; ``shape[axis]`` must be divisible by ``num_gates``.
    """
    fn = "per_gate"
    block_init = get(init)
    if isinstance(num_gates, bool) or not isinstance(num_gates, numbers.Integral):
        raise TypeError(f"{fn}: expected `num_gates` to be an int, got {num_gates!r}")
    if num_gates < 1:
        raise ValueError(f"{fn}: expected `num_gates` >= 1, got {num_gates}")

    def init_fn(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        shape = _shape(fn, shape)
        ax = _gate_axis(fn, shape, num_gates, axis)
        block = (*shape[:ax], shape[ax] // num_gates, *shape[ax + 1 :])
        keys = jax.random.split(key, num_gates)
        return jnp.concatenate([block_init(k, block, dtype) for k in keys], axis=ax)

    return init_fn


def lstm_bias(forget: float = 1.0) -> Initializer:
    r"""Fused LSTM bias, gates i, f, g, o along the last axis: ``forget`` in f, 0 elsewhere.

    With small weights a zero forget bias sits the gate at :math:`\sigma(0) = 1/2`,
    halving the cell's memory and its gradient at every step; a bias of 1 (or 2, seed
    004) keeps it near :math:`\sigma(1) \approx 0.73`. ``key`` is ignored.

    Args:
      forget: the forget-gate bias.

    Returns:
      ``init(key, shape, dtype)`` for ``(..., 4h)`` shapes.

    References:
      Gers, Schmidhuber & Cummins, "Learning to forget", 2000. Jozefowicz, Zaremba &
      Sutskever, "An empirical exploration of recurrent network architectures", ICML
      2015.
    """
    fn = "lstm_bias"
    forget = _real(fn, "forget", forget)

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        del key
        dtype, _ = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _gate_axis(fn, shape, _LSTM_GATES)
        hidden = shape[-1] // _LSTM_GATES
        gate = jnp.asarray([0.0, forget, 0.0, 0.0], dtype)
        return jnp.broadcast_to(jnp.repeat(gate, hidden), shape)

    return init


def chrono(t_max: float) -> Initializer:
    r"""Chrono initialisation of a fused LSTM bias (gates i, f, g, o).

    .. math::
        b_f \sim \log U[1, T_\text{max} - 1], \quad b_i = -b_f, \quad b_g = b_o = 0.

    The forget gate then keeps memories over characteristic times spread up to
    :math:`T_\text{max}`, the longest dependency expected in the data.

    Args:
      t_max: the longest expected time dependency, > 2.

    Returns:
      ``init(key, shape, dtype)`` for ``(..., 4h)`` shapes.

    References:
      Tallec & Ollivier, "Can recurrent neural networks warp time?", ICLR 2018.
    """
    fn = "chrono"
    t_max = _real(fn, "t_max", t_max)
    if t_max <= 2:
        raise ValueError(f"{fn}: expected `t_max` > 2, got {t_max}")

    def init(key: PRNGKey, shape: Shape, dtype: DType = jnp.float32) -> Array:
        dtype, compute = _float_dtype(fn, dtype)
        shape = _shape(fn, shape)
        _gate_axis(fn, shape, _LSTM_GATES)
        gate_shape = (*shape[:-1], shape[-1] // _LSTM_GATES)
        b_f = jnp.log(jax.random.uniform(key, gate_shape, compute, 1.0, t_max - 1.0))
        zero = jnp.zeros_like(b_f)
        return jnp.concatenate([-b_f, b_f, zero, zero], axis=-1).astype(dtype)

    return init


# ---------------------------------------------------------------------------------------
# Lookup by name, for configs and command lines.
# ---------------------------------------------------------------------------------------

_REGISTRY: dict[str, Callable[..., Initializer]] = {
    "zeros": lambda: zeros,
    "ones": lambda: ones,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "truncated_normal": truncated_normal,
    "variance_scaling": variance_scaling,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_normal": kaiming_normal,
    "kaiming_uniform": kaiming_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "orthogonal": orthogonal,
    "identity": identity,
    "spectral_radius": spectral_radius,
    "max_singular_value": max_singular_value,
    "per_gate": per_gate,
    "lstm_bias": lstm_bias,
    "chrono": chrono,
}


def names() -> tuple[str, ...]:
    """The names ``get`` accepts, sorted."""
    return tuple(sorted(_REGISTRY))


def get(spec: Any) -> Initializer:
    """Resolves an initializer from a name, a ``(name, kwargs)`` pair or a callable.

    Examples:
      >>> import jax
      >>> get("glorot_uniform")(jax.random.key(0), (4, 4)).shape
      (4, 4)
      >>> get(("lstm_bias", {"forget": 2.0}))(jax.random.key(0), (8,))[2:4].tolist()
      [2.0, 2.0]

    Args:
      spec: a callable ``init(key, shape, dtype)`` (returned as is); a registered name
        such as ``"orthogonal"`` (its factory called with no arguments); or a pair
        ``(name, {"arg": value, ...})``.

    Returns:
      The initializer.

    Raises:
      ValueError: an unknown name (the message lists the known ones) or arguments the
        factory rejects.
      TypeError: a spec of another type, or missing/unknown keyword arguments.
    """
    if callable(spec):
        if spec in _REGISTRY.values() and spec not in (zeros, ones):
            name = getattr(spec, "__name__", "the initializer")
            raise TypeError(
                f"get: got the factory `{name}` itself; pass the initializer it builds, "
                f"`{name}()` (or the name {name!r})"
            )
        return spec
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Sequence) and len(spec) == 2 and isinstance(spec[0], str):
        name, kwargs = spec
        if not isinstance(kwargs, Mapping):
            raise TypeError(
                f"get: expected `spec` (name, kwargs) with kwargs a mapping, got {kwargs!r}"
            )
    else:
        raise TypeError(
            "get: expected `spec` to be an initializer, a name or a (name, kwargs) pair, "
            f"got {spec!r}"
        )
    if name not in _REGISTRY:
        raise ValueError(f"get: unknown initializer {name!r}; known names: {', '.join(names())}")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as err:
        raise TypeError(f"get: cannot build {name!r} from {dict(kwargs)}: {err}") from err


__all__ = [
    "calculate_gain",
    "chrono",
    "constant",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "lstm_bias",
    "max_singular_value",
    "names",
    "normal",
    "ones",
    "orthogonal",
    "per_gate",
    "spectral_radius",
    "spectral_radius_of",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]
