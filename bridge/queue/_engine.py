"""Engines for the queue database: connection options, SQLite locking, lock-clause choice.

SQLite: Laravel opens deferred transactions and relies on SQLite's file lock. Two workers
may then both read before either writes; SQLite refuses the second lock upgrade, and that
worker's pop fails with "database is locked" (a few times per thousand jobs with four
processes). bridge takes the write lock first (`BEGIN IMMEDIATE`) in every
transaction, so reservations queue up behind each other instead, and a busy timeout makes
contenders wait rather than fail.

Journal mode: `create_engine_for` switches a SQLite file to WAL by default. The mode is
stored in the file, and PHP's PDO SQLite works with it unchanged (same host, local disk);
readers then never block the writer, which matters when PHP and Python poll one file.
Pass `sqlite_wal=False` to keep the rollback journal Laravel's PHP side uses by default.

Round trips: a pooled connection is pinged only when it has sat idle for a while (where a
server restart or timeout could have dropped it), not on every checkout as SQLAlchemy's
`pool_pre_ping` does, and the pool does not roll back connections on return: every store
operation commits or rolls back its own transaction. A transaction of one statement then
costs two round trips instead of five (a push on MariaDB or PostgreSQL takes one, on its own
autocommit connection: see `_kept`). A connection that dies while in use is still
reported as `ConnectionLost` and replaced; idempotent operations are repeated on a fresh one
(`retrying`).
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url

from bridge.queue._errors import wrap_exceptions

__all__ = [
    "create_engine_for",
    "idle_ping_seconds_of",
    "install_sqlite_locking",
    "supports_skip_locked",
]

_DEFAULT_IDLE_PING_SECONDS = 5.0
# What `create_engine_for` was told, for connections kept outside the pool (pushes).
_IDLE_PING_SECONDS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def create_engine_for(
    url: str,
    *,
    sqlite_wal: bool = True,
    sqlite_busy_timeout_seconds: float = 30.0,
    idle_ping_seconds: float = _DEFAULT_IDLE_PING_SECONDS,
    **engine_options: Any,
) -> Engine:
    """An engine set up for the queue tables.

    Pooled connections idle for `idle_ping_seconds` are pinged before use (a connection the
    server dropped meanwhile is replaced, not reported; `pool_pre_ping=True` pings on every
    checkout instead); MySQL URLs get `charset=utf8mb4` unless they name a charset; SQLite
    engines get `BEGIN IMMEDIATE` transactions and a busy timeout.

    Args:
        url: A SQLAlchemy URL, e.g. `mysql+pymysql://root@127.0.0.1/app`.
        sqlite_wal: Switch a SQLite file to WAL journaling (see the module notes).
        sqlite_busy_timeout_seconds: How long a SQLite transaction waits for the lock.
        idle_ping_seconds: Idle time after which a pooled connection is pinged before use.
        **engine_options: Passed on to `sqlalchemy.create_engine`.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"mysql", "mariadb"} and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    ping_idle = not engine_options.get("pool_pre_ping", False)
    engine_options.setdefault("pool_reset_on_return", None)
    if backend == "sqlite":
        # sqlite3's `timeout` is SQLite's busy handler: wait for the lock, then fail.
        connect_args = dict(engine_options.pop("connect_args", {}))
        connect_args.setdefault("timeout", sqlite_busy_timeout_seconds)
        engine_options["connect_args"] = connect_args
    with wrap_exceptions():
        engine = sa.create_engine(parsed, **engine_options)
    if ping_idle and backend != "sqlite":
        _ping_idle_connections(engine, idle_ping_seconds)
        _IDLE_PING_SECONDS[engine] = idle_ping_seconds
    elif not ping_idle:
        _IDLE_PING_SECONDS[engine] = 0.0  # pool_pre_ping: ping before every use
    if backend == "sqlite":
        install_sqlite_locking(engine)
        if sqlite_wal and parsed.database not in (None, "", ":memory:"):
            event.listen(engine, "connect", _WalOnConnect(sqlite_busy_timeout_seconds))
    return engine


def idle_ping_seconds_of(engine: Engine) -> float:
    """Idle time after which a connection of `engine` should be pinged before use."""
    return _IDLE_PING_SECONDS.get(engine, _DEFAULT_IDLE_PING_SECONDS)


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["bridge_idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("bridge_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool then discards this connection and checks out a fresh one.
            raise sa_exc.DisconnectionError(f"idle connection is dead: {exc}") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


class _WalOnConnect:
    """Switch each new connection's file to WAL, waiting out others doing the same.

    The switch needs the file to itself, and SQLite refuses it at once ("database is
    locked") rather than calling the busy handler while another connection reads: processes
    that start together on a fresh file (a `--concurrency` pool) would otherwise fail.
    """

    _RETRY_SECONDS = 0.01

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout_seconds = timeout_seconds

    def __call__(self, dbapi_connection: Any, _record: Any) -> None:
        deadline = time.monotonic() + self._timeout_seconds
        cursor = dbapi_connection.cursor()
        try:
            while True:
                try:
                    # Asking first: a file already in WAL needs no lock at all.
                    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                        return
                    cursor.execute("PRAGMA journal_mode=WAL")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(self._RETRY_SECONDS)
        finally:
            cursor.close()


def install_sqlite_locking(engine: Engine) -> None:
    """Make every transaction on a SQLite `engine` start with `BEGIN IMMEDIATE`.

    Safe to call more than once and a no-op for other databases, so stores call it on any
    engine they are given (an engine not made by `create_engine_for` keeps the sqlite3
    module's 5-second busy timeout).
    """
    if engine.dialect.name == "sqlite" and not event.contains(engine, "begin", _begin_immediate):
        event.listen(engine, "begin", _begin_immediate)


def _begin_immediate(conn: Connection) -> None:
    dbapi_connection: Any = conn.connection.dbapi_connection
    # The sqlite3 module would otherwise issue its own deferred BEGIN before a write.
    dbapi_connection.isolation_level = None
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def supports_skip_locked(engine: Engine) -> bool:
    """Whether the server takes `FOR UPDATE SKIP LOCKED`, decided as Laravel decides.

    MySQL >= 8.0.1, MariaDB >= 10.6 and PostgreSQL >= 9.5 do; SQLite has no row locks at
    all (the clause is not rendered there).
    """
    with wrap_exceptions(), engine.connect():
        pass
    dialect = engine.dialect
    version = tuple(dialect.server_version_info or ())
    if dialect.name == "postgresql":
        return version >= (9, 5)
    if dialect.name in {"mysql", "mariadb"}:
        if getattr(dialect, "is_mariadb", False):
            return version >= (10, 6)
        return version >= (8, 0, 1)
    return False
