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

Releasing, leaving after a timeout and failing, in Laravel's order, are `_settle`'s.

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
from collections.abc import Callable
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
    WorkerError,
)
from bridge.laravel.command import decode_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.php import PhpDecoder
from bridge.queue import ReservedJob, Stores
from bridge.retry import (
    Fail,
    decide_before_run,
    timeout_seconds,
)
from bridge.so import SoPayload
from bridge.worker._chain import dispatch_next_in_chain
from bridge.worker._foreign import ForeignRows
from bridge.worker._settle import Outcome, Settler
from bridge.worker.app import App, HandlerSpec
from bridge.worker.counters import ExceptionCounter
from bridge.worker.job import Job
from bridge.worker.logs import RecordMaker
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
        self._connection = queue.connection_name
        self._attempts_limit = queue.attempts_limit
        self._batches = stores.batches
        self._app = app
        self._options = options
        self._dialect = options.dialect
        self._decode = options.dialect.decode
        self._worker_name = options.name
        self._defaults = options.retry_defaults
        self._clock = clock
        self._encrypter = encrypter
        # Kept for the worker's life: its token caches make each next command cheaper.
        self._decoder = PhpDecoder()
        self._logger = logger
        self._records = RecordMaker(logger, pathname=__file__, func="process")
        self._after_hard_timeout = on_hard_timeout
        self._timer = JobTimer(
            on_hard_timeout=self._hard_timeout, grace_seconds=options.timeout_grace_seconds
        )
        self._foreign = ForeignRows(stores=stores, options=options, clock=clock, logger=logger)
        self._settle = Settler(
            stores=stores,
            options=options,
            clock=clock,
            counter=counter,
            logger=logger,
            log=self._log,
            sleep=sleep,
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
        logger.handle(self._records.make(level, message, fields))

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
            return self._settle.fail(reserved, None, None, error)

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
            return self._settle.fail(reserved, None, None, exc)
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
                return self._settle.fail(reserved, job, spec, MaxAttemptsExceeded(decision.message))
        if spec is None:
            return self._unknown(reserved, job)
        if undecodable is not None:
            return self._settle.fail(reserved, job, spec, undecodable)
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
        return self._settle.fail(reserved, job, None, error)

    def _unknown(self, reserved: ReservedJob, job: Job) -> Outcome:
        payload = job.payload
        if self._options.unknown_job is UnknownJobPolicy.FAIL:
            name = (
                payload.class_name
                if isinstance(payload, SoPayload)
                else payload.command_name or payload.job
            )
            error = HandlerNotFound(f"No Python handler is registered for {name}.")
            return self._settle.fail(reserved, job, None, error)
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
            return self._settle.timed_out(reserved, job, spec)
        requested = job.requested
        if requested == "fail":
            failure = job.requested_failure
            assert failure is not None
            return self._settle.fail(reserved, job, spec, failure, stack=job.failure_stack)
        if requested == "release":
            return self._settle.release(reserved, job, job.requested_delay_seconds, raised)
        if raised is not None and requested is None:
            if isinstance(raised, ModelNotFound) and isinstance(payload, JobPayload):
                return self._model_missing(reserved, job, spec, raised)
            return self._settle.after_exception(reserved, job, spec, raised)
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
                return self._settle.fail(reserved, job, spec, error)
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
            return self._settle.fail(reserved, job, spec, exc)
        self._batch_success(job, int(self._clock()))
        message = f"Deleted:    {payload.name} (missing model: {exc})"
        self._log(logging.INFO, message, reserved, job, "deleted_missing_model")
        return Outcome.SUCCEEDED

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
            self._settle.timed_out(job.reserved, job, spec)
        finally:
            self._after_hard_timeout()
