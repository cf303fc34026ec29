"""A module that must never be imported by a worker: importing it writes a canary file.

Hostile payloads name it as their job class (`tests.support.torture_canary.Boom`); a worker
that ever resolved a PHP class name to Python code would import it, and the file named by
`BRIDGE_TORTURE_CANARY` would appear.
"""

from __future__ import annotations

import os

_canary = os.environ.get("BRIDGE_TORTURE_CANARY")
if _canary:
    with open(_canary, "a", encoding="utf-8") as _out:
        _out.write(f"imported by pid {os.getpid()}\n")


class Boom:
    """Named by hostile payloads; constructing it writes the canary too."""

    def __init__(self, *args: object) -> None:
        if _canary:
            with open(_canary, "a", encoding="utf-8") as out:
                out.write(f"Boom{args!r} in pid {os.getpid()}\n")
