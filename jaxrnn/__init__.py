"""jaxrnn: recurrent networks in JAX, from initialisation to training."""

from jaxrnn import diagnostics, initializers, interop, models
from jaxrnn.cells import GRUCell, LSTMCell, LSTMState, RecurrentCell, SimpleRNNCell
from jaxrnn.sequence import GRU, LSTM, RNN, Bidirectional, SimpleRNN
from jaxrnn.typing import Initializer

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "Initializer",
    "LSTMCell",
    "LSTMState",
    "RecurrentCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "diagnostics",
    "initializers",
    "interop",
    "models",
]
