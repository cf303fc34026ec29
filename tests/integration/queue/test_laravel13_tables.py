"""bridge's statements on the tables Laravel 13's migration stubs create.

13 changed column types only: `jobs.attempts` is `smallint unsigned` (was `tinyint
unsigned`: a MariaDB row could not pass 255 attempts), `failed_jobs.connection` and `queue`
are `varchar(255)` (were `text`) and `failed_jobs` gains an index on `connection, queue,
failed_at`. The tables here are bridge's (8-12's) altered to 13's types.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.queue.base import FailedJobFilter, NewJob
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue
from bridge.queue.schema import migrate

NOW = 1_790_000_000


def _to_laravel_13(engine: Engine, tables: Tables) -> None:
    dialect = engine.dialect.name
    statements = []
    if dialect in ("mysql", "mariadb"):
        statements = [
            f"ALTER TABLE {tables.jobs} MODIFY attempts SMALLINT UNSIGNED NOT NULL",
            f"ALTER TABLE {tables.failed} MODIFY connection VARCHAR(255) NOT NULL,"
            " MODIFY queue VARCHAR(255) NOT NULL",
        ]
    elif dialect == "postgresql":  # attempts was already a smallint there
        statements = [
            f"ALTER TABLE {tables.failed} ALTER COLUMN connection TYPE varchar(255),"
            " ALTER COLUMN queue TYPE varchar(255)",
        ]
    statements.append(
        f"CREATE INDEX {tables.failed}_connection_queue_failed_at_index"
        f" ON {tables.failed} (connection, queue, failed_at)"
    )
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_queue_and_failed_jobs_on_laravel_13_tables(engine: Engine, tables: Tables) -> None:
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    _to_laravel_13(engine, tables)
    queue = DatabaseQueue(engine=engine, table=tables.jobs)
    # 300 attempts: past what 8-12's tinyint column holds on MariaDB, within 13's smallint.
    queue.bulk([NewJob(payload='{"uuid":"u-13","job":"x"}', queue="q13", available_at=NOW,
                       created_at=NOW, attempts=299)])  # fmt: skip
    [job] = queue.reserve("q13", now=NOW)
    assert job.attempts == 300
    queue.release(job, now=NOW, delay_seconds=0)
    [again] = queue.reserve("q13", now=NOW)
    assert again.attempts == 301
    failed = DatabaseFailedJobStore(engine=engine, table=tables.failed)
    failed.log(
        uuid="u-13",
        connection="database",
        queue="q13",
        payload=again.payload,
        exception="RuntimeException: boom",
        failed_at=datetime(2026, 12, 7, 12, 0, 0),
    )
    queue.delete(again)
    [record] = failed.select(FailedJobFilter(queue="q13", connection="database"))
    assert (record.uuid, record.queue, record.connection) == ("u-13", "q13", "database")
    assert failed.forget("u-13")
    with engine.connect() as conn:
        left = conn.execute(sa.text(f"SELECT COUNT(*) FROM {tables.jobs}")).scalar_one()
    assert left == 0
