"""Moving failed jobs back onto the queue: what `queue:retry` does, without its two gaps.

Laravel's `queue:retry` pushes the job and then, in a second step, deletes the failed row;
killed in between, the job is queued twice. bridge moves each job with
`Stores.retry_many`: one transaction (insert into `jobs`, delete from
`failed_jobs`) when both tables share a database, and an idempotent, crash-safe move
(insert only if no job with that payload uuid is there yet, then delete) across databases.
Killed at any moment and run again, a retry neither loses nor duplicates a job.

Every rewrite of the payload, and nothing else:

* `attempts` (a top-level key only Redis-style payloads carry) becomes `0`, as Laravel does;
  the new `jobs` row gets `attempts = 0`, `available_at = created_at = now`.
* `retryUntil` (and the pre-Laravel-8 `timeoutAt`), when it holds a deadline, follows the
  chosen `RetryUntilPolicy`. Laravel refreshes it by calling the PHP job's `retryUntil()`
  method, which Python cannot do, so the choice is explicit:
  `keep` (default) leaves it; `shift` moves it forward by the job's original window,
  `now + (retryUntil - origin)`, where origin is the payload's `createdAt` (Laravel 12.11+)
  or else the row's `failed_at` (which lies after the dispatch, so the window comes out
  shorter, often negative for jobs that failed because the deadline passed); `set`
  writes a timestamp (`set:1767225600`) or `now + seconds` (`set:+3600`); `drop` writes
  `null`, so the job's `maxTries` applies again. A null deadline stays null under every
  policy. A job whose resulting deadline is not after `now` is flagged `expires`: a worker
  will fail it again without running it.
* The job goes onto the row's recorded queue, or `to_queue` when given; the uuid, the
  command (encrypted or not) and every other key are kept.

Unlike Laravel, the payload text is not re-encoded: Laravel's `json_encode` without flags
turns raw UTF-8 into `\\uXXXX` and an empty `{}` into `[]`; bridge splices the changed values
into the original text and keeps every other byte (key order, hook keys, escaping style).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.admin._payload_text import replace_top_level, top_level_spans
from bridge.admin._time import to_unix
from bridge.dialect import SO_DIALECT_NAMES, sniff
from bridge.exceptions import PayloadDecodeError
from bridge.queue.base import FailedJobRecord, JobQueue, RetryMove
from bridge.queue.stores import Stores

__all__ = [
    "DEADLINE_KEYS",
    "RetryOptions",
    "RetryOutcome",
    "RetryPlan",
    "RetryReport",
    "RetryStatus",
    "RetryUntilMode",
    "RetryUntilPolicy",
    "check_connection",
    "plan_retry",
    "retry_failed",
]

#: The payload keys holding a job's deadline: Laravel 8+ and the legacy pre-8 name.
DEADLINE_KEYS = ("retryUntil", "timeoutAt")


class RetryUntilMode(StrEnum):
    """What happens to a retried job's `retryUntil` deadline."""

    KEEP = "keep"
    SHIFT = "shift"
    SET = "set"
    DROP = "drop"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryUntilPolicy:
    """A `--retry-until` choice: `keep`, `shift`, `set:TIMESTAMP`, `set:+SECONDS` or `drop`."""

    mode: RetryUntilMode = RetryUntilMode.KEEP
    #: For `set`: an absolute Unix timestamp, or seconds after `now` when `relative`.
    value: int = 0
    relative: bool = False

    @classmethod
    def parse(cls, text: str) -> RetryUntilPolicy:
        """Read the command-line form.

        Raises:
            ValueError: Not one of the accepted forms.
        """
        name, _, argument = text.strip().partition(":")
        try:
            mode = RetryUntilMode(name.lower())
        except ValueError:
            raise ValueError(
                f"{text!r}: expected keep, shift, set:TIMESTAMP, set:+SECONDS or drop"
            ) from None
        if mode is not RetryUntilMode.SET:
            if argument:
                raise ValueError(f"{text!r}: {mode.value} takes no value")
            return cls(mode=mode)
        relative = argument.startswith("+")
        digits = argument[1:] if relative else argument
        if not digits.isdigit():
            raise ValueError(f"{text!r}: set needs a Unix timestamp or +SECONDS")
        return cls(mode=mode, value=int(digits), relative=relative)

    def __str__(self) -> str:
        if self.mode is RetryUntilMode.SET:
            return f"set:{'+' if self.relative else ''}{self.value}"
        return self.mode.value

    def apply(self, deadline: int, *, origin: int, now: int) -> int | None:
        """The new deadline for a job whose deadline is `deadline` (not None)."""
        if self.mode is RetryUntilMode.SHIFT:
            return now + (deadline - origin)
        if self.mode is RetryUntilMode.SET:
            return now + self.value if self.relative else self.value
        if self.mode is RetryUntilMode.DROP:
            return None
        return deadline


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryOptions:
    """How a retry rewrites and routes each job.

    Attributes:
        now: Unix seconds for the new rows and for deadline arithmetic.
        retry_until: The deadline policy (module notes).
        to_queue: Push onto this queue instead of each row's recorded one.
        connection: The queue connection the target `jobs` table serves; rows recorded for
            another connection (e.g. `redis`) are skipped rather than misrouted. None
            accepts every row (an explicit `--to-database` target, or `--any-connection`).
        timezone: The app timezone `failed_at` is written in.
    """

    now: int
    retry_until: RetryUntilPolicy = field(default_factory=RetryUntilPolicy)
    to_queue: str | None = None
    connection: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """One failed job, ready to move: the payload to push and where to push it."""

    record: FailedJobRecord
    payload: str
    queue: str
    #: The deadline after the policy (None: the job has none).
    retry_until: int | None
    #: The deadline is not after `now`: a worker will fail the job again without running it.
    expires: bool
    #: Top-level payload keys whose values were rewritten.
    rewritten: tuple[str, ...]


