r"""Speed: jaxrnn's recurrent layers against Flax's cells and PyTorch's fused CPU RNNs.

Every contender runs in this one process, interleaved A B C B C A ... (every round in a
new order, so that no contender always follows the same one) after a warm-up,
and each speed is the median of ``rounds`` timings; speeds are quoted as ratios
(competitor time / jaxrnn time, so > 1 means jaxrnn is faster), with the spread of the
per-round ratios, never as an absolute time alone. In the same rounds a large float32
GEMM measures the machine, and every contender's effective GFLOP/s (its matmul FLOPs
over its time) is quoted as a share of that.

A training step is forward + backward of :math:`\sum_t y_t \cdot r_t` for a fixed random
``r`` with respect to every parameter; forward-only is inference. Matmul FLOPs of one
layer: forward :math:`2\,b\,t\,(i + h)\,g\,h` (``g`` gates), training 3x that.

Contenders: ``jaxrnn`` (the fused loops of ``jaxrnn._fused``; the GRU with
``reset_after=True``, the same cell as PyTorch's and Flax's), ``jaxrnn_step`` (the
cell's step under ``lax.scan``, ``fused=False``), ``flax.linen.RNN`` over
``OptimizedLSTMCell`` / ``LSTMCell`` / ``GRUCell`` / ``SimpleCell``, PyTorch's
``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (threads = cores) when torch is installed, and
``equinox.nn.LSTMCell`` / ``GRUCell`` (``vmap`` over the batch in ``lax.scan``) when
Equinox is installed.

Where the time goes, in the same rounds: ``torch_aten`` is PyTorch with its oneDNN
kernels off (``nn.LSTM`` on a CPU is oneDNN's fused RNN primitive, ``nn.GRU`` and
``nn.RNN`` are ATen's loop of per-step GEMMs either way), and ``xla_matmuls``
(``matmul_floor``) is XLA doing the layer's matmuls and nearly nothing else. A
competitor's time over the floor's is its *ceiling*: roughly the highest ratio any
program built on XLA's GEMMs could reach against it (the floor's block sums are a
little work of their own, so a lean loop can come in slightly under it); jaxrnn's time
over the floor's is what its gate arithmetic, residuals and loop overhead cost.

Also: ``MinGRU`` in both modes (the log-space parallel scan and the gates-first
sequential scan) against the GRU as ``T`` grows, activation memory of a
``T = 8192`` LSTM training step with and without ``remat_chunk`` (XLA's buffer
assignment), and compile time against ``T`` and the number of layers.

Run: ``python -m experiments benchmark`` (not part of the suite, whose timings it would
disturb); ``--full`` for the wider sweep. Claims are the speed targets of the project.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness

NAME = "benchmark"
IN_SUITE = False  # `python -m experiments` without a name skips it
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
# The sweep's GRU points time only jaxrnn against its matmul floor.
FLOOR = ("jaxrnn", "xla_matmuls")


@dataclasses.dataclass(frozen=True)
class Config:
    """Benchmark shapes and repetitions.

    ``python -m experiments benchmark [--full] [--rounds=9 --hidden=512 ...]``

    Expected (2-core CPU, see the README table): the claims are the project's targets,
    LSTM training >= 1.0x torch (oneDNN; both near the matmul floor) and >= 1.5x flax
    ``OptimizedLSTMCell``, GRU training >= 1.5x torch and >= 1.5x flax ``GRUCell``,
    forward >= 1.0x torch, LSTM and GRU training within 1.05x of the XLA matmuls-only
    floor, and the bfloat16 LSTM training step >= 1.25x torch under bfloat16 autocast.
    They are targets, not calibrated results: a FAIL is reported as measured.

    Attributes:
      batch: ``b``.
      time: ``t`` of the main comparison.
      input_size: ``i``.
      hidden: ``h``.
      rounds: timed rounds (medians over these), at least 7 for a quoted figure.
      warmup: untimed calls per contender first.
      kinds: which layers: ``lstm``, ``gru``, ``rnn``.
      bf16_kinds: layers also timed in the mixed-precision mode (``dtype=bfloat16``)
        against PyTorch's bfloat16 autocast.
      sweep_times: ``t`` values of the training sweep: the LSTM against every contender,
        the LSTM and the GRU against ``matmul_floor`` (claim: within 1.05x of it, the
        project's target, as at the default shape).
      sweep_hiddens: ``h`` values of the training sweep.
      sweep_rounds: rounds per sweep point.
      scan_times: ``t`` values of the MinGRU vs GRU comparison.
      remat_time: ``t`` of the memory comparison.
      remat_chunk: the checkpointing chunk compared with none.
      compile_times: ``t`` values of the compile-time report.
      compile_layers: layer counts of the compile-time report.
      gemm_size: ``n`` of the ``n x n`` GEMM that measures the machine.
      bf16_length: ``T`` of the adding problem trained in float32 and in bfloat16 (0:
        skip). Its claim is adding's own for gated models (worst held-out seed's final
        MSE <= 0.1 x the constant predictor's, that threshold calibrated on adding's
        seeds 0..5) applied to the bfloat16 run.
      bf16_steps: its training steps (adding's QUICK budget).
    """

    batch: int = 32
    time: int = 128
    input_size: int = 64
    hidden: int = 256
    rounds: int = 7
    warmup: int = 2
    kinds: tuple[str, ...] = ("lstm", "gru", "rnn")
    bf16_kinds: tuple[str, ...] = ("lstm", "gru")
    sweep_times: tuple[int, ...] = (32, 512)
    sweep_hiddens: tuple[int, ...] = (64, 512)
    sweep_rounds: int = 5
    scan_times: tuple[int, ...] = (256, 1024, 4096)
    remat_time: int = 8192
    remat_chunk: int = 128
    compile_times: tuple[int, ...] = (128, 1024, 8192)
    compile_layers: tuple[int, ...] = (1, 2, 4)
    gemm_size: int = 2048
    bf16_length: int = 50
    bf16_steps: int = 1000


QUICK = Config()
FULL = Config(
    rounds=11, sweep_times=(32, 128, 512, 2048), sweep_hiddens=(64, 256, 1024), sweep_rounds=5
)


# ---------------------------------------------------------------------------------------
# Contenders: name -> (train step, forward), each a no-argument call that blocks.
# ---------------------------------------------------------------------------------------


def _flax_contender(module: nn.Module, x: jax.Array, target: jax.Array):
    params = module.init(jax.random.key(0), x)

    def loss(params, x):
        y = module.apply(params, x)
        return jnp.sum((y[0] if isinstance(y, tuple) else y) * target)

    grad = jax.jit(jax.grad(loss))
    forward = jax.jit(module.apply)
    return (
        lambda: jax.block_until_ready(grad(params, x)),
        lambda: jax.block_until_ready(forward(params, x)),
    )


def _torch_contender(
    kind: str, x: np.ndarray, target: np.ndarray, hidden: int, onednn: bool = True
):
    """PyTorch's layer; ``onednn=False`` turns its oneDNN (mkldnn) kernels off for the call.

    On a CPU, ``nn.LSTM`` runs oneDNN's fused RNN primitive when oneDNN is enabled (the
    default); ``nn.GRU`` and ``nn.RNN`` run ATen's generic loop of per-step GEMMs either
    way. The ``torch_aten`` contender (``onednn=False``) shows which of the two a ratio
    is against.
    """
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](
        x.shape[-1], hidden, batch_first=True
    )
    tx, tt = torch.from_numpy(x), torch.from_numpy(target)

    def with_onednn(call):
        def wrapped():
            before = torch.backends.mkldnn.enabled
            torch.backends.mkldnn.enabled = onednn
            try:
                call()
            finally:
                torch.backends.mkldnn.enabled = before

        return wrapped

    def train():
        layer.zero_grad(set_to_none=True)
        out, _ = layer(tx)
        (out * tt).sum().backward()

    def forward():
        with torch.inference_mode():
            layer(tx)

    return with_onednn(train), with_onednn(forward)


def _torch_autocast_contender(kind: str, x: np.ndarray, target: np.ndarray, hidden: int):
    """PyTorch's layer under ``torch.autocast("cpu", dtype=torch.bfloat16)``.

    Autocast runs the layer (oneDNN's RNN primitive for ``nn.LSTM``) in bfloat16 on
    float32 parameters, as jaxrnn's mixed-precision mode (``dtype=jnp.bfloat16``) does;
    the loss is taken in float32.
    """
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](
        x.shape[-1], hidden, batch_first=True
    )
    tx, tt = torch.from_numpy(x), torch.from_numpy(target)

    def train():
        layer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = layer(tx)
        (out.float() * tt).sum().backward()

    def forward():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            layer(tx)

    return train, forward


def matmul_floor(kind: str, hidden: int) -> Callable[[dict, jax.Array], jax.Array]:
    r"""A layer with the same matmuls as ``kind`` and nearly nothing else, for XLA.

    :math:`h_t = \sum_k [x_t W + h_{t-1} U]_k`, the sum of the ``g`` column blocks of
    the pre-activation (the cheapest use of every column, so that XLA can drop none of
    the GEMM), over time-major ``x (t, b, i)`` with ``{"kernel": W (i, g*h),
    "recurrent_kernel": U (h, g*h)}``; returns ``(t, b, h)``. Its derivative is written
    as the fused loops' is: one GEMM per step backward (against a row-major
    :math:`U^\top`), the weight gradients as one GEMM each after the loop. The time of
    this program is what XLA's GEMMs alone cost for the layer: no correct XLA program
    of the layer built on XLA's dot can be much faster, which bounds the speed-up
    jaxrnn can reach over a competitor.
    """
    gates = GATES[kind]

    def loop(weights, x):
        def step(h, x_t):
            pre = x_t @ weights["kernel"] + h @ weights["recurrent_kernel"]
            h = jaxrnn._fused._block_sum(pre, gates)  # the fused loops' block sum
            return h, h

        return jax.lax.scan(step, jnp.zeros((x.shape[1], hidden), x.dtype), x)[1]

    @jax.custom_vjp
    def layer(weights, x):
        return loop(weights, x)

    def layer_fwd(weights, x):
        ys = loop(weights, x)
        return ys, (weights, x, ys)

    def layer_bwd(residuals, d_ys):
        weights, x, ys = residuals
        u_t = jax.lax.optimization_barrier(weights["recurrent_kernel"].T)

        def step(d_next, d_y):
            d_pre = jnp.tile(d_y + d_next, gates)
            return d_pre @ u_t, d_pre

        _, d_pre = jax.lax.scan(step, jnp.zeros_like(ys[0]), d_ys, reverse=True)
        h_prev = jnp.concatenate([jnp.zeros_like(ys[:1]), ys[:-1]])
        rows = d_pre.reshape(-1, d_pre.shape[-1])
        grads = {
            "kernel": x.reshape(-1, x.shape[-1]).T @ rows,
            "recurrent_kernel": h_prev.reshape(-1, hidden).T @ rows,
        }
        return grads, (d_pre @ weights["kernel"].T)

    layer.defvjp(layer_fwd, layer_bwd)
    return layer


def _floor_contender(kind: str, x: jax.Array, target: jax.Array, hidden: int):
    """``matmul_floor`` timed as the other contenders (inputs already time-major)."""
    layer = matmul_floor(kind, hidden)
    keys = jax.random.split(jax.random.key(0))
    width = GATES[kind] * hidden
    params = {
        "kernel": jax.random.normal(keys[0], (x.shape[-1], width)) / np.sqrt(x.shape[-1]),
        "recurrent_kernel": jax.random.normal(keys[1], (hidden, width)) / np.sqrt(hidden),
    }
    x, target = jnp.swapaxes(x, 0, 1), jnp.swapaxes(target, 0, 1)
    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(layer(p, x) * target)))
    forward = jax.jit(layer)
    return (
        lambda: jax.block_until_ready(grad(params, x)),
        lambda: jax.block_until_ready(forward(params, x)),
    )


def _equinox_contender(kind: str, x: jax.Array, target: jax.Array, hidden: int):
    """``equinox.nn.LSTMCell`` / ``GRUCell``, ``vmap`` over the batch in ``lax.scan``.

    This is how Equinox's documentation runs its cells over a batch of sequences.
    """
    import equinox as eqx

    cell_type = {"lstm": eqx.nn.LSTMCell, "gru": eqx.nn.GRUCell}[kind]
    cell = cell_type(x.shape[-1], hidden, key=jax.random.key(0))
    params, static = eqx.partition(cell, eqx.is_array)
    batch = x.shape[0]

    def outputs(params, x):
        cell = eqx.combine(params, static)
        h = jnp.zeros((batch, hidden), x.dtype)
        carry = (h, h) if kind == "lstm" else h

        def step(carry, x_t):
            carry = jax.vmap(cell)(x_t, carry)
            return carry, carry[0] if kind == "lstm" else carry

        return jax.lax.scan(step, carry, jnp.swapaxes(x, 0, 1))[1]

    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(jnp.swapaxes(outputs(p, x), 0, 1) * target)))
    forward = jax.jit(outputs)
    return (
        lambda: jax.block_until_ready(grad(params, x)),
        lambda: jax.block_until_ready(forward(params, x)),
    )


def _jaxrnn_cell(kind: str, hidden: int, dtype=None) -> jaxrnn.RecurrentCell:
    if kind == "lstm":
        return jaxrnn.LSTMCell(hidden, dtype=dtype)
    if kind == "gru":
        return jaxrnn.GRUCell(hidden, reset_after=True, dtype=dtype)
    return jaxrnn.SimpleRNNCell(hidden, dtype=dtype)


def _flax_cells(kind: str, hidden: int) -> dict[str, nn.RNNCellBase]:
    if kind == "lstm":
        return {"flax_opt_lstm": nn.OptimizedLSTMCell(hidden), "flax_lstm": nn.LSTMCell(hidden)}
    if kind == "gru":
        return {"flax_gru": nn.GRUCell(hidden)}
    return {"flax_simple": nn.SimpleCell(hidden)}


def contenders(
    kind: str,
    batch: int,
    time_: int,
    inputs: int,
    hidden: int,
    step: bool = True,
    floor: bool = True,
):
    """The contenders of one layer kind at one shape: name -> (train, forward).

    ``step`` adds ``jaxrnn_step`` (the cell's step under ``lax.scan``); ``floor`` adds
    the breakdown: ``xla_matmuls`` (``matmul_floor``) and, with torch, ``torch_aten``.
    """
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, time_, inputs), dtype=np.float32)
    target_np = rng.standard_normal((batch, time_, hidden), dtype=np.float32)
    x, target = jnp.asarray(x_np), jnp.asarray(target_np)
    out = {"jaxrnn": _flax_contender(jaxrnn.RNN(_jaxrnn_cell(kind, hidden)), x, target)}
    if step:
        out["jaxrnn_step"] = _flax_contender(
            jaxrnn.RNN(_jaxrnn_cell(kind, hidden), fused=False), x, target
        )
    for name, cell in _flax_cells(kind, hidden).items():
        out[name] = _flax_contender(nn.RNN(cell), x, target)
    if kind in ("lstm", "gru") and importlib.util.find_spec("equinox") is not None:
        out["equinox"] = _equinox_contender(kind, x, target, hidden)
    if importlib.util.find_spec("torch") is not None:
        out["torch"] = _torch_contender(kind, x_np, target_np, hidden)
        if floor:
            out["torch_aten"] = _torch_contender(kind, x_np, target_np, hidden, onednn=False)
    if floor:
        out["xla_matmuls"] = _floor_contender(kind, x, target, hidden)
    return out


def bf16_contenders(kind: str, batch: int, time_: int, inputs: int, hidden: int):
    """The mixed-precision mode against PyTorch's bfloat16 autocast: name -> calls.

    ``jaxrnn`` is ``RNN(cell(dtype=jnp.bfloat16))`` (bfloat16 matmul operands, float32
    accumulation, gates and carries, float32 parameters); ``torch`` the same layer as in
    float32 under ``torch.autocast``; ``jaxrnn_f32`` jaxrnn in float32, for the gain.
    """
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, time_, inputs), dtype=np.float32)
    target_np = rng.standard_normal((batch, time_, hidden), dtype=np.float32)
    x, target = jnp.asarray(x_np), jnp.asarray(target_np)
    cell = _jaxrnn_cell(kind, hidden, dtype=jnp.bfloat16)
    out = {
        "jaxrnn": _flax_contender(jaxrnn.RNN(cell), x, target),
        "jaxrnn_f32": _flax_contender(jaxrnn.RNN(_jaxrnn_cell(kind, hidden)), x, target),
    }
    if importlib.util.find_spec("torch") is not None:
        out["torch"] = _torch_autocast_contender(kind, x_np, target_np, hidden)
    return out


def interleaved(calls: dict[str, Callable[[], object]], rounds: int, warmup: int):
    """Times every call once per round, in a shuffled order; name -> array of seconds."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    times = {name: [] for name in calls}
    order = np.random.default_rng(0)  # a fresh order every round: no fixed neighbour
    names = list(calls)
    for _ in range(rounds):
        for name in order.permutation(names):
            call = calls[name]
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: np.asarray(t) for name, t in times.items()}


