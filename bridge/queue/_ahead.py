"""Reading ahead: a worker's next reservation, made while it runs the rows of the last.

`JobQueue.reserve(..., ahead=N)` starts it as it returns rows, `poll` moves it on between
jobs, and the next `reserve` of that queue returns its rows. `ReadAhead` is what the
database queue and the in-memory one share: one reservation under way at most; the
finished rows whose DELETE it carries; and, after a failure, finished rows still owed a
DELETE, so that none is forgotten. The reservation itself is the driver's (`_ahead_mysql`,
`_ahead_postgres`, `_ahead_redis`), or made at once (`UnderWay.ready`, the in-memory
queue's). `ReadsAhead` gives the three queues the `JobQueue` methods that go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bridge.exceptions import QueueError
from bridge.queue.base import ReservedJob

__all__ = ["ReadAhead", "ReadsAhead", "UnderWay"]


class UnderWay:
    """A reservation under way while its caller runs jobs, on a connection only it uses
    meanwhile (the drivers' subclass it), or one made at once (`ready`). It ends once, with
    rows or an error, told to `on_end` (False: the connection must be discarded)."""

    def __init__(self, *, now: int, on_end: Callable[[bool], None]) -> None:
        self._now, self._on_end = now, on_end
        self._rows: list[ReservedJob] | None = None
        self._error: QueueError | None = None

    @classmethod
    def ready(cls, rows: list[ReservedJob]) -> UnderWay:
        """A reservation already made (the in-memory queue's)."""
        made = cls(now=0, on_end=lambda healthy: None)
        made._succeed(rows)
        return made

    def poll(self) -> None:
        """Move on as far as the database has answered, without waiting."""

    @property
    def done(self) -> bool:
        """Whether the reservation ended (its rows or its error are ready)."""
        return self._rows is not None or self._error is not None

    def wait(self) -> list[ReservedJob]:
        """Finish the reservation and return its rows, lowest id first.

        Raises:
            QueueError: the reservation failed; nothing was reserved and the finished rows
                were not deleted (unless the connection died as the server committed: then
                the rows stay reserved until `retry_after`, as with any reservation whose
                commit's answer never came).
        """
        while not self.done:
            self._step()
        if self._error is not None:
            raise self._error
        assert self._rows is not None
        return self._rows

    def abandon(self) -> None:
        """End the reservation unfinished: its connection is dropped (what the server had
        not committed is rolled back; rows it reserved wait for `retry_after`)."""
        if not self.done:
            self._fail(QueueError("the reservation ahead was abandoned"))

    def _step(self) -> None:
        """Move on, waiting for the server if need be."""
        raise NotImplementedError

    def _succeed(self, rows: list[ReservedJob]) -> None:
        self._rows = rows
        self._on_end(True)

    def _fail(self, error: QueueError) -> None:
        self._error = error
        self._on_end(False)


#: (queue, now, limit, finished rows) -> a reservation under way (`start`; None where the
#: queue cannot read ahead at the moment), or the rows reserved at once (`reserve`).
Start = Callable[[str, int, int, Sequence[ReservedJob]], UnderWay | None]
Reserve = Callable[[str, int, int, Sequence[ReservedJob]], list[ReservedJob]]


class ReadAhead:
    """The reservation made ahead for one caller, and the finished rows it owes."""

    def __init__(
        self,
        *,
        start: Start,
        reserve: Reserve,
        delete: Callable[[Sequence[ReservedJob]], None],
        unreserve: Callable[[ReservedJob], bool],
    ) -> None:
        self._start, self._reserve, self._delete = start, reserve, delete
        self._unreserve = unreserve
        self._pending: UnderWay | None = None
        self._queue = ""
        self._carried: list[ReservedJob] = []  # finished rows the one under way deletes
        self._owed: list[ReservedJob] = []  # finished rows whose DELETE failed

    def reserve(
        self, queue: str, *, now: int, limit: int, finished: Sequence[ReservedJob], ahead: int
    ) -> list[ReservedJob]:
        """`JobQueue.reserve`: the rows reserved ahead for `queue`, else the usual
        reservation; then, with `ahead` and rows to return, the next one ahead."""
        owed, self._owed = self._owed, []
        done = [*owed, *finished]
        try:
            rows: list[ReservedJob] = []
            if self._pending is not None:
                if ahead < 1 or self._queue != queue:
                    # No reservation ahead will carry them: deleted before its rows are taken.
                    self.delete(done)
                    owed, done = [], []
                rows = self.end()
                if self._queue != queue:
                    for job in rows:
                        self._quietly(self._unreserve, job)
                    rows = []
            if not rows:
                rows = self._reserve(queue, now, limit, done)
                done = []
        except BaseException:
            self._owed = [*owed, *self._owed]  # `finished` the caller hands in again
            raise
        if rows and ahead > 0:
            try:
                pending = self._start(queue, now, ahead, done)
            except QueueError:
                pending = None
            if pending is None:
                self._quietly(self.delete, done)  # else owed, deleted with the next one
            else:
                self._pending, self._queue, self._carried = pending, queue, done
        return rows

    def poll(self) -> bool:
        """`JobQueue.poll`."""
        if self._pending is None:
            return False
        self._pending.poll()
        return True

    def end(self) -> list[ReservedJob]:
        """`JobQueue.end_reading_ahead`: the rows reserved ahead; none when that failed,
        and the finished rows it carried are then deleted here, or owed."""
        pending, self._pending = self._pending, None
        carried, self._carried = self._carried, []
        if pending is None:
            return []
        try:
            return pending.wait()
        except QueueError:
            self._owed = [*carried, *self._owed]
            self.delete(self.with_owed(()))
            return []

    def with_owed(self, finished: Sequence[ReservedJob]) -> list[ReservedJob]:
        """`finished` and the rows owed a DELETE (no longer owed: the caller's now)."""
        owed, self._owed = self._owed, []
        return [*owed, *finished]

    def delete(self, jobs: Sequence[ReservedJob]) -> None:
        """Delete `jobs` now; if that fails they are owed (see `with_owed`)."""
        if jobs:
            try:
                self._delete(jobs)
            except BaseException:
                self._owed = [*jobs, *self._owed]
                raise

    def abandon(self) -> None:
        """End the reservation under way unfinished (its rows wait for `retry_after`); the
        finished rows it carried are owed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.abandon()
            self._owed, self._carried = [*self._carried, *self._owed], []

    @staticmethod
    def _quietly(action: Callable[[Any], object], argument: Any) -> None:
        try:
            action(argument)
        except QueueError:
            pass  # a row not handed back waits for retry_after; nothing is lost


class ReadsAhead:
    """The `JobQueue` methods of a queue that reserves and deletes through a `ReadAhead`
    (its `_reading`, set by its constructor); the queue's own reservation is the `reserve`
    callable it gave that `ReadAhead`, and its class docstring says how it reserves."""

    _reading: ReadAhead

    def reserve(
        self,
        queue: str,
        *,
        now: int,
        limit: int = 1,
        finished: Sequence[ReservedJob] = (),
        ahead: int = 0,
    ) -> list[ReservedJob]:
        """Reserve up to `limit` available or expired jobs of `queue`, oldest first,
        deleting the `finished` ones in the same step; with `ahead`, start reserving the
        next `ahead` ones while the caller runs these (see `JobQueue.reserve`)."""
        return self._reading.reserve(queue, now=now, limit=limit, finished=finished, ahead=ahead)

    def poll(self) -> bool:
        """Move a reservation made ahead on; whether one is held for the caller."""
        return self._reading.poll()

    def end_reading_ahead(self) -> list[ReservedJob]:
        """Finish a reservation made ahead and return its rows (see `JobQueue`)."""
        return self._reading.end()

    def delete(self, job: ReservedJob) -> None:
        """Delete a finished job (no-op if already gone)."""
        self.delete_many([job])

    def delete_many(self, jobs: Sequence[ReservedJob]) -> None:
        """Delete finished jobs, and those whose DELETE failed earlier (rows already gone
        are skipped)."""
        self._reading.delete(self._reading.with_owed(jobs))
