"""A handler that cannot find a model: Laravel 13's `deleteWhenMissingModels` rules.

The payloads are recorded from Laravel 13.26.1 and, for contrast, 12.67.0 (the attribute
kinds): 13 writes `deleteWhenMissingModels` into the payload, 12 does not.
"""

from __future__ import annotations

import json
from typing import Any

from worker_kit import Env, fixture_payload

from bridge.exceptions import ModelNotFound
from bridge.queue.base import NewJob
from bridge.worker import Job

ATTRIBUTES = "App\\Jobs\\SyncCustomerProfile"  # #[DeleteWhenMissingModels], #[Tries(5)]
PROPERTY = "App\\Jobs\\PurgeCustomerCache"  # public $deleteWhenMissingModels = true


def _missing(job: Job) -> None:
    raise ModelNotFound("App\\Models\\Customer", [job.values["customer"].key])


def test_a_13_payload_that_asks_is_deleted_without_a_failure(env: Env) -> None:
    env.app.register(ATTRIBUTES, _missing)
    env.app.register(PROPERTY, _missing)
    env.push(fixture_payload("queue_attributes", "13.26.1-attributes"))
    env.push(fixture_payload("delete_missing_property", "13.26.1-attributes"))
    env.worker().run()
    assert env.queue.rows() == []
    assert len(env.queue.deleted) == 2
    assert env.failed_rows() == []


def test_without_the_key_the_job_fails_at_once_whatever_its_tries(env: Env) -> None:
    env.app.register(ATTRIBUTES, _missing)
    payload = fixture_payload(
        "queue_attributes", "13.26.1-attributes", deleteWhenMissingModels=False
    )
    assert json.loads(payload)["maxTries"] == 5
    env.push(payload)
    env.push(fixture_payload("queue_attributes", "12.67.0-attributes", maxTries=5))
    env.worker().run()
    assert env.queue.rows() == []
    failed = env.failed_rows()
    assert len(failed) == 2
    for row in failed:
        assert row.exception.startswith(
            "Illuminate\\Database\\Eloquent\\ModelNotFoundException: "
            "No query results for model [App\\Models\\Customer] 3 in "
        )


def test_a_batched_job_deleted_for_a_missing_model_counts_as_done(env: Env) -> None:
    env.app.register(ATTRIBUTES, _missing)
    raw: dict[str, Any] = json.loads(fixture_payload("queue_attributes", "13.26.1-attributes"))
    batch_id = "9f0a3c1e-0000-4000-8000-000000000001"
    raw["data"]["batchId"] = batch_id
    env.batches.create(batch_id=batch_id, name="b", options=None, now=0)
    text = json.dumps(raw)
    env.stores.add_batch_jobs(
        batch_id,
        [NewJob(payload=text, queue="default", available_at=0, created_at=0)],
    )
    env.worker().run()
    batch = env.batches.find(batch_id)
    assert batch is not None
    assert (batch.pending_jobs, batch.failed_jobs) == (0, 0)
    assert env.failed_rows() == []


def test_the_message_is_laravels() -> None:
    assert str(ModelNotFound("App\\M", [1, 2])) == "No query results for model [App\\M] 1, 2"
    assert str(ModelNotFound("App\\M")) == "No query results for model [App\\M]."


def test_options_from_13_attributes_reach_the_worker_through_the_payload(env: Env) -> None:
    """#[Tries(5)], #[Backoff([1, 5, 10])], #[MaxExceptions(2)]: the 13.26.1 payload carries
    them, so the worker releases after 1 s, then fails at the second exception; the same
    class sent through 12.67 has none, and the worker's --tries 1 fails it at once."""
    calls: list[str] = []

    def boom(job: Job) -> None:
        calls.append("13" if job.payload.raw["maxTries"] else "12")
        raise RuntimeError("boom")

    env.app.register(ATTRIBUTES, boom)
    env.push(fixture_payload("queue_attributes", "13.26.1-attributes"))
    env.push(fixture_payload("queue_attributes", "12.67.0-attributes"))
    worker = env.worker()  # one process: its exception count spans the attempts
    for _ in range(3):
        worker.run()
        env.clock.now += 60
    assert calls == ["13", "12", "13"]
    assert [r.delay_seconds for r in env.queue.released] == [1]
    assert len(env.failed_rows()) == 2
    assert env.queue.rows() == []
