r"""Gradient-flow and variance probes: is the gradient vanishing, exploding, or neither?

Four views of the same question, from the cheapest to the most detailed:

* ``recurrent_spectrum``: spectral radius and largest singular value of a recurrent
  kernel (per gate block for fused kernels), with Pascanu et al.'s sufficient condition
  for vanishing and necessary condition for exploding gradients.
* ``hidden_gradients`` / ``hidden_gradient_norms``: :math:`\partial L / \partial h_t`
  of any ``RNN`` or stack (``LSTM``, ``GRU``, ``SimpleRNN``) at every time step, for a
  given loss, through every later step (a zero probe added to each :math:`h_t` inside
  the scan, differentiated).
* ``jacobian_products``: the step Jacobians :math:`J_t = \partial s_t / \partial
  s_{t-1}` of a cell and their products :math:`\partial s_T / \partial s_k`, with norms
  and singular values.
* ``dense_stack_moments``: per-layer second moments of pre-activations, activations and
  gradients of a deep dense stack (the forward and backward variance of Glorot & Bengio).

Every function is pure and jit-able. Modules, loss functions and activation names are
static: close over them (``functools.partial``) and jit the rest (jaxrnn's LSTM and GRU
cells are not hashable, so they cannot be ``static_argnames``).

Conventions: jaxrnn multiplies row vectors, :math:`h_t = \phi(x_t W_x + h_{t-1} W_h)`,
so the Jacobian of the recurrence is :math:`\mathrm{diag}(\phi') W_h^\top`; spectral
radius and singular values are the same for :math:`W_h` and :math:`W_h^\top`. The state
:math:`s_t` of an LSTM is its full Markov state :math:`[h_t; c_t]` (``2h`` entries,
``h`` first, the carry order ``LSTMState(h, c)``): :math:`h_t` alone does not determine
:math:`h_{t+1}`, so products of :math:`h`-blocks are not the Jacobians of the sequence.

References:
  Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks",
  ICML 2013, arXiv:1211.5063. Glorot & Bengio, "Understanding the difficulty of
  training deep feedforward neural networks", AISTATS 2010.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxrnn import _checks
from jaxrnn import _lapack as lapack
from jaxrnn._scan import cast_carry
from jaxrnn.cells import RecurrentCell
from jaxrnn.initializers import spectral_radius_of
from jaxrnn.typing import Array

# name -> (activation, gamma): gamma bounds |phi'| (Pascanu et al. 2013, section 2.1).
_ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], float]] = {
    "tanh": (jnp.tanh, 1.0),
    "sigmoid": (jax.nn.sigmoid, 0.25),
    "relu": (jax.nn.relu, 1.0),
    "identity": (lambda z: z, 1.0),
}
# Gate activations of the fused jaxrnn kernels, for ``recurrent_spectrum``.
LSTM_GATE_ACTIVATIONS = ("sigmoid", "sigmoid", "tanh", "sigmoid")  # i, f, g, o
GRU_GATE_ACTIVATIONS = ("sigmoid", "sigmoid", "tanh")  # r, z, n


def _is_array(value: Any) -> bool:
    return isinstance(value, jax.Array | np.ndarray)


def _check_floating(fn: str, name: str, value: Any, rank: int, layout: str) -> None:
    if not _is_array(value):
        raise TypeError(
            f"{fn}: expected `{name}` to be an array {layout}, got {type(value).__name__}"
        )
    if value.ndim != rank:
        raise ValueError(
            f"{fn}: expected `{name}` of rank {rank} {layout}, got shape {tuple(value.shape)}"
        )
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(f"{fn}: expected a floating `{name}`, got dtype {value.dtype}")


def _at_least_float32(x: Array) -> Array:
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


# ---------------------------------------------------------------------------------------
# dL/dh_t of a sequence layer.
# ---------------------------------------------------------------------------------------


def _probe_shape(layer: Any, x: Array) -> tuple[int, ...]:
    """The shape of ``layer``'s ``hidden_probe`` for ``x``, or a TypeError naming it."""
    shape_of = getattr(layer, "hidden_probe_shape", None)
    if shape_of is None:
        raise TypeError(
            "hidden_gradients: expected `layer` to be a jaxrnn sequence layer with a "
            "`hidden_probe` (an RNN of a jaxrnn cell, Bidirectional, or a stack: LSTM, GRU, "
            f"SimpleRNN), got {type(layer).__name__}"
        )
    try:
        return tuple(shape_of(x.shape))
    except TypeError as err:
        raise TypeError(f"hidden_gradients: expected `layer` to run a jaxrnn cell: {err}") from err


