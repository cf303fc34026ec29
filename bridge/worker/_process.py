"""Processing one reserved row, as Laravel's `Worker::process`: decide, run, then exactly one
of delete, release or fail through the store.

One path serves every dialect; the dialect (`bridge.dialect`) says how a payload decodes,
whether a release keeps the row, and what a failed row looks like, and the retry policy
(`bridge.retry`) decides for Laravel's rules or the SO framework's.

Success of an object job: run the handler, then (unless it failed or released itself)
dispatch the next chained job and record the batch success; the row is deleted by the loop,
which may batch those deletes. A `Class@method` string job is deleted once its handler
returns: Laravel leaves that to the handler (a PHP handler that forgets runs again after
`retry_after`); a Python handler need not call `job.delete()`, though it may.

Failure, in Laravel's order: record the batch failure (cancelling the batch on its first
failure unless its options allow failures), run the app's `failed` hook, then move the row
to `failed_jobs` (PHP-shaped exception text, `failed_at` as naive local time in the
configured zone). Laravel deletes the row first and writes `failed_jobs` last, so a worker
that dies in between loses the job; here the two go together (`Stores.fail`), or
the failed row is written first. What only PHP can run is not attempted (a PHP job's own
`failed()`, chain `catch` callbacks, batch closures); the bookkeeping around them is done.

Nothing a row holds stops the worker: an undecodable payload, a row that is not UTF-8 text,
a row already at the `attempts` column's limit (`JobQueue.attempts_limit`), and any row whose
data makes anything but storage raise while it is read are failed whole with the reason (left
reserved, such a row would come back every `retry_after`). A job without a handler is failed,
or handed back in place with its attempt given back. A job whose handler succeeded never runs
again: if the next job of its chain cannot be built, it is failed with that reason.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime
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
from bridge.laravel.command import batch_allows_failures, decode_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.php import PhpDecoder
from bridge.queue import ReservedJob, Stores
from bridge.retry import (
    Fail,
    MessageStyle,
    decide_after_exception,
    decide_before_run,
    decide_on_timeout,
    decide_so_after_exception,
    exceptions_exhausted,
    timeout_seconds,
)
from bridge.so import SoPayload
from bridge.worker._chain import dispatch_next_in_chain
from bridge.worker._exception_text import php_exception_text, php_outer_exception_text
from bridge.worker._foreign import ForeignRows
from bridge.worker.app import App, HandlerSpec
from bridge.worker.counters import ExceptionCounter
from bridge.worker.job import Job
from bridge.worker.logs import RecordMaker
from bridge.worker.options import UnknownJobPolicy, WorkerOptions
from bridge.worker.timeouts import JobTimer

__all__ = ["Outcome", "Processor"]

_DECODE_ERRORS = (PayloadError, PhpSerializeError)
_MOVE_ATTEMPTS = 3


def _is_utf8(text: str) -> bool:
    """Whether `text` is valid Unicode text (a payload read as bytes that were not UTF-8
    carries them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
        self._stores = stores
        queue = self._queue = stores.queue
        self._connection = queue.connection_name
        self._attempts_limit = queue.attempts_limit
        failed = self._failed = stores.failed
        self._batches = stores.batches
        self._app = app
        self._options = options
        self._dialect = options.dialect
        self._decode = options.dialect.decode
        self._worker_name = options.name
        self._defaults = options.retry_defaults
        self._clock = clock
        self._sleep = sleep
        self._encrypter = encrypter
        # Kept for the worker's life: its token caches make each next command cheaper.
        self._decoder = PhpDecoder()
        self._counter = counter
        self._logger = logger
        self._records = RecordMaker(logger, pathname=__file__, func="process")
        self._after_hard_timeout = on_hard_timeout
        self._timer = JobTimer(
            on_hard_timeout=self._hard_timeout, grace_seconds=options.timeout_grace_seconds
        )
        self._foreign = ForeignRows(
            queue=queue, failed=failed, options=options, clock=clock, logger=logger
        )
        self._lock = threading.Lock()
        self._current: tuple[Job, HandlerSpec] | None = None
        self._abandoned = False

    def close(self) -> None:
        """Release what the processor holds between jobs (the SIGALRM handler)."""
        self._timer.close()

    def rest(self) -> None:
        """Before the worker idles: clear the alarm the last job may have left pending."""
        self._timer.rest()

    # --- logging --------------------------------------------------------------------------

    def _log(
        self, level: int, message: str, reserved: ReservedJob, of: Job | None, event: str,
        **more: Any,
    ) -> None:  # fmt: skip
        logger = self._logger
        if not logger.isEnabledFor(level):
            return
        payload = of.payload if of is not None else None
        fields = {
            "event": event,
            "uuid": payload.uuid if payload is not None else None,
            "job": payload.name if payload is not None else None,
            "queue": reserved.queue,
            "id": reserved.id,
            "attempts": reserved.attempts,
            "worker": self._worker_name,
        }
        if more:
            fields.update(more)
        # `Logger.log` without its caller lookup (a stack walk per record): the caller is
        # always this method.
        logger.handle(self._records.make(level, message, {"bridge": fields}))

    # --- deciding -------------------------------------------------------------------------

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
            error = PayloadError(f"the job could not be processed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return self.fail(reserved, None, None, error)

    def _process(self, reserved: ReservedJob) -> Outcome:
        other = self._dialect.foreign(reserved.payload)
        if other is not None:
            return Outcome.FAILED if self._foreign.handle(reserved, other) else Outcome.HANDED_BACK
        text = reserved.payload
        limit = self._attempts_limit
        if limit is not None and reserved.attempts > limit:
            return self._fail_at_limit(reserved, limit)
        try:
            if not text.isascii() and not _is_utf8(text):
                # PHP's json_decode refuses it too; the bytes go to failed_jobs unchanged.
                raise PayloadDecodeError("the payload is not valid UTF-8 text")
            payload = self._decode(text)
        except PayloadError as exc:
            self._log(logging.INFO, f"Processing: job {reserved.id}", reserved, None, "processing")
            return self.fail(reserved, None, None, exc)
        job, spec, undecodable = self._read(reserved, payload)
        if isinstance(payload, SoPayload):
            message = (
                f"Processing: {payload.name} (Attempt {reserved.attempts}/{self._options.tries})"
            )
            self._log(logging.INFO, message, reserved, job, "processing", job=payload.class_name)
        else:
            self._log(logging.INFO, f"Processing: {payload.name}", reserved, job, "processing")
            decision = decide_before_run(
                payload, attempts=reserved.attempts, defaults=self._defaults, now=self._clock()
            )
            if isinstance(decision, Fail):
                return self.fail(reserved, job, spec, MaxAttemptsExceeded(decision.message))
        if spec is None:
            return self._unknown(reserved, job)
        if undecodable is not None:
            return self.fail(reserved, job, spec, undecodable)
        return self._run(reserved, job, spec)

    def _read(
        self, reserved: ReservedJob, payload: JobPayload | SoPayload
    ) -> tuple[Job, HandlerSpec | None, Exception | None]:
        """The job a handler would see, its handler, and why its command did not decode."""
        if isinstance(payload, SoPayload):
            command = payload.command()
            spec = self._app.resolve_class(payload.class_name)
            return Job(reserved, payload, command, self._connection), spec, None
        spec = self._app.resolve(payload)
        # Decoded even for a job that will not run: before 12.51 the batch id of a job that
        # fails unrun lives only in its command, and the batch must still count the failure.
        if not payload.is_object_job:
            return Job(reserved, payload, None, self._connection), spec, None
        try:
            decoded = decode_command(payload, encrypter=self._encrypter, decoder=self._decoder)
        except _DECODE_ERRORS as exc:
            return Job(reserved, payload, None, self._connection), spec, exc
        return Job(reserved, payload, decoded, self._connection), spec, None

    def _fail_at_limit(self, reserved: ReservedJob, limit: int) -> Outcome:
        job: Job | None = None
        try:
            payload = self._decode(reserved.payload)
            job = Job(reserved, payload, None, self._connection)
        except Exception:
            pass
        name = job.name if job is not None else f"Job {reserved.id}"
        error = MaxAttemptsExceeded(
            f"{name} has been attempted {limit} times, as many as the"
            " jobs.attempts column can count; it is failed rather than reserved again."
        )
        return self.fail(reserved, job, None, error)

    def _unknown(self, reserved: ReservedJob, job: Job) -> Outcome:
        payload = job.payload
        if self._options.unknown_job is UnknownJobPolicy.FAIL:
            name = (
                payload.class_name
                if isinstance(payload, SoPayload)
                else payload.command_name or payload.job
            )
            error = HandlerNotFound(f"No Python handler is registered for {name}.")
            return self.fail(reserved, job, None, error)
        # At least a second: a row available again at once would be this worker's next one.
        # In place, with the reservation's count taken back: one atomic step, so no crash
        # can leave the job twice (or not at all) on the queue, and handing back costs no
        # attempt.
        delay = max(1, self._options.unknown_job_delay_seconds)
        self._queue.release_in_place(
            reserved, now=int(self._clock()), delay_seconds=delay, undo_attempt=True
        )
        message = f"Handed back: {payload.name} (no handler, {delay} s)"
        self._log(logging.INFO, message, reserved, job, "handed_back", delay_seconds=delay)
        return Outcome.HANDED_BACK

    # --- running --------------------------------------------------------------------------

    def _run(self, reserved: ReservedJob, job: Job, spec: HandlerSpec) -> Outcome:
        payload = job.payload
        raised: Exception | None = None
        timer = self._timer
        seconds = (
            self._options.timeout_seconds
            if isinstance(payload, SoPayload)
            else timeout_seconds(payload, self._defaults)
        )
        started = time.perf_counter()
        # One assignment, atomic: the watchdog reads it under the lock.
        self._current = (job, spec)
        try:
            timer.run(lambda: spec.func(job), seconds)
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
        ended = time.perf_counter()
        if timer.fired:
            return self._timed_out(reserved, job, spec)
        requested = job.requested
        if requested == "fail":
            failure = job.requested_failure
            assert failure is not None
            return self.fail(reserved, job, spec, failure, stack=job.failure_stack)
        if requested == "release":
            return self._release(reserved, job, job.requested_delay_seconds, raised)
        if raised is not None and requested is None:
            if isinstance(raised, ModelNotFound) and isinstance(payload, JobPayload):
                return self._model_missing(reserved, job, spec, raised)
            return self._after_exception(reserved, job, spec, raised)
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
        if job.command is not None and isinstance(payload, JobPayload):
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
                return self.fail(reserved, job, spec, error)
        # Worked out only for a record that is kept: rounding and rendering a float cost
        # more than the rest of a trivial job's success.
        if self._logger.isEnabledFor(logging.INFO):
            duration_ms = round((ended - started) * 1000, 2)
            message = f"Processed:  {payload.name} ({duration_ms} ms)"
            self._log(logging.INFO, message, reserved, job, "processed", duration_ms=duration_ms)
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
        self._batch_success(job, now)

    def _batch_success(self, job: Job, now: int) -> None:
        uuid = job.uuid
        if self._batches is None or not uuid:
            return
        batch_id = job.batch_id
        if batch_id:
            self._batches.record_success(batch_id, uuid, now=now)

    def _model_missing(
        self, reserved: ReservedJob, job: Job, spec: HandlerSpec, exc: ModelNotFound
    ) -> Outcome:
        """Laravel's `CallQueuedHandler::handleModelNotFound`: delete the job quietly when
        the payload asks for it (a batch counts it as a success; no chain continues), else
        fail it at once."""
        payload = job.payload
        assert isinstance(payload, JobPayload)
        if not payload.delete_when_missing_models:
            return self.fail(reserved, job, spec, exc)
        self._batch_success(job, int(self._clock()))
        message = f"Deleted:    {payload.name} (missing model: {exc})"
        self._log(logging.INFO, message, reserved, job, "deleted_missing_model")
        return Outcome.SUCCEEDED

    def _count_exception(self, payload: JobPayload) -> int | None:
        if self._counter is None or payload.uuid is None or payload.max_exceptions is None:
            return None
        count = self._counter.increment(payload.uuid, now=self._clock())
        if exceptions_exhausted(payload, count):
            self._counter.forget(payload.uuid)
        return count

    def _after_exception(
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
        return self._release(reserved, job, decision.delay_seconds, exc)

    def _release(
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

    def _timed_out(self, reserved: ReservedJob, job: Job, spec: HandlerSpec) -> Outcome:
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

    def _hard_timeout(self) -> None:
        """Watchdog thread: the handler ignored its timeout; settle the job, end the process."""
        with self._lock:
            current = self._current
            if current is None:
                return
            self._abandoned = True
        job, spec = current
        try:
            message = f"Hard timeout: {job.name} did not stop; ending the worker process"
            self._log(logging.ERROR, message, job.reserved, job, "hard_timeout")
            self._timed_out(job.reserved, job, spec)
        finally:
            self._after_hard_timeout()

    # --- failing --------------------------------------------------------------------------

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
        if row is not None:
            # Another shape than the row as reserved: written first, so if writing fails the
            # row stays and comes back after retry_after.
            self._failed.log(
                uuid=uuid,
                connection=row.connection,
                queue=row.queue,
                payload=row.payload,
                exception=text,
                failed_at=failed_at,
            )
            self._queue.delete(reserved)
            return
        # Until the move succeeds the row stays reserved in `jobs`, and comes back after
        # retry_after to be failed again.
        for attempt in range(1, _MOVE_ATTEMPTS + 1):
            try:
                self._stores.fail(reserved, uuid=uuid, exception=text, failed_at=failed_at)
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
