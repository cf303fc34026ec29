"""The one place where database errors become bridge's `QueueError` family: `translate`.

Errors come as SQLAlchemy raises them, or straight from the driver where a hot path runs on
the DBAPI connection (`_driver`, `_kept`, the reservations ahead): those are wrapped first
as SQLAlchemy would wrap them (`driver_error`), so both are classified alike.

`wrap_exceptions` translates a block's errors; `retrying` runs an operation again after an
error that certainly left nothing behind (a rolled-back deadlock or lock timeout), and after
a lost connection only when the caller says the operation is idempotent: a statement whose
connection died after it was sent may or may not have committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Connection

from bridge.exceptions import ConnectionLost, QueueAccessError, QueueBusy, QueueError, SchemaError

T = TypeVar("T")

# Lower-case fragments of driver messages (pymysql, psycopg, sqlite3). SQLAlchemy's own
# disconnect detection (`connection_invalidated`) catches most; these cover the rest,
# e.g. MariaDB's "Connection was killed" after `KILL` and PostgreSQL's admin shutdown.
_DISCONNECTED = (
    "server has gone away",
    "lost connection",
    "connection refused",
    "can't connect",
    "could not connect",
    "connection was killed",
    "terminating connection",
    "server closed the connection",
    "connection is closed",
    "connection already closed",
    "consuming input failed",
    "broken pipe",
    "connection reset",
)
# Refusals no retry can change (MySQL/MariaDB 1044, 1045, 1049, 1142; PostgreSQL's FATALs at
# connect time and its privilege errors; SQLite's file that cannot be opened or written).
_REFUSED = (
    "access denied",
    "unknown database",
    "command denied",
    "password authentication failed",
    "no pg_hba.conf entry",
    "permission denied",
    "unable to open database file",
    "attempt to write a readonly database",
)
_REFUSED_NAMES = ("database", "role")
_MISSING = ("no such table", "doesn't exist", "does not exist", "no such column", "unknown column")
_CONTENDED = (
    "deadlock",
    "lock wait timeout",
    "database is locked",
    "database table is locked",
    "could not serialize",
)


def translate(exc: Exception, conn: Connection | None = None) -> QueueError:
    """The bridge error for a SQLAlchemy error, or for a driver's error met outside
    SQLAlchemy on `conn` (see `driver_error`); the caller chains it with `from`."""
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        if isinstance(exc, QueueError):
            return exc
        wrapped = driver_error(conn, exc) if conn is not None else None
        if wrapped is None:
            return QueueError(f"queue database error: {exc!r}")
        exc = wrapped
    text = str(exc).lower()
    if any(m in text for m in _REFUSED) or any(
        f'{name} "' in text and '" does not exist' in text for name in _REFUSED_NAMES
    ):
        return QueueAccessError(f"queue database refused access: {_first_line(exc)}")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return ConnectionLost(f"connection to the queue database lost: {exc.orig}")
    if isinstance(exc, sa_exc.DisconnectionError) or any(m in text for m in _DISCONNECTED):
        return ConnectionLost(f"connection to the queue database lost: {_first_line(exc)}")
    if any(m in text for m in _CONTENDED):
        return QueueBusy(f"queue database busy: {_first_line(exc)}")
    if isinstance(exc, sa_exc.ProgrammingError | sa_exc.OperationalError) and any(
        m in text for m in _MISSING
    ):
        return SchemaError(f"queue table or column missing: {_first_line(exc)}")
    return QueueError(f"queue database error: {_first_line(exc)}")


def driver_error(
    conn: Connection, exc: Exception, cursor: Any = None
) -> sa_exc.StatementError | None:
    """A driver error of `conn` as SQLAlchemy wraps it (None for any other exception).

    A connection the driver reports dead is invalidated, as SQLAlchemy would.
    """
    dialect = conn.dialect
    if not isinstance(exc, dialect.loaded_dbapi.Error):
        return None
    dbapi_connection = conn.connection.dbapi_connection
    dead = dialect.is_disconnect(exc, dbapi_connection, cursor)
    wrapped = sa_exc.DBAPIError.instance(
        None,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=dead,
        dialect=dialect,
    )
    if dead:
        conn.invalidate(wrapped)
    return wrapped


def _first_line(exc: sa_exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def wrap_exceptions() -> Iterator[None]:
    """Re-raise any `sqlalchemy.exc` error inside the block as a `QueueError`."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc) from exc


def retrying(
    operation: Callable[[], T],
    *,
    idempotent: bool,
    attempts: int = 3,
    pause_seconds: float = 0.05,
) -> T:
    """Run `operation` (which opens its own connection) with bounded retries.

    Args:
        operation: One whole database operation: a statement or a transaction.
        idempotent: Whether running it twice leaves the same rows as running it once; only
            then is it repeated after `ConnectionLost`.
        attempts: Total number of tries.
        pause_seconds: Pause before the second try; doubled for each further one.
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except sa_exc.SQLAlchemyError as exc:
            error = translate(exc)
            if attempt == attempts or not worth_retrying(error, idempotent=idempotent):
                raise error from exc
        except (ConnectionLost, QueueBusy) as exc:
            if attempt == attempts or not worth_retrying(exc, idempotent=idempotent):
                raise
        time.sleep(pause_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def worth_retrying(error: QueueError, *, idempotent: bool) -> bool:
    """Whether an operation that failed with `error` may run again (tries permitting): after a
    rolled-back deadlock or lock timeout always, after a lost connection only if idempotent."""
    return isinstance(error, QueueBusy) or (isinstance(error, ConnectionLost) and idempotent)
