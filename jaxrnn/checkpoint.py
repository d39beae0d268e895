"""Checkpoints with orbax: atomic saves, the last k kept, clear errors, pretrained starts.

``Checkpointer`` wraps ``orbax.checkpoint.CheckpointManager``: a save is written to a
temporary directory and renamed when complete, so a crash never leaves a half-written
checkpoint under a step's name, and older checkpoints are only deleted after a newer
one is complete. Restoring a missing or unreadable checkpoint raises ``CheckpointError``
naming the directory and the steps that are there; nothing is overwritten.

``restore_params`` starts a model from a saved checkpoint: the whole parameter tree or
a subset (e.g. only an encoder), with shape mismatches reported by path.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import flax.traverse_util
import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxrnn import _interrupts


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or does not fit the target."""


class Checkpointer:
    """Saves and restores pytrees (e.g. a ``TrainState``) by step.

    Examples:
      >>> import tempfile, jax.numpy as jnp
      >>> directory = tempfile.mkdtemp()
      >>> ckpt = Checkpointer(directory, max_to_keep=2)
      >>> ckpt.save(10, {"w": jnp.ones(3)})
      >>> ckpt.restore({"w": jnp.zeros(3)})["w"].tolist()
      [1.0, 1.0, 1.0]
      >>> ckpt.close()

    Args:
      directory: where the checkpoints live (created if needed).
      max_to_keep: how many of the latest checkpoints to keep (None: all).
    """

    def __init__(
        self, directory: str | pathlib.Path, max_to_keep: int | None = 3, *, create: bool = True
    ):
        if max_to_keep is not None and (
            isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1
        ):
            raise ValueError(f"Checkpointer: expected `max_to_keep` >= 1, got {max_to_keep!r}")
        self.directory = pathlib.Path(directory).absolute()
        if self.directory.exists() and not self.directory.is_dir():
            raise CheckpointError(
                f"Checkpointer: expected `directory` to be a directory, got the file "
                f"{self.directory}"
            )
        if not create and not self.directory.is_dir():
            raise CheckpointError(f"no checkpoint directory {self.directory}")
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create)
        # The handler named up front lets the manager read a step's metadata (shapes and
        # dtypes) before anything is restored: restore_raw builds its target from it.
        self._manager = ocp.CheckpointManager(
            self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
        )

    def all_steps(self) -> list[int]:
        """The steps with a complete checkpoint, ascending."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """The latest complete step, or None."""
        return self._manager.latest_step()

    def save(self, step: int, tree: Any, *, force: bool = False) -> None:
        """Saves ``tree`` as ``step`` (a no-op if that step is already saved).

        A Ctrl-C (SIGINT) that arrives during the save is held until the save is
        complete, then raised as ``KeyboardInterrupt``: an interrupt landing inside
        orbax's commit would otherwise leave only a temporary directory and break the
        manager.

        Args:
          step: the step number.
          tree: a pytree of arrays.
          force: save even if the step is not on the manager's interval.
        """
        if step in self._manager.all_steps():
            return
        with _interrupts.critical():
            self._manager.save(int(step), args=ocp.args.StandardSave(tree), force=force)
            self._manager.wait_until_finished()

    def restore(self, target: Any, step: int | None = None) -> Any:
        """Restores ``step`` (default: the latest) into the structure of ``target``.

        Args:
          target: a pytree with the structure, shapes and dtypes to restore into.
          step: the step; None for the latest.

        Returns:
          The restored pytree.

        Raises:
          CheckpointError: no checkpoint, no such step, or an unreadable one.
        """
        steps = self.all_steps()
        if step is None:
            step = self.latest_step()
            if step is None:
                raise CheckpointError(f"no checkpoint in {self.directory}")
        elif step not in steps:
            raise CheckpointError(
                f"no checkpoint of step {step} in {self.directory}; found {steps}"
            )
        abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
        except Exception as err:  # orbax/tensorstore raise many types for a bad file
            raise CheckpointError(
                f"checkpoint of step {step} in {self.directory} cannot be read "
                f"({type(err).__name__}: {err}); it was left as it is, and so were the "
                f"others ({steps})"
            ) from err

    def restore_raw(self, step: int | None = None) -> Any:
        """Restores ``step`` (default: the latest) as saved, as NumPy arrays.

        Whatever topology wrote it: a checkpoint of a multi-process run (its arrays
        sharded or replicated over devices this process does not have) is read whole
        into this process, from the shapes and dtypes in its metadata.

        Args:
          step: the step; None for the latest.

        Returns:
          The saved tree (nested dicts of arrays).
        """
        if step is None and self.latest_step() is None:
            raise CheckpointError(f"no checkpoint in {self.directory}")
        step = self.latest_step() if step is None else step
        if step not in self.all_steps():
            raise CheckpointError(
                f"no checkpoint of step {step} in {self.directory}; found {self.all_steps()}"
            )
        try:
            metadata = self._manager.item_metadata(step)
            device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

            def whole(leaf):
                if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
                    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device)
                return leaf

            abstract = jax.tree_util.tree_map(whole, metadata)
            restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
            return jax.device_get(restored)
        except Exception as err:
            raise CheckpointError(
                f"checkpoint of step {step} in {self.directory} cannot be read "
                f"({type(err).__name__}: {err})"
            ) from err

    def close(self) -> None:
        """Waits for pending saves and releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()