def ratios(times: dict[str, np.ndarray], ours: str = "jaxrnn") -> dict[str, dict[str, float]]:
    """Competitor median / ours, and the spread of the per-round ratios."""
    out = {}
    for name, t in times.items():
        if name == ours:
            continue
        per_round = t / times[ours]
        out[name] = {
            "ratio": float(np.median(t) / np.median(times[ours])),
            "round_min": float(per_round.min()),
            "round_max": float(per_round.max()),
        }
    return out


def matmul_flops(kind: str, batch: int, time_: int, inputs: int, hidden: int) -> float:
    """Forward matmul FLOPs of one layer: 2 b t (i + h) g h."""
    return 2.0 * batch * time_ * (inputs + hidden) * GATES[kind] * hidden


def _gemm(n: int) -> Callable[[], object]:
    a = jax.random.normal(jax.random.key(0), (n, n))
    f = jax.jit(lambda a: a @ a)
    return lambda: jax.block_until_ready(f(a))


# ---------------------------------------------------------------------------------------
# The parts.
# ---------------------------------------------------------------------------------------


def main_comparison(config: Config) -> dict:
    """Train and forward of every kind at the default shape, interleaved, with the GEMM."""
    shape = (config.batch, config.time, config.input_size, config.hidden)
    calls = {"gemm": _gemm(config.gemm_size)}
    for kind in config.kinds:
        for name, (train, forward) in contenders(kind, *shape).items():
            calls[f"{kind}/train/{name}"] = train
            calls[f"{kind}/forward/{name}"] = forward
    for kind in config.bf16_kinds:
        for name, (train, forward) in bf16_contenders(kind, *shape).items():
            calls[f"{kind}/train_bf16/{name}"] = train
            calls[f"{kind}/forward_bf16/{name}"] = forward
    times = interleaved(calls, config.rounds, config.warmup)
    gemm_gflops = 2.0 * config.gemm_size**3 / np.median(times.pop("gemm")) / 1e9
    out = {
        "gemm_gflops": gemm_gflops,
        "median_ms": {},
        "ratios": {},
        "gflops_share": {},
        "ceilings": {},
    }
    modes = (("train", 3.0), ("forward", 1.0), ("train_bf16", 3.0), ("forward_bf16", 1.0))
    for kind in dict.fromkeys(config.kinds + config.bf16_kinds):
        for mode, factor in modes:
            prefix = f"{kind}/{mode}/"
            group = {k[len(prefix) :]: v for k, v in times.items() if k.startswith(prefix)}
            if not group:
                continue
            flops = factor * matmul_flops(kind, *shape)
            out["median_ms"][prefix[:-1]] = {k: float(np.median(v) * 1e3) for k, v in group.items()}
            out["ratios"][prefix[:-1]] = ratios(group)
            out["gflops_share"][prefix[:-1]] = {
                k: float(flops / np.median(v) / 1e9 / gemm_gflops) for k, v in group.items()
            }
            if "xla_matmuls" in group:
                out["ceilings"][prefix[:-1]] = ceilings(group)
    return out


