"""The SO dialect's processing rules on the in-memory queue (what the live tests cannot reach:
handler requests, a handler that takes too long, unknown classes, malformed payloads)."""

from __future__ import annotations

import time
from typing import Any

from bridge.dialect import dialect_named
from bridge.so import SO_JSON, SO_SERIALIZE, decode_so, encode_so
from bridge.worker import Job, UnknownJobPolicy
from tests.unit.worker.worker_kit import START, Env, make_env

REPORT = "App\\Jobs\\Report"


def _payload(fmt: str = SO_JSON, **data: Any) -> str:
    base = {"tries": 3, "timeout": 60, "queue": "default", "retryAfter": 90, "jobId": None}
    return encode_so(REPORT, {**base, "attempts": 0, **data}, fmt)


def _run(env: Env, **options: Any) -> None:
    options.setdefault("tries", 3)
    env.worker(dialect=dialect_named("so"), **options).run()


def test_values_by_bare_name_with_json_types() -> None:
    env = make_env()
    seen: list[dict[str, Any]] = []
    env.app.register(REPORT, lambda job: seen.append(dict(job.values)))
    env.push(_payload(ratio=2.0, rows=[1, 2], name="x/é"))
    _run(env)
    (values,) = seen
    assert values["ratio"] == 2 and type(values["ratio"]) is int  # json_encode wrote 2
    assert values["rows"] == [1, 2] and values["name"] == "x/é"
    assert env.queue.rows() == []


def test_serialize_format_keeps_php_types() -> None:
    env = make_env()
    seen: list[Job] = []
    env.app.register(REPORT, seen.append)
    env.push(_payload(SO_SERIALIZE, ratio=2.0))
    _run(env)
    assert type(seen[0]["ratio"]) is float
    assert seen[0].name == "Report" and seen[0].uuid is None and seen[0].attempts == 1


def test_release_requested_by_the_handler_is_in_place() -> None:
    env = make_env()
    env.app.register(REPORT, lambda job: job.release(30))
    row_id = env.push(_payload())
    _run(env)
    (row,) = env.queue.rows()
    assert (row.id, row.attempts, row.reserved_at) == (row_id, 1, None)
    assert row.available_at == int(START) + 30
    assert env.queue.released_in_place == [row_id] and env.queue.released == []


def test_fail_requested_by_the_handler_writes_the_so_row() -> None:
    env = make_env()
    hooked: list[BaseException] = []
    env.app.register(REPORT, lambda job: job.fail("no data"), failed=lambda j, e: hooked.append(e))
    row_id = env.push(_payload(queue="reports"), queue="other")
    _run(env, queues=("other",))
    (failed,) = env.failed_rows()
    assert failed.connection == "database" and failed.queue == "reports"
    again = decode_so(failed.payload)
    assert again.data["jobId"] == str(row_id) and again.data["attempts"] == 1
    assert failed.exception.startswith("Illuminate\\Queue\\ManuallyFailedException: no data in ")
    assert "\nNext " not in failed.exception
    assert len(hooked) == 1 and env.queue.rows() == []


def test_a_payload_that_does_not_decode_is_failed_intact() -> None:
    env = make_env()
    broken = '{"class":"App\\\\Jobs\\\\Report","data":{"tries":'
    env.push(broken)
    _run(env)
    (failed,) = env.failed_rows()
    assert failed.payload == broken and "not valid JSON" in failed.exception


def test_unknown_class_fails_or_is_handed_back_without_an_attempt() -> None:
    env = make_env()
    env.push(_payload())
    _run(env)
    (failed,) = env.failed_rows()
    assert "No Python handler is registered for App\\Jobs\\Report" in failed.exception
    env = make_env()
    row_id = env.push(_payload())
    _run(env, unknown_job=UnknownJobPolicy.RELEASE, unknown_job_delay_seconds=0)
    (row,) = env.queue.rows()
    assert (row.id, row.attempts, row.reserved_at) == (row_id, 0, None)
    assert row.available_at == int(START) + 1
    assert env.failed_rows() == []


def test_a_job_out_of_time_is_left_reserved() -> None:
    env = make_env()
    env.app.register(REPORT, lambda job: time.sleep(5))
    row_id = env.push(_payload())
    _run(env, timeout_seconds=0.2)
    (row,) = env.queue.rows()
    assert (row.id, row.attempts, row.reserved_at) == (row_id, 1, int(START))
    assert env.failed_rows() == []
