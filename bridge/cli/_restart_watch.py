"""Stop a `bridge work` process when the queue restart signal changes, as Laravel's worker
does after `php artisan queue:restart` (or `bridge restart`).

Laravel's worker reads the signal between jobs; here a thread reads it once a second and
asks the worker to stop, which finishes the current job first. The value seen at start is
read before the worker announces itself, so a signal sent after the start line always
counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.cli._context import CliContext
from bridge.cli._restart_signal import RestartSignal

__all__ = ["RestartWatch"]

#: Seconds between two reads of the signal.
POLL_SECONDS = 1.0


class RestartWatch:
    """Reads the restart signal of the context's cache store, and watches it for a change."""

    def __init__(self, ctx: CliContext) -> None:
        self._signal = RestartSignal(ctx)
        self._done = threading.Event()
        self._initial: tuple[int | None, ...] | None
        try:
            self._initial = self._read()
        except Exception:  # the database is not reachable yet: the worker reports that,
            self._initial = None  # and the first good read sets the baseline

    def _read(self) -> tuple[int | None, ...]:
        return self._signal.read()

    def start(self, stop: Callable[[], None]) -> None:
        """Call `stop` once the signal differs from the one seen at start."""
        thread = threading.Thread(target=self._watch, args=(stop,), daemon=True, name="restart")
        thread.start()

    def close(self) -> None:
        """Stop watching."""
        self._done.set()
        self._signal.close()

    def _watch(self, stop: Callable[[], None]) -> None:
        while not self._done.wait(POLL_SECONDS):
            try:
                current = self._read()
            except Exception:  # a storage hiccup: the worker reports those
                continue
            if self._initial is None:
                self._initial = current
            elif current != self._initial:
                logging.getLogger("bridge.worker").info(
                    "Restart signal received (queue:restart or bridge restart): stopping "
                    "after the current job",
                    extra={"bridge": {"event": "restart_signal"}},
                )
                stop()
                return
