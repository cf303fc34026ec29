"""Helpers for the failed-job toolbox unit tests: Laravel's recorded payloads and records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.queue.base import FailedJobRecord

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"
#: A fixed "now" for every test, a day after the fixtures were dispatched: 2026-11-28 21:06:40 UTC.
NOW = 1_795_900_000


def laravel_rows() -> list[dict[str, Any]]:
    """Every row Laravel 8.83 ... 12.67 wrote in the shared fixture set."""
    rows: list[dict[str, Any]] = []
    for path in sorted(VECTORS.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 7 * 22
    return rows


def row_id(row: dict[str, Any]) -> str:
    """A readable test id for a fixture row."""
    return f"{row['laravel']}-{row['kind']}-{row.get('batch_index', 0)}"


def make_record(
    payload: str,
    *,
    record_id: int = 1,
    uuid: str | None = None,
    queue: str = "default",
    connection: str = "database",
    failed_at: datetime = datetime(2026, 11, 28, 20, 0, 0),
    exception: str = "RuntimeException: boom in /app/Job.php:12\nStack trace:\n#0 {main}",
) -> FailedJobRecord:
    """A failed_jobs record around `payload` (its uuid taken from the payload by default)."""
    if uuid is None:
        decoded = json.loads(payload)
        uuid = decoded.get("uuid") if isinstance(decoded, dict) else None
    return FailedJobRecord(
        id=record_id,
        uuid=uuid,
        connection=connection,
        queue=queue,
        payload=payload,
        exception=exception,
        failed_at=failed_at,
    )
