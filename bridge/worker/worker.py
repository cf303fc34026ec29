"""`Worker`: the iterative run loop over the storage protocols.

Each loop tries the queues in strict priority order, reserves (one row, or up to `prefetch`
rows in one transaction), hands each row to the processor, then checks the stop conditions in
Laravel's order: signal, memory, empty queue, `max_time`, `max_jobs`. The loop never recurses
and never dies on a job: storage errors are logged and the loop pauses, then goes on.

Prefetch keeps Laravel's guarantees: a prefetched row is never left waiting toward
`retry_after` (before starting one, rows reserved longer than `prefetch_age_fraction` of it are
handed back with `unreserve`, and the batch size is capped by how many jobs recent durations
say fit in that window); queue priority holds (before each further prefetched job of a lower
queue, higher queues are polled and, if they have work, the prefetched rows go back); and
successful rows are deleted together, in the transaction of the next reservation (or with
one `delete_many` when the worker stops or rests).

With prefetch the worker also reads ahead (`WorkerOptions.read_ahead`, where the queue
supports `reserve_ahead`): as it starts a batch of the first queue, it starts reserving that
queue's next batch, and moves the reservation on between jobs, so the database works while
the jobs run. The rules above hold for it: the two batches share the aging budget (each is
capped at half of what fits) and rows reserved ahead are checked for age before they start
like any others; it happens only while jobs take under 50 ms on average (where the
database's time is worth hiding); only the first queue is read ahead (rows of a lower queue
are polled against higher queues job by job anyway); `max_jobs` caps what is reserved
ahead; a stopping worker finishes the reservation and hands its rows back with the rest.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from bridge._typing import Clock
from bridge.exceptions import QueueError
from bridge.laravel.encryption import Encrypter
from bridge.queue.base import (
    BatchStore,
    FailedJobStore,
    JobQueue,
    PendingReservation,
    ReservedJob,
)
from bridge.worker._process import Outcome, Processor
from bridge.worker.app import App
from bridge.worker.counters import ExceptionCounter, InMemoryExceptionCounter
from bridge.worker.logs import LOGGER_NAME
from bridge.worker.options import EXIT_ERROR, StopReason, WorkerOptions

__all__ = ["Worker", "rss_bytes"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
# Weight of the newest job in the running average of job durations.
_EWMA_WEIGHT = 0.2
_MEMORY_READING_SECONDS = 0.1
# Reading ahead hides the database's time, which matters next to quick jobs only.
_AHEAD_MAX_AVERAGE_SECONDS = 0.05


def rss_bytes() -> int:
    """The process's resident set size, from `/proc/self/statm` (0 where unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


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
        queue: JobQueue,
        failed: FailedJobStore,
        app: App,
        options: WorkerOptions | None = None,
        batches: BatchStore | None = None,
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
            queue: The `jobs` table.
            failed: The `failed_jobs` table.
            app: The handlers.
            options: Loop, retry and limit options.
            batches: The `job_batches` table; None skips batch bookkeeping.
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
        self._queue = queue
        self._options = options if options is not None else WorkerOptions()
        self._clock = clock
        self._stop_event = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop_event.wait
        self._logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self._memory_bytes = memory_bytes
        self._exit_process = exit_process
        self._processor = Processor(
            queue=queue,
            failed=failed,
            batches=batches,
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
        self._buffer: deque[ReservedJob] = deque()
        self._buffer_rank = 0
        self._pending_deletes: list[ReservedJob] = []
        options = self._options
        self._reading_ahead = (
            options.read_ahead
            and options.prefetch > 1
            and not options.once
            # A resting worker is in no hurry, and rests with nothing reserved.
            and options.rest_seconds == 0
        )
        self._ahead: PendingReservation | None = None
        # Until the queue says it cannot (`reserve_ahead` gives None), batches are sized
        # for reading ahead.
        self._ahead_offered = True
        # The finished rows whose DELETE rides on the reservation ahead.
        self._ahead_finished: list[ReservedJob] = []
        self._jobs_processed = 0
        self._average_seconds: float | None = None

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
            self._give_back()
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
        started = self._clock()
        while True:
            if self._stop_event.is_set():
                return StopReason.SIGNAL
            try:
                reserved = self._next_job()
            except QueueError:
                self._storage_trouble("reserving")
                continue
            if reserved is None:
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
        except QueueError:
            self._storage_trouble("bookkeeping")
            outcome = None
        except Exception:
            # A bug in bridge or in a failed hook must not end the worker.
            self._logger.exception("Unexpected error while processing job %s", reserved.id)
            outcome = None
        self._jobs_processed += 1
        elapsed = time.perf_counter() - began
        average = self._average_seconds
        self._average_seconds = (
            elapsed if average is None else average + _EWMA_WEIGHT * (elapsed - average)
        )
        if outcome is Outcome.SUCCEEDED:
            self._pending_deletes.append(reserved)
        if not self._buffer and self._options.rest_seconds > 0:
            # The next reservation would delete them, but not before the rest.
            self._flush_deletes_safely()

    def _flush_deletes_safely(self) -> bool:
        """Delete finished rows; on a storage error keep them pending, pause, say False."""
        try:
            self._flush_deletes()
        except QueueError:
            self._storage_trouble("deleting finished jobs")
            return False
        return True

    def _stop_reason(self, started: float, memory_bytes: Callable[[], int]) -> StopReason | None:
        options = self._options
        if self._stop_event.is_set():
            return StopReason.SIGNAL
        if options.memory_mb and memory_bytes() >= options.memory_mb * 1024 * 1024:
            return StopReason.MEMORY
        if options.once:
            return StopReason.ONCE
        if options.max_time_seconds and self._clock() - started >= options.max_time_seconds:
            return StopReason.MAX_TIME
        if options.max_jobs and self._jobs_processed >= options.max_jobs:
            return StopReason.MAX_JOBS
        return None

    def _storage_trouble(self, doing: str) -> None:
        self._logger.exception(
            "Storage error while %s; pausing %s s",
            doing,
            self._options.error_sleep_seconds,
            extra={"bridge": {"event": "storage_error", "worker": self._options.name}},
        )
        self._sleep(self._options.error_sleep_seconds)

    # --- reservation and prefetch ---------------------------------------------------------

    @property
    def _age_limit_seconds(self) -> float:
        return self._options.prefetch_age_fraction * self._queue.retry_after_seconds

    def _fits(self) -> int:
        """How many jobs of the recent average duration fit in a batch's aging budget."""
        assert self._average_seconds is not None
        fits = int(self._age_limit_seconds / max(self._average_seconds, 1e-6))
        # A batch read ahead waits for the batch before it too: the two share the budget.
        return fits // 2 if self._reading_ahead and self._ahead_offered else fits

    def _batch_size(self) -> int:
        prefetch = self._options.prefetch
        if prefetch == 1 or self._average_seconds is None:
            return 1
        return max(1, min(prefetch, self._fits()))

    def _reserve(self, ranks: Iterable[int], now: float) -> bool:
        for rank in ranks:
            # Finished rows are deleted in the reservation's transaction: one commit per batch.
            finished, self._pending_deletes = self._pending_deletes, []
            try:
                rows = self._queue.reserve(
                    self._options.queues[rank],
                    now=int(now),
                    limit=self._batch_size(),
                    finished=finished,
                )
            except QueueError:
                self._pending_deletes = finished + self._pending_deletes
                raise
            if rows:
                self._buffer.extend(rows)
                self._buffer_rank = rank
                return True
        return False

    def _next_job(self) -> ReservedJob | None:
        now = self._clock()
        if self._buffer:
            if now - self._buffer[0].reserved_at > self._age_limit_seconds:
                self._give_back()
            elif self._buffer_rank > 0:
                held = list(self._buffer)
                self._buffer.clear()
                if self._reserve(range(self._buffer_rank), now):
                    self._unreserve(held)
                else:
                    self._buffer.extend(held)
            elif self._ahead is not None:
                self._ahead.poll()
        if not self._buffer:
            rows = self._finish_ahead()
            if rows and now - rows[0].reserved_at > self._age_limit_seconds:
                self._unreserve(rows)
                rows = []
            if rows:
                self._buffer.extend(rows)
                self._buffer_rank = 0
            else:
                # Also after an empty read-ahead: jobs may have come since it looked.
                self._reserve(range(len(self._options.queues)), now)
            if self._buffer and self._buffer_rank == 0:
                self._start_ahead(now)
        return self._buffer.popleft() if self._buffer else None

    def _start_ahead(self, now: float) -> None:
        average = self._average_seconds
        if not self._reading_ahead or average is None or average > _AHEAD_MAX_AVERAGE_SECONDS:
            return
        options = self._options
        limit = min(options.prefetch, self._fits())
        if options.max_jobs:
            limit = min(limit, options.max_jobs - self._jobs_processed - len(self._buffer))
        if limit < 1:
            return
        finished, self._pending_deletes = self._pending_deletes, []
        try:
            pending = self._queue.reserve_ahead(
                options.queues[0], now=int(now), limit=limit, finished=finished
            )
        except QueueError:
            self._logger.warning("Could not start reserving ahead", exc_info=True)
            pending = None
        else:
            self._ahead_offered = pending is not None
        if pending is None:
            self._pending_deletes = finished + self._pending_deletes
            return
        self._ahead, self._ahead_finished = pending, finished

    def _finish_ahead(self) -> list[ReservedJob]:
        """The rows reserved ahead, if any (none when that reservation failed)."""
        pending, self._ahead = self._ahead, None
        finished, self._ahead_finished = self._ahead_finished, []
        if pending is None:
            return []
        try:
            return pending.wait()
        except QueueError:
            # Nothing was reserved or deleted: the usual reservation takes over.
            self._pending_deletes = finished + self._pending_deletes
            self._logger.warning("Reserving ahead failed; reserving again", exc_info=True)
            return []

    def _unreserve(self, jobs: Iterable[ReservedJob]) -> None:
        for job in jobs:
            try:
                self._queue.unreserve(job)
            except QueueError:
                # The reservation simply expires after retry_after; nothing is lost.
                self._logger.warning("Could not hand back prefetched job %s", job.id)

    def _flush_deletes(self) -> None:
        if not self._pending_deletes:
            return
        doomed, self._pending_deletes = self._pending_deletes, []
        try:
            self._queue.delete_many(doomed)
        except QueueError:
            self._pending_deletes = doomed + self._pending_deletes
            raise

    def _give_back(self) -> None:
        held = list(self._buffer)
        self._buffer.clear()
        held += self._finish_ahead()
        self._unreserve(held)
        try:
            self._flush_deletes()
        except QueueError:
            self._logger.exception("Could not delete finished jobs")

    def _hard_exit(self) -> None:
        """After a hard timeout (watchdog thread): hand everything back, end the process."""
        try:
            self._give_back()
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
