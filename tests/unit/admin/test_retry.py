"""Retry planning and moving, against Laravel's recorded payloads and the in-memory stores."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from admin_unit_support import NOW, laravel_rows, make_record, row_id

from bridge.admin import (
    RetryOptions,
    RetryStatus,
    RetryUntilMode,
    RetryUntilPolicy,
    plan_retry,
    retry_failed,
)
from bridge.admin._time import to_unix
from bridge.exceptions import PayloadDecodeError
from bridge.queue import Stores
from bridge.queue.base import FailedJobFilter
from bridge.queue.memory import InMemoryFailedJobStore, InMemoryQueue

ROWS = laravel_rows()
DEADLINE_ROWS = [r for r in ROWS if json.loads(r["payload"]).get("retryUntil") is not None]


# --- the policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("keep", RetryUntilPolicy()),
        ("SHIFT", RetryUntilPolicy(mode=RetryUntilMode.SHIFT)),
        ("drop", RetryUntilPolicy(mode=RetryUntilMode.DROP)),
        ("set:1924992000", RetryUntilPolicy(mode=RetryUntilMode.SET, value=1924992000)),
        ("set:+3600", RetryUntilPolicy(mode=RetryUntilMode.SET, value=3600, relative=True)),
    ],
)
def test_policy_parses_and_prints_back(text: str, policy: RetryUntilPolicy) -> None:
    assert RetryUntilPolicy.parse(text) == policy
    assert str(policy) == text.lower()


@pytest.mark.parametrize("text", ["", "later", "set", "set:", "set:-5", "set:+x", "keep:1"])
def test_policy_rejects_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"keep|set|takes no value"):
        RetryUntilPolicy.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keep", 1000),
        ("shift", NOW + 400),
        ("set:5000", 5000),
        ("set:+60", NOW + 60),
        ("drop", None),
    ],
)
def test_policy_arithmetic(text: str, expected: int | None) -> None:
    assert RetryUntilPolicy.parse(text).apply(1000, origin=600, now=NOW) == expected


# --- planning on Laravel's payloads -------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_keep_leaves_every_laravel_payload_byte_for_byte(row: dict[str, Any]) -> None:
    record = make_record(row["payload"], queue=row["queue"])
    plan = plan_retry(record, RetryOptions(now=NOW))
    assert plan.payload == row["payload"]
    assert plan.queue == row["queue"]
    assert plan.rewritten == ()


@pytest.mark.parametrize("row", DEADLINE_ROWS, ids=row_id)
@pytest.mark.parametrize("policy", ["shift", "set:+3600", "drop"])
def test_deadline_policies_rewrite_only_retry_until(row: dict[str, Any], policy: str) -> None:
    payload: str = row["payload"]
    decoded = json.loads(payload)
    record = make_record(payload)
    options = RetryOptions(now=NOW, retry_until=RetryUntilPolicy.parse(policy))
    plan = plan_retry(record, options)
    origin = decoded.get("createdAt") or to_unix(record.failed_at, "UTC")
    expected = {
        "shift": NOW + decoded["retryUntil"] - origin,
        "set:+3600": NOW + 3600,
        "drop": None,
    }[policy]
    assert json.loads(plan.payload) == {**decoded, "retryUntil": expected}
    assert plan.payload == payload.replace(
        f'"retryUntil":{decoded["retryUntil"]}', f'"retryUntil":{json.dumps(expected)}'
    )
    assert plan.rewritten == ("retryUntil",)
    assert plan.retry_until == expected
    assert not plan.expires


def test_shift_uses_created_at_when_the_payload_has_it() -> None:
    payload = '{"uuid":"u","job":"J","retryUntil":1500,"data":{},"createdAt":1000}'
    options = RetryOptions(now=NOW, retry_until=RetryUntilPolicy.parse("shift"))
    assert plan_retry(make_record(payload), options).retry_until == NOW + 500


def test_shift_falls_back_to_failed_at_in_the_app_timezone() -> None:
    failed_at = datetime(2026, 11, 28, 10, 0, 0)  # wall clock in Europe/Berlin (UTC+1)
    origin = to_unix(failed_at, "Europe/Berlin")
    assert origin == to_unix(failed_at, "UTC") - 3600
    payload = f'{{"uuid":"u","job":"J","retryUntil":{origin + 90},"data":{{}}}}'
    options = RetryOptions(
        now=NOW, retry_until=RetryUntilPolicy.parse("shift"), timezone="Europe/Berlin"
    )
    assert plan_retry(make_record(payload, failed_at=failed_at), options).retry_until == NOW + 90


def test_an_expired_deadline_that_is_kept_is_flagged() -> None:
    payload = f'{{"uuid":"u","job":"J","retryUntil":{NOW},"data":{{}}}}'
    plan = plan_retry(make_record(payload), RetryOptions(now=NOW))
    assert plan.expires and plan.payload == payload
    later = plan_retry(
        make_record(payload), RetryOptions(now=NOW, retry_until=RetryUntilPolicy.parse("set:+1"))
    )
    assert not later.expires


def test_a_null_deadline_stays_null_under_every_policy() -> None:
    payload = '{"uuid":"u","job":"J","retryUntil":null,"data":{}}'
    for policy in ("keep", "shift", "set:+60", "drop"):
        options = RetryOptions(now=NOW, retry_until=RetryUntilPolicy.parse(policy))
        plan = plan_retry(make_record(payload), options)
        assert plan.payload == payload and plan.retry_until is None and not plan.expires


def test_attempts_key_is_reset_and_unicode_stays_raw() -> None:
    payload = '{"uuid":"u","job":"J","attempts":4,"data":{"x":"héllo\\/wörld","y":{}}}'
    plan = plan_retry(make_record(payload), RetryOptions(now=NOW))
    assert plan.payload == '{"uuid":"u","job":"J","attempts":0,"data":{"x":"héllo\\/wörld","y":{}}}'
    assert plan.rewritten == ("attempts",)


def test_legacy_timeout_at_follows_the_policy() -> None:
    payload = '{"uuid":"u","job":"J","timeoutAt":1000,"data":{}}'
    options = RetryOptions(now=NOW, retry_until=RetryUntilPolicy.parse("drop"))
    plan = plan_retry(make_record(payload), options)
    assert plan.payload == '{"uuid":"u","job":"J","timeoutAt":null,"data":{}}'


def test_to_queue_retargets() -> None:
    plan = plan_retry(make_record('{"job":"J"}', queue="low"), RetryOptions(now=NOW, to_queue="hi"))
    assert plan.queue == "hi"


@pytest.mark.parametrize(
    "payload", ["not json", "[1]", '{"retryUntil":"soon"}', '{"retryUntil":[]}']
)
def test_unusable_payloads_raise(payload: str) -> None:
    with pytest.raises(PayloadDecodeError):
        plan_retry(make_record(payload, uuid="u"), RetryOptions(now=NOW))


# --- moving -------------------------------------------------------------------------------


def _log_all(store: InMemoryFailedJobStore, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        store.log(
            uuid=json.loads(row["payload"]).get("uuid"),
            connection="database",
            queue=row["queue"],
            payload=row["payload"],
            exception="RuntimeException: boom",
            failed_at=datetime(2026, 11, 28, 20, 0, 0),
        )


def test_every_job_moves_once_with_attempts_zero_on_its_queue(
    failed_store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    rows = [r for r in ROWS if r["laravel"] == "12.67.0"]
    _log_all(failed_store, rows)
    seen: list[RetryStatus] = []
    report = retry_failed(
        failed_store.select(FailedJobFilter()),
        stores=Stores(queue=queue, failed=failed_store),
        options=RetryOptions(now=NOW, connection="database"),
        on_outcome=lambda o: seen.append(o.status),
    )
    assert report.moved == len(rows) == len(seen) and report.skipped == 0
    assert list(failed_store.select(FailedJobFilter())) == []
    jobs = queue.rows()
    assert sorted(j.payload for j in jobs) == sorted(r["payload"] for r in rows)
    assert all(j.attempts == 0 and j.available_at == j.created_at == NOW for j in jobs)
    assert {(j.payload, j.queue) for j in jobs} == {(r["payload"], r["queue"]) for r in rows}


def test_jobs_of_another_connection_and_unreadable_payloads_are_skipped(
    failed_store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    failed_store.log(
        uuid="a",
        connection="redis",
        queue="q",
        payload='{"uuid":"a","job":"J"}',
        exception="e",
        failed_at=datetime(2026, 1, 1),
    )
    failed_store.log(
        uuid="b",
        connection="database",
        queue="q",
        payload="{broken",
        exception="e",
        failed_at=datetime(2026, 1, 1),
    )
    report = retry_failed(
        failed_store.select(FailedJobFilter()),
        stores=Stores(queue=queue, failed=failed_store),
        options=RetryOptions(now=NOW, connection="database"),
    )
    reasons = sorted(o.reason or "" for o in report.outcomes)
    assert report.moved == 0 and report.skipped == 2
    assert reasons[0].startswith("recorded for queue connection 'redis'")
    assert reasons[1].startswith("unreadable payload")
    assert queue.rows() == [] and len(list(failed_store.select(FailedJobFilter()))) == 2


def test_expired_jobs_are_counted(
    failed_store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    failed_store.log(
        uuid="a",
        connection="database",
        queue="q",
        payload=f'{{"uuid":"a","job":"J","retryUntil":{NOW - 5}}}',
        exception="e",
        failed_at=datetime(2026, 1, 1),
    )
    report = retry_failed(
        failed_store.select(FailedJobFilter()),
        stores=Stores(queue=queue, failed=failed_store),
        options=RetryOptions(now=NOW),
    )
    assert report.moved == 1 and report.expiring == 1
