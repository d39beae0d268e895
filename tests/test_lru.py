"""Tests of jaxrnn.lru: parallel scan against sequential, a NumPy loop and the paper's init.

The reference below is written from the equations of Orvieto et al. (2023), section 3
and Appendix A, in complex128 NumPy, step by step, without calling any jaxrnn function:
only the parameter names of the paper's code are shared with the code under test.

As in test_min_rnn, the long runs are computed once by a module-scoped fixture and
every other check uses one short shape with the layers called eagerly, so that their
jitted time loops compile once per shape.
"""

import doctest
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import KS_MIN_PVALUE, NUM_SAMPLES, STD_RTOL, as_numpy64, tolerance
from scipy import stats

import jaxrnn
import jaxrnn.testing as rnn_testing
from jaxrnn import lru
from jaxrnn.lru import LRU, LRUCell

BATCH, FEATURES, STATE, STEPS = 3, 4, 8, 6  # b, H (input = output), N, t
LONG = 4096
LONG_LENGTHS = (LONG, 2500, 0)
LENGTHS = (STEPS, 2, 0)
RTOL32 = tolerance(jnp.float32)["rtol"]  # 1e-5, the float32 row of conftest.TOLERANCES
FIXED_KEY = 20261123  # the seed of conftest's `key` fixture, for cached set-ups
PARAMETERS = ("nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im", "D")
# (r_min, r_max, max_phase): the paper's defaults, its Long Range Arena ring, and others.
RINGS = {
    "default": (0.0, 1.0, 2 * math.pi),
    "lra": (0.9, 0.999, 2 * math.pi),
    "narrow_phase": (0.5, 0.8, math.pi / 10),
}


# ---------------------------------------------------------------------------------------
# The NumPy reference, complex128, from the paper's equations.
# ---------------------------------------------------------------------------------------


def reference(params, u, x0, lengths):
    """``u (b, t, H)``, ``x0 (b, N)`` -> ``(final (b, N), outputs (b, t, H))``."""
    p = {k: as_numpy64(v) for k, v in params.items()}
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    b = (p["B_re"] + 1j * p["B_im"]) * np.exp(p["gamma_log"])[:, None]
    c = p["C_re"] + 1j * p["C_im"]
    u, x = as_numpy64(u), np.asarray(x0, np.complex128).copy()
    outputs = np.zeros(u.shape)
    for k in range(u.shape[1]):
        new = lam * x + u[:, k] @ b.T
        valid = (k < np.asarray(lengths))[:, None]
        x = np.where(valid, new, x)
        outputs[:, k] = np.where(valid, (new @ c.T).real + p["D"] * u[:, k], 0.0)
    return x, outputs


