"""Type aliases shared by every jaxrnn module.

Shape letters used in docstrings and annotations throughout jaxrnn:

* ``b``: batch
* ``t``: time (sequence length)
* ``i``: input features
* ``h``: hidden units
* ``g``: gates (4 for an LSTM, 3 for a GRU, 1 for a simple RNN)
* ``l``: layers (depth)

So ``x: (b, t, i)`` is a batch-major input sequence and a fused LSTM recurrent kernel is
``(h, 4 * h)``, gates in the order i, f, g, o along the last axis.
"""

from collections.abc import Sequence
from typing import Any, Protocol

import jax

Array = jax.Array
Shape = Sequence[int]
DType = Any
PRNGKey = jax.Array


class Initializer(Protocol):
    """A PRNG-keyed sampler ``init(key, shape, dtype) -> Array``.

    The signature of ``jax.nn.initializers`` and of ``flax.linen.Module.param``'s
    ``init_fn``: every jaxrnn initializer has it.
    """

    def __call__(self, key: PRNGKey, shape: Shape, dtype: DType = ...) -> Array:
        """Draws an array of ``shape`` and ``dtype`` from ``key``."""
        ...


__all__ = ["Array", "DType", "Initializer", "PRNGKey", "Shape"]
