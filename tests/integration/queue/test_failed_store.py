"""`DatabaseFailedJobStore` in both layouts, its filters, flush/prune, and the moves in and
out of it (`DatabaseStores.fail`, `retry`, `retry_many`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.exceptions import FailedJobNotFound, QueueError
from bridge.queue.base import FailedJobFilter, ReservedJob, RetryMove
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for
from bridge.queue.schema import inspect_failed_layout, migrate

NOW = 1_760_000_000
WHEN = datetime(2026, 3, 4, 5, 6, 7)


def payload(command_name: str, uuid: str, extra: str = "") -> str:
    # The shape Laravel writes: escaped slashes and backslashes in the class name.
    data = {
        "commandName": command_name,
        "command": f'O:{len(command_name)}:"{command_name}":0:{{}}',
    }
    return json.dumps({"uuid": uuid, "displayName": command_name, "data": data, "x": extra})


def reserved(row_id: int | str, queue: str, text: str) -> ReservedJob:
    """Row `row_id` as a worker holds it (what a move reads of it: id, queue, payload)."""
    return ReservedJob(row_id, queue, text, 1, NOW, NOW, NOW)


@pytest.fixture(params=[True, False], ids=["uuids", "id-only"])
def store(request: pytest.FixtureRequest, engine: Engine, tables: Tables) -> DatabaseFailedJobStore:
    migrate(
        engine,
        jobs_table=tables.jobs,
        failed_table=tables.failed,
        batches_table=tables.batches,
        failed_uuid=request.param,
    )
    return DatabaseFailedJobStore(engine=engine, table=tables.failed)


def failed_at_text(engine: Engine, table: str) -> list[str]:
    cast = {"mysql": "CAST(failed_at AS CHAR)", "postgresql": "failed_at::text"}
    expr = cast.get(engine.dialect.name, "failed_at")
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql(f"SELECT {expr} FROM {table} ORDER BY id")]


def test_log_writes_laravels_row(store: DatabaseFailedJobStore, engine: Engine) -> None:
    text = payload("App\\Jobs\\Ship", "u-1")
    rid = store.log(
        uuid="u-1",
        connection="database",
        queue="high",
        payload=text,
        exception="RuntimeException: boom in /app/Job.php:20\nStack trace:\n#0 {main}",
        failed_at=WHEN.replace(microsecond=123456),
    )
    assert store.has_uuid is inspect_failed_layout(engine, store.table_name)
    record = store.find(rid)
    assert record is not None
    assert (record.connection, record.queue, record.payload) == ("database", "high", text)
    assert record.failed_at == WHEN
    assert record.uuid == ("u-1" if store.has_uuid else None)
    assert failed_at_text(engine, store.table_name) == ["2026-03-04 05:06:07"]
    assert store.find("u-1" if store.has_uuid else str(rid)) == record
    assert store.find(rid + 1) is None


def test_duplicate_uuid_is_rejected(engine: Engine, tables: Tables) -> None:
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    store = DatabaseFailedJobStore(engine=engine, table=tables.failed)
    kwargs = dict(connection="c", queue="q", payload="{}", exception="e", failed_at=WHEN)
    store.log(uuid="same", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(QueueError):
        store.log(uuid="same", **kwargs)  # type: ignore[arg-type]


def test_select_filters_and_orders_newest_first(store: DatabaseFailedJobStore) -> None:
    ids = {}
    for n, (name, queue, exc) in enumerate(
        [
            ("App\\Jobs\\Ship", "high", "RuntimeException: boom"),
            ("App\\Jobs\\ShipLater", "high", "LogicException: Boom"),
            ("App\\Jobs\\Bill", "low", "RuntimeException: mentions App\\Jobs\\Ship"),
            ("App\\Jobs\\Ship", "low", "TypeError: x"),
        ]
    ):
        ids[n] = store.log(
            uuid=f"u-{n}",
            connection="database" if n < 3 else "redis",
            queue=queue,
            payload=payload(name, f"u-{n}"),
            exception=exc,
            failed_at=WHEN + timedelta(hours=n),
        )

    def pick(**kw: object) -> list[int]:
        return [r.id for r in store.select(FailedJobFilter(**kw))]  # type: ignore[arg-type]

    assert pick() == [ids[3], ids[2], ids[1], ids[0]]
    assert pick(command_name="App\\Jobs\\Ship") == [ids[3], ids[0]]
    assert pick(command_name="\\App\\Jobs\\Ship", queue="high") == [ids[0]]
    assert pick(exception_contains="boom") == [ids[0]]  # case-sensitive, also on MySQL
    assert pick(connection="redis") == [ids[3]]
    assert pick(failed_since=WHEN + timedelta(hours=1), failed_until=WHEN + timedelta(hours=2)) == [
        ids[2],
        ids[1],
    ]
    assert pick(ids=(ids[0],), id_range=(ids[2], ids[3])) == [ids[3], ids[2], ids[0]]
    if store.has_uuid:
        assert pick(uuids=("u-1",)) == [ids[1]]
    assert pick(limit=2) == [ids[3], ids[2]]


def test_select_pages_through_many_rows(store: DatabaseFailedJobStore, engine: Engine) -> None:
    rows = [
        {
            **({"uuid": f"u-{i}"} if store.has_uuid else {}),
            "connection": "database",
            "queue": "bulk",
            "payload": payload("App\\Jobs\\Even" if i % 2 == 0 else "App\\Jobs\\Odd", f"u-{i}"),
            "exception": "E",
            "failed_at": WHEN,
        }
        for i in range(1_205)
    ]
    with engine.begin() as conn:
        conn.execute(store.table.insert(), rows)
    everything = [r.id for r in store.select(FailedJobFilter())]
    assert len(everything) == 1_205 and everything == sorted(everything, reverse=True)
    evens = list(store.select(FailedJobFilter(command_name="App\\Jobs\\Even")))
    assert len(evens) == 603
    assert len(list(store.select(FailedJobFilter(command_name="App\\Jobs\\Odd", limit=550)))) == 550


def test_forget_flush_and_prune(store: DatabaseFailedJobStore, engine: Engine) -> None:
    rows = [
        {
            **({"uuid": f"u-{i}"} if store.has_uuid else {}),
            "connection": "database",
            "queue": "q",
            "payload": "{}",
            "exception": "E",
            "failed_at": WHEN + timedelta(minutes=i // 1000),
        }
        for i in range(2_500)
    ]
    with engine.begin() as conn:
        conn.execute(store.table.insert(), rows)
    # Rows of minute 0 and 1 (2,000 of them) fail before minute 2: two full chunks.
    assert store.prune(before=WHEN + timedelta(minutes=2)) == 2_000
    assert store.flush(older_than=WHEN + timedelta(minutes=1)) == 0
    first = next(store.select(FailedJobFilter(limit=1)))
    assert store.forget(first.id) and not store.forget(first.id)
    assert store.flush(older_than=WHEN + timedelta(minutes=2)) == 499
    assert store.flush() == 0


def test_fail_moves_the_row_in_one_transaction(
    store: DatabaseFailedJobStore, engine: Engine, tables: Tables
) -> None:
    stores = tables.stores(engine, connection_name="mysql-jobs")
    text = payload("App\\Jobs\\Ship", "u-7")
    job = reserved(stores.queue.push(text, queue="high", now=NOW), "high", text)
    failed_id = stores.fail(job, uuid="u-7", exception="E", failed_at=WHEN)
    record = store.find(failed_id)
    assert record is not None
    assert (record.connection, record.queue, record.payload) == ("mysql-jobs", "high", text)
    assert stores.queue.size("high") == 0
    if not store.has_uuid:
        return
    # The failed row refused (its uuid is taken): the DELETE is rolled back with it.
    again = reserved(stores.queue.push(text, queue="high", now=NOW), "high", text)
    with pytest.raises(QueueError):
        stores.fail(again, uuid="u-7", exception="E", failed_at=WHEN)
    assert [r.id for r in stores.queue.rows()] == [again.id]


def test_retry_same_database_moves_atomically(
    store: DatabaseFailedJobStore, engine: Engine, tables: Tables
) -> None:
    stores = tables.stores(engine)
    queue = stores.queue
    text = payload("App\\Jobs\\Ship", "u-9")
    rid = store.log(
        uuid="u-9", connection="database", queue="high", payload=text, exception="E", failed_at=WHEN
    )
    record = store.find(rid)
    assert record is not None
    new_id = stores.retry(record, payload=text, target_queue="high", now=NOW)
    (row,) = queue.rows()
    assert (row.id, row.queue, row.payload, row.attempts) == (new_id, "high", text, 0)
    assert (row.reserved_at, row.available_at, row.created_at) == (None, NOW, NOW)
    assert store.find(rid) is None
    with pytest.raises(FailedJobNotFound):
        stores.retry(record, payload=text, target_queue="high", now=NOW)
    assert queue.size("high") == 1


def test_retry_into_another_database_never_inserts_twice(
    store: DatabaseFailedJobStore, engine: Engine, tables: Tables, tmp_path: Path
) -> None:
    stores = tables.stores(engine)
    target_engine = create_engine_for(f"sqlite:///{tmp_path / 'target.sqlite'}")
    migrate(target_engine)
    target = DatabaseQueue(engine=target_engine)
    records = []
    for uuid in ("u-crashed", "u-fresh"):
        rid = store.log(
            uuid=uuid,
            connection="database",
            queue="q",
            payload=payload("App\\Jobs\\Ship", uuid),
            exception="E",
            failed_at=WHEN,
        )
        found = store.find(rid)
        assert found is not None
        records.append(found)
    crashed, fresh = records
    # As if an earlier move crashed after the target INSERT, before the source DELETE.
    earlier = target.push(crashed.payload, queue="q", now=NOW - 5)
    again = stores.retry(crashed, payload=crashed.payload, target_queue="q", now=NOW, into=target)
    assert again == earlier and store.find(crashed.id) is None
    moved = stores.retry(fresh, payload=fresh.payload, target_queue="q", now=NOW, into=target)
    with pytest.raises(FailedJobNotFound):
        stores.retry(fresh, payload=fresh.payload, target_queue="q", now=NOW, into=target)
    rows = target.rows()
    assert [(r.id, r.payload, r.attempts, r.created_at) for r in rows] == [
        (earlier, crashed.payload, 0, NOW - 5),
        (moved, fresh.payload, 0, NOW),
    ]
    assert list(store.select(FailedJobFilter())) == []
    target_engine.dispose()


def test_missing_table_is_a_schema_error(engine: Engine) -> None:
    from bridge.exceptions import SchemaError

    with pytest.raises(SchemaError):
        inspect_failed_layout(engine, "no_such_failed_jobs")
    queue = DatabaseQueue(engine=engine, table="no_such_jobs_table")
    with pytest.raises(SchemaError):
        queue.size("default")
    assert sa.inspect(engine).has_table("no_such_jobs_table") is False


def test_retry_many_moves_chunks_and_reports_rows_already_gone(
    store: DatabaseFailedJobStore, engine: Engine, tables: Tables
) -> None:
    stores = tables.stores(engine)
    queue = stores.queue
    records = []
    for n in range(230):  # more than one chunk of 100
        uuid = f"u-{n}"
        rid = store.log(
            uuid=uuid,
            connection="database",
            queue="q",
            payload=payload("App\\Jobs\\Ship", uuid),
            exception="E",
            failed_at=WHEN,
        )
        found = store.find(rid)
        assert found is not None
        records.append(found)
    gone = records[150]
    assert store.forget(gone.id)  # another process got there first
    moves = [RetryMove(r, r.payload, "retried") for r in records]
    moved = stores.retry_many(moves, now=NOW)
    assert moved[gone.id] is None
    assert sorted(k for k, v in moved.items() if v is not None) == sorted(
        r.id for r in records if r is not gone
    )
    rows = queue.rows("retried")
    assert [r.payload for r in rows] == [r.payload for r in records if r is not gone]
    assert {(r.attempts, r.available_at, r.created_at) for r in rows} == {(0, NOW, NOW)}
    assert list(store.select(FailedJobFilter())) == []
    assert all(v is None for v in stores.retry_many(moves, now=NOW).values())
