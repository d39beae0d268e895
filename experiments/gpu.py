r"""The GPU check: the LSTM/GRU benchmark on a GPU, cuDNN against the scan, and the suite.

Run on a machine with a GPU (not part of the suite, refuses to run without one)::

    python -m experiments.gpu [--out DIR] [--rounds 9] [--no-suite]

1. **cuDNN equals the scan**: ``jaxrnn.RNN(LSTMCell)`` on the GPU takes cuDNN's fused
   kernel (``jaxrnn._cudnn``); its outputs, final carry and parameter gradients on a
   padded batch are compared with the fused scan's (cuDNN switched off), on the GPU.
2. **Speed** at the benchmark's default shape (b = 32, t = 128, i = 64, h = 256,
   float32, training step and forward, interleaved rounds, ratios of medians as in
   ``experiments.benchmark``): jaxrnn (cuDNN for the LSTM), jaxrnn's scan, Flax's
   ``OptimizedLSTMCell`` / ``GRUCell``, ``jax.experimental.rnn.lstm`` called directly
   and, when torch with CUDA is installed, PyTorch's cuDNN ``nn.LSTM`` / ``nn.GRU``.
3. **The quick suite** (``python -m experiments``) into ``DIR/runs``.

Writes ``DIR/gpu.md`` (the tables for the README) and ``DIR/gpu.json``; exit status 0
when cuDNN equals the scan and the suite passes, 1 otherwise, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments import benchmark
from jaxrnn import _cudnn


def _without_cudnn(call):
    """``call`` with the cuDNN path switched off (the fused scan instead)."""

    def wrapped(*args, **kwargs):
        available, _cudnn.available = _cudnn.available, lambda: False
        try:
            return call(*args, **kwargs)
        finally:
            _cudnn.available = available

    return wrapped


def cudnn_equals_scan() -> dict:
    """Max |cuDNN - scan| of outputs, carry and gradients, and whether within tolerance."""
    x = jax.random.normal(jax.random.key(0), (8, 40, 16))
    lengths = jnp.array([40, 33, 20, 7, 1, 40, 12, 0])
    layer = jaxrnn.RNN(jaxrnn.LSTMCell(32), return_carry=True)
    variables = layer.init(jax.random.key(1), x)

    def loss(variables):
        carry, ys = layer.apply(variables, x, seq_lengths=lengths)
        return jnp.sum(jnp.sin(ys)) + jnp.sum(carry.c), (carry, ys)

    grad = jax.grad(loss, has_aux=True)
    with jax.default_matmul_precision("highest"):
        ours = jax.jit(grad)(variables)
        scan = _without_cudnn(lambda v: jax.jit(grad)(v))(variables)
    pairs = zip(jax.tree.leaves(ours), jax.tree.leaves(scan), strict=True)
    worst = max(float(jnp.max(jnp.abs(a - b))) for a, b in pairs)
    return {"max_abs_difference": worst, "equal": worst < 1e-4}


def _cudnn_direct(x, target, hidden):
    """``jax.experimental.rnn.lstm`` called directly on its own packed weights."""
    from jax.experimental import rnn

    batch, _, inputs = x.shape
    weights = rnn.init_lstm_weight(jax.random.key(0), inputs, hidden, 1, False)
    zeros = jnp.zeros((1, batch, hidden))
    lengths = jnp.full((batch,), x.shape[1], jnp.int32)

    def loss(w, x):
        y, _, _ = rnn.lstm(x, zeros, zeros, w, lengths, inputs, hidden, 1, 0.0, False)
        return jnp.sum(y * target)

    grad = jax.jit(jax.grad(loss))
    forward = jax.jit(lambda w, x: rnn.lstm(x, zeros, zeros, w, lengths, inputs, hidden, 1, 0.0,
                                            False)[0])  # fmt: skip
    return (
        lambda: jax.block_until_ready(grad(weights, x)),
        lambda: jax.block_until_ready(forward(weights, x)),
    )


def _torch_cuda(kind, x, target, hidden):
    import torch

    layer_type = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    layer = layer_type(x.shape[-1], hidden, batch_first=True).cuda()
    tx, tt = torch.from_numpy(x).cuda(), torch.from_numpy(target).cuda()

    def train():
        layer.zero_grad(set_to_none=True)
        out, _ = layer(tx)
        (out * tt).sum().backward()
        torch.cuda.synchronize()

    def forward():
        with torch.inference_mode():
            layer(tx)
        torch.cuda.synchronize()

    return train, forward


def speed(rounds: int, shape=(32, 128, 64, 256)) -> dict:
    """Ratios (competitor median / jaxrnn median) for LSTM and GRU, train and forward."""
    batch, time_, inputs, hidden = shape
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, time_, inputs), dtype=np.float32)
    t_np = rng.standard_normal((batch, time_, hidden), dtype=np.float32)
    x, target = jnp.asarray(x_np), jnp.asarray(t_np)
    calls = {}
    for kind in ("lstm", "gru"):
        cell = benchmark._jaxrnn_cell(kind, hidden)
        group = {"jaxrnn": benchmark._flax_contender(jaxrnn.RNN(cell), x, target)}
        scan = _without_cudnn(benchmark._flax_contender)(jaxrnn.RNN(cell), x, target)
        group["jaxrnn_scan"] = tuple(_without_cudnn(c) for c in scan)
        for name, flax_cell in benchmark._flax_cells(kind, hidden).items():
            group[name] = benchmark._flax_contender(jaxrnn.RNN(flax_cell), x, target)
        if kind == "lstm":
            group["jax_experimental_rnn"] = _cudnn_direct(x, target, hidden)
        try:
            import torch

            if torch.cuda.is_available():
                group["torch_cudnn"] = _torch_cuda(kind, x_np, t_np, hidden)
        except ImportError:
            pass
        for name, (train, forward) in group.items():
            calls[f"{kind}/train/{name}"] = train
            calls[f"{kind}/forward/{name}"] = forward
    times = benchmark.interleaved(calls, rounds, warmup=2)
    out = {}
    for prefix in sorted({k.rsplit("/", 1)[0] for k in times}):
        group = {k.rsplit("/", 1)[1]: v for k, v in times.items() if k.startswith(prefix + "/")}
        out[prefix] = {
            "jaxrnn_ms": float(np.median(group["jaxrnn"]) * 1e3),
            "ratios": benchmark.ratios(group),
        }
    return out


def _table(speeds: dict) -> str:
    names = sorted({n for g in speeds.values() for n in g["ratios"]})
    rows = ["| layer, mode | jaxrnn ms | " + " | ".join(f"vs {n}" for n in names) + " |"]
    rows.append("|---|---|" + "---|" * len(names))
    for group, values in speeds.items():
        cells = []
        for n in names:
            r = values["ratios"].get(n)
            cells.append("-" if r is None else f"{r['ratio']:.2f} ({r['round_min']:.2f}-"
                         f"{r['round_max']:.2f})")  # fmt: skip
        rows.append(f"| {group} | {values['jaxrnn_ms']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m experiments.gpu")
    parser.add_argument("--out", default="runs/gpu", help="results folder")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-suite", action="store_true", help="skip the quick suite")
    args = parser.parse_args(argv)
    if jax.default_backend() != "gpu":
        print(f"experiments.gpu: needs a GPU, jax's backend is {jax.default_backend()}")
        return 2
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    equal = cudnn_equals_scan()
    speeds = speed(args.rounds)
    suite_status = None
    if not args.no_suite:
        command = [sys.executable, "-m", "experiments", "--runs-root", str(out / "runs")]
        suite_status = subprocess.run(command, check=False).returncode
    record = {"device": str(jax.devices()[0]), "cudnn_vs_scan": equal, "speed": speeds,
              "suite_status": suite_status}  # fmt: skip
    (out / "gpu.json").write_text(json.dumps(record, indent=2))
    text = (
        f"Device: {record['device']}. cuDNN LSTM vs the scan on a padded batch (outputs, "
        f"carry, gradients): max |difference| {equal['max_abs_difference']:.2e}.\n\n"
        + _table(speeds)
        + f"\n\nQuick suite exit status: {suite_status}.\n"
    )
    (out / "gpu.md").write_text(text)
    print(text)
    return 0 if equal["equal"] and suite_status in (None, 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
