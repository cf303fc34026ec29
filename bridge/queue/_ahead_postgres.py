"""A reservation that goes on while the worker runs jobs: PostgreSQL over psycopg 3.

The queue's side is the same as on MySQL/MariaDB (see `_ahead_mysql`): the next batch's
reservation starts as a batch starts, and `poll` between jobs reads whatever the server has
answered. What differs is the statement. PostgreSQL's `FOR UPDATE SKIP LOCKED` locks only
the rows it returns, so the reservation needs none of the steps MariaDB needs to keep other
workers' rows free; it is one statement, sent on a connection in autocommit mode:

    WITH done AS (DELETE the finished rows),
         picked AS (Laravel's locking SELECT of the next ids)
    UPDATE those ids as reserved RETURNING the rows

The DELETE, the lock and the UPDATE commit together, as in `DatabaseQueue.reserve`, and the
transaction is the statement's own: it ends when the server has run it, whenever the worker
reads the answer. The locks it takes are on rows that become the worker's (and on rows
another worker reserved a moment earlier, which a locking read under READ COMMITTED can
touch without returning them), and none outlives the statement, so no other worker waits
on a batch read ahead for longer than the server takes to run it.

psycopg's `Connection` has no "send now, read later" call, so the statement goes through
its libpq connection (`pgconn`: `send_query_params`, `consume_input`, `is_busy`,
`get_result`), which psycopg exposes for such use (`_driver` checks for it). Any error
discards the connection: the server has then either committed the whole statement or
nothing of it.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from bridge.exceptions import QueueError
from bridge.queue._ahead import UnderWay
from bridge.queue._errors import translate
from bridge.queue.base import ReservedJob

__all__ = ["PsycopgReservation", "reservation_params"]

# libpq's PGRES_TUPLES_OK: a statement that returned rows (`psycopg.pq.ExecStatus`).
_TUPLES_OK = 2
# libpq's PG_DIAG_SQLSTATE field code (`psycopg.pq.DiagnosticField.SQLSTATE`).
_SQLSTATE = ord("C")
# poll() has no limit on descriptor numbers, unlike select() (a busy process may be past it).
_poll = getattr(select, "poll", None)


def reservation_params(
    dbapi_connection: Any,
    *,
    finished: Sequence[ReservedJob],
    queue: str,
    now: int,
    expired: int,
    limit: int,
) -> list[bytes | None]:
    """The text parameters of `JobStatements.reserve_returning`, in libpq's form (text in
    the connection's client encoding, as psycopg would send it)."""
    # int() so that nothing but digits ever lands in the array literal.
    ids = "{" + ",".join(str(int(job.id)) for job in finished) + "}"
    name = queue.encode(dbapi_connection.info.encoding)
    return [ids.encode(), name, b"%d" % now, b"%d" % expired, b"%d" % limit]


class PsycopgReservation(UnderWay):
    """One reservation statement under way on a connection only it uses meanwhile."""

    def __init__(
        self,
        conn: Connection,
        statement: str,
        params: Sequence[bytes | None],
        *,
        now: int,
        on_end: Callable[[bool], None],
    ) -> None:
        """Send `statement` (`JobStatements.reserve_returning`, with `reservation_params`)
        on `conn` (in autocommit mode, outside any transaction), reserving at `now`."""
        super().__init__(now=now, on_end=on_end)
        self._conn = conn
        dbapi: Any = conn.connection.dbapi_connection
        self._pgconn = dbapi.pgconn
        self._encoding: str = dbapi.info.encoding
        self._result: Any = None
        try:
            self._pgconn.send_query_params(statement.encode(self._encoding), list(params))
        except Exception as exc:
            self._fail(translate(exc, conn))

    def poll(self) -> None:
        """Read what the server has answered, without waiting for more."""
        if self.done:
            return
        try:
            self._pgconn.consume_input()
            self._take_results()
        except Exception as exc:
            self._fail(translate(exc, self._conn))

    def _step(self) -> None:
        # Anything the server sends, or its closing the connection, wakes this up.
        _wait_readable(self._pgconn.socket)
        self.poll()

    def _take_results(self) -> None:
        pgconn = self._pgconn
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:  # the statement's results are all in
                if self._result is None:
                    raise QueueError("the reservation ahead got no answer")
                self._succeed(self._jobs(self._result))
                return
            if result.status != _TUPLES_OK:
                raise _server_error(result, self._encoding)
            self._result = result

    def _jobs(self, result: Any) -> list[ReservedJob]:
        encoding = self._encoding
        jobs = []
        for row in range(result.ntuples):
            job_id, queue, payload, attempts, available_at, created_at = (
                result.get_value(row, column) for column in range(6)
            )
            jobs.append(
                ReservedJob(
                    id=int(job_id),
                    queue=queue.decode(encoding),
                    payload=payload.decode(encoding),
                    attempts=int(attempts),  # already counted by the statement
                    reserved_at=self._now,
                    available_at=int(available_at),
                    created_at=int(created_at),
                )
            )
        jobs.sort(key=lambda job: job.id)  # RETURNING keeps no order
        return jobs


def _server_error(result: Any, encoding: str) -> Exception:
    """The psycopg exception for an error result, as its `execute` would raise it."""
    import psycopg.errors  # only reached on psycopg connections

    code = result.error_field(_SQLSTATE)
    kind: type[Exception] = psycopg.errors.DatabaseError
    if code:
        try:
            kind = psycopg.errors.lookup(code.decode())
        except KeyError:
            pass  # a code this psycopg does not know: the generic class, as psycopg does
    message = result.error_message.decode(encoding, "replace").strip()
    return kind(message or "the reservation ahead failed")


def _wait_readable(fd: int) -> None:
    if _poll is None:
        select.select([fd], [], [])
        return
    poller = _poll()
    poller.register(fd, select.POLLIN)
    poller.poll()
