"""Failed jobs as rows for listings: one summary per job, a dry-run preview, a plain table.

Rows are plain dicts of JSON values, so the same row feeds `--json` and the text table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.admin.retry import RetryOptions, check_connection, plan_retry
from bridge.admin.show import class_of
from bridge.exceptions import PayloadDecodeError
from bridge.queue.base import FailedJobRecord

__all__ = ["LIST_COLUMNS", "PREVIEW_COLUMNS", "format_table", "preview_row", "summary_row"]

#: Columns of `bridge failed`.
LIST_COLUMNS = ("id", "uuid", "connection", "queue", "class", "failed_at", "exception")
#: Columns of `bridge retry-failed --dry-run`.
PREVIEW_COLUMNS = ("id", "uuid", "queue", "to_queue", "class", "failed_at", "retry_until", "skip")
_MAX_WIDTH = {"exception": 60}


def summary_row(record: FailedJobRecord) -> dict[str, Any]:
    """A failed job's listing row; `exception` is the first line of the stored text."""
    return {
        "id": record.id,
        "uuid": record.uuid,
        "connection": record.connection,
        "queue": record.queue,
        "class": class_of(record.payload),
        "failed_at": record.failed_at.isoformat(sep=" "),
        "exception": record.exception.split("\n", 1)[0],
    }


def preview_row(record: FailedJobRecord, options: RetryOptions) -> dict[str, Any]:
    """What a retry would do with `record`: target queue, deadline, rewritten keys, or why
    it would be skipped (`skip`)."""
    row = summary_row(record)
    reason = check_connection(record, options)
    try:
        plan = plan_retry(record, options)
    except PayloadDecodeError as exc:
        row.update(to_queue=None, retry_until=None, rewritten=[], expires=False)
        row["skip"] = reason or f"unreadable payload: {exc}"
        return row
    row.update(
        to_queue=plan.queue,
        retry_until=plan.retry_until,
        rewritten=list(plan.rewritten),
        expires=plan.expires,
        skip=reason,
    )
    return row


def _fit(widths: dict[str, int], width: int) -> None:
    excess = sum(widths.values()) + _GAP * (len(widths) - 1) - width
    for column in _SHRINK_ORDER:
        if excess <= 0:
            return
        if column in widths:
            give = min(excess, widths[column] - max(len(column), 4))
            if give > 0:
                widths[column] -= give
                excess -= give


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


#: Columns given up first when a table must fit a terminal, each down to its header.
_SHRINK_ORDER = ("exception", "class", "uuid", "skip", "connection", "to_queue", "queue")
_GAP = 2


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    max_width: Mapping[str, int] = _MAX_WIDTH,
    width: int | None = None,
) -> str:
    """Rows as aligned text columns under upper-case headers; long cells end in `…`.

    With `width` (a terminal's), the widest free-text columns (exception, class, uuid, ...)
    shrink until each line fits, no column narrower than its header.
    """
    widths = {c: max([len(c), *(len(_cell(r[c])) for r in rows)]) for c in columns}
    for column, limit in max_width.items():
        if column in widths:
            widths[column] = min(widths[column], limit)
    if width is not None:
        _fit(widths, width)
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    for row in rows:
        cells = []
        for column in columns:
            text = _cell(row[column])
            if len(text) > widths[column]:
                text = text[: widths[column] - 1] + "…"
            cells.append(text.ljust(widths[column]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
