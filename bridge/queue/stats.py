"""Counts per queue for `bridge status`: one grouped SELECT over the `jobs` table, or the
lengths of a Redis queue's list and sorted sets.

A row is *pending* when it is free and available, *delayed* when it is free but not yet
available, *reserved* while a worker holds it (an expired reservation included: it is still
marked until a worker takes it over).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bridge.exceptions import ConfigError
from bridge.queue._errors import retrying
from bridge.queue.base import JobQueue
from bridge.queue.database import DatabaseQueue

if TYPE_CHECKING:
    from bridge.queue.redis import RedisQueue

__all__ = ["QueueStats", "queue_stats"]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What one queue holds at `now`."""

    queue: str
    pending: int
    delayed: int
    reserved: int
    #: `created_at` of the oldest pending row, None when nothing is pending.
    oldest_pending_created_at: int | None

    def oldest_age(self, now: int) -> int | None:
        """Seconds the oldest pending job has existed, None when nothing is pending."""
        created = self.oldest_pending_created_at
        return None if created is None else max(0, now - created)


def queue_stats(queue: JobQueue, *, now: int) -> list[QueueStats]:
    """The counts of every queue that holds jobs, by queue name.

    Raises:
        ConfigError: The queue is of a kind that cannot be counted here.
    """
    if isinstance(queue, DatabaseQueue):
        return _database_stats(queue, now=now)
    # Imported here: the Redis client is an optional dependency.
    from bridge.queue.redis import RedisQueue

    if isinstance(queue, RedisQueue):
        return _redis_stats(queue, now=now)
    raise ConfigError(f"bridge status cannot count a {type(queue).__name__}")


def _redis_stats(queue: RedisQueue, *, now: int) -> list[QueueStats]:
    # Laravel's own monitor reads the same lengths; a Laravel 8 payload carries no
    # createdAt, so its oldest age stays unknown.
    return [
        QueueStats(
            queue=name,
            pending=queue.pending_size(name, now=now),
            delayed=queue.delayed_size(name, now=now),
            reserved=queue.reserved_size(name),
            oldest_pending_created_at=queue.oldest_pending_created_at(name),
        )
        for name in queue.queue_names()
    ]


def _database_stats(queue: DatabaseQueue, *, now: int) -> list[QueueStats]:
    t = queue.table
    free = t.c.reserved_at.is_(None)
    pending = sa.and_(free, t.c.available_at <= now)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    query = (
        sa.select(
            t.c.queue,
            count(pending),
            count(sa.and_(free, t.c.available_at > now)),
            count(t.c.reserved_at.is_not(None)),
            sa.func.min(sa.case((pending, t.c.created_at), else_=None)),
        )
        .group_by(t.c.queue)
        .order_by(t.c.queue)
    )

    def run() -> list[QueueStats]:
        with queue.engine.begin() as conn:
            return [
                QueueStats(
                    queue=str(row[0]),
                    pending=int(row[1]),
                    delayed=int(row[2]),
                    reserved=int(row[3]),
                    oldest_pending_created_at=None if row[4] is None else int(row[4]),
                )
                for row in conn.execute(query)
            ]

    return retrying(run, idempotent=True)
