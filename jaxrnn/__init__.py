"""jaxrnn: recurrent networks in JAX, from initialisation to training."""

from jaxrnn import initializers
from jaxrnn.typing import Initializer

__version__ = "0.1.0"

__all__ = ["Initializer", "initializers"]