def hidden_gradients(
    layer: Any,
    variables: Mapping[str, Any],
    x: Array,
    loss_fn: Callable[[Any], Array],
    *,
    seq_lengths: Array | None = None,
    **apply_kwargs: Any,
) -> Array:
    r"""The gradient :math:`\partial L / \partial h_t` at every step of a sequence layer.

    The total derivative through every later step: a zero probe :math:`p_t` is added to
    the hidden state right after each step, :math:`h_t \leftarrow h_t + p_t` (the
    ``hidden_probe`` hook of ``RNN``), and for a cell whose state is :math:`h_t` (Elman,
    GRU) this is the back-propagation-through-time recursion

    .. math::
        \frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial p_t}\Big|_{p=0}
        = \frac{\partial L}{\partial y_t}
          + \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top}
            \frac{\partial L}{\partial h_{t+1}}.

    For an LSTM the probe moves :math:`h_t` only (not :math:`c_t`); the recursion runs
    through both. Past a sequence's length the step is masked out, so the gradient there
    is exactly zero.

    Args:
      layer: a sequence layer with a ``hidden_probe`` hook: an ``RNN`` of a jaxrnn
        cell, a ``Bidirectional`` of two, or a stack (``LSTM``, ``GRU``, ``SimpleRNN``).
      variables: its variables, as ``layer.init`` makes them.
      x: ``(b, t, i)`` (``(t, b, i)`` if the layer is ``time_major``).
      loss_fn: maps whatever ``layer.apply`` returns (the outputs, or ``(carry,
        outputs)`` with ``return_carry=True``) to a scalar loss.
      seq_lengths: optional ``(b,)`` lengths, passed to the layer.
      **apply_kwargs: passed to ``layer.apply`` (``initial_carry``, ``deterministic``,
        ``rngs``, ...).

    Returns:
      ``(b, t, h)`` for an ``RNN``, ``(l*d, b, t, h)`` for a stack (index
      ``layer * d + direction``, as its ``hidden_probe``) and ``(2, b, t, h)`` for a
      ``Bidirectional`` (forward, backward), batch-major whatever the
      layer's ``time_major``; the dtype of the layer's outputs.

    Raises:
      TypeError: ``layer`` is not a jaxrnn sequence layer with a jaxrnn cell.
      ValueError: ``loss_fn`` does not return a scalar.
    """
    _check_floating("hidden_gradients", "x", x, 3, "(b, t, i)")
    probe_shape = _probe_shape(layer, x)

    def apply(probe=None):
        kwargs = dict(apply_kwargs)
        if probe is not None:
            kwargs["hidden_probe"] = probe
        return layer.apply(variables, x, seq_lengths=seq_lengths, **kwargs)

    # The probe must have the outputs' dtype, or the scan carry would change type.
    shape = jax.eval_shape(apply)
    outputs = shape[1] if isinstance(shape, tuple) else shape  # (carry, outputs)

    def loss(probe):
        value = loss_fn(apply(probe))
        if jnp.ndim(value) != 0:
            raise ValueError(
                f"hidden_gradients: expected `loss_fn` to return a scalar, got shape "
                f"{jnp.shape(value)}"
            )
        return value

    grads = jax.grad(loss)(jnp.zeros(probe_shape, outputs.dtype))
    if getattr(layer, "time_major", False):
        grads = jnp.swapaxes(grads, -3, -2)
    return grads


