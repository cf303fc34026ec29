"""A reservation that goes on while the worker runs jobs: MySQL/MariaDB over PyMySQL.

At 64 rows per transaction the server spends about as long on a reservation as the Python
worker spends running those 64 trivial jobs; made one after the other, as Laravel's worker
does, the two add up. Here the queue starts the next reservation as it hands out a batch
(`_ahead`), and between two jobs `poll` reads whichever answer has arrived and sends the
next statement, so the server works while the jobs run. Nothing runs on another thread: a
thread contends with the jobs for the interpreter lock on every network read, which cost as
much as it saved.

Such a transaction stays open while jobs run, so it must hold no lock that anyone else, or
this worker itself, may wait for. Laravel's locking SELECT cannot be used as it is: it also
locks every row it scans and passes over (the reserved rows in front of the free ones: other
workers' jobs and this worker's own current batch), and MariaDB keeps those locks until the
commit even at READ COMMITTED. So the reservation is made in steps that lock only rows that
are the worker's anyway:

1. DELETE the rows the worker finished (its own);
2. read the candidates, Laravel's condition and order, without locking (READ COMMITTED: the
   latest committed rows, and no gap locks anywhere in the transaction);
3. lock the candidates by primary key, the condition checked again and rows others hold
   skipped (`FOR UPDATE SKIP LOCKED`), reading their `attempts`;
4. UPDATE the locked ones as reserved, and COMMIT.

Step 3 never overlaps a job: `poll` sends it and waits for its answer. If it locked every
candidate, the transaction holds only the worker's rows, and steps 4 go on while jobs run.
If a candidate changed hands between steps 2 and 3, a row that no longer meets the
condition may be locked all the same, so the reservation finishes at once. A row's queue,
payload and times never change in place (Laravel's release inserts a new row), so step 2's
columns stand; only `attempts` is read again. The candidates are the lowest ids free when
step 2 ran, a batch earlier than Laravel's worker would look; rows that became free since
(a delay that ran out, an expired reservation) go in the next batch.

The driver has no public call for "send now, read the answer later", so this uses PyMySQL's
internals, through `_driver` (where they are missing, or the version is not one the tests
run, the queue does not read ahead). Every path ends the transaction: the last statement is
COMMIT; any error discards the connection, and the server rolls back what was not
committed.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Generator, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from bridge.exceptions import QueueError
from bridge.queue import _driver
from bridge.queue._ahead import UnderWay
from bridge.queue._errors import translate
from bridge.queue._statements import AheadStatements
from bridge.queue.base import ReservedJob

__all__ = ["PyMySQLReservation"]

# poll() has no limit on descriptor numbers, unlike select() (a busy process may be past it).
_poll = getattr(select, "poll", None)


def _id_list(rows: Sequence[Sequence[Any]]) -> str:
    # int() so that nothing but digits is ever written into the SQL.
    return ",".join(str(int(row[0])) for row in rows)


class PyMySQLReservation(UnderWay):
    """One reservation, statement by statement, on a connection only it uses meanwhile."""

    def __init__(
        self,
        conn: Connection,
        statements: AheadStatements,
        *,
        now: int,
        on_end: Callable[[bool], None],
    ) -> None:
        """Send the first statement on `conn` (at READ COMMITTED, outside any transaction)
        of a reservation at `now`."""
        super().__init__(now=now, on_end=on_end)
        self._conn = conn
        dbapi: Any = conn.connection.dbapi_connection
        self._dbapi = dbapi
        # Asked between every two jobs whether an answer has come: set up once.
        self._sock = _driver.socket_of(dbapi)
        self._tls_pending = getattr(self._sock, "pending", None)
        self._poller = _poll() if _poll is not None else None
        if self._poller is not None:
            self._poller.register(self._sock, select.POLLIN)
        # Set while `poll` must wait for the answer: to the locking step, and once a row this
        # reservation did not take may be locked by it.
        self._urgent = False
        self._steps = self._statements(statements)
        self._step()

    def _statements(self, sql: AheadStatements) -> Generator[None, None, list[Any]]:
        if sql.delete is not None:
            yield from self._send(sql.delete)
        candidates = yield from self._send(sql.candidates)
        rows: list[Any] = []
        if candidates:
            self._urgent = True
            locked = yield from self._send(sql.lock(_id_list(candidates)))
            attempts = {int(row[0]): row[1] for row in locked}
            rows = [
                (*row[:3], attempts[row[0]], *row[4:]) for row in candidates if row[0] in attempts
            ]
            self._urgent = len(rows) < len(candidates)
            if rows:
                yield from self._send(sql.mark(_id_list(rows)))
        yield from self._send("COMMIT")
        return rows

    def _send(self, statement: str) -> Generator[None, None, list[Any]]:
        _driver.send_query(self._dbapi, statement)
        yield
        return _driver.read_result(self._dbapi)

    def poll(self) -> None:
        """Read the answers that have arrived and send the statements they allow.

        Waits for the server only for the locking step, and to finish a reservation that
        may hold a row it did not take (see the module notes).
        """
        while not self.done and (self._urgent or self._answered()):
            self._step()

    def _answered(self) -> bool:
        if self._tls_pending is not None and self._tls_pending():
            return True  # TLS: bytes already decrypted
        if self._poller is None:  # no poll(): select() (file descriptors under 1024 only)
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable)
        return bool(self._poller.poll(0))

    def _step(self) -> None:
        try:
            next(self._steps)
        except StopIteration as stop:
            self._succeed([self._job(row) for row in stop.value])
        except Exception as exc:
            self._fail(translate(exc, self._conn))

    def _fail(self, error: QueueError) -> None:
        self._steps.close()
        super()._fail(error)

    def _job(self, row: Sequence[Any]) -> ReservedJob:
        job_id, queue, payload, attempts, available_at, created_at = row
        return ReservedJob(
            id=job_id,
            queue=queue,
            payload=payload,
            attempts=attempts + 1,
            reserved_at=self._now,
            available_at=available_at,
            created_at=created_at,
        )
