"""One bad row never stops the queue: whatever it makes the worker raise, it is failed intact.

Each case pushes the bad row in front of a good one: the bad row must land in `failed_jobs`
byte for byte with a reason, the good one must run, and nothing may stay reserved.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from worker_kit import Env, fixture_line, fixture_payload

import bridge.retry as retry_module
import bridge.worker._process as process_module
from bridge.php import PhpObject, dumps, loads
from bridge.queue.base import NewJob
from bridge.worker import Job, StopReason

WELCOME = "App\\Jobs\\SendWelcomeEmail"
RESIZE, PUBLISH = "App\\Jobs\\ResizeImage", "App\\Jobs\\PublishImage"


def _with(payload: str, **keys: Any) -> str:
    raw = json.loads(payload)
    raw.update(keys)
    return json.dumps(raw)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _drain_bad_then_good(env: Env, bad: str, **options: Any) -> list[Any]:
    ran: list[str] = []
    env.app.register(WELCOME, lambda job: ran.append(job.uuid or ""))
    env.push(bad)
    good = fixture_payload("plain_public")
    env.push(good)
    assert env.worker(**options).run() is StopReason.EMPTY
    assert ran[-1] == json.loads(good)["uuid"]
    assert env.queue.rows() == []
    failed = env.failed_rows()
    assert [row.payload for row in failed] == [bad]
    return failed


GOOD = fixture_payload("plain_public")
# jobs.attempts is TINYINT UNSIGNED in Laravel's MySQL schema.
ATTEMPTS_COLUMN_LIMIT = 255


@pytest.mark.parametrize(
    "bad",
    [
        # Numbers JSON reads as infinity, where the policy wants integers.
        GOOD.replace('"maxTries":null', '"maxTries":1e400'),
        GOOD.replace('"maxExceptions":null', '"maxExceptions":Infinity'),
        GOOD.replace('"retryUntil":null', '"retryUntil":1e400'),
        GOOD.replace('"timeout":null', '"timeout":-Infinity'),
        # JSON nested ~1,000 deep.
        GOOD.replace('"backoff":null', f'"backoff":{_nested(5000)}'),
        # A lone surrogate in a string of the command.
        GOOD.replace("ada@example", "ad\\ud800@example"),
    ],
    ids=[
        "maxTries-1e400",
        "maxExceptions-Infinity",
        "retryUntil-1e400",
        "timeout-minus-Infinity",
        "deep-json",
        "lone-surrogate",
    ],
)
def test_a_hostile_payload_is_failed_and_the_queue_goes_on(env: Env, bad: str) -> None:
    assert bad != GOOD
    [failed] = _drain_bad_then_good(env, bad, tries=3, backoff="1")
    assert failed.exception


def test_a_job_whose_handler_raises_with_hostile_retry_options_is_failed(env: Env) -> None:
    # The policy reads backoff only after the handler raised: still the row's fault.
    bad = GOOD.replace('"backoff":null', '"backoff":"' + "9" * 5000 + '"').replace(
        '"maxTries":null', '"maxTries":3'
    )

    def boom(job: Job) -> None:
        raise RuntimeError("handler failed")

    env.app.register(WELCOME, boom)
    env.push(bad)
    assert env.worker().run() is StopReason.EMPTY
    # Released (the step saturates, as PHP's (int) cast does) or failed, but never left
    # reserved to come back every retry_after.
    rows, failed = env.queue.rows(), env.failed_rows()
    assert len(rows) + len(failed) == 1
    assert all(row.reserved_at is None and row.payload == bad for row in rows)
    assert all(row.payload == bad for row in failed)


@pytest.mark.parametrize(
    "error", [OverflowError, RecursionError, TypeError, ValueError, KeyError, AttributeError]
)
def test_any_error_interpreting_a_row_fails_it_with_the_reason(
    env: Env, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    # Whatever the decoders may still let escape, now or after a future change.
    bad = _with(GOOD, uuid="bad-row")
    real = retry_module.decide_before_run

    def decide(payload: Any, **kwargs: Any) -> Any:
        if payload.uuid == "bad-row":
            raise error("escaped from the policy")
        return real(payload, **kwargs)

    monkeypatch.setattr(process_module, "decide_before_run", decide)
    [failed] = _drain_bad_then_good(env, bad)
    first = failed.exception.splitlines()[0]
    assert first.startswith(f"{error.__name__}: ") and "escaped from the policy" in first


def test_a_row_at_the_attempts_limit_is_failed_not_run(env: Env) -> None:
    ran: list[int] = []
    env.app.register(WELCOME, lambda job: ran.append(job.attempts))
    now = int(env.clock())
    at_limit = _with(GOOD, uuid="at-limit")
    env.queue.bulk(
        [
            NewJob(at_limit, "default", now, now, attempts=ATTEMPTS_COLUMN_LIMIT),
            NewJob(GOOD, "default", now, now, attempts=ATTEMPTS_COLUMN_LIMIT - 1),
        ]
    )
    # Unlimited tries: only the column's limit can stop the first row.
    assert env.worker(tries=0).run() is StopReason.EMPTY
    assert ran == [ATTEMPTS_COLUMN_LIMIT]
    [failed] = env.failed_rows()
    assert (failed.payload, failed.uuid) == (at_limit, "at-limit")
    assert "attempted 255 times" in failed.exception
    assert env.queue.rows() == []


def test_a_payload_that_is_not_utf8_is_failed_intact(env: Env) -> None:
    # What SQLite hands over for bytes that are not UTF-8 (read as bytes, surrogateescape).
    bad = GOOD.encode().replace(b"Ada", b"Ad\xe9").decode("utf-8", "surrogateescape")
    [failed] = _drain_bad_then_good(env, bad)
    assert "not valid UTF-8" in failed.exception


@pytest.mark.parametrize(
    "chained",
    [[5], ["O:3:not serialized"], [None]],
    ids=["int", "garbage", "null"],
)
def test_a_chain_that_cannot_go_on_fails_the_job_and_never_reruns_it(
    env: Env, chained: list[Any]
) -> None:
    line = fixture_line("chain")
    raw = json.loads(line["payload"])
    command = loads(raw["data"]["command"].encode())
    assert isinstance(command, PhpObject) and command.get("chained")
    command.set("chained", dict(enumerate(chained)))
    raw["data"]["command"] = dumps(command).decode()
    raw["maxTries"] = 5
    payload = json.dumps(raw)
    runs: list[int] = []
    env.app.register(RESIZE, lambda job: runs.append(job.attempts))
    env.app.register(PUBLISH, lambda job: runs.append(-1))
    env.push(payload)
    assert env.worker(stop_when_empty=False, max_time_seconds=600, sleep_seconds=100).run() is (
        StopReason.MAX_TIME
    )
    assert runs == [1]
    assert env.queue.rows() == []
    [failed] = env.failed_rows()
    assert failed.payload == payload
    # PHP's text starts with the innermost cause; the outer exception says what happened.
    assert f"{RESIZE} ran, but the next job of its chain could not be dispatched" in (
        failed.exception
    )


def test_a_huge_timeout_is_clamped_for_the_alarm(env: Env) -> None:
    seen: list[int] = []
    env.app.register(WELCOME, lambda job: seen.append(1))
    env.push(_with(GOOD, timeout=10**12))
    assert env.worker().run() is StopReason.EMPTY
    assert seen == [1] and env.failed_rows() == [] and env.queue.rows() == []


def _watchdogs() -> int:
    return sum(t.name == "bridge-job-watchdog" for t in threading.enumerate())


def test_each_run_stops_its_watchdog_thread(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    before = _watchdogs()
    for _ in range(5):
        env.push(GOOD)
        env.worker(timeout_seconds=30).run()
        assert _watchdogs() == before


def test_no_attempts_limit_where_storage_counts_without_one(env: Env) -> None:
    # Redis payloads count attempts with no column to overflow: Laravel runs them on.
    class Unlimited(type(env.queue)):  # type: ignore[misc]
        @property
        def attempts_limit(self) -> None:
            return None

    env.queue = Unlimited(retry_after_seconds=90)
    ran: list[int] = []
    env.app.register(WELCOME, lambda job: ran.append(job.attempts))
    now = int(env.clock())
    env.queue.bulk([NewJob(GOOD, "default", now, now, attempts=300)])
    assert env.worker(tries=0).run() is StopReason.EMPTY
    assert ran == [301] and env.failed_rows() == []