def ceilings(times: dict[str, np.ndarray]) -> dict[str, float]:
    """Competitor median / ``xla_matmuls`` median: the most any XLA program can reach.

    Every correct scan of the layer does at least the GEMMs of ``matmul_floor``, so a
    ratio (competitor time / jaxrnn time) above the competitor's ceiling would need a
    GEMM faster than XLA's. ``"jaxrnn"`` is jaxrnn's own time over the floor's, the
    share of jaxrnn's time beyond its matmuls being ``1 - 1 / that``.
    """
    floor = np.median(times["xla_matmuls"])
    return {n: float(np.median(t) / floor) for n, t in times.items() if n != "xla_matmuls"}


def sweep(config: Config) -> dict:
    """Training ratios against ``t`` (at the default ``h``) and ``h`` (default ``t``).

    Returns ``time`` and ``hidden``: ``{value: {competitor: ratio}}`` of the LSTM, and
    ``over_floor``: ``{"kind axis=value": jaxrnn time / matmul_floor time}`` of the
    LSTM and the GRU at every point (each point interleaved on its own).
    """
    out = {"time": {}, "hidden": {}, "over_floor": {}}
    points = [("time", t, config.hidden) for t in config.sweep_times]
    points += [("hidden", config.time, h) for h in config.sweep_hiddens]
    for kind in ("lstm", "gru"):
        for axis, time_, hidden in points:
            calls = contenders(kind, config.batch, time_, config.input_size, hidden, step=False)
            calls = {
                name: train
                for name, (train, _) in calls.items()
                if name not in ("flax_lstm", "torch_aten") and (kind == "lstm" or name in FLOOR)
            }
            times = interleaved(calls, config.sweep_rounds, 1)
            value = time_ if axis == "time" else hidden
            got = ratios(times)
            floor = got.pop("xla_matmuls")["ratio"]
            out["over_floor"][f"{kind} {axis}={value}"] = 1.0 / floor
            if kind == "lstm":
                out[axis][str(value)] = {k: v["ratio"] for k, v in got.items()}
    return out


