"""`run_pool`: a supervisor that forks N worker processes and keeps them running.

Each child builds its own `Worker` through the factory *after* the fork (database
connections must never cross a fork) and exits with its `StopReason.exit_code`. The parent
forwards SIGTERM, SIGINT and SIGQUIT to every child (each finishes its current job; one
still starting stops before its first) and restarts a child that ends unexpectedly: killed
by a signal, a hard timeout (status 1), the memory limit (status 12), or a clean stop from
`max_jobs` / `max_time` when the pool is a daemon (recycling). Children that stop cleanly
because the queue is empty or `once` was set are not restarted. The pool returns when every
child has stopped: 0 when all ended cleanly or on request, else 1.

A child whose storage refuses the configuration (status 78, `EXIT_CONFIG`: a missing table,
bad credentials) is not restarted, since a new one would fail the same way; the pool then
ends with 78 too. Children never outlive the pool: on Linux each asks the kernel for SIGTERM
when its parent dies (`PR_SET_PDEATHSIG`), so a pool killed with SIGKILL leaves no workers
running unsupervised (each finishes its current job and stops, as on a forwarded SIGTERM);
a child whose parent died before it asked stops before its first job.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from bridge.worker.logs import LOGGER_NAME
from bridge.worker.options import EXIT_CONFIG, EXIT_ERROR, EXIT_SUCCESS
from bridge.worker.worker import Worker

__all__ = ["run_pool"]

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
# A child that dies sooner than this after its start is restarted only after a pause, so a
# worker that cannot even start (bad DSN, import error) does not fork in a hot loop.
_MIN_LIFETIME_SECONDS = 1.0
# prctl(2) option: the signal the calling process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> bool:
    """Have the kernel send SIGTERM when the parent dies; False if it is already gone.

    The parent may die between the fork and the prctl call, so the parent's pid is checked
    after the call (an orphan is re-parented, and its `getppid` changes).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    return os.getppid() == parent


def _child(
    make_worker: Callable[[int], Worker], index: int, logger: logging.Logger, parent: int
) -> int:
    # The stop signals arrive blocked (see `spawn`). One that comes while the worker is
    # being built asks that worker to stop before its first job; once `run` starts, the
    # worker's own handlers take over.
    worker: Worker | None = None
    requested = not _die_with_parent(parent)

    def stop_early(signum: int, frame: FrameType | None) -> None:
        nonlocal requested
        requested = True
        if worker is not None:
            worker.stop()

    for sig in _FORWARDED:
        signal.signal(sig, stop_early)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
    try:
        worker = make_worker(index)
        if requested:
            worker.stop()
        return worker.run().exit_code
    except BaseException:
        logger.exception("Worker process %d crashed", index)
        return EXIT_ERROR


def run_pool(
    make_worker: Callable[[int], Worker],
    *,
    concurrency: int,
    restart_clean_exits: bool = False,
    logger: logging.Logger | None = None,
) -> int:
    """Run `concurrency` worker processes until all have stopped; return the exit status.

    Args:
        make_worker: Builds the worker of child number `index` (0-based), in the child.
        concurrency: How many processes run at once.
        restart_clean_exits: Restart children that stop cleanly (set it for a daemon pool
            with `max_jobs` / `max_time` recycling; leave it off with `stop_when_empty` or
            `once`).
        logger: Where the supervisor logs; `bridge.worker` by default.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    log = logger if logger is not None else logging.getLogger(LOGGER_NAME)
    children: dict[int, tuple[int, float]] = {}
    stopping = False
    failed = False
    # A child found the storage unusable (`EXIT_CONFIG`): none is restarted any more.
    unusable = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def spawn(index: int) -> None:
        # A child starts with the parent's handler (`forward`, and a copy of `children`):
        # a stop signal reaching it before it replaced that handler would be forwarded to
        # its siblings and lost for itself, and the pool would wait for it forever. The
        # signals stay blocked across the fork; each side unblocks once it is ready.
        signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        parent = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child never returns from here
                code = _child(make_worker, index, log, parent)
                for handler in [*log.handlers, *logging.getLogger().handlers]:
                    handler.flush()
                os._exit(code)
            children[pid] = (index, time.monotonic())
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)

    previous: dict[int, Any] = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        for index in range(concurrency):
            spawn(index)
        while children:
            pid, status = os.waitpid(-1, 0)
            if pid not in children:
                continue
            index, started = children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            clean = code == EXIT_SUCCESS
            unusable = unusable or code == EXIT_CONFIG
            restart = not stopping and not unusable and (not clean or restart_clean_exits)
            failed = failed or (not clean and not restart)
            log.log(
                logging.INFO if clean else logging.WARNING,
                "Worker process %d (pid %d) ended with status %d%s",
                index,
                pid,
                code,
                "; restarting" if restart else "",
                extra={"bridge": {"event": "child_exit", "pid": pid, "status": code}},
            )
            if restart:
                if time.monotonic() - started < _MIN_LIFETIME_SECONDS:
                    time.sleep(_MIN_LIFETIME_SECONDS)
                if not stopping:
                    spawn(index)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if unusable:
        return EXIT_CONFIG
    return EXIT_SUCCESS if stopping or not failed else EXIT_ERROR
