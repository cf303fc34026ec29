"""Every call bridge makes below the drivers' public API, each with a plain path beside it.

* PyMySQL has no public "send now, read the answer later": reading ahead on MySQL/MariaDB
  (`_ahead_mysql`) uses the internal methods its own `query` is made of
  (`_execute_command`, `_read_query_result`), the socket they use (`_sock`) and the result
  they leave (`_result`). Plain path: no reading ahead; the worker reserves batch by batch.
* SQLAlchemy's `_has_events` tells in one attribute read that no listener watches an
  engine (asked on every push and reservation). Plain path: the public event collections.
* psycopg 3 exposes libpq's connection (`pgconn`) for low-level use; reading ahead on
  PostgreSQL (`_ahead_postgres`) sends its statement through it. Plain path: Laravel's
  statements on a pooled connection.

A private name may change in any release without notice, so it is used only with the
versions the tests run (`TESTED`, checked once at import); with any other version, or where
a name is missing, bridge takes the plain path. `use_internals` switches them all off (the
tests run the reservation and push tests through the plain path that way).
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy.engine import Engine

__all__ = [
    "TESTED",
    "psycopg_reads_ahead",
    "pymysql_reads_ahead",
    "read_result",
    "send_query",
    "socket_of",
    "use_internals",
    "watched",
]

#: Driver module -> the version prefixes (major, minor) whose internals the tests exercise.
TESTED: dict[str, tuple[tuple[int, ...], ...]] = {
    "pymysql": ((1, 1), (1, 2)),
    "sqlalchemy": ((2, 0), (2, 1)),
    "psycopg": ((3,),),
}

#: PyMySQL's COM_QUERY command code (`pymysql.constants.COMMAND.COM_QUERY`).
_COM_QUERY = 3


def _installed_version(module: str) -> tuple[int, ...] | None:
    loaded: Any = sys.modules.get(module)
    if loaded is None:
        return None
    # PyMySQL's `__version__` is a MySQLdb-compatible number; `VERSION` is its own.
    version = getattr(loaded, "VERSION", None) if module == "pymysql" else None
    if version is None:
        version = str(getattr(loaded, "__version__", "")).split(".")
    numbers = []
    for part in version[:3]:
        try:
            numbers.append(int(part))
        except (TypeError, ValueError):
            break
    return tuple(numbers)


_TESTED_NOW: dict[str, bool] = {}


def _allowed(module: str) -> bool:
    """Whether `module`'s internals may be used: switched on, and a tested version (known
    once the driver is imported, which it is by the time its connection is at hand)."""
    if not use_internals:
        return False
    tested = _TESTED_NOW.get(module)
    if tested is None:
        version = _installed_version(module)
        if version is None:
            return False
        tested = _TESTED_NOW[module] = any(
            version[: len(prefix)] == prefix for prefix in TESTED[module]
        )
    return tested


#: Whether the private calls may be used at all (see the module notes).
use_internals = True
_SQLALCHEMY_TESTED = _allowed("sqlalchemy")


def watched(engine: Engine) -> bool:
    """Whether a listener wants to see this engine's statements."""
    # SQLAlchemy's own flag, set by the first listener of any connection event: the common
    # case of none is one attribute read instead of a walk over the event collections.
    if use_internals and _SQLALCHEMY_TESTED and not getattr(engine, "_has_events", True):
        return False
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


def pymysql_reads_ahead(dbapi_connection: Any) -> bool:
    """Whether this DBAPI connection is PyMySQL's, with the internals `send_query` and
    `read_result` need."""
    return _allowed("pymysql") and all(
        hasattr(dbapi_connection, name)
        for name in ("_execute_command", "_read_query_result", "_sock")
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
    return (
        _allowed("psycopg")
        and pgconn is not None
        and all(
            hasattr(pgconn, name)
            for name in ("send_query_params", "consume_input", "is_busy", "get_result", "socket")
        )
    )