def parallel_scan(config: Config) -> dict:
    """GRU training time / ``MinGRU`` training time, both modes, as ``t`` grows.

    Returns ``{t: {"parallel": ratio, "sequential": ratio}}``: the log-space parallel
    scan and the gates-first sequential scan against the fused GRU, interleaved.
    """
    out = {}
    for time_ in config.scan_times:
        x = jax.random.normal(jax.random.key(0), (config.batch, time_, config.input_size))
        target = jax.random.normal(jax.random.key(1), (config.batch, time_, config.hidden))
        gru = jaxrnn.RNN(jaxrnn.GRUCell(config.hidden, reset_after=True))
        calls = {"gru": _flax_contender(gru, x, target)[0]}
        for mode in jaxrnn.min_rnn.MODES:
            calls[mode] = _flax_contender(jaxrnn.MinGRU(config.hidden, mode=mode), x, target)[0]
        times = interleaved(calls, max(3, config.sweep_rounds), 1)
        out[str(time_)] = {
            mode: float(np.median(times["gru"]) / np.median(times[mode]))
            for mode in jaxrnn.min_rnn.MODES
        }
    return out


def _train_step(layer: nn.Module, x: jax.Array):
    params = layer.init(jax.random.key(0), x)
    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(layer.apply(p, x) ** 2)))
    return grad, params


