"""Below SQLAlchemy: statements on the drivers' own cursors, and their internals.

SQLAlchemy's execution path (execution context, result wrapping, `Row` objects) costs a
sizeable part of a one-row INSERT's round trip, and more per job than a 64-row reservation's
own database work. The push and the reservation run their statements on the connection's
DBAPI cursor instead (`run_on_cursor`; a push on PyMySQL on the DBAPI connection itself,
see `KeptConnection.insert`), inside the same SQLAlchemy connection and transaction. Driver
errors are wrapped as SQLAlchemy wraps them (`_errors.driver_error`), so translation and
retries are unchanged. Where something listens to the engine's cursor events (tracing,
statement logging, tests: `watched`), the statements go through SQLAlchemy so that it sees
them.

Two speed paths use calls below the drivers' public API, each with a plain path beside it:

* PyMySQL has no public "send now, read the answer later": reading ahead on MySQL/MariaDB
  (`_ahead_mysql`) uses the internal methods its own `query` is made of
  (`_execute_command`, `_read_query_result`), the socket they read (`_sock`) and the result
  they leave (`_result`). Plain path: no reading ahead; the worker reserves batch by batch.
* psycopg 3 exposes libpq's connection (`pgconn`) for low-level use; reading ahead on
  PostgreSQL (`_ahead_postgres`), and a one-statement reservation, go through it. Plain
  path: Laravel's statements on a pooled connection.

An internal may change in any release without notice, so it is used only with the versions
the tests run (`TESTED`); with any other version, or where a name is missing, bridge takes
the plain path. Setting `use_internals` to False does that for every version (the tests
run the reservation and push tests through the plain path that way).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from bridge.queue._errors import driver_error

__all__ = [
    "TESTED",
    "psycopg_reads_ahead",
    "pymysql_reads_ahead",
    "read_result",
    "run_on_cursor",
    "send_query",
    "socket_of",
    "use_internals",
    "watched",
]

T = TypeVar("T")

#: Driver module -> prefixes of the versions whose internals the tests exercise.
TESTED = {"pymysql": ("1.1.", "1.2."), "psycopg": ("3.",)}
#: Whether the internals may be used at all.
use_internals = True
#: PyMySQL's COM_QUERY command code (`pymysql.constants.COMMAND.COM_QUERY`).
_COM_QUERY = 3


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


def _allowed(module: str, connection: Any, names: tuple[str, ...]) -> bool:
    loaded = sys.modules.get(module)
    if module == "pymysql":  # its `__version__` is a MySQLdb-compatible number
        version = ".".join(str(part) for part in getattr(loaded, "VERSION", ())[:3])
    else:
        version = str(getattr(loaded, "__version__", ""))
    return (
        use_internals
        and version.startswith(TESTED[module])
        and all(hasattr(connection, name) for name in names)
    )


def pymysql_reads_ahead(dbapi_connection: Any) -> bool:
    """Whether `send_query` and `read_result` may be used on this DBAPI connection."""
    return _allowed(
        "pymysql", dbapi_connection, ("_execute_command", "_read_query_result", "_sock")
    )


def socket_of(dbapi_connection: Any) -> Any:
    """The socket a PyMySQL connection reads its answers from."""
    return dbapi_connection._sock


def send_query(dbapi_connection: Any, statement: str) -> None:
    """Send one statement on a PyMySQL connection without reading the answer."""
    dbapi_connection._execute_command(_COM_QUERY, statement)


def read_result(dbapi_connection: Any) -> list[Any]:
    """Read the answer to the statement `send_query` sent: its rows (none for a write)."""
    dbapi_connection._read_query_result()
    return list(dbapi_connection._result.rows or ())


def psycopg_reads_ahead(dbapi_connection: Any) -> bool:
    """Whether this DBAPI connection is psycopg 3's, with the libpq calls a reservation
    ahead needs."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    names = ("send_query_params", "consume_input", "is_busy", "get_result", "socket")
    return pgconn is not None and _allowed("psycopg", pgconn, names)
