"""Data parallelism with ``jax.sharding``: batch sharded over a mesh, parameters replicated.

With the batch's leading axis sharded over the devices of a ``Mesh`` and the train
state replicated, ``jax.jit`` compiles the unchanged train step as an SPMD program: each
device computes the loss and gradients of its shard and XLA inserts the all-reduce that
a mean over the global batch implies. No ``pmap``, no code change in the model.

Multi-process (several hosts, or several processes on one machine): call
``jax.distributed.initialize(coordinator_address, num_processes, process_id)`` at the
start of every process (on Cloud TPU and SLURM it finds its peers itself, elsewhere the
three arguments are required). ``data_mesh()`` then spans every device of every process,
and each process passes its *own* rows of the global batch (``local_batch``, or
``training.array_batches``, which gives them by default) to ``shard_batch``, which
assembles the global array with ``jax.make_array_from_process_local_data``.
``replicate`` places a state that exists in every process (built from the same key, or
restored from a checkpoint) on the whole mesh.
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

    In a multi-process run every process must hold the same values (the same key, the
    same checkpoint). A leaf this process holds whole (a NumPy array, or a ``jax.Array``
    on this process's devices, e.g. one restored on one device) is assembled from the
    host copy, since ``jax.device_put`` cannot move data across processes; a leaf that
    already spans the processes is resharded by ``jax.device_put``.

    Args:
      tree: a pytree of arrays (e.g. a ``TrainState``).
      mesh: the mesh.

    Returns:
      The replicated tree.
    """
    sharding = NamedSharding(mesh, PartitionSpec())
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(leaf):
        if isinstance(leaf, jax.Array):
            if leaf.sharding == sharding:
                return leaf
            if not leaf.is_fully_addressable:
                return jax.device_put(leaf, sharding)
        return jax.make_array_from_process_local_data(sharding, np.asarray(leaf))

    return jax.tree_util.tree_map(put, tree)


def local_batch(
    batch: Any, process_index: int | None = None, process_count: int | None = None
) -> Any:
    """This process's rows of a global batch: the ``process_index``-th of equal blocks.

    ``shard_batch`` assembles the global batch from every process's local rows, so in a
    multi-process run each process must pass only its own; passing the whole global
    batch in every process would train on a batch ``process_count`` times larger.

    Examples:
      >>> import numpy as np
      >>> local_batch({"x": np.arange(8)}, process_index=1, process_count=4)["x"].tolist()
      [2, 3]

    Args:
      batch: a pytree of arrays ``(b, ...)`` with the same ``b``: the global batch.
      process_index: this process (default ``jax.process_index()``).
      process_count: the number of processes (default ``jax.process_count()``).

    Returns:
      The pytree of ``(b // process_count, ...)`` rows.

    Raises:
      ValueError: ``b`` not divisible by ``process_count``, leaves of different ``b``,
        or an index out of range.
      TypeError: a process index or count that is not an integer.
    """
    index, count = process_slot(process_index, process_count, "local_batch")
    leaves = jax.tree_util.tree_leaves(batch)
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes or next(iter(sizes)) % count:
        raise ValueError(
            f"local_batch: expected leaves with one leading batch size divisible by "
            f"process_count={count}, got leading sizes {sorted(sizes, key=str)}"
        )
    rows = next(iter(sizes)) // count
    return jax.tree_util.tree_map(lambda leaf: leaf[index * rows : (index + 1) * rows], batch)


def process_slot(
    process_index: int | None, process_count: int | None, owner: str
) -> tuple[int, int]:
    """``(process_index, process_count)``, each defaulting to jax's, checked.

    Args:
      process_index: an index, or None for ``jax.process_index()``.
      process_count: a count, or None for ``jax.process_count()``.
      owner: the caller's name, for the error message.

    Returns:
      The pair.

    Raises:
      ValueError: not integers with ``0 <= process_index < process_count``.
    """
    count = jax.process_count() if process_count is None else process_count
    index = jax.process_index() if process_index is None else process_index
    for name, value in (("process_index", index), ("process_count", count)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{owner}: expected an integer `{name}`, got {value!r}")
    if not 0 <= index < count:
        raise ValueError(
            f"{owner}: expected 0 <= `process_index` < `process_count`, got "
            f"process_index={index}, process_count={count}"
        )
    return int(index), int(count)


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


__all__ = ["DATA_AXIS", "data_mesh", "local_batch", "process_slot", "replicate", "shard_batch"]
