"""A connection killed by the server between operations does not break the next one.

MariaDB `KILL <id>` and PostgreSQL `pg_terminate_backend(pid)` close the pooled connection
from the server side. With `pool_pre_ping`, or once it has been idle for
`idle_ping_seconds` (the default of `create_engine_for`), the pool replaces it before use;
otherwise safe operations are retried on a new connection and non-idempotent ones (push)
report `ConnectionLost` instead of risking a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.exceptions import ConnectionLost
from bridge.queue._kept import KeptConnection
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.schema import migrate

NOW = 1_760_000_000


@pytest.fixture
def admin(server_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def kill(admin: Engine, connection_id: Any) -> None:
    """End the server session `connection_id` from `admin`'s session."""
    statement = (
        f"SELECT pg_terminate_backend({int(connection_id)})"
        if admin.dialect.name == "postgresql"
        else f"KILL {int(connection_id)}"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(statement)


def kill_pooled_connection(engine: Engine, admin: Engine) -> None:
    """Kill, from another session, the one connection `engine`'s pool holds (one killed
    before and not used since is replaced first, as the queue's next use would)."""
    mysql = engine.dialect.name != "postgresql"
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                me = conn.exec_driver_sql(
                    "SELECT CONNECTION_ID()" if mysql else "SELECT pg_backend_pid()"
                ).scalar_one()
            break
        except sa.exc.OperationalError:
            if attempt == 2:
                raise
    kill(admin, me)


def kill_kept_connection(queue: DatabaseQueue, slot: KeptConnection | None, admin: Engine) -> None:
    """Kill one of the connections `queue` keeps outside its pool."""
    assert slot is not None
    mysql = queue.engine.dialect.name != "postgresql"
    me = slot.run(
        lambda conn: conn.exec_driver_sql(
            "SELECT CONNECTION_ID()" if mysql else "SELECT pg_backend_pid()"
        ).scalar_one()
    )
    kill(admin, me)


def kill_reading_ahead_connection(queue: DatabaseQueue, admin: Engine) -> None:
    """Kill the connection `queue` keeps for reading ahead (PostgreSQL's `reserve` uses it
    too while it is free)."""
    kill_kept_connection(queue, queue._ahead_slot, admin)


def kill_push_connection(queue: DatabaseQueue, admin: Engine) -> None:
    """Kill the connection `queue` keeps open for pushes (outside its pool)."""
    kill_kept_connection(queue, queue._autocommit, admin)


@pytest.fixture
def name(server_url: str) -> Iterator[str]:
    """A fresh table name; the tables made under it are dropped afterwards."""
    name = f"lost_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(server_url)
    with engine.begin() as conn:
        for table in (name, f"{name}_f", f"{name}_b"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()


def make_queue(url: str, name: str, *, pre_ping: bool) -> DatabaseQueue:
    engine = create_engine_for(url, pool_pre_ping=pre_ping, pool_size=1, max_overflow=0)
    migrate(engine, jobs_table=name, failed_table=f"{name}_f", batches_table=f"{name}_b")
    return DatabaseQueue(engine=engine, table=name)


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping", "retry"])
def test_reads_and_reservations_survive_a_killed_connection(
    server_url: str, admin: Engine, name: str, pre_ping: bool
) -> None:
    queue = make_queue(server_url, name, pre_ping=pre_ping)
    try:
        for payload in ("p1", "p2", "p3"):
            queue.push(payload, queue="default", now=NOW)
        kill_pooled_connection(queue.engine, admin)
        assert queue.size("default") == 3
        kill_pooled_connection(queue.engine, admin)
        (job,) = queue.reserve("default", now=NOW)
        kill_pooled_connection(queue.engine, admin)
        kill_reading_ahead_connection(queue, admin)
        (second,) = queue.reserve("default", now=NOW)
        kill_pooled_connection(queue.engine, admin)
        queue.delete_many([job, second])
        kill_pooled_connection(queue.engine, admin)
        assert [r.payload for r in queue.rows()] == ["p3"]
    finally:
        queue.close()
        queue.engine.dispose()


def test_push_without_pre_ping_reports_the_loss_and_the_next_push_works(
    server_url: str, admin: Engine, name: str
) -> None:
    queue = make_queue(server_url, name, pre_ping=False)
    try:
        queue.push("before", queue="default", now=NOW)
        kill_push_connection(queue, admin)
        with pytest.raises(ConnectionLost):
            queue.push("lost", queue="default", now=NOW)
        queue.push("after", queue="default", now=NOW)
        assert [r.payload for r in queue.rows()] == ["before", "after"]
    finally:
        queue.close()
        queue.engine.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    server_url: str, admin: Engine, name: str
) -> None:
    engine = create_engine_for(server_url, idle_ping_seconds=0.0, pool_size=1, max_overflow=0)
    try:
        migrate(engine, jobs_table=name, failed_table=f"{name}_f", batches_table=f"{name}_b")
        queue = DatabaseQueue(engine=engine, table=name)
        queue.push("before", queue="default", now=NOW)
        kill_pooled_connection(engine, admin)
        kill_push_connection(queue, admin)
        # Idle past the threshold: pinged, found dead, replaced; even a push goes through.
        queue.push("after", queue="default", now=NOW)
        assert [r.payload for r in queue.rows()] == ["before", "after"]
        queue.close()
    finally:
        engine.dispose()
