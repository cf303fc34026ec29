"""Per-job time limits: a soft SIGALRM interrupt and a hard watchdog.

Soft limit: in the main thread, `setitimer(ITIMER_REAL)` arms SIGALRM for the job's timeout and
the signal handler raises `JobTimeoutInterrupt` inside the handler. It is a `BaseException`, so
`except Exception:` in user code cannot swallow it; `JobTimer.fired` records that the alarm
went off even if user code caught it anyway.

Hard limit: Python runs signal handlers only between bytecodes, so a handler stuck in C code
(or one that swallows the interrupt and carries on) never sees it. A watchdog thread waits
`grace_seconds` past the deadline and then calls the worker's `on_hard_timeout` callback, which
records the outcome and ends the process, as Laravel's worker kills itself on a timeout, so a
supervisor starts a fresh one.

Outside the main thread there is no SIGALRM: only the hard limit applies.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from bridge.exceptions import JobTimeoutInterrupt

__all__ = ["DEFAULT_GRACE_SECONDS", "JobTimer"]

#: Seconds the watchdog waits after the soft deadline before ending the process.
DEFAULT_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.25

T = TypeVar("T")


class _Watchdog(threading.Thread):
    """One long-lived daemon thread that polls the current deadline.

    Arming and disarming only store a deadline under an uncontended lock: waking the thread
    for every job would cost a context switch per job. The thread looks at least once every
    `_POLL_SECONDS`, so a hard timeout strikes at most that late.
    """

    def __init__(self, on_expiry: Callable[[], None]) -> None:
        super().__init__(name="bridge-job-watchdog", daemon=True)
        self._on_expiry = on_expiry
        self._lock = threading.Lock()
        self._deadline: float | None = None

    def arm(self, seconds: float) -> None:
        with self._lock:
            self._deadline = time.monotonic() + seconds

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def run(self) -> None:
        while True:
            with self._lock:
                deadline = self._deadline
                expired = deadline is not None and deadline <= time.monotonic()
                if expired:
                    self._deadline = None
            if expired:
                self._on_expiry()
                continue
            wait = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
            time.sleep(min(max(wait, 0.001), _POLL_SECONDS))


class JobTimer:
    """Runs callables under a soft (signal) and a hard (watchdog) time limit."""

    def __init__(
        self,
        *,
        on_hard_timeout: Callable[[], None],
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ) -> None:
        """Create a timer.

        Args:
            on_hard_timeout: Called from the watchdog thread when a job overran its limit by
                `grace_seconds`; it should record the outcome and end the process.
            grace_seconds: How long past the soft limit the hard limit strikes.
        """
        self._on_hard_timeout = on_hard_timeout
        self._grace_seconds = grace_seconds
        self._watchdog: _Watchdog | None = None
        self._armed = False
        self.fired = False
        # The SIGALRM handler stays installed between jobs (swapping it per job cost more
        # than the rest of the timer); `close` puts the previous one back.
        self._installed = False
        self._previous_handler: object = None

    @staticmethod
    def _in_main_thread() -> bool:
        return threading.current_thread() is threading.main_thread()

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self.fired = True
            raise JobTimeoutInterrupt()

    def run(self, func: Callable[[], T], seconds: float) -> T:
        """Call `func` with a limit of `seconds` (0 = none) and return its result.

        Raises:
            JobTimeoutInterrupt: The soft limit struck inside `func`.
        """
        self.fired = False
        if seconds <= 0:
            return func()
        use_signal = self._in_main_thread()
        if use_signal and not self._installed:
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            self._installed = True
        if self._watchdog is None:
            self._watchdog = _Watchdog(self._on_hard_timeout)
            self._watchdog.start()
        self._watchdog.arm(seconds + self._grace_seconds)
        self._armed = True
        try:
            if use_signal:
                signal.setitimer(signal.ITIMER_REAL, seconds)
            return func()
        finally:
            self._armed = False
            if use_signal:
                signal.setitimer(signal.ITIMER_REAL, 0)
            self._watchdog.disarm()

    def close(self) -> None:
        """Put back the SIGALRM handler that was there before the first timed job."""
        if self._installed and self._in_main_thread():
            signal.signal(signal.SIGALRM, self._previous_handler)  # type: ignore[arg-type]
            self._installed = False
            self._previous_handler = None
