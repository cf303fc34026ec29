"""Helpers for the failed-job toolbox integration tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.queue.base import FailedJobFilter, FailedJobRecord, FailedJobStore


def clear(engine: Engine, *tables: str) -> None:
    """Delete every row of `tables`."""
    metadata = sa.MetaData()
    with engine.begin() as conn:
        for name in tables:
            conn.execute(sa.Table(name, metadata, autoload_with=conn).delete())


def relog(store: FailedJobStore, records: Iterable[FailedJobRecord]) -> None:
    """Write failed rows again exactly as they were (new ids in the id-only layout)."""
    for record in records:
        store.log(
            uuid=record.uuid,
            connection=record.connection,
            queue=record.queue,
            payload=record.payload,
            exception=record.exception,
            failed_at=record.failed_at,
        )


def snapshot(store: FailedJobStore) -> list[FailedJobRecord]:
    """Every failed row, oldest first."""
    return sorted(store.select(FailedJobFilter()), key=lambda r: r.id)


def payload_uuid(payload: str) -> str:
    """The `uuid` of a payload."""
    uuid: str = json.loads(payload)["uuid"]
    return uuid


def by_uuid(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`jobs` rows keyed by their payload uuid (each uuid must appear once)."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = payload_uuid(row["payload"])
        assert key not in out, f"job {key} queued twice"
        out[key] = row
    return out
