"""Shared test configuration: the one tolerance table, fixed keys, dtype helpers."""

import contextlib
import importlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# The one tolerance table. Exact-math comparisons use the row of the dtype under test;
# statistical tests use the sampling tolerances below it.
TOLERANCES = {
    "float64": {"rtol": 1e-10, "atol": 1e-10},
    "float32": {"rtol": 1e-5, "atol": 1e-5},
    "float16": {"rtol": 2e-3, "atol": 2e-3},
    "bfloat16": {"rtol": 1.6e-2, "atol": 1.6e-2},
}
# Sampling statistics (every statistical test uses >= 1e5 samples and a fixed key).
NUM_SAMPLES = 200_000
VARIANCE_RTOL = 0.02  # sample variance vs theory: ~0.3% standard error at 2e5 samples
STD_RTOL = 0.01  # sample std vs theory
KS_MIN_PVALUE = 1e-3  # Kolmogorov-Smirnov against the target distribution
# Orthogonality of float32 matrices: W^T W = g^2 I elementwise, singular values = gain.
ORTHO_ATOL = {"float32": 1e-5, "float64": 1e-12}
# Spectral radius by repeated squaring vs numpy's eigendecomposition.
SPECTRAL_RTOL = {"float32": 1e-4, "float64": 1e-10}


def tolerance(dtype) -> dict:
    """The rtol/atol row of TOLERANCES for ``dtype``."""
    return TOLERANCES[jnp.dtype(dtype).name]


@pytest.fixture
def key():
    """A fixed PRNG key; tests that need several split it."""
    return jax.random.key(20261123)


@contextlib.contextmanager
def maybe_x64(dtype):
    """Enables float64 inside the block when ``dtype`` is float64."""
    if jnp.dtype(dtype) == jnp.float64:
        with jax.enable_x64(True):
            yield
    else:
        yield


def as_numpy64(x) -> np.ndarray:
    """A float64 NumPy copy (bfloat16 and float16 included)."""
    return np.asarray(jnp.asarray(x, jnp.float32) if x.dtype != jnp.float64 else x, np.float64)


def import_torch():
    """Imports torch for a parity test: skipped when absent, unless CI requires it.

    ``.ci/run`` sets ``JAXRNN_REQUIRE_TORCH=1`` so that a missing torch fails the run
    instead of silently skipping every PyTorch comparison.
    """
    if os.environ.get("JAXRNN_REQUIRE_TORCH") == "1":
        return importlib.import_module("torch")
    return pytest.importorskip("torch")
