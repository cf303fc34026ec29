"""The worker's one seam to the Laravel layer: decode a command, chain on, read batch options.

Everything the worker needs from `bridge.laravel` and `bridge.php` passes through here, so the
rest of the worker deals only in `PhpObject`s and payload strings.
"""

from __future__ import annotations

from typing import Any

from bridge.laravel.command import batch_allows_failures as options_allow_failures
from bridge.laravel.values import to_python
from bridge.queue.base import BatchRecord

__all__ = ["batch_allows_failures", "friendly"]


def friendly(values: dict[str, Any]) -> dict[str, Any]:
    """Properties as plain Python values (the Laravel layer's `to_python`)."""
    # One conversion for all properties, so an object held by two of them stays one object.
    converted: dict[str, Any] = to_python(values)
    return converted


def batch_allows_failures(batch: BatchRecord) -> bool:
    """Whether the batch's options set `allowFailures` to true (unreadable options: no)."""
    return options_allow_failures(batch.options)
