"""What becomes of a job that did not simply succeed: released, left reserved after a
timeout, or failed, as Laravel's worker settles it.

Failure, in Laravel's order: record the batch failure (cancelling the batch on its first
failure unless its options allow failures), run the app's `failed` hook, then move the row
to `failed_jobs` (PHP-shaped exception text, `failed_at` as naive local time in the
configured zone) through `Stores.fail`, in the shape the dialect's worker writes. Laravel
deletes the row first and writes `failed_jobs` last, so a worker that dies in between loses
the job; here the two go together in one transaction on a database, or the failed row is
written first. What only PHP can run is not attempted (a PHP job's own `failed()`, chain
`catch` callbacks, batch closures); the bookkeeping around them is done.
"""

from __future__ import annotations

import logging
import traceback
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bridge._typing import Clock
from bridge.exceptions import MaxAttemptsExceeded, QueueError, TimeoutExceeded
from bridge.laravel.command import batch_allows_failures
from bridge.laravel.payload import JobPayload
from bridge.queue import ReservedJob, Stores
from bridge.retry import (
    Fail,
    MessageStyle,
    decide_after_exception,
    decide_on_timeout,
    decide_so_after_exception,
    exceptions_exhausted,
)
from bridge.so import SoPayload
from bridge.worker._exception_text import php_exception_text, php_outer_exception_text
from bridge.worker.app import HandlerSpec
from bridge.worker.counters import ExceptionCounter
from bridge.worker.job import Job
from bridge.worker.options import WorkerOptions

__all__ = ["JobLog", "Outcome", "Settler"]

_MOVE_ATTEMPTS = 3