def remat_memory(config: Config) -> dict:
    """Temporary buffer bytes of a ``t = remat_time`` LSTM training step (XLA's count)."""
    x = jnp.zeros((config.batch, config.remat_time, config.input_size))
    out = {}
    for chunk in (0, config.remat_chunk):
        grad, params = _train_step(jaxrnn.LSTM(config.hidden, remat_chunk=chunk), x)
        memory = grad.lower(params, x).compile().memory_analysis()
        out[str(chunk)] = int(memory.temp_size_in_bytes)
    return out


def bf16_training(config: Config) -> dict:
    r"""The adding problem (T = ``bf16_length``) trained in float32 and in bfloat16.

    ``experiments.adding``'s chrono LSTM and QUICK setup (hidden size, Adam, clipping,
    batches, held-out seeds 100..102; ``bf16_steps`` steps) once as is and once with
    ``dtype=jnp.bfloat16``, on the same keys and batches. Returns the loss curves, each
    seed's final held-out MSE and each seed's constant predictor's (the baseline of
    adding's claims, on the same sequences).
    """
    from experiments import _synthetic, adding

    task_config = dataclasses.replace(adding.QUICK, num_steps=config.bf16_steps)
    length = config.bf16_length
    split = _synthetic.make_split(task_config, adding.TASK, length)
    baselines = _synthetic.seed_baselines(adding.TASK, split)
    optimizer = jaxrnn.training.make_optimizer(
        task_config.learning_rate, task_config.max_grad_norm, optimizer=task_config.optimizer
    )
    out = {"constant_mse": baselines[adding.CONSTANT].tolist(), "length": length, "runs": {}}
    for label, dtype in (("float32", None), ("bfloat16", jnp.bfloat16)):
        got = _synthetic.train_model(
            task_config, adding.TASK, "lstm_chrono", length, split, optimizer, dtype=dtype
        )
        out["runs"][label] = {
            "loss_median": np.median(got["loss"], axis=1).tolist(),
            "final_mse": np.asarray(got["final"], np.float64).tolist(),
            "seconds": got["seconds"],
        }
    return out


