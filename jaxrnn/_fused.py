r"""Fused time loops of the LSTM, GRU and Elman cells, with hand-written derivatives.

``jax.lax.scan`` over a cell's step is correct but leaves speed on the table, in the same
three places cuDNN's RNN kernels address:

1. **Gate arithmetic.** XLA's CPU code for four sigmoid/tanh calls on column slices of
   the gate buffer costs several times one call on the contiguous buffer. Here every
   gate is one logistic over the whole ``(b, g*h)`` block, the tanh gates through
   :math:`\tanh(x) = 2\sigma(2x) - 1` with the factor 2 folded into the weight columns
   once per sequence.
2. **Weight gradients.** Reverse-mode autodiff of a scan accumulates
   :math:`\partial L / \partial W_h \mathrel{+}= h_{t-1}^\top \delta_t` in the loop
   carry: one small GEMM and a read-modify-write of the whole kernel per step. Here the
   derivative is written so that the kernel's gradient is *one* GEMM over all
   :math:`t \cdot b` rows after the backward loop, as cuDNN does.
3. **Residuals.** The forward loop stores exactly the factors the backward loop
   multiplies by (gate derivatives, :math:`\tanh c_t`, ...), so the backward loop does
   no transcendental math at all.

The derivative is a ``jax.custom_jvp`` rule, not a ``custom_vjp``: its tangent is a
*linear* scan whose only per-step matmul is :math:`\dot h_{t-1} W_h`, and the term
:math:`h_{t-1} \dot W_h` for every step is one GEMM outside that loop. JAX transposes
this rule into the backward pass described above, and forward mode (``jax.jvp``,
``jax.jacfwd``, ``check_grads(modes=("fwd", "rev"))``) keeps working.

Every function takes the *effective* weights of ``jaxrnn.cells`` (``recurrent_kernel
(h, g*h)`` and, for a GRU with ``reset_after``, ``recurrent_bias (h,)``), the projected
inputs ``xw (t, b, g*h)`` of ``cells.project_inputs``, the initial carry, an optional
``valid (t, b, 1)`` padding mask (padded steps keep the carry and output zeros) and an
optional ``mask (b, h)`` recurrent-dropout mask (not differentiated). They return
``(final_carry, outputs (t, b, h))`` and equal the step functions of ``jaxrnn.cells``
scanned with ``jax.lax.scan`` to float32 rounding (``tests/test_fused.py``).

References:
  Appleyard, Kocisky & Blunsom, "Optimizing performance of recurrent neural networks on
  GPUs", 2016 (the cuDNN RNN: input GEMM before the loop, weight-gradient GEMM after).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jaxrnn._precision import matmul, matmul_transposed
from jaxrnn._scan import keep, zero_padding
from jaxrnn.typing import Array

# Elman activations the fused loop knows, with their derivative written in terms of the
# *output* y = phi(x), so that the forward loop's residual is phi'(x) itself.
_ELMAN_DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "tanh": lambda y: 1.0 - y * y,
    "sigmoid": lambda y: y * (1.0 - y),
    "relu": lambda y: (y > 0).astype(y.dtype),
    "identity": jnp.ones_like,
}
# The activations of ``jaxrnn.SimpleRNNCell`` by name.
ELMAN_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "identity": lambda x: x,
}


# ---------------------------------------------------------------------------------------
# Shared pieces.
# ---------------------------------------------------------------------------------------


def _is_zero(tangent: Any) -> bool:
    return isinstance(tangent, SymbolicZero)


def _zeros_if_symbolic(tangent: Any, like: Array) -> Array:
    return jnp.zeros_like(like) if _is_zero(tangent) else tangent


def _masked_scan(
    cell: Callable[[Any, Any], tuple[Any, Array, Callable[[], Any]]],
    carry: Any,
    xs: Any,
    valid: Array | None,
    unroll: int,
    residuals: bool = False,
) -> tuple[Any, Array, Any]:
    """``jax.lax.scan`` of ``cell(carry, x_t) -> (carry, y_t, residuals_t thunk)``.

    Padded steps (``valid`` False) keep the carry and output zeros. Returns ``(final
    carry, ys (t, ...), stacked residuals or None)``; the residual thunks are only
    called, and so only traced, with ``residuals``.
    """

    def body(carry, inputs):
        x_t, valid_t = inputs
        new, y, res = cell(carry, x_t)
        new, y = keep(new, carry, valid_t), zero_padding(y, valid_t)
        return new, ((y, res()) if residuals else y)

    final, ys = jax.lax.scan(body, carry, (xs, valid), unroll=unroll)
    return (final, *ys) if residuals else (final, ys, None)


def _scan_with_states(
    cell: Callable[[Any, Any], tuple[Any, Array, Callable[[], Any]]],
    carry: Any,
    xs: Any,
    valid: Array | None,
    unroll: int,
    output: Callable[[Any], Array],
) -> tuple[Any, Array, tuple[Any, Any]]:
    """``_masked_scan`` for a derivative: also stacks the carry after every step.

    The loop writes only the carries and the residuals; the outputs are ``output`` of
    the stacked carries, zeroed at padded steps, computed after the loop (every
    per-step write is an XLA operation of its own, and those dominate on a CPU).
    Returns ``(final carry, ys (t, ...), (stacked carries, stacked residuals))``.
    """

    def body(carry, inputs):
        x_t, valid_t = inputs
        new, _, res = cell(carry, x_t)
        new = keep(new, carry, valid_t)
        return new, (new, res())

    final, (states, res) = jax.lax.scan(body, carry, (xs, valid), unroll=unroll)
    return final, zero_padding(output(states), valid), (states, res)


def _transposed_in_memory(kernel: Array) -> Array:
    """``kernel.T`` written to memory once, for the tangent loop's ``_times_transposed``.

    The tangent loop multiplies by ``kernel``; its transpose, the backward loop,
    multiplies by ``kernel.T``. With the kernel itself as the operand, that GEMM reads
    it transposed, 1.3-1.5x slower on a CPU (XLA with YNNPACK) than reading a
    row-major ``kernel.T``. The barrier keeps XLA from folding the transpose into the
    GEMM again.
    """
    return jax.lax.optimization_barrier(kernel.T)


def _times_transposed(x: Array, kernel_t: Array, out_dtype: Any = None) -> Array:
    """``x @ kernel_t.T`` as a dot against ``kernel_t`` itself (see above).

    Mixed precision for a 16-bit kernel (``jaxrnn._precision``), the product in
    ``out_dtype`` (default ``x``'s).
    """
    return matmul_transposed(x, kernel_t, x.dtype if out_dtype is None else out_dtype)


def _rows_times(rows: Array, d_kernel: Array, out_dtype: Any) -> Array:
    """``rows (t, b, k) @ d_kernel (k, n)``, laid out for the transpose.

    The transpose is the kernel's gradient, one GEMM over all ``t*b`` rows. Written
    plainly, XLA transposes the large ``(t*b, n)`` cotangent in memory for it; here the
    small ``(k, t*b)`` rows are transposed instead, and the gradient is a row-major
    ``rows.T @ cotangent``. Mixed precision for a 16-bit ``d_kernel``, the product in
    ``out_dtype``.
    """
    rows_t = jax.lax.optimization_barrier(rows.reshape(-1, rows.shape[-1]).T)
    if rows_t.dtype != d_kernel.dtype:
        rows_t = rows_t.astype(d_kernel.dtype)
    dims = (((0,), (0,)), ((), ()))
    out = jax.lax.dot_general(rows_t, d_kernel, dims, preferred_element_type=out_dtype)
    return out.reshape(*rows.shape[:-1], d_kernel.shape[-1])


def _block_sum(y: Array, num_blocks: int) -> Array:
    """``(..., k*h) -> (..., h)``: the sum of the ``k`` column blocks."""
    return functools.reduce(jnp.add, jnp.split(y, num_blocks, axis=-1))


def _previous(states: Array, initial: Array) -> Array:
    """``(t, ...)`` states after each step -> the states before each step."""
    return jnp.concatenate([initial[None], states[:-1]], axis=0)


def _constant(mask: Array | None) -> Array | None:
    return None if mask is None else jax.lax.stop_gradient(mask)


def _masked(h: Array, mask: Array | None) -> Array:
    return h if mask is None else h * mask


def _tanh_columns(num_gates: int, tanh_gates: tuple[int, ...], hidden: int, dtype) -> Array:
    """``(g*h,)`` column scales: 2 for the gates taken through tanh = 2 sigma(2x) - 1."""
    scale = [2.0 if k in tanh_gates else 1.0 for k in range(num_gates)]
    return jnp.repeat(jnp.asarray(scale, dtype), hidden)


def _outside_tangent(
    weights: dict[str, Array],
    d_weights: dict[str, Any],
    x: Array,
    dx: Any,
    entering: Array,
    columns: slice,
    dtype: Any,
) -> Array:
    r"""The part of the pre-activation tangent that does not pass through the carry.

    :math:`\dot x_t W_x + x_t \dot W_x + \dot b + h_{t-1} \dot W_h` for every step at
    once, three GEMMs over all ``t*b`` rows (symbolic zeros skipped); ``entering
    (t, b, h)`` is the (masked) state entering the recurrent matmul at each step. Its
    transpose is the weight gradient as one GEMM after the backward loop.
    """
    terms = []
    if not _is_zero(dx):
        kernel_t = _transposed_in_memory(weights["kernel"][:, columns])
        terms.append(_times_transposed(dx, kernel_t, dtype))
    if not _is_zero(d_weights["kernel"]):
        terms.append(_rows_times(x, d_weights["kernel"][:, columns], dtype))
    if not _is_zero(d_weights["recurrent_kernel"]):
        terms.append(_rows_times(entering, d_weights["recurrent_kernel"][:, columns], dtype))
    shape = (*entering.shape[:2], weights["bias"][columns].shape[-1])
    out = functools.reduce(jnp.add, terms) if terms else jnp.zeros(shape, dtype)
    if not _is_zero(d_weights["bias"]):
        out = out + d_weights["bias"][columns]
    return out


# ---------------------------------------------------------------------------------------
# LSTM.
# ---------------------------------------------------------------------------------------

_LSTM_KEYS = ("kernel", "recurrent_kernel", "bias")
# Steps per iteration of the LSTM's loops when none is asked for: on a CPU, 4 runs the
# training step 8-15% faster than 1 (``experiments/benchmark.py``), for about 0.3 s more
# compile time; the GRU and Elman loops gain nothing from it and keep 1.
LSTM_UNROLL = 4


def _lstm_forward(weights, x, carry, valid, mask, unroll, residuals):
    hidden = carry[0].shape[-1]
    scale = _tanh_columns(4, (2,), hidden, x.dtype)
    w, u, b = (weights[k] * scale for k in _LSTM_KEYS)
    slope_scale = scale * scale  # d/dz of sigma(2z) is 2 sigma'; of 2 sigma(2z) - 1, 4 sigma'

    def cell(carry, x_t):
        h, c = carry
        a = jax.nn.sigmoid(matmul(x_t, w, h.dtype) + matmul(_masked(h, mask), u, h.dtype) + b)
        i, f, g, o = jnp.split(a, 4, axis=-1)
        g = 2.0 * g - 1.0
        c_new = f * c + i * g
        tanh_c = jnp.tanh(c_new)
        h_new = o * tanh_c

        def coefficients():
            # What the tangent loop multiplies by: the gates' derivatives times what each
            # gate multiplies, [sigma'_i g, sigma'_f c_{t-1}, (1 - g^2) i, sigma'_o tanh c_t]
            # as one (b, 4h) block (so that the backward loop forms each step's (b, 4h)
            # cotangent in one operation), f_t and dh_t / dc_t. Written here, in the
            # step that has every factor at hand: computed after the loop from stored
            # gates and cells, they cost several passes over (t, b, h) arrays.
            others = jnp.concatenate([g, c, i, tanh_c], axis=-1)
            return a * (1.0 - a) * slope_scale * others, f, o * (1.0 - tanh_c * tanh_c)

        return (h_new, c_new), h_new, coefficients

    if residuals:
        return _scan_with_states(cell, tuple(carry), x, valid, unroll, lambda state: state[0])
    return _masked_scan(cell, tuple(carry), x, valid, unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _lstm(weights, x, carry, valid, mask, unroll):
    final, ys, _ = _lstm_forward(weights, x, carry, valid, mask, unroll, False)
    return final, ys


@functools.partial(_lstm.defjvp, symbolic_zeros=True)
def _lstm_jvp(unroll, primals, tangents):
    weights, x, carry, valid, mask = primals
    d_weights, dx, d_carry, _, _ = tangents
    final, ys, (states, (coefficients, f, out_slope)) = _lstm_forward(
        weights, x, carry, valid, mask, unroll, True
    )
    entering = _masked(_previous(states[0], carry[0]), mask)
    d_pre = _outside_tangent(weights, d_weights, x, dx, entering, slice(None), ys.dtype)
    u_t = _transposed_in_memory(weights["recurrent_kernel"])

    def cell(d_carry, inputs):
        dh, dc = d_carry
        d_pre_t, coefficients_t, f_t, out_slope_t = inputs
        dz = d_pre_t + _times_transposed(_masked(dh, mask), u_t)
        p_i, p_f, p_g, p_o = jnp.split(coefficients_t * dz, 4, axis=-1)
        dc_new = p_i + p_f + p_g + f_t * dc
        dh_new = p_o + out_slope_t * dc_new
        return (dh_new, dc_new), dh_new, None

    inputs = (d_pre, coefficients, f, out_slope)
    init = tuple(_zeros_if_symbolic(t, c) for t, c in zip(d_carry, carry, strict=True))
    d_final, d_ys, _ = _masked_scan(cell, init, inputs, valid, unroll)
    return (final, ys), (d_final, d_ys)


def lstm_scan(
    weights: dict[str, Array],
    carry: Any,
    x: Array,
    valid: Array | None = None,
    mask: Array | None = None,
    unroll: int | None = None,
) -> tuple[Any, Array]:
    r"""The LSTM over a whole sequence: ``jaxrnn.cells.lstm_step`` scanned, fused.

    Args:
      weights: ``kernel (i, 4h)``, ``recurrent_kernel (h, 4h)``, ``bias (4h,)``, gates
        i, f, g, o; other entries are ignored.
      carry: ``(h, c)``, each ``(b, h)``: a ``jaxrnn.LSTMState`` or any pair.
      x: ``(t, b, i)`` inputs.
      valid: optional ``(t, b, 1)`` bool; False steps keep the carry and output zeros.
      mask: optional ``(b, h)`` recurrent-dropout mask on :math:`h_{t-1}` (treated as a
        constant by differentiation).
      unroll: passed to ``jax.lax.scan``; None: ``LSTM_UNROLL``.

    Returns:
      ``((h_T, c_T), outputs (t, b, h))``, the final carry of the same type as ``carry``.
    """
    leaves, treedef = jax.tree_util.tree_flatten(carry)
    if len(leaves) != 2:
        raise ValueError(f"lstm_scan: expected a `carry` of two arrays (h, c), got {treedef}")
    weights = {k: weights[k] for k in _LSTM_KEYS}
    unroll = LSTM_UNROLL if unroll is None else unroll
    final, ys = _lstm(weights, x, tuple(leaves), valid, _constant(mask), unroll)
    return jax.tree_util.tree_unflatten(treedef, list(final)), ys


# ---------------------------------------------------------------------------------------
# Elman RNN.
# ---------------------------------------------------------------------------------------


def _elman_forward(weights, x, h0, valid, mask, unroll, activation, residuals):
    phi = ELMAN_ACTIVATIONS[activation]
    slope = _ELMAN_DERIVATIVES[activation]
    w, u, b = (weights[k] for k in _LSTM_KEYS)

    def cell(h, x_t):
        entering = _masked(h, mask)
        h_new = phi(matmul(x_t, w, h.dtype) + matmul(entering, u, h.dtype) + b)
        return h_new, h_new, lambda: (entering, slope(h_new))

    return _masked_scan(cell, h0, x, valid, unroll, residuals)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5, 6))
def _elman(weights, x, h0, valid, mask, unroll, activation):
    h, ys, _ = _elman_forward(weights, x, h0, valid, mask, unroll, activation, False)
    return h, ys


@functools.partial(_elman.defjvp, symbolic_zeros=True)
def _elman_jvp(unroll, activation, primals, tangents):
    weights, x, h0, valid, mask = primals
    d_weights, dx, d_h0, _, _ = tangents
    h, ys, (entering, slopes) = _elman_forward(
        weights, x, h0, valid, mask, unroll, activation, True
    )
    d_pre = _outside_tangent(weights, d_weights, x, dx, entering, slice(None), ys.dtype)
    u_t = _transposed_in_memory(weights["recurrent_kernel"])

    def cell(dh, inputs):
        d_pre_t, slope_t = inputs
        dh_new = (d_pre_t + _times_transposed(_masked(dh, mask), u_t)) * slope_t
        return dh_new, dh_new, None

    dh, d_ys, _ = _masked_scan(cell, _zeros_if_symbolic(d_h0, h0), (d_pre, slopes), valid, unroll)
    return (h, ys), (dh, d_ys)


def elman_scan(
    weights: dict[str, Array],
    carry: Array,
    x: Array,
    valid: Array | None = None,
    mask: Array | None = None,
    unroll: int | None = None,
    activation: str = "tanh",
) -> tuple[Array, Array]:
    r"""The Elman RNN :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)` over a sequence, fused.

    Args:
      weights: ``kernel (i, h)``, ``recurrent_kernel (h, h)``, ``bias (h,)``; other
        entries are ignored.
      carry: ``(b, h)``.
      x: ``(t, b, i)`` inputs.
      valid: optional ``(t, b, 1)`` bool padding mask.
      mask: optional ``(b, h)`` recurrent-dropout mask (a constant for differentiation).
      unroll: passed to ``jax.lax.scan``; None: 1.
      activation: one of ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``.

    Returns:
      ``(h_T, outputs (t, b, h))``.
    """
    if activation not in ELMAN_ACTIVATIONS:
        raise ValueError(
            f"elman_scan: expected `activation` in {tuple(ELMAN_ACTIVATIONS)}, got {activation!r}"
        )
    weights = {k: weights[k] for k in _LSTM_KEYS}
    unroll = 1 if unroll is None else unroll
    return _elman(weights, x, carry, valid, _constant(mask), unroll, activation)


# ---------------------------------------------------------------------------------------
# GRU, reset after the matmul (PyTorch, cuDNN, Keras).
# ---------------------------------------------------------------------------------------

_GRU_AFTER_KEYS = (*_LSTM_KEYS, "recurrent_bias")


def _gru_after_forward(weights, x, h0, valid, mask, unroll, residuals):
    hidden = h0.shape[-1]
    w, u, b, b_hn = (weights[k] for k in _GRU_AFTER_KEYS)

    def cell(h, x_t):
        entering = _masked(h, mask)
        xw = matmul(x_t, w, h.dtype) + b
        hu = matmul(entering, u, h.dtype)
        rz = jax.nn.sigmoid(xw[..., : 2 * hidden] + hu[..., : 2 * hidden])
        r, z = jnp.split(rz, 2, axis=-1)
        hn = hu[..., 2 * hidden :] + b_hn
        n = jnp.tanh(xw[..., 2 * hidden :] + r * hn)
        h_new = n + z * (h - n)

        def coefficients():
            # h_new = n + z (h - n), n = tanh(a_n + r hn), r = sigma(a_r), z = sigma(a_z):
            # dh_new = z dh + sum over the gate blocks of C * da, for da = (da_r, da_z,
            # da_n) the pre-activation tangents; the candidate's x-part enters through
            # (1 - z) n' (its recurrent part through C_n = (1 - z) n' r).
            n_out = (1.0 - z) * (1.0 - n * n)
            c_r = n_out * r * (1.0 - r) * hn
            c_z = z * (1.0 - z) * (h - n)
            return entering, jnp.concatenate([c_r, c_z, n_out * r], axis=-1), z, n_out

        return h_new, h_new, coefficients

    return _masked_scan(cell, h0, x, valid, unroll, residuals)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _gru_after(weights, x, h0, valid, mask, unroll):
    h, ys, _ = _gru_after_forward(weights, x, h0, valid, mask, unroll, False)
    return h, ys


@functools.partial(_gru_after.defjvp, symbolic_zeros=True)
def _gru_after_jvp(unroll, primals, tangents):
    weights, x, h0, valid, mask = primals
    d_weights, dx, d_h0, _, _ = tangents
    hidden = h0.shape[-1]
    h, ys, (entering, c, z, n_out) = _gru_after_forward(weights, x, h0, valid, mask, unroll, True)
    rz_cols, n_cols = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
    # Everything that does not pass through the carry, for all steps at once: the r and
    # z pre-activations' tangents times their coefficients, the candidate's x-part
    # times (1 - z) n', and its r * (h_{t-1} dU_n + db_hn) part times (1 - z) n' r.
    d_pre_rz = _outside_tangent(weights, d_weights, x, dx, entering, rz_cols, ys.dtype)
    outside = _block_sum(c[..., : 2 * hidden] * d_pre_rz, 2)
    x_part = {"kernel": d_weights["kernel"], "bias": d_weights["bias"]}
    x_part["recurrent_kernel"] = SymbolicZero(None)
    outside = outside + n_out * _outside_tangent(weights, x_part, x, dx, entering, n_cols, ys.dtype)
    d_hn = []
    if not _is_zero(d_weights["recurrent_kernel"]):
        d_hn.append(_rows_times(entering, d_weights["recurrent_kernel"][:, n_cols], ys.dtype))
    if not _is_zero(d_weights["recurrent_bias"]):
        d_hn.append(d_weights["recurrent_bias"])
    if d_hn:
        outside = outside + c[..., 2 * hidden :] * functools.reduce(jnp.add, d_hn)
    u_t = _transposed_in_memory(weights["recurrent_kernel"])

    def cell(dh, inputs):
        outside_t, c_t, z_t = inputs
        d_hu = _times_transposed(_masked(dh, mask), u_t)
        # C * d_hu as one product: a slice of the residual c_t here would be hoisted by
        # JAX into a loop of its own when it splits the known from the linear part.
        dh_new = z_t * dh + outside_t + _block_sum(c_t * d_hu, 3)
        return dh_new, dh_new, None

    inputs = (outside, c, z)
    dh, d_ys, _ = _masked_scan(cell, _zeros_if_symbolic(d_h0, h0), inputs, valid, unroll)
    return (h, ys), (dh, d_ys)


# ---------------------------------------------------------------------------------------
# GRU, reset before the matmul (Cho et al. 2014).
# ---------------------------------------------------------------------------------------


def _gru_before_forward(weights, x, h0, valid, mask, unroll, residuals):
    hidden = h0.shape[-1]
    w, u, b = (weights[k] for k in _LSTM_KEYS)
    u_rz, u_n = u[:, : 2 * hidden], u[:, 2 * hidden :]

    def cell(h, x_t):
        entering = _masked(h, mask)
        xw = matmul(x_t, w, h.dtype) + b
        rz = jax.nn.sigmoid(xw[..., : 2 * hidden] + matmul(entering, u_rz, h.dtype))
        r, z = jnp.split(rz, 2, axis=-1)
        reset = r * entering
        n = jnp.tanh(xw[..., 2 * hidden :] + matmul(reset, u_n, h.dtype))
        h_new = h + z * (n - h)
        return h_new, h_new, lambda: (entering, reset, rz * (1 - rz), 1 - n * n, r, z, n - h)

    return _masked_scan(cell, h0, x, valid, unroll, residuals)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _gru_before(weights, x, h0, valid, mask, unroll):
    h, ys, _ = _gru_before_forward(weights, x, h0, valid, mask, unroll, False)
    return h, ys


@functools.partial(_gru_before.defjvp, symbolic_zeros=True)
def _gru_before_jvp(unroll, primals, tangents):
    weights, x, h0, valid, mask = primals
    d_weights, dx, d_h0, _, _ = tangents
    hidden = h0.shape[-1]
    h, ys, res = _gru_before_forward(weights, x, h0, valid, mask, unroll, True)
    entering, reset, rz_slopes, n_slope, r, z, n_minus_h = res
    u_t = _transposed_in_memory(weights["recurrent_kernel"])
    u_rz_t, u_n_t = u_t[: 2 * hidden], u_t[2 * hidden :]
    rz_cols, n_cols = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
    d_pre_rz = _outside_tangent(weights, d_weights, x, dx, entering, rz_cols, ys.dtype)
    # The candidate's recurrent matmul takes r * h, so its dU term uses that state.
    d_pre_n = _outside_tangent(weights, d_weights, x, dx, reset, n_cols, ys.dtype)

    def cell(dh, inputs):
        d_rz_t, d_n_t, entering_t, rz_slope_t, n_slope_t, r_t, z_t, n_minus_h_t = inputs
        d_entering = _masked(dh, mask)
        d_rz = (d_rz_t + _times_transposed(d_entering, u_rz_t)) * rz_slope_t
        dr, dz = jnp.split(d_rz, 2, axis=-1)
        d_reset = dr * entering_t + r_t * d_entering
        dn = (d_n_t + _times_transposed(d_reset, u_n_t)) * n_slope_t
        dh_new = dh + z_t * (dn - dh) + dz * n_minus_h_t
        return dh_new, dh_new, None

    inputs = (d_pre_rz, d_pre_n, entering, rz_slopes, n_slope, r, z, n_minus_h)
    dh, d_ys, _ = _masked_scan(cell, _zeros_if_symbolic(d_h0, h0), inputs, valid, unroll)
    return (h, ys), (dh, d_ys)


def gru_scan(
    weights: dict[str, Array],
    carry: Array,
    x: Array,
    valid: Array | None = None,
    mask: Array | None = None,
    unroll: int | None = None,
    reset_after: bool = False,
) -> tuple[Array, Array]:
    r"""The GRU (gates r, z, n) over a whole sequence: ``cells.gru_step`` scanned, fused.

    Args:
      weights: ``kernel (i, 3h)``, ``recurrent_kernel (h, 3h)``, ``bias (3h,)`` and,
        with ``reset_after``, ``recurrent_bias (h,)``; other entries are ignored.
      carry: ``(b, h)``.
      x: ``(t, b, i)`` inputs.
      valid: optional ``(t, b, 1)`` bool padding mask.
      mask: optional ``(b, h)`` recurrent-dropout mask (a constant for differentiation).
      unroll: passed to ``jax.lax.scan``; None: 1.
      reset_after: the formula, see ``jaxrnn.cells.gru_step``.

    Returns:
      ``(h_T, outputs (t, b, h))``.
    """
    unroll = 1 if unroll is None else unroll
    if reset_after:
        weights = {k: weights[k] for k in _GRU_AFTER_KEYS}
        return _gru_after(weights, x, carry, valid, _constant(mask), unroll)
    weights = {k: weights[k] for k in _LSTM_KEYS}
    return _gru_before(weights, x, carry, valid, _constant(mask), unroll)


__all__ = ["ELMAN_ACTIVATIONS", "elman_scan", "gru_scan", "lstm_scan"]
