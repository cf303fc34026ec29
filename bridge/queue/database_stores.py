"""`DatabaseStores`: one engine, its `jobs`, `failed_jobs` and `job_batches` tables, and the
moves between them, each in one transaction: a crash or an error leaves it done or not done.

A retry into another database (a migration) cannot share a transaction: it locks the failed
row, looks in the target for a row carrying the job's uuid before inserting, then deletes
the failed row, so a rerun after a crash never queues the job twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.dialect import FailedRow
from bridge.exceptions import FailedJobNotFound
from bridge.laravel.payload import payload_uuid
from bridge.queue._batch_store import DatabaseBatchStore
from bridge.queue._errors import retrying
from bridge.queue._failed_store import DatabaseFailedJobStore, inserted_id
from bridge.queue.base import BatchRecord, FailedJobRecord, JobQueue, NewJob, ReservedJob, RetryMove
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.stores import Stores

__all__ = ["DatabaseStores"]

#: Failed jobs moved per transaction by `retry_many` (each still all-or-nothing).
_RETRY_CHUNK = 100


class DatabaseStores(Stores):
    """Laravel's three queue tables on one engine, used as Laravel uses them."""

    queue: DatabaseQueue
    failed: DatabaseFailedJobStore
    batches: DatabaseBatchStore

    def __init__(
        self,
        *,
        engine: Engine,
        jobs_table: str = "jobs",
        failed_table: str = "failed_jobs",
        batches_table: str = "job_batches",
        connection_name: str = "database",
        retry_after_seconds: int = 90,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """Bind the stores to their tables (Laravel's `queue.connections.database.table`,
        `queue.failed.table`, `queue.batching.table`); no I/O until the first operation.
        `connection_name` and `retry_after_seconds` are the `DatabaseQueue`'s; `on_close`
        is called by `close` after the queue's kept connections are closed."""
        self.engine = engine
        super().__init__(
            queue=DatabaseQueue(
                engine=engine,
                table=jobs_table,
                connection_name=connection_name,
                retry_after_seconds=retry_after_seconds,
            ),
            failed=DatabaseFailedJobStore(engine=engine, table=failed_table),
            batches=DatabaseBatchStore(engine=engine, table=batches_table),
            on_close=on_close,
        )

    @classmethod
    def open(cls, url: str, **options: Any) -> DatabaseStores:
        """The stores of the database at `url` (`options` as the constructor's), on an engine
        of their own that `close` disposes of (SQLite then also removes its WAL side files)."""
        engine = create_engine_for(url)
        return cls(engine=engine, on_close=engine.dispose, **options)

    def close(self) -> None:
        """Close the connections the queue keeps, then what `on_close` names."""
        self.queue.close()
        super().close()

    def fail(
        self,
        job: ReservedJob,
        *,
        uuid: str | None,
        exception: str,
        failed_at: datetime,
        as_row: FailedRow | None = None,
    ) -> int:
        """Delete the `jobs` row and insert the failed one (shaped as `Stores.fail` says)
        in one transaction.

        Not retried after a lost connection: the commit may have happened, and the failed
        row would be written twice (or refused by the unique uuid).
        """
        row = self._failed_row(job, as_row)
        insert = self.failed.insert_statement(
            uuid, row.connection, row.queue, row.payload, exception, failed_at
        )
        jobs = self.queue.table
        delete = jobs.delete().where(jobs.c.id == job.id)

        def run() -> int:
            with self.engine.begin() as conn:
                # The DELETE first, as Laravel's order: it also locks the row.
                conn.execute(delete)
                return inserted_id(conn.execute(insert))

        return retrying(run, idempotent=False)

    def _local(self, into: JobQueue | None) -> DatabaseQueue | None:
        # The `jobs` table a retry goes to when it shares this database, else None.
        if into is None:
            return self.queue
        if isinstance(into, DatabaseQueue) and into.same_database(self.engine):
            return into
        return None

    def retry(
        self,
        record: FailedJobRecord,
        *,
        payload: str,
        target_queue: str,
        now: int,
        into: JobQueue | None = None,
    ) -> int | str:
        """Move a failed job back: one transaction within this database (INSERT of the new
        row, DELETE of the failed one); into another database, repeatable (module notes).

        Raises:
            FailedJobNotFound: The failed row is gone (another process moved it); nothing
                was inserted.
        """
        local = self._local(into)
        if local is not None:
            move = RetryMove(record, payload, target_queue)
            new_id = self._move_chunk([move], local, now)[record.id]
            if new_id is None:
                raise FailedJobNotFound(f"failed job {record.id} is gone (already retried?)")
            return new_id
        if isinstance(into, DatabaseQueue):
            return self._move_across(record, into, payload, target_queue, now)
        return super().retry(record, payload=payload, target_queue=target_queue, now=now, into=into)

    def retry_many(
        self, moves: Sequence[RetryMove], *, now: int, into: JobQueue | None = None
    ) -> dict[int, int | str | None]:
        """Move failed jobs back; within this database a chunk of them per transaction.

        A chunk locks its failed rows, deletes those still there and inserts their jobs in
        one transaction: each job moved whole or not at all, one commit per chunk. Into
        another database each job moves on its own (`retry`), which keeps a migration
        repeatable.
        """
        local = self._local(into)
        if local is None:
            return super().retry_many(moves, now=now, into=into)
        result: dict[int, int | str | None] = {}
        for start in range(0, len(moves), _RETRY_CHUNK):
            result.update(self._move_chunk(moves[start : start + _RETRY_CHUNK], local, now))
        return result

    def add_batch_jobs(self, batch_id: str, jobs: Sequence[NewJob]) -> BatchRecord:
        """Count `jobs` into the batch and insert them in one transaction, as Laravel does."""

        def run() -> BatchRecord:
            with self.engine.begin() as conn:
                record = self.batches.increment_on(conn, batch_id, len(jobs))
                self.queue.insert_rows(conn, jobs)
                return record

        return retrying(run, idempotent=False)

    def _move_chunk(
        self, moves: Sequence[RetryMove], target: DatabaseQueue, now: int
    ) -> dict[int, int | None]:
        ids = [move.record.id for move in moves]
        t = self.failed.table

        def run() -> dict[int, int | None]:
            with self.engine.begin() as conn:
                present = {
                    row_id
                    for (row_id,) in conn.execute(
                        sa.select(t.c.id).where(t.c.id.in_(ids)).with_for_update()
                    )
                }
                if present:
                    conn.execute(t.delete().where(t.c.id.in_(present)))
                return {
                    move.record.id: _insert_job(conn, target, move.payload, move.target_queue, now)
                    if move.record.id in present
                    else None
                    for move in moves
                }

        # Not retried after a lost connection: a commit might have happened.
        return retrying(run, idempotent=False)

    def _move_across(
        self, record: FailedJobRecord, target: DatabaseQueue, payload: str, queue: str, now: int
    ) -> int:
        t = self.failed.table
        uuid = record.uuid or payload_uuid(payload)

        def run() -> int:
            with self.engine.begin() as source:
                locked = source.execute(
                    sa.select(t.c.id).where(t.c.id == record.id).with_for_update()
                ).first()
                if locked is None:
                    raise FailedJobNotFound(f"failed job {record.id} is gone (already retried?)")
                with target.engine.begin() as dest:
                    existing = _find_by_uuid(dest, target, uuid) if uuid else None
                    if existing is None:
                        existing = _insert_job(dest, target, payload, queue, now)
                source.execute(t.delete().where(t.c.id == record.id))
            return existing

        # With a uuid to look for, a rerun finds its own earlier insert: safe to repeat.
        return retrying(run, idempotent=uuid is not None)


def _insert_job(conn: Connection, target: DatabaseQueue, payload: str, queue: str, now: int) -> int:
    t = target.table
    return inserted_id(
        conn.execute(
            t.insert().values(
                queue=queue,
                attempts=0,
                reserved_at=None,
                available_at=now,
                created_at=now,
                payload=payload,
            )
        )
    )


def _find_by_uuid(conn: Connection, target: DatabaseQueue, uuid: str) -> int | None:
    t = target.table
    rows = conn.execute(
        sa.select(t.c.id, t.c.payload).where(t.c.payload.contains(uuid, autoescape=True))
    ).all()
    return next((int(r.id) for r in rows if payload_uuid(r.payload) == uuid), None)
