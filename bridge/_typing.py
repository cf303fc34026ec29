"""Type aliases shared by every layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

#: A clock returns the current Unix time in seconds. Injected wherever time matters.
Clock: TypeAlias = Callable[[], float]
