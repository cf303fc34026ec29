"""`migrate` from processes that start at once: each table is created once, and nobody fails.

A `bridge work --concurrency N` pool, or workers on several hosts, may all migrate on start;
between one's check for a table and its CREATE another may have created it.
"""

from __future__ import annotations

import threading
from collections import Counter

from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.queue.database import create_engine_for
from bridge.queue.schema import migrate

STARTERS = 6


def test_workers_that_migrate_at_once_create_each_table_once(
    engine: Engine, tables: Tables, database_url: str
) -> None:
    start = threading.Barrier(STARTERS)
    created: list[str] = []
    errors: list[BaseException] = []

    def starter() -> None:
        own = create_engine_for(database_url)  # as a process would: its own connections
        try:
            start.wait()
            created.extend(
                migrate(
                    own,
                    jobs_table=tables.jobs,
                    failed_table=tables.failed,
                    batches_table=tables.batches,
                )
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=starter) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Counter(created) == Counter([tables.jobs, tables.failed, tables.batches])
