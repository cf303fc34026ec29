"""Reading ahead: a worker's next reservation, made while it runs the rows of the last.

`JobQueue.reserve(..., ahead=N)` starts it as it returns rows; `poll` moves it on between
jobs; the next `reserve` of that queue returns its rows. This module keeps what the
database queue and the in-memory one share: at most one reservation under way, for one
queue; the finished rows whose DELETE it carries; and, after a failure, the finished rows
still to delete, so that none is forgotten. The reservation itself is the driver's
(`_ahead_mysql`, `_ahead_postgres`); the in-memory queue's is made at once (`Ready`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bridge.exceptions import QueueError
from bridge.queue.base import ReservedJob

__all__ = ["ReadAhead", "Ready", "Reservation"]


class Reservation(Protocol):
    """A reservation under way while its caller runs jobs."""

    def poll(self) -> None:
        """Move the reservation on as far as the database has answered."""
        ...

    def wait(self) -> list[ReservedJob]:
        """Finish the reservation and return the rows it reserved.

        Raises:
            QueueError: nothing was reserved and the finished rows were not deleted.
        """
        ...

    def abandon(self) -> None:
        """End the reservation unfinished; its connection is dropped."""
        ...


@dataclass(frozen=True, slots=True)
class Ready:
    """A `Reservation` finished when it was started."""

    rows: list[ReservedJob]

    def poll(self) -> None:
        """Nothing is left to do."""

    def wait(self) -> list[ReservedJob]:
        """The rows."""
        return self.rows

    def abandon(self) -> None:
        """Nothing is under way."""


#: Starts a reservation of (queue, now, limit) that deletes `finished` rows; None where
#: the queue cannot at the moment.
Start = Callable[[str, int, int, Sequence[ReservedJob]], Reservation | None]
#: The queue's usual reservation: (queue, now, limit, finished) -> rows.
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
        self._start = start
        self._reserve = reserve
        self._delete = delete
        self._unreserve = unreserve
        self._pending: Reservation | None = None
        self._queue = ""
        # The finished rows the reservation under way deletes.
        self._carried: list[ReservedJob] = []
        # Finished rows handed in whose DELETE failed: deleted with the next statement.
        self._owed: list[ReservedJob] = []

    @property
    def under_way(self) -> Reservation | None:
        """The reservation made ahead, if any."""
        return self._pending

    def reserve(
        self, queue: str, *, now: int, limit: int, finished: Sequence[ReservedJob], ahead: int
    ) -> list[ReservedJob]:
        """`JobQueue.reserve`: the rows reserved ahead, else the usual reservation; then,
        with `ahead` and rows to return, the next reservation ahead."""
        done = self.with_owed(finished)
        rows: list[ReservedJob] = []
        if self._pending is not None:
            if ahead < 1 or self._queue != queue:
                # No reservation ahead will carry them: deleted before its rows are taken.
                self.delete(done)
                done = []
            rows = self._finish()
            done = self._take_carried_back() + done
            if rows and self._queue != queue:
                for job in rows:
                    self._hand_back(job)
                rows = []
        if not rows:
            try:
                rows = self._reserve(queue, now, limit, done)
            except BaseException:
                self._owed = done
                raise
            done = []
        if rows and ahead > 0:
            self._begin(queue, now, ahead, done)
        return rows

    def poll(self) -> bool:
        """`JobQueue.poll`."""
        pending = self._pending
        if pending is None:
            return False
        pending.poll()
        return True

    def end(self) -> list[ReservedJob]:
        """`JobQueue.end_reading_ahead`."""
        if self._pending is None:
            return []
        rows = self._finish()
        self.delete(self._take_carried_back())
        return rows

    def with_owed(self, finished: Sequence[ReservedJob]) -> list[ReservedJob]:
        """`finished` and the rows still owed a DELETE (no longer owed: the caller's now)."""
        owed, self._owed = self._owed, []
        return [*owed, *finished] if owed else list(finished)

    def delete(self, jobs: Sequence[ReservedJob]) -> None:
        """Delete `jobs` now; if that fails they are owed (see `with_owed`)."""
        if not jobs:
            return
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
            self._owed = [*self._take_carried_back(), *self._owed]

    def _begin(self, queue: str, now: int, limit: int, finished: list[ReservedJob]) -> None:
        try:
            pending = self._start(queue, now, limit, finished)
        except QueueError:
            pending = None
        if pending is None:
            try:
                self.delete(finished)
            except QueueError:
                pass  # owed: deleted with the next statement
            return
        self._pending, self._queue, self._carried = pending, queue, finished

    def _finish(self) -> list[ReservedJob]:
        """The rows reserved ahead; none when that reservation failed (its finished rows
        are then still to delete: `_take_carried_back`)."""
        pending, self._pending = self._pending, None
        assert pending is not None
        try:
            rows = pending.wait()
        except QueueError:
            return []
        self._carried = []
        return rows

    def _take_carried_back(self) -> list[ReservedJob]:
        carried, self._carried = self._carried, []
        return carried

    def _hand_back(self, job: ReservedJob) -> None:
        try:
            self._unreserve(job)
        except QueueError:
            pass  # the reservation expires after retry_after; nothing is lost