def _deadline(value: object, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadDecodeError(f"payload {key!r} must be a Unix timestamp, not {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise PayloadDecodeError(
            f"payload {key!r} must be a Unix timestamp, not {value!r}"
        ) from exc


def plan_retry(record: FailedJobRecord, options: RetryOptions) -> RetryPlan:
    """Work out the payload and queue a failed job is retried with (no I/O).

    Raises:
        PayloadDecodeError: The stored payload is not a JSON object, or its deadline is not
            a timestamp.
    """
    if sniff(record.payload) in SO_DIALECT_NAMES:
        # The SO framework's worker ignores the payload's jobId and attempts (the row
        # counts them) and has no deadline: the payload goes back byte for byte.
        return RetryPlan(
            record=record,
            payload=record.payload,
            queue=options.to_queue or record.queue,
            retry_until=None,
            expires=False,
            rewritten=(),
        )
    spans = top_level_spans(record.payload)
    found = {span.key: span.value for span in spans}  # the last of a repeated key wins, as in PHP
    changes: dict[str, str] = {}
    if "attempts" in found and found["attempts"] != 0:
        changes["attempts"] = "0"
    created_at = found.get("createdAt")
    origin = (
        created_at
        if isinstance(created_at, int) and not isinstance(created_at, bool)
        else to_unix(record.failed_at, options.timezone)
    )
    effective: int | None = None
    for key in DEADLINE_KEYS:
        if key not in found:
            continue
        deadline = _deadline(found[key], key)
        if deadline is None:
            continue
        new = options.retry_until.apply(deadline, origin=origin, now=options.now)
        if new != deadline:
            changes[key] = "null" if new is None else str(new)
        # 8.x-9.x workers read `timeoutAt` only when `retryUntil` is null.
        if effective is None:
            effective = new
    return RetryPlan(
        record=record,
        payload=replace_top_level(record.payload, changes) if changes else record.payload,
        queue=options.to_queue or record.queue,
        retry_until=effective,
        expires=effective is not None and effective <= options.now,
        rewritten=tuple(key for key in found if key in changes),
    )


class RetryStatus(StrEnum):
    """What became of one selected failed job."""

    MOVED = "moved"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """The result for one failed job."""

    record: FailedJobRecord
    status: RetryStatus
    job_id: int | str | None = None
    queue: str | None = None
    reason: str | None = None
    expires: bool = False

    def to_json(self) -> dict[str, object]:
        """The outcome as JSON data (for `retry-failed --json`)."""
        return {
            "id": self.record.id,
            "uuid": self.record.uuid,
            "status": self.status.value,
            "queue": self.queue,
            "job_id": self.job_id,
            "expires": self.expires,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RetryReport:
    """Every outcome of one retry run, in the order the jobs were handled."""

    outcomes: tuple[RetryOutcome, ...]

    @property
    def moved(self) -> int:
        """How many jobs are back on the queue."""
        return sum(o.status is RetryStatus.MOVED for o in self.outcomes)

    @property
    def skipped(self) -> int:
        """How many selected jobs were left where they were (see each `reason`)."""
        return sum(o.status is RetryStatus.SKIPPED for o in self.outcomes)

    @property
    def expiring(self) -> int:
        """How many moved jobs carry a deadline that has already passed."""
        return sum(o.expires and o.status is RetryStatus.MOVED for o in self.outcomes)


def check_connection(record: FailedJobRecord, options: RetryOptions) -> str | None:
    """Why `record` cannot go to the target queue connection, or None when it can."""
    if options.connection is None or record.connection == options.connection:
        return None
    return (
        f"recorded for queue connection {record.connection!r}, "
        f"but the target is {options.connection!r}"
    )


_GONE = "gone: another process moved or deleted it"


def _plan_or_skip(record: FailedJobRecord, options: RetryOptions) -> RetryPlan | RetryOutcome:
    reason = check_connection(record, options)
    if reason is not None:
        return RetryOutcome(record, RetryStatus.SKIPPED, reason=reason)
    try:
        return plan_retry(record, options)
    except PayloadDecodeError as exc:
        return RetryOutcome(record, RetryStatus.SKIPPED, reason=f"unreadable payload: {exc}")


def retry_failed(
    records: Iterable[FailedJobRecord],
    *,
    stores: Stores,
    into: JobQueue | None = None,
    options: RetryOptions,
    on_outcome: Callable[[RetryOutcome], None] | None = None,
    chunk: int = 100,
) -> RetryReport:
    """Move each failed job back onto the queue, each one whole or not at all.

    Jobs are handed to the stores `chunk` at a time (`Stores.retry_many`): within one
    database a chunk shares a transaction, so a crash leaves every job either moved or still
    failed, and a rerun picks up the rest.

    Args:
        records: The selected failed jobs (e.g. `stores.failed.select(filter)`).
        stores: The `failed_jobs` table they come from, and the queue they go back to.
        into: Another queue to push onto instead (another database for a migration).
        options: Rewrites and routing (module notes).
        on_outcome: Called after each job, e.g. to advance a progress bar.
        chunk: Jobs per store call.

    Raises:
        QueueError: The storage failed; jobs handled before stay moved, the current chunk is
            either moved whole or not at all.
    """
    outcomes: list[RetryOutcome] = []
    pending: list[tuple[RetryMove, RetryPlan]] = []

    def emit(outcome: RetryOutcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def move_pending() -> None:
        if not pending:
            return
        moved = stores.retry_many([move for move, _ in pending], now=options.now, into=into)
        for move, plan in pending:
            job_id = moved.get(move.record.id)
            if job_id is None:
                emit(RetryOutcome(move.record, RetryStatus.SKIPPED, reason=_GONE))
            else:
                emit(
                    RetryOutcome(
                        move.record,
                        RetryStatus.MOVED,
                        job_id=job_id,
                        queue=plan.queue,
                        expires=plan.expires,
                    )
                )
        pending.clear()

    for record in records:
        planned = _plan_or_skip(record, options)
        if isinstance(planned, RetryOutcome):
            emit(planned)
            continue
        pending.append((RetryMove(record, planned.payload, planned.queue), planned))
        if len(pending) >= chunk:
            move_pending()
    move_pending()
    return RetryReport(tuple(outcomes))
