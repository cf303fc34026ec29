"""In-memory queue, failed-job and batch stores: the storage protocols without any I/O.

They follow the database implementation row for row (new id on release, attempts counted
at reservation, `failed_jobs` newest first, batch counters) so unit tests of the worker and
the retry tool see what a real `jobs` table would do. Each store is safe to share between
threads and keeps a log of what it received (`deleted`, `released`, `unreserved`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bridge.exceptions import QueueError
from bridge.queue._ahead import ReadAhead, ReadsAhead, UnderWay
from bridge.queue._batch_rules import failure_update, success_update
from bridge.queue._filters import matches
from bridge.queue.base import (
    BatchRecord,
    FailedJobFilter,
    FailedJobRecord,
    JobRow,
    NewJob,
    QueueIdentity,
    ReservedJob,
)

__all__ = ["InMemoryBatchStore", "InMemoryFailedJobStore", "InMemoryQueue"]


@dataclass(frozen=True, slots=True)
class Release:
    """One `release` call as the in-memory queue received it."""

    old_id: int
    new_id: int
    now: int
    delay_seconds: int


class InMemoryQueue(ReadsAhead, QueueIdentity):
    """A `jobs` table in a dict, with Laravel's database-queue semantics.

    `reserve` deletes the `finished` rows first, as one step with the reservation; reading
    `ahead` reserves the next rows at once, as a database does while jobs run.
    """

    def __init__(
        self,
        *,
        connection_name: str = "database",
        retry_after_seconds: int = 90,
        read_ahead: bool = True,
    ) -> None:
        """Create an empty queue.

        Args:
            connection_name: Queue connection name, as written to `failed_jobs.connection`.
            retry_after_seconds: Seconds after which a reserved job is handed out again.
            read_ahead: Whether `reserve` reads ahead when asked (False: as a queue that
                cannot, e.g. SQLite's).
        """
        super().__init__(connection_name=connection_name, retry_after_seconds=retry_after_seconds)
        self._rows: dict[int, JobRow] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        self.deleted: list[int] = []
        self.released: list[Release] = []
        self.unreserved: list[int] = []
        self.released_in_place: list[int] = []
        self._read_ahead = read_ahead
        self._reading = ReadAhead(
            start=self._start_ahead,
            reserve=self._reserve_now,
            delete=self._delete_now,
            unreserve=self.unreserve,
        )

    def rows(self, queue: str | None = None) -> list[JobRow]:
        """Every row (of `queue`, if given) in id order."""
        with self._lock:
            return [r for _, r in sorted(self._rows.items()) if queue in (None, r.queue)]

    def _insert(self, job: NewJob) -> int:
        row_id = self._next_id
        self._next_id += 1
        self._rows[row_id] = JobRow(
            id=row_id,
            queue=job.queue,
            payload=job.payload,
            attempts=job.attempts,
            reserved_at=None,
            available_at=job.available_at,
            created_at=job.created_at,
        )
        return row_id

    def push(self, payload: str, *, queue: str, now: int, delay_seconds: int = 0) -> int:
        """Insert one job and return its id."""
        with self._lock:
            return self._insert(
                NewJob(
                    payload=payload, queue=queue, available_at=now + delay_seconds, created_at=now
                )
            )

    def bulk(self, jobs: Sequence[NewJob]) -> None:
        """Insert many jobs."""
        with self._lock:
            for job in jobs:
                self._insert(job)

    def _start_ahead(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> UnderWay | None:
        if not self._read_ahead:
            return None
        return UnderWay.ready(self._reserve_now(queue, now, limit, finished))

    def _delete_now(self, jobs: Sequence[ReservedJob]) -> None:
        with self._lock:
            self._forget(jobs)

    def _reserve_now(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> list[ReservedJob]:
        expired = now - self._retry_after_seconds
        reserved: list[ReservedJob] = []
        with self._lock:
            self._forget(finished)
            # The dict is in id order: ids only grow as rows are inserted, and a row replaced
            # keeps its place (only values change while this walks it).
            rows = self._rows
            for row_id, row in rows.items():
                if len(reserved) >= limit:
                    break
                free = row.reserved_at is None and row.available_at <= now
                if row.queue != queue or not (
                    free or (row.reserved_at is not None and row.reserved_at <= expired)
                ):
                    continue
                # Built directly: `dataclasses.replace` costs a few microseconds per row.
                row = JobRow(
                    id=row.id,
                    queue=row.queue,
                    payload=row.payload,
                    attempts=row.attempts + 1,
                    reserved_at=now,
                    available_at=row.available_at,
                    created_at=row.created_at,
                )
                rows[row_id] = row
                reserved.append(
                    ReservedJob(
                        id=row.id,
                        queue=row.queue,
                        payload=row.payload,
                        attempts=row.attempts,
                        reserved_at=now,
                        available_at=row.available_at,
                        created_at=row.created_at,
                    )
                )
        return reserved

    def _forget(self, jobs: Sequence[ReservedJob]) -> None:
        for job in jobs:
            row_id = _row_id(job)
            if self._rows.pop(row_id, None) is not None:
                self.deleted.append(row_id)

    def unreserve(self, job: ReservedJob) -> bool:
        """Undo a reservation still held by `job`; False when the row moved on."""
        row_id = _row_id(job)
        with self._lock:
            row = self._rows.get(row_id)
            if row is None or (row.reserved_at, row.attempts) != (job.reserved_at, job.attempts):
                return False
            self._rows[row_id] = replace(row, reserved_at=None, attempts=row.attempts - 1)
            self.unreserved.append(row_id)
            return True

    def release_in_place(
        self, job: ReservedJob, *, now: int, delay_seconds: int = 0, undo_attempt: bool = False
    ) -> bool:
        """Put a job back in its own row; False when this reservation no longer holds it."""
        row_id = _row_id(job)
        with self._lock:
            row = self._rows.get(row_id)
            if row is None or (row.reserved_at, row.attempts) != (job.reserved_at, job.attempts):
                return False
            attempts = row.attempts - 1 if undo_attempt else row.attempts
            self._rows[row_id] = replace(
                row, reserved_at=None, available_at=now + delay_seconds, attempts=attempts
            )
            self.released_in_place.append(row_id)
            return True

    def release(self, job: ReservedJob, *, now: int, delay_seconds: int = 0) -> int:
        """Delete the row and insert it again with the same payload and attempts; new id."""
        row_id = _row_id(job)
        with self._lock:
            self._rows.pop(row_id, None)
            new_id = self._insert(
                NewJob(
                    payload=job.payload,
                    queue=job.queue,
                    available_at=now + delay_seconds,
                    created_at=now,
                    attempts=job.attempts,
                )
            )
            self.released.append(Release(row_id, new_id, now, delay_seconds))
            return new_id

    def size(self, queue: str) -> int:
        """Number of rows on `queue`, in any state."""
        return len(self.rows(queue))

    def clear(self, queue: str) -> int:
        """Delete every row of `queue` and return how many there were."""
        with self._lock:
            doomed = [i for i, r in self._rows.items() if r.queue == queue]
            for row_id in doomed:
                del self._rows[row_id]
            return len(doomed)


def _row_id(job: ReservedJob) -> int:
    if not isinstance(job.id, int):
        raise QueueError(f"job {job.id!r} was not reserved from an in-memory queue")
    return job.id


class InMemoryFailedJobStore:
    """A `failed_jobs` table in a list, in either layout."""

    def __init__(self, *, has_uuid: bool = True) -> None:
        """Create an empty store; `has_uuid=False` mimics the older id-only layout."""
        self._has_uuid = has_uuid
        self._records: dict[int, FailedJobRecord] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    @property
    def has_uuid(self) -> bool:
        """Whether the table has Laravel 8's `uuid` column."""
        return self._has_uuid

    def log(
        self,
        *,
        uuid: str | None,
        connection: str,
        queue: str,
        payload: str,
        exception: str,
        failed_at: datetime,
    ) -> int:
        """Record a failed job and return its id."""
        with self._lock:
            if self._has_uuid:
                # The real column is NOT NULL and unique; fail as the database would.
                if uuid is None:
                    raise QueueError("failed_jobs.uuid cannot be null")
                if any(r.uuid == uuid for r in self._records.values()):
                    raise QueueError(f"duplicate failed_jobs.uuid {uuid!r}")
            record_id = self._next_id
            self._next_id += 1
            self._records[record_id] = FailedJobRecord(
                id=record_id,
                uuid=uuid if self._has_uuid else None,
                connection=connection,
                queue=queue,
                payload=payload,
                exception=exception,
                failed_at=failed_at,
            )
            return record_id

    def _lookup(self, id_or_uuid: int | str) -> FailedJobRecord | None:
        if isinstance(id_or_uuid, int):
            return self._records.get(id_or_uuid)
        return next((r for r in self._records.values() if r.uuid == id_or_uuid), None)

    def find(self, id_or_uuid: int | str) -> FailedJobRecord | None:
        """Look a failed job up by id or uuid."""
        with self._lock:
            return self._lookup(id_or_uuid)

    def select(self, selection: FailedJobFilter) -> Iterator[FailedJobRecord]:
        """Failed jobs matching `selection`, newest first (by id, as Laravel orders)."""
        with self._lock:
            found = [r for r in self._records.values() if matches(r, selection)]
        found.sort(key=lambda r: r.id, reverse=True)
        return iter(found[: selection.limit] if selection.limit is not None else found)

    def forget(self, id_or_uuid: int | str) -> bool:
        """Delete one failed job; False when there was none."""
        with self._lock:
            record = self._lookup(id_or_uuid)
            if record is None:
                return False
            del self._records[record.id]
            return True

    def _delete_where(self, doomed: list[int]) -> int:
        with self._lock:
            for record_id in doomed:
                self._records.pop(record_id, None)
        return len(doomed)

    def flush(self, *, older_than: datetime | None = None) -> int:
        """Delete all failed jobs, or those failed at or before `older_than`."""
        with self._lock:
            doomed = [
                r.id
                for r in self._records.values()
                if older_than is None or r.failed_at <= older_than
            ]
        return self._delete_where(doomed)

    def prune(self, *, before: datetime) -> int:
        """Delete failed jobs failed strictly before `before`."""
        with self._lock:
            doomed = [r.id for r in self._records.values() if r.failed_at < before]
        return self._delete_where(doomed)


class InMemoryBatchStore:
    """A `job_batches` table in a dict, with Laravel's counter rules."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._batches: dict[str, BatchRecord] = {}
        self._lock = threading.Lock()

    def create(self, *, batch_id: str, name: str, options: bytes | None, now: int) -> BatchRecord:
        """Insert an empty batch."""
        record = BatchRecord.empty(batch_id=batch_id, name=name, options=options, now=now)
        with self._lock:
            if batch_id in self._batches:
                raise QueueError(f"duplicate job_batches.id {batch_id!r}")
            self._batches[batch_id] = record
        return record

    def increment_total_jobs(self, batch_id: str, count: int) -> BatchRecord:
        """Count `count` more jobs into the batch."""
        with self._lock:
            batch = self._require(batch_id)
            batch = replace(
                batch,
                total_jobs=batch.total_jobs + count,
                pending_jobs=batch.pending_jobs + count,
                finished_at=None,
            )
            self._batches[batch_id] = batch
        return batch

    def _require(self, batch_id: str) -> BatchRecord:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise QueueError(f"no batch {batch_id!r}")
        return batch

    def find(self, batch_id: str) -> BatchRecord | None:
        """Return the batch, or None."""
        with self._lock:
            return self._batches.get(batch_id)

    def record_success(self, batch_id: str, job_uuid: str, *, now: int) -> BatchRecord | None:
        """One job fewer pending; its uuid leaves `failed_job_ids`; finished at zero."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            batch = success_update(batch, job_uuid, now=now)
            self._batches[batch_id] = batch
            return batch

    def record_failure(
        self, batch_id: str, job_uuid: str, *, now: int, allow_failures: bool
    ) -> BatchRecord | None:
        """One more failed job; the first failure cancels unless failures are allowed."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            batch = failure_update(batch, job_uuid, now=now, allow_failures=allow_failures)
            self._batches[batch_id] = batch
            return batch