def hidden_gradient_norms(
    layer: Any,
    variables: Mapping[str, Any],
    x: Array,
    loss_fn: Callable[[Any], Array],
    *,
    seq_lengths: Array | None = None,
    per_example: bool = False,
    **apply_kwargs: Any,
) -> Array:
    r"""Norms :math:`\|\partial L / \partial h_t\|` at every time step.

    The norm is taken over hidden units and the batch,
    :math:`\big(\sum_{b,j} (\partial L / \partial h_{t,b,j})^2\big)^{1/2}`, or over
    hidden units only with ``per_example``. See ``hidden_gradients`` for the definition;
    a plot of these norms against :math:`t` is the picture of a vanishing gradient.

    Args:
      layer: an ``RNN`` of a jaxrnn cell, or a stack (``LSTM``, ``GRU``, ``SimpleRNN``).
      variables: its variables.
      x: ``(b, t, i)`` (``(t, b, i)`` if the layer is ``time_major``).
      loss_fn: maps what ``layer.apply`` returns to a scalar.
      seq_lengths: optional ``(b,)`` lengths.
      per_example: a norm per example and step, instead of one per step.
      **apply_kwargs: passed to ``layer.apply``.

    Returns:
      ``(t,)`` for an ``RNN`` and ``(l*d, t)`` for a stack; with ``per_example``
      ``(b, t)`` and ``(l*d, b, t)``. At least float32.

    Examples:
      >>> import functools, jax, jax.numpy as jnp, jaxrnn
      >>> from jaxrnn import diagnostics
      >>> layer = jaxrnn.RNN(jaxrnn.SimpleRNNCell(8))
      >>> x = jax.random.normal(jax.random.key(0), (2, 20, 3))
      >>> variables = layer.init(jax.random.key(1), x)
      >>> loss_fn = lambda y: jnp.sum(y[:, -1] ** 2)          # the loss at the end only
      >>> norms = jax.jit(functools.partial(
      ...     diagnostics.hidden_gradient_norms, layer, loss_fn=loss_fn))(variables, x)
      >>> norms.shape
      (20,)
      >>> bool(norms[0] < norms[-1])                          # earlier steps get less
      True

    References:
      Pascanu, Mikolov & Bengio, ICML 2013, arXiv:1211.5063 (section 2).
    """
    if not isinstance(per_example, bool):
        raise TypeError(
            f"hidden_gradient_norms: expected a bool `per_example`, got {per_example!r}"
        )
    grads = hidden_gradients(layer, variables, x, loss_fn, seq_lengths=seq_lengths, **apply_kwargs)
    squares = jnp.sum(jnp.square(_at_least_float32(grads)), axis=-1)  # (..., b, t)
    if not per_example:
        squares = jnp.sum(squares, axis=-2)
    return jnp.sqrt(squares)


# ---------------------------------------------------------------------------------------
# Jacobian products of a cell.
# ---------------------------------------------------------------------------------------


class JacobianProducts(NamedTuple):
    r"""What ``jacobian_products`` returns; ``n`` is the state size.

    Attributes:
      jacobians: ``(b, t, n, n)``, index ``t - 1`` holds
        :math:`J_t = \partial s_t / \partial s_{t-1}`, :math:`t = 1..T`.
      products: ``(b, t, n, n)``, index ``k`` holds
        :math:`\partial s_T / \partial s_k = J_T J_{T-1} \cdots J_{k+1}`,
        :math:`k = 0..T-1` (may under- or overflow for long sequences).
      singular_values: ``(b, t, n)`` of ``products``, in descending order.
      log_singular_values: ``(b, t, n)`` their logs, accumulated in log space so that
        they stay finite where ``products`` under- or overflows (-inf for a zero one).
      norms: ``(b, t)`` spectral norms :math:`\|\partial s_T / \partial s_k\|_2`.
    """

    jacobians: Array
    products: Array
    singular_values: Array
    log_singular_values: Array
    norms: Array


def _initial_carry(cell: RecurrentCell, initial_carry: Any, batch: int, x: Array) -> Any:
    zeros = cell.initialize_carry(jax.random.key(0), (batch, x.shape[-1]))
    carry = zeros
    if initial_carry is not None:
        carry = _checks.carry("jacobian_products", "initial_carry", initial_carry, zeros)
    # The dtype RNN gives the carry: the cell's computation dtype, else promoted with x.
    return cast_carry(carry, cell.dtype, x.dtype)


