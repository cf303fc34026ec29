"""Processing one reserved job: decide, run the handler under its timeout, apply the outcome.

Step order follows Laravel's worker. Success of an object job: run the handler, then (unless
it failed or released itself) dispatch the next chained job and record the batch success,
then delete the row (the loop may batch that delete). Failures go through `_failure`.

A `Class@method` string job is deleted once its handler returns. Laravel's worker leaves that
to the handler (a PHP handler that forgets runs again after `retry_after`); a Python handler
need not call `job.delete()`, though it may.

Undecodable payloads and jobs without a handler never stop the worker: they are failed with
a clear reason, the payload kept byte for byte. So is any row whose data makes anything but
storage raise while it is read or interpreted (not only bridge's own errors: a decoder or
policy bug must not leave the row reserved to come back forever), a row that is not UTF-8
text, and a row already at the `attempts` column's limit (`JobQueue.attempts_limit`). A job
whose handler succeeded never runs again: if the next job of its chain cannot be built, it
is failed with that reason instead of being retried.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from bridge._typing import Clock
from bridge.exceptions import (
    HandlerNotFound,
    JobTimeoutInterrupt,
    MaxAttemptsExceeded,
    ModelNotFound,
    PayloadDecodeError,
    PayloadError,
    PhpSerializeError,
    QueueError,
    TimeoutExceeded,
    WorkerError,
)
from bridge.laravel.command import decode_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.php import PhpDecoder, PhpObject
from bridge.queue import NewJob, ReservedJob, Stores
from bridge.retry import (
    Fail,
    MessageStyle,
    decide_after_exception,
    decide_before_run,
    decide_on_timeout,
    exceptions_exhausted,
    timeout_seconds,
)
from bridge.worker._chain import dispatch_next_in_chain
from bridge.worker._failure import FailureRecorder
from bridge.worker._foreign import ForeignRows
from bridge.worker.app import App, HandlerSpec
from bridge.worker.counters import ExceptionCounter
from bridge.worker.job import Job
from bridge.worker.logs import DirectLines, RecordMaker
from bridge.worker.options import UnknownJobPolicy, WorkerOptions
from bridge.worker.timeouts import JobTimer

__all__ = ["Outcome", "Processor"]

_DECODE_ERRORS = (PayloadError, PhpSerializeError)


def _is_utf8(text: str) -> bool:
    """Whether `text` is valid Unicode text (a payload read as bytes that were not UTF-8
    carries them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Outcome(StrEnum):
    """What became of a processed row."""

    #: Succeeded; the row is still to be deleted (the loop may batch the deletes).
    SUCCEEDED = "succeeded"
    RELEASED = "released"
    FAILED = "failed"
    #: Timed out with attempts left: reserved until `retry_after`, as Laravel leaves it.
    LEFT_RESERVED = "left_reserved"
    #: No handler; handed back without using up an attempt.
    HANDED_BACK = "handed_back"


class Processor:
    """Runs reserved jobs one at a time and applies the retry policy's decisions."""

    def __init__(
        self,
        *,
        stores: Stores,
        app: App,
        options: WorkerOptions,
        clock: Clock,
        encrypter: Encrypter | None,
        counter: ExceptionCounter | None,
        logger: logging.Logger,
        on_hard_timeout: Callable[[], None],
        sleep: Callable[[float], object],
    ) -> None:
        queue = self._queue = stores.queue
        self._attempts_limit = queue.attempts_limit
        failed = self._failed = stores.failed
        self._batches = stores.batches
        self._app = app
        self._options = options
        self._worker_name = options.name
        self._defaults = options.retry_defaults
        self._clock = clock
        self._encrypter = encrypter
        # Kept for the worker's life: its token caches make each next command cheaper.
        self._decoder = PhpDecoder()
        self._counter = counter
        self._logger = logger
        self._records = RecordMaker(logger, pathname=__file__, func="process")
        self._direct = DirectLines(logger)
        self._after_hard_timeout = on_hard_timeout
        self._failures = FailureRecorder(
            stores=stores,
            options=options,
            clock=clock,
            sleep=sleep,
            logger=logger,
        )
        self._timer = JobTimer(
            on_hard_timeout=self._hard_timeout, grace_seconds=options.timeout_grace_seconds
        )
        self._foreign = ForeignRows(
            queue=queue, failed=failed, options=options, clock=clock, logger=logger
        )
        self._lock = threading.Lock()
        self._current: tuple[ReservedJob, JobPayload, Job, HandlerSpec] | None = None
        self._abandoned = False

    def close(self) -> None:
        """Release what the processor holds between jobs (the SIGALRM handler)."""
        self._timer.close()

    def rest(self) -> None:
        """Before the worker idles: clear the alarm the last job may have left pending."""
        self._timer.rest()

    # --- logging --------------------------------------------------------------------------

    def _log(
        self,
        level: int,
        message: str,
        reserved: ReservedJob,
        payload: JobPayload | None,
        event: str,
        **more: Any,
    ) -> None:
        logger = self._logger
        if not logger.isEnabledFor(level):
            return
        fields = {
            "event": event,
            "uuid": payload.uuid if payload else None,
            "job": payload.name if payload else None,
            "queue": reserved.queue,
            "id": reserved.id,
            "attempts": reserved.attempts,
            "worker": self._worker_name,
        }
        if more:
            fields.update(more)
        direct = self._direct.handlers(level)
        if direct is not None:
            self._direct.write(direct, level, message, fields)
            return
        # Building the record directly skips logging's caller lookup (a stack walk per
        # record), a real share of a trivial job's cost; the caller is always this method.
        logger.handle(self._records.make(level, message, {"bridge": fields}))

    # --- the job --------------------------------------------------------------------------

    def process(self, reserved: ReservedJob) -> Outcome:
        """Process one reserved row to its end and say what became of it.

        Raises:
            QueueError: storage failed; the row stays reserved (it comes back after
                `retry_after`). Any other error is the row's, and fails it.
        """
        try:
            return self._process(reserved)
        except QueueError:
            raise
        except Exception as exc:
            # Whatever a row's data makes bridge (or a library under it) raise while reading
            # or interpreting it, the row is failed whole with the reason: left reserved, it
            # would come back every retry_after until its attempts overflow the column.
            error = PayloadError(f"the job could not be processed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return self.fail(reserved, None, None, None, error)

    def _process(self, reserved: ReservedJob) -> Outcome:
        other = self._foreign.dialect_of(reserved)
        if other is not None:
            return Outcome.FAILED if self._foreign.handle(reserved, other) else Outcome.HANDED_BACK
        text = reserved.payload
        limit = self._attempts_limit
        if limit is not None and reserved.attempts > limit:
            return self._fail_at_limit(reserved, limit)
        if not text.isascii() and not _is_utf8(text):
            self._log(logging.INFO, f"Processing: job {reserved.id}", reserved, None, "processing")
            # PHP's json_decode refuses it too; the bytes go to failed_jobs unchanged.
            error = PayloadDecodeError("the payload is not valid UTF-8 text")
            return self.fail(reserved, None, None, None, error)
        try:
            payload = JobPayload.from_json(text)
        except PayloadError as exc:
            self._log(logging.INFO, f"Processing: job {reserved.id}", reserved, None, "processing")
            return self.fail(reserved, None, None, None, exc)
        name = payload.name
        self._log(logging.INFO, f"Processing: {name}", reserved, payload, "processing")
        spec = self._app.resolve(payload)
        decision = decide_before_run(
            payload, attempts=reserved.attempts, defaults=self._defaults, now=self._clock()
        )
        if isinstance(decision, Fail):
            job = self._job_for_hook(reserved, payload, spec)
            return self.fail(reserved, payload, job, spec, MaxAttemptsExceeded(decision.message))
        if spec is None:
            return self._unknown(reserved, payload)
        try:
            command = (
                decode_command(payload, encrypter=self._encrypter, decoder=self._decoder)
                if payload.is_object_job
                else None
            )
        except _DECODE_ERRORS as exc:
            job = Job(reserved=reserved, payload=payload, command=None, connection=self._conn)
            return self.fail(reserved, payload, job, spec, exc)
        job = Job(reserved=reserved, payload=payload, command=command, connection=self._conn)
        return self._run(reserved, payload, job, spec)

    def _fail_at_limit(self, reserved: ReservedJob, limit: int) -> Outcome:
        try:
            payload: JobPayload | None = JobPayload.from_json(reserved.payload)
        except Exception:
            payload = None
        name = payload.name if payload is not None else f"Job {reserved.id}"
        error = MaxAttemptsExceeded(
            f"{name} has been attempted {limit} times, as many as the"
            " jobs.attempts column can count; it is failed rather than reserved again."
        )
        return self.fail(reserved, payload, None, None, error)

    @property
    def _conn(self) -> str:
        return self._queue.connection_name

    def _job_for_hook(
        self, reserved: ReservedJob, payload: JobPayload, spec: HandlerSpec | None
    ) -> Job | None:
        # Decoded even without a failed hook: before 12.51 the batch id of a job that fails
        # unrun lives only in its command, and the batch must still count the failure.
        command: PhpObject | None = None
        if payload.is_object_job:
            try:
                command = decode_command(payload, encrypter=self._encrypter, decoder=self._decoder)
            except _DECODE_ERRORS:
                command = None
        return Job(reserved=reserved, payload=payload, command=command, connection=self._conn)

    def _unknown(self, reserved: ReservedJob, payload: JobPayload) -> Outcome:
        if self._options.unknown_job is UnknownJobPolicy.FAIL:
            error = HandlerNotFound(
                f"No Python handler is registered for {payload.command_name or payload.job}."
            )
            return self.fail(
                reserved, payload, self._job_for_hook(reserved, payload, None), None, error
            )
        now = int(self._clock())
        delay = self._options.unknown_job_delay_seconds
        # Insert before delete: a crash in between duplicates the row but never loses it.
        # attempts - 1 undoes this reservation's count, so handing back costs no attempt.
        self._queue.bulk(
            [
                NewJob(
                    payload=reserved.payload,
                    queue=reserved.queue,
                    available_at=now + delay,
                    created_at=now,
                    attempts=max(reserved.attempts - 1, 0),
                )
            ]
        )
        self._queue.delete(reserved)
        self._log(
            logging.INFO,
            f"Handed back: {payload.name} (no handler, {delay} s)",
            reserved,
            payload,
            "handed_back",
            delay_seconds=delay,
        )
        return Outcome.HANDED_BACK

    def _run(
        self, reserved: ReservedJob, payload: JobPayload, job: Job, spec: HandlerSpec
    ) -> Outcome:
        raised: Exception | None = None
        timer = self._timer
        started = time.perf_counter()
        with self._lock:
            self._current = (reserved, payload, job, spec)
        try:
            timer.run(lambda: spec.func(job), timeout_seconds(payload, self._defaults))
        except JobTimeoutInterrupt:
            pass
        except Exception as exc:
            raised = exc
        finally:
            with self._lock:
                self._current = None
                abandoned = self._abandoned
        if abandoned:
            # The watchdog settled this job and is ending the process; touch nothing.
            return Outcome.LEFT_RESERVED
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        if timer.fired:
            return self._timed_out(reserved, payload, job, spec)
        requested = job.requested
        if requested == "fail":
            failure = job.requested_failure
            assert failure is not None
            return self.fail(reserved, payload, job, spec, failure, stack=job.failure_stack)
        if requested == "release":
            return self._release(reserved, payload, job.requested_delay_seconds, raised)
        if isinstance(raised, ModelNotFound) and requested is None:
            return self._model_missing(reserved, payload, job, spec, raised)
        if raised is not None and requested is None:
            return self._after_exception(reserved, payload, job, spec, raised)
        if raised is not None:
            self._logger.warning(
                "%s raised after asking to %s the job; the %s stands",
                payload.name,
                requested,
                requested,
                exc_info=raised,
                extra={"bridge": {"event": "exception", "uuid": payload.uuid}},
            )
        # Success (a handler's own delete() counts as success, as in Laravel).
        if payload.is_object_job and job.command is not None:
            try:
                self._chain_and_batch(reserved, payload, job)
            except QueueError:
                raise
            except Exception as exc:
                # The handler must not run again for a chain it cannot continue: the job is
                # failed with the reason, so the operator sees it and nothing is lost.
                error = WorkerError(
                    f"{payload.name} ran, but the next job of its chain could not be"
                    f" dispatched: {type(exc).__name__}: {exc}"
                )
                error.__cause__ = exc
                return self.fail(reserved, payload, job, spec, error)
        self._log(
            logging.INFO,
            f"Processed:  {payload.name} ({duration_ms} ms)",
            reserved,
            payload,
            "processed",
            duration_ms=duration_ms,
        )
        return Outcome.SUCCEEDED

    def _chain_and_batch(self, reserved: ReservedJob, payload: JobPayload, job: Job) -> None:
        assert job.command is not None
        now = int(self._clock())
        dispatch_next_in_chain(
            job.command,
            queue=self._queue,
            current=payload,
            current_text=reserved.payload,
            default_queue=self._options.default_queue,
            encrypter=self._encrypter,
            now=now,
            logger=self._logger,
        )
        if self._batches is None or not payload.uuid:
            return
        batch_id = job.batch_id
        if batch_id:
            self._batches.record_success(batch_id, payload.uuid, now=now)

    def _model_missing(
        self,
        reserved: ReservedJob,
        payload: JobPayload,
        job: Job,
        spec: HandlerSpec,
        exc: ModelNotFound,
    ) -> Outcome:
        """Laravel's `CallQueuedHandler::handleModelNotFound`: delete the job quietly when
        the payload asks for it (a batch counts it as a success; no chain continues), else
        fail it at once."""
        if not payload.delete_when_missing_models:
            return self.fail(reserved, payload, job, spec, exc)
        batch_id = payload.batch_id or job.batch_id
        if self._batches is not None and batch_id and payload.uuid:
            self._batches.record_success(batch_id, payload.uuid, now=int(self._clock()))
        self._log(
            logging.INFO,
            f"Deleted:    {payload.name} (missing model: {exc})",
            reserved,
            payload,
            "deleted_missing_model",
        )
        return Outcome.SUCCEEDED

    def _count_exception(self, payload: JobPayload) -> int | None:
        if self._counter is None or payload.uuid is None or payload.max_exceptions is None:
            return None
        count = self._counter.increment(payload.uuid, now=self._clock())
        if exceptions_exhausted(payload, count):
            self._counter.forget(payload.uuid)
        return count

    def _after_exception(
        self,
        reserved: ReservedJob,
        payload: JobPayload,
        job: Job,
        spec: HandlerSpec,
        exc: Exception,
    ) -> Outcome:
        decision = decide_after_exception(
            payload,
            attempts=reserved.attempts,
            exception_count=self._count_exception(payload),
            defaults=self._defaults,
            now=self._clock(),
        )
        if isinstance(decision, Fail):
            return self.fail(reserved, payload, job, spec, exc)
        return self._release(reserved, payload, decision.delay_seconds, exc)

    def _release(
        self,
        reserved: ReservedJob,
        payload: JobPayload,
        delay_seconds: int,
        exc: BaseException | None,
    ) -> Outcome:
        self._queue.release(reserved, now=int(self._clock()), delay_seconds=delay_seconds)
        reason = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        self._log(
            logging.INFO,
            f"Released:   {payload.name} (after {delay_seconds} s){reason}",
            reserved,
            payload,
            "released",
            delay_seconds=delay_seconds,
            reason=str(exc) if exc is not None else None,
            # The attempt's traceback in the log: the job may succeed later, and then no
            # failed_jobs row ever tells what went wrong this time.
            exception_class=type(exc).__name__ if exc is not None else None,
            traceback="".join(traceback.format_exception(exc)) if exc is not None else None,
        )
        return Outcome.RELEASED

    def _timeout_error(self, message: str) -> MaxAttemptsExceeded:
        if self._defaults.message_style is MessageStyle.LEGACY:
            return MaxAttemptsExceeded(message)
        return TimeoutExceeded(message)

    def _timed_out(
        self, reserved: ReservedJob, payload: JobPayload, job: Job, spec: HandlerSpec
    ) -> Outcome:
        decision = decide_on_timeout(
            payload,
            attempts=reserved.attempts,
            exception_count=self._count_exception(payload),
            defaults=self._defaults,
            now=self._clock(),
        )
        if isinstance(decision, Fail):
            return self.fail(reserved, payload, job, spec, self._timeout_error(decision.message))
        self._log(
            logging.WARNING,
            f"Timed out:  {payload.name} (left reserved until retry_after)",
            reserved,
            payload,
            "timed_out",
        )
        return Outcome.LEFT_RESERVED

    def _hard_timeout(self) -> None:
        """Watchdog thread: the handler ignored its timeout; settle the job, end the process."""
        with self._lock:
            current = self._current
            if current is None:
                return
            self._abandoned = True
        reserved, payload, job, spec = current
        try:
            self._log(
                logging.ERROR,
                f"Hard timeout: {payload.name} did not stop; ending the worker process",
                reserved,
                payload,
                "hard_timeout",
            )
            self._timed_out(reserved, payload, job, spec)
        finally:
            self._after_hard_timeout()

    # --- failure --------------------------------------------------------------------------

    def fail(
        self,
        reserved: ReservedJob,
        payload: JobPayload | None,
        job: Job | None,
        spec: HandlerSpec | None,
        error: BaseException,
        *,
        stack: list[traceback.FrameSummary] | None = None,
    ) -> Outcome:
        """Fail a job as Laravel's worker does (see the module docstring for the order)."""
        text = self._failures.record(reserved, payload, job, spec, error, stack=stack)
        name = payload.name if payload is not None else f"job {reserved.id}"
        self._log(
            logging.ERROR,
            f"Failed:     {name}: {text.partition(chr(10))[0]}",
            reserved,
            payload,
            "failed",
            reason=str(error) or type(error).__name__,
            exception_class=type(error).__name__,
            traceback=text,
        )
        return Outcome.FAILED