def compile_times(config: Config) -> dict:
    """Seconds to lower and compile an LSTM training step, against ``t`` and layers."""
    out = {"time": {}, "layers": {}}
    points = [("time", t, 1) for t in config.compile_times]
    points += [("layers", config.time, n) for n in config.compile_layers]
    for axis, time_, layers in points:
        x = jnp.zeros((config.batch, time_, config.input_size))
        grad, params = _train_step(jaxrnn.LSTM(config.hidden, num_layers=layers), x)
        start = time.perf_counter()
        grad.lower(params, x).compile()
        out[axis][str(time_ if axis == "time" else layers)] = time.perf_counter() - start
    return out


# ---------------------------------------------------------------------------------------
# Claims, figure, run.
# ---------------------------------------------------------------------------------------

TARGETS = (
    ("lstm", "train", "torch", 1.0),
    ("lstm", "train", "flax_opt_lstm", 1.5),
    ("gru", "train", "torch", 1.5),
    ("gru", "train", "flax_gru", 1.5),
    ("lstm", "forward", "torch", 1.0),
    ("gru", "forward", "torch", 1.0),
    ("lstm", "train_bf16", "torch", 1.25),
)


def _claims(
    config: Config, main: dict, sweep_: dict, scan: dict, bf16: dict
) -> list[_harness.Claim]:
    claims = []
    if bf16:
        from experiments import adding

        for label, got in bf16["runs"].items():
            claims.append(
                _harness.within(
                    f"adding T={bf16['length']} LSTM (chrono) in {label}: worst held-out seed's "
                    "final MSE / the constant predictor's",
                    max(m / c for m, c in zip(got["final_mse"], bf16["constant_mse"], strict=True)),
                    high=adding.GATED_MAX_FRACTION,
                )
            )
    for kind, mode, competitor, low in TARGETS:
        found = main["ratios"].get(f"{kind}/{mode}", {}).get(competitor)
        if found is not None:
            claims.append(
                _harness.within(
                    f"{kind} {mode}: {competitor} time / jaxrnn time", found["ratio"], low=low
                )
            )
    for kind in ("lstm", "gru"):
        over_floor = main["ceilings"].get(f"{kind}/train", {}).get("jaxrnn")
        if over_floor is not None:
            claims.append(
                _harness.within(
                    f"{kind} train: jaxrnn time / XLA matmuls-only time", over_floor, high=1.05
                )
            )
    for point, over_floor in sweep_.get("over_floor", {}).items():
        claims.append(
            _harness.within(
                f"{point} train: jaxrnn time / XLA matmuls-only time", over_floor, high=1.05
            )
        )
    if len(scan) >= 2:
        values = [scan[str(t)]["parallel"] for t in sorted(config.scan_times)]
        claims.append(
            _harness.within(
                "MinGRU (parallel scan) speed-up over the GRU grows from the shortest to the "
                "longest t",
                values[-1] - values[0],
                low=0.0,
            )
        )
    if scan:
        claims.append(
            _harness.within(
                "MinGRU (its faster mode here) trains faster than the GRU at every t: "
                "smallest GRU / MinGRU time ratio",
                min(max(v.values()) for v in scan.values()),
                low=1.0,
            )
        )
    return claims


