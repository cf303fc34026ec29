"""Exception counters for `maxExceptions`: a protocol and an in-memory implementation.

Laravel keeps the count in its cache under `job-exceptions:{uuid}` for one day. Python cannot
read Laravel's cache unless it is configured to share it, so a Python worker counts on its own:
with the in-memory counter the count lives as long as the worker process, and a job whose
attempts are split between PHP and Python workers (or between Python processes) is counted per
process. Supply a shared `ExceptionCounter` (e.g. over Redis) for an exact cross-process count.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["EXCEPTION_TTL_SECONDS", "ExceptionCounter", "InMemoryExceptionCounter"]

#: How long a count lives after its first exception, as in Laravel.
EXCEPTION_TTL_SECONDS = 86_400


class ExceptionCounter(Protocol):
    """Counts exceptions per job uuid."""

    def increment(self, uuid: str, *, now: float) -> int:
        """Count one more exception for `uuid` and return the new count."""
        ...

    def forget(self, uuid: str) -> None:
        """Drop the count of `uuid`."""
        ...


class InMemoryExceptionCounter:
    """A per-process `ExceptionCounter` whose counts expire a day after they start."""

    def __init__(self, *, ttl_seconds: float = EXCEPTION_TTL_SECONDS) -> None:
        """Create an empty counter."""
        self._ttl_seconds = ttl_seconds
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def increment(self, uuid: str, *, now: float) -> int:
        """Count one more exception for `uuid` and return the new count."""
        with self._lock:
            count, expires = self._counts.get(uuid, (0, now + self._ttl_seconds))
            if expires <= now:
                count, expires = 0, now + self._ttl_seconds
            self._counts[uuid] = (count + 1, expires)
            return count + 1

    def forget(self, uuid: str) -> None:
        """Drop the count of `uuid`."""
        with self._lock:
            self._counts.pop(uuid, None)