def jacobian_products(
    cell: RecurrentCell,
    variables: Mapping[str, Any],
    x: Array,
    initial_carry: Any = None,
) -> JacobianProducts:
    r"""Step Jacobians of a cell run over ``x`` and their products to the last step.

    With :math:`s_0` the initial state and :math:`s_t = f(s_{t-1}, x_t)` the cell's
    step,

    .. math::
        J_t = \frac{\partial s_t}{\partial s_{t-1}}, \qquad
        \frac{\partial s_T}{\partial s_k} = J_T J_{T-1} \cdots J_{k+1}, \quad k = 0..T-1,

    each :math:`J_t` by forward-mode differentiation of the pure step at the visited
    state, the products accumulated backwards with ``jax.lax.scan`` (renormalised at
    every step, the scale kept as a log). Pascanu et al. bound
    :math:`\|\partial s_T / \partial s_k\| \le (\gamma\,\sigma_1(W_h))^{T-k}` for a
    simple RNN whose activation has :math:`|\phi'| \le \gamma`; for a linear one with
    :math:`W_h = \rho Q`, :math:`Q` orthogonal,
    :math:`\log\|\partial s_T / \partial s_0\| / T = \log\rho` exactly.

    The state :math:`s_t` is the cell's carry flattened: :math:`h_t` (``n = h``) for
    ``SimpleRNNCell`` and ``GRUCell``, :math:`[h_t; c_t]` (``n = 2h``, ``h`` first) for
    ``LSTMCell``, its full Markov state. Memory is :math:`O(b\,t\,n^2)`: a tool for
    small models and short sequences.

    Args:
      cell: a jaxrnn cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, a subclass).
      variables: the cell's variables, ``{"params": ...}`` as ``cell.init`` makes them;
        for the cell of an ``RNN`` layer, ``{"params": variables["params"]["cell"]}``
        (of a stack, ``variables["params"]["layer0"]["cell"]``, ...).
      x: ``(b, t, i)`` inputs; each example is its own sequence.
      initial_carry: optional carry as ``cell.initialize_carry`` makes it for a
        ``(b, i)`` step input (an ``(h, c)`` tuple is accepted for an LSTM); zeros when
        omitted.

    Returns:
      A ``JacobianProducts``.

    Raises:
      TypeError: ``cell`` is not a jaxrnn cell, ``variables`` not a mapping, or ``x``
        not a floating array.
      ValueError: ``variables`` without ``"params"``, ``x`` not of rank 3, or an
        ``initial_carry`` that does not fit.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxrnn
      >>> from jaxrnn import diagnostics
      >>> cell = jaxrnn.SimpleRNNCell(4, activation="identity", kernel_init="zeros",
      ...                             recurrent_kernel_init=("orthogonal", {"gain": 0.9}))
      >>> x = jnp.zeros((1, 30, 2))
      >>> variables = cell.init(jax.random.key(0), jnp.zeros((1, 4)), x[:, 0])
      >>> out = jax.jit(lambda v, x: diagnostics.jacobian_products(cell, v, x))(variables, x)
      >>> out.products.shape, out.norms.shape
      ((1, 30, 4, 4), (1, 30))
      >>> round(float(out.log_singular_values[0, 0, 0] / 30), 4), round(float(jnp.log(0.9)), 4)
      (-0.1054, -0.1054)

    References:
      Pascanu, Mikolov & Bengio, ICML 2013, arXiv:1211.5063 (section 2.1).
    """
    fn = "jacobian_products"
    if not isinstance(cell, RecurrentCell):
        raise TypeError(
            f"{fn}: expected `cell` to be a jaxrnn cell (SimpleRNNCell, LSTMCell, GRUCell), "
            f"got {type(cell).__name__}"
        )
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"{fn}: expected `variables` to be the cell's variables {{'params': ...}}, got "
            f"{type(variables).__name__}"
        )
    if "params" not in variables:
        raise ValueError(
            f"{fn}: expected `variables` to be the cell's variables {{'params': ...}}, got "
            f"keys {list(variables)}"
        )
    _check_floating(fn, "x", x, 3, "(b, t, i)")
    weights = cell.apply(variables, x.shape[-1], method="weights")
    xw = cell.project_inputs(weights, x)  # (b, t, g*h)
    carry = _initial_carry(cell, initial_carry, x.shape[0], x)
    return _jacobian_products(cell.step_fn(), weights, xw, carry)


