"""`Stores`: a queue, its `failed_jobs` and `job_batches` tables, and the moves between them.

A failed job leaves the queue for `failed_jobs`, a retried one goes back, a batch's jobs
are counted into `job_batches` as they are queued: each move touches two stores, so it
belongs to the object that holds both. Here each is two steps, ordered so that a crash
between them leaves the job in both places, never in neither (in-memory stores, a Redis
queue); `bridge.queue.database_stores.DatabaseStores` makes each one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bridge.dialect import FailedRow
from bridge.exceptions import FailedJobNotFound, QueueError
from bridge.queue.base import (
    BatchRecord,
    BatchStore,
    FailedJobRecord,
    FailedJobStore,
    JobQueue,
    NewJob,
    ReservedJob,
    RetryMove,
)
from bridge.queue.memory import InMemoryBatchStore, InMemoryFailedJobStore, InMemoryQueue

__all__ = ["Stores"]


class Stores:
    """The queue, failed-job and batch stores a worker, a dispatcher or a command works on."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        failed: FailedJobStore,
        batches: BatchStore | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """Join the stores.

        Args:
            queue: The `jobs` table, or another queue (Redis).
            failed: The `failed_jobs` table.
            batches: The `job_batches` table; None where batches are not kept.
            on_close: Releases what was opened for these stores (connections, engines).
        """
        self.queue = queue
        self.failed = failed
        self.batches = batches
        self._on_close = on_close

    @classmethod
    def in_memory(cls, *, connection_name: str = "database") -> Stores:
        """Empty in-memory stores (`bridge.queue.memory`), as unit tests and `sync` use them."""
        return cls(
            queue=InMemoryQueue(connection_name=connection_name),
            failed=InMemoryFailedJobStore(),
            batches=InMemoryBatchStore(),
        )

    def close(self) -> None:
        """Release what was opened for these stores; a second call does nothing."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def fail(
        self,
        job: ReservedJob,
        *,
        uuid: str | None,
        exception: str,
        failed_at: datetime,
        as_row: FailedRow | None = None,
    ) -> int:
        """Move a reserved job to `failed_jobs`; return the failed row's id.

        The failed row records the payload exactly as reserved, under this queue's
        connection name, unless `as_row` gives the shape a dialect's worker writes instead
        (`Dialect.failed_row`). It is written first and the job deleted after it: a crash
        between the two leaves the job in both (it runs again), and a failing write deletes
        nothing.
        """
        row = self._failed_row(job, as_row)
        failed_id = self.failed.log(
            uuid=uuid,
            connection=row.connection,
            queue=row.queue,
            payload=row.payload,
            exception=exception,
            failed_at=failed_at,
        )
        self.queue.delete(job)
        return failed_id

    def _failed_row(self, job: ReservedJob, as_row: FailedRow | None) -> FailedRow:
        return as_row or FailedRow(job.payload, job.queue, self.queue.connection_name)

    def retry(
        self,
        record: FailedJobRecord,
        *,
        payload: str,
        target_queue: str,
        now: int,
        into: JobQueue | None = None,
    ) -> int | str:
        """Move a failed job back as a new row (attempts 0, available `now`), its failed row
        deleted; return the new row's id.

        `into` is another queue to move it to (another database, another connection);
        by default this one. Here the job is pushed first and its failed row deleted after.

        Raises:
            FailedJobNotFound: The failed row is gone (another process moved it).
        """
        if self.failed.find(record.id) is None:
            raise FailedJobNotFound(f"failed job {record.id} is gone (already retried?)")
        target = self.queue if into is None else into
        new_id = target.push(payload, queue=target_queue, now=now)
        self.failed.forget(record.id)
        return new_id

    def retry_many(
        self, moves: Sequence[RetryMove], *, now: int, into: JobQueue | None = None
    ) -> dict[int, int | str | None]:
        """`retry` for several failed jobs, each moved whole or not at all.

        Returns failed id -> new row's id, or None for a failed row already gone.
        """
        moved: dict[int, int | str | None] = {}
        for move in moves:
            try:
                moved[move.record.id] = self.retry(
                    move.record,
                    payload=move.payload,
                    target_queue=move.target_queue,
                    now=now,
                    into=into,
                )
            except FailedJobNotFound:
                moved[move.record.id] = None
        return moved

    def add_batch_jobs(self, batch_id: str, jobs: Sequence[NewJob]) -> BatchRecord:
        """Count `jobs` into the batch (total and pending, `finished_at` reset), then queue
        them with one bulk insert; return the batch as counted.

        Raises:
            QueueError: There is no such batch, or these stores keep no batches.
        """
        if self.batches is None:
            raise QueueError("these stores keep no job_batches table")
        record = self.batches.increment_total_jobs(batch_id, len(jobs))
        self.queue.bulk(jobs)
        return record
