"""Laravel's retry rules (spec §6.2-6.4), one table row per rule and boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.laravel.payload import JobPayload
from bridge.retry import (
    Fail,
    FailReason,
    LeaveReserved,
    MessageStyle,
    Release,
    RetryDefaults,
    Run,
    backoff_seconds,
    decide_after_exception,
    decide_before_run,
    decide_on_timeout,
    exceptions_exhausted,
    max_attempts_message,
    message_style_for,
    timeout_message,
    timeout_seconds,
)

NOW = 1_800_000_000
NAME = "App\\Jobs\\Report"


def payload(**keys: Any) -> JobPayload:
    raw = {
        "uuid": "bb3597ad-f043-4659-b8f1-5e998269b28a",
        "displayName": NAME,
        "job": "Illuminate\\Queue\\CallQueuedHandler@call",
        "maxTries": None,
        "maxExceptions": None,
        "failOnTimeout": False,
        "backoff": None,
        "timeout": None,
        "retryUntil": None,
        "data": {"commandName": NAME, "command": "O:16:..."},
    }
    raw.update(keys)
    return JobPayload.from_json(json.dumps(raw))


DEFAULTS = RetryDefaults()


@pytest.mark.parametrize(
    ("keys", "tries", "attempts", "now", "expected"),
    [
        # --tries defaults to 1: the first attempt runs, the second (after a crash) does not.
        ({}, 1, 1, NOW, Run()),
        ({}, 1, 2, NOW, FailReason.MAX_ATTEMPTS),
        # payload maxTries beats --tries, both ways
        ({"maxTries": 3}, 1, 3, NOW, Run()),
        ({"maxTries": 3}, 1, 4, NOW, FailReason.MAX_ATTEMPTS),
        ({"maxTries": 1}, 5, 2, NOW, FailReason.MAX_ATTEMPTS),
        # 0 means unlimited, from either source
        ({}, 0, 255, NOW, Run()),
        ({"maxTries": 0}, 3, 255, NOW, Run()),
        # retryUntil wins over maxTries while set; now == retryUntil still runs
        ({"retryUntil": NOW, "maxTries": 1}, 1, 9, NOW, Run()),
        ({"retryUntil": NOW - 1, "maxTries": 9}, 1, 1, NOW, FailReason.RETRY_UNTIL_PASSED),
        # retryUntil 0 is falsy in PHP: maxTries decides
        ({"retryUntil": 0}, 1, 1, NOW, Run()),
        ({"retryUntil": 0}, 1, 2, NOW, FailReason.MAX_ATTEMPTS),
        # Laravel 8.x-9.x read the legacy timeoutAt key
        ({"timeoutAt": NOW - 5}, 0, 1, NOW, FailReason.RETRY_UNTIL_PASSED),
    ],
)
def test_before_run(
    keys: dict[str, Any], tries: int, attempts: int, now: int, expected: Run | FailReason
) -> None:
    decision = decide_before_run(
        payload(**keys), attempts=attempts, defaults=RetryDefaults(tries=tries), now=now
    )
    if isinstance(expected, Run):
        assert decision == expected
    else:
        assert decision == Fail(expected, f"{NAME} has been attempted too many times.")


def test_before_run_legacy_message() -> None:
    decision = decide_before_run(
        payload(),
        attempts=2,
        defaults=RetryDefaults(message_style=MessageStyle.LEGACY),
        now=NOW,
    )
    assert decision == Fail(
        FailReason.MAX_ATTEMPTS,
        f"{NAME} has been attempted too many times or run too long. "
        "The job may have previously timed out.",
    )


def test_message_uses_job_string_without_display_name() -> None:
    job = payload(displayName=None, job="App\\Legacy@handle")
    decision = decide_before_run(job, attempts=2, defaults=DEFAULTS, now=NOW)
    assert decision == Fail(
        FailReason.MAX_ATTEMPTS, "App\\Legacy@handle has been attempted too many times."
    )


@pytest.mark.parametrize(
    ("keys", "defaults", "attempts", "exceptions", "now", "expected"),
    [
        # default --tries 1: the first exception fails the job with its own exception
        ({}, DEFAULTS, 1, None, NOW, Fail(FailReason.MAX_ATTEMPTS)),
        ({"maxTries": 3}, DEFAULTS, 1, None, NOW, Release(0)),
        ({"maxTries": 3}, DEFAULTS, 2, None, NOW, Release(0)),
        ({"maxTries": 3}, DEFAULTS, 3, None, NOW, Fail(FailReason.MAX_ATTEMPTS)),
        # unlimited tries never fail on attempts
        ({}, RetryDefaults(tries=0), 200, None, NOW, Release(0)),
        # retryUntil: maxTries is ignored while it is set; the boundary fails (<=)
        ({"retryUntil": NOW + 1, "maxTries": 1}, DEFAULTS, 5, None, NOW, Release(0)),
        (
            {"retryUntil": NOW, "maxTries": 9},
            DEFAULTS,
            1,
            None,
            NOW,
            Fail(FailReason.RETRY_UNTIL_PASSED),
        ),
        # maxExceptions: reaching the count fails, below it releases
        ({"maxTries": 10, "maxExceptions": 3}, DEFAULTS, 2, 2, NOW, Release(0)),
        (
            {"maxTries": 10, "maxExceptions": 3},
            DEFAULTS,
            3,
            3,
            NOW,
            Fail(FailReason.MAX_EXCEPTIONS),
        ),
        # maxExceptions without a counter store does nothing
        ({"maxTries": 10, "maxExceptions": 1}, DEFAULTS, 2, None, NOW, Release(0)),
        # attempts are checked first
        ({"maxTries": 2, "maxExceptions": 2}, DEFAULTS, 2, 2, NOW, Fail(FailReason.MAX_ATTEMPTS)),
        # the release uses the backoff for this attempt
        ({"maxTries": 5, "backoff": "10,30,60"}, DEFAULTS, 2, None, NOW, Release(30)),
        ({}, RetryDefaults(tries=0, backoff="7"), 4, None, NOW, Release(7)),
    ],
)
def test_after_exception(
    keys: dict[str, Any],
    defaults: RetryDefaults,
    attempts: int,
    exceptions: int | None,
    now: int,
    expected: Release | Fail,
) -> None:
    decision = decide_after_exception(
        payload(**keys), attempts=attempts, exception_count=exceptions, defaults=defaults, now=now
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("keys", "attempts", "exceptions", "expected"),
    [
        # attempts left and no failOnTimeout: the row stays reserved for retry_after
        ({"maxTries": 3}, 1, None, None),
        ({}, 1, None, FailReason.MAX_ATTEMPTS),
        ({"maxTries": 3}, 3, None, FailReason.MAX_ATTEMPTS),
        ({"maxTries": 3, "failOnTimeout": True}, 1, None, FailReason.FAIL_ON_TIMEOUT),
        ({"maxTries": 0}, 50, None, None),
        ({"maxTries": 9, "maxExceptions": 2}, 2, 2, FailReason.MAX_EXCEPTIONS),
        ({"retryUntil": NOW + 60}, 7, None, None),
        ({"retryUntil": NOW - 60, "maxTries": 9}, 1, None, FailReason.RETRY_UNTIL_PASSED),
    ],
)
def test_on_timeout(
    keys: dict[str, Any], attempts: int, exceptions: int | None, expected: FailReason | None
) -> None:
    decision = decide_on_timeout(
        payload(**keys), attempts=attempts, exception_count=exceptions, defaults=DEFAULTS, now=NOW
    )
    if expected is None:
        assert decision == LeaveReserved()
    else:
        assert decision == Fail(expected, f"{NAME} has timed out.", timed_out=True)


def test_on_timeout_legacy_message() -> None:
    decision = decide_on_timeout(
        payload(),
        attempts=1,
        exception_count=None,
        defaults=RetryDefaults(message_style=MessageStyle.LEGACY),
        now=NOW,
    )
    assert isinstance(decision, Fail)
    assert decision.message == max_attempts_message(NAME, MessageStyle.LEGACY)
    assert decision.message.endswith("The job may have previously timed out.")


@pytest.mark.parametrize(
    ("keys", "attempts", "worker", "expected"),
    [
        ({"backoff": "10,30,60"}, 1, "0", 10),
        ({"backoff": "10,30,60"}, 2, "0", 30),
        ({"backoff": "10,30,60"}, 3, "0", 60),
        ({"backoff": "10,30,60"}, 9, "0", 60),
        ({"backoff": "5"}, 4, "99", 5),
        # the payload's delay is the fallback before the worker's --backoff (12.11+ effect)
        ({"delay": 2}, 1, "99", 2),
        ({"backoff": "0", "delay": 2}, 1, "99", 0),
        ({"delay": None}, 1, "3,4", 3),
        ({}, 2, "3,4", 4),
        ({}, 7, "3,4", 4),
        # PHP's (int) cast: whitespace, junk suffixes, garbage
        ({"backoff": " 15, 20s"}, 2, "0", 20),
        ({"backoff": "abc"}, 1, "0", 0),
        ({"backoff": "1.9"}, 1, "0", 1),
        ({"backoff": "-5"}, 1, "0", 0),
        # attempts 0 (never reserved) uses the last element, as PHP's ?? does
        ({"backoff": "1,2"}, 0, "0", 2),
    ],
)
def test_backoff(keys: dict[str, Any], attempts: int, worker: str, expected: int) -> None:
    assert backoff_seconds(payload(**keys), attempts=attempts, worker_backoff=worker) == expected


@pytest.mark.parametrize(
    ("keys", "worker", "expected"),
    [
        ({}, 60, 60),
        ({"timeout": 120}, 60, 120),
        ({"timeout": 0}, 60, 0),
        ({}, 0, 0),
        ({"timeout": -3}, 60, 0),
    ],
)
def test_timeout(keys: dict[str, Any], worker: int, expected: int) -> None:
    assert timeout_seconds(payload(**keys), RetryDefaults(timeout_seconds=worker)) == expected


@pytest.mark.parametrize(
    ("version", "style"),
    [
        ("8.83.26", MessageStyle.LEGACY),
        ("9", MessageStyle.LEGACY),
        ("10.9.0", MessageStyle.LEGACY),
        ("10.10.0", MessageStyle.MODERN),
        ("11", MessageStyle.MODERN),
        ("12.67.0", MessageStyle.MODERN),
        ("13", MessageStyle.MODERN),
    ],
)
def test_message_style_for(version: str, style: MessageStyle) -> None:
    assert message_style_for(version) is style


def test_messages() -> None:
    assert timeout_message("X", MessageStyle.MODERN) == "X has timed out."
    assert max_attempts_message("X", MessageStyle.MODERN) == "X has been attempted too many times."


def test_exceptions_exhausted() -> None:
    assert not exceptions_exhausted(payload(), 100)
    assert not exceptions_exhausted(payload(maxExceptions=2), None)
    assert not exceptions_exhausted(payload(maxExceptions=2), 1)
    assert exceptions_exhausted(payload(maxExceptions=2), 2)
