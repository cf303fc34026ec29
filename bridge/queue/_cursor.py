"""Statements run on a DBAPI cursor directly, for the queue's hottest paths.

SQLAlchemy's execution path (execution context, result wrapping, `Row` objects) costs a
sizeable part of a one-row INSERT's round trip, and more per job than a 64-row
reservation's own database work. The push and the reservation run their
statements on the connection's DBAPI cursor instead (a push on PyMySQL on the DBAPI
connection itself, see `KeptConnection.insert`), inside the same SQLAlchemy connection and
transaction. Driver errors are wrapped as SQLAlchemy wraps them, and a connection the
driver reports dead is invalidated as SQLAlchemy would, so translation and retries are
unchanged. Where something listens to the engine's cursor events (tracing, statement
logging, tests), the statements go through SQLAlchemy so that it sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from bridge.queue._errors import driver_error

__all__ = ["run_on_cursor", "watched"]

T = TypeVar("T")


def watched(engine: Engine) -> bool:
    """Whether a listener wants to see this engine's statements."""
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


def run_on_cursor(conn: Connection, action: Callable[[Any], T]) -> T:
    """Call `action` with a DBAPI cursor of `conn`; driver errors come out as `DBAPIError`."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        return action(cursor)
    except Exception as exc:
        wrapped = driver_error(conn, exc, cursor)
        if wrapped is None:
            raise
        raise wrapped from exc
    finally:
        try:
            cursor.close()
        except Exception:
            pass  # a dead connection's cursor: the error above is the one to report
