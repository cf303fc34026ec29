"""`DatabaseFailedJobStore`: the `failed_jobs` table in either layout, and the retry move.

The layout (with or without `uuid`) is read from the database once, on first use. Rows are
written as Laravel's `queue:work` writes them: payload untouched, `failed_at` the naive
local time the caller passes, truncated to whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.exceptions import FailedJobNotFound
from bridge.laravel.payload import payload_uuid
from bridge.queue._engine import install_sqlite_locking
from bridge.queue._errors import retrying
from bridge.queue._filters import matches
from bridge.queue.base import (
    FailedJobFilter,
    FailedJobRecord,
    JobQueue,
    ReservedJob,
    RetryMove,
    log_then_delete,
    retry_one_by_one,
)
from bridge.queue.schema import inspect_failed_layout, make_failed_jobs_table

if TYPE_CHECKING:
    from bridge.queue.database import DatabaseQueue

_PAGE = 500
_PRUNE_CHUNK = 1000


#: Failed jobs moved per transaction by `retry_many` (each still all-or-nothing).
_RETRY_CHUNK = 100


class DatabaseFailedJobStore:
    """Laravel's `database-uuids` (or, without `uuid`, `database`) failed-job provider."""

    def __init__(self, *, engine: Engine, table: str = "failed_jobs") -> None:
        """Bind the store to a table; the layout is inspected on first use.

        Args:
            engine: Preferably from `create_engine_for`.
            table: The `failed_jobs` table name (`queue.failed.table`).
        """
        install_sqlite_locking(engine)
        self.engine = engine
        self.table_name = table
        self._table: sa.Table | None = None

    @property
    def has_uuid(self) -> bool:
        """Whether the table has Laravel 8's `uuid` column."""
        return "uuid" in self.table.c

    @property
    def table(self) -> sa.Table:
        """The table, built to match the layout found in the database."""
        if self._table is None:
            uuid = retrying(
                lambda: inspect_failed_layout(self.engine, self.table_name), idempotent=True
            )
            self._table = make_failed_jobs_table(sa.MetaData(), self.table_name, uuid=uuid)
        return self._table

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
        """Insert a failed job as Laravel's worker does and return its id.

        `uuid` is ignored in the id-only layout. Not retried after a lost connection: with a
        uuid the unique index would reject the second insert, without one it would duplicate.
        """
        insert = self._insert(uuid, connection, queue, payload, exception, failed_at)

        def run() -> int:
            with self.engine.begin() as conn:
                return _inserted_id(conn.execute(insert))

        return retrying(run, idempotent=False)

    def fail_job(
        self,
        job: ReservedJob,
        *,
        queue: JobQueue,
        uuid: str | None,
        exception: str,
        failed_at: datetime,
    ) -> int:
        """Move a reserved job into `failed_jobs`: insert the failed row, delete the `jobs` row.

        Both tables in one database: one transaction, so a crash or an error leaves the job
        either still in `jobs` (it comes back after `retry_after` and fails again) or in
        `failed_jobs`, never in neither. Other databases: the insert commits first, then the
        delete; a crash between the two leaves the job in both (it runs again), never lost.
        Not retried after a lost connection, as `log`.
        """
        from bridge.queue.database import DatabaseQueue

        insert = self._insert(
            uuid, queue.connection_name, job.queue, job.payload, exception, failed_at
        )
        if not (isinstance(queue, DatabaseQueue) and queue.same_database(self.engine)):
            return log_then_delete(
                self, job, queue=queue, uuid=uuid, exception=exception, failed_at=failed_at
            )
        jobs = queue.table
        delete = jobs.delete().where(jobs.c.id == job.id)

        def run() -> int:
            with self.engine.begin() as conn:
                # The DELETE first, as Laravel's order: it also locks the row.
                conn.execute(delete)
                return _inserted_id(conn.execute(insert))

        return retrying(run, idempotent=False)

    def _insert(
        self,
        uuid: str | None,
        connection: str,
        queue: str,
        payload: str,
        exception: str,
        failed_at: datetime,
    ) -> sa.Insert:
        values: dict[str, Any] = {
            "connection": connection,
            "queue": queue,
            "payload": _stored_text(payload, self.engine),
            "exception": exception,
            "failed_at": failed_at.replace(microsecond=0, tzinfo=None),
        }
        if self.has_uuid:
            values["uuid"] = uuid
        return self.table.insert().values(**values)

    def _where_key(self, id_or_uuid: int | str) -> sa.ColumnElement[bool]:
        c = self.table.c
        if isinstance(id_or_uuid, int):
            return c.id == id_or_uuid
        if not self.has_uuid:
            # The id-only layout names rows by number, also when the number came as text.
            return c.id == int(id_or_uuid) if id_or_uuid.isdigit() else sa.false()
        return c.uuid == id_or_uuid

    def find(self, id_or_uuid: int | str) -> FailedJobRecord | None:
        """Look a failed job up by id or uuid."""
        query = sa.select(self.table).where(self._where_key(id_or_uuid))

        def run() -> FailedJobRecord | None:
            with self.engine.begin() as conn:
                row = conn.execute(query).first()
            return None if row is None else self._record(row)

        return retrying(run, idempotent=True)

    def _record(self, row: sa.Row[Any]) -> FailedJobRecord:
        m = row._mapping
        failed_at = m["failed_at"]
        if isinstance(failed_at, str):  # a SQLite value in a format SQLAlchemy did not parse
            failed_at = datetime.fromisoformat(failed_at)
        return FailedJobRecord(
            id=int(m["id"]),
            uuid=m["uuid"] if self.has_uuid else None,
            connection=m["connection"],
            queue=m["queue"],
            payload=m["payload"],
            exception=m["exception"],
            failed_at=failed_at,
        )

    def _coarse_where(self, selection: FailedJobFilter) -> list[sa.ColumnElement[bool]]:
        # A superset of the matching rows; `matches` decides exactly afterwards.
        c = self.table.c
        where: list[sa.ColumnElement[bool]] = []
        wanted: list[sa.ColumnElement[bool]] = []
        if selection.ids:
            wanted.append(c.id.in_(selection.ids))
        if selection.uuids and self.has_uuid:
            wanted.append(c.uuid.in_(selection.uuids))
        if selection.id_range is not None:
            wanted.append(c.id.between(*selection.id_range))
        if selection.ids or selection.uuids or selection.id_range is not None:
            where.append(sa.or_(sa.false(), *wanted))
        if selection.queue is not None:
            where.append(c.queue == selection.queue)
        if selection.connection is not None:
            where.append(c.connection == selection.connection)
        if selection.exception_contains:
            where.append(c.exception.contains(selection.exception_contains, autoescape=True))
        if selection.failed_since is not None:
            where.append(c.failed_at >= selection.failed_since)
        if selection.failed_until is not None:
            where.append(c.failed_at <= selection.failed_until)
        if selection.command_name:
            short = selection.command_name.rsplit("\\", 1)[-1]
            if short.isascii():  # older payloads \u-escape non-ASCII, so only ASCII narrows
                where.append(c.payload.contains(short, autoescape=True))
        return where

    def select(self, selection: FailedJobFilter) -> Iterator[FailedJobRecord]:
        """Failed jobs matching `selection`, newest (highest id) first.

        Reads in pages of a few hundred rows, each in its own short transaction, so a long
        listing never holds a connection between pages.
        """
        where = self._coarse_where(selection)
        remaining = selection.limit
        before: int | None = None
        while remaining is None or remaining > 0:
            query = (
                sa.select(self.table).where(*where).order_by(self.table.c.id.desc()).limit(_PAGE)
            )
            if before is not None:
                query = query.where(self.table.c.id < before)

            def page(query: sa.Select[Any] = query) -> list[sa.Row[Any]]:
                with self.engine.begin() as conn:
                    return list(conn.execute(query).all())

            rows = retrying(page, idempotent=True)
            for row in rows:
                record = self._record(row)
                if matches(record, selection):
                    yield record
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            return
            if len(rows) < _PAGE:
                return
            before = int(rows[-1]._mapping["id"])

    def forget(self, id_or_uuid: int | str) -> bool:
        """Delete one failed job; False when there was none."""
        statement = self.table.delete().where(self._where_key(id_or_uuid))

        def run() -> bool:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount > 0

        return retrying(run, idempotent=True)

    def flush(self, *, older_than: datetime | None = None) -> int:
        """Delete all failed jobs, or those failed at or before `older_than` (`queue:flush`)."""
        statement = self.table.delete()
        if older_than is not None:
            statement = statement.where(self.table.c.failed_at <= older_than)

        def run() -> int:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount

        return retrying(run, idempotent=True)

    def prune(self, *, before: datetime) -> int:
        """Delete failed jobs failed before `before`, 1000 rows per statement, as Laravel does."""
        t = self.table
        old = t.c.failed_at < before
        if self.engine.dialect.name in {"mysql", "mariadb"}:
            statement = t.delete().where(old).with_dialect_options(mysql_limit=_PRUNE_CHUNK)
        else:
            chunk = sa.select(t.c.id).where(old).limit(_PRUNE_CHUNK).scalar_subquery()
            statement = t.delete().where(t.c.id.in_(chunk))

        def run() -> int:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount

        total = 0
        while deleted := retrying(run, idempotent=True):
            total += deleted
        return total

    def retry_into(
        self,
        record: FailedJobRecord,
        *,
        queue: JobQueue,
        payload: str,
        target_queue: str,
        now: int,
    ) -> int | str:
        """Move a failed job onto `queue` as a fresh row and delete the failed row.

        Same database: one transaction (INSERT, then DELETE of the failed row); if another
        process already moved it, nothing is inserted and `FailedJobNotFound` is raised.
        Other database (a migration): the failed row is locked for the duration, the target
        is searched for a row carrying the job's uuid before inserting (so a rerun after a
        crash never enqueues twice), then the failed row is deleted.

        Returns:
            The id of the new (or already present) `jobs` row.
        """
        from bridge.queue.database import DatabaseQueue

        if not isinstance(queue, DatabaseQueue):
            new_id = queue.push(payload, queue=target_queue, now=now)
            self.forget(record.id)
            return new_id
        if queue.same_database(self.engine):
            return self._move_within(record, queue, payload, target_queue, now)
        return self._move_across(record, queue, payload, target_queue, now)

    def retry_many(
        self, moves: Sequence[RetryMove], *, queue: JobQueue, now: int
    ) -> dict[int, int | str | None]:
        """Move failed jobs back; within one database, a chunk of them per transaction.

        A chunk locks its failed rows, deletes those still there and inserts their jobs in
        one transaction, so each job is moved whole or not at all, as with `retry_into`,
        with one commit per chunk instead of one per job. Across databases each job is
        moved on its own (`retry_into`), which is what makes a migration repeatable.
        """
        from bridge.queue.database import DatabaseQueue

        if not (isinstance(queue, DatabaseQueue) and queue.same_database(self.engine)):
            return retry_one_by_one(self, moves, queue=queue, now=now)
        result: dict[int, int | str | None] = {}
        for start in range(0, len(moves), _RETRY_CHUNK):
            result.update(self._move_chunk(moves[start : start + _RETRY_CHUNK], queue, now))
        return result

    def _move_chunk(
        self, moves: Sequence[RetryMove], queue: DatabaseQueue, now: int
    ) -> dict[int, int | None]:
        ids = [move.record.id for move in moves]
        t = self.table

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
                    move.record.id: _insert_job(conn, queue, move.payload, move.target_queue, now)
                    if move.record.id in present
                    else None
                    for move in moves
                }

        # Not retried after a lost connection: a commit might have happened.
        return retrying(run, idempotent=False)

    def _move_within(
        self, record: FailedJobRecord, queue: DatabaseQueue, payload: str, target: str, now: int
    ) -> int:
        def run() -> int:
            with self.engine.begin() as conn:
                if not conn.execute(
                    self.table.delete().where(self.table.c.id == record.id)
                ).rowcount:
                    raise FailedJobNotFound(f"failed job {record.id} is gone (already retried?)")
                return _insert_job(conn, queue, payload, target, now)

        # Not retried after a lost connection: a commit might have happened.
        return retrying(run, idempotent=False)

    def _move_across(
        self, record: FailedJobRecord, queue: DatabaseQueue, payload: str, target: str, now: int
    ) -> int:
        uuid = record.uuid or payload_uuid(payload)

        def run() -> int:
            with self.engine.begin() as source:
                locked = source.execute(
                    sa.select(self.table.c.id).where(self.table.c.id == record.id).with_for_update()
                ).first()
                if locked is None:
                    raise FailedJobNotFound(f"failed job {record.id} is gone (already retried?)")
                with queue.engine.begin() as dest:
                    existing = _find_by_uuid(dest, queue, uuid) if uuid else None
                    if existing is None:
                        existing = _insert_job(dest, queue, payload, target, now)
                source.execute(self.table.delete().where(self.table.c.id == record.id))
            return existing

        # With a uuid to look for, a rerun finds its own earlier insert: safe to repeat.
        return retrying(run, idempotent=uuid is not None)


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _stored_text(payload: str, engine: Engine) -> str | sa.ColumnElement[str]:
    """The payload as the INSERT takes it. A payload read from SQLite whose bytes are not
    UTF-8 carries them as lone surrogates (`DatabaseQueue.reserve`): it is written back as
    those very bytes, cast to TEXT (SQLite keeps a cast blob's bytes as they are)."""
    if payload.isascii() or engine.dialect.name != "sqlite":
        return payload
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:
        raw = payload.encode("utf-8", "surrogateescape")
        return sa.cast(sa.literal(raw, sa.LargeBinary), sa.Text)
    return payload


def _insert_job(conn: Connection, queue: DatabaseQueue, payload: str, target: str, now: int) -> int:
    t = queue.table
    key = conn.execute(
        t.insert().values(
            queue=target,
            attempts=0,
            reserved_at=None,
            available_at=now,
            created_at=now,
            payload=payload,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def _find_by_uuid(conn: Connection, queue: DatabaseQueue, uuid: str) -> int | None:
    t = queue.table
    rows = conn.execute(
        sa.select(t.c.id, t.c.payload).where(t.c.payload.contains(uuid, autoescape=True))
    ).all()
    return next((int(r.id) for r in rows if payload_uuid(r.payload) == uuid), None)