def _figure(main: dict, sweep_: dict, scan: dict) -> Figure:
    rows = [(f"{g} · {n}", r["ratio"]) for g, rs in main["ratios"].items() for n, r in rs.items()]
    fig = Figure(figsize=(13, 3.5 + 0.13 * len(rows)))
    grid = fig.add_gridspec(2, 2, height_ratios=(0.13 * len(rows) + 0.5, 3.0))
    ax = fig.add_subplot(grid[0, 0])
    ax.barh(range(len(rows)), [v for _, v in rows])
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=6)
    ax.invert_yaxis()
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("competitor time / jaxrnn time (> 1: jaxrnn faster)")
    ax.set_title("default shape")
    ax = fig.add_subplot(grid[0, 1])
    floors = [(f"{g} · {n}", v) for g, vs in main["ceilings"].items() for n, v in vs.items()]
    ax.barh(
        range(len(floors)),
        [v for _, v in floors],
        color=["C3" if label.endswith("· jaxrnn") else "C0" for label, _ in floors],
    )
    ax.set_yticks(range(len(floors)), [label for label, _ in floors], fontsize=6)
    ax.invert_yaxis()
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("time / XLA matmuls-only time (jaxrnn in red)")
    ax.set_title("against the matmul floor")
    for k, axis in enumerate(("time", "hidden")):
        ax = fig.add_subplot(grid[1, k])
        points = sweep_[axis]
        xs = [int(v) for v in points]
        for name in sorted({n for r in points.values() for n in r}):
            ax.plot(xs, [points[str(v)].get(name, np.nan) for v in xs], "o-", label=name)
        if axis == "time" and scan:
            for mode in jaxrnn.min_rnn.MODES:
                values = [v[mode] for v in scan.values()]
                ax.plot([int(t) for t in scan], values, "s--", label=f"GRU / MinGRU {mode}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(axis)
        ax.set_ylabel("time ratio (> 1: jaxrnn faster)")
        ax.set_title(f"LSTM training vs {axis}")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def _bf16_summary(bf16: dict) -> str:
    if not bf16:
        return ""
    parts = [
        f"{label} " + ", ".join(f"{m:.4f}" for m in got["final_mse"])
        for label, got in bf16["runs"].items()
    ]
    constant = ", ".join(f"{c:.4f}" for c in bf16["constant_mse"])
    return (
        f"Adding T={bf16['length']}, LSTM (chrono), held-out final MSE per seed: "
        + "; ".join(parts)
        + f" (constant predictor {constant})."
    )


def _bf16_figure(bf16: dict) -> dict[str, Figure]:
    if not bf16:
        return {}
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for label, got in bf16["runs"].items():
        ax.plot(got["loss_median"], label=f"LSTM (chrono), {label}", lw=0.8)
    ax.axhline(np.mean(bf16["constant_mse"]), color="k", ls="--", lw=0.8, label="constant")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training MSE (median over seeds)")
    ax.set_title(f"adding T={bf16['length']}: float32 vs bfloat16 compute")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"bf16_adding": fig}


