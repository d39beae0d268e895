"""jaxrnn._lapack: unbatched LAPACK calls equal the batched ones and cannot hang a CPU.

The hang is jaxlib's (see the module docstring): the subprocess test runs the pattern that
hung, two vmapped orthogonal samples in one jit, pinned to two cores, under a timeout.
Without ``one_at_a_time`` in ``jaxrnn.initializers.orthogonal`` it hangs on the first call.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tolerance

from jaxrnn import _lapack as lapack
from jaxrnn import initializers


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (2, 3, 4, 4)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_equals_jnp_linalg_svd(shape, full_matrices):
    a = jax.random.normal(jax.random.key(0), shape)
    got = lapack.svd(a, full_matrices=full_matrices)
    want = jnp.linalg.svd(a, full_matrices=full_matrices)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, **tolerance(jnp.float32))
    np.testing.assert_allclose(lapack.svd(a, compute_uv=False), want[1], **tolerance(jnp.float32))


def test_svd_rejects_vectors():
    with pytest.raises(ValueError, match="`a` of rank >= 2"):
        lapack.svd(jnp.ones(3))


def test_one_at_a_time_is_a_loop_under_vmap():
    x = jax.random.normal(jax.random.key(4), (3, 5, 5))
    f = lapack.one_at_a_time(lambda a: jnp.linalg.qr(a)[0])
    np.testing.assert_array_equal(jax.vmap(f)(x), jax.vmap(lambda a: jnp.linalg.qr(a)[0])(x))
    text = str(jax.make_jaxpr(jax.vmap(f))(x))
    factorisations = [line for line in text.splitlines() if "= qr[" in line]
    assert factorisations and all("3,5,5" not in line for line in factorisations), text
    assert "scan[" in text  # a loop over the 3 matrices, one (5, 5) QR each
    assert "scan[" not in str(jax.make_jaxpr(f)(x[0]))  # unchanged when not batched


def test_forward_mode_goes_through():
    a = jax.random.normal(jax.random.key(1), (2, 3, 3))
    da = jax.random.normal(jax.random.key(2), (2, 3, 3))
    got = jax.jvp(lambda a: lapack.svd(a, compute_uv=False), (a,), (da,))
    want = jax.jvp(lambda a: jnp.linalg.svd(a, compute_uv=False), (a,), (da,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, **tolerance(jnp.float32))


@pytest.mark.parametrize("method", ["qr", "svd"])
def test_vmapped_orthogonal_equals_one_key_at_a_time(method):
    init = initializers.orthogonal(gain=1.5, method=method)
    keys = jax.random.split(jax.random.key(3), 4)
    batched = jax.jit(jax.vmap(lambda k: init(k, (6, 5))))(keys)
    for k, got in zip(keys, batched, strict=True):
        np.testing.assert_allclose(got, init(k, (6, 5)), **tolerance(jnp.float32))


_HANG = textwrap.dedent(
    """
    import os
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)  # XLA's pool: 2 threads, as on the project's machines
    import jax, jaxrnn
    from jaxrnn import initializers

    def create(key):  # (64, 64) and larger: smaller batches are not split over the pool
        ks = jax.random.split(key, 7)
        qr, svd = initializers.orthogonal(), initializers.orthogonal(method="svd")
        capped = initializers.max_singular_value(0.9)
        return [qr(ks[i], (64, 64)) for i in range(3)] + [svd(ks[3], (64, 64)),
            svd(ks[4], (64, 64)), capped(ks[5], (3, 64, 64)), capped(ks[6], (3, 64, 64))]

    keys = jax.random.split(jax.random.key(0), 2)
    f = jax.jit(jax.vmap(create))
    for _ in range(20):
        jax.block_until_ready(f(keys))
    cell = jaxrnn.LSTMCell(64)  # every seed's model at once, as the experiments do
    x = jax.numpy.zeros((1, 3))
    jax.block_until_ready(jax.jit(jax.vmap(lambda k: cell.init(k, cell.initialize_carry(
        k, x.shape), x)))(keys))
    print("done")
    """
)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_vmapped_factorisations_in_one_jit_do_not_hang():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", _HANG], capture_output=True, text=True, timeout=240, env=env
        )
    except subprocess.TimeoutExpired:
        pytest.fail("vmapped orthogonal / SVD initializers in one jit hung (no output in 240 s)")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("done")
