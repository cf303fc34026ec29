"""The in-memory stores follow Laravel's database-queue rules (jobs, failed jobs, batches)."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

from bridge.exceptions import FailedJobNotFound, QueueError
from bridge.queue import (
    BatchStore,
    FailedJobFilter,
    FailedJobStore,
    InMemoryBatchStore,
    InMemoryFailedJobStore,
    InMemoryQueue,
    JobQueue,
    NewJob,
    Stores,
)
from bridge.queue._batch_rules import decode_failed_ids, encode_failed_ids
from bridge.queue.base import ReservedJob, RetryMove

NOW = 1_700_000_000


def payload(name: str = "App\\Jobs\\Thing", uuid: str = "u-1") -> str:
    return json.dumps({"uuid": uuid, "job": "x", "data": {"commandName": name, "command": "O:"}})


def test_protocols_are_satisfied() -> None:
    queue: JobQueue = InMemoryQueue()
    failed: FailedJobStore = InMemoryFailedJobStore()
    batches: BatchStore = InMemoryBatchStore()
    assert (queue.connection_name, queue.retry_after_seconds) == ("database", 90)
    assert failed.has_uuid and batches.find("x") is None


def test_push_reserve_counts_attempts_and_orders_by_id() -> None:
    q = InMemoryQueue()
    first = q.push("a", queue="default", now=NOW)
    second = q.push("b", queue="default", now=NOW)
    q.push("c", queue="other", now=NOW)
    (job,) = q.reserve("default", now=NOW + 1)
    assert (job.id, job.payload, job.attempts, job.reserved_at) == (first, "a", 1, NOW + 1)
    assert [j.id for j in q.reserve("default", now=NOW + 1, limit=5)] == [second]
    assert q.reserve("default", now=NOW + 1) == []
    rows = q.rows("default")
    assert (len(rows), sum(r.reserved_at is not None for r in rows)) == (2, 2)
    assert q.size("default") == 2


def test_reserve_takes_rows_in_id_order_after_they_changed_state() -> None:
    """Rows handed back, released (a new id) and reclaimed are still taken lowest id first."""
    q = InMemoryQueue(retry_after_seconds=60)
    ids = [q.push(str(i), queue="default", now=NOW) for i in range(4)]
    first, second, third, fourth = q.reserve("default", now=NOW, limit=4)
    released = q.release(second, now=NOW, delay_seconds=0)
    assert q.unreserve(fourth) and q.release_in_place(third, now=NOW)
    assert [j.id for j in q.reserve("default", now=NOW, limit=5)] == [ids[2], ids[3], released]
    (reclaimed,) = q.reserve("default", now=NOW + 60, limit=1)
    assert (reclaimed.id, reclaimed.attempts) == (first.id, 2)
    assert [r.id for r in q.rows()] == [*ids[:1], *ids[2:], released]


def test_delayed_job_is_invisible_until_available() -> None:
    q = InMemoryQueue()
    q.push("late", queue="default", now=NOW, delay_seconds=30)
    assert q.reserve("default", now=NOW + 29) == []
    (row,) = q.rows("default")
    assert (row.reserved_at, row.available_at) == (None, NOW + 30)
    (job,) = q.reserve("default", now=NOW + 30)
    assert (job.available_at, job.created_at) == (NOW + 30, NOW)


def test_expired_reservation_is_reclaimed_with_another_attempt() -> None:
    q = InMemoryQueue(retry_after_seconds=60)
    q.push("p", queue="default", now=NOW)
    q.reserve("default", now=NOW)
    assert q.reserve("default", now=NOW + 59) == []
    (again,) = q.reserve("default", now=NOW + 60)
    assert again.attempts == 2


def test_release_is_delete_and_insert_with_a_new_id() -> None:
    q = InMemoryQueue()
    q.push("p", queue="default", now=NOW)
    (job,) = q.reserve("default", now=NOW)
    new_id = q.release(job, now=NOW + 5, delay_seconds=10)
    assert new_id != job.id
    (row,) = q.rows()
    assert (row.id, row.payload, row.attempts, row.reserved_at) == (new_id, "p", 1, None)
    assert (row.available_at, row.created_at) == (NOW + 15, NOW + 5)
    assert q.released[0].old_id == job.id


def test_unreserve_only_while_the_reservation_holds() -> None:
    q = InMemoryQueue(retry_after_seconds=10)
    q.push("p", queue="default", now=NOW)
    (job,) = q.reserve("default", now=NOW)
    assert q.unreserve(job)
    (row,) = q.rows()
    assert (row.attempts, row.reserved_at) == (0, None)
    (job,) = q.reserve("default", now=NOW)
    (taken_over,) = q.reserve("default", now=NOW + 10)
    assert not q.unreserve(job)
    q.delete_many([taken_over])
    assert not q.unreserve(taken_over)
    assert q.deleted == [taken_over.id]


def test_bulk_and_clear() -> None:
    q = InMemoryQueue()
    q.bulk([NewJob(payload=str(i), queue="b", available_at=NOW, created_at=NOW) for i in range(3)])
    assert q.clear("b") == 3 and q.size("b") == 0


def test_reservations_from_threads_never_overlap() -> None:
    q = InMemoryQueue()
    q.bulk(
        [NewJob(payload=str(i), queue="q", available_at=NOW, created_at=NOW) for i in range(500)]
    )
    seen: list[int] = []

    def drain() -> None:
        while jobs := q.reserve("q", now=NOW, limit=7):
            seen.extend(j.id for j in jobs)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 501))


def test_failed_store_uuid_rules_and_filters() -> None:
    store = InMemoryFailedJobStore()
    when = datetime(2026, 1, 2, 3, 4, 5)
    a = store.log(
        uuid="u-a",
        connection="database",
        queue="default",
        payload=payload("App\\Jobs\\A", "u-a"),
        exception="RuntimeException: boom",
        failed_at=when,
    )
    b = store.log(
        uuid="u-b",
        connection="database",
        queue="high",
        payload=payload("App\\Jobs\\B", "u-b"),
        exception="LogicException: nope",
        failed_at=when.replace(day=3),
    )
    with pytest.raises(QueueError):
        store.log(
            uuid="u-a", connection="c", queue="q", payload="{}", exception="e", failed_at=when
        )
    with pytest.raises(QueueError):
        store.log(uuid=None, connection="c", queue="q", payload="{}", exception="e", failed_at=when)
    assert [r.id for r in store.select(FailedJobFilter())] == [b, a]
    assert [r.id for r in store.select(FailedJobFilter(command_name="\\App\\Jobs\\A"))] == [a]
    assert [r.id for r in store.select(FailedJobFilter(ids=(a,), uuids=("u-b",)))] == [b, a]
    assert [r.id for r in store.select(FailedJobFilter(exception_contains="nope"))] == [b]
    assert [r.id for r in store.select(FailedJobFilter(failed_since=when.replace(day=3)))] == [b]
    assert [r.id for r in store.select(FailedJobFilter(limit=1))] == [b]
    found = store.find("u-a")
    assert found is not None and found.id == a
    assert store.prune(before=when.replace(day=3)) == 1
    assert store.flush(older_than=when) == 0
    assert store.forget(b) and not store.forget(b)


def test_id_only_layout_stores_no_uuid() -> None:
    store = InMemoryFailedJobStore(has_uuid=False)
    rid = store.log(
        uuid="ignored",
        connection="database",
        queue="q",
        payload="{}",
        exception="e",
        failed_at=datetime(2026, 1, 1),
    )
    record = store.find(rid)
    assert record is not None and record.uuid is None and store.find("ignored") is None


def test_retry_pushes_fresh_row_then_forgets() -> None:
    stores = Stores.in_memory()
    store, q = stores.failed, stores.queue
    rid = store.log(
        uuid="u", connection="database", queue="q", payload="p", exception="e",
        failed_at=datetime(2026, 1, 1),
    )  # fmt: skip
    record = store.find(rid)
    assert record is not None
    new_id = stores.retry(record, payload="p2", target_queue="q", now=NOW)
    assert isinstance(q, InMemoryQueue)
    (row,) = q.rows()
    assert (row.id, row.payload, row.attempts, row.available_at) == (new_id, "p2", 0, NOW)
    assert store.find(rid) is None
    with pytest.raises(FailedJobNotFound):
        stores.retry(record, payload="p2", target_queue="q", now=NOW)
    assert q.size("q") == 1
    assert stores.retry_many([RetryMove(record, "p3", "q")], now=NOW) == {rid: None}


def test_fail_writes_the_failed_row_before_deleting_the_job() -> None:
    stores = Stores.in_memory(connection_name="sync")
    job = ReservedJob(
        stores.queue.push(payload(), queue="q", now=NOW), "q", payload(), 1, NOW, NOW, NOW
    )
    failed_id = stores.fail(job, uuid="u-1", exception="e", failed_at=datetime(2026, 1, 1))
    record = stores.failed.find(failed_id)
    assert record is not None and (record.connection, record.payload) == ("sync", job.payload)
    assert stores.queue.size("q") == 0
    # A write the failed store refuses (the uuid is taken) deletes nothing.
    again = ReservedJob(
        stores.queue.push(payload(), queue="q", now=NOW), "q", payload(), 1, NOW, NOW, NOW
    )
    with pytest.raises(QueueError):
        stores.fail(again, uuid="u-1", exception="e", failed_at=datetime(2026, 1, 1))
    assert stores.queue.size("q") == 1


def test_stores_without_batches_refuse_batch_jobs() -> None:
    stores = Stores(queue=InMemoryQueue(), failed=InMemoryFailedJobStore())
    with pytest.raises(QueueError, match="job_batches"):
        stores.add_batch_jobs("b", [])


def test_batch_counters_follow_laravel() -> None:
    store, q = InMemoryBatchStore(), InMemoryQueue()
    stores = Stores(queue=q, failed=InMemoryFailedJobStore(), batches=store)
    store.create(batch_id="b", name="n", options=b"a:0:{}", now=NOW)
    jobs = [NewJob(payload=str(i), queue="q", available_at=NOW, created_at=NOW) for i in range(3)]
    added = stores.add_batch_jobs("b", jobs)
    assert (added.total_jobs, added.pending_jobs, q.size("q")) == (3, 3, 3)
    failed = store.record_failure("b", "j1", now=NOW + 1, allow_failures=True)
    assert failed is not None and failed.failed_job_ids == ("j1",) and failed.cancelled_at is None
    again = store.record_failure("b", "j1", now=NOW + 2, allow_failures=True)
    assert again is not None and (again.failed_jobs, again.failed_job_ids) == (2, ("j1",))
    store.record_success("b", "j1", now=NOW + 3)
    store.record_success("b", "j2", now=NOW + 3)
    done = store.record_success("b", "j3", now=NOW + 4)
    assert done is not None and (done.pending_jobs, done.finished_at, done.failed_job_ids) == (
        0,
        NOW + 4,
        (),
    )
    assert store.record_success("missing", "j", now=NOW) is None


def test_first_failure_cancels_a_strict_batch() -> None:
    store = InMemoryBatchStore()
    store.create(batch_id="b", name="n", options=None, now=NOW)
    cancelled = store.record_failure("b", "j", now=NOW + 9, allow_failures=False)
    assert cancelled is not None
    assert (cancelled.cancelled_at, cancelled.finished_at) == (NOW + 9, NOW + 9)


def test_failed_ids_json_is_php_compact() -> None:
    assert encode_failed_ids(["a", "b"]) == '["a","b"]'
    assert encode_failed_ids([]) == "[]"
    assert decode_failed_ids('{"1":"b"}') == ("b",)
    assert decode_failed_ids(None) == ()