@functools.partial(jax.jit, static_argnames="step")
def _jacobian_products(step: Callable[..., Any], weights: Any, xw: Array, carry: Any):
    # Jitted with the (cached) step function static: eager calls compile once per shape.
    def one_sequence(xw_seq: Array, carry0: Any) -> tuple[Array, Array, Array]:
        state0, unravel = ravel_pytree(carry0)

        def f(state, xw_t):
            new_carry, _ = step(weights, unravel(state), xw_t)
            return ravel_pytree(new_carry)[0]

        def forward(state, xw_t):
            return f(state, xw_t), state  # emits the state entering the step

        _, entering = jax.lax.scan(forward, state0, xw_seq)  # (t, n)
        # In the cell's dtype; products and SVDs in at least float32.
        jacobians = _at_least_float32(jax.vmap(jax.jacfwd(f))(entering, xw_seq))  # (t, n, n)

        def backward(acc, jacobian):
            direction, log_scale = acc
            product = direction @ jacobian
            norm = jnp.linalg.norm(product)
            safe = jnp.where(norm > 0, norm, jnp.ones_like(norm))
            acc = (product / safe, log_scale + jnp.log(safe))
            return acc, acc

        n = state0.shape[0]
        start = (jnp.eye(n, dtype=jacobians.dtype), jnp.zeros((), jacobians.dtype))
        _, (directions, log_scales) = jax.lax.scan(backward, start, jacobians, reverse=True)
        return jacobians, directions, log_scales

    jacobians, directions, log_scales = jax.vmap(one_sequence)(xw, carry)
    products = directions * jnp.exp(log_scales)[..., None, None]
    log_singular_values = jnp.log(lapack.svd(directions, compute_uv=False)) + log_scales[..., None]
    singular_values = jnp.exp(log_singular_values)
    return JacobianProducts(
        jacobians=jacobians,
        products=products,
        singular_values=singular_values,
        log_singular_values=log_singular_values,
        norms=singular_values[..., 0],
    )


# ---------------------------------------------------------------------------------------
# Pascanu et al.'s conditions on a recurrent kernel.
# ---------------------------------------------------------------------------------------


class RecurrentSpectrum(NamedTuple):
    r"""What ``recurrent_spectrum`` returns: ``(...)``, or ``(..., g)`` per gate block.

    Attributes:
      spectral_radius: :math:`\rho(W) = \max_i |\lambda_i(W)|`.
      max_singular_value: :math:`\sigma_1(W) = \|W\|_2`.
      gamma: :math:`\gamma`, the bound on :math:`|\phi'|` of the activation.
      vanishing_sufficient: the sufficient condition for vanishing long-term gradients
        holds: :math:`\gamma\,\sigma_1 < 1` (linear: :math:`\rho < 1`).
      exploding_necessary_satisfied: the necessary condition for exploding gradients
        holds: :math:`\gamma\,\sigma_1 > 1` (linear: :math:`\rho > 1`). Necessary, not
        sufficient: True means exploding is possible, not that it happens.
    """

    spectral_radius: Array
    max_singular_value: Array
    gamma: Array
    vanishing_sufficient: Array
    exploding_necessary_satisfied: Array


