"""The worker's stop request: safe to make from a signal handler, even twice at once.

`threading.Event.set` takes the event's lock. A signal handler runs in the main thread
between any two bytecodes, also while that thread holds the lock (inside `Event.wait`'s
bookkeeping, or inside the `set` of a first signal when a second one arrives: a terminal's
Ctrl-C or systemd's stop reaches the whole process group, and the pool forwards the same
signal once more), and a handler waiting for a lock its own thread holds waits forever.
Here the request is a plain flag, and the sleeper waits on a lock that a stop *releases*,
which never waits for anything.
"""

from __future__ import annotations

import threading

__all__ = ["StopRequest"]


class StopRequest:
    """A one-way flag with a sleep that a request cuts short."""

    def __init__(self) -> None:
        self._requested = False
        # Held while no stop is requested; released (for good) by the first request.
        self._wake = threading.Lock()
        self._wake.acquire()

    def set(self) -> None:
        """Request the stop (from any thread, or a signal handler)."""
        self._requested = True
        self._release()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._requested

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, less if a stop is requested; whether one was."""
        if not self._requested and self._wake.acquire(timeout=max(0.0, timeout)):
            self._release()  # left released: every later wait returns at once
        return self._requested

    def _release(self) -> None:
        try:
            self._wake.release()
        except RuntimeError:
            pass  # a request (a signal, between the acquire and here) released it already
