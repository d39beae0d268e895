"""Tests of jaxrnn.parallel: data parallelism over 8 virtual CPU devices in a subprocess.

XLA fixes the number of host devices when the backend starts, so the 8-device runs live
in a child process started with ``--xla_force_host_platform_device_count=8``; it writes
the parameters and what it saw of the shardings to files that the tests below read.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tolerance

from jaxrnn import parallel

NUM_DEVICES = 8
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json
    import pathlib
    import sys

    import flax.traverse_util
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import PartitionSpec

    import jaxrnn
    from jaxrnn import parallel
    from jaxrnn.training import (
        TrainState, array_batches, fit, make_optimizer, make_train_step,
    )

    out = pathlib.Path(sys.argv[1])
    B, T, F, H, N, STEPS = 16, 5, 3, 8, 64, 6  # batch, time, features, hidden, examples
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
    state = TrainState.create(
        model.init(kp, jnp.zeros((B, T, F)))["params"], optimizer, ks
    )
    step_fn = make_train_step(loss_fn, optimizer)
    batches = array_batches(data, B, seed=0)
    mesh = parallel.data_mesh()
    seen = []

    def recording_step(state, batch):
        # What fit hands to the step: the sharded batch and the replicated state.
        x = batch["x"]
        seen.append({
            "spec": list(x.sharding.spec),
            "num_shards": len(x.addressable_shards),
            "shard_shapes": sorted({tuple(s.data.shape) for s in x.addressable_shards}),
            "shard_devices": len({s.device for s in x.addressable_shards}),
            "state_replicated": all(
                leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == 8
                for leaf in jax.tree_util.tree_leaves(state)
            ),
        })
        return step_fn(state, batch)

    def flat(params):
        flat = flax.traverse_util.flatten_dict(jax.device_get(params), sep="/")
        return {k: np.asarray(v) for k, v in flat.items()}

    single = fit(state, step_fn, batches, num_steps=STEPS, progress=False)
    sharded = fit(state, recording_step, batches, num_steps=STEPS, mesh=mesh, progress=False)
    np.savez(out / "single.npz", **flat(single.state.params))
    np.savez(out / "sharded.npz", **flat(sharded.state.params))

    # Interrupted and resumed under the mesh: bit-identical to the uninterrupted run.
    ckpt = out / "ckpt"
    fit(state, step_fn, batches, num_steps=3, mesh=mesh, checkpoint_dir=ckpt, progress=False)
    resumed = fit(state, step_fn, batches, num_steps=STEPS, mesh=mesh, checkpoint_dir=ckpt,
                  progress=False)
    np.savez(out / "resumed.npz", **flat(resumed.state.params))

    errors = {}
    for name, batch in {
        "batch_12": {"x": np.zeros((12, T, F))},
        "scalar": {"x": np.zeros(())},
    }.items():
        try:
            parallel.shard_batch(batch, mesh)
        except ValueError as err:
            errors[name] = str(err)

    final = sharded.state.params
    report = {
        "device_count": jax.device_count(),
        "mesh_shape": dict(mesh.shape),
        "seen": seen,
        "final_params_replicated": all(
            leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == 8
            for leaf in jax.tree_util.tree_leaves(final)
        ),
        "single_losses": [row["loss"] for row in single.history],
        "sharded_losses": [row["loss"] for row in sharded.history],
        "errors": errors,
    }
    (out / "report.json").write_text(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def eight_devices(tmp_path_factory):
    """Runs ``SCRIPT`` on 8 virtual CPU devices once; the folder with its outputs."""
    out = tmp_path_factory.mktemp("parallel")
    script = out / "run_data_parallel.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "").split()
    flags = [f for f in flags if not f.startswith("--xla_force_host_platform_device_count")]
    env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={NUM_DEVICES}"])
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(script), str(out)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"the 8-device script failed ({result.returncode}):\n{result.stderr[-4000:]}")
    report = json.loads((out / "report.json").read_text())
    return out, report


def _load(path):
    with np.load(path) as arrays:
        return {k: arrays[k] for k in arrays.files}


def test_the_subprocess_has_eight_devices(eight_devices):
    _, report = eight_devices
    assert report["device_count"] == NUM_DEVICES
    assert report["mesh_shape"] == {parallel.DATA_AXIS: NUM_DEVICES}


def test_fit_shards_the_batch_over_eight_devices(eight_devices):
    _, report = eight_devices
    assert len(report["seen"]) == 6  # every step
    for seen in report["seen"]:
        assert seen["spec"] == [parallel.DATA_AXIS]
        assert seen["num_shards"] == NUM_DEVICES
        assert seen["shard_devices"] == NUM_DEVICES
        assert seen["shard_shapes"] == [[16 // NUM_DEVICES, 5, 3]]


def test_fit_replicates_the_state(eight_devices):
    _, report = eight_devices
    assert all(seen["state_replicated"] for seen in report["seen"])
    assert report["final_params_replicated"]


def test_sharded_training_matches_single_device(eight_devices):
    out, report = eight_devices
    single, sharded = _load(out / "single.npz"), _load(out / "sharded.npz")
    assert single.keys() == sharded.keys()
    # The gradient all-reduce sums in another order than the single-device mean: equal
    # within the float32 row of the tolerance table, not bit for bit.
    tol = tolerance(jnp.float32)
    for name in single:
        np.testing.assert_allclose(sharded[name], single[name], **tol, err_msg=name)
    np.testing.assert_allclose(report["sharded_losses"], report["single_losses"], **tol)
    max_abs = max(float(np.max(np.abs(sharded[k] - single[k]))) for k in single)
    print(f"sharded vs single-device: max |difference| of the parameters = {max_abs:.3g}")


def test_resuming_under_the_mesh_is_bit_identical(eight_devices):
    out, _ = eight_devices
    sharded, resumed = _load(out / "sharded.npz"), _load(out / "resumed.npz")
    assert sharded.keys() == resumed.keys()
    for name in sharded:
        np.testing.assert_array_equal(resumed[name], sharded[name], err_msg=name)


def test_shard_batch_rejects_a_batch_not_divisible_by_the_devices(eight_devices):
    _, report = eight_devices
    assert set(report["errors"]) == {"batch_12", "scalar"}
    assert "divisible by the 8 local devices" in report["errors"]["batch_12"]
    assert "(12, 5, 3)" in report["errors"]["batch_12"]


def test_one_device_mesh_in_process():
    mesh = parallel.data_mesh(jax.devices()[:1])
    batch = parallel.shard_batch({"x": np.arange(6.0).reshape(3, 2)}, mesh)
    np.testing.assert_array_equal(batch["x"], np.arange(6.0).reshape(3, 2))
    assert batch["x"].sharding.spec == jax.sharding.PartitionSpec(parallel.DATA_AXIS)
    with pytest.raises(ValueError, match="leading batch axis"):
        parallel.shard_batch({"x": np.float32(1.0)}, mesh)
    params = parallel.replicate({"w": jnp.ones(3)}, mesh)
    assert params["w"].sharding.is_fully_replicated


def test_local_batch_cuts_equal_blocks():
    batch = {"x": np.arange(12).reshape(6, 2), "y": np.arange(6)}
    blocks = [parallel.local_batch(batch, process_index=r, process_count=3) for r in range(3)]
    np.testing.assert_array_equal(np.concatenate([b["x"] for b in blocks]), batch["x"])
    np.testing.assert_array_equal(blocks[2]["y"], [4, 5])
    assert parallel.local_batch(batch)["y"].tolist() == list(range(6))  # one process here
    with pytest.raises(ValueError, match="divisible by process_count=4"):
        parallel.local_batch(batch, process_index=0, process_count=4)
    with pytest.raises(ValueError, match="one leading batch size"):
        parallel.local_batch({"x": np.zeros(4), "y": np.zeros(6)}, 0, 2)
    with pytest.raises(ValueError, match="process_index"):
        parallel.local_batch(batch, process_index=-1, process_count=2)
    with pytest.raises(TypeError, match="integer `process_count`"):
        parallel.local_batch(batch, process_index=0, process_count=2.0)
