"""bridge's tables and rows against Laravel 8's own classes, live, on all three databases.

Laravel's schema builder creates a second set of tables and the two are compared column by
column; then PHP's `DatabaseQueue`, failed-job providers and batch repository work on rows
bridge wrote, and bridge on rows PHP wrote.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from queue_helpers import Tables, run_laravel
from sqlalchemy.engine import Engine

from bridge.queue.base import FailedJobFilter, NewJob
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue
from bridge.queue.schema import migrate

NOW = 1_760_000_000
PAYLOAD = json.dumps(
    {
        "uuid": "5b1b3bb1-0b59-4a3c-9d8a-7f6c1c7e8b10",
        "displayName": "App\\Jobs\\Ship",
        "job": "Illuminate\\Queue\\CallQueuedHandler@call",
        "data": {
            "commandName": "App\\Jobs\\Ship",
            "command": 'O:13:"App\\Jobs\\Ship":1:{s:1:"n";s:6:"é😀";}',
        },
    },
    ensure_ascii=False,
)


def describe(engine: Engine, table: str) -> Any:
    """What the database itself reports about `table`, with the table name replaced by T."""

    def norm(text: Any) -> Any:
        return None if text is None else str(text).replace(table, "T")

    with engine.connect() as conn:
        if engine.dialect.name == "mysql":
            ddl = conn.exec_driver_sql(f"SHOW CREATE TABLE {table}").one()[1]
            return re.sub(r" AUTO_INCREMENT=\d+", "", norm(ddl))
        if engine.dialect.name == "postgresql":
            columns = conn.exec_driver_sql(
                "SELECT column_name, data_type, character_maximum_length, datetime_precision,"
                " is_nullable, column_default FROM information_schema.columns"
                f" WHERE table_name = '{table}' ORDER BY ordinal_position"
            ).all()
            indexes = conn.exec_driver_sql(
                f"SELECT indexdef FROM pg_indexes WHERE tablename = '{table}' ORDER BY indexname"
            ).all()
            constraints = conn.exec_driver_sql(
                "SELECT conname, contype FROM pg_constraint"
                f" WHERE conrelid = '{table}'::regclass ORDER BY conname"
            ).all()
            return (
                [tuple(map(norm, c)) for c in columns],
                [norm(i[0]) for i in indexes],
                [tuple(map(norm, c)) for c in constraints],
            )
        columns = conn.exec_driver_sql(f"PRAGMA table_info({table})").all()
        indexes = conn.exec_driver_sql(f"PRAGMA index_list({table})").all()
        sql = conn.exec_driver_sql(
            f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        ).scalar_one()
        return (
            # SQLite keeps the declared type text; only its letter case differs.
            [(c.name, c.type.lower(), c.notnull, c.dflt_value, c.pk) for c in columns],
            sorted((norm(i.name), i.unique, i.origin) for i in indexes),
            "autoincrement" in sql.lower(),
        )


@pytest.mark.php
@pytest.mark.parametrize("uuid_layout", [True, False], ids=["uuids", "id-only"])
def test_tables_match_laravels_schema_builder(
    engine: Engine, database_url: str, php_binary: str, laravel: Any, uuid_layout: bool
) -> None:
    suffix = uuid.uuid4().hex[:8]
    ours = Tables(jobs=f"bj_{suffix}", failed=f"bf_{suffix}", batches=f"bb_{suffix}")
    theirs = Tables(jobs=f"lj_{suffix}", failed=f"lf_{suffix}", batches=f"lb_{suffix}")
    try:
        created = migrate(
            engine,
            jobs_table=ours.jobs,
            failed_table=ours.failed,
            batches_table=ours.batches,
            failed_uuid=uuid_layout,
        )
        assert created == [ours.jobs, ours.failed, ours.batches]
        assert (
            migrate(
                engine, jobs_table=ours.jobs, failed_table=ours.failed, batches_table=ours.batches
            )
            == []
        )
        run_laravel(php_binary, database_url, theirs, "schema", uuid_layout=uuid_layout)
        for mine, laravels in zip(
            (ours.jobs, ours.failed, ours.batches),
            (theirs.jobs, theirs.failed, theirs.batches),
            strict=True,
        ):
            assert describe(engine, mine) == describe(engine, laravels)
    finally:
        with engine.begin() as conn:
            for name in (*ours.__dict__.values(), *theirs.__dict__.values()):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))


@pytest.mark.php
def test_php_pops_and_releases_what_python_pushed(
    queue: DatabaseQueue, database_url: str, php_binary: str, laravel: Any, tables: Tables
) -> None:
    first = queue.push(PAYLOAD, queue="mixed", now=NOW)
    answer = run_laravel(
        php_binary,
        database_url,
        tables,
        "pop",
        queue="mixed",
        now=NOW + 1,
        then="release",
        delay=10,
    )
    assert answer["job"] == {"id": first, "attempts": 1, "payload": PAYLOAD, "reserved_at": NOW + 1}
    (row,) = queue.rows()
    assert (row.payload, row.attempts, row.reserved_at) == (PAYLOAD, 1, None)
    assert (row.available_at, row.created_at) == (NOW + 11, NOW + 1) and row.id > first
    (job,) = queue.reserve("mixed", now=NOW + 11)
    assert (job.id, job.attempts) == (row.id, 2)
    queue.release(job, now=NOW + 12)
    again = run_laravel(
        php_binary, database_url, tables, "pop", queue="mixed", now=NOW + 12, then="delete"
    )
    assert again["job"]["attempts"] == 3 and again["job"]["payload"] == PAYLOAD
    assert queue.size("mixed") == 0


@pytest.mark.php
def test_python_reads_what_php_pushed_as_python_writes_it(
    queue: DatabaseQueue, database_url: str, php_binary: str, laravel: Any, tables: Tables
) -> None:
    php_id = run_laravel(
        php_binary, database_url, tables, "push", queue="q", payload=PAYLOAD, now=NOW
    )["id"]
    later_id = run_laravel(
        php_binary, database_url, tables, "push", queue="q", payload="later", delay=30, now=NOW
    )["id"]
    py_id = queue.push(PAYLOAD, queue="q", now=NOW)
    py_later = queue.push("later", queue="q", now=NOW, delay_seconds=30)
    rows = {r.id: r for r in queue.rows()}
    strip = lambda r: (r.queue, r.payload, r.attempts, r.reserved_at, r.available_at, r.created_at)  # noqa: E731
    assert strip(rows[int(php_id)]) == strip(rows[py_id])
    assert strip(rows[int(later_id)]) == strip(rows[py_later])
    reserved = queue.reserve("q", now=NOW, limit=5)
    assert [j.id for j in reserved] == [int(php_id), py_id]


@pytest.mark.php
@pytest.mark.parametrize("uuid_layout", [True, False], ids=["uuids", "id-only"])
def test_failed_rows_are_shared_both_ways(
    engine: Engine,
    database_url: str,
    php_binary: str,
    laravel: Any,
    tables: Tables,
    uuid_layout: bool,
) -> None:
    migrate(
        engine,
        jobs_table=tables.jobs,
        failed_table=tables.failed,
        batches_table=tables.batches,
        failed_uuid=uuid_layout,
    )
    store = DatabaseFailedJobStore(engine=engine, table=tables.failed)
    request = dict(uuid_layout=uuid_layout, now=NOW)
    run_laravel(
        php_binary, database_url, tables, "failed_log", connection_name="database", queue="high",
        payload=PAYLOAD, exception="RuntimeException: boom in /app/Ship.php:9", **request,
    )  # fmt: skip
    (from_php,) = store.select(FailedJobFilter())
    assert from_php.payload == PAYLOAD and from_php.queue == "high"
    # Date::now() under PHP's default timezone (UTC here), as a naive Y-m-d H:i:s.
    assert from_php.failed_at == datetime.fromtimestamp(NOW, UTC).replace(tzinfo=None)
    assert from_php.uuid == (json.loads(PAYLOAD)["uuid"] if uuid_layout else None)
    other = PAYLOAD.replace("5b1b3bb1", "00000000")
    py_id = store.log(
        uuid=json.loads(other)["uuid"],
        connection="database",
        queue="low",
        payload=other,
        exception="E",
        failed_at=datetime(2026, 5, 6, 7, 8, 9),
    )
    rows = run_laravel(php_binary, database_url, tables, "failed_all", **request)["rows"]
    newest = rows[0]
    assert (newest["queue"], newest["payload"], newest["failed_at"]) == (
        "low",
        other,
        "2026-05-06 07:08:09",
    )
    # The uuid provider lists the uuid as the id, as `queue:failed` shows it.
    assert str(newest["id"]) == (json.loads(other)["uuid"] if uuid_layout else str(py_id))
    assert len(rows) == 2


@pytest.mark.php
def test_batch_counters_shared_with_laravels_repository(
    engine: Engine, database_url: str, php_binary: str, laravel: Any, tables: Tables
) -> None:
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    stores = tables.stores(engine)
    store = stores.batches
    store.create(batch_id="b-1", name="n", options=None, now=NOW)
    jobs = [NewJob(payload=PAYLOAD, queue="q", available_at=NOW, created_at=NOW)] * 4
    stores.add_batch_jobs("b-1", jobs)
    store.record_failure("b-1", "j-1", now=NOW, allow_failures=True)
    php = run_laravel(
        php_binary, database_url, tables, "batch", event="failure", batch_id="b-1", job_uuid="j-2"
    )
    assert php == {"pending": 4, "failed": 2}
    record = store.record_failure("b-1", "j-2", now=NOW, allow_failures=True)
    assert record is not None and record.failed_job_ids == ("j-1", "j-2")
    php = run_laravel(
        php_binary, database_url, tables, "batch", event="success", batch_id="b-1", job_uuid="j-1"
    )
    assert php == {"pending": 3, "failed": 3}
    done = store.record_success("b-1", "j-3", now=NOW + 1)
    assert done is not None and (done.pending_jobs, done.failed_job_ids) == (2, ("j-2",))
    with engine.connect() as conn:
        # PHP's json_encode wrote this value last but one; bridge must write the same text.
        stored = conn.execute(sa.select(store.table.c.failed_job_ids)).scalar_one()
    assert stored == '["j-2"]'
