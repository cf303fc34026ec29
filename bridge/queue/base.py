"""The storage seam: the protocols the worker and the CLI program against, and their records.

Times are Unix seconds (ints), passed in by the caller: storage never reads a clock of its
own, exactly as Laravel computes every queue time in PHP rather than on the server.
Payloads are the exact `jobs.payload` text; storage never re-encodes them. (The Redis queue
appends Laravel's `id` and `attempts` to a payload that lacks them, as Laravel's RedisQueue
does, and Redis itself re-encodes a payload when it reserves it: `bridge.queue.redis`.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

#: The most attempts Laravel's `jobs.attempts` column holds everywhere (`unsignedTinyInteger`:
#: MySQL/MariaDB's TINYINT UNSIGNED). A reservation never counts past it: in strict mode the
#: server would refuse the whole reservation, and every row behind this one with it. A row
#: reserved at the limit comes back with `attempts` one above it, and the worker fails it.
MAX_STORED_ATTEMPTS = 255


class QueueIdentity:
    """The `JobQueue` properties every queue answers from what it was constructed with."""

    #: The most attempts storage can count (`JobQueue.attempts_limit`); None: unlimited.
    attempts_limit: int | None = MAX_STORED_ATTEMPTS

    def __init__(self, *, connection_name: str, retry_after_seconds: int) -> None:
        self._connection_name = connection_name
        self._retry_after_seconds = retry_after_seconds

    @property
    def connection_name(self) -> str:
        """The queue connection name written to `failed_jobs.connection`."""
        return self._connection_name

    @property
    def retry_after_seconds(self) -> int:
        """Seconds after which a reserved job is handed out again."""
        return self._retry_after_seconds


@dataclass(frozen=True, slots=True)
class ReservedJob:
    """A `jobs` row reserved by this worker; `attempts` already counts this attempt.

    On Redis (`bridge.queue.redis`) `id` is the payload's `id`, `payload` the text as popped
    and `reserved_payload` the re-encoded text the reservation holds, which delete and
    release name; database rows have no `reserved_payload`.
    """

    id: int | str
    queue: str
    payload: str
    attempts: int
    reserved_at: int
    available_at: int
    created_at: int
    reserved_payload: str | None = None


@dataclass(frozen=True, slots=True)
class JobRow:
    """A `jobs` row as stored, in any state (for inspection and tests)."""

    id: int
    queue: str
    payload: str
    attempts: int
    reserved_at: int | None
    available_at: int
    created_at: int


class NewJob(NamedTuple):
    """A row to insert into `jobs` (a named tuple: every push and bulk row makes one, and a
    frozen dataclass takes several times as long to build)."""

    payload: str
    queue: str
    available_at: int
    created_at: int
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class FailedJobRecord:
    """A `failed_jobs` row. `uuid` is None in the older id-only layout."""

    id: int
    uuid: str | None
    connection: str
    queue: str
    payload: str
    exception: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class FailedJobFilter:
    """Selection of failed jobs; every field that is set must match.

    The identity fields `ids`, `uuids` and `id_range` add up to one set of wanted rows, as
    `queue:retry 3 7 --range=10-12` merges them; `command_name` is compared with
    `data.commandName` (a leading backslash is ignored).
    """

    ids: tuple[int, ...] = ()
    uuids: tuple[str, ...] = ()
    id_range: tuple[int, int] | None = None
    queue: str | None = None
    connection: str | None = None
    command_name: str | None = None
    exception_contains: str | None = None
    failed_since: datetime | None = None
    failed_until: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class RetryMove:
    """One failed job to move back onto the queue: its row, new payload and target queue."""

    record: FailedJobRecord
    payload: str
    target_queue: str


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A `job_batches` row."""

    id: str
    name: str
    total_jobs: int
    pending_jobs: int
    failed_jobs: int
    failed_job_ids: tuple[str, ...]
    options: bytes | None
    cancelled_at: int | None
    created_at: int
    finished_at: int | None

    @classmethod
    def empty(cls, *, batch_id: str, name: str, options: bytes | None, now: int) -> BatchRecord:
        """A new batch as `Bus::batch()` stores it before adding jobs: counters 0, no ids."""
        return cls(
            id=batch_id,
            name=name,
            total_jobs=0,
            pending_jobs=0,
            failed_jobs=0,
            failed_job_ids=(),
            options=options,
            cancelled_at=None,
            created_at=now,
            finished_at=None,
        )


