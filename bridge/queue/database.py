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
roll the whole transaction back, are repeated for every operation. (Pooled connections idle
for a while are pinged before use, `create_engine_for`, so the common case needs no retry.)

A worker's reading ahead (`reserve(..., ahead=)`) lives here too, out of its sight: the
bookkeeping in `_ahead`, the drivers' reservations in `_ahead_mysql` and `_ahead_postgres`,
on a connection kept for them (`_kept`); all SQL text comes from `_statements`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bridge.queue import _driver
from bridge.queue._ahead import ReadAhead, ReadsAhead, UnderWay
from bridge.queue._ahead_mysql import PyMySQLReservation
from bridge.queue._ahead_postgres import PsycopgReservation, reservation_params
from bridge.queue._batch_store import DatabaseBatchStore
from bridge.queue._driver import run_on_cursor, watched
from bridge.queue._engine import (
    create_engine_for,
    idle_ping_seconds_of,
    install_sqlite_locking,
    supports_skip_locked,
)
from bridge.queue._errors import retrying, wrap_exceptions
from bridge.queue._failed_store import DatabaseFailedJobStore
from bridge.queue._kept import Busy, KeptConnection
from bridge.queue._statements import JobStatements
from bridge.queue.base import JobRow, NewJob, QueueIdentity, ReservedJob
from bridge.queue.schema import make_jobs_table

__all__ = [
    "DatabaseBatchStore",
    "DatabaseFailedJobStore",
    "DatabaseQueue",
    "create_engine_for",
    "wrap_exceptions",
]

T = TypeVar("T")

# The drivers a worker reads ahead on, and the isolation of the connection it uses.
_AHEAD_ISOLATION = {
    ("mysql", "pymysql"): "READ COMMITTED",
    ("mariadb", "pymysql"): "READ COMMITTED",
    ("postgresql", "psycopg"): "AUTOCOMMIT",
}


