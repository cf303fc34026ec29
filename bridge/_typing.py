"""Type aliases shared by every layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

#: JSON values as `json.loads` returns them.
JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONDict: TypeAlias = dict[str, JSONValue]

#: A clock returns the current Unix time in seconds. Injected wherever time matters.
Clock: TypeAlias = Callable[[], float]
