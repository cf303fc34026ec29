"""How many forks lie between this process and the one that imported bridge.

State that must not cross a fork (a record template naming the pid, a pending interval
timer, which the kernel does not copy into a child, a kept database connection) compares
this number instead of asking for the pid: `os.getpid` is a system call on every use.
"""

from __future__ import annotations

import os

__all__ = ["generation"]

_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """A number that changes in a forked child and stays the same otherwise."""
    return _generation
