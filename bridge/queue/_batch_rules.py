"""Laravel's batch counter rules, as pure functions shared by every batch store.

`Batch::recordSuccessfulJob` / `recordFailedJob` with `DatabaseBatchRepository`'s atomic
updates: the stores apply these to the row they hold locked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from bridge.queue.base import BatchRecord


def success_update(batch: BatchRecord, job_uuid: str, *, now: int) -> BatchRecord:
    """The batch after one job succeeded, as Laravel's `recordSuccessfulJob` leaves it."""
    pending = batch.pending_jobs - 1
    return replace(
        batch,
        pending_jobs=pending,
        failed_job_ids=tuple(u for u in batch.failed_job_ids if u != job_uuid),
        finished_at=now if pending == 0 else batch.finished_at,
    )


def failure_update(
    batch: BatchRecord, job_uuid: str, *, now: int, allow_failures: bool
) -> BatchRecord:
    """The batch after one job failed for good, as Laravel's `recordFailedJob` leaves it."""
    failed = batch.failed_jobs + 1
    ids = batch.failed_job_ids
    if job_uuid not in ids:
        ids = (*ids, job_uuid)
    updated = replace(batch, failed_jobs=failed, failed_job_ids=ids)
    if failed == 1 and not allow_failures:
        updated = replace(updated, cancelled_at=now, finished_at=now)
    return updated


def encode_failed_ids(ids: Sequence[str]) -> str:
    """`failed_job_ids` as PHP's `json_encode` writes a list of uuids."""
    return json.dumps(list(ids), separators=(",", ":"))


def decode_failed_ids(text: str | None) -> tuple[str, ...]:
    """`failed_job_ids` column text as a tuple; NULL or empty text reads as no ids."""
    if not text:
        return ()
    decoded = json.loads(text)
    if isinstance(decoded, dict):
        # PHP's json_encode of a non-list array (array_diff keeps keys) yields an object.
        decoded = list(decoded.values())
    return tuple(str(u) for u in decoded)
