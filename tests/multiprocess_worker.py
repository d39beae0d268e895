"""One process of the multi-process runs of tests/test_multiprocess.py (not a test module).

``python multiprocess_worker.py SPEC`` with SPEC a JSON object: ``process_id``,
``num_processes``, ``port`` (the coordinator on 127.0.0.1; absent for a one-process run),
``devices`` (virtual CPU devices of this process), ``directory`` (checkpoints, metrics,
the final parameters as ``params_<process_id>.npz``), ``num_steps``, ``checkpoint_every``,
and optionally ``fail_at``/``fail_process`` (raise in that process's batch function at
that step), ``sleep`` (seconds per batch, to give a signal time to land),
``global_batch`` (every process feeds the whole global batch: the mistake fit catches).
"""

import json
import os
import pathlib
import sys
import time

SPEC = json.loads(sys.argv[1])
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={SPEC['devices']}"

import jax  # noqa: E402

if "port" in SPEC:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        f"127.0.0.1:{SPEC['port']}",
        SPEC["num_processes"],
        SPEC["process_id"],
        initialization_timeout=60,
        heartbeat_timeout_seconds=10,
    )

import flax.traverse_util  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn import parallel  # noqa: E402
from jaxrnn.training import (  # noqa: E402
    TrainState,
    array_batches,
    fit,
    make_optimizer,
    make_train_step,
)

B, T, F, H, N = 16, 6, 3, 8, 128  # global batch, time, features, hidden, examples
directory = pathlib.Path(SPEC["directory"])
model = jaxrnn.LSTM(H)
kx, ky, kp, ks = jax.random.split(jax.random.key(11), 4)
data = {
    "x": np.asarray(jax.random.normal(kx, (N, T, F))),
    "y": np.asarray(jax.random.normal(ky, (N, H))),
}


def loss_fn(params, batch, rng):
    del rng
    outputs = model.apply({"params": params}, batch["x"])
    return jnp.mean((outputs[:, -1] - batch["y"]) ** 2)


optimizer = make_optimizer(1e-2)
state = TrainState.create(model.init(kp, jnp.zeros((B, T, F)))["params"], optimizer, ks)
if SPEC.get("global_batch"):
    own_rows = array_batches(data, B, seed=0, process_index=0, process_count=1)
else:
    own_rows = array_batches(data, B, seed=0)


def batches(step):
    if step == SPEC.get("fail_at") and jax.process_index() == SPEC.get("fail_process"):
        print(f"failing at {time.time()}", flush=True)
        raise RuntimeError(f"injected failure in process {jax.process_index()}")
    time.sleep(SPEC.get("sleep", 0.0))
    return own_rows(step)


batches.global_batch_size = B
result = fit(
    state,
    make_train_step(loss_fn, optimizer),
    batches,
    num_steps=SPEC["num_steps"],
    mesh=parallel.data_mesh(),
    checkpoint_dir=directory / "ckpt",
    checkpoint_every=SPEC["checkpoint_every"],
    metrics_path=directory / "metrics.jsonl",
    progress=False,
)
params = multihost_utils.process_allgather(result.state.params, tiled=True)
flat = flax.traverse_util.flatten_dict(jax.device_get(params), sep="/")
np.savez(directory / f"params_{jax.process_index()}.npz", **flat)
print(f"process {jax.process_index()} finished at step {int(result.state.step)}", flush=True)
