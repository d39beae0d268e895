"""jaxrnn: recurrent networks in JAX, from initialisation to training."""

from jaxrnn import (
    diagnostics,
    initializers,
    interop,
    lru,
    min_rnn,
    models,
    parallel,
    training,
)
from jaxrnn.cells import GRUCell, LSTMCell, LSTMState, RecurrentCell, SimpleRNNCell
from jaxrnn.lru import LRU, LRUCell
from jaxrnn.min_rnn import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from jaxrnn.sequence import GRU, LSTM, RNN, Bidirectional, SimpleRNN, Stack
from jaxrnn.typing import Initializer

__version__ = "0.1.0"


def __getattr__(name: str):
    # jaxrnn.checkpoint imports orbax, jaxrnn.nnx flax.nnx and jaxrnn.testing chex and
    # jax.test_util, which only some users need: load them on first use only.
    if name in ("checkpoint", "nnx", "testing"):
        import importlib

        return importlib.import_module(f"jaxrnn.{name}")
    raise AttributeError(f"module 'jaxrnn' has no attribute {name!r}")


__all__ = [
    "GRU",
    "LRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "Initializer",
    "LRUCell",
    "LSTMCell",
    "LSTMState",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RecurrentCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "Stack",
    "checkpoint",
    "diagnostics",
    "initializers",
    "interop",
    "lru",
    "min_rnn",
    "models",
    "nnx",
    "parallel",
    "testing",
    "training",
]
