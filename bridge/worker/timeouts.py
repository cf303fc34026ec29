"""Per-job time limits: a soft SIGALRM interrupt and a hard watchdog.

Soft limit: in the main thread, `setitimer(ITIMER_REAL)` arms SIGALRM for the job's timeout and
the signal handler raises `JobTimeoutInterrupt` inside the handler. It is a `BaseException`, so
`except Exception:` in user code cannot swallow it; `JobTimer.fired` records that the alarm
went off even if user code caught it anyway.

The alarm is not set and cleared around every job: two system calls per job were a large
share of a trivial job's cost. Each job records its own deadline; an alarm still pending from
an earlier job is left alone when it goes off no later than that deadline, and when it goes
off while a job runs whose deadline is later, the handler sets it again for the time left.
An alarm that goes off between jobs does nothing. `rest` clears a pending alarm before the
worker idles.

Where the interpreter itself would drop the interrupt (the alarm going off during a garbage
collection, whose finalisers, weakref callbacks and `gc.callbacks` drop exceptions, or in a
`__del__` method), the handler sets the alarm again a millisecond later instead of raising.

Hard limit: Python runs signal handlers only between bytecodes, so a handler stuck in C code
(or one that swallows the interrupt and carries on) never sees it. A watchdog thread waits
`grace_seconds` past the deadline and then calls the worker's `on_hard_timeout` callback, which
records the outcome and ends the process, as Laravel's worker kills itself on a timeout, so a
supervisor starts a fresh one.

Outside the main thread there is no SIGALRM: only the hard limit applies.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from bridge._forks import generation
from bridge.exceptions import JobTimeoutInterrupt

__all__ = ["DEFAULT_GRACE_SECONDS", "MAX_TIMEOUT_SECONDS", "JobTimer"]

#: Seconds the watchdog waits after the soft deadline before ending the process.
DEFAULT_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.25
# A re-armed alarm never gets 0, which would clear it instead.
_MIN_ALARM_SECONDS = 1e-5
# When the alarm lands where an exception would be dropped: how soon it goes off again.
_RETRY_ALARM_SECONDS = 0.001
# Longer limits (a payload may say `1e400`) are cut to this: `setitimer` refuses times past
# the platform's time_t, and a limit of three years is no limit to any job.
MAX_TIMEOUT_SECONDS = 1e8

T = TypeVar("T")


def _swallows_exceptions(frame: FrameType | None) -> bool:
    """Whether an exception raised in `frame` would be dropped by the interpreter rather than
    reach the job's code: inside a `__del__` method or a garbage-collector callback
    (`gc.callbacks`, which a library such as Hypothesis may install)."""
    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code in callbacks:
            return True
        frame = frame.f_back
    return False


class _Watchdog(threading.Thread):
    """One long-lived daemon thread that polls the current deadline.

    Arming and disarming only store a deadline (one writer, one reader, no lock): waking the
    thread for every job would cost a context switch per job. The thread looks at least once
    every `_POLL_SECONDS`, so a hard timeout strikes at most that late. `stop` ends it (a
    process that runs several workers one after the other must not collect threads).
    """

    def __init__(self, on_expiry: Callable[[], None]) -> None:
        super().__init__(name="bridge-job-watchdog", daemon=True)
        self._on_expiry = on_expiry
        self._deadline: float | None = None
        self._stopping = threading.Event()

    def stop(self) -> None:
        """End the thread and wait for it (unless called from the thread itself)."""
        self._stopping.set()
        if threading.current_thread() is not self and self.is_alive():
            self.join()

    def arm(self, deadline: float) -> None:
        self._deadline = deadline

    def disarm(self) -> None:
        self._deadline = None

    def run(self) -> None:
        # The deadline already acted on: the thread never writes `_deadline`, so a job armed
        # meanwhile keeps its own.
        struck: float | None = None
        stopping = self._stopping
        while not stopping.is_set():
            deadline = self._deadline
            if deadline is not None and deadline != struck and deadline <= time.monotonic():
                struck = deadline
                self._on_expiry()
                continue
            wait = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
            stopping.wait(min(max(wait, 0.001), _POLL_SECONDS))


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
        # Monotonic deadline of the running job's soft limit.
        self._deadline = 0.0
        # When the pending ITIMER_REAL alarm goes off (monotonic), None when none is pending;
        # `_alarm_generation` is the fork generation that set it (a child has no timer).
        self._alarm_at: float | None = None
        self._alarm_generation = 0
        self.fired = False
        # The SIGALRM handler stays installed between jobs (swapping it per job cost more
        # than the rest of the timer); `close` puts the previous one back.
        self._installed = False
        self._previous_handler: object = None
        self._collecting = False

    @staticmethod
    def _in_main_thread() -> bool:
        return threading.current_thread() is threading.main_thread()

    def _set_alarm(self, seconds: float, at: float) -> None:
        self._alarm_at = at
        self._alarm_generation = generation()
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        self._alarm_at = None
        if not self._armed:
            return
        left = self._deadline - time.monotonic()
        if left > 0:
            # Set for an earlier job: this one may run until its own deadline.
            self._set_alarm(max(left, _MIN_ALARM_SECONDS), self._deadline)
            return
        if self._collecting or _swallows_exceptions(frame):
            # Raised here, the interrupt would be printed and dropped ("Exception ignored
            # in ..."), and the job would run on to the hard limit: try again a moment later.
            self._set_alarm(_RETRY_ALARM_SECONDS, self._deadline)
            return
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
        if not seconds <= MAX_TIMEOUT_SECONDS:  # also NaN
            seconds = MAX_TIMEOUT_SECONDS
        use_signal = self._in_main_thread()
        if use_signal and not self._installed:
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            # First in the list: the flag is up before any other callback of a collection
            # runs (a callback's own frame is recognised in any case).
            gc.callbacks.insert(0, self._on_gc)
            self._installed = True
        watchdog = self._watchdog
        if watchdog is None:
            watchdog = self._watchdog = _Watchdog(self._on_hard_timeout)
            watchdog.start()
        now = time.monotonic()
        deadline = now + seconds
        watchdog.arm(deadline + self._grace_seconds)
        # Deadline and flag first: a pending alarm that goes off from here on re-arms itself
        # for this job rather than being dropped as one between jobs.
        self._deadline = deadline
        self._armed = True
        try:
            if use_signal:
                alarm_at = self._alarm_at
                if (
                    alarm_at is None
                    or alarm_at > deadline
                    # Overdue: it went off unseen, was cleared by someone else, or was set
                    # before a fork.
                    or alarm_at <= now
                    or self._alarm_generation != generation()
                ):
                    self._set_alarm(seconds, deadline)
            return func()
        finally:
            self._armed = False
            watchdog.disarm()

    def rest(self) -> None:
        """Clear a pending alarm left from the last job (before the worker idles)."""
        if self._alarm_at is not None and self._in_main_thread():
            self._alarm_at = None
            if self._alarm_generation == generation():
                signal.setitimer(signal.ITIMER_REAL, 0)

    def close(self) -> None:
        """Clear a pending alarm, put back the SIGALRM handler there before the first job and
        stop the watchdog thread (a later `run` starts a new one)."""
        self.rest()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stop()
        if self._installed and self._in_main_thread():
            signal.signal(signal.SIGALRM, self._previous_handler)  # type: ignore[arg-type]
            if self._on_gc in gc.callbacks:
                gc.callbacks.remove(self._on_gc)
            self._installed = False
            self._previous_handler = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        # A collection runs finalisers and weakref callbacks, where an exception is dropped.
        self._collecting = phase == "start"