def _params_of(tree: Any) -> Any:
    """The parameter tree inside a restored ``TrainState`` or variables dict."""
    if isinstance(tree, Mapping):
        if "params" in tree:
            return _params_of(tree["params"])
        return tree
    if hasattr(tree, "params"):
        return _params_of(tree.params)
    raise CheckpointError(f"cannot find parameters in a checkpoint of type {type(tree).__name__}")


def restore_params(
    source: str | pathlib.Path | Checkpointer,
    params: Any,
    *,
    subtrees: Sequence[str] | None = None,
    step: int | None = None,
) -> Any:
    """Pretrained initialisation: ``params`` with (some of) its leaves from a checkpoint.

    The checkpoint may hold a ``TrainState``, a variables dict (``{"params": ...}``) or a
    bare parameter tree. Paths are ``/``-joined keys, e.g. ``"encoder"`` or
    ``"layer0/cell/kernel"``; a subtree path takes every leaf below it.

    Examples:
      ``restore_params("runs/pretrain/ckpt", fresh_params, subtrees=["encoder"])``
      keeps the fresh decoder and loads the encoder.

    Args:
      source: a checkpoint directory or a ``Checkpointer``.
      params: the freshly initialised parameters (the target structure), or a variables
        dict ``{"params": ...}``.
      subtrees: paths to load; None loads every leaf of ``params``.
      step: the checkpoint step; None for the latest.

    Returns:
      A new parameter tree.

    Raises:
      CheckpointError: a requested path missing from the checkpoint or the target, or
        shapes that differ (the message names the path and both shapes).
    """
    if isinstance(params, Mapping) and set(params) == {"params"}:
        # A variables dict: restore inside it and keep the wrapper.
        return {"params": restore_params(source, params["params"], subtrees=subtrees, step=step)}
    if isinstance(source, Checkpointer):
        ckpt = source
    else:  # reading only: a mistyped path must not leave an empty directory behind
        ckpt = Checkpointer(source, max_to_keep=None, create=False)
    try:
        saved = _params_of(ckpt.restore_raw(step))
    finally:
        if ckpt is not source:
            ckpt.close()
    target = flax.traverse_util.flatten_dict(params, sep="/")
    found = flax.traverse_util.flatten_dict(saved, sep="/")
    if subtrees is None:
        selected = list(target)
    else:
        selected = []
        for prefix in subtrees:
            prefix = prefix.strip("/")
            match = [p for p in target if p == prefix or p.startswith(prefix + "/")]
            if not match:
                raise CheckpointError(
                    f"restore_params: path {prefix!r} is not in the target parameters; "
                    f"top-level keys: {sorted({p.split('/')[0] for p in target})}"
                )
            selected.extend(match)
    out = dict(target)
    for path in selected:
        if path not in found:
            raise CheckpointError(f"restore_params: {path!r} is not in the checkpoint")
        value, want = np.asarray(found[path]), target[path]
        if tuple(value.shape) != tuple(want.shape):
            raise CheckpointError(
                f"restore_params: shape mismatch at {path!r}: checkpoint {tuple(value.shape)}, "
                f"model {tuple(want.shape)}"
            )
        out[path] = jax.numpy.asarray(value, dtype=want.dtype)
    return flax.traverse_util.unflatten_dict(out, sep="/")


__all__ = ["CheckpointError", "Checkpointer", "restore_params"]
