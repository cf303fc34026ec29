"""Laravel's database queue driver over SQLAlchemy Core: `DatabaseQueue` and its siblings.

Every statement has the shape of the one Laravel issues: one INSERT per push,
one multi-row INSERT per bulk, a short reservation transaction that locks in id order with
`FOR UPDATE SKIP LOCKED` where the server has it, release as DELETE plus INSERT. (On
PostgreSQL with SKIP LOCKED a reservation is Laravel's SELECT and UPDATE in one statement,
`JobStatements.reserve_returning`: the same rows locked, marked and committed together, in
one round trip; and on psycopg a bulk is one COPY of the same rows.) All times come from the
caller. Retries (three tries in all): reads, reservations, deletes and `unreserve` are
repeated after a lost connection; `push`, `bulk` and `release` are not, because a lost
reply to a committed INSERT would enqueue the job twice. Deadlocks and lock timeouts, which
roll the whole transaction back, are repeated for every operation. (Dead pooled connections
are replaced before use by `pool_pre_ping`, so the common case needs no retry at all.)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from bridge.queue import _ahead, _ahead_postgres
from bridge.queue._ahead import AheadStatements, PyMySQLReservation
from bridge.queue._ahead_postgres import PsycopgReservation, reservation_params
from bridge.queue._batch_store import DatabaseBatchStore
from bridge.queue._cursor import run_on_cursor, watched
from bridge.queue._engine import (
    create_engine_for,
    idle_ping_seconds_of,
    install_sqlite_locking,
    supports_skip_locked,
)
from bridge.queue._errors import retrying, translate, worth_retrying, wrap_exceptions
from bridge.queue._failed_store import DatabaseFailedJobStore
from bridge.queue._kept import Busy, KeptConnection
from bridge.queue._statements import JobStatements
from bridge.queue.base import JobRow, NewJob, PendingReservation, QueueIdentity, ReservedJob
from bridge.queue.schema import make_jobs_table

__all__ = [
    "DatabaseBatchStore",
    "DatabaseFailedJobStore",
    "DatabaseQueue",
    "create_engine_for",
    "wrap_exceptions",
]

# The drivers a worker reads ahead on, and the isolation of the connection it uses.
_AHEAD_ISOLATION = {
    ("mysql", "pymysql"): "READ COMMITTED",
    ("mariadb", "pymysql"): "READ COMMITTED",
    ("postgresql", "psycopg"): "AUTOCOMMIT",
}


class DatabaseQueue(QueueIdentity):
    """One `jobs` table, used exactly as Laravel's `DatabaseQueue` uses it."""

    def __init__(
        self,
        *,
        engine: Engine,
        table: str = "jobs",
        connection_name: str = "database",
        retry_after_seconds: int = 90,
    ) -> None:
        """Bind the queue to a table; no I/O happens until the first operation.

        Args:
            engine: Preferably from `create_engine_for`; SQLite engines get `BEGIN IMMEDIATE`.
            table: The `jobs` table name (`queue.connections.database.table`).
            connection_name: Queue connection name, as written to `failed_jobs.connection`.
            retry_after_seconds: Must equal the PHP side's `retry_after` (skeleton: 90).
        """
        super().__init__(connection_name=connection_name, retry_after_seconds=retry_after_seconds)
        install_sqlite_locking(engine)
        self.engine = engine
        self.table = make_jobs_table(sa.MetaData(), table)
        self._skip_locked: bool | None = None
        self._sql = JobStatements(engine.dialect, self.table)
        # psycopg 3 (not psycopg2, whose cursors copy another way) takes bulk rows by COPY.
        self._copies = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        # SQLite writes take the file lock in `BEGIN IMMEDIATE` transactions; the servers get
        # Laravel's single autocommit INSERT per push.
        self._autocommit = (
            None
            if engine.dialect.name == "sqlite"
            else KeptConnection(engine, idle_ping_seconds=idle_ping_seconds_of(engine))
        )
        if self._autocommit is not None:
            weakref.finalize(self, self._autocommit.close)
        # A worker's reservations ahead (`reserve_ahead`) on a connection of their own:
        # statement by statement at READ COMMITTED on PyMySQL (`_ahead` says why), one
        # autocommit statement on psycopg (`_ahead_postgres`).
        isolation = _AHEAD_ISOLATION.get((engine.dialect.name, engine.dialect.driver))
        self._ahead = (
            KeptConnection(
                engine, idle_ping_seconds=idle_ping_seconds_of(engine), isolation_level=isolation
            )
            if isolation is not None
            else None
        )
        if self._ahead is not None:
            weakref.finalize(self, self._ahead.close)
        # The last of them, so that `close` can end it if it is still under way.
        self._under_way: weakref.ref[PyMySQLReservation | PsycopgReservation] | None = None

    def close(self) -> None:
        """Close the connections kept for pushes and reading ahead (reopened when needed)."""
        if self._autocommit is not None:
            self._autocommit.close()
        if self._ahead is not None:
            under_way = self._under_way() if self._under_way is not None else None
            if under_way is not None:
                under_way.abandon()
            self._ahead.close()

    def same_database(self, engine: Engine) -> bool:
        """Whether `engine` reaches the database this queue lives in (one transaction can span)."""
        return engine is self.engine or engine.url == self.engine.url

    # --- writes ------------------------------------------------------------------------

    def insert_rows(self, conn: Connection, jobs: Sequence[NewJob]) -> None:
        """Insert `jobs` with multi-row INSERTs on an open connection (for batch stores).

        One statement, as Laravel's `bulk()`, up to 1,000 rows or ~4 MB of payload; larger
        sets take several statements in the same transaction (SQLite caps bound parameters,
        MySQL the packet size). The SQL text is built directly: compiling a 500-row
        `insert().values()` costs SQLAlchemy ~80 ms, more than the INSERT itself.

        On PostgreSQL over psycopg the rows go in with one COPY instead: the same rows in the
        same order, in the same transaction, without psycopg rewriting and binding a few
        thousand placeholders per statement in Python (a 500-row INSERT ~11 ms, the COPY
        ~3 ms).
        """
        if self._copies and not watched(self.engine):
            statement = self._sql.copy_in()
            run_on_cursor(conn, lambda cursor: _copy_rows(cursor, statement, jobs))
            return
        if self._sql.literal_values:
            for text in self._sql.literal_inserts(
                jobs, max_rows=_CHUNK_ROWS, max_chars=_CHUNK_LITERAL_CHARS
            ):
                conn.exec_driver_sql(text)
            return
        for chunk in _chunks(jobs):
            params: list[Any] = []
            for job in chunk:
                params += [job.queue, job.attempts, None, job.available_at, job.created_at]
                params.append(job.payload)
            conn.exec_driver_sql(self._sql.insert(len(chunk)), tuple(params))

    def push(self, payload: str, *, queue: str, now: int, delay_seconds: int = 0) -> int:
        """Insert one job (attempts 0, not reserved) and return its id."""
        row = NewJob(payload, queue, now + delay_seconds, now)

        def insert() -> int:
            # The slot is an engine of its own: a listener on ours would not see its pushes.
            kept = self._autocommit
            if kept is not None and not watched(self.engine):
                row_id = (
                    kept.insert(self._sql.literal_insert(row))
                    if self._sql.literal_values
                    else kept.run_cursor(lambda cursor: self._insert_one(_executor(cursor), row))
                )
                if not isinstance(row_id, Busy):
                    return row_id
            with self.engine.begin() as conn:
                return self._insert_one(conn.exec_driver_sql, row)

        # The first try outside `retrying`: a push's Python runs just after the previous
        # INSERT's wait for the disk, when every extra call costs several times its usual
        # time. `retrying`'s policy holds all the same, three tries in all.
        try:
            return insert()
        except sa_exc.SQLAlchemyError as exc:
            error = translate(exc)
            if not worth_retrying(error, idempotent=False):
                raise error from exc
        return retrying(insert, idempotent=False, attempts=2)

    def _insert_one(self, execute: Execute, job: NewJob) -> int:
        """Insert one row with `execute` (`conn.exec_driver_sql`, or a cursor's); its id."""
        sql = self._sql
        if sql.literal_values:
            return int(execute(sql.literal_insert(job), None).lastrowid)
        row = (job.queue, job.attempts, None, job.available_at, job.created_at, job.payload)
        result = execute(sql.insert(returning_id=True), row)
        return int(result.fetchone()[0] if sql.returning else result.lastrowid)

    def bulk(self, jobs: Sequence[NewJob]) -> None:
        """Insert many jobs with one multi-row INSERT."""

        def insert() -> None:
            with self.engine.begin() as conn:
                self.insert_rows(conn, jobs)

        retrying(insert, idempotent=False)

    def reserve(
        self, queue: str, *, now: int, limit: int = 1, finished: Sequence[ReservedJob] = ()
    ) -> list[ReservedJob]:
        """Reserve up to `limit` available or expired jobs of `queue`, lowest id first.

        One transaction: a DELETE of the `finished` rows, if any; a locking SELECT (skipping
        rows other workers hold, where the server can); one UPDATE setting `reserved_at` and
        counting the attempt. Each commit waits for the disk, so a worker that hands its
        done rows in here commits once per batch instead of twice. On PostgreSQL with SKIP
        LOCKED the three are one statement on the connection kept for reading ahead, while
        that connection is free.
        """
        if self._sql.returning:
            # PostgreSQL: the same reservation as one statement on the kept connection
            # (see `_ahead_postgres`), one round trip instead of five; Laravel's statements
            # below when that connection is busy or cannot.
            rows = retrying(
                lambda: self._reserve_at_once(queue, now=now, limit=limit, finished=finished),
                idempotent=True,
            )
            if rows is not None:
                return rows
        select_sql = self._reserve_sql()
        params = (queue, now, now - self._retry_after_seconds, limit)
        done_ids = tuple(job.id for job in finished)
        delete_sql = self._sql.delete_ids(len(done_ids)) if done_ids else ""

        def statements(execute: Execute) -> list[Any]:
            if done_ids:
                execute(delete_sql, done_ids)
            rows: list[Any] = execute(select_sql, params).fetchall()
            if rows:
                ids = [row[0] for row in rows]
                execute(self._sql.mark_reserved(len(ids)), (now, *ids))
            return rows

        def run() -> list[ReservedJob]:
            with self.engine.begin() as conn:
                if watched(self.engine):
                    rows = statements(conn.exec_driver_sql)
                else:
                    rows = run_on_cursor(conn, lambda cursor: statements(_executor(cursor)))
            return [
                ReservedJob(
                    id=job_id,
                    queue=job_queue,
                    payload=payload if isinstance(payload, str) else _text_of(payload),
                    attempts=attempts + 1,
                    reserved_at=now,
                    available_at=available_at,
                    created_at=created_at,
                )
                for job_id, job_queue, payload, attempts, available_at, created_at in rows
            ]

        return retrying(run, idempotent=True)

    def _reserve_at_once(
        self, queue: str, *, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> list[ReservedJob] | None:
        pending = self.reserve_ahead(queue, now=now, limit=limit, finished=finished)
        return None if pending is None else pending.wait()

    def reserve_ahead(
        self, queue: str, *, now: int, limit: int, finished: Sequence[ReservedJob] = ()
    ) -> PendingReservation | None:
        """A reservation that goes on on a kept connection while the caller runs jobs
        (MySQL/MariaDB over PyMySQL and PostgreSQL over psycopg, where the server has SKIP
        LOCKED; None elsewhere, while a listener watches the engine, or while the last one
        is under way). See `_ahead` and `_ahead_postgres` for its statements and locks."""
        slot = self._ahead
        if slot is None or watched(self.engine):
            return None
        with wrap_exceptions():
            self._reserve_sql()  # learns whether the server has SKIP LOCKED
            if not self._skip_locked:
                return None
            conn = slot.hold()
        if isinstance(conn, Busy):
            return None

        def on_end(healthy: bool) -> None:
            slot.let_go(healthy=healthy)

        try:
            # The reservation's constructor sends its first statement; from then on it
            # gives the connection back itself, through `on_end`, whatever happens.
            pending = self._start_ahead(conn, queue, now, limit, finished, on_end)
        except BaseException:
            slot.let_go(healthy=False)
            raise
        if pending is None:
            slot.let_go(healthy=True)
            return None
        self._under_way = weakref.ref(pending)
        return pending

    def _start_ahead(
        self,
        conn: Connection,
        queue: str,
        now: int,
        limit: int,
        finished: Sequence[ReservedJob],
        on_end: Callable[[bool], None],
    ) -> PyMySQLReservation | PsycopgReservation | None:
        """The driver's reservation ahead, under way; None if the driver lacks the calls."""
        dbapi_connection: Any = conn.connection.dbapi_connection
        if self._sql.returning:
            if not _ahead_postgres.supports_reading_ahead(dbapi_connection):
                return None
            materialized = dbapi_connection.pgconn.server_version >= 120000
            params = reservation_params(
                dbapi_connection,
                finished=finished,
                queue=queue,
                now=now,
                expired=now - self._retry_after_seconds,
                limit=limit,
            )
            statement = self._sql.reserve_returning(materialized=materialized)
            return PsycopgReservation(conn, statement, params, now=now, on_end=on_end)
        if not _ahead.supports_reading_ahead(dbapi_connection):
            return None
        statements = self._ahead_statements(dbapi_connection, queue, now, limit, finished)
        return PyMySQLReservation(conn, statements, now=now, on_end=on_end)

    def _ahead_statements(
        self,
        dbapi_connection: Any,
        queue: str,
        now: int,
        limit: int,
        finished: Sequence[ReservedJob],
    ) -> AheadStatements:
        sql = self._sql
        expired = now - self._retry_after_seconds
        with dbapi_connection.cursor() as cursor:
            ids = tuple(job.id for job in finished)
            lock_head, lock_tail = sql.lock_candidates()
            mark_head, mark_tail = sql.mark_reserved_parts()
            lock_tail = cursor.mogrify(lock_tail, (now, expired))
            mark_head = cursor.mogrify(mark_head, (now,))
            return AheadStatements(
                delete=cursor.mogrify(sql.delete_ids(len(ids)), ids) if ids else None,
                candidates=cursor.mogrify(sql.candidates(), (queue, now, expired, limit)),
                lock=lambda id_list: f"{lock_head}{id_list}{lock_tail}",
                mark=lambda id_list: f"{mark_head}{id_list}{mark_tail}",
            )

    def _reserve_sql(self) -> str:
        if self._skip_locked is None:
            self._skip_locked = supports_skip_locked(self.engine)
        return self._sql.reserve(skip_locked=self._skip_locked)

    def delete(self, job: ReservedJob) -> None:
        """Delete a finished job (no-op if already gone)."""
        self.delete_many([job])

    def delete_many(self, jobs: Sequence[ReservedJob]) -> None:
        """Delete finished jobs with one DELETE (rows already gone are skipped)."""
        if not jobs:
            return
        statement = self._sql.delete_ids(len(jobs))
        ids = tuple(j.id for j in jobs)

        def run() -> None:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(statement, ids)

        retrying(run, idempotent=True)

    def unreserve(self, job: ReservedJob) -> bool:
        """Undo a reservation still held by `job`; False when the row moved on."""
        t = self.table
        statement = (
            t.update()
            .where(t.c.id == job.id, t.c.reserved_at == job.reserved_at)
            .where(t.c.attempts == job.attempts)
            .values(reserved_at=None, attempts=t.c.attempts - 1)
        )

        def run() -> bool:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount == 1

        # Repeating it is harmless: once undone, the WHERE no longer matches.
        return retrying(run, idempotent=True)

    def release_in_place(
        self, job: ReservedJob, *, now: int, delay_seconds: int = 0, undo_attempt: bool = False
    ) -> bool:
        """Put a job back in its own row; False when this reservation no longer holds it."""
        t = self.table
        values: dict[str, Any] = {"reserved_at": None, "available_at": now + delay_seconds}
        if undo_attempt:
            values["attempts"] = t.c.attempts - 1
        statement = (
            t.update()
            .where(t.c.id == job.id, t.c.reserved_at == job.reserved_at)
            .where(t.c.attempts == job.attempts)
            .values(**values)
        )

        def run() -> bool:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount == 1

        # Repeating it is harmless: once done, the WHERE no longer matches.
        return retrying(run, idempotent=True)

    def release(self, job: ReservedJob, *, now: int, delay_seconds: int = 0) -> int:
        """Put a job back as Laravel does: lock, delete, insert anew; returns the new id.

        The new row keeps the payload (byte-identical) and the attempts, with a new id and
        `created_at = now`. As in Laravel, the INSERT happens even if the row was gone.
        """
        t = self.table
        row = NewJob(
            payload=job.payload,
            queue=job.queue,
            available_at=now + delay_seconds,
            created_at=now,
            attempts=job.attempts,
        )

        def run() -> int:
            with self.engine.begin() as conn:
                found = conn.execute(
                    sa.select(t.c.id).where(t.c.id == job.id).limit(1).with_for_update()
                ).first()
                if found is not None:
                    conn.execute(t.delete().where(t.c.id == job.id))
                return self._insert_one(conn.exec_driver_sql, row)

        return retrying(run, idempotent=False)

    def clear(self, queue: str) -> int:
        """Delete every row of `queue` (reserved ones too) and return how many there were."""

        def run() -> int:
            with self.engine.begin() as conn:
                return conn.execute(self.table.delete().where(self.table.c.queue == queue)).rowcount

        return retrying(run, idempotent=True)

    # --- reads -------------------------------------------------------------------------

    def _count(self, *where: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(self.table).where(*where)

        def run() -> int:
            with self.engine.begin() as conn:
                return int(conn.execute(query).scalar_one())

        return retrying(run, idempotent=True)

    def size(self, queue: str) -> int:
        """Number of rows on `queue`, in any state."""
        return self._count(self.table.c.queue == queue)

    def pending_size(self, queue: str, *, now: int) -> int:
        """Unreserved rows of `queue` available at `now`."""
        t = self.table
        return self._count(t.c.queue == queue, t.c.reserved_at.is_(None), t.c.available_at <= now)

    def delayed_size(self, queue: str, *, now: int) -> int:
        """Unreserved rows of `queue` not yet available at `now`."""
        t = self.table
        return self._count(t.c.queue == queue, t.c.reserved_at.is_(None), t.c.available_at > now)

    def reserved_size(self, queue: str) -> int:
        """Reserved rows of `queue` (expired reservations included)."""
        t = self.table
        return self._count(t.c.queue == queue, t.c.reserved_at.is_not(None))

    def recent_payloads(self, limit: int = 20) -> list[str]:
        """The payloads of the newest rows, e.g. to detect which Laravel version wrote them."""
        t = self.table
        query = sa.select(t.c.payload).order_by(t.c.id.desc()).limit(limit)

        def run() -> list[str]:
            with self.engine.begin() as conn:
                return [str(payload) for (payload,) in conn.execute(query)]

        return retrying(run, idempotent=True)

    def rows(self, queue: str | None = None) -> list[JobRow]:
        """Every row (of `queue`, if given) in id order, for inspection and tests."""
        t = self.table
        query = sa.select(t).order_by(t.c.id)
        if queue is not None:
            query = query.where(t.c.queue == queue)

        def run() -> list[JobRow]:
            with self.engine.begin() as conn:
                return [JobRow(**r._asdict()) for r in conn.execute(query)]

        return retrying(run, idempotent=True)


# Runs one statement with its parameters (None: none) and returns something to fetch from:
# `Connection.exec_driver_sql`, or `_executor` over a DBAPI cursor.
Execute = Callable[[str, tuple[Any, ...] | None], Any]

_CHUNK_ROWS = 1_000
_CHUNK_BYTES = 4_000_000
# A MySQL INSERT with literals, hex included, stays under 4 MiB: the smallest default
# `max_allowed_packet` (MySQL 5.7).
_CHUNK_LITERAL_CHARS = 4_000_000


def _copy_rows(cursor: Any, statement: str, jobs: Sequence[NewJob]) -> None:
    with cursor.copy(statement) as copy:
        for job in jobs:
            copy.write_row(
                (job.queue, job.attempts, None, job.available_at, job.created_at, job.payload)
            )


def _chunks(jobs: Sequence[NewJob]) -> Iterator[Sequence[NewJob]]:
    start, size = 0, 0
    for index, job in enumerate(jobs):
        size += len(job.payload)
        if index - start >= _CHUNK_ROWS or (size > _CHUNK_BYTES and index > start):
            yield jobs[start:index]
            start, size = index, len(job.payload)
    if start < len(jobs):
        yield jobs[start:]


def _text_of(payload: bytes) -> str:
    """A payload SQLite handed over as bytes (`JobStatements.candidates`), as text; bytes that
    are not UTF-8 become lone surrogates, so that they are written back unchanged."""
    return payload.decode("utf-8", "surrogateescape")


def _executor(cursor: Any) -> Execute:
    """`conn.exec_driver_sql` in DBAPI terms: execute, then hand back the cursor to fetch."""

    def execute(statement: str, params: tuple[Any, ...] | None) -> Any:
        cursor.execute(statement, params)
        return cursor

    return execute
