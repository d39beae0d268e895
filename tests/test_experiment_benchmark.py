"""Tests of the benchmark: timing machinery, ratios, and a seconds-long smoke run."""

import importlib.util
import json
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import maybe_x64, tolerance

from experiments import __main__ as registry
from experiments import _harness, benchmark

SMOKE = benchmark.Config(
    batch=2, time=4, input_size=3, hidden=8, rounds=2, warmup=1, kinds=("lstm", "gru"),
    sweep_times=(4,), sweep_hiddens=(8,), sweep_rounds=1, scan_times=(4, 8), remat_time=16,
    remat_chunk=4, compile_times=(4,), compile_layers=(1,), gemm_size=32, bf16_length=6,
    bf16_steps=3,
)  # fmt: skip


def test_interleaved_calls_each_contender_once_per_round_in_shuffled_orders():
    log = []
    calls = {name: (lambda name=name: log.append(name)) for name in "abcd"}
    times = benchmark.interleaved(calls, rounds=6, warmup=1)
    assert log[:4] == list("abcd")  # warm-up
    rounds = [log[4 + 4 * k : 8 + 4 * k] for k in range(6)]
    assert all(sorted(r) == list("abcd") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1
    assert {k: len(v) for k, v in times.items()} == dict.fromkeys("abcd", 6)


def test_ratios_are_competitor_over_ours_with_round_spread():
    times = {"jaxrnn": np.array([1.0, 2.0, 1.0]), "other": np.array([2.0, 2.0, 3.0])}
    r = benchmark.ratios(times)["other"]
    assert r["ratio"] == pytest.approx(2.0)
    assert r["round_min"] == pytest.approx(1.0) and r["round_max"] == pytest.approx(3.0)


def test_ceilings_are_competitor_over_floor():
    times = {
        "jaxrnn": np.array([3.0, 3.0]),
        "xla_matmuls": np.array([2.0, 2.0]),
        "torch": np.array([4.0, 4.0]),
    }
    assert benchmark.ceilings(times) == {"torch": 2.0, "jaxrnn": 1.5}


def test_matmul_flops():
    assert benchmark.matmul_flops("lstm", 2, 3, 4, 5) == 2 * 2 * 3 * 9 * 4 * 5
    assert benchmark.matmul_flops("rnn", 1, 1, 1, 1) == 4


def test_benchmark_is_left_out_of_the_suite(monkeypatch, tmp_path):
    ran = []

    def fake(name, in_suite):
        config = types.SimpleNamespace()
        module = types.SimpleNamespace(QUICK=config, FULL=config, IN_SUITE=in_suite, __doc__=name)
        monkeypatch.setattr(_harness, "parse_overrides", lambda base, argv: base)

        def run(config):
            ran.append(name)
            raise SystemExit(0)

        module.run = run
        return module

    with pytest.raises(SystemExit):
        _harness.cli({"bench": fake("bench", False), "exp": fake("exp", True)}, [])
    assert ran == ["exp"]
    assert registry.EXPERIMENTS["benchmark"].IN_SUITE is False


def test_smoke_run_writes_results(tmp_path):
    result = benchmark.run(SMOKE)
    run_dir = _harness.save(result, tmp_path)
    saved = json.loads((run_dir / "results.json").read_text())
    main = saved["metrics"]["main"]
    assert main["gemm_gflops"] > 0
    assert set(main["ratios"]) == {
        f"{kind}/{mode}"
        for kind in ("lstm", "gru")
        for mode in ("train", "forward", "train_bf16", "forward_bf16")
    }
    assert "jaxrnn_f32" in main["ratios"]["lstm/train_bf16"]
    assert {"jaxrnn_step", "flax_opt_lstm", "flax_lstm"} <= set(main["ratios"]["lstm/train"])
    scan = saved["metrics"]["gru_over_mingru"]
    assert set(scan) == {"4", "8"}
    assert all(set(v) == {"parallel", "sequential"} and min(v.values()) > 0 for v in scan.values())
    if importlib.util.find_spec("equinox") is not None:
        assert {"equinox", "torch"} <= set(main["ratios"]["gru/train"])
    assert set(saved["metrics"]["remat_temp_bytes"]) == {"0", "4"}
    assert "xla_matmuls" in main["ratios"]["lstm/forward"]
    ceiling = main["ceilings"]["lstm/train"]
    assert {"jaxrnn", "flax_opt_lstm"} <= set(ceiling) and min(ceiling.values()) > 0
    if importlib.util.find_spec("torch") is not None:
        assert {"torch", "torch_aten"} <= set(ceiling)
    assert "floor" in result.summary
    assert (run_dir / "benchmark.png").exists()
    names = [c["name"] for c in saved["claims"]]
    assert any("flax_opt_lstm" in n for n in names)
    assert any("XLA matmuls-only" in n for n in names)
    floor_points = {"lstm time=4", "lstm hidden=8", "gru time=4", "gru hidden=8"}
    assert set(saved["metrics"]["sweep"]["over_floor"]) == floor_points
    assert sum("XLA matmuls-only" in n for n in names) == 2 + len(floor_points)
    bf16 = saved["metrics"]["bf16_adding"]
    assert set(bf16["runs"]) == {"float32", "bfloat16"}
    for run_ in bf16["runs"].values():
        assert len(run_["final_mse"]) == 3 and len(run_["loss_median"]) == 3
    assert sum("bfloat16: worst held-out seed" in n for n in names) == 1
    assert (run_dir / "bf16_adding.png").exists()
    if importlib.util.find_spec("torch") is not None:
        assert "torch" in main["ratios"]["lstm/train_bf16"]
        assert any(n.startswith("lstm train_bf16: torch") for n in names)


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="kinds"):
        benchmark.run(benchmark.Config(kinds=("lstm", "transformer")))


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_matmul_floor_equals_the_recurrence_written_out(kind):
    hidden, g, dtype = 5, benchmark.GATES[kind], jnp.float64
    with maybe_x64(dtype):
        keys = jax.random.split(jax.random.key(0), 4)
        params = {
            "kernel": jax.random.normal(keys[0], (3, g * hidden), dtype),
            "recurrent_kernel": 0.3 * jax.random.normal(keys[1], (hidden, g * hidden), dtype),
        }
        x = jax.random.normal(keys[2], (6, 2, 3), dtype)  # (t, b, i)
        r = jax.random.normal(keys[3], (6, 2, hidden), dtype)
        layer = benchmark.matmul_floor(kind, hidden)

        def reference(p, x):  # h_t = sum of the gate blocks, differentiated by JAX
            h, ys = jnp.zeros((2, hidden), dtype), []
            for x_t in x:
                pre = x_t @ p["kernel"] + h @ p["recurrent_kernel"]
                h = pre.reshape(2, g, hidden).sum(axis=1)
                ys.append(h)
            return jnp.stack(ys)

        def loss(f):
            return lambda p, x: jnp.sum(f(p, x) * r)

        pairs = [(layer(params, x), reference(params, x))]
        got = jax.grad(loss(layer), argnums=(0, 1))(params, x)
        want = jax.grad(loss(reference), argnums=(0, 1))(params, x)
        pairs += list(zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True))
        for a, b in pairs:
            np.testing.assert_allclose(a, b, **tolerance(dtype))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_torch_contender_restores_onednn_setting():
    import torch

    x = np.zeros((1, 2, 3), np.float32)
    seen = []
    train, forward = benchmark._torch_contender(
        "lstm", x, np.zeros((1, 2, 4), np.float32), 4, False
    )
    before = torch.backends.mkldnn.enabled
    original = torch.nn.LSTM.forward

    def spy(self, *args, **kwargs):
        seen.append(torch.backends.mkldnn.enabled)
        return original(self, *args, **kwargs)

    torch.nn.LSTM.forward = spy
    try:
        train()
        forward()
    finally:
        torch.nn.LSTM.forward = original
    assert seen == [False, False]
    assert torch.backends.mkldnn.enabled == before
