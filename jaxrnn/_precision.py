r"""Mixed precision: 16-bit matmul operands, float32 accumulation, gates and carries.

A cell's ``dtype`` is its computation dtype. A 32- or 64-bit float is the dtype of
everything: weights, inputs, gates, carries and outputs. A 16-bit float (bfloat16,
float16) is a mixed-precision mode, the one of cuDNN's and oneDNN's half-precision
RNNs and of ``torch.autocast``: the matmuls take 16-bit operands and accumulate in
float32 (``preferred_element_type``), and the gate arithmetic, the carries and the
outputs stay in float32 (or the parameter dtype, where that is wider). The carry
never rounds to 16 bits, so the cell state of a long sequence does not drift; a CPU
with AVX512_BF16 (and a GPU's tensor cores) runs the bfloat16 matmuls at about twice
the float32 rate, while a bfloat16 product rounded to bfloat16 runs slower than
float32 on XLA's CPU backend (``experiments/benchmark.py``).

References:
  Micikevicius et al., "Mixed Precision Training", ICLR 2018 (16-bit operands, 32-bit
  accumulation and master weights).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.typing import Array


def is_half(dtype: Any) -> bool:
    """Whether ``dtype`` is a 16-bit float (the mixed-precision mode)."""
    return dtype is not None and jnp.finfo(jnp.dtype(dtype)).bits == 16


def carry_dtype(dtype: Any, param_dtype: Any) -> jnp.dtype:
    """The dtype of the carries and the gate arithmetic of a cell.

    Args:
      dtype: the computation dtype, or None (that of the parameters).
      param_dtype: the parameter dtype.

    Returns:
      ``param_dtype`` without ``dtype``; float32 or ``param_dtype``, whichever is wider,
      for a 16-bit ``dtype``; else ``dtype``.
    """
    if dtype is None:
        return jnp.dtype(param_dtype)
    if is_half(dtype):
        return jnp.promote_types(jnp.float32, param_dtype)
    return jnp.dtype(dtype)


def matmul(a: Array, w: Array, out_dtype: Any) -> Array:
    """``a (..., k) @ w (k, n)``, in mixed precision where ``w`` is 16-bit.

    A 16-bit ``w``: ``a`` is rounded to ``w``'s dtype and the product accumulates in,
    and is returned as, ``out_dtype``. Otherwise the ordinary promoting ``a @ w``.
    """
    if not is_half(w.dtype):
        return a @ w
    return jax.lax.dot_general(
        a.astype(w.dtype), w, (((a.ndim - 1,), (0,)), ((), ())), preferred_element_type=out_dtype
    )


def matmul_transposed(a: Array, w_t: Array, out_dtype: Any) -> Array:
    """``a (..., k) @ w_t.T`` for ``w_t (n, k)``, as a dot against ``w_t`` itself.

    In mixed precision as ``matmul`` where ``w_t`` is 16-bit.
    """
    dims = (((a.ndim - 1,), (1,)), ((), ()))
    if not is_half(w_t.dtype):
        return jax.lax.dot_general(a, w_t, dims)
    return jax.lax.dot_general(a.astype(w_t.dtype), w_t, dims, preferred_element_type=out_dtype)
