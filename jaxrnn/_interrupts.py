"""Ctrl-C at step boundaries: an interrupt never lands inside a save, a gc callback or XLA.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT
arrives: inside orbax's commit of a checkpoint (the save is lost and the manager broken),
inside a garbage-collector callback (Python reports it as "Exception ignored" and the
interrupt is lost), inside jax's dispatch. ``fit`` instead holds the signal while it
trains (``held``): the handler only records it, ``fit`` raises ``KeyboardInterrupt``
after the step in flight and saves that step; a save in progress completes first
(``critical``). A second Ctrl-C outside a save raises at once, for a step that hangs.

Signals reach only the main thread, and only Python's default SIGINT handler is
replaced: elsewhere, or under a handler of the user's own, everything runs as it is.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class _Held:
    """The state of a ``held`` block: the interrupts received and the open saves."""

    def __init__(self) -> None:
        self.received = 0
        self.critical = 0

    def handle(self, signum, frame) -> None:
        del signum, frame
        self.received += 1
        if self.received > 1 and not self.critical:
            raise KeyboardInterrupt  # asked twice: the step may be stuck

    def check(self) -> None:
        """Raises ``KeyboardInterrupt`` if an interrupt arrived (once)."""
        if self.received:
            self.received = 0
            raise KeyboardInterrupt


class _NotHeld:
    """Stands in for ``_Held`` where nothing can be held (another thread or handler)."""

    critical = 0

    def check(self) -> None:
        return None


_current: _Held | None = None


def _can_hold() -> bool:
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


@contextlib.contextmanager
def held() -> Iterator[_Held | _NotHeld]:
    """Records SIGINT instead of raising; ``.check()`` raises it where it is safe.

    An interrupt still pending when the block ends is raised then.

    Yields:
      An object whose ``check()`` raises ``KeyboardInterrupt`` if one arrived.
    """
    global _current
    if not _can_hold():
        # Inside the main thread's own held block: join it (a save within fit). Any other
        # thread gets nothing: the main thread's interrupts are not its own.
        main = threading.current_thread() is threading.main_thread()
        yield _current if main and _current is not None else _NotHeld()
        return
    state, previous = _Held(), _current
    signal.signal(signal.SIGINT, state.handle)
    _current = state
    try:
        yield state
    finally:
        _current = previous
        signal.signal(signal.SIGINT, signal.default_int_handler)
    state.check()


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A block that no interrupt breaks (a checkpoint save): raised after it, if any."""
    with held() as state:
        if isinstance(state, _Held):
            state.critical += 1
            try:
                yield
            finally:
                state.critical -= 1
        else:
            yield


__all__ = ["critical", "held"]
