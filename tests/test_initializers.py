"""Tests of jaxrnn.initializers against jax.nn.initializers, torch.nn.init and theory."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import (
    KS_MIN_PVALUE,
    NUM_SAMPLES,
    ORTHO_ATOL,
    SPECTRAL_RTOL,
    STD_RTOL,
    as_numpy64,
    import_torch,
    maybe_x64,
    tolerance,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import jaxrnn.testing as rnn_testing
from jaxrnn import initializers as init

# ---------------------------------------------------------------------------------------
# Agreement with jax.nn.initializers where the math is the same.
# ---------------------------------------------------------------------------------------

CONV_SHAPES = [(64, 32), (3, 3, 8, 16), (5, 4, 6)]
_JAX_NORMAL = jax.nn.initializers.variance_scaling


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (init.zeros, jax.nn.initializers.zeros),
        (init.ones, jax.nn.initializers.ones),
        (init.constant(0.3), jax.nn.initializers.constant(0.3)),
        (init.normal(0.02), jax.nn.initializers.normal(0.02)),
        (init.uniform(0.0, 0.3), jax.nn.initializers.uniform(0.3)),
        (init.glorot_normal(), jax.nn.initializers.glorot_normal()),
        (init.glorot_uniform(), jax.nn.initializers.glorot_uniform()),
        (init.he_normal(), jax.nn.initializers.he_normal()),
        (init.he_uniform(), jax.nn.initializers.he_uniform()),
        (init.lecun_normal(), jax.nn.initializers.lecun_normal()),
        (init.lecun_uniform(), jax.nn.initializers.lecun_uniform()),
        # truncated=False: jax's untruncated "normal" distribution (torch's *_normal_).
        (init.glorot_normal(truncated=False), _JAX_NORMAL(1.0, "fan_avg", "normal")),
        (init.he_normal(truncated=False), _JAX_NORMAL(2.0, "fan_in", "normal")),
        (init.lecun_normal(truncated=False), _JAX_NORMAL(1.0, "fan_in", "normal")),
        (init.orthogonal(1.3), jax.nn.initializers.orthogonal(1.3)),
        (init.orthogonal(column_axis=0), jax.nn.initializers.orthogonal(column_axis=0)),
    ],
)
@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_agrees_with_jax_nn_initializers(key, ours, theirs, shape):
    np.testing.assert_array_equal(ours(key, shape), theirs(key, shape, jnp.float32))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_scaling_agrees_with_jax(key, mode, distribution):
    shape, axes = (4, 3, 3, 8, 16), {"in_axis": -2, "out_axis": -1, "batch_axis": 0}
    ours = init.variance_scaling(0.7, mode, distribution, **axes)(key, shape)
    theirs = jax.nn.initializers.variance_scaling(0.7, mode, distribution, **axes)(key, shape)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("make", [init.glorot_normal, init.he_normal, init.lecun_normal])
def test_normal_variance_scaling_truncated_or_not(key, make):
    # Same variance both ways; only the untruncated draw has tails past 2 of its sigma.
    shape = (400, 500)
    sigma = math.sqrt({init.glorot_normal: 2 / 900, init.he_normal: 2 / 400}.get(make, 1 / 400))
    for truncated in (True, False):
        w = as_numpy64(make(truncated=truncated)(key, shape)).ravel() / sigma
        np.testing.assert_allclose(w.std(), 1.0, rtol=STD_RTOL)
        tail = np.mean(np.abs(w) > 2.0 / 0.8796)  # past the truncation point
        assert (tail == 0.0) if truncated else (tail == pytest.approx(0.0230, rel=0.1))
    with pytest.raises(TypeError, match="bool `truncated`"):
        make(truncated="no")


def test_low_precision_is_the_rounded_float32_draw(key):
    for make in (init.glorot_uniform, init.orthogonal, lambda: init.truncated_normal(0.5)):
        full = make()(key, (32, 16), jnp.float32)
        for dtype in (jnp.bfloat16, jnp.float16):
            np.testing.assert_array_equal(make()(key, (32, 16), dtype), full.astype(dtype))


def test_uniform_default_is_symmetric_unlike_jax(key):
    ours = init.uniform()(key, (NUM_SAMPLES,))
    theirs = jax.nn.initializers.uniform(0.1)(key, (NUM_SAMPLES,))
    assert float(ours.min()) >= -0.05 and float(ours.max()) < 0.05
    assert abs(float(ours.mean())) < 1e-3
    assert float(theirs.min()) >= 0.0  # jax draws from [0, scale)


def test_truncated_normal_spreads_more_than_jax(key):
    # jax.nn.initializers.truncated_normal's stddev is the untruncated normal's: samples
    # have std 0.8796 * stddev. Ours have exactly stddev.
    ours = init.truncated_normal(1.0)(key, (NUM_SAMPLES,))
    theirs = jax.nn.initializers.truncated_normal(1.0)(key, (NUM_SAMPLES,))
    np.testing.assert_allclose(float(ours.std()), 1.0, rtol=STD_RTOL)
    np.testing.assert_allclose(float(theirs.std()), 0.87962566, rtol=STD_RTOL)


# ---------------------------------------------------------------------------------------
# Agreement with torch.nn.init's formulas.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose1d", None),
        ("conv_transpose2d", None),
        ("conv_transpose3d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    torch = import_torch()
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def _torch_weight(torch, fan_in, fan_out, fill, **kwargs):
    """A torch (out, in) weight filled by ``fill``, as a (fan_in, fan_out) numpy kernel."""
    torch.manual_seed(0)
    weight = torch.empty(fan_out, fan_in, dtype=torch.float64)
    fill(weight, **kwargs)
    return weight.numpy().T


@pytest.mark.parametrize("fans", [(400, 600), (1000, 150)])
@pytest.mark.parametrize(
    ("ours", "torch_fill", "kwargs", "kind"),
    [
        (init.glorot_normal(gain=1.7), "xavier_normal_", {"gain": 1.7}, "std"),
        (init.xavier_uniform(gain=0.6), "xavier_uniform_", {"gain": 0.6}, "bound"),
        (init.he_normal(), "kaiming_normal_", {"nonlinearity": "relu"}, "std"),
        (init.kaiming_uniform(), "kaiming_uniform_", {"nonlinearity": "relu"}, "bound"),
        (
            init.he_normal(negative_slope=0.3),
            "kaiming_normal_",
            {"a": 0.3, "nonlinearity": "leaky_relu"},
            "std",
        ),
        (
            init.he_uniform(negative_slope=0.3),
            "kaiming_uniform_",
            {"a": 0.3, "nonlinearity": "leaky_relu"},
            "bound",
        ),
    ],
)
def test_variance_scaling_matches_torch_nn_init(key, fans, ours, torch_fill, kwargs, kind):
    torch = import_torch()
    fan_in, fan_out = fans
    theirs = _torch_weight(torch, fan_in, fan_out, getattr(torch.nn.init, torch_fill), **kwargs)
    mine = as_numpy64(ours(key, (fan_in, fan_out)))
    if kind == "std":
        # Both empirical stds agree with each other and with torch's formula.
        gain = kwargs.get("gain") or torch.nn.init.calculate_gain(
            kwargs["nonlinearity"], kwargs.get("a")
        )
        fan = (fan_in + fan_out) / 2 if torch_fill.startswith("xavier") else fan_in
        expected = gain / math.sqrt(fan)
        np.testing.assert_allclose(mine.std(), expected, rtol=STD_RTOL)
        np.testing.assert_allclose(theirs.std(), expected, rtol=STD_RTOL)
    else:
        # Uniform: same support [-b, b], filled to within 1% of the bound.
        bound = np.abs(theirs).max()
        assert np.abs(mine).max() <= bound * (1 + 1e-3)
        assert np.abs(mine).max() >= bound * 0.99


# ---------------------------------------------------------------------------------------
# Sampling statistics: variance, KS tests, truncation.
# ---------------------------------------------------------------------------------------

# (shape, axes, (fan_in, fan_out)): dense, conv2d, conv1d and a batch of kernels.
FAN_CASES = [
    ((512, 256), {}, (512, 256)),
    ((3, 3, 64, 256), {}, (576, 2304)),
    ((7, 64, 256), {}, (448, 1792)),
    ((4, 128, 256), {"batch_axis": 0}, (128, 256)),
    ((256, 3, 3, 128), {"in_axis": 0, "out_axis": -1}, (2304, 1152)),
]


def _fan(mode, fan_in, fan_out):
    return {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": math.sqrt(fan_in * fan_out),
    }[mode]


def _target(distribution, variance):
    std = math.sqrt(variance)
    if distribution == "normal":
        return stats.norm(scale=std)
    if distribution == "uniform":
        bound = math.sqrt(3 * variance)
        return stats.uniform(loc=-bound, scale=2 * bound)
    return stats.truncnorm(-2, 2, scale=std / 0.87962566103423978)


# Every mode x distribution on a conv kernel, and every fan layout in every mode.
STAT_CASES = [
    (*FAN_CASES[1], mode, distribution)
    for mode in ("fan_in", "fan_out", "fan_avg")
    for distribution in ("truncated_normal", "normal", "uniform")
] + [
    (*case, mode, "normal")
    for case in FAN_CASES[:1] + FAN_CASES[2:]
    for mode in ("fan_in", "fan_out", "fan_avg")
]


@pytest.mark.parametrize(("shape", "axes", "fans", "mode", "distribution"), STAT_CASES)
def test_variance_scaling_statistics(key, shape, axes, fans, mode, distribution):
    scale = 2.0
    sampler = init.variance_scaling(scale, mode, distribution, **axes)
    variance = scale / _fan(mode, *fans)
    rnn_testing.check_initializer(
        sampler, {"mean": 0.0, "variance": variance}, shape=shape, key=key
    )
    # Beyond the moments: the whole distribution (KS), on one draw of >= 1e5 samples.
    sample = as_numpy64(sampler(key, shape))
    assert sample.size >= 100_000
    assert stats.kstest(sample.ravel(), _target(distribution, variance).cdf).pvalue > KS_MIN_PVALUE


def test_variance_test_can_fail(key):
    # The same statistics reject a 5% error in the variance formula.
    wrong = init.variance_scaling(1.05, "fan_in", "normal")
    with pytest.raises(AssertionError, match="sample variance"):
        rnn_testing.check_initializer(wrong, {"variance": 1 / 512}, shape=(512, 256), key=key)
    sample = as_numpy64(wrong(key, (512, 256)))
    assert stats.kstest(sample.ravel(), _target("normal", 1 / 512).cdf).pvalue < KS_MIN_PVALUE


@pytest.mark.parametrize(("stddev", "mean"), [(0.01, 0.0), (2.0, -3.0)])
def test_normal_statistics(key, stddev, mean):
    sampler = init.normal(stddev, mean)
    rnn_testing.check_initializer(
        sampler, {"mean": mean, "std": stddev}, shape=(NUM_SAMPLES,), key=key
    )
    sample = as_numpy64(sampler(key, (NUM_SAMPLES,)))
    assert stats.kstest(sample, stats.norm(mean, stddev).cdf).pvalue > KS_MIN_PVALUE


def test_uniform_statistics(key):
    sampler = init.uniform(-0.2, 0.6)
    expected = {"mean": 0.2, "variance": 0.8**2 / 12, "bounds": (-0.2, 0.6)}
    rnn_testing.check_initializer(sampler, expected, shape=(NUM_SAMPLES,), key=key)
    sample = as_numpy64(sampler(key, (NUM_SAMPLES,)))
    assert sample.max() < 0.6  # half-open, like jax.random.uniform
    assert stats.kstest(sample, stats.uniform(-0.2, 0.8).cdf).pvalue > KS_MIN_PVALUE


@pytest.mark.parametrize(
    ("stddev", "mean", "lower", "upper"),
    [
        (1.0, 0.0, -2.0, 2.0),
        (0.05, 0.0, -2.0, 2.0),
        (3.0, 1.0, -3.0, 3.0),
        (1.0, 0.0, -1.8, 1.8),  # close to the sqrt(12) limit: scale far above 1
        (1.0, 0.0, -1.75, 1.75),  # width 3.5: was refused as narrower than sqrt(12)
        (2.0, 0.0, -1.7321, 1.7321),  # width 3.4642, just over sqrt(12) = 3.46410
        (0.5, 2.0, -1.0, 4.0),  # asymmetric
    ],
)
def test_truncated_normal_bounds_and_std(key, stddev, mean, lower, upper):
    sampler = init.truncated_normal(stddev, mean, lower, upper)
    bounds = (mean + lower * stddev, mean + upper * stddev)
    rnn_testing.check_initializer(
        sampler, {"std": stddev, "bounds": bounds}, shape=(NUM_SAMPLES,), key=key
    )
    sample = as_numpy64(sampler(key, (NUM_SAMPLES,)))
    # The solved scale against scipy's truncated-normal std, and the distribution by KS.
    s = sampler.scale
    target = stats.truncnorm(lower / s, upper / s, loc=mean, scale=s * stddev)
    np.testing.assert_allclose(target.std(), stddev, rtol=1e-9)
    assert stats.kstest(sample, target.cdf).pvalue > KS_MIN_PVALUE


def test_truncated_normal_limit_is_sqrt12():
    # Accepted just over the limit, refused just under it, and the message says so.
    assert init.truncated_normal(lower=-1.73206, upper=1.73206).scale > 100
    with pytest.raises(ValueError, match=r"3\.464 \(in units of stddev\) must exceed sqrt\(12\)"):
        init.truncated_normal(lower=-1.732, upper=1.732)


@pytest.mark.parametrize(("a", "b"), [(-0.5, 0.4999), (-0.5, 0.5001), (9.9, 10.9), (-1e-7, 1e-7)])
def test_truncated_standard_normal_std_on_narrow_intervals(a, b):
    # Quadrature below width 1, the closed form above: both against the uniform limit
    # (var -> width^2 / 12) and scipy's truncnorm where it still has digits.
    std = init._std_truncated_standard_normal(a, b)
    if b - a < 1e-3:
        np.testing.assert_allclose(std, (b - a) / math.sqrt(12.0), rtol=1e-9)
    else:
        np.testing.assert_allclose(std, stats.truncnorm(a, b).std(), rtol=1e-9)


def test_truncated_normal_default_scale():
    scale = init.truncated_normal().scale
    assert scale == pytest.approx(1.378, abs=1e-3)
    assert 2.0 / scale == pytest.approx(1.451, abs=1e-3)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_truncated_normal_bounds_in_low_precision(key, dtype):
    sample = init.truncated_normal(0.1, 0.0, -2.0, 2.0)(key, (NUM_SAMPLES,), dtype)
    bound = float(jnp.asarray(0.2, dtype))
    assert float(jnp.abs(sample).max()) <= bound


def test_chrono_statistics(key):
    t_max, hidden = 500.0, 25_000
    bias = as_numpy64(init.chrono(t_max)(key, (4 * hidden,)))
    b_i, b_f, b_g, b_o = np.split(bias, 4)
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(b_g, 0)
    np.testing.assert_array_equal(b_o, 0)
    assert b_f.min() >= 0 and b_f.max() <= math.log(t_max - 1) + 1e-6
    target = stats.uniform(1, t_max - 2)
    assert stats.kstest(np.exp(b_f), target.cdf).pvalue > KS_MIN_PVALUE


def test_lstm_bias_layout(key):
    bias = init.lstm_bias(forget=2.0)(key, (3, 4 * 5))
    expected = np.concatenate([np.zeros(5), 2 * np.ones(5), np.zeros(10)])
    np.testing.assert_array_equal(bias, np.broadcast_to(expected, (3, 20)))


# ---------------------------------------------------------------------------------------
# Orthogonal, identity, spectral.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["qr", "svd"])
@pytest.mark.parametrize("gain", [1.0, 1.7])
@pytest.mark.parametrize(
    ("shape", "column_axis"),
    [((64, 64), -1), ((128, 32), -1), ((32, 128), -1), ((3, 3, 16, 64), -1), ((40, 10), 0)],
)
def test_orthogonal(key, method, gain, shape, column_axis):
    # The check views a draw as (prod(shape[:-1]), shape[-1]): for column_axis=0 of a
    # matrix that is its transpose, whose Gram condition is the same one.
    sampler = init.orthogonal(gain, method, column_axis)
    rnn_testing.check_initializer(
        sampler, {"orthogonal": gain, "max_singular_value": gain}, shape=shape, key=key
    )
    w = sampler(key, shape)
    matrix = np.moveaxis(np.asarray(w), column_axis, -1).reshape(-1, shape[column_axis])
    np.testing.assert_allclose(np.linalg.svd(matrix, compute_uv=False), gain,
                               rtol=ORTHO_ATOL["float32"])  # fmt: skip


@pytest.mark.parametrize("method", ["qr", "svd"])
def test_orthogonal_float64(key, method):
    with jax.enable_x64(True):
        assert init.orthogonal(method=method)(key, (48, 48), jnp.float64).dtype == jnp.float64
    report = rnn_testing.check_initializer(
        init.orthogonal(method=method),
        {"orthogonal": 1.0},
        shape=(48, 48),
        dtype=jnp.float64,
        key=key,
    )
    assert report["orthogonal"] <= ORTHO_ATOL["float64"]


@pytest.mark.parametrize("method", ["qr", "svd"])
def test_orthogonal_is_haar(key, method):
    # Haar on O(n): Q11^2 ~ Beta(1/2, (n-1)/2) and sign(Q11) is a fair coin. Unfixed
    # Householder QR (the negative control below) makes Q11 < 0 every time.
    n, draws = 8, 4000
    keys = jax.random.split(key, draws)
    q = jax.vmap(lambda k: init.orthogonal(method=method)(k, (n, n)))(keys)
    q11 = np.asarray(q[:, 0, 0], np.float64)
    assert 0.45 < (q11 > 0).mean() < 0.55
    assert abs(np.asarray(q[:, np.arange(n), np.arange(n)]).mean()) < 0.02
    assert stats.kstest(q11**2, stats.beta(0.5, (n - 1) / 2).cdf).pvalue > KS_MIN_PVALUE

    raw = jax.vmap(lambda k: jnp.linalg.qr(jax.random.normal(k, (n, n)))[0])(keys)
    assert not 0.45 < (np.asarray(raw[:, 0, 0]) > 0).mean() < 0.55


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (2, 3, 3)])
def test_identity(key, shape):
    w = init.identity(0.5)(key, shape)
    np.testing.assert_array_equal(w, 0.5 * np.broadcast_to(np.eye(*shape[-2:]), shape))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("size", [8, 64, 256])
def test_spectral_radius_matches_numpy_eigenvalues(key, dtype, size):
    with maybe_x64(dtype):
        assert init.spectral_radius(0.9)(key, (size, size), dtype).dtype == dtype
    rnn_testing.check_initializer(
        init.spectral_radius(0.9),
        {"spectral_radius": 0.9},
        shape=(size, size),
        dtype=dtype,
        key=key,
    )


def test_spectral_radius_of_known_matrices():
    theta = 0.3
    rotation = 1.2 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    jordan = np.array([[0.5, 100.0], [0.0, 0.5]])  # defective: ||A^n|| >> rho^n for small n
    batch = jnp.asarray(np.stack([rotation, jordan, np.diag([0.1, -0.7])]), jnp.float32)
    np.testing.assert_allclose(
        init.spectral_radius_of(batch), [1.2, 0.5, 0.7], rtol=SPECTRAL_RTOL["float32"]
    )
    assert float(init.spectral_radius_of(jnp.zeros((3, 3)))) == 0.0
    # A 4x4 Jordan block 0.5 I + 2 N: its powers are dominated by N^3 for a long time.
    block = 0.5 * np.eye(4) + 2.0 * np.eye(4, k=1)
    np.testing.assert_allclose(init.spectral_radius_of(jnp.asarray(block, jnp.float32)), 0.5,
                               rtol=1e-6)  # fmt: skip
    vmapped = jax.vmap(init.spectral_radius_of)(batch)
    np.testing.assert_allclose(vmapped, [1.2, 0.5, 0.7], rtol=SPECTRAL_RTOL["float32"])


def test_spectral_radius_float64_under_jit_and_vmap():
    # The eigenvalue callback may run on a thread without the x64 context: still float64.
    with jax.enable_x64(True):
        for seed in range(2):
            keys = jax.random.split(jax.random.key(seed), 3)
            w = jax.jit(jax.vmap(lambda k: init.spectral_radius(0.9)(k, (16, 16), jnp.float64)))(
                keys
            )
            assert w.dtype == jnp.float64
            radii = np.abs(np.linalg.eigvals(np.asarray(w))).max(-1)
            np.testing.assert_allclose(radii, 0.9, rtol=SPECTRAL_RTOL["float64"])


def test_spectral_radius_batch_and_base(key):
    # Leading axes are a batch: each matrix is rescaled on its own.
    w = jax.jit(lambda k: init.spectral_radius(1.1)(k, (3, 16, 16)))(key)
    for matrix in np.asarray(w, np.float64):
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(matrix)).max(), 1.1, rtol=1e-4)
    # An orthogonal base has every |eigenvalue| = 1: after rescaling all equal 1.1.
    w = init.spectral_radius(1.1, base="orthogonal")(key, (16, 16))
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(as_numpy64(w))), 1.1, rtol=1e-4)


@pytest.mark.parametrize("shape", [(32, 32), (50, 20)])
def test_max_singular_value(key, shape):
    rnn_testing.check_initializer(
        init.max_singular_value(0.8), {"max_singular_value": 0.8}, shape=shape, key=key
    )


def test_max_singular_value_of_a_batch(key):
    # Leading axes are a batch (the check would view them as rows): each matrix on its own.
    w = init.max_singular_value(0.8)(key, (2, 20, 50))
    top = np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)[..., 0]
    np.testing.assert_allclose(top, 0.8, rtol=SPECTRAL_RTOL["float32"])


def test_per_gate_orthogonal_blocks(key):
    hidden = 16
    sampler = init.per_gate(init.orthogonal(), 4)
    rnn_testing.check_initializer(
        sampler, {"orthogonal": 1.0}, shape=(hidden, 4 * hidden), key=key, num_gates=4
    )
    fused = sampler(key, (hidden, 4 * hidden))
    blocks = np.split(np.asarray(fused), 4, axis=-1)
    assert not np.allclose(blocks[0], blocks[1])
    # Unlike a whole-matrix orthogonal (h, 4h), whose rows are orthonormal: W W^T = I.
    np.testing.assert_allclose(fused @ fused.T, 4 * np.eye(hidden), atol=1e-4)
    whole = np.asarray(init.orthogonal()(key, (hidden, 4 * hidden)))
    np.testing.assert_allclose(whole @ whole.T, np.eye(hidden), atol=ORTHO_ATOL["float32"])
    assert not np.allclose(whole[:, :hidden].T @ whole[:, :hidden], np.eye(hidden), atol=0.1)


def test_per_gate_axis_and_name(key):
    w = init.per_gate("identity", 3, axis=0)(key, (12, 4))
    np.testing.assert_array_equal(w, np.tile(np.eye(4), (3, 1)))


# ---------------------------------------------------------------------------------------
# get(): names, pairs, callables.
# ---------------------------------------------------------------------------------------


def test_get_resolves_names_pairs_and_callables(key):
    assert init.get(init.zeros) is init.zeros
    np.testing.assert_array_equal(
        init.get("xavier_uniform")(key, (8, 8)), init.glorot_uniform()(key, (8, 8))
    )
    np.testing.assert_array_equal(
        init.get(("normal", {"stddev": 0.5}))(key, (8,)), init.normal(0.5)(key, (8,))
    )
    assert set(init.names()) >= {"kaiming_normal", "chrono", "orthogonal", "spectral_radius"}


def test_get_rejects_an_uncalled_factory():
    with pytest.raises(TypeError, match=r"`glorot_uniform\(\)`"):
        init.get(init.glorot_uniform)


def test_get_unknown_name_lists_known():
    with pytest.raises(ValueError, match=r"unknown initializer 'glorot'.*glorot_normal"):
        init.get("glorot")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (3, "expected `spec`"),
        ("chrono", "cannot build 'chrono'"),
        (("normal", {"sigma": 1.0}), "cannot build 'normal'"),
        (("normal", 1.0), "kwargs a mapping"),
    ],
)
def test_get_type_errors(spec, match):
    with pytest.raises(TypeError, match=match):
        init.get(spec)


# ---------------------------------------------------------------------------------------
# Properties over shapes and dtypes (hypothesis), jit and float64.
# ---------------------------------------------------------------------------------------

# Every registered initializer, built with valid arguments, and whether it draws at random.
SPECS = {
    "zeros": ("zeros", False),
    "ones": ("ones", False),
    "constant": (("constant", {"value": -0.5}), False),
    "normal": ("normal", True),
    "uniform": ("uniform", True),
    "truncated_normal": (("truncated_normal", {"stddev": 0.2}), True),
    "variance_scaling": (("variance_scaling", {"scale": 1.0, "mode": "fan_avg",
                                               "distribution": "normal"}), True),
    "glorot_normal": ("glorot_normal", True),
    "glorot_uniform": ("glorot_uniform", True),
    "he_normal": ("he_normal", True),
    "he_uniform": ("he_uniform", True),
    "lecun_normal": ("lecun_normal", True),
    "lecun_uniform": ("lecun_uniform", True),
    "orthogonal": ("orthogonal", True),
    "orthogonal_svd": (("orthogonal", {"method": "svd"}), True),
    "identity": ("identity", False),
    "spectral_radius": (("spectral_radius", {"radius": 0.9}), True),
    "max_singular_value": (("max_singular_value", {"value": 1.5}), True),
    "per_gate": (("per_gate", {"init": "orthogonal", "num_gates": 2}), True),
    "lstm_bias": ("lstm_bias", False),
    "chrono": (("chrono", {"t_max": 10.0}), True),
}  # fmt: skip
SQUARE = {"spectral_radius"}


def _shape_for(name, data_draw):
    side = data_draw(st.integers(2, 6))
    lead = data_draw(st.lists(st.integers(1, 3), max_size=1))
    if name in SQUARE:
        return (*lead, side, side)
    if name in ("lstm_bias", "chrono"):
        return (*lead, 4 * side)
    return (*lead, side, 2 * data_draw(st.integers(1, 6)))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(SPECS)),
    dtype=st.sampled_from([jnp.float32, jnp.bfloat16, jnp.float16]),
    data=st.data(),
)
def test_properties(name, dtype, data):
    spec, is_random = SPECS[name]
    shape = _shape_for(name, data.draw)
    sampler = init.get(spec)
    key_a, key_b = jax.random.key(1), jax.random.key(2)
    a = sampler(key_a, shape, dtype)
    assert a.shape == shape and a.dtype == dtype
    assert bool(jnp.all(jnp.isfinite(a)))
    np.testing.assert_array_equal(sampler(key_a, shape, dtype), a)
    if is_random:
        assert not np.array_equal(np.asarray(sampler(key_b, shape, dtype)), np.asarray(a))


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])  # half precisions: above
def test_jit_and_dtypes(name, dtype):
    spec, _ = SPECS[name]
    shape = (8, 8) if name not in ("lstm_bias", "chrono") else (2, 8)
    sampler = init.get(spec)
    with maybe_x64(dtype):
        eager = sampler(jax.random.key(3), shape, dtype)
        jitted = jax.jit(lambda k: sampler(k, shape, dtype))(jax.random.key(3))
        assert eager.dtype == dtype and jitted.dtype == dtype
        np.testing.assert_allclose(as_numpy64(jitted), as_numpy64(eager), **tolerance(dtype))


def test_drops_into_flax_param(key):
    import flax.linen as nn

    class Dense(nn.Module):
        @nn.compact
        def __call__(self, x):
            kernel = self.param("kernel", init.orthogonal(), (x.shape[-1], 6))
            bias = self.param("bias", init.lstm_bias(), (8,))
            return x @ kernel, bias

    params = Dense().init(key, jnp.ones((2, 6)))["params"]
    np.testing.assert_allclose(params["kernel"].T @ params["kernel"], np.eye(6), atol=1e-5)


# ---------------------------------------------------------------------------------------
# Bad input: ValueError/TypeError naming the argument.
# ---------------------------------------------------------------------------------------

K = jax.random.key(0)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: init.normal(stddev=0.0), ValueError, "`stddev` > 0"),
        (lambda: init.normal(stddev=-1.0), ValueError, "`stddev` > 0"),
        (lambda: init.normal(stddev="big"), TypeError, "`stddev`.*real number"),
        (lambda: init.normal(mean=float("nan")), ValueError, "`mean`.*finite"),
        (lambda: init.uniform(1.0, 0.0), ValueError, "`high` > `low`"),
        (lambda: init.constant("a"), TypeError, "`value`"),
        (lambda: init.truncated_normal(stddev=0.0), ValueError, "`stddev` > 0"),
        (lambda: init.truncated_normal(lower=-1.7, upper=1.7), ValueError, "too narrow"),
        (lambda: init.truncated_normal(lower=1.0, upper=0.0), ValueError, "`upper` > `lower`"),
        (lambda: init.variance_scaling(0.0, "fan_in", "normal"), ValueError, "`scale` > 0"),
        (lambda: init.variance_scaling(1.0, "fan", "normal"), ValueError, "`mode`"),
        (lambda: init.variance_scaling(1.0, "fan_in", "cauchy"), ValueError, "`distribution`"),
        (lambda: init.glorot_normal(gain=0.0), ValueError, "`gain` > 0"),
        (lambda: init.orthogonal(gain=-1.0), ValueError, "`gain` > 0"),
        (lambda: init.orthogonal(method="lu"), ValueError, "`method`"),
        (lambda: init.identity(gain=0.0), ValueError, "`gain` > 0"),
        (lambda: init.spectral_radius(0.0), ValueError, "`radius` > 0"),
        (lambda: init.max_singular_value(-2.0), ValueError, "`value` > 0"),
        (lambda: init.spectral_radius(1.0, base="nope"), ValueError, "invalid `base`"),
        (lambda: init.chrono(2.0), ValueError, "`t_max` > 2"),
        (lambda: init.per_gate("orthogonal", 0), ValueError, "`num_gates` >= 1"),
        (lambda: init.per_gate("orthogonal", 2.5), TypeError, "`num_gates`"),
        (lambda: init.calculate_gain("swish"), ValueError, "`nonlinearity`"),
        (lambda: init.calculate_gain("leaky_relu", "x"), ValueError, "`param`"),
        (lambda: init.orthogonal()(K, (5,)), ValueError, "`shape` of rank >= 2"),
        (lambda: init.orthogonal(method="svd")(K, (5,)), ValueError, "`shape` of rank >= 2"),
        (lambda: init.identity()(K, (5,)), ValueError, "`shape` of rank >= 2"),
        (lambda: init.spectral_radius(1.0)(K, (5,)), ValueError, "`shape` of rank >= 2"),
        (lambda: init.spectral_radius(1.0)(K, (4, 5)), ValueError, "square `shape`"),
        (lambda: init.max_singular_value(1.0)(K, (5,)), ValueError, "`shape` of rank >= 2"),
        (lambda: init.per_gate("orthogonal", 4)(K, (8, 10)), ValueError, "divisible"),
        (lambda: init.lstm_bias()(K, (10,)), ValueError, "divisible"),
        (lambda: init.chrono(10.0)(K, (6,)), ValueError, "divisible"),
        (lambda: init.lstm_bias()(K, ()), ValueError, "rank >= 1"),
        (lambda: init.glorot_uniform()(K, ()), ValueError, "empty `shape`"),
        (lambda: init.he_normal()(K, (5,)), ValueError, "out of range"),
        (lambda: init.normal()(K, (3,), jnp.int32), TypeError, "floating `dtype`"),
        (lambda: init.identity()(K, (3, 3), jnp.int32), TypeError, "floating `dtype`"),
        (lambda: init.lstm_bias()(K, (8,), jnp.int32), TypeError, "floating `dtype`"),
        (lambda: init.normal()(K, (3, -1)), TypeError, "`shape`"),
    ],
)
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_rescaled_initializers_reject_bases_that_cannot_be_rescaled(key):
    def strictly_upper(k, shape, dtype=jnp.float32):
        return jnp.triu(jax.random.normal(k, shape, dtype), 1)

    for base in ("zeros", strictly_upper):
        with pytest.raises(ValueError, match="spectral radius 0"):
            init.spectral_radius(1.5, base=base)(key, (4, 4))
    with pytest.raises(ValueError, match="largest singular value 0"):
        init.max_singular_value(1.0, base="zeros")(key, (4, 4))
    with pytest.raises(ValueError, match=r"n >= 1, got \(0, 0\)"):
        init.spectral_radius(1.5)(key, (0, 0))
    with pytest.raises(ValueError, match=r"m, n >= 1, got \(3, 0\)"):
        init.max_singular_value(1.0)(key, (3, 0))
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="`param`"):
            init.calculate_gain("leaky_relu", param=bad)
