"""`DatabaseBatchStore`: Laravel's batch rows and counters, also under concurrent updates,
and `DatabaseStores.add_batch_jobs`."""

from __future__ import annotations

import threading

import pytest
from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.exceptions import QueueError
from bridge.queue.base import NewJob
from bridge.queue.database import DatabaseBatchStore, create_engine_for
from bridge.queue.schema import migrate

NOW = 1_760_000_000
OPTIONS = b'a:1:{s:5:"queue";s:7:"default";}\x00 and \xc3\xa9'


@pytest.fixture
def batches(engine: Engine, tables: Tables) -> DatabaseBatchStore:
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    return DatabaseBatchStore(engine=engine, table=tables.batches)


def test_create_writes_laravels_empty_batch(batches: DatabaseBatchStore, engine: Engine) -> None:
    options = OPTIONS if engine.dialect.name != "postgresql" else b"YToxOntzOjU6InF1ZXVlIjt9"
    created = batches.create(batch_id="a353f2fb-1f6c-44d9", name="import", options=options, now=NOW)
    assert batches.find(created.id) == created
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT name, total_jobs, pending_jobs, failed_jobs, failed_job_ids, cancelled_at,"
            f" created_at, finished_at FROM {batches.table.name}"
        ).one()
    assert tuple(row) == ("import", 0, 0, 0, "[]", None, NOW, None)
    with pytest.raises(QueueError):
        batches.create(batch_id="bad", name="n", options=b"\xff", now=NOW)


def test_add_batch_jobs_counts_and_inserts_in_one_transaction(
    batches: DatabaseBatchStore, engine: Engine, tables: Tables
) -> None:
    stores = tables.stores(engine)
    queue = stores.queue
    batches.create(batch_id="b", name="n", options=None, now=NOW)
    jobs = [NewJob(payload=f"p{i}", queue="q", available_at=NOW, created_at=NOW) for i in range(4)]
    stores.add_batch_jobs("b", jobs)
    added = stores.add_batch_jobs("b", jobs[:1])
    assert (added.total_jobs, added.pending_jobs, added.finished_at) == (5, 5, None)
    assert [r.payload for r in queue.rows()] == ["p0", "p1", "p2", "p3", "p0"]
    with pytest.raises(QueueError):
        stores.add_batch_jobs("missing", jobs)
    assert queue.size("q") == 5  # the failed add inserted nothing


def test_success_and_failure_counters(
    batches: DatabaseBatchStore, engine: Engine, tables: Tables
) -> None:
    batches.create(batch_id="b", name="n", options=None, now=NOW)
    jobs = [NewJob(payload="p", queue="q", available_at=NOW, created_at=NOW)] * 2
    tables.stores(engine).add_batch_jobs("b", jobs)
    failed = batches.record_failure("b", "j1", now=NOW + 1, allow_failures=True)
    assert failed is not None and (failed.failed_jobs, failed.failed_job_ids) == (1, ("j1",))
    batches.record_failure("b", "j1", now=NOW + 1, allow_failures=True)
    retried = batches.record_success("b", "j1", now=NOW + 2)
    assert retried is not None and (retried.pending_jobs, retried.failed_job_ids) == (1, ())
    done = batches.record_success("b", "j2", now=NOW + 3)
    assert done is not None and (done.pending_jobs, done.finished_at) == (0, NOW + 3)
    assert batches.record_success("nope", "j", now=NOW) is None
    with engine.connect() as conn:
        ids = conn.exec_driver_sql(f"SELECT failed_job_ids FROM {batches.table.name}").scalar_one()
    assert ids == "[]"


def test_first_failure_cancels_unless_failures_are_allowed(batches: DatabaseBatchStore) -> None:
    batches.create(batch_id="b", name="n", options=None, now=NOW)
    cancelled = batches.record_failure("b", "j", now=NOW + 7, allow_failures=False)
    assert cancelled is not None
    assert (cancelled.cancelled_at, cancelled.finished_at) == (NOW + 7, NOW + 7)


def test_concurrent_updates_lose_nothing(
    batches: DatabaseBatchStore, database_url: str, tables: Tables
) -> None:
    """Threads with their own engines hammer one batch row; every update must count."""
    total, per_thread, threads = 400, 50, 8
    queue_jobs = [NewJob(payload="p", queue="q", available_at=NOW, created_at=NOW)] * total
    batches.create(batch_id="hot", name="n", options=None, now=NOW)
    tables.stores(batches.engine).add_batch_jobs("hot", queue_jobs)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        engine = create_engine_for(database_url)
        store = DatabaseBatchStore(engine=engine, table=batches.table.name)
        try:
            for i in range(per_thread):
                if i % 10 == 0:
                    store.record_failure("hot", f"t{n}-{i}", now=NOW, allow_failures=True)
                store.record_success("hot", f"ok{n}-{i}", now=NOW + 1)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    final = batches.find("hot")
    assert final is not None
    assert final.pending_jobs == total - threads * per_thread == 0
    assert final.failed_jobs == threads * per_thread // 10
    assert len(final.failed_job_ids) == final.failed_jobs
    assert final.finished_at == NOW + 1
