"""Pure retry policy: Laravel's tries, maxExceptions, backoff, retryUntil and timeout rules.

Every function here is a pure function of the job's payload, the row's `attempts` (already
incremented by the reservation, so the first run sees 1), the worker defaults and `now` (Unix
seconds, passed in). They return frozen decision values; the worker applies them. The rules
are those of Laravel's `Illuminate\\Queue\\Worker`, unchanged from 8.0 to 13.26 (13 adds an
application hook, the exception handler's `shouldStopRetries`, which PHP code alone can answer):

* before running: a set `retryUntil` wins over `maxTries` (`now <= retryUntil` runs); without it
  the job runs while `maxTries == 0` or `attempts <= maxTries`;
* after an exception: fail when `retryUntil <= now` (if set) or, without it, when
  `maxTries > 0 and attempts >= maxTries`, or when the `maxExceptions` count is reached; otherwise
  release after the backoff;
* on a timeout: fail when the job would exceed its attempts, its exceptions, or has
  `failOnTimeout`; otherwise the row is left reserved until `retry_after` hands it out again.

`maxTries` is the payload's, else the worker's `tries`. A `retryUntil` of 0 counts as unset, as
PHP's truthiness test does.

The SO framework's worker has one rule of its own (`decide_so_after_exception`): it checks
nothing before running, leaves a timed-out job reserved, and after an exception releases the
job while its attempts are below both `--tries` and the job's `tries`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bridge.laravel.payload import JobPayload
from bridge.so import SoPayload

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_TIMEOUT_SECONDS",
    "DEFAULT_TRIES",
    "Fail",
    "FailReason",
    "LeaveReserved",
    "MessageStyle",
    "Release",
    "RetryDefaults",
    "Run",
    "backoff_seconds",
    "decide_after_exception",
    "decide_before_run",
    "decide_on_timeout",
    "decide_so_after_exception",
    "exceptions_exhausted",
    "max_attempts_message",
    "max_tries",
    "message_style_for",
    "timeout_message",
    "timeout_seconds",
]

DEFAULT_TRIES = 1
DEFAULT_BACKOFF = "0"
DEFAULT_TIMEOUT_SECONDS = 60


class MessageStyle(StrEnum):
    """How Laravel words its attempt-limit and timeout exceptions.

    `LEGACY` is 8.0 - 10.9 (one long message for both, class `MaxAttemptsExceededException`);
    `MODERN` is 10.10+ (short messages; timeouts use `TimeoutExceededException`).
    """

    LEGACY = "legacy"
    MODERN = "modern"


def message_style_for(laravel_version: str) -> MessageStyle:
    """Return the message style of a Laravel version such as `"10.9.0"` or `"12"`."""
    parts = [int(p) for p in re.findall(r"\d+", laravel_version)[:2]]
    major, minor = [*parts, 0, 0][:2]
    return MessageStyle.LEGACY if (major, minor) < (10, 10) else MessageStyle.MODERN


_LEGACY_TEXT = (
    "{name} has been attempted too many times or run too long. "
    "The job may have previously timed out."
)


def max_attempts_message(name: str, style: MessageStyle) -> str:
    """The `MaxAttemptsExceededException` message for a job that may not run again."""
    if style is MessageStyle.LEGACY:
        return _LEGACY_TEXT.format(name=name)
    return f"{name} has been attempted too many times."


def timeout_message(name: str, style: MessageStyle) -> str:
    """The message of the exception a timed-out job is failed with."""
    if style is MessageStyle.LEGACY:
        return _LEGACY_TEXT.format(name=name)
    return f"{name} has timed out."


@dataclass(frozen=True, slots=True)
class RetryDefaults:
    """The worker's fallbacks for what the payload leaves unset (`queue:work` options)."""

    tries: int = DEFAULT_TRIES
    backoff: str = DEFAULT_BACKOFF
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    message_style: MessageStyle = MessageStyle.MODERN


class FailReason(StrEnum):
    """Why the policy fails a job."""

    MAX_ATTEMPTS = "max_attempts"
    RETRY_UNTIL_PASSED = "retry_until_passed"
    MAX_EXCEPTIONS = "max_exceptions"
    FAIL_ON_TIMEOUT = "fail_on_timeout"


@dataclass(frozen=True, slots=True)
class Run:
    """Run the job now."""


@dataclass(frozen=True, slots=True)
class Release:
    """Put the job back, available again after `delay_seconds`."""

    delay_seconds: int


@dataclass(frozen=True, slots=True)
class LeaveReserved:
    """Leave the row reserved: `retry_after` hands it out again (a timed-out job that may retry)."""


@dataclass(frozen=True, slots=True)
class Fail:
    """Fail the job.

    `message` is set when the worker must make its own exception (attempts exceeded, timed out)
    and empty when the job is failed with the exception it raised.
    """

    reason: FailReason
    message: str = ""
    timed_out: bool = False


def max_tries(payload: JobPayload, defaults: RetryDefaults) -> int:
    """The payload's `maxTries`, else the worker's `tries` (0 = unlimited)."""
    return payload.max_tries if payload.max_tries is not None else defaults.tries


def _retry_until(payload: JobPayload) -> int | None:
    # PHP tests the value for truthiness, so 0 behaves as unset.
    return payload.retry_until or None


