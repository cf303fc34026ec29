"""Rows of another dialect on a shared queue: neither run nor destroyed unless asked.

A Laravel row in an SO queue (or the reverse) cannot be run by this worker's rules, and
failing it would take it from the workers that can run it. By default (`leave`) the row is
put back in place with its attempt taken back, available again after
`unknown_job_delay_seconds` (at least 1: the rows behind it run first, and this worker does
not take it straight back), and a warning names
its dialect; with `fail` it goes to `failed_jobs` byte for byte, with the reason.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from datetime import datetime

from bridge._typing import Clock
from bridge.exceptions import ForeignPayload
from bridge.queue import ReservedJob, Stores
from bridge.worker._exception_text import php_outer_exception_text
from bridge.worker.options import ForeignRowPolicy, WorkerOptions

__all__ = ["ForeignRows"]


class ForeignRows:
    """Deals with a row of another dialect (`Dialect.foreign`) by the worker's policy."""

    def __init__(
        self,
        *,
        stores: Stores,
        options: WorkerOptions,
        clock: Clock,
        logger: logging.Logger,
    ) -> None:
        self._stores = stores
        self._queue = stores.queue
        self._options = options
        self._dialect = options.dialect
        self._clock = clock
        self._logger = logger

    def handle(self, reserved: ReservedJob, dialect: str) -> bool:
        """Leave or fail the row; True when it was failed (moved to `failed_jobs`)."""
        options = self._options
        fields = {
            "event": "foreign_row",
            "id": reserved.id,
            "queue": reserved.queue,
            "dialect": dialect,
            "worker": options.name,
        }
        now = int(self._clock())
        if options.foreign_rows is ForeignRowPolicy.FAIL:
            error = ForeignPayload(
                f"Row {reserved.id} was written by the {dialect} dialect; this worker runs "
                f"{self._dialect.label} jobs (foreign rows: fail)"
            )
            uuid = str(uuid_module.uuid4()) if self._stores.failed.has_uuid else None
            failed_at = datetime.fromtimestamp(now, options.timezone).replace(tzinfo=None)
            self._stores.fail(
                reserved,
                uuid=uuid,
                exception=php_outer_exception_text(error, fallback_stack=[]),
                failed_at=failed_at,
            )
            self._logger.error(
                "Failed:     row %s of the %s dialect (foreign rows: fail)",
                reserved.id,
                dialect,
                extra={"bridge": fields},
            )
            return True
        # At least a second: a row available again at once would be this worker's next one.
        delay = max(1, options.unknown_job_delay_seconds)
        self._queue.release_in_place(reserved, now=now, delay_seconds=delay, undo_attempt=True)
        self._logger.warning(
            "Left:       row %s on %s is a %s job, not %s; left for its workers (%s s)",
            reserved.id,
            reserved.queue,
            dialect,
            self._dialect.label,
            delay,
            extra={"bridge": {**fields, "delay_seconds": delay}},
        )
        return False
