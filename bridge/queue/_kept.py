"""One connection kept open: for single-statement writes such as a push (in autocommit mode)
and for a worker's reservations ahead (one at a time, see `_ahead_mysql`).

Laravel pushes a job with one autocommit INSERT: one round trip. Through a pooled connection
bridge needs two (INSERT, COMMIT) plus the pool's checkout and checkin, which together made
a Python dispatch slower than PHP's. The slot keeps one connection checked out with
autocommit on, so a push is one statement on a ready connection.

Rules that keep it as safe as the pool:
* Its own connection, outside the engine's pool (a pool of one must not be emptied by it),
  opened the way the pool opens its connections (`Pool.recreate` keeps the connect
  arguments). So a process that pushes holds one connection more than its pool's.
* One user at a time. A caller that finds the slot busy (another thread) gets `BUSY` and uses
  the pool instead, so threads never queue up behind it.
* A connection idle for `idle_ping_seconds` is pinged first; a dead one is replaced. A
  statement that fails for any reason discards the connection (its state is unknown).
* A process that inherited the slot through `fork` never touches the parent's socket: it
  opens its own connection, and keeps the parent's objects referenced so that no finalizer
  ever runs on them in the child.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from bridge._forks import generation
from bridge.queue._driver import run_on_cursor
from bridge.queue._errors import driver_error

__all__ = ["BUSY", "Busy", "KeptConnection"]

T = TypeVar("T")


class Busy:
    """The type of `BUSY`."""

    def __repr__(self) -> str:
        return "BUSY"


#: What `KeptConnection.run` returns when another thread holds the slot.
BUSY: Final = Busy()

# A forked child's references to its parent's slot connections and engines. Letting them be
# collected would run pool and driver finalizers on sockets the parent is still using.
_INHERITED: list[tuple[Connection | None, Engine | None]] = []


class KeptConnection:
    """A lazily opened connection that one user at a time may use (autocommit unless told)."""

    def __init__(
        self,
        engine: Engine,
        *,
        idle_ping_seconds: float = 5.0,
        isolation_level: str = "AUTOCOMMIT",
    ) -> None:
        self._source = engine
        self._engine: Engine | None = None
        self._idle_ping_seconds = idle_ping_seconds
        self._isolation_level = isolation_level
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._generation = -1
        self._last_used = 0.0
        self._close_when_free = False
        # The PyMySQL connection under `_conn`, for `insert` (see there); None on other drivers.
        self._pymysql: Any = None

    def run(self, action: Callable[[Connection], T]) -> T | Busy:
        """Run `action` on the slot's connection, or return `BUSY` if another thread has it."""
        conn = self.hold()
        if isinstance(conn, Busy):
            return conn
        healthy = False
        try:
            result = action(conn)
            healthy = True
            return result
        finally:
            self.let_go(healthy=healthy)

    def hold(self) -> Connection | Busy:
        """Take the connection until `let_go` (possibly across calls); `BUSY` if taken."""
        if not self._lock.acquire(blocking=False):
            return BUSY
        try:
            return self._connection()
        except BaseException:
            self._lock.release()
            raise

    def let_go(self, *, healthy: bool) -> None:
        """Give the connection back; one that is not `healthy` is discarded."""
        try:
            if healthy:
                self._last_used = time.monotonic()
            else:
                self._discard(invalidate=True)
            if self._close_when_free:
                self._close_now()
        finally:
            self._lock.release()

    def run_cursor(self, action: Callable[[Any], T]) -> T | Busy:
        """As `run`, given a DBAPI cursor of the slot's connection (see `_driver`)."""

        return self.run(lambda conn: run_on_cursor(conn, action))

    def insert(self, statement: str) -> int | Busy:
        """Run one INSERT with its values written in (nothing bound) and return the new row's
        id, or `BUSY` if another thread has the slot.

        This is `run` written out for the one statement of every push: each call between the
        reply to one INSERT and the next costs several times its usual time, as the process
        comes back from waiting for the server's disk with its caches gone cold. On PyMySQL
        the statement goes to the connection itself (`query`, `insert_id`), without a
        cursor's bookkeeping (opening, clearing results, closing).
        """
        if not self._lock.acquire(blocking=False):
            return BUSY
        healthy = False
        try:
            conn = self._connection()
            dbapi = self._pymysql
            if dbapi is None:
                row_id = run_on_cursor(conn, lambda cursor: _inserted_id(cursor, statement))
            else:
                try:
                    dbapi.query(statement)
                    row_id = int(dbapi.insert_id())
                except Exception as exc:
                    wrapped = driver_error(conn, exc)
                    if wrapped is None:
                        raise
                    raise wrapped from exc
            healthy = True
            return row_id
        finally:
            self.let_go(healthy=healthy)

    def close(self) -> None:
        """Close the connection (the slot opens a new one when used again); if it is in use,
        its user closes it when done (a finalizer must never wait for a user)."""
        if not self._lock.acquire(blocking=False):
            self._close_when_free = True
            return
        try:
            self._close_now()
        finally:
            self._lock.release()

    def _close_now(self) -> None:
        self._close_when_free = False
        self._leave_parent_objects()
        self._discard(invalidate=False)
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def _leave_parent_objects(self) -> None:
        if self._generation != generation() and (
            self._conn is not None or self._engine is not None
        ):
            _INHERITED.append((self._conn, self._engine))
            self._conn = self._engine = None
            self._pymysql = None

    def _connection(self) -> Connection:
        conn = self._conn
        recent = time.monotonic() - self._last_used < self._idle_ping_seconds
        if conn is not None and recent and self._generation == generation():
            return conn  # every push but the first after a fork or an idle spell
        self._leave_parent_objects()
        if self._conn is not None and not recent:
            dbapi_connection = self._conn.connection.dbapi_connection
            try:
                if dbapi_connection is None:
                    raise ConnectionError("connection already released")
                self._conn.dialect.do_ping(dbapi_connection)
            except Exception:
                self._discard(invalidate=True)
        if self._conn is None:
            if self._engine is None:
                source = self._source
                self._engine = create_engine(
                    source.url,
                    pool=source.pool.recreate(),
                    isolation_level=self._isolation_level,
                )
                self._generation = generation()
            self._conn = self._engine.connect()
            if self._conn.dialect.driver == "pymysql":
                self._pymysql = self._conn.connection.dbapi_connection
        return self._conn

    def _discard(self, *, invalidate: bool) -> None:
        conn, self._conn = self._conn, None
        self._pymysql = None
        if conn is None:
            return
        try:
            if invalidate:
                conn.invalidate()
            conn.close()
        except Exception:
            # A connection that cannot even be closed is already gone; the pool replaces it.
            pass


def _inserted_id(cursor: Any, statement: str) -> int:
    cursor.execute(statement)
    return int(cursor.lastrowid)
