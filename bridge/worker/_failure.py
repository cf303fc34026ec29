"""The failure procedure: what Laravel's worker does when a job finally fails (spec §6.5).

Order: delete the row, record the batch failure (cancelling the batch on its first failure
unless its options allow failures), run the app's `failed` hook, write the `failed_jobs` row:
the exact payload text, PHP-shaped exception text, `failed_at` as naive local time in the
configured zone, the uuid from the payload.

What only PHP can run is not attempted: a PHP job's own `failed()` method, chain `catch`
callbacks and batch `then`/`catch`/`finally` closures. The bookkeeping around them is still
done in full (row deleted, `failed_jobs` written, batch counters and cancellation right), so a
PHP app sees the same tables it would after its own worker; the closures simply do not fire.
"""

from __future__ import annotations

import logging
import traceback
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime

from bridge._typing import Clock
from bridge.exceptions import QueueError
from bridge.laravel.payload import JobPayload
from bridge.queue.base import BatchStore, FailedJobStore, JobQueue, ReservedJob
from bridge.worker._commands import batch_allows_failures
from bridge.worker._exception_text import php_exception_text
from bridge.worker.app import HandlerSpec
from bridge.worker.job import Job
from bridge.worker.options import WorkerOptions

__all__ = ["FailureRecorder"]

_LOG_ATTEMPTS = 3


class FailureRecorder:
    """Carries out the failure procedure against the stores."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        failed: FailedJobStore,
        batches: BatchStore | None,
        options: WorkerOptions,
        clock: Clock,
        sleep: Callable[[float], object],
        logger: logging.Logger,
    ) -> None:
        self._queue = queue
        self._failed = failed
        self._batches = batches
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._logger = logger

    def record(
        self,
        reserved: ReservedJob,
        payload: JobPayload | None,
        job: Job | None,
        spec: HandlerSpec | None,
        error: BaseException,
        *,
        stack: list[traceback.FrameSummary] | None = None,
    ) -> str:
        """Fail the job; return the exception text written to `failed_jobs`."""
        now = self._clock()
        self._queue.delete(reserved)
        uuid = payload.uuid if payload is not None else None
        batch_id = job.batch_id if job is not None else _payload_batch_id(payload)
        if batch_id and uuid and self._batches is not None:
            batch = self._batches.find(batch_id)
            if batch is not None:
                self._batches.record_failure(
                    batch_id, uuid, now=int(now), allow_failures=batch_allows_failures(batch)
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
        text = php_exception_text(error, fallback_stack=stack)
        failed_at = datetime.fromtimestamp(int(now), self._options.timezone).replace(tzinfo=None)
        self._write(reserved, uuid, text, failed_at)
        return text

    def _write(
        self, reserved: ReservedJob, uuid: str | None, text: str, failed_at: datetime
    ) -> None:
        # The row is already deleted: try hard to record it, and if storage stays down, put
        # the whole payload in the log so the job can still be recovered.
        for attempt in range(1, _LOG_ATTEMPTS + 1):
            try:
                self._failed.log(
                    uuid=uuid,
                    connection=self._queue.connection_name,
                    queue=reserved.queue,
                    payload=reserved.payload,
                    exception=text,
                    failed_at=failed_at,
                )
                return
            except QueueError:
                if attempt == _LOG_ATTEMPTS:
                    self._logger.exception(
                        "Could not write failed_jobs; payload follows: %s",
                        reserved.payload,
                        extra={"bridge": {"event": "failed_jobs_lost", "uuid": uuid}},
                    )
                    raise
                self._sleep(self._options.error_sleep_seconds)


def _payload_batch_id(payload: JobPayload | None) -> str | None:
    data = payload.raw.get("data") if payload is not None else None
    value = data.get("batchId") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
