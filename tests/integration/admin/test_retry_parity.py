"""bridge's retry against Laravel's own `queue:retry`, on the same failed rows, then both workers.

The failed rows are real: one written by Laravel's worker for a failing job, the rest carrying
the payloads Laravel 8 dispatched for every value kind (unicode, encryption, chains, batches,
models, string jobs, `retryUntil`), logged the way Laravel's worker logs a failure.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from admin_integration_support import by_uuid, clear, payload_uuid, relog, snapshot
from sqlalchemy.engine import Engine

from bridge.admin import RetryOptions, retry_failed
from bridge.laravel._json import php_json_encode
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.queue.base import FailedJobFilter, FailedJobRecord
from bridge.queue.database import DatabaseFailedJobStore
from bridge.queue.database_stores import DatabaseStores
from bridge.worker import App, Job, UnknownJobPolicy, Worker, WorkerOptions
from tests.support.laravel import VALUE_KINDS, LaravelEnv


def _empty_objects_as_lists(value: Any) -> Any:
    """PHP decodes `{}` to an empty array, which `json_encode` writes back as `[]`."""
    if isinstance(value, dict):
        return {k: _empty_objects_as_lists(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_empty_objects_as_lists(v) for v in value]
    return value


def _make_failed_rows(
    env: LaravelEnv, engine: Engine, failed: DatabaseFailedJobStore
) -> list[FailedJobRecord]:
    [broken] = env.dispatch("always_fails", queue="risky")
    env.work(queue="risky", tries=1)
    assert [payload_uuid(r["payload"]) for r in env.failed_jobs()] == [
        payload_uuid(broken["payload"])
    ]
    for kind in VALUE_KINDS:
        env.dispatch(kind)
    failed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    for row in env.jobs():
        failed.log(
            uuid=payload_uuid(row["payload"]),
            connection="database",
            queue=row["queue"],
            payload=row["payload"],
            exception="RuntimeException: recorded for the retry comparison",
            failed_at=failed_at,
        )
    clear(engine, env.queue_table)  # they failed: Laravel's worker deletes them from `jobs`
    return snapshot(failed)


def _bridge_retry(stores: DatabaseStores, records: list[FailedJobRecord]) -> None:
    relog(stores.failed, records)
    report = retry_failed(
        stores.failed.select(FailedJobFilter()),
        stores=stores,
        options=RetryOptions(now=int(time.time()), connection="database"),
    )
    assert report.moved == len(records) and report.skipped == 0


def test_bridge_writes_the_rows_laravel_writes_and_both_workers_run_them(
    laravel_env: LaravelEnv,
    engine: Engine,
    stores: DatabaseStores,
) -> None:
    env = laravel_env
    failed = stores.failed
    records = _make_failed_rows(env, engine, failed)
    originals = {payload_uuid(r.payload): r for r in records}
    assert len(originals) == len(records) >= len(VALUE_KINDS) + 1

    # Laravel's queue:retry on the rows ...
    env.retry("all")
    assert env.failed_jobs() == []
    by_laravel = by_uuid(env.jobs())
    clear(engine, env.queue_table)

    # ... and bridge's on the very same rows.
    started = int(time.time())
    _bridge_retry(stores, records)
    assert env.failed_jobs() == []
    by_bridge = by_uuid(env.jobs())

    assert by_bridge.keys() == by_laravel.keys() == originals.keys()
    for uuid, original in originals.items():
        ours, theirs = by_bridge[uuid], by_laravel[uuid]
        assert ours["queue"] == theirs["queue"] == original.queue
        assert ours["attempts"] == theirs["attempts"] == 0
        assert ours["reserved_at"] is None and theirs["reserved_at"] is None
        assert ours["available_at"] == ours["created_at"] >= started
        # The same JSON values; the only difference Laravel introduces is `{}` -> `[]`.
        assert _empty_objects_as_lists(json.loads(ours["payload"])) == json.loads(theirs["payload"])
        # bridge keeps the stored bytes; Laravel re-encodes without JSON flags.
        assert ours["payload"] == original.payload
        assert theirs["payload"] == php_json_encode(
            json.loads(original.payload), unescaped_unicode=False
        )
    assert any(by_bridge[u]["payload"] != by_laravel[u]["payload"] for u in originals), (
        "no payload carried text Laravel's re-encoding changes; the comparison proves little"
    )

    # Laravel's worker runs what bridge queued: everything succeeds but the failing job.
    queues = sorted({r.queue for r in records})
    env.work(queue=",".join(queues), tries=1)
    ran = {row["uuid"] for row in env.job_log() if row["worker"] == "php"}
    broken = {u for u, r in originals.items() if "AlwaysFails" in r.payload}
    assert ran >= originals.keys() - broken
    assert {payload_uuid(r["payload"]) for r in env.failed_jobs()} == broken

    # bridge's worker runs them too (chained follow-ups are left for PHP).
    failed.flush()
    clear(engine, env.queue_table)
    _bridge_retry(stores, records)
    handled: dict[str, dict[str, Any]] = {}
    app = App()

    def record(job: Job) -> None:
        assert job.uuid is not None
        handled[job.uuid] = job.values

    for original in records:
        payload = JobPayload.from_json(original.payload)
        name = payload.command_name if payload.is_object_job else payload.job
        if name is not None and name not in app.handlers:
            app.register(name, record)
    worker = Worker(
        stores=stores,
        app=app,
        options=WorkerOptions(
            queues=tuple(queues),
            stop_when_empty=True,
            sleep_seconds=0,
            unknown_job=UnknownJobPolicy.RELEASE,
            memory_mb=0,  # the test process's size is not the worker's
        ),
        encrypter=Encrypter(env.app_key),
    )
    worker.run()
    assert handled.keys() == originals.keys()
    assert list(failed.select(FailedJobFilter())) == []