def _gamma(fn: str, activation: Any, num_gates: int) -> tuple[list[float], list[bool]]:
    names = [activation] * num_gates if isinstance(activation, str) else activation
    if (
        not isinstance(names, Sequence)
        or isinstance(names, str)
        or not all(isinstance(name, str) for name in names)
    ):
        raise TypeError(
            f"{fn}: expected `activation` to be a name or a sequence of {num_gates} names, "
            f"got {activation!r}"
        )
    if len(names) != num_gates:
        raise ValueError(
            f"{fn}: expected `activation` to name one activation per gate ({num_gates}), "
            f"got {len(names)}: {activation!r}"
        )
    unknown = [name for name in names if name not in _ACTIVATIONS]
    if unknown:
        raise ValueError(
            f"{fn}: expected `activation` in {tuple(_ACTIVATIONS)}, got {unknown[0]!r}"
        )
    return [_ACTIVATIONS[name][1] for name in names], [name == "identity" for name in names]


def recurrent_spectrum(
    kernel: Array, activation: str | Sequence[str] = "tanh", *, num_gates: int = 1
) -> RecurrentSpectrum:
    r"""Spectral radius, largest singular value and Pascanu et al.'s conditions.

    For :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)` with :math:`|\phi'| \le \gamma`
    (:math:`\gamma = 1` for tanh and ReLU, 1/4 for the sigmoid) every step Jacobian
    satisfies :math:`\|J_t\| \le \gamma\,\sigma_1(W_h)`, so

    .. math::
        \gamma\,\sigma_1(W_h) < 1 \;\Rightarrow\;
        \Big\|\frac{\partial h_T}{\partial h_k}\Big\| \le (\gamma\,\sigma_1)^{T-k} \to 0,

    sufficient for vanishing long-term gradients, and :math:`\gamma\,\sigma_1 > 1`
    necessary for exploding ones. For a linear recurrence (``"identity"``) the sharper
    condition uses the spectral radius: :math:`\rho(W_h) < 1` is sufficient for
    vanishing, :math:`\rho > 1` necessary for exploding (:math:`\rho \le \sigma_1`,
    equal for normal matrices). Both inequalities are strict: at exactly 1 neither flag
    is set (float rounding decides at an orthogonal kernel of gain 1).

    For the fused kernel of a gated cell, ``(h, g*h)``, each gate's ``(h, h)`` block is
    reported on its own with its own activation (e.g. ``LSTM_GATE_ACTIVATIONS``). The
    conditions are then those of a simple RNN with that block: a per-gate heuristic,
    not a statement about the gated cell, whose honest answer is
    ``jacobian_products``.

    The spectral radius comes from ``jaxrnn.initializers.spectral_radius_of``
    (eigenvalues in float64 on the host, under ``jit`` on every backend, exact for
    defective kernels too), the singular values from ``jnp.linalg.svd``.

    Args:
      kernel: ``(..., h, g*h)`` recurrent kernel(s) (``variables["params"]["recurrent_
        kernel"]``; with weight norm, the effective one from the cell's ``weights``).
        Leading axes are a batch.
      activation: one of ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``, or a
        sequence of ``num_gates`` of them, one per gate block.
      num_gates: ``g``: 1 for a simple RNN (square kernel), 4 for an LSTM, 3 for a GRU.

    Returns:
      A ``RecurrentSpectrum`` of ``(...)`` arrays when ``num_gates == 1``, ``(..., g)``
      otherwise.

    Raises:
      TypeError: ``kernel`` is not a floating array, or ``activation`` not names.
      ValueError: ``kernel`` is not ``(..., h, g*h)``, ``num_gates`` < 1, or an unknown
        activation.

    Examples:
      >>> import jax
      >>> from jaxrnn import diagnostics, initializers
      >>> w = initializers.orthogonal(gain=0.9)(jax.random.key(0), (8, 8))
      >>> report = diagnostics.recurrent_spectrum(w, "tanh")
      >>> round(float(report.max_singular_value), 4), bool(report.vanishing_sufficient)
      (0.9, True)
      >>> report = diagnostics.recurrent_spectrum(4 * w, "sigmoid")   # 3.6 < 1 / (1/4)
      >>> bool(report.vanishing_sufficient), bool(report.exploding_necessary_satisfied)
      (True, False)

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013, arXiv:1211.5063 (section 2.1).
    """
    fn = "recurrent_spectrum"
    if isinstance(num_gates, bool) or not isinstance(num_gates, int):
        raise TypeError(f"{fn}: expected an int `num_gates`, got {num_gates!r}")
    if num_gates < 1:
        raise ValueError(f"{fn}: expected `num_gates` >= 1, got {num_gates}")
    if not _is_array(kernel):
        raise TypeError(f"{fn}: expected `kernel` to be an array (..., h, g*h), got "
                        f"{type(kernel).__name__}")  # fmt: skip
    if kernel.ndim < 2:
        raise ValueError(f"{fn}: expected `kernel` of rank >= 2, got shape {tuple(kernel.shape)}")
    if not jnp.issubdtype(kernel.dtype, jnp.floating):
        raise TypeError(f"{fn}: expected a floating `kernel`, got dtype {kernel.dtype}")
    hidden = kernel.shape[-2]
    if kernel.shape[-1] != num_gates * hidden:
        raise ValueError(
            f"{fn}: expected `kernel` of shape (..., h, {num_gates}*h) for num_gates="
            f"{num_gates}, got {tuple(kernel.shape)}; pass `num_gates` for a fused kernel"
        )
    gammas, linear = _gamma(fn, activation, num_gates)
    return _spectrum(jnp.asarray(kernel), tuple(gammas), tuple(linear))


