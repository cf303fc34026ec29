"""Which reserved row a worker runs next: reservation, prefetch, read-ahead and deletes.

Each call of `next_job` tries the queues in strict priority order and reserves one row, or up
to `prefetch` rows in one transaction. Prefetch keeps Laravel's guarantees: a prefetched row is
never left waiting toward `retry_after` (before starting one, rows reserved longer than
`prefetch_age_fraction` of it are handed back with `unreserve`, and the batch size is capped
by how many jobs recent durations say fit in that window); queue priority holds (before each
further prefetched job of a lower queue, higher queues are polled and, if they have work, the
prefetched rows go back); and successful rows are deleted together, in the transaction of the
next reservation (or with one `delete_many` when the worker stops or rests). A finished row
waits for that at most `WorkerOptions.delete_within_seconds` (0.1 s): before a job starts
that would, by the running average of job durations, end past that time for the oldest
finished row, the finished rows are deleted first (`deletes_due`). A worker killed mid-batch
thus runs again only the jobs it finished in about the last 0.1 s (with read-ahead, also
those whose DELETE rides on the reservation ahead, which commits within a few jobs), never
a whole batch's worth.

With prefetch the worker also asks the queue to read ahead (`WorkerOptions.read_ahead`;
`JobQueue.reserve`'s `ahead`): as a reservation of the first queue returns a batch, the
queue, where it can, starts reserving that queue's next batch, and `poll` moves it on
between jobs, so the database works while the jobs run; the next reservation returns its
rows. The rules above hold for it: the two batches share the aging budget (each is capped
at half of what fits) and rows reserved ahead are checked for age before they start like
any others; it happens only while jobs take under 50 ms on average (where the database's
time is worth hiding); only the first queue is read ahead (rows of a lower queue are polled
against higher queues job by job anyway); `max_jobs` caps what is reserved ahead; a
stopping worker takes the rows reserved ahead (`end_reading_ahead`) and hands them back
with the rest.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable

from bridge.exceptions import QueueError
from bridge.queue.base import JobQueue, ReservedJob
from bridge.worker.options import WorkerOptions

__all__ = ["Reservations"]

# Weight of the newest job in the running average of job durations.
_EWMA_WEIGHT = 0.2
# Reading ahead hides the database's time, which matters next to quick jobs only.
_AHEAD_MAX_AVERAGE_SECONDS = 0.05


class Reservations:
    """The rows a worker holds: its prefetched batch and its done rows."""

    def __init__(self, *, queue: JobQueue, options: WorkerOptions, logger: logging.Logger) -> None:
        self._queue = queue
        self._options = options
        self._logger = logger
        self._buffer: deque[ReservedJob] = deque()
        self._buffer_rank = 0
        self._pending_deletes: list[ReservedJob] = []
        # When the oldest of `_pending_deletes` finished (the worker's clock), None if none.
        self._pending_since: float | None = None
        self._reading_ahead = (
            options.read_ahead
            and options.prefetch > 1
            and not options.once
            # A resting worker is in no hurry, and rests with nothing reserved.
            and options.rest_seconds == 0
        )
        # Until the queue shows it cannot (asked to read ahead, it holds nothing), batches
        # are sized for reading ahead.
        self._ahead_offered = True
        #: Running average of job durations in seconds (None before the first job).
        self.average_seconds: float | None = None

    @property
    def holds_batch(self) -> bool:
        """Whether prefetched rows are waiting to run."""
        return bool(self._buffer)

    def job_done(
        self, job: ReservedJob, *, succeeded: bool, seconds: float, now: float = 0.0
    ) -> None:
        """Count a job's duration; a successful one's row is deleted with the next batch.

        `now` is the worker's clock as the job ended (see `deletes_due`).
        """
        average = self.average_seconds
        self.average_seconds = (
            seconds if average is None else average + _EWMA_WEIGHT * (seconds - average)
        )
        if succeeded:
            if not self._pending_deletes:
                self._pending_since = now
            self._pending_deletes.append(job)

    def deletes_due(self, now: float) -> bool:
        """Whether the finished rows must be deleted before the next job starts: the oldest
        of them would otherwise wait past `delete_within_seconds` (the next job expected to
        take the running average)."""
        since = self._pending_since
        if since is None or not self._pending_deletes:
            return False
        expected = self.average_seconds or 0.0
        return now - since + expected >= self._options.delete_within_seconds

    def _take_deletes(self) -> list[ReservedJob]:
        finished, self._pending_deletes = self._pending_deletes, []
        self._pending_since = None
        return finished

    def _keep_deletes(self, finished: list[ReservedJob], now: float) -> None:
        """Put rows whose DELETE did not happen back in front of the pending ones."""
        if finished:
            self._pending_deletes = finished + self._pending_deletes
            if self._pending_since is None:
                self._pending_since = now

    # --- the next job ---------------------------------------------------------------------

    @property
    def _age_limit_seconds(self) -> float:
        return self._options.prefetch_age_fraction * self._queue.retry_after_seconds

    def _fits(self) -> int:
        """How many jobs of the recent average duration fit in a batch's aging budget."""
        assert self.average_seconds is not None
        fits = int(self._age_limit_seconds / max(self.average_seconds, 1e-6))
        # A batch read ahead waits for the batch before it too: the two share the budget.
        return fits // 2 if self._reading_ahead and self._ahead_offered else fits

    def batch_size(self) -> int:
        """Rows to reserve in the next transaction."""
        prefetch = self._options.prefetch
        if prefetch == 1 or self.average_seconds is None:
            return 1
        return max(1, min(prefetch, self._fits()))

    def next_job(self, now: float, *, jobs_processed: int) -> ReservedJob | None:
        """The next row to run, reserving as needed; None when no queue has one.

        Raises:
            QueueError: the reservation failed (finished rows stay pending).
        """
        if self._buffer:
            if now - self._buffer[0].reserved_at > self._age_limit_seconds:
                self.give_back()
            elif self._buffer_rank > 0:
                held = list(self._buffer)
                self._buffer.clear()
                if self._reserve(range(self._buffer_rank), now):
                    self._unreserve(held)
                else:
                    self._buffer.extend(held)
            elif self._reading_ahead:
                self._queue.poll()
        if not self._buffer:
            self._reserve(range(len(self._options.queues)), now, jobs_processed)
        return self._buffer.popleft() if self._buffer else None

    def _reserve(self, ranks: Iterable[int], now: float, jobs_processed: int = -1) -> bool:
        """Reserve from the first of `ranks` that has rows; read the first queue ahead when
        `jobs_processed` is given."""
        for rank in ranks:
            ahead = self._ahead_limit(jobs_processed) if rank == 0 and jobs_processed >= 0 else 0
            rows = self._reserve_from(rank, now, ahead)
            if rows and now - rows[0].reserved_at > self._age_limit_seconds:
                # Reserved ahead and kept waiting too long: back they go, and fresh rows.
                self._unreserve(rows)
                rows = self._reserve_from(rank, now, ahead)
            if rows:
                if ahead:
                    self._ahead_offered = self._queue.poll()
                self._buffer.extend(rows)
                self._buffer_rank = rank
                return True
        return False

    def _reserve_from(self, rank: int, now: float, ahead: int) -> list[ReservedJob]:
        # Finished rows are deleted in the reservation's transaction: one commit per batch.
        finished = self._take_deletes()
        try:
            return self._queue.reserve(
                self._options.queues[rank],
                now=int(now),
                limit=self.batch_size(),
                finished=finished,
                ahead=ahead,
            )
        except QueueError:
            self._keep_deletes(finished, now)
            raise

    def _ahead_limit(self, jobs_processed: int) -> int:
        """Rows to read ahead with the next batch (0: none)."""
        average = self.average_seconds
        if not self._reading_ahead or average is None or average > _AHEAD_MAX_AVERAGE_SECONDS:
            return 0
        options = self._options
        limit = min(options.prefetch, self._fits())
        if options.max_jobs:
            # The batch itself may take up to `batch_size` rows of what is left.
            limit = min(limit, options.max_jobs - jobs_processed - self.batch_size())
        return max(limit, 0)

    # --- handing back ---------------------------------------------------------------------

    def _unreserve(self, jobs: Iterable[ReservedJob]) -> None:
        for job in jobs:
            try:
                self._queue.unreserve(job)
            except QueueError:
                # The reservation simply expires after retry_after; nothing is lost.
                self._logger.warning("Could not hand back prefetched job %s", job.id)

    def flush_deletes(self) -> None:
        """Delete the finished rows now (they stay pending if that fails).

        Raises:
            QueueError: the DELETE failed.
        """
        if not self._pending_deletes:
            return
        since = self._pending_since
        doomed = self._take_deletes()
        try:
            self._queue.delete_many(doomed)
        except QueueError:
            self._keep_deletes(doomed, since or 0.0)
            raise

    def give_back(self) -> None:
        """Hand back every row not started (the batch read ahead too); delete the done ones."""
        held = list(self._buffer)
        self._buffer.clear()
        try:
            held += self._queue.end_reading_ahead()
        except QueueError as exc:
            self._logger.error("Could not delete finished jobs: %s", exc)
        self._unreserve(held)
        try:
            self.flush_deletes()
        except QueueError as exc:
            # They run again after retry_after; said in one line, as every storage error.
            self._logger.error(
                "Could not delete %d finished jobs: %s", len(self._pending_deletes), exc
            )
