"""`DatabaseBatchStore`: the `job_batches` table with Laravel's locked counter updates.

Each counter update is one transaction that locks the batch row (`SELECT ... FOR UPDATE`;
on SQLite the `BEGIN IMMEDIATE` write lock), applies the rule from `_batch_rules` and
writes the row back, so concurrent PHP and Python workers never lose an update. `options`
is stored as given: PHP-serialized text (base64 on PostgreSQL, done by the payload layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.exceptions import QueueError
from bridge.queue._batch_rules import (
    decode_failed_ids,
    encode_failed_ids,
    failure_update,
    success_update,
)
from bridge.queue._engine import install_sqlite_locking
from bridge.queue._errors import retrying
from bridge.queue.base import BatchRecord
from bridge.queue.schema import make_batches_table


class DatabaseBatchStore:
    """Laravel's `DatabaseBatchRepository` on one `job_batches` table."""

    def __init__(self, *, engine: Engine, table: str = "job_batches") -> None:
        """Bind the store to a table.

        Args:
            engine: Preferably from `create_engine_for`.
            table: The `job_batches` table name (`queue.batching.table`).
        """
        install_sqlite_locking(engine)
        self.engine = engine
        self.table = make_batches_table(sa.MetaData(), table)

    def create(self, *, batch_id: str, name: str, options: bytes | None, now: int) -> BatchRecord:
        """Insert an empty batch (counters 0, `failed_job_ids` `[]`) and return it."""
        record = BatchRecord.empty(batch_id=batch_id, name=name, options=options, now=now)
        values = _row_values(record)

        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(id=batch_id, **values))

        retrying(run, idempotent=False)
        return record

    def increment_on(self, conn: Connection, batch_id: str, count: int) -> BatchRecord:
        """Count `count` more jobs into the batch on `conn` (total and pending, `finished_at`
        reset) and return the row as it now is.

        Raises:
            QueueError: There is no such batch.
        """
        t = self.table
        bump = (
            t.update()
            .where(t.c.id == batch_id)
            .values(
                total_jobs=t.c.total_jobs + count,
                pending_jobs=t.c.pending_jobs + count,
                finished_at=None,
            )
        )
        if not conn.execute(bump).rowcount:
            raise QueueError(f"no batch {batch_id!r}")
        return self._read(conn, batch_id, lock=False)

    def increment_total_jobs(self, batch_id: str, count: int) -> BatchRecord:
        """`increment_on`, in a transaction of its own."""

        def run() -> BatchRecord:
            with self.engine.begin() as conn:
                return self.increment_on(conn, batch_id, count)

        return retrying(run, idempotent=False)

    def find(self, batch_id: str) -> BatchRecord | None:
        """Return the batch row, or None."""

        def run() -> BatchRecord | None:
            with self.engine.begin() as conn:
                return self._read_or_none(conn, batch_id, lock=False)

        return retrying(run, idempotent=True)

    def record_success(self, batch_id: str, job_uuid: str, *, now: int) -> BatchRecord | None:
        """One job fewer pending, its uuid out of `failed_job_ids`; finished when none left."""
        return self._locked_update(batch_id, lambda b: success_update(b, job_uuid, now=now))

    def record_failure(
        self, batch_id: str, job_uuid: str, *, now: int, allow_failures: bool
    ) -> BatchRecord | None:
        """One more failed job; the first failure cancels the batch unless failures are allowed."""
        return self._locked_update(
            batch_id,
            lambda b: failure_update(b, job_uuid, now=now, allow_failures=allow_failures),
        )

    def _locked_update(
        self, batch_id: str, rule: Callable[[BatchRecord], BatchRecord]
    ) -> BatchRecord | None:
        t = self.table

        def run() -> BatchRecord | None:
            with self.engine.begin() as conn:
                current = self._read_or_none(conn, batch_id, lock=True)
                if current is None:
                    return None
                updated = rule(current)
                conn.execute(t.update().where(t.c.id == batch_id).values(**_row_values(updated)))
                return updated

        # Not repeated after a lost connection: the update may have committed, and doing it
        # twice would count the job twice. Deadlocks roll back entirely and are repeated.
        return retrying(run, idempotent=False)

    def _read(self, conn: Connection, batch_id: str, *, lock: bool) -> BatchRecord:
        record = self._read_or_none(conn, batch_id, lock=lock)
        if record is None:
            raise QueueError(f"no batch {batch_id!r}")
        return record

    def _read_or_none(self, conn: Connection, batch_id: str, *, lock: bool) -> BatchRecord | None:
        query = sa.select(self.table).where(self.table.c.id == batch_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        return None if row is None else _record(row._mapping)


def _row_values(record: BatchRecord) -> dict[str, Any]:
    try:
        options = None if record.options is None else record.options.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueueError(
            f"batch options are not UTF-8 text (byte {exc.start}); base64-encode them first"
        ) from exc
    return {
        "name": record.name,
        "total_jobs": record.total_jobs,
        "pending_jobs": record.pending_jobs,
        "failed_jobs": record.failed_jobs,
        "failed_job_ids": encode_failed_ids(record.failed_job_ids),
        "options": options,
        "cancelled_at": record.cancelled_at,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
    }


def _record(m: Any) -> BatchRecord:
    options = m["options"]
    return BatchRecord(
        id=m["id"],
        name=m["name"],
        total_jobs=int(m["total_jobs"]),
        pending_jobs=int(m["pending_jobs"]),
        failed_jobs=int(m["failed_jobs"]),
        failed_job_ids=decode_failed_ids(m["failed_job_ids"]),
        options=None if options is None else str(options).encode("utf-8"),
        cancelled_at=m["cancelled_at"],
        created_at=int(m["created_at"]),
        finished_at=m["finished_at"],
    )