def _ceiling_summary(main: dict) -> str:
    parts = []
    for group, values in main["ceilings"].items():
        others = ", ".join(f"{n} {v:.2f}" for n, v in values.items() if n != "jaxrnn")
        parts.append(f"{group}: jaxrnn {values.get('jaxrnn', np.nan):.2f}x the floor; {others}")
    if not parts:
        return ""
    return (
        "Time over the XLA matmuls-only floor (competitor time / floor: the highest ratio "
        "any XLA program can reach against it): " + "; ".join(parts) + ". "
    )


def run(config: Config) -> _harness.Result:
    """Runs every part; see the module docstring."""
    _harness.check_types(config)
    unknown = set(config.kinds + config.bf16_kinds) - set(GATES)
    if unknown:
        raise ValueError(f"benchmark: unknown `kinds` {sorted(unknown)}; known {sorted(GATES)}")
    main = main_comparison(config)
    sweep_ = sweep(config)
    scan = parallel_scan(config) if config.scan_times else {}
    memory = remat_memory(config) if config.remat_time else {}
    compile_ = compile_times(config)
    bf16 = bf16_training(config) if config.bf16_length else {}
    metrics = {
        "bf16_adding": bf16,
        "main": main,
        "sweep": sweep_,
        "gru_over_mingru": scan,
        "remat_temp_bytes": memory,
        "compile_seconds": compile_,
        "device": str(jax.devices()[0]),
        "cpu_count": os.cpu_count(),
    }
    rows = ["| layer / mode | competitor | competitor time / jaxrnn | per-round range |"]
    rows.append("|---|---|---|---|")
    for group, ratios_ in main["ratios"].items():
        for name, r in ratios_.items():
            rows.append(
                f"| {group} | {name} | {r['ratio']:.2f} | "
                f"{r['round_min']:.2f}-{r['round_max']:.2f} |"
            )
    summary = (
        f"GEMM {main['gemm_gflops']:.0f} GFLOP/s. Ratios > 1: jaxrnn faster. GRU/MinGRU "
        "training time ratio by t (parallel / sequential mode): "
        + ", ".join(f"{t}: {v['parallel']:.2f} / {v['sequential']:.2f}" for t, v in scan.items())
        + ". "
        + _ceiling_summary(main)
        + f"Activation temporaries at t={config.remat_time}: "
        + ", ".join(f"chunk {c}: {b / 2**20:.0f} MiB" for c, b in memory.items())
        + ". Compile seconds by t: "
        + ", ".join(f"{t}: {s:.1f}" for t, s in compile_["time"].items())
        + "; by layers: "
        + ", ".join(f"{n}: {s:.1f}" for n, s in compile_["layers"].items())
        + ". "
        + _bf16_summary(bf16)
    )
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=(0,),
        metrics=metrics,
        claims=_claims(config, main, sweep_, scan, bf16),
        summary=summary,
        table="\n".join(rows),
        figures={"benchmark": _figure(main, sweep_, scan), **_bf16_figure(bf16)},
    )


if __name__ == "__main__":
    raise SystemExit(_harness.module_main(NAME, __name__))
