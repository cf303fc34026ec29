"""Per-test table names, shared by the queue integration tests and their conftest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tables:
    """Unique table names for one test, so tests never share rows."""

    jobs: str
    failed: str
    batches: str


def drain(url: str, table: str, queue: str, limit: int, now: int) -> list[int]:
    """Reserve and delete jobs from `queue` until none is left; return the ids reserved.

    Runs in a child process (spawned, so it imports this module afresh) with its own engine.
    """
    from bridge.queue.database import DatabaseQueue, create_engine_for

    engine = create_engine_for(url)
    jobs_queue = DatabaseQueue(engine=engine, table=table)
    seen: list[int] = []
    try:
        while jobs := jobs_queue.reserve(queue, now=now, limit=limit):
            seen.extend(job.id for job in jobs)
            jobs_queue.delete_many(jobs)
    finally:
        engine.dispose()
    return seen
