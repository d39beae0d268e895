"""The LSTM carry, ``LSTMState(h, c)``: a pytree read by name only.

Its own module so that the argument checks and the time loops, which the cells use,
can know it without importing the cells; public as ``jaxrnn.LSTMState``.
"""

from __future__ import annotations

import flax.struct

from jaxrnn.typing import Array


@flax.struct.dataclass
class LSTMState:
    """The LSTM carry: hidden state ``h`` and cell state ``c``, each ``(..., h)``.

    A pytree (``jax.tree_util`` flattens it to ``[h, c]``) read by name only: it cannot
    be unpacked, because Flax's own LSTM cells order their carry ``(c, h)`` and
    PyTorch's ``(h, c)``, and ``c, h = state`` would swap them without a word (Flax
    issue #4124). A plain ``(h, c)`` tuple, PyTorch's order, is accepted wherever
    jaxrnn takes an initial LSTM state.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = LSTMState(h=jnp.zeros(3), c=jnp.ones(3))
      >>> float(state.c.sum())
      3.0
      >>> h, c = state  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      TypeError: LSTMState cannot be unpacked (Flax cells order the carry (c, h), ...
    """

    h: Array
    c: Array

    def __iter__(self):
        raise TypeError(
            "LSTMState cannot be unpacked (Flax cells order the carry (c, h), PyTorch "
            "(h, c)): read `state.h` and `state.c`"
        )

    def __getitem__(self, index):
        raise TypeError(
            f"LSTMState cannot be indexed (state[{index!r}]): read `state.h` and `state.c`"
        )

    def __len__(self):
        raise TypeError("LSTMState has no length: read `state.h` and `state.c`")
