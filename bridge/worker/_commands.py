"""The worker's one seam to the Laravel layer: decode a command, chain on, read batch options.

Everything the worker needs from `bridge.laravel` and `bridge.php` passes through here, so the
rest of the worker deals only in `PhpObject`s and payload strings.
"""

from __future__ import annotations

import base64
from typing import Any

from bridge.exceptions import PhpSerializeError
from bridge.laravel.values import to_python
from bridge.php import loads
from bridge.queue.base import BatchRecord

__all__ = ["batch_allows_failures", "friendly"]


def friendly(values: dict[str, Any]) -> dict[str, Any]:
    """Properties as plain Python values (the Laravel layer's `to_python`)."""
    # One conversion for all properties, so an object held by two of them stays one object.
    converted: dict[str, Any] = to_python(values)
    return converted


def batch_allows_failures(batch: BatchRecord) -> bool:
    """Whether the batch's options set `allowFailures` (unreadable options count as no)."""
    raw = batch.options
    if not raw:
        return False
    if b":" not in raw and b";" not in raw:
        # PostgreSQL stores the serialized options base64-encoded (they contain NUL bytes).
        try:
            raw = base64.b64decode(raw, validate=True)
        except ValueError:
            return False
    try:
        options = loads(raw)
    except PhpSerializeError:
        return False
    return isinstance(options, dict) and bool(options.get("allowFailures"))
