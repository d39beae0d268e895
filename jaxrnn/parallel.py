"""Data parallelism with ``jax.sharding``: batch sharded over a mesh, parameters replicated.

With the batch's leading axis sharded over the devices of a ``Mesh`` and the train
state replicated, ``jax.jit`` compiles the unchanged train step as an SPMD program: each
device computes the loss and gradients of its shard and XLA inserts the all-reduce that
a mean over the global batch implies. No ``pmap``, no code change in the model.

Multi-host: call ``jax.distributed.initialize()`` at the start of every process (on
Cloud TPU and SLURM it finds its peers itself; otherwise pass ``coordinator_address``,
``num_processes`` and ``process_id``). ``data_mesh()`` then spans every device of every
host, and each process passes its *own* slice of the global batch to ``shard_batch``,
which assembles the global array with ``jax.make_array_from_process_local_data``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def data_mesh(devices: Any = None, axis: str = DATA_AXIS) -> Mesh:
    """A one-axis mesh over ``devices`` (default: every device of every process).

    Args:
      devices: a sequence of devices; None for ``jax.devices()``.
      axis: the mesh axis name.

    Returns:
      The mesh.
    """
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (axis,))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Places every leaf of ``tree`` on every device of ``mesh``.

    Args:
      tree: a pytree of arrays (e.g. a ``TrainState``).
      mesh: the mesh.

    Returns:
      The replicated tree.
    """
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(batch: Any, mesh: Mesh, axis: str | None = None) -> Any:
    """Shards the leading (batch) axis of every leaf over the mesh's ``axis``.

    In a multi-process run each process passes its local part of the batch; the
    result is the global array.

    Args:
      batch: a pytree of arrays ``(b_local, ...)``.
      mesh: the mesh.
      axis: the mesh axis (default: its first).

    Returns:
      The sharded global batch.

    Raises:
      ValueError: a local batch size not divisible by the local device count.
    """
    axis = mesh.axis_names[0] if axis is None else axis
    sharding = NamedSharding(mesh, PartitionSpec(axis))
    local = len(mesh.local_devices)

    def put(leaf):
        leaf = np.asarray(leaf)
        if leaf.ndim == 0 or leaf.shape[0] % local:
            raise ValueError(
                f"shard_batch: expected leaves with a leading batch axis divisible by the "
                f"{local} local devices, got shape {leaf.shape}"
            )
        return jax.make_array_from_process_local_data(sharding, leaf)

    return jax.tree_util.tree_map(put, batch)


__all__ = ["DATA_AXIS", "data_mesh", "replicate", "shard_batch"]