def decide_before_run(
    payload: JobPayload, *, attempts: int, defaults: RetryDefaults, now: float
) -> Run | Fail:
    """Whether a freshly reserved job may run, or has already used up its attempts.

    This catches jobs whose previous attempt was killed (timeout, crash) and jobs whose
    `retryUntil` has passed; the job body never runs for them.
    """
    retry_until = _retry_until(payload)
    if retry_until is not None:
        if now <= retry_until:
            return Run()
        reason = FailReason.RETRY_UNTIL_PASSED
    else:
        tries = max_tries(payload, defaults)
        if tries == 0 or attempts <= tries:
            return Run()
        reason = FailReason.MAX_ATTEMPTS
    return Fail(reason, max_attempts_message(payload.name, defaults.message_style))


def _will_exceed_attempts(
    payload: JobPayload, *, attempts: int, defaults: RetryDefaults, now: float
) -> FailReason | None:
    retry_until = _retry_until(payload)
    if retry_until is not None:
        return FailReason.RETRY_UNTIL_PASSED if retry_until <= now else None
    tries = max_tries(payload, defaults)
    return FailReason.MAX_ATTEMPTS if tries > 0 and attempts >= tries else None


def exceptions_exhausted(payload: JobPayload, exception_count: int | None) -> bool:
    """Whether the job's `maxExceptions` is reached by `exception_count` (None = not counted)."""
    return (
        payload.max_exceptions is not None
        and exception_count is not None
        and payload.max_exceptions <= exception_count
    )


def decide_after_exception(
    payload: JobPayload,
    *,
    attempts: int,
    exception_count: int | None,
    defaults: RetryDefaults,
    now: float,
) -> Release | Fail:
    """What to do after the handler raised: fail with that exception, or release with backoff.

    Args:
        payload: The job's payload.
        attempts: The row's attempts, counting this one.
        exception_count: Exceptions counted for this job's uuid including this one, or None
            when the worker keeps no count (no counter store, or the payload has no uuid).
        defaults: The worker's options.
        now: The current Unix time.
    """
    reason = _will_exceed_attempts(payload, attempts=attempts, defaults=defaults, now=now)
    if reason is None and exceptions_exhausted(payload, exception_count):
        reason = FailReason.MAX_EXCEPTIONS
    if reason is not None:
        return Fail(reason)
    return Release(backoff_seconds(payload, attempts=attempts, worker_backoff=defaults.backoff))


#: The SO framework's release delay when the job sets no `retryAfter`.
SO_RETRY_AFTER_SECONDS = 90


def decide_so_after_exception(payload: SoPayload, *, attempts: int, tries: int) -> Release | Fail:
    """The SO framework's worker after the handler raised: release (in place) after the job's
    `retryAfter` while `attempts` is below both the worker's `tries` and the job's; else fail."""
    job_tries = payload.int_property("tries")
    if attempts >= tries or (job_tries is not None and attempts >= job_tries):
        return Fail(FailReason.MAX_ATTEMPTS)
    delay = payload.int_property("retryAfter")
    return Release(SO_RETRY_AFTER_SECONDS if delay is None else delay)


def decide_on_timeout(
    payload: JobPayload,
    *,
    attempts: int,
    exception_count: int | None,
    defaults: RetryDefaults,
    now: float,
) -> LeaveReserved | Fail:
    """What to do when the job's timeout fires.

    Laravel's worker fails the job if it would exceed its attempts or exceptions or has
    `failOnTimeout`, then kills itself; any other timed-out job keeps its reserved row, which
    `retry_after` hands out again (the next attempt's before-run check then decides).
    """
    reason = _will_exceed_attempts(payload, attempts=attempts, defaults=defaults, now=now)
    if reason is None and exceptions_exhausted(payload, exception_count):
        reason = FailReason.MAX_EXCEPTIONS
    if reason is None and payload.fail_on_timeout:
        reason = FailReason.FAIL_ON_TIMEOUT
    if reason is None:
        return LeaveReserved()
    return Fail(reason, timeout_message(payload.name, defaults.message_style), timed_out=True)


_PHP_INT = re.compile(r"[ \t\n\r\v\f]*([+-]?)0*([0-9]+)")
_INT64_MAX = 2**63 - 1


def _php_int(text: str) -> int:
    """PHP's (int) cast: leading whitespace, optional sign, leading digits; anything else is 0.

    A number past PHP's int range saturates there, as the cast does (and int() is never
    handed thousands of digits, which it refuses).
    """
    match = _PHP_INT.match(text)
    if match is None:
        return 0
    sign, digits = match.groups()
    magnitude = int(digits) if len(digits) <= 19 else _INT64_MAX + 1
    if sign == "-":
        return -min(magnitude, _INT64_MAX + 1)
    return min(magnitude, _INT64_MAX)


def backoff_seconds(payload: JobPayload, *, attempts: int, worker_backoff: str) -> int:
    """Seconds to wait before the job is available again after an exception.

    The source is the payload's `backoff`, else its `delay` (Laravel keeps that fallback for
    Laravel 7 payloads, which is why 12.11+ delayed jobs retry after their delay), else the
    worker's `--backoff`. It is split on `,`; element `attempts - 1` is used, the last one past
    the end, each read as PHP's `(int)` cast reads it. Negative values count as 0.
    """
    if payload.backoff is not None:
        source = payload.backoff
    elif payload.delay is not None:
        source = str(payload.delay)
    else:
        source = worker_backoff
    steps = source.split(",")
    index = attempts - 1
    step = steps[index] if 0 <= index < len(steps) else steps[-1]
    return max(_php_int(step), 0)


def timeout_seconds(payload: JobPayload, defaults: RetryDefaults) -> float:
    """The job's time limit: payload `timeout`, else the worker's; 0 means none."""
    value = payload.timeout if payload.timeout is not None else defaults.timeout_seconds
    return max(value, 0)
