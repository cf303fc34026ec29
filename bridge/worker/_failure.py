"""The failure procedure: what Laravel's worker does when a job finally fails (spec §6.5).

Order: record the batch failure (cancelling the batch on its first failure unless its
options allow failures), run the app's `failed` hook, then move the row: write the
`failed_jobs` row (the exact payload text, PHP-shaped exception text, `failed_at` as naive
local time in the configured zone, the uuid from the payload) and delete the `jobs` row, in
one transaction where both tables share a database. Laravel deletes the row first and
writes `failed_jobs` last, so a worker that dies in between loses the job; here it cannot.

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
from bridge.queue import ReservedJob, Stores
from bridge.worker._commands import batch_allows_failures
from bridge.worker._exception_text import php_exception_text
from bridge.worker.app import HandlerSpec
from bridge.worker.job import Job
from bridge.worker.options import WorkerOptions

__all__ = ["FailureRecorder"]

_MOVE_ATTEMPTS = 3


class FailureRecorder:
    """Carries out the failure procedure against the stores."""

    def __init__(
        self,
        *,
        stores: Stores,
        options: WorkerOptions,
        clock: Clock,
        sleep: Callable[[float], object],
        logger: logging.Logger,
    ) -> None:
        self._stores = stores
        self._failed = stores.failed
        self._batches = stores.batches
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
        text = _storable(php_exception_text(error, fallback_stack=stack))
        failed_at = datetime.fromtimestamp(int(now), self._options.timezone).replace(tzinfo=None)
        self._move(reserved, uuid, text, failed_at)
        return text

    def _move(
        self, reserved: ReservedJob, uuid: str | None, text: str, failed_at: datetime
    ) -> None:
        # Laravel deletes the row, then writes failed_jobs: a crash in between loses the job.
        # Here the two go together (`Stores.fail`): until the move succeeds the
        # row stays reserved in `jobs`, and comes back after retry_after to be failed again.
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


def _storable(text: str) -> str:
    """`text` without lone surrogates (an exception message may quote a broken payload's
    string), which no database driver would encode."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _payload_batch_id(payload: JobPayload | None) -> str | None:
    data = payload.raw.get("data") if payload is not None else None
    value = data.get("batchId") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
