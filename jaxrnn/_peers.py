"""One process's failure ends every process of a multi-process run, with its error shown.

In a multi-process JAX program the processes meet in every collective: an all-reduce of
the gradients, the barrier of a checkpoint save. When one process raises (its batch
function fails, it is interrupted) the others wait in the next collective forever, and
the failing one waits in its own next barrier (the save that would keep its last step,
``jax.distributed.shutdown`` at exit). Nobody prints anything.

``PeerWatch`` is the way out that ``fit`` uses. While it is active, a daemon thread in
every process polls a key in the coordination service's key-value store (the service
that ``jax.distributed.initialize`` starts). A failing process publishes its error under
that key (``fail``) and meets the others at a barrier; each watcher prints the error it
read, meets the barrier, shuts the distributed runtime down with the failing process
(so that neither waits in ``shutdown`` for a peer that is gone) and ends its process with
status 1 (its main thread is blocked inside a collective and cannot be raised into).
The failing process then re-raises its own error. Every process ends within a few
seconds, and only the finished checkpoints stay (no collective save is attempted).

A process killed without a chance to publish (``kill -9``, a machine lost) is detected by
the coordination service's heartbeat instead: jax ends the others after
``heartbeat_timeout_seconds`` (an argument of ``jax.distributed.initialize``, 100 s by
default).
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import traceback

import jax
from jax._src import distributed

_POLL_MS = 500
_BARRIER_MS = 10_000  # a peer that already left fit never arrives
_runs = itertools.count()


def _client():
    return distributed.global_state.client


class PeerWatch:
    """Context manager: while active, a failure published by any process ends this one.

    Every process must enter the same sequence of watches (``fit`` enters one per call):
    the ``n``-th watch of each process shares the key ``jaxrnn/watch/<n>``. Inactive (no
    thread, ``fail`` does nothing) in a single-process run.

    Args:
      label: names the watched work in the messages (e.g. ``"fit"``).
    """

    def __init__(self, label: str):
        self.label = label
        self.active = jax.process_count() > 1 and _client() is not None
        self._key = f"jaxrnn/watch/{next(_runs)}"
        self._stop = threading.Event()
        self._claimed = threading.Lock()  # one of the thread and `fail` handles a failure
        self._thread = None
        self.failed = False  # `fail` ran: the distributed runtime is shut down

    def __enter__(self) -> PeerWatch:
        if self.active:
            self._thread = threading.Thread(
                target=self._watch, name=f"jaxrnn-{self.label}-watch", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        client = _client()
        me = jax.process_index()
        while not self._stop.is_set():
            try:
                message = client.blocking_key_value_get(self._key, _POLL_MS)
            except Exception:  # not set yet (DEADLINE_EXCEEDED), or the service is gone
                self._stop.wait(0.05)  # no busy loop when the call fails at once
                continue
            if self._stop.is_set() or not self._claimed.acquire(blocking=False):
                return  # this process is failing itself, or the watch is over
            print(
                f"jaxrnn.{self.label}: process {me} stops because {message}",
                file=sys.stderr,
                flush=True,
            )
            self._end_together(client)
            os._exit(1)

    def _end_together(self, client) -> None:
        try:
            client.wait_at_barrier(self._key + "/ending", _BARRIER_MS)
        except Exception as err:  # a peer already gone: end anyway
            print(f"jaxrnn.{self.label}: {err}", file=sys.stderr, flush=True)
        try:
            jax.distributed.shutdown()
        except Exception as err:
            print(f"jaxrnn.{self.label}: {err}", file=sys.stderr, flush=True)

    def fail(self, error: BaseException, step: int) -> None:
        """Publishes ``error`` (raised in this process at ``step``) and ends the run.

        Returns once every process has seen the error and the distributed runtime is shut
        down (or after 10 s, when a peer had already finished its ``fit``); the caller
        then re-raises. Does nothing in a single-process run, and
        blocks forever if this process's watcher is already ending it for a peer's error.

        Args:
          error: the exception.
          step: the step at which it was raised.
        """
        if not self.active:
            return
        self.failed = True
        self._stop.set()
        if not self._claimed.acquire(blocking=False):
            threading.Event().wait()  # the watcher thread is ending this process
        client = _client()
        message = (
            f"process {jax.process_index()} of {jax.process_count()} failed at step {step}: "
            + "".join(traceback.format_exception_only(type(error), error)).strip()
        )
        try:
            client.key_value_set(self._key, message)
        except Exception:  # another process published first (ALREADY_EXISTS)
            pass
        print(
            f"jaxrnn.{self.label}: {message}; stopping every process", file=sys.stderr, flush=True
        )
        self._end_together(client)


def preempted(step: int) -> bool:
    """Whether every process has reached the step agreed after a preemption notice.

    jax's preemption service (started by ``jax.distributed.initialize``) catches SIGTERM
    in any process and agrees on a step that all of them reach; this is
    ``jax.experimental.multihost_utils.reached_preemption_sync_point``, False in a
    single-process run or without the service. It must be called at every step, from
    the same first step, in every process.

    Args:
      step: the step just finished.

    Returns:
      True at the agreed step.
    """
    if _client() is None or distributed.global_state.preemption_sync_manager is None:
        return False
    from jax.experimental import multihost_utils

    return multihost_utils.reached_preemption_sync_point(step)


__all__ = ["PeerWatch", "preempted"]