def relative_error(actual, expected):
    """Normwise, ``max |actual - expected| / max |expected|``: outputs cross zero."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


@functools.cache
def inputs(batch, steps, dtype=jnp.float32):
    """``u (b, t, H)`` and a complex initial state ``x0 (b, N)``, drawn by NumPy (no compile)."""
    rng = np.random.default_rng([FIXED_KEY, steps])
    u = rng.standard_normal((batch, steps, FEATURES))
    x0 = rng.standard_normal((batch, STATE)) + 1j * rng.standard_normal((batch, STATE))
    complex_dtype = jnp.complex128 if dtype == jnp.float64 else jnp.complex64
    return jnp.asarray(u, dtype), jnp.asarray(x0, complex_dtype)


@functools.cache
def init_params(ring="default", dtype=jnp.float32, state=STATE, features=FEATURES):
    r_min, r_max, max_phase = RINGS[ring]
    layer = LRU(state, r_min=r_min, r_max=r_max, max_phase=max_phase, param_dtype=dtype)
    # Parameters do not depend on the length: a one-step init compiles no tree.
    # Eager: the rings share the compiled random draws of each shape.
    return layer.init(jax.random.key(FIXED_KEY), jnp.zeros((1, 1, features), dtype))["params"]


@pytest.fixture(scope="module")
def long_run():
    u, x0 = inputs(len(LONG_LENGTHS), LONG)
    lengths = jnp.array(LONG_LENGTHS)
    layer = LRU(STATE, return_carry=True)
    out = {}
    for ring in ("default", "lra"):
        params = init_params(ring)
        for mode in lru.MODES:
            out[ring, mode] = layer.apply(
                {"params": params}, u, lengths, initial_carry=x0, mode=mode
            )
        out[ring, "reference"] = reference(params, u, x0, lengths)
    return x0, out


# ---------------------------------------------------------------------------------------
# 1. Parallel against sequential, and both against the NumPy loop.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ring", ["default", "lra"])
def test_parallel_equals_sequential_long(long_run, ring):
    x0, out = long_run
    (carry_p, y_p), (carry_s, y_s) = out[ring, "parallel"], out[ring, "sequential"]
    assert y_p.shape == (len(LONG_LENGTHS), LONG, FEATURES)
    assert carry_p.dtype == jnp.complex64
    assert relative_error(y_p, y_s) <= RTOL32
    assert relative_error(carry_p, carry_s) <= RTOL32
    np.testing.assert_array_equal(carry_p[2], x0[2])  # the empty row keeps its state
    np.testing.assert_array_equal(y_p[1, LONG_LENGTHS[1] :], 0.0)


@pytest.mark.parametrize("ring", ["default", "lra"])
def test_long_run_against_reference(long_run, ring):
    """Both float32 modes near the complex128 loop; the parallel one no worse."""
    _, out = long_run
    ref_carry, ref_y = out[ring, "reference"]
    errors = {mode: relative_error(out[ring, mode][1], ref_y) for mode in lru.MODES}
    # float32 rounds lambda once; its powers then drift by ~ t * eps (see the module
    # docstring): at these rings that stays within 1e-5 of the largest output.
    assert max(errors.values()) <= RTOL32, errors
    assert errors["parallel"] <= 2 * errors["sequential"], errors
    for mode in lru.MODES:
        assert relative_error(out[ring, mode][0], ref_carry) <= RTOL32


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
@pytest.mark.parametrize("options", ["plain", "lengths_and_state"])
def test_short_against_reference(dtype, options):
    with jax.enable_x64(dtype == jnp.float64):
        params = init_params("lra", dtype)
        u, x0 = inputs(BATCH, STEPS, dtype)
        lengths = jnp.array(LENGTHS) if options == "lengths_and_state" else None
        x0 = x0 if options == "lengths_and_state" else None
        layer = LRU(STATE, return_carry=True, param_dtype=dtype)
        ref_carry, ref_y = reference(
            params,
            u,
            np.zeros((BATCH, STATE)) if x0 is None else x0,
            [STEPS] * BATCH if lengths is None else lengths,
        )
        complex_dtype = jnp.complex128 if dtype == jnp.float64 else jnp.complex64
        for mode in lru.MODES:
            carry, y = layer.apply({"params": params}, u, lengths, initial_carry=x0, mode=mode)
            assert y.dtype == dtype and carry.dtype == complex_dtype
            np.testing.assert_allclose(as_numpy64(y), ref_y, **tolerance(dtype))
            np.testing.assert_allclose(np.asarray(carry), ref_carry, **tolerance(dtype))


def test_time_major_and_empty():
    params = init_params("lra")
    u, x0 = inputs(BATCH, STEPS)
    batch_major = LRU(STATE).apply({"params": params}, u)
    time_major = LRU(STATE, time_major=True).apply({"params": params}, u.swapaxes(0, 1))
    np.testing.assert_array_equal(time_major.swapaxes(0, 1), batch_major)
    carry, y = LRU(STATE, return_carry=True).apply(
        {"params": params}, u[:, :0], None, initial_carry=x0
    )
    assert y.shape == (BATCH, 0, FEATURES)
    np.testing.assert_array_equal(carry, x0)


# ---------------------------------------------------------------------------------------
# 2. Step by step: the cell uses the layer's variables.
# ---------------------------------------------------------------------------------------


def test_generate_after_parallel_prompt(key):
    params = init_params("lra")
    u, x0 = inputs(BATCH, STEPS)
    layer = LRU(STATE)
    _, ref_y = reference(params, u, x0, [STEPS] * BATCH)
    prompt = 2
    carry, _ = layer.apply(
        {"params": params}, u[:, :prompt], None, initial_carry=x0, return_carry=True
    )
    cell = layer.make_cell()
    assert isinstance(cell, LRUCell)
    assert cell.initialize_carry(key, u[:, 0].shape).dtype == jnp.complex64
    step = jax.jit(cell.apply)
    for k in range(prompt, STEPS):
        carry, y = step({"params": params}, carry, u[:, k])
        np.testing.assert_allclose(as_numpy64(y), ref_y[:, k], **tolerance(jnp.float32))


def test_cell_in_jaxrnn_rnn():
    params = init_params("lra")
    u, _ = inputs(BATCH, STEPS)
    rnn = jaxrnn.RNN(LRUCell(STATE))
    scanned = jax.jit(rnn.apply)({"params": {"cell": params}}, u, jnp.array(LENGTHS))
    _, ref_y = reference(params, u, np.zeros((BATCH, STATE)), LENGTHS)
    np.testing.assert_allclose(as_numpy64(scanned), ref_y, **tolerance(jnp.float32))


# ---------------------------------------------------------------------------------------
# 3. Gradients, float64.
# ---------------------------------------------------------------------------------------


def _loss():
    """The jitted float64 loss of the parallel layer, of parameters, inputs and both
    parts of the complex initial state."""
    layer = LRU(STATE, param_dtype=jnp.float64, return_carry=True)
    lengths = jnp.array(LENGTHS)

    def loss(params, u, x0_re, x0_im):
        carry, y = layer.apply({"params": params}, u, lengths, initial_carry=x0_re + 1j * x0_im)
        return jnp.sum(jnp.sin(y)) + jnp.sum(jnp.abs(carry) ** 2)

    return jax.jit(loss)


def _grad_args():
    params = init_params("lra", jnp.float64)
    u, x0 = inputs(BATCH, STEPS, jnp.float64)
    return params, u, x0.real, x0.imag


def test_check_grads_float64():
    # jaxrnn.testing.check_gradients: check_grads at orders 1 and 2, both modes, w.r.t.
    # parameters, inputs and both parts of the complex initial state.
    with jax.enable_x64(True):
        report = rnn_testing.check_gradients(_loss(), _grad_args())
    assert set(report) == {"fwd order 1", "fwd order 2", "rev order 1", "rev order 2"}
    assert set(_grad_args()[0]) == set(PARAMETERS)


# ---------------------------------------------------------------------------------------
# 3b. The properties of jaxrnn.testing, on a complex carry: the layer over a sequence
# equals the cell stepped in a Python loop, and mode="parallel" equals "sequential"
# (values and gradients); padding never leaks, in both modes; the cell run backwards
# equals a hand reversal.
# ---------------------------------------------------------------------------------------


def test_scan_equals_loop_and_parallel_equals_sequential():
    report = rnn_testing.check_scan_equals_loop(LRU(STATE), input_size=FEATURES, time=STEPS)
    assert "the other `mode`" in report


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_padding_invariance(mode):
    layer = LRU(STATE, mode=mode)
    report = rnn_testing.check_padding_invariance(layer, input_size=FEATURES, time=STEPS)
    assert report["gradient at padding"] == 0.0


def test_reverse_consistency_of_the_cell():
    rnn_testing.check_reverse_consistency(LRUCell(STATE), input_size=FEATURES, time=STEPS)


# ---------------------------------------------------------------------------------------
# 4. Initialisation (Orvieto et al., Lemma 3.2 and Appendix A).
# ---------------------------------------------------------------------------------------


def _modulus_squared(nu_log):
    return np.exp(-2.0 * np.exp(as_numpy64(nu_log)))


def ring_pvalue(modulus_squared, r_min, r_max):
    """KS p-value of |lambda|^2 against the uniform law on [r_min^2, r_max^2]."""
    target = stats.uniform(r_min**2, r_max**2 - r_min**2)
    return stats.kstest(modulus_squared, target.cdf).pvalue


def _wrong_nu_log(key, r_min, r_max):
    """A plausible mistake: |lambda| (not |lambda|^2) uniform on [r_min, r_max]."""
    u = jax.random.uniform(key, (NUM_SAMPLES,), jnp.float32)
    modulus = u * (r_max - r_min) + r_min
    return jnp.log(-jnp.log(modulus))


@pytest.mark.parametrize("ring", RINGS)
def test_ring_initialisation_is_uniform_in_area(key, ring):
    r_min, r_max, _ = RINGS[ring]
    nu_log = lru.nu_log_init(r_min, r_max)(key, (NUM_SAMPLES,))
    assert nu_log.dtype == jnp.float32 and np.all(np.isfinite(nu_log))
    assert ring_pvalue(_modulus_squared(nu_log), r_min, r_max) > KS_MIN_PVALUE


@pytest.mark.parametrize("ring", RINGS)
def test_ring_test_rejects_uniform_modulus(key, ring):
    """The same test, at the same sample size, rejects |lambda| uniform on the ring."""
    r_min, r_max, _ = RINGS[ring]
    wrong = _wrong_nu_log(key, r_min, r_max)
    assert ring_pvalue(_modulus_squared(wrong), r_min, r_max) < KS_MIN_PVALUE


@pytest.mark.parametrize("ring", RINGS)
def test_phase_initialisation_is_uniform(key, ring):
    max_phase = RINGS[ring][2]
    theta = np.exp(as_numpy64(lru.theta_log_init(max_phase)(key, (NUM_SAMPLES,))))
    assert theta.min() >= 0.0 and theta.max() <= max_phase
    assert stats.kstest(theta, stats.uniform(0.0, max_phase).cdf).pvalue > KS_MIN_PVALUE


@pytest.mark.parametrize("ring", RINGS)
def test_module_eigenvalues_on_the_ring(ring):
    r_min, r_max, max_phase = RINGS[ring]
    params = init_params(ring, state=512, features=256)
    nu, theta = np.exp(as_numpy64(params["nu_log"])), np.exp(as_numpy64(params["theta_log"]))
    lam = np.exp(-nu + 1j * theta)
    np.testing.assert_allclose(
        lru.eigenvalues(params["nu_log"], params["theta_log"]), lam, **tolerance(jnp.float32)
    )
    modulus, phase = np.abs(lam), np.angle(lam) % (2 * np.pi)
    eps = np.finfo(np.float32).eps  # nu_log is float32
    assert modulus.min() >= r_min * (1 - eps) and modulus.max() <= r_max * (1 + eps)
    assert modulus.max() < 1.0
    assert np.all(theta <= max_phase * (1 + eps))
    if max_phase < np.pi:
        assert phase.max() <= max_phase * (1 + eps)
    # gamma = sqrt(1 - |lambda|^2), computed here in float64.
    np.testing.assert_allclose(
        as_numpy64(params["gamma_log"]),
        0.5 * np.log(-np.expm1(-2.0 * nu)),
        **tolerance(jnp.float32),
    )


def test_matrix_initialisation_scales():
    """B: N(0, 1/(2H)) per part; C: N(0, 1/N) per part; D: N(0, 1)."""
    state, features = 512, 256
    params = init_params("default", state=state, features=features)
    expected = {
        "B_re": 1 / np.sqrt(2 * features),
        "B_im": 1 / np.sqrt(2 * features),
        "C_re": 1 / np.sqrt(state),
        "C_im": 1 / np.sqrt(state),
    }
    for name, std in expected.items():
        np.testing.assert_allclose(as_numpy64(params[name]).std(), std, rtol=STD_RTOL)
    assert stats.kstest(as_numpy64(params["D"]), stats.norm().cdf).pvalue > KS_MIN_PVALUE


def test_parameter_count():
    """N complex B (N x H) and C (H x N): 2NH + 2HN real, + D (H) + nu, theta, gamma (3N)."""
    n, h = 7, 5
    shapes = jax.eval_shape(LRU(n).init, jax.random.key(0), jnp.zeros((2, 3, h)))["params"]
    assert {k: v.shape for k, v in shapes.items()} == {
        "nu_log": (n,),
        "theta_log": (n,),
        "gamma_log": (n,),
        "B_re": (n, h),
        "B_im": (n, h),
        "C_re": (h, n),
        "C_im": (h, n),
        "D": (h,),
    }
    assert sum(v.size for v in jax.tree.leaves(shapes)) == 2 * n * h + 2 * h * n + h + 3 * n


# ---------------------------------------------------------------------------------------
# 5. jit and errors.
# ---------------------------------------------------------------------------------------


def test_jit_with_traced_lengths():
    params = init_params("lra")
    u, _ = inputs(BATCH, STEPS)
    run = jax.jit(lambda p, u, lengths: LRU(STATE).apply({"params": p}, u, lengths))
    out = run(params, u, jnp.array(LENGTHS))
    _, ref_y = reference(params, u, np.zeros((BATCH, STATE)), LENGTHS)
    np.testing.assert_allclose(as_numpy64(out), ref_y, **tolerance(jnp.float32))


def _apply(layer, u, *args, **kwargs):
    # Errors are raised while tracing: eval_shape compiles nothing.
    return jax.eval_shape(lambda: layer.init_with_output(jax.random.key(0), u, *args, **kwargs))


U = jnp.zeros((BATCH, STEPS, FEATURES))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: _apply(LRU(0), U), ValueError, "state_size"),
        (lambda: _apply(LRU(4.0), U), TypeError, "state_size"),
        (lambda: _apply(LRU(4, r_min=-0.1), U), ValueError, "r_min"),
        (lambda: _apply(LRU(4, r_min=0.5, r_max=0.5), U), ValueError, "r_max"),
        (lambda: _apply(LRU(4, r_max=1.01), U), ValueError, "r_max"),
        (lambda: _apply(LRU(4, r_max=float("nan")), U), ValueError, "r_max"),
        (lambda: _apply(LRU(4, r_min="0"), U), TypeError, "r_min"),
        (lambda: _apply(LRU(4, max_phase=0.0), U), ValueError, "max_phase"),
        (lambda: _apply(LRU(4, mode="fast"), U), ValueError, "mode"),
        (lambda: _apply(LRU(4), U[0]), ValueError, "rank 3"),
        (lambda: _apply(LRU(4), U.astype(jnp.int32)), TypeError, "floating"),
        (lambda: _apply(LRU(4), U, jnp.array([1, 2])), ValueError, "seq_lengths"),
        (
            lambda: _apply(LRU(4), U, None, initial_carry=jnp.zeros((BATCH, 5))),
            ValueError,
            "initial_carry",
        ),
        (lambda: lru.nu_log_init(0.9, 0.1), ValueError, "r_min"),
        (lambda: lru.theta_log_init(-1.0), ValueError, "max_phase"),
        (lambda: lru.scaled_normal(0.0), ValueError, "scale"),
    ],
)
def test_bad_inputs(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_cell_bad_inputs(key):
    cell = LRUCell(STATE)
    u = jnp.zeros((BATCH, FEATURES))
    with pytest.raises(ValueError, match="carry"):
        cell.init(key, jnp.zeros((BATCH, STATE + 1), jnp.complex64), u)
    with pytest.raises(TypeError, match="floating"):
        cell.init(key, cell.initialize_carry(key, u.shape), u.astype(jnp.int32))


def test_wrong_input_size_names_the_parameter():
    with pytest.raises(ValueError, match="B_re"):
        LRU(STATE).apply({"params": init_params("lra")}, jnp.zeros((1, 1, FEATURES + 1)))


def test_docstring_examples():
    results = doctest.testmod(lru, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0


def test_bfloat16_compute_keeps_the_eigenvalues_in_the_parameter_dtype():
    # |lambda| near 1: bfloat16 nu_log would move it by ~0.4%, compounded over 400 steps.
    x = jax.random.normal(jax.random.key(1), (4, 400, 8))
    layer = lru.LRU(64, r_min=0.9, r_max=0.999)
    variables = layer.init(jax.random.key(0), x)
    reference = layer.apply(variables, x)
    low = lru.LRU(64, r_min=0.9, r_max=0.999, dtype=jnp.bfloat16)
    out = low.apply(variables, x.astype(jnp.bfloat16)).astype(jnp.float32)
    error = jnp.sqrt(jnp.mean((out - reference) ** 2) / jnp.mean(reference**2))
    assert error < 2 * tolerance("bfloat16")["rtol"], error  # 10-25% before the fix