@functools.partial(jax.jit, static_argnames=("gammas", "linear"))
def _spectrum(
    kernel: Array, gammas: tuple[float, ...], linear: tuple[bool, ...]
) -> RecurrentSpectrum:
    # Jitted: eager calls compile the reshapes and the SVD once per shape.
    num_gates, hidden = len(gammas), kernel.shape[-2]
    kernel = _at_least_float32(kernel)
    # (..., h, g*h) -> (..., g, h, h): block k holds columns k*h..(k+1)*h.
    blocks = jnp.moveaxis(kernel.reshape(*kernel.shape[:-1], num_gates, hidden), -2, -3)
    rho = spectral_radius_of(blocks)
    sigma = lapack.svd(blocks, compute_uv=False)[..., 0]
    gamma = jnp.asarray(gammas, kernel.dtype)
    measure = jnp.where(jnp.asarray(linear), rho, gamma * sigma)
    if num_gates == 1:
        rho, sigma, gamma, measure = rho[..., 0], sigma[..., 0], gamma[0], measure[..., 0]
    return RecurrentSpectrum(
        spectral_radius=rho,
        max_singular_value=sigma,
        gamma=gamma,
        vanishing_sufficient=measure < 1,
        exploding_necessary_satisfied=measure > 1,
    )


# ---------------------------------------------------------------------------------------
# Forward and backward second moments of a dense stack.
# ---------------------------------------------------------------------------------------


class DenseStackMoments(NamedTuple):
    r"""Per-layer second moments, each ``(l,)``, means over batch and units.

    Attributes:
      preactivation: :math:`E[z_l^2]`.
      activation: :math:`E[a_l^2]`.
      gradient: :math:`E[(\partial L / \partial z_l)^2]`.
    """

    preactivation: Array
    activation: Array
    gradient: Array


