"""`WorkerOptions`: `queue:work`'s options under Laravel's names, plus bridge's own.

Exit codes of `Worker.run` (through `StopReason.exit_code`): 0 for every orderly stop
(signal, empty queue, `once`, `max_jobs`, `max_time`), 12 when the memory limit is reached, as
Laravel; a hard timeout ends the process with status 1 (Laravel's worker kills itself).
Storage errors: 1 when a `once` / `stop_when_empty` worker could not reach the queue after
`STORAGE_TRIES` tries in a row; 78 (EX_CONFIG of sysexits.h) when the queue database refuses
the configuration itself (a missing table, bad credentials, an unknown database), which no
retry or restart can mend: a supervisor can be told not to restart on it (systemd's
`RestartPreventExitStatus=78`), and a `--concurrency` pool stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from enum import StrEnum

from bridge.dialect import LARAVEL, Dialect
from bridge.exceptions import ConfigError
from bridge.laravel import profile_for
from bridge.retry import MessageStyle, RetryDefaults

__all__ = [
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_MEMORY_LIMIT",
    "EXIT_SUCCESS",
    "STORAGE_TRIES",
    "ForeignRowPolicy",
    "StopReason",
    "UnknownJobPolicy",
    "WorkerOptions",
]

EXIT_SUCCESS = 0
EXIT_ERROR = 1
EXIT_MEMORY_LIMIT = 12
EXIT_CONFIG = 78
#: Failed storage operations in a row after which a `once` / `stop_when_empty` worker gives
#: up (a daemon worker goes on retrying, with a growing pause).
STORAGE_TRIES = 3


class StopReason(StrEnum):
    """Why `Worker.run` returned."""

    SIGNAL = "signal"
    EMPTY = "empty"
    ONCE = "once"
    MAX_JOBS = "max_jobs"
    MAX_TIME = "max_time"
    MEMORY = "memory"
    #: A `once` / `stop_when_empty` worker could not reach the queue (`STORAGE_TRIES` tries).
    STORAGE_DOWN = "storage_down"
    #: The queue database refuses the configuration (missing table, access denied).
    STORAGE_UNUSABLE = "storage_unusable"

    @property
    def exit_code(self) -> int:
        """The process exit status for this stop (Laravel's, where Laravel has one)."""
        return _EXIT_CODES.get(self, EXIT_SUCCESS)


_EXIT_CODES = {
    StopReason.MEMORY: EXIT_MEMORY_LIMIT,
    StopReason.STORAGE_DOWN: EXIT_ERROR,
    StopReason.STORAGE_UNUSABLE: EXIT_CONFIG,
}


class UnknownJobPolicy(StrEnum):
    """What to do with a job no Python handler serves."""

    #: Fail it with `HandlerNotFound` (the default: a misrouted job is visible at once).
    FAIL = "fail"
    #: Hand it back after `unknown_job_delay_seconds` without using up an attempt, for
    #: queues shared with PHP workers.
    RELEASE = "release"


# Laravel 8's payload rules: the dialect a worker speaks unless told otherwise.
_LARAVEL_DEFAULT = Dialect(LARAVEL, profile_for("8"))


class ForeignRowPolicy(StrEnum):
    """What to do with a row another dialect wrote (a Laravel job in an SO queue, or back)."""

    #: Neither run nor destroy it: put it back (attempt not counted) after
    #: `unknown_job_delay_seconds`, for the workers that speak its dialect, and say so.
    LEAVE = "leave"
    #: Move it to `failed_jobs` intact, with the reason.
    FAIL = "fail"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """How a worker runs. Times are seconds; 0 disables a limit.

    Attributes:
        queues: Queue names in strict priority order: every loop tries the first one first.
        name: Worker name, carried by every log line.
        once: Process at most one job, then stop.
        stop_when_empty: Stop as soon as no queue has a job.
        sleep_seconds: Idle pause when no queue has a job.
        rest_seconds: Pause after each job.
        tries: Attempts unless the payload sets `maxTries` (0 = unlimited).
        backoff: Release delay after an exception unless the payload says; may be `"10,30"`.
        timeout_seconds: Time limit per job unless the payload sets `timeout`.
        timeout_grace_seconds: Extra time before a job that ignores its timeout ends the process.
        max_jobs: Stop after this many jobs.
        max_time_seconds: Stop after running this long (checked between jobs).
        memory_mb: Stop with exit code 12 when the resident set reaches this size.
        prefetch: Rows to reserve in one transaction (1 = Laravel's one-at-a-time).
        prefetch_age_fraction: Share of `retry_after` a prefetched row may wait before start.
        read_ahead: With prefetch, start reserving the first queue's next batch when a batch
            starts, where the queue can (`JobQueue.reserve`'s `ahead`): the database works on it
            while the jobs run.
        default_queue: The connection's default queue (Laravel's `queue.connections.*.queue`),
            where a chained job naming no queue goes.
        unknown_job: Policy for jobs without a handler.
        unknown_job_delay_seconds: Delay of the `release` policy.
        message_style: Laravel version style of attempt and timeout messages.
        timezone: Zone of `failed_jobs.failed_at` (Laravel's `app.timezone`).
        error_sleep_seconds: Pause after a storage error before the loop goes on; doubled
            for each further error in a row, up to `max_error_sleep_seconds`.
        max_error_sleep_seconds: The longest pause after storage errors.
        delete_within_seconds: With prefetch, how long a finished job's row may wait to be
            deleted with others (a crash in that time runs it again).
        dialect: The PHP side's dialect: how rows are read and how jobs are retried and
            failed (Laravel's rules, or the SO framework's).
        foreign_rows: Policy for rows of another dialect.
    """

    queues: tuple[str, ...] = ("default",)
    name: str = "default"
    once: bool = False
    stop_when_empty: bool = False
    sleep_seconds: float = 3.0
    rest_seconds: float = 0.0
    tries: int = 1
    backoff: str = "0"
    timeout_seconds: float = 60.0
    timeout_grace_seconds: float = 5.0
    max_jobs: int = 0
    max_time_seconds: float = 0.0
    memory_mb: int = 128
    prefetch: int = 1
    prefetch_age_fraction: float = 0.5
    read_ahead: bool = True
    default_queue: str = "default"
    unknown_job: UnknownJobPolicy = UnknownJobPolicy.FAIL
    unknown_job_delay_seconds: int = 60
    message_style: MessageStyle = MessageStyle.MODERN
    timezone: tzinfo = UTC
    error_sleep_seconds: float = 1.0
    dialect: Dialect = _LARAVEL_DEFAULT
    foreign_rows: ForeignRowPolicy = ForeignRowPolicy.LEAVE
    max_error_sleep_seconds: float = 10.0
    delete_within_seconds: float = 0.1

    def __post_init__(self) -> None:
        if not self.queues or not all(self.queues):
            raise ConfigError("the worker needs at least one non-empty queue name")
        if self.prefetch < 1:
            raise ConfigError("prefetch must be at least 1")
        if not 0 < self.prefetch_age_fraction < 1:
            raise ConfigError("prefetch_age_fraction must be between 0 and 1")
        for name in ("tries", "max_jobs", "memory_mb", "unknown_job_delay_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} cannot be negative")
        for name in ("sleep_seconds", "rest_seconds", "timeout_seconds", "max_time_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} cannot be negative")

    @property
    def retry_defaults(self) -> RetryDefaults:
        """The fallbacks the retry policy applies when the payload is silent."""
        return RetryDefaults(
            tries=self.tries,
            backoff=self.backoff,
            timeout_seconds=self.timeout_seconds,
            message_style=self.message_style,
        )