class DatabaseQueue(ReadsAhead, QueueIdentity):
    """One `jobs` table, used exactly as Laravel's `DatabaseQueue` uses it.

    A reservation (`reserve`) is one transaction: a DELETE of the `finished` rows, if any;
    a locking SELECT (skipping rows other workers hold, where the server can); one UPDATE
    setting `reserved_at` and counting the attempt. Each commit waits for the disk, so a
    worker that hands its done rows in there commits once per batch instead of twice. On
    PostgreSQL with SKIP LOCKED the three are one statement on the connection kept for
    reading ahead, while that connection is free.

    Reading `ahead` happens on MySQL/MariaDB over PyMySQL and PostgreSQL over psycopg,
    where the server has SKIP LOCKED and no listener watches the engine; `_ahead_mysql` and
    `_ahead_postgres` give its statements and locks.
    """

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
        # A worker's reservations ahead (`reserve(..., ahead=)`) on a connection of their
        # own: statement by statement at READ COMMITTED on PyMySQL (`_ahead_mysql` says
        # why), one autocommit statement on psycopg (`_ahead_postgres`).
        isolation = _AHEAD_ISOLATION.get((engine.dialect.name, engine.dialect.driver))
        self._ahead_slot = (
            KeptConnection(
                engine, idle_ping_seconds=idle_ping_seconds_of(engine), isolation_level=isolation
            )
            if isolation is not None
            else None
        )
        if self._ahead_slot is not None:
            weakref.finalize(self, self._ahead_slot.close)
        self._reading = ReadAhead(
            start=self._start_ahead,
            reserve=self._reserve_now,
            delete=self._delete_ids,
            unreserve=self.unreserve,
        )

    def close(self) -> None:
        """Close the kept connections (reopened when needed), ending a reservation made
        ahead unfinished: the server rolls back what it had not committed."""
        if self._autocommit is not None:
            self._autocommit.close()
        if self._ahead_slot is not None:
            self._reading.abandon()
            self._ahead_slot.close()

    def same_database(self, engine: Engine) -> bool:
        """Whether `engine` reaches the database this queue lives in (one transaction can span)."""
        return engine is self.engine or engine.url == self.engine.url

    # --- writes ------------------------------------------------------------------------

    def insert_rows(self, conn: Connection, jobs: Sequence[NewJob]) -> None:
        """Insert `jobs` with multi-row INSERTs on an open connection (for batch stores).

        One statement, as Laravel's `bulk()`, up to 1,000 rows or ~4 MB of payload; larger
        sets take several statements in the same transaction (SQLite caps bound parameters,
        MySQL the packet size). The SQL text is built directly: compiling a 500-row
        `insert().values()` costs SQLAlchemy more than the INSERT itself.

        On PostgreSQL over psycopg the rows go in with one COPY instead: the same rows in the
        same order, in the same transaction, without psycopg rewriting and binding a few
        thousand placeholders per statement in Python.
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

        return retrying(insert, idempotent=False)

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

        self._run(lambda conn: self.insert_rows(conn, jobs), idempotent=False)

    def _reserve_now(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> list[ReservedJob]:
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
        pending = self._start_ahead(queue, now, limit, finished)
        return None if pending is None else pending.wait()

    def _start_ahead(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> UnderWay | None:
        """A reservation under way on the kept connection; None where it cannot be made
        (see `reserve`), or while that connection is busy."""
        slot = self._ahead_slot
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
            pending = self._driver_reservation(conn, queue, now, limit, finished, on_end)
        except BaseException:
            slot.let_go(healthy=False)
            raise
        if pending is None:
            slot.let_go(healthy=True)
        return pending

    def _driver_reservation(
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
            if not _driver.psycopg_reads_ahead(dbapi_connection):
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
        if not _driver.pymysql_reads_ahead(dbapi_connection):
            return None
        with dbapi_connection.cursor() as cursor:
            statements = self._sql.ahead_mysql(
                cursor.mogrify,
                queue=queue,
                now=now,
                expired=now - self._retry_after_seconds,
                limit=limit,
                finished=[job.id for job in finished],
            )
        return PyMySQLReservation(conn, statements, now=now, on_end=on_end)

    def _reserve_sql(self) -> str:
        if self._skip_locked is None:
            self._skip_locked = supports_skip_locked(self.engine)
        return self._sql.reserve(skip_locked=self._skip_locked)

    def _delete_ids(self, jobs: Sequence[ReservedJob]) -> None:
        if not jobs:
            return
        statement = self._sql.delete_ids(len(jobs))
        ids = tuple(j.id for j in jobs)
        self._run(lambda conn: conn.exec_driver_sql(statement, ids))

    def unreserve(self, job: ReservedJob) -> bool:
        """Undo a reservation still held by `job`; False when the row moved on."""
        statement = self._sql.unreserve()
        params = (job.id, job.reserved_at, job.attempts)
        # Repeating it is harmless: once undone, the WHERE no longer matches.
        return self._run(lambda conn: conn.exec_driver_sql(statement, params).rowcount == 1)

    def release_in_place(
        self, job: ReservedJob, *, now: int, delay_seconds: int = 0, undo_attempt: bool = False
    ) -> bool:
        """Put a job back in its own row; False when this reservation no longer holds it."""
        statement = self._sql.release_in_place(undo_attempt=undo_attempt)
        params = (now + delay_seconds, job.id, job.reserved_at, job.attempts)
        # Repeating it is harmless: once done, the WHERE no longer matches.
        return self._run(lambda conn: conn.exec_driver_sql(statement, params).rowcount == 1)

    def release(self, job: ReservedJob, *, now: int, delay_seconds: int = 0) -> int:
        """Put a job back as Laravel does: lock, delete, insert anew; returns the new id.

        The new row keeps the payload (byte-identical) and the attempts, with a new id and
        `created_at = now`. As in Laravel, the INSERT happens even if the row was gone.
        """
        row = NewJob(
            payload=job.payload,
            queue=job.queue,
            available_at=now + delay_seconds,
            created_at=now,
            attempts=job.attempts,
        )
        sql = self._sql

        def run(conn: Connection) -> int:
            if conn.exec_driver_sql(sql.lock_id(), (job.id,)).first() is not None:
                conn.exec_driver_sql(sql.delete_ids(1), (job.id,))
            return self._insert_one(conn.exec_driver_sql, row)

        return self._run(run, idempotent=False)

    def clear(self, queue: str) -> int:
        """Delete every row of `queue` (reserved ones too) and return how many there were."""
        statement = self._sql.clear()
        return self._run(lambda conn: int(conn.exec_driver_sql(statement, (queue,)).rowcount))

    def _run(self, operation: Callable[[Connection], T], *, idempotent: bool = True) -> T:
        """`operation` in a transaction of its own, under `retrying`."""

        def run() -> T:
            with self.engine.begin() as conn:
                return operation(conn)

        return retrying(run, idempotent=idempotent)

    # --- reads -------------------------------------------------------------------------

    def size(self, queue: str) -> int:
        """Number of rows on `queue`, in any state."""
        statement = self._sql.count()
        return self._run(lambda conn: int(conn.exec_driver_sql(statement, (queue,)).scalar_one()))

    def recent_payloads(self, limit: int = 20) -> list[str]:
        """The payloads of the newest rows, e.g. to detect which Laravel version wrote them."""
        statement = self._sql.recent_payloads()
        return self._run(
            lambda conn: [str(payload) for (payload,) in conn.exec_driver_sql(statement, (limit,))]
        )

    def rows(self, queue: str | None = None) -> list[JobRow]:
        """Every row (of `queue`, if given) in id order, for inspection and tests."""
        statement = self._sql.rows(of_queue=queue is not None)
        params = None if queue is None else (queue,)
        return self._run(
            lambda conn: [JobRow(*row) for row in conn.exec_driver_sql(statement, params)]
        )


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
