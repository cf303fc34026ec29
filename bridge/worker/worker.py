"""`Worker`: the iterative run loop over the storage protocols.

Each loop takes the next reserved row (`Reservations`: strict queue priority, prefetch,
read-ahead, handing back), hands it to the processor, then checks the stop conditions in
Laravel's order: signal, memory, empty queue, `max_time`, `max_jobs`. The loop never recurses
and never dies on a job.

Storage errors are logged one line each (no traceback: a database that is down would
otherwise flood the log) and handled by kind:

- The database refuses the configuration (`SchemaError`: a missing table or column;
  `QueueAccessError`: bad credentials, an unknown database): nothing can mend that but the
  operator, so the worker stops at once (`StopReason.STORAGE_UNUSABLE`, exit status 78).
- Anything else (a lost connection, a server restarting, a lock timeout) may pass. A daemon
  worker pauses and goes on: 1 s after the first error, doubled for each further one in a
  row, at most `max_error_sleep_seconds` (10 s); the stop conditions (`max_time`, signals,
  `max_jobs`) are checked after every pause, and no pause runs past `max_time`. A `once` or
  `stop_when_empty` worker, which is asked for an answer rather than to keep watch, gives up
  after `STORAGE_TRIES` errors in a row (`StopReason.STORAGE_DOWN`, exit status 1).

Laravel's worker exits on a lost connection and leaves the restart to its supervisor; a
daemon bridge worker rides the outage out itself, which a supervisor's restart would also do,
and works without one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from bridge._typing import Clock
from bridge.exceptions import QueueAccessError, QueueError, SchemaError
from bridge.laravel.encryption import Encrypter
from bridge.queue import ReservedJob, Stores
from bridge.worker._process import Processor
from bridge.worker._reservations import Reservations
from bridge.worker._settle import Outcome
from bridge.worker._stop import StopRequest
from bridge.worker.app import App
from bridge.worker.counters import ExceptionCounter, InMemoryExceptionCounter
from bridge.worker.logs import LOGGER_NAME
from bridge.worker.options import EXIT_ERROR, STORAGE_TRIES, StopReason, WorkerOptions

__all__ = ["Worker", "rss_bytes"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
# Errors that say the configuration is wrong: retrying cannot help.
_UNUSABLE = (SchemaError, QueueAccessError)
_MEMORY_READING_SECONDS = 0.1


def rss_bytes() -> int:
    """The process's resident set size, from `/proc/self/statm` (0 where unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _unexpected(exc: Exception) -> QueueError:
    error = QueueError(f"unexpected {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


class _MemoryProbe:
    """`rss_bytes` through one file descriptor kept open: opening a /proc file per job is slow.

    A reading is reused for `_MEMORY_READING_SECONDS`: a trivial job takes far less than the
    read itself, and a worker that outgrew its limit then stops at most that much later.
    """

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        try:
            self._fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self._fd = None
        self._read_at = -_MEMORY_READING_SECONDS
        self._reading = 0

    def __call__(self) -> int:
        now = time.monotonic()
        if now - self._read_at < _MEMORY_READING_SECONDS:
            return self._reading
        self._read_at = now
        self._reading = self._read()
        return self._reading

    def _read(self) -> int:
        if self._fd is None:
            return rss_bytes()
        try:
            return int(os.pread(self._fd, 128, 0).split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Worker:
    """Drains the queues with the app's handlers until a stop condition."""

    def __init__(
        self,
        *,
        stores: Stores,
        app: App,
        options: WorkerOptions | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], object] | None = None,
        encrypter: Encrypter | None = None,
        exception_counter: ExceptionCounter | None = None,
        logger: logging.Logger | None = None,
        memory_bytes: Callable[[], int] | None = None,
        exit_process: Callable[[int], Any] = os._exit,
    ) -> None:
        """Create a worker.

        Args:
            stores: The queue and its `failed_jobs` and `job_batches` tables (without the
                last, batch bookkeeping is skipped).
            app: The handlers.
            options: Loop, retry and limit options.
            clock: Current Unix time in seconds.
            sleep: Pauses the loop; by default a wait that a stop signal cuts short (tests
                pass a fake that advances their clock).
            encrypter: Decrypts `ShouldBeEncrypted` commands (from APP_KEY).
            exception_counter: Counts exceptions for `maxExceptions`; a per-process
                in-memory counter by default.
            logger: Where events go; the `bridge.worker` logger by default.
            memory_bytes: Measures the process's memory for `memory_mb` (default: RSS from
                `/proc/self/statm`).
            exit_process: Ends the process after a hard timeout (`os._exit`).
        """
        queue = self._queue = stores.queue
        self._options = options if options is not None else WorkerOptions()
        self._clock = clock
        self._stop_event = StopRequest()
        self._sleep = sleep if sleep is not None else self._stop_event.wait
        self._logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self._memory_bytes = memory_bytes
        self._exit_process = exit_process
        self._processor = Processor(
            stores=stores,
            app=app,
            options=self._options,
            clock=clock,
            encrypter=encrypter,
            counter=exception_counter
            if exception_counter is not None
            else InMemoryExceptionCounter(),
            logger=self._logger,
            on_hard_timeout=self._hard_exit,
            sleep=self._sleep,
        )
        self._reservations = Reservations(queue=queue, options=self._options, logger=self._logger)
        self._jobs_processed = 0
        # Storage errors in a row, and the stop they called for (None: go on).
        self._storage_errors = 0
        self._storage_stop: StopReason | None = None
        self._started = 0.0

    @property
    def options(self) -> WorkerOptions:
        """The options this worker runs with."""
        return self._options

    @property
    def jobs_processed(self) -> int:
        """Jobs processed so far (any outcome)."""
        return self._jobs_processed

    def stop(self) -> None:
        """Ask the worker to stop after the current job (safe from any thread or signal)."""
        self._stop_event.set()

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> StopReason:
        """Process jobs until a stop condition; return why it stopped.

        `StopReason.exit_code` is the process status Laravel would use (12 for memory).
        SIGTERM, SIGINT and SIGQUIT finish the current job and stop (main thread only).
        """
        previous = self._install_signals()
        probe = _MemoryProbe() if self._memory_bytes is None else None
        try:
            reason = self._loop(probe or self._memory_bytes or rss_bytes)
        finally:
            self._reservations.give_back()
            self._processor.close()
            self._restore_signals(previous)
            if probe is not None:
                probe.close()
        self._logger.info(
            "Worker %s stopping: %s",
            self._options.name,
            reason.value,
            extra={
                "bridge": {
                    "event": "stopping",
                    "worker": self._options.name,
                    "reason": reason.value,
                }
            },
        )
        return reason

    def _loop(self, memory_bytes: Callable[[], int]) -> StopReason:
        options = self._options
        started = self._started = self._clock()
        while True:
            if self._stop_event.is_set():
                return StopReason.SIGNAL
            try:
                reserved = self._reservations.next_job(
                    self._clock(), jobs_processed=self._jobs_processed
                )
            except Exception as exc:
                # Storage's errors are QueueErrors; anything else (a driver failing to read a
                # row) is handled like one rather than ending the worker.
                error = exc if isinstance(exc, QueueError) else _unexpected(exc)
                self._storage_trouble("reserving", error)
                # Not `once`'s stop: no job was processed, and a `once` worker that could
                # not reach the queue must not exit 0 (it gives up with STORAGE_DOWN).
                reason = self._stop_reason(started, memory_bytes, processed=False)
                if reason is not None:
                    return reason
                continue
            if reserved is None:
                self._storage_errors = 0
                if options.once:
                    return StopReason.ONCE
                if options.stop_when_empty:
                    return StopReason.EMPTY
                self._processor.rest()
                self._sleep(options.sleep_seconds)
            else:
                self._process(reserved)
                if options.rest_seconds > 0:
                    self._sleep(options.rest_seconds)
            reason = self._stop_reason(started, memory_bytes)
            if reason is not None:
                return reason

    def _process(self, reserved: ReservedJob) -> None:
        began = time.perf_counter()
        try:
            outcome = self._processor.process(reserved)
        except QueueError as exc:
            self._storage_trouble("bookkeeping", exc)
            outcome = None
        except Exception:
            # A bug in bridge or in a failed hook must not end the worker.
            self._logger.exception("Unexpected error while processing job %s", reserved.id)
            outcome = None
        else:
            self._storage_errors = 0
        self._jobs_processed += 1
        now = self._clock()
        reservations = self._reservations
        reservations.job_done(
            reserved,
            succeeded=outcome is Outcome.SUCCEEDED,
            seconds=time.perf_counter() - began,
            now=now,
        )
        if not reservations.holds_batch and self._options.rest_seconds > 0:
            # The next reservation would delete them, but not before the rest.
            self._flush_deletes_safely()
        elif reservations.deletes_due(now):
            # A crash must not run finished jobs again: their rows wait at most
            # `delete_within_seconds` for the next reservation to delete them.
            self._flush_deletes_safely()

    def _flush_deletes_safely(self) -> bool:
        """Delete finished rows; on a storage error keep them pending, pause, say False."""
        try:
            self._reservations.flush_deletes()
        except QueueError as exc:
            self._storage_trouble("deleting finished jobs", exc)
            return False
        return True

    def _stop_reason(
        self, started: float, memory_bytes: Callable[[], int], *, processed: bool = True
    ) -> StopReason | None:
        options = self._options
        if self._storage_stop is not None:
            return self._storage_stop
        if self._stop_event.is_set():
            return StopReason.SIGNAL
        if options.memory_mb and memory_bytes() >= options.memory_mb * 1024 * 1024:
            return StopReason.MEMORY
        if options.once and processed:
            return StopReason.ONCE
        if options.max_time_seconds and self._clock() - started >= options.max_time_seconds:
            return StopReason.MAX_TIME
        if options.max_jobs and self._jobs_processed >= options.max_jobs:
            return StopReason.MAX_JOBS
        return None

    def _storage_trouble(self, doing: str, exc: QueueError) -> None:
        """Log a storage error in one line; pause, or decide the worker must stop."""
        options = self._options
        self._storage_errors += 1
        # Without the error's own closing period: each line adds one.
        text = str(exc).rstrip(".")
        fields = {
            "event": "storage_error",
            "worker": options.name,
            "error": type(exc).__name__,
            "errors_in_a_row": self._storage_errors,
        }
        if isinstance(exc, _UNUSABLE):
            self._storage_stop = StopReason.STORAGE_UNUSABLE
            self._logger.error(
                "Storage error while %s: %s. Retrying cannot help: %s; stopping.",
                doing,
                text,
                "create the tables (bridge migrate) or point bridge at the database that has them"
                if isinstance(exc, SchemaError)
                else "check the database URL, its name and credentials",
                extra={"bridge": fields},
            )
            return
        if (options.once or options.stop_when_empty) and self._storage_errors >= STORAGE_TRIES:
            self._storage_stop = StopReason.STORAGE_DOWN
            self._logger.error(
                "Storage error while %s: %s. Gave up after %d tries in a row; stopping.",
                doing,
                text,
                self._storage_errors,
                extra={"bridge": fields},
            )
            return
        pause = min(
            options.error_sleep_seconds * 2 ** min(self._storage_errors - 1, 30),
            options.max_error_sleep_seconds,
        )
        if options.max_time_seconds:
            left = options.max_time_seconds - (self._clock() - self._started)
            pause = max(0.0, min(pause, left))
        self._logger.error(
            "Storage error while %s: %s. Retrying in %.1f s.",
            doing,
            text,
            pause,
            extra={"bridge": {**fields, "pause_seconds": pause}},
        )
        self._sleep(pause)

    def _hard_exit(self) -> None:
        """After a hard timeout (watchdog thread): hand everything back, end the process."""
        try:
            self._reservations.give_back()
        finally:
            for handler in [*self._logger.handlers, *logging.getLogger().handlers]:
                handler.flush()
            self._exit_process(EXIT_ERROR)

    # --- signals --------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_event.set()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
