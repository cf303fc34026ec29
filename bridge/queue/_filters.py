"""Matching `failed_jobs` rows against a `FailedJobFilter`, shared by every store.

The SQL store narrows with a WHERE clause first and then applies `matches` to each row, so
both stores agree exactly, including on the `data.commandName` test, which only a JSON
parse can decide (the payload escapes backslashes and slashes).
"""

from __future__ import annotations

import json

from bridge.dialect import SO_DIALECT_NAMES, sniff
from bridge.exceptions import PayloadError
from bridge.queue.base import FailedJobFilter, FailedJobRecord
from bridge.so import decode_so


def command_name_of(payload: str) -> str | None:
    """`data.commandName` of a payload (an SO framework payload's `class`), or None when the
    payload has none or is not readable."""
    if sniff(payload) in SO_DIALECT_NAMES:
        try:
            return decode_so(payload).class_name
        except PayloadError:
            return None
    try:
        decoded = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    data = decoded.get("data")
    if not isinstance(data, dict):
        return None
    name = data.get("commandName")
    return name if isinstance(name, str) else None


def matches(record: FailedJobRecord, selection: FailedJobFilter) -> bool:
    """Whether `record` satisfies every field set in `selection` (`limit` aside)."""
    if (selection.ids or selection.uuids or selection.id_range is not None) and not (
        _identified(record, selection)
    ):
        return False
    if selection.queue is not None and record.queue != selection.queue:
        return False
    if selection.connection is not None and record.connection != selection.connection:
        return False
    if (
        selection.exception_contains is not None
        and selection.exception_contains not in record.exception
    ):
        return False
    if selection.failed_since is not None and record.failed_at < selection.failed_since:
        return False
    if selection.failed_until is not None and record.failed_at > selection.failed_until:
        return False
    return selection.command_name is None or (
        command_name_of(record.payload) == selection.command_name.lstrip("\\")
    )


def _identified(record: FailedJobRecord, selection: FailedJobFilter) -> bool:
    # ids, uuids and the id range add up, as `queue:retry 3 7 --range=10-12` merges them.
    if record.id in selection.ids or (record.uuid is not None and record.uuid in selection.uuids):
        return True
    if selection.id_range is None:
        return False
    low, high = selection.id_range
    return low <= record.id <= high