class JobQueue(Protocol):
    """Laravel's queue verbs over one `jobs` table, or one Redis connection's queues: push,
    bulk, reserve (`pop`, by the batch), delete, release, size, clear; and what a prefetching
    worker adds: `unreserve`, and reading ahead (`reserve`'s `ahead`, `poll`,
    `end_reading_ahead`)."""

    @property
    def connection_name(self) -> str:
        """The queue connection name written to `failed_jobs.connection` (e.g. `database`)."""
        ...

    @property
    def retry_after_seconds(self) -> int:
        """Seconds after which a reserved job is handed out again."""
        ...

    @property
    def attempts_limit(self) -> int | None:
        """The most attempts storage can count (`MAX_STORED_ATTEMPTS` in a `jobs` table;
        None where unlimited): a job reserved past it comes back with one more, and the
        worker fails it rather than run it."""
        ...

    def push(self, payload: str, *, queue: str, now: int, delay_seconds: int = 0) -> int | str:
        """Insert one job and return its id (on Redis, the payload's `id`)."""
        ...

    def bulk(self, jobs: Sequence[NewJob]) -> None:
        """Insert many jobs in one statement."""
        ...

    def reserve(
        self,
        queue: str,
        *,
        now: int,
        limit: int = 1,
        finished: Sequence[ReservedJob] = (),
        ahead: int = 0,
    ) -> list[ReservedJob]:
        """Reserve up to `limit` available (or expired) jobs of `queue` in id order, in one
        transaction that also deletes the `finished` rows (a worker's done jobs: one commit
        instead of two). If it raises, nothing was reserved; the finished rows may still be
        there: hand them in again (deleting a row already gone does nothing).

        With `ahead`, a queue that can starts reserving up to `ahead` more rows of `queue`
        as it returns rows; the database works on it while the caller runs them (`poll`).
        Those rows are the caller's: the next `reserve` of `queue` returns them (reserved
        when asked for, whatever its `limit`), its `finished` rows deleted with the next
        reservation ahead; when there are none (nothing found, or it failed), it reserves
        as usual.
        """
        ...

    def poll(self) -> bool:
        """Between jobs: move a reservation made ahead on, as far as the database has
        answered, without waiting; whether rows are being reserved ahead for the caller."""
        ...

    def end_reading_ahead(self) -> list[ReservedJob]:
        """Finish a reservation made ahead and return its rows, the caller's to run or to
        `unreserve` (none when there was none, or when it failed; the finished rows whose
        DELETE it carried are then deleted here).

        Raises:
            QueueError: those finished rows could not be deleted (they are kept for the
                next `reserve` or `delete_many`).
        """
        ...

    def delete(self, job: ReservedJob) -> None:
        """Delete a finished job (no-op if already gone)."""
        ...

    def delete_many(self, jobs: Sequence[ReservedJob]) -> None:
        """Delete several finished jobs with one statement (rows already gone are skipped)."""
        ...

    def unreserve(self, job: ReservedJob) -> bool:
        """Undo a reservation of a job that was never started.

        The row gets `reserved_at` NULL and `attempts - 1` back, but only while it is still
        held by this very reservation (same `reserved_at` and `attempts`); returns False when
        it was not (deleted, or reclaimed by another worker after `retry_after`).
        """
        ...

    def release(self, job: ReservedJob, *, now: int, delay_seconds: int = 0) -> int | str:
        """Put a job back as Laravel does: delete and re-insert with the same attempts (on
        Redis: move the reservation to `:delayed`); return its new id."""
        ...

    def release_in_place(
        self, job: ReservedJob, *, now: int, delay_seconds: int = 0, undo_attempt: bool = False
    ) -> bool:
        """Put a job back in its own row (same id), available after `delay_seconds`.

        The SO framework's release; also how a worker leaves a row it must not run (with
        `undo_attempt`, the reservation's count is taken back). Only while the row is still
        held by this reservation; False when it moved on.
        """
        ...

    def size(self, queue: str) -> int:
        """Number of rows on `queue`, in any state."""
        ...

    def clear(self, queue: str) -> int:
        """Delete every row of `queue` and return how many there were."""
        ...


class FailedJobStore(Protocol):
    """The `failed_jobs` table, in either layout (with or without `uuid`)."""

    @property
    def has_uuid(self) -> bool:
        """Whether the table has Laravel 8's `uuid` column."""
        ...

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
        """Insert a failed job as Laravel's worker does and return its id."""
        ...

    def find(self, id_or_uuid: int | str) -> FailedJobRecord | None:
        """Look a failed job up by id or uuid."""
        ...

    def select(self, selection: FailedJobFilter) -> Iterator[FailedJobRecord]:
        """Failed jobs matching `selection`, newest first."""
        ...

    def forget(self, id_or_uuid: int | str) -> bool:
        """Delete one failed job; False when there was none."""
        ...

    def flush(self, *, older_than: datetime | None = None) -> int:
        """Delete all failed jobs (or those failed at or before `older_than`)."""
        ...

    def prune(self, *, before: datetime) -> int:
        """Delete failed jobs failed strictly before `before`, in chunks; return the count."""
        ...


class BatchStore(Protocol):
    """The `job_batches` table, with Laravel's locked counter updates."""

    def create(self, *, batch_id: str, name: str, options: bytes | None, now: int) -> BatchRecord:
        """Insert an empty batch (no jobs yet, `failed_job_ids` `[]`) as Laravel does."""
        ...

    def increment_total_jobs(self, batch_id: str, count: int) -> BatchRecord:
        """Count `count` more jobs into the batch (total and pending, `finished_at` reset)
        and return it; `Stores.add_batch_jobs` also queues them.

        Raises:
            QueueError: There is no such batch.
        """
        ...

    def find(self, batch_id: str) -> BatchRecord | None:
        """Return the batch row, or None."""
        ...

    def record_success(self, batch_id: str, job_uuid: str, *, now: int) -> BatchRecord | None:
        """Decrement pending jobs under the row lock; set `finished_at` when none are left."""
        ...

    def record_failure(
        self, batch_id: str, job_uuid: str, *, now: int, allow_failures: bool
    ) -> BatchRecord | None:
        """Count a failed job under the row lock; cancel the batch unless failures are allowed."""
        ...
