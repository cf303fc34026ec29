"""Processing one reserved row of an SO framework queue, with that framework's worker rules.

What its `Core\\Queue\\Worker` does, step for step:

* the attempt number is the `attempts` column after the reservation counted it (the
  payload's `attempts` is ignored);
* an exception releases the job in place (same row, `reserved_at` NULL, `available_at =
  now + the job's retryAfter`, attempts kept) while `attempts < --tries` and
  `attempts < the job's tries`; otherwise the job fails;
* a failure calls the failed hook first, then writes `failed_jobs` (a fresh uuid,
  connection `database`, queue = the job's `queue` property, the payload serialized again
  with `jobId` and `attempts` filled in, `Class: message in file:line` and the stack), then
  deletes the row: if writing fails, the row stays and comes back after `retry_after`;
* there is no attempt check before running, and the job's own `timeout` is not used: the
  worker's `--timeout` applies, and a job that runs out of it is left reserved (the PHP
  worker's process dies there) until `retry_after`.

Beyond what the PHP worker can do, nothing crashes the worker: an undecodable payload is
failed intact with the reason (the PHP worker exits 255 and leaves the row reserved).
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bridge._typing import Clock
from bridge.exceptions import HandlerNotFound, JobTimeoutInterrupt, PayloadError
from bridge.queue.base import FailedJobStore, JobQueue, ReservedJob
from bridge.so import SoPayload, decode_so
from bridge.worker._exception_text import php_outer_exception_text
from bridge.worker._foreign import ForeignRows
from bridge.worker._process import Outcome
from bridge.worker.app import App, HandlerSpec
from bridge.worker.job import Job
from bridge.worker.options import UnknownJobPolicy, WorkerOptions
from bridge.worker.timeouts import JobTimer

__all__ = ["SoProcessor"]

#: What the SO framework writes to `failed_jobs.connection`, whatever the connection's name.
SO_FAILED_CONNECTION = "database"


class SoProcessor:
    """Runs reserved SO rows one at a time (the `Processor` of the SO dialect)."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        failed: FailedJobStore,
        app: App,
        options: WorkerOptions,
        clock: Clock,
        logger: logging.Logger,
        on_hard_timeout: Callable[[], None],
    ) -> None:
        self._queue = queue
        self._failed = failed
        self._app = app
        self._options = options
        self._clock = clock
        self._logger = logger
        self._foreign = ForeignRows(
            queue=queue, failed=failed, options=options, clock=clock, logger=logger
        )
        self._timer = JobTimer(
            on_hard_timeout=on_hard_timeout, grace_seconds=options.timeout_grace_seconds
        )

    def close(self) -> None:
        """Release what the processor holds between jobs (the SIGALRM handler)."""
        self._timer.close()

    def rest(self) -> None:
        """Before the worker idles: clear the alarm the last job may have left pending."""
        self._timer.rest()

    def _log(
        self, level: int, message: str, reserved: ReservedJob, event: str, **more: Any
    ) -> None:
        if self._logger.isEnabledFor(level):
            fields = {
                "event": event,
                "id": reserved.id,
                "queue": reserved.queue,
                "attempts": reserved.attempts,
                "worker": self._options.name,
                **more,
            }
            self._logger.log(level, message, extra={"bridge": fields})

    # --- the job --------------------------------------------------------------------------

    def process(self, reserved: ReservedJob) -> Outcome:
        """Process one reserved row to its end and say what became of it."""
        other = self._foreign.dialect_of(reserved)
        if other is not None:
            failed = self._foreign.handle(reserved, other)
            return Outcome.FAILED if failed else Outcome.HANDED_BACK
        try:
            payload = decode_so(reserved.payload)
        except PayloadError as exc:
            self._log(logging.INFO, f"Processing: job {reserved.id}", reserved, "processing")
            return self._fail(reserved, None, None, None, exc)
        self._log(
            logging.INFO,
            f"Processing: {payload.name} (Attempt {reserved.attempts}/{self._options.tries})",
            reserved,
            "processing",
            job=payload.class_name,
        )
        spec = self._app.resolve_class(payload.class_name)
        job = Job(
            reserved=reserved,
            payload=payload,
            command=payload.command(),
            connection=self._queue.connection_name,
        )
        if spec is None:
            return self._unknown(reserved, payload, job)
        return self._run(reserved, payload, job, spec)

    def _unknown(self, reserved: ReservedJob, payload: SoPayload, job: Job) -> Outcome:
        if self._options.unknown_job is UnknownJobPolicy.FAIL:
            error = HandlerNotFound(f"No Python handler is registered for {payload.class_name}.")
            return self._fail(reserved, payload, job, None, error)
        delay = max(1, self._options.unknown_job_delay_seconds)
        self._queue.release_in_place(
            reserved, now=int(self._clock()), delay_seconds=delay, undo_attempt=True
        )
        self._log(
            logging.INFO,
            f"Handed back: {payload.name} (no handler, {delay} s)",
            reserved,
            "handed_back",
            delay_seconds=delay,
        )
        return Outcome.HANDED_BACK

    def _run(
        self, reserved: ReservedJob, payload: SoPayload, job: Job, spec: HandlerSpec
    ) -> Outcome:
        raised: Exception | None = None
        started = time.perf_counter()
        try:
            self._timer.run(lambda: spec.func(job), self._options.timeout_seconds)
        except JobTimeoutInterrupt:
            pass
        except Exception as exc:
            raised = exc
        if self._timer.fired:
            self._log(
                logging.WARNING,
                f"Timed out:  {payload.name} (left reserved until retry_after)",
                reserved,
                "timed_out",
            )
            return Outcome.LEFT_RESERVED
        requested = job.requested
        if requested == "fail":
            failure = job.requested_failure
            assert failure is not None
            return self._fail(reserved, payload, job, spec, failure, stack=job.failure_stack)
        if requested == "release":
            return self._release(reserved, payload, job.requested_delay_seconds, None)
        if raised is not None and requested is None:
            return self._after_exception(reserved, payload, job, spec, raised)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        self._log(
            logging.INFO,
            f"Processed:  {payload.name} ({duration_ms} ms)",
            reserved,
            "processed",
            duration_ms=duration_ms,
        )
        return Outcome.SUCCEEDED

    def _after_exception(
        self,
        reserved: ReservedJob,
        payload: SoPayload,
        job: Job,
        spec: HandlerSpec,
        exc: Exception,
    ) -> Outcome:
        attempts = reserved.attempts
        job_tries = payload.int_property("tries")
        may_retry = attempts < self._options.tries and (job_tries is None or attempts < job_tries)
        if not may_retry:
            return self._fail(reserved, payload, job, spec, exc)
        delay = payload.int_property("retryAfter")
        return self._release(reserved, payload, 90 if delay is None else delay, exc)

    def _release(
        self,
        reserved: ReservedJob,
        payload: SoPayload,
        delay_seconds: int,
        exc: BaseException | None,
    ) -> Outcome:
        self._queue.release_in_place(reserved, now=int(self._clock()), delay_seconds=delay_seconds)
        reason = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        self._log(
            logging.INFO,
            f"Released:   {payload.name} (after {delay_seconds} s){reason}",
            reserved,
            "released",
            delay_seconds=delay_seconds,
        )
        return Outcome.RELEASED

    # --- failure --------------------------------------------------------------------------

    def _fail(
        self,
        reserved: ReservedJob,
        payload: SoPayload | None,
        job: Job | None,
        spec: HandlerSpec | None,
        error: BaseException,
        *,
        stack: list[traceback.FrameSummary] | None = None,
    ) -> Outcome:
        if spec is not None and spec.failed is not None and job is not None:
            try:
                spec.failed(job, error)
            except Exception:
                self._logger.exception("The failed hook of %s raised", spec.name)
        now = int(self._clock())
        if payload is not None:
            text = payload.for_failed_jobs(job_id=reserved.id, attempts=reserved.attempts)
            queue = payload.queue or reserved.queue
        else:
            text, queue = reserved.payload, reserved.queue
        exception = php_outer_exception_text(error, fallback_stack=stack)
        self._failed.log(
            uuid=str(uuid_module.uuid4()) if self._failed.has_uuid else None,
            connection=SO_FAILED_CONNECTION,
            queue=queue,
            payload=text,
            exception=exception,
            failed_at=datetime.fromtimestamp(now, self._options.timezone).replace(tzinfo=None),
        )
        self._queue.delete(reserved)
        name = payload.name if payload is not None else f"job {reserved.id}"
        self._log(
            logging.ERROR,
            f"Failed:     {name}: {exception.partition(chr(10))[0]}",
            reserved,
            "failed",
            reason=str(error) or type(error).__name__,
        )
        return Outcome.FAILED
