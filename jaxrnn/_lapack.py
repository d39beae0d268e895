r"""LAPACK calls (QR, SVD) issued one matrix at a time, so that they cannot hang a CPU.

jaxlib's CPU LAPACK kernels split a *batch* of matrices over XLA's intra-op thread pool
and block the pool thread that runs them until the whole batch is done. Two such batched
calls running at once in one executable can hold every pool thread, each waiting for
work that no free thread is left to run: the program hangs with every thread asleep.
On a 2-core machine (jaxlib 0.10.2) two ``jax.vmap``-ed ``jax.nn.initializers.orthogonal``
samples in one ``jit`` hang on the first call, every time; so did the experiment suite,
which initialises every seed's model at once under ``jax.vmap``. One matrix per call is
run inline and does not take the pool.

``one_at_a_time(fn)`` makes ``fn`` (written for one sample) run as a loop of unbatched
calls under ``jax.vmap`` (``jax.custom_batching.sequential_vmap``), and ``svd`` is
``jnp.linalg.svd`` over any leading batch axes that way. The values are those of the
batched call; only the schedule differs. Forward-mode differentiation (``jax.jvp``)
goes through them, reverse mode does not (``jax.custom_batching``): they are for
initializers and diagnostics, not for losses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.typing import Array


def one_at_a_time(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` unchanged when called plainly; under ``jax.vmap``, a loop over the batch.

    Args:
      fn: a function of arrays (PRNG keys included) written for one sample, whose
        LAPACK calls must not be batched.

    Returns:
      ``fn`` wrapped by ``jax.custom_batching.sequential_vmap``.
    """
    return jax.custom_batching.sequential_vmap(fn)


def svd(a: Array, *, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``jnp.linalg.svd`` of ``(..., m, n)``, one ``(m, n)`` matrix per LAPACK call.

    Args:
      a: ``(..., m, n)``, any number of leading batch axes.
      full_matrices: as ``jnp.linalg.svd``.
      compute_uv: as ``jnp.linalg.svd``.

    Returns:
      What ``jnp.linalg.svd(a, ...)`` returns: ``(u, s, vh)``, or ``s (..., min(m, n))``.
    """
    if a.ndim < 2:
        raise ValueError(f"svd: expected `a` of rank >= 2 (..., m, n), got shape {a.shape}")
    f = one_at_a_time(
        functools.partial(jnp.linalg.svd, full_matrices=full_matrices, compute_uv=compute_uv)
    )
    for _ in range(a.ndim - 2):
        f = jax.vmap(f)
    return f(a)


__all__ = ["one_at_a_time", "svd"]
