"""Shared test configuration: the one tolerance table, fixed keys, dtype helpers."""

import contextlib
import gc
import importlib
import os

import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.testing as rnn_testing

# The one tolerance table, jaxrnn.testing's: exact-math comparisons use the row of the
# dtype under test; statistical tests use the sampling tolerances below it (every
# statistical test uses >= 1e5 samples and a fixed key).
TOLERANCES = rnn_testing.TOLERANCES
NUM_SAMPLES = rnn_testing.NUM_SAMPLES  # 2e5
VARIANCE_RTOL = rnn_testing.VARIANCE_RTOL  # sample variance vs theory (~0.3% s.e.)
STD_RTOL = rnn_testing.STD_RTOL  # sample std vs theory
KS_MIN_PVALUE = 1e-3  # Kolmogorov-Smirnov against the target distribution
# Orthogonality: W^T W = g^2 I elementwise, singular values = gain.
ORTHO_ATOL = rnn_testing.ORTHO_ATOL
# Spectral radius by repeated squaring vs numpy's eigendecomposition.
SPECTRAL_RTOL = rnn_testing.SPECTRAL_RTOL

# Hypothesis: every property test is bounded and derandomised unless it says otherwise
# (the CI budget on 2 cores); `pytest --hypothesis-profile=...` chooses another.
hypothesis.settings.load_profile(rnn_testing.register_hypothesis_profile("jaxrnn"))


def tolerance(dtype) -> dict:
    """The rtol/atol row of TOLERANCES for ``dtype``."""
    return rnn_testing.tolerance(dtype)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops every compiled program and trace cache when a test module ends.

    An xdist worker runs dozens of modules, each compiling hundreds of programs that no
    later module reuses; without this a worker grows to ~6 GB. A mitigation, not a
    diagnosis: fresh-clone CI runs lost a worker to SIGABRT inside XLA's compile late in
    such a long-lived worker (never reproduced in a fresh process).
    """
    yield
    jax.clear_caches()
    gc.collect()


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
