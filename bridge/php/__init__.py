"""PHP's serialize() format, read and written exactly: `loads` and `dumps`, like `json`."""

from __future__ import annotations

from bridge.php._types import (
    PhpCustom,
    PhpEnum,
    PhpKey,
    PhpObject,
    PhpReference,
    PhpValue,
    Visibility,
    mangle,
    unmangle,
)

__all__ = [
    "PhpCustom",
    "PhpEnum",
    "PhpKey",
    "PhpObject",
    "PhpReference",
    "PhpValue",
    "Visibility",
    "mangle",
    "unmangle",
]
