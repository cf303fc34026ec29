"""Reading ahead (`DatabaseQueue.reserve(..., ahead=)`): a reservation that proceeds while
the worker runs jobs.

On MariaDB (PyMySQL) it is the same reservation as `reserve`, sent statement by statement;
while it is open it holds only rows that are the worker's own (READ COMMITTED), so pushes,
the worker's own writes and other workers never wait for it. On PostgreSQL (psycopg) it is
one autocommit statement whose locks end with it, whenever its answer is read. On SQLite,
and while a listener watches the engine, it is not offered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.exceptions import QueueError
from bridge.queue._ahead import UnderWay
from bridge.queue._ahead_mysql import PyMySQLReservation
from bridge.queue._ahead_postgres import PsycopgReservation, reservation_params
from bridge.queue.base import ReservedJob
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.schema import migrate

NOW = 1_760_000_000


def reserve_ahead(
    queue: DatabaseQueue, name: str, *, now: int, limit: int, finished: Sequence[ReservedJob] = ()
) -> UnderWay | None:
    """Start a reservation ahead as `reserve(..., ahead=)` does, and hand it over (None where
    the queue cannot, or while its connection is busy)."""
    return queue._start_ahead(name, now, limit, finished)


def _queue_on(url: str) -> Iterator[DatabaseQueue]:
    engine = create_engine_for(url)
    table = f"jobs_{time.time_ns()}"
    migrate(engine, jobs_table=table, failed_table=f"f_{table}", batches_table=f"b_{table}")
    queue = DatabaseQueue(engine=engine, table=table)
    yield queue
    queue.close()
    with engine.begin() as conn:
        for name in (table, f"f_{table}", f"b_{table}"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    engine.dispose()


@pytest.fixture
def mysql_queue(mysql_url: str) -> Iterator[DatabaseQueue]:
    yield from _queue_on(mysql_url)


@pytest.fixture
def postgres_queue(postgres_url: str) -> Iterator[DatabaseQueue]:
    yield from _queue_on(postgres_url)


def _answered(pending: PyMySQLReservation) -> None:
    """Wait (without reading it) until the server has answered the statement in flight."""
    for _ in range(1000):
        if pending._answered():
            return
        time.sleep(0.01)
    raise AssertionError("the database never answered")


def _other_session(queue: DatabaseQueue) -> sa.Connection:
    """A connection that gives up on a row lock after a second instead of waiting 50."""
    conn = queue.engine.connect()
    if queue.engine.dialect.name == "postgresql":
        conn.exec_driver_sql("SET lock_timeout = '1s'")
    else:
        conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
    return conn


def _update_and_push(other: sa.Connection, queue: DatabaseQueue, row_ids: list[int]) -> None:
    """From `other` (which gives up on a held lock): write to `row_ids` and push a row."""
    try:
        other.exec_driver_sql(
            f"UPDATE {queue.table.name} SET attempts = attempts"
            f" WHERE id IN ({', '.join(str(row_id) for row_id in row_ids)})"
        )
        other.exec_driver_sql(
            f"INSERT INTO {queue.table.name} (queue, payload, attempts, reserved_at,"
            f" available_at, created_at) VALUES ('default', 'late', 0, NULL, {NOW}, {NOW})"
        )
        other.commit()
    finally:
        other.close()


@pytest.fixture(params=["mysql", "postgres"])
def server_queue(request: pytest.FixtureRequest) -> Iterator[DatabaseQueue]:
    """A queue on each server in turn."""
    yield from _queue_on(str(request.getfixturevalue(f"{request.param}_url")))


def test_reads_ahead_what_reserve_would_reserve(server_queue: DatabaseQueue) -> None:
    queue = server_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(6)]
    first = queue.reserve("default", now=NOW, limit=2)
    pending = reserve_ahead(queue, "default", now=NOW + 1, limit=3, finished=first)
    mysql = queue.engine.dialect.name == "mysql"
    assert isinstance(pending, PyMySQLReservation if mysql else PsycopgReservation)
    # Busy while in flight: a second one is refused rather than queued behind it.
    assert reserve_ahead(queue, "default", now=NOW + 1, limit=3) is None
    while not pending.done:
        pending.poll()
    rows = pending.wait()
    assert rows == [
        ReservedJob(
            id=row_id,
            queue="default",
            payload=f"p{i}",
            attempts=1,
            reserved_at=NOW + 1,
            available_at=NOW,
            created_at=NOW,
        )
        for i, row_id in enumerate(ids[2:5], start=2)
    ]
    stored = {r.id: (r.attempts, r.reserved_at) for r in queue.rows()}
    # The finished rows went with it; the rows it took are reserved as `reserve` leaves them.
    assert stored == {
        ids[2]: (1, NOW + 1),
        ids[3]: (1, NOW + 1),
        ids[4]: (1, NOW + 1),
        ids[5]: (0, None),
    }
    # The connection is free again, and an empty reservation still deletes what it was given.
    last = reserve_ahead(queue, "other", now=NOW + 2, limit=3, finished=rows)
    assert last is not None and last.wait() == []
    assert [r.id for r in queue.rows()] == [ids[5]]


def test_an_open_reservation_ahead_holds_only_its_own_rows(server_queue: DatabaseQueue) -> None:
    queue = server_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(8)]
    current = queue.reserve("default", now=NOW, limit=3)  # the batch the worker runs
    pending = reserve_ahead(queue, "default", now=NOW, limit=3, finished=current[:1])
    if isinstance(pending, PyMySQLReservation):
        # Step by step, as between jobs: the DELETE, the candidates, the lock; the UPDATE
        # is under way and the transaction open, as while a job runs. The worker's own rows
        # of the current batch, which the candidates' read passed, are free:
        for _ in range(3):
            pending._step()
        free = [current[1].id]
    else:
        # One statement, run and committed, its answer not read yet: the rows it took are
        # free as well as the current batch's.
        assert isinstance(pending, PsycopgReservation)
        _finished_on_server(queue, reserved=ids[3:6], deleted=[current[0].id])
        free = [current[1].id, ids[3]]
    # ...and so is the queue for a push past the rows it read.
    _update_and_push(_other_session(queue), queue, free)
    # Another worker skips the rows held ahead and takes the next ones.
    taken = queue.reserve("default", now=NOW, limit=2)
    assert [job.id for job in taken] == ids[6:8]
    assert [job.id for job in pending.wait()] == ids[3:6]
    assert ids[0] not in {r.id for r in queue.rows()}


def test_candidates_taken_meanwhile_are_left_to_their_taker(mysql_queue: DatabaseQueue) -> None:
    queue = mysql_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    pending = reserve_ahead(queue, "default", now=NOW + 1, limit=3)
    assert isinstance(pending, PyMySQLReservation)
    _answered(pending)  # the candidates are read: the first three rows, none locked
    taken = queue.reserve("default", now=NOW, limit=2)  # another worker is quicker
    assert [job.id for job in taken] == ids[:2]
    rows = pending.wait()
    assert [(job.id, job.attempts, job.reserved_at) for job in rows] == [(ids[2], 1, NOW + 1)]
    stored = {r.id: (r.attempts, r.reserved_at) for r in queue.rows()}
    assert stored == {
        ids[0]: (1, NOW),
        ids[1]: (1, NOW),
        ids[2]: (1, NOW + 1),
        ids[3]: (0, None),
    }
    # Nothing of the other worker's is left locked: it deletes its rows at once.
    other = _other_session(queue)
    try:
        other.exec_driver_sql(f"DELETE FROM {queue.table.name} WHERE id IN ({ids[0]}, {ids[1]})")
        other.commit()
    finally:
        other.close()


def _assert_untouched_and_next_one_works(
    queue: DatabaseQueue, ids: list[int], first: list[ReservedJob]
) -> None:
    """After a failed reservation ahead: `first` still reserved and not deleted, nothing
    else reserved; the dead connection was dropped and the next reservation works."""
    stored = {r.id: (r.attempts, r.reserved_at) for r in queue.rows()}
    assert stored == {ids[0]: (1, NOW), ids[1]: (0, None), ids[2]: (0, None), ids[3]: (0, None)}
    again = reserve_ahead(queue, "default", now=NOW, limit=2, finished=first)
    assert again is not None
    assert [job.id for job in again.wait()] == ids[1:3]
    assert [r.id for r in queue.rows()] == ids[1:]


def test_a_reservation_ahead_that_fails_reserves_and_deletes_nothing(
    mysql_queue: DatabaseQueue, mysql_url: str
) -> None:
    queue = mysql_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    first = queue.reserve("default", now=NOW, limit=1)
    pending = reserve_ahead(queue, "default", now=NOW, limit=2, finished=first)
    assert isinstance(pending, PyMySQLReservation)
    killer = create_engine_for(mysql_url)
    with killer.connect() as conn:
        conn.exec_driver_sql(f"KILL CONNECTION {pending._dbapi.thread_id()}")
    killer.dispose()
    with pytest.raises(QueueError):
        pending.wait()
    _assert_untouched_and_next_one_works(queue, ids, first)


def test_not_offered_where_it_cannot_work(engine: Engine, tables: Tables) -> None:
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    queue = DatabaseQueue(engine=engine, table=tables.jobs)
    queue.push("p", queue="default", now=NOW)
    if engine.dialect.name == "sqlite":
        assert reserve_ahead(queue, "default", now=NOW, limit=2) is None
        queue.push("q", queue="default", now=NOW)
        assert len(queue.reserve("default", now=NOW, ahead=2)) == 1
        assert not queue.poll() and queue.end_reading_ahead() == []
        return
    listener = lambda *args: None  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        # A listener on the engine would not see statements sent this way.
        assert reserve_ahead(queue, "default", now=NOW, limit=2) is None
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    pending = reserve_ahead(queue, "default", now=NOW, limit=2)
    assert pending is not None and len(pending.wait()) == 1
    queue.close()


# --- PostgreSQL ---------------------------------------------------------------------------


def _finished_on_server(
    queue: DatabaseQueue, *, reserved: list[int], deleted: list[int], now: int = NOW
) -> None:
    """Wait, without reading the answer, until the server has run and committed the
    statement: its effects (`reserved` rows marked at `now`, `deleted` rows gone) are seen
    from another session. (Waiting for the backend to be "idle" in pg_stat_activity was
    not enough: it is idle before the statement has started, too.)"""
    ids = ", ".join(str(row_id) for row_id in [*reserved, *deleted])
    query = f"SELECT id, reserved_at FROM {queue.table.name} WHERE id IN ({ids})"
    for _ in range(3000):
        with queue.engine.connect() as conn:
            rows = dict(conn.exec_driver_sql(query).all())
        if all(rows.get(row_id) == now for row_id in reserved) and not any(
            row_id in rows for row_id in deleted
        ):
            return
        time.sleep(0.01)
    raise AssertionError("the statement never finished")


def test_postgres_takes_expired_rows_and_counts_their_attempts(
    postgres_queue: DatabaseQueue,
) -> None:
    queue = postgres_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(3)]
    queue.reserve("default", now=NOW, limit=2)  # a worker that died with them
    later = NOW + queue.retry_after_seconds
    pending = reserve_ahead(queue, "default", now=later, limit=5)
    assert pending is not None
    assert [(job.id, job.attempts, job.reserved_at) for job in pending.wait()] == [
        (ids[0], 2, later),
        (ids[1], 2, later),
        (ids[2], 1, later),
    ]


def test_postgres_rows_locked_elsewhere_are_skipped(postgres_queue: DatabaseQueue) -> None:
    queue = postgres_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    other = _other_session(queue)
    try:
        # Another worker in the middle of reserving the first row.
        other.exec_driver_sql(f"SELECT id FROM {queue.table.name} WHERE id = {ids[0]} FOR UPDATE")
        pending = reserve_ahead(queue, "default", now=NOW, limit=2)
        assert pending is not None
        assert [job.id for job in pending.wait()] == ids[1:3]
    finally:
        other.rollback()
        other.close()
    assert {r.id: r.attempts for r in queue.rows()} == {ids[0]: 0, ids[1]: 1, ids[2]: 1, ids[3]: 0}


def test_postgres_reservation_ahead_that_fails_reserves_and_deletes_nothing(
    postgres_queue: DatabaseQueue,
) -> None:
    queue = postgres_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    first = queue.reserve("default", now=NOW, limit=1)
    blocker = queue.engine.connect()
    try:
        # Holding the finished row makes the statement wait at its DELETE, unfinished.
        blocker.exec_driver_sql(f"SELECT id FROM {queue.table.name} WHERE id = {ids[0]} FOR UPDATE")
        pending = reserve_ahead(queue, "default", now=NOW, limit=2, finished=first)
        assert isinstance(pending, PsycopgReservation)
        pending.poll()
        assert not pending.done
        killed = blocker.exec_driver_sql(
            f"SELECT pg_terminate_backend({pending._pgconn.backend_pid})"
        ).scalar()
        assert killed
        with pytest.raises(QueueError):
            pending.wait()
    finally:
        blocker.rollback()
        blocker.close()
    _assert_untouched_and_next_one_works(queue, ids, first)


def test_postgres_server_error_is_a_queue_error(postgres_queue: DatabaseQueue) -> None:
    queue = postgres_queue
    queue.push("p", queue="default", now=NOW)
    with queue.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {queue.table.name} RENAME COLUMN attempts TO tries")
    pending = reserve_ahead(queue, "default", now=NOW, limit=2)
    assert pending is not None
    with pytest.raises(QueueError, match="attempts"):
        pending.wait()


def test_postgres_reserve_runs_laravels_statements_while_the_kept_connection_is_busy(
    postgres_queue: DatabaseQueue,
) -> None:
    queue = postgres_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    done = queue.reserve("default", now=NOW, limit=1)  # one statement, kept connection
    assert [job.id for job in done] == ids[:1]
    blocker = queue.engine.connect()
    try:
        blocker.exec_driver_sql(f"SELECT id FROM {queue.table.name} WHERE id = {ids[0]} FOR UPDATE")
        # A reservation ahead waits on the blocked row and holds the kept connection...
        pending = reserve_ahead(queue, "other", now=NOW, limit=2, finished=done)
        assert pending is not None
        pending.poll()
        assert not pending.done
        # ...so a reservation meanwhile takes a pooled one, with Laravel's statements.
        taken = queue.reserve("default", now=NOW + 1, limit=2)
        assert [(job.id, job.attempts, job.reserved_at) for job in taken] == [
            (ids[1], 1, NOW + 1),
            (ids[2], 1, NOW + 1),
        ]
    finally:
        blocker.rollback()
        blocker.close()
    assert pending.wait() == []
    assert [r.id for r in queue.rows()] == ids[1:]


def test_postgres_reserve_in_one_statement_keeps_text_exact(postgres_queue: DatabaseQueue) -> None:
    queue = postgres_queue
    name, payload = "rapports-é", '{"job":"Zürich \\u00e9","data":"日本"}'
    row_id = queue.push(payload, queue=name, now=NOW)
    (job,) = queue.reserve(name, now=NOW)
    assert (job.id, job.queue, job.payload, job.attempts) == (row_id, name, payload, 1)


@pytest.mark.parametrize("materialized", [True, False], ids=["pg12+", "pg9.5-11"])
def test_postgres_reservation_statement_in_both_forms(
    postgres_queue: DatabaseQueue, materialized: bool
) -> None:
    # Before PostgreSQL 12 a CTE is always materialized and the keyword does not exist; the
    # plain form must reserve the same rows.
    queue = postgres_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    first = queue.reserve("default", now=NOW, limit=1)
    statement = queue._sql.reserve_returning(materialized=materialized)
    assert ("AS MATERIALIZED" in statement) is materialized
    with queue.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        params = reservation_params(
            dbapi, finished=first, queue="default", now=NOW + 1, expired=NOW - 90, limit=2
        )
        result = dbapi.pgconn.exec_params(statement.encode(), params)
        conn.commit()
    assert sorted(int(result.get_value(row, 0)) for row in range(result.ntuples)) == ids[1:3]
    assert {r.id: (r.attempts, r.reserved_at) for r in queue.rows()} == {
        ids[1]: (1, NOW + 1),
        ids[2]: (1, NOW + 1),
        ids[3]: (0, None),
    }


# --- through `reserve` ------------------------------------------------------------------------


def test_reserve_reads_ahead_and_hands_those_rows_out_next(server_queue: DatabaseQueue) -> None:
    queue = server_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(5)]
    first = queue.reserve("default", now=NOW, limit=2, ahead=3)
    assert [job.id for job in first] == ids[:2]
    mysql = queue.engine.dialect.name == "mysql"
    assert isinstance(queue._reading._pending, PyMySQLReservation if mysql else PsycopgReservation)
    assert queue.poll()  # under way, held for the caller
    # The next reservation returns the rows reserved ahead (when they were asked for), and
    # the finished rows ride on the reservation it starts ahead in turn (which finds none).
    second = queue.reserve("default", now=NOW + 1, limit=1, finished=first, ahead=3)
    assert [(job.id, job.attempts, job.reserved_at) for job in second] == [
        (row_id, 1, NOW) for row_id in ids[2:5]
    ]
    assert queue.end_reading_ahead() == []
    assert not queue.poll()
    assert {r.id: (r.attempts, r.reserved_at) for r in queue.rows()} == {
        row_id: (1, NOW) for row_id in ids[2:5]
    }
    assert queue.reserve("default", now=NOW + 2, finished=second, ahead=3) == []
    assert queue.rows() == []


def test_reserve_without_ahead_deletes_the_finished_rows_at_once(
    server_queue: DatabaseQueue,
) -> None:
    queue = server_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    first = queue.reserve("default", now=NOW, limit=2, ahead=2)
    # No reservation ahead will carry the DELETE of `first`: it happens before the rows
    # reserved ahead are handed out.
    second = queue.reserve("default", now=NOW + 1, finished=first)
    assert [job.id for job in second] == ids[2:]
    assert not queue.poll()
    assert [r.id for r in queue.rows()] == ids[2:]


def test_a_stopping_worker_takes_the_rows_reserved_ahead(server_queue: DatabaseQueue) -> None:
    queue = server_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(4)]
    first = queue.reserve("default", now=NOW, limit=1, ahead=2)
    second = queue.reserve("default", now=NOW, finished=first, ahead=2)
    ahead = queue.end_reading_ahead()
    assert [job.id for job in [*second, *ahead]] == ids[1:]
    for job in [*second, *ahead]:
        assert queue.unreserve(job)
    assert {r.id: (r.attempts, r.reserved_at) for r in queue.rows()} == {
        row_id: (0, None) for row_id in ids[1:]
    }


def test_reserve_reserves_again_after_a_failed_reservation_ahead(
    mysql_queue: DatabaseQueue, mysql_url: str
) -> None:
    queue = mysql_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(6)]
    first = queue.reserve("default", now=NOW, limit=1, ahead=2)
    second = queue.reserve("default", now=NOW, finished=first, ahead=2)  # carries first's DELETE
    pending = queue._reading._pending
    assert isinstance(pending, PyMySQLReservation)
    killer = create_engine_for(mysql_url)
    with killer.connect() as conn:
        conn.exec_driver_sql(f"KILL CONNECTION {pending._dbapi.thread_id()}")
    killer.dispose()
    # Nothing was reserved ahead, and neither `first` nor `second` was deleted: the next
    # reservation deletes both and reserves as usual.
    third = queue.reserve("default", now=NOW + 1, limit=2, finished=second)
    assert [job.id for job in third] == ids[3:5]
    assert [r.id for r in queue.rows()] == ids[3:]