def dense_stack_moments(
    weights: Array,
    x: Array,
    top_gradient: Array,
    activation: str | Callable[[Array], Array] = "tanh",
) -> DenseStackMoments:
    r"""Forward and backward second moments, layer by layer, of a deep dense stack.

    A stack of square dense layers without biases,

    .. math::
        z_l = a_{l-1} W_l, \quad a_l = \phi(z_l), \quad a_0 = x, \qquad
        L = \sum_b \langle a_L^{(b)}, r^{(b)} \rangle,

    so the gradient at the top is :math:`\partial L / \partial a_L = r` for every
    example (unit scale, not divided by the batch). Per layer it returns
    :math:`E[z_l^2]`, :math:`E[a_l^2]` and :math:`E[(\partial L / \partial z_l)^2]`,
    means over batch and units, the gradients from ``jax.grad`` of zero shifts added to
    every :math:`z_l`. In expectation each layer multiplies the forward second moment by
    :math:`n\,\mathrm{Var}[W]` times the activation's factor (1/2 for ReLU, at most 1
    for tanh): Glorot & Bengio's variance argument, He et al.'s for ReLU. For zero-mean
    quantities (pre-activations and gradients of a net with symmetric weights) the second
    moment is the variance.

    Args:
      weights: ``(l, n, n)`` kernels, ``(fan_in, fan_out)`` each, layer 1 first.
      x: ``(b, n)`` inputs.
      top_gradient: :math:`r`, ``(n,)`` (the same for every example) or ``(b, n)``.
      activation: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"`` or a callable.

    Returns:
      A ``DenseStackMoments`` of ``(l,)`` arrays in the dtype of the inputs.

    Raises:
      TypeError: an argument is not a floating array, or ``activation`` is neither a
        name nor a callable.
      ValueError: shapes that do not fit, or an unknown activation name.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import diagnostics, initializers
      >>> keys = jax.random.split(jax.random.key(0), 10)
      >>> w = jax.vmap(lambda k: initializers.he_normal()(k, (128, 128)))(keys)
      >>> x = jax.random.normal(jax.random.key(1), (64, 128))
      >>> r = jax.random.normal(jax.random.key(2), (128,))
      >>> m = jax.jit(diagnostics.dense_stack_moments, static_argnames="activation")(
      ...     w, x, r, activation="relu")
      >>> m.preactivation.shape
      (10,)
      >>> bool(0.25 < m.preactivation[-1] / m.preactivation[0] < 4)   # He keeps it
      True

    References:
      Glorot & Bengio, "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS 2010. He, Zhang, Ren & Sun, "Delving deep into
      rectifiers", ICCV 2015.
    """
    fn = "dense_stack_moments"
    _check_floating(fn, "weights", weights, 3, "(l, n, n)")
    _check_floating(fn, "x", x, 2, "(b, n)")
    if not _is_array(top_gradient):
        raise TypeError(
            f"{fn}: expected `top_gradient` to be an array (n,) or (b, n), got "
            f"{type(top_gradient).__name__}"
        )
    width = x.shape[-1]
    if weights.shape[1:] != (width, width):
        raise ValueError(
            f"{fn}: expected `weights` of shape (l, {width}, {width}) to match `x` "
            f"{tuple(x.shape)}, got {tuple(weights.shape)}"
        )
    if top_gradient.shape not in ((width,), tuple(x.shape)):
        raise ValueError(
            f"{fn}: expected `top_gradient` of shape ({width},) or {tuple(x.shape)}, got "
            f"{tuple(top_gradient.shape)}"
        )
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"{fn}: expected `activation` in {tuple(_ACTIVATIONS)} or a callable, "
                f"got {activation!r}"
            )
        phi = _ACTIVATIONS[activation][0]
    elif callable(activation):
        phi = activation
    else:
        raise TypeError(
            f"{fn}: expected `activation` to be a name or a callable, got {activation!r}"
        )

    def loss(shifts):
        def layer(a, inputs):
            kernel, shift = inputs
            z = a @ kernel + shift  # shift is zero; its gradient is dL/dz_l
            a = phi(z)
            return a, (jnp.mean(z**2), jnp.mean(a**2))

        top, moments = jax.lax.scan(layer, x, (weights, shifts))
        value = (
            jnp.sum(top @ top_gradient) if top_gradient.ndim == 1 else jnp.sum(top * top_gradient)
        )
        return value, moments

    shifts = jnp.zeros((weights.shape[0], *x.shape), x.dtype)
    grads, (z2, a2) = jax.grad(loss, has_aux=True)(shifts)
    return DenseStackMoments(
        preactivation=z2, activation=a2, gradient=jnp.mean(grads**2, axis=(1, 2))
    )


__all__ = [
    "GRU_GATE_ACTIVATIONS",
    "LSTM_GATE_ACTIVATIONS",
    "DenseStackMoments",
    "JacobianProducts",
    "RecurrentSpectrum",
    "dense_stack_moments",
    "hidden_gradient_norms",
    "hidden_gradients",
    "jacobian_products",
    "recurrent_spectrum",
]
