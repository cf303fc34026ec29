"""Export and import of `failed_jobs` rows as JSON lines, for moving them between environments.

One JSON object per line with `id`, `uuid`, `connection`, `queue`, `payload`, `exception` and
`failed_at` (`Y-m-d H:i:s`, the app timezone's wall clock, exactly as stored). The line is
ASCII (`\\uXXXX` escapes), and decoding it gives back every string exactly; the payload is
carried as a string, never re-encoded. Import keeps uuid, connection, queue, payload,
exception and failed_at (the target assigns new ids) and skips rows already present: by
uuid in the `uuid` layout, by identical connection, queue, payload and failed_at in the
id-only one. Each row is its own insert, so an interrupted import can simply be run again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.exceptions import PayloadDecodeError, QueueError
from bridge.laravel.payload import payload_uuid
from bridge.queue.base import FailedJobFilter, FailedJobRecord, FailedJobStore

__all__ = ["ImportReport", "export_lines", "import_lines", "record_from_line", "record_to_line"]

_FIELDS = ("connection", "queue", "payload", "exception")


def format_failed_at(moment: datetime) -> str:
    """`failed_at` as Laravel writes it (`Y-m-d H:i:s`; fractions only if the row has them)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def record_to_line(record: FailedJobRecord) -> str:
    """One failed row as a JSON line (no trailing newline)."""
    return json.dumps(
        {
            "id": record.id,
            "uuid": record.uuid,
            "connection": record.connection,
            "queue": record.queue,
            "payload": record.payload,
            "exception": record.exception,
            "failed_at": format_failed_at(record.failed_at),
        },
        ensure_ascii=True,
        separators=(",", ":"),
    )


def export_lines(records: Iterable[FailedJobRecord]) -> Iterator[str]:
    """JSON lines for `records`, each ending in a newline."""
    for record in records:
        yield record_to_line(record) + "\n"


def record_from_line(line: str, *, number: int = 0) -> FailedJobRecord:
    """Read one exported line back into a record (its `id` is the source row's id, or 0).

    A line without `uuid` (exported from the id-only layout) takes the payload's uuid.

    Raises:
        PayloadDecodeError: The line is not an exported failed row.
    """
    where = f"line {number}" if number else "line"
    try:
        raw: Any = json.loads(line)
    except ValueError as exc:
        raise PayloadDecodeError(f"{where} is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise PayloadDecodeError(f"{where} is not a JSON object")
    for name in (*_FIELDS, "failed_at"):
        if not isinstance(raw.get(name), str):
            raise PayloadDecodeError(f"{where}: {name!r} must be a string")
    uuid = raw.get("uuid")
    if uuid is not None and not isinstance(uuid, str):
        raise PayloadDecodeError(f"{where}: 'uuid' must be a string or null")
    try:
        failed_at = datetime.fromisoformat(raw["failed_at"])
    except ValueError as exc:
        raise PayloadDecodeError(f"{where}: bad failed_at {raw['failed_at']!r}") from exc
    record_id = raw.get("id")
    return FailedJobRecord(
        id=record_id if isinstance(record_id, int) and not isinstance(record_id, bool) else 0,
        uuid=uuid or payload_uuid(raw["payload"]),
        connection=raw["connection"],
        queue=raw["queue"],
        payload=raw["payload"],
        exception=raw["exception"],
        failed_at=failed_at.replace(tzinfo=None),
    )


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: rows inserted, rows already present, lines that were unusable."""

    imported: int = 0
    duplicates: int = 0
    #: (line number, reason) for lines that could not be imported.
    rejected: tuple[tuple[int, str], ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """The report as JSON data (for `failed import --json`)."""
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": [{"line": n, "reason": r} for n, r in self.rejected],
        }


def _identity(record: FailedJobRecord) -> tuple[str, str, str, datetime]:
    return (record.connection, record.queue, record.payload, record.failed_at)


def import_lines(
    lines: Iterable[str],
    *,
    store: FailedJobStore,
    on_line: Callable[[], None] | None = None,
) -> ImportReport:
    """Insert exported failed rows into `store`, skipping those it already has.

    Raises:
        QueueError: The storage failed; rows inserted so far stay, and a rerun skips them.
    """
    imported = duplicates = 0
    rejected: list[tuple[int, str]] = []
    # The id-only layout has no key to look a row up by, so compare with what is there.
    existing = None if store.has_uuid else {_identity(r) for r in store.select(FailedJobFilter())}
    for number, line in enumerate(lines, start=1):
        if on_line is not None:
            on_line()
        if not line.strip():
            continue
        try:
            record = record_from_line(line, number=number)
        except PayloadDecodeError as exc:
            rejected.append((number, str(exc)))
            continue
        if existing is not None:
            if _identity(record) in existing:
                duplicates += 1
                continue
            existing.add(_identity(record))
        elif record.uuid is None:
            rejected.append((number, "no uuid in the row or its payload"))
            continue
        elif store.find(record.uuid) is not None:
            duplicates += 1
            continue
        try:
            store.log(
                uuid=record.uuid,
                connection=record.connection,
                queue=record.queue,
                payload=record.payload,
                exception=record.exception,
                failed_at=record.failed_at,
            )
        except QueueError:
            # Another importer may have inserted the same uuid since the lookup.
            if record.uuid is not None and store.has_uuid and store.find(record.uuid):
                duplicates += 1
                continue
            raise
        imported += 1
    return ImportReport(imported=imported, duplicates=duplicates, rejected=tuple(rejected))