def _storable(text: str) -> str:
    """`text` without lone surrogates (an exception message may quote a broken payload's
    string), which no database driver would encode."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


class Outcome(StrEnum):
    """What became of a processed row."""

    #: Succeeded; the row is still to be deleted (the loop may batch the deletes).
    SUCCEEDED = "succeeded"
    RELEASED = "released"
    FAILED = "failed"
    #: Timed out with attempts left: reserved until `retry_after`, as Laravel leaves it.
    LEFT_RESERVED = "left_reserved"
    #: No handler (or another dialect's row); handed back without using up an attempt.
    HANDED_BACK = "handed_back"


class JobLog(Protocol):
    """Writes one record about a job (`Processor`'s log line, with the job's fields)."""

    def __call__(
        self, level: int, message: str, reserved: ReservedJob, of: Job | None, event: str,
        **more: Any,
    ) -> None: ...  # fmt: skip


class Settler:
    """Releases, leaves or fails a job by the retry policy, and moves failed rows."""

    def __init__(
        self,
        *,
        stores: Stores,
        options: WorkerOptions,
        clock: Clock,
        counter: ExceptionCounter | None,
        logger: logging.Logger,
        log: JobLog,
        sleep: Callable[[float], object],
    ) -> None:
        self._stores = stores
        self._queue = stores.queue
        self._failed = stores.failed
        self._batches = stores.batches
        self._options = options
        self._dialect = options.dialect
        self._defaults = options.retry_defaults
        self._clock = clock
        self._counter = counter
        self._logger = logger
        self._log = log
        self._sleep = sleep

    def after_exception(
        self, reserved: ReservedJob, job: Job, spec: HandlerSpec, exc: Exception
    ) -> Outcome:
        payload = job.payload
        if isinstance(payload, SoPayload):
            decision = decide_so_after_exception(
                payload, attempts=reserved.attempts, tries=self._options.tries
            )
        else:
            decision = decide_after_exception(
                payload,
                attempts=reserved.attempts,
                exception_count=self._count_exception(payload),
                defaults=self._defaults,
                now=self._clock(),
            )
        if isinstance(decision, Fail):
            return self.fail(reserved, job, spec, exc)
        return self.release(reserved, job, decision.delay_seconds, exc)

    def release(
        self, reserved: ReservedJob, job: Job, delay_seconds: int, exc: BaseException | None
    ) -> Outcome:
        now = int(self._clock())
        if self._dialect.releases_in_place:
            self._queue.release_in_place(reserved, now=now, delay_seconds=delay_seconds)
        else:
            self._queue.release(reserved, now=now, delay_seconds=delay_seconds)
        reason = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        self._log(
            logging.INFO,
            f"Released:   {job.name} (after {delay_seconds} s){reason}",
            reserved,
            job,
            "released",
            delay_seconds=delay_seconds,
            reason=str(exc) if exc is not None else None,
            # The attempt's traceback in the log: the job may succeed later, and then no
            # failed_jobs row ever tells what went wrong this time.
            exception_class=type(exc).__name__ if exc is not None else None,
            traceback="".join(traceback.format_exception(exc)) if exc is not None else None,
        )
        return Outcome.RELEASED

    def timed_out(self, reserved: ReservedJob, job: Job, spec: HandlerSpec) -> Outcome:
        payload = job.payload
        if isinstance(payload, JobPayload):
            decision = decide_on_timeout(
                payload,
                attempts=reserved.attempts,
                exception_count=self._count_exception(payload),
                defaults=self._defaults,
                now=self._clock(),
            )
            if isinstance(decision, Fail):
                error = (
                    MaxAttemptsExceeded(decision.message)
                    if self._defaults.message_style is MessageStyle.LEGACY
                    else TimeoutExceeded(decision.message)
                )
                return self.fail(reserved, job, spec, error)
        message = f"Timed out:  {payload.name} (left reserved until retry_after)"
        self._log(logging.WARNING, message, reserved, job, "timed_out")
        return Outcome.LEFT_RESERVED

    def fail(
        self,
        reserved: ReservedJob,
        job: Job | None,
        spec: HandlerSpec | None,
        error: BaseException,
        *,
        stack: list[traceback.FrameSummary] | None = None,
    ) -> Outcome:
        """Fail a job as Laravel's worker does (see the module docstring for the order);
        `job` is None for a row whose payload did not decode."""
        now = self._clock()
        payload = job.payload if job is not None else None
        uuid = payload.uuid if payload is not None else None
        batch_id = job.batch_id if job is not None else None
        if batch_id and uuid and self._batches is not None:
            batch = self._batches.find(batch_id)
            if batch is not None:
                self._batches.record_failure(
                    batch_id,
                    uuid,
                    now=int(now),
                    allow_failures=batch_allows_failures(batch.options),
                )
        if spec is not None and spec.failed is not None and job is not None:
            try:
                spec.failed(job, error)
            except Exception:
                self._logger.exception(
                    "The failed hook of %s raised", spec.name, extra={"bridge": {"uuid": uuid}}
                )
        if uuid is None and self._failed.has_uuid:
            # The column is NOT NULL and unique: a fresh uuid keeps the payload recorded.
            uuid = str(uuid_module.uuid4())
        if self._dialect.failure_text_is_outer_only:
            text = php_outer_exception_text(error, fallback_stack=stack)
        else:
            text = php_exception_text(error, fallback_stack=stack)
        text = _storable(text)
        failed_at = datetime.fromtimestamp(int(now), self._options.timezone).replace(tzinfo=None)
        self._move_to_failed(reserved, payload, uuid, text, failed_at)
        name = payload.name if payload is not None else f"job {reserved.id}"
        self._log(
            logging.ERROR,
            f"Failed:     {name}: {text.partition(chr(10))[0]}",
            reserved,
            job,
            "failed",
            reason=str(error) or type(error).__name__,
            exception_class=type(error).__name__,
            traceback=text,
        )
        return Outcome.FAILED

    def _move_to_failed(
        self,
        reserved: ReservedJob,
        payload: JobPayload | SoPayload | None,
        uuid: str | None,
        text: str,
        failed_at: datetime,
    ) -> None:
        row = self._dialect.failed_row(
            reserved.payload,
            reserved.queue,
            payload,
            job_id=reserved.id,
            attempts=reserved.attempts,
        )
        # Until the move succeeds the row stays reserved in `jobs`, and comes back after
        # retry_after to be failed again.
        for attempt in range(1, _MOVE_ATTEMPTS + 1):
            try:
                self._stores.fail(
                    reserved, uuid=uuid, exception=text, failed_at=failed_at, as_row=row
                )
                return
            except QueueError as exc:
                if attempt == _MOVE_ATTEMPTS:
                    self._logger.error(
                        "Could not move job %s to failed_jobs (%s); it stays in jobs and comes"
                        " back after retry_after",
                        reserved.id,
                        exc,
                        extra={"bridge": {"event": "failed_jobs_unwritten", "uuid": uuid}},
                    )
                    raise
                self._sleep(self._options.error_sleep_seconds)

    def _count_exception(self, payload: JobPayload) -> int | None:
        if self._counter is None or payload.uuid is None or payload.max_exceptions is None:
            return None
        count = self._counter.increment(payload.uuid, now=self._clock())
        if exceptions_exhausted(payload, count):
            self._counter.forget(payload.uuid)
        return count
