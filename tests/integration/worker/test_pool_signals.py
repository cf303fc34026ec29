"""A stop signal that reaches a pool child while it is starting stops that child.

A terminal's Ctrl-C or systemd's stop signals the whole process group, often while children
are still starting (right after `--concurrency` forked them, or after a restart). A child
used to run the parent's forwarding handler until it installed its own, and a signal
landing there was lost: that child went on working and the pool waited for it forever.

The pool runs here in this process with stand-in workers; a watchdog alarm turns a hang into
a failure.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

import pytest

from bridge.worker._stop import StopRequest
from bridge.worker.pool import run_pool

WATCHDOG_SECONDS = 30
# A stand-in that is never asked to stop exits with this after waiting (the old hang).
NOT_STOPPED = 3


@dataclass
class _Reason:
    exit_code: int


class StandInWorker:
    """Waits until stopped, like an idle worker polling an empty queue."""

    def __init__(self) -> None:
        self._stop = StopRequest()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> _Reason:
        return _Reason(0 if self._stop.wait(WATCHDOG_SECONDS / 2) else NOT_STOPPED)


class Hung(Exception):
    pass


@pytest.fixture
def watchdog() -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the pool did not return within {WATCHDOG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _statuses(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [
        record.bridge["status"]  # type: ignore[attr-defined]
        for record in caplog.records
        if getattr(record, "bridge", {}).get("event") == "child_exit"
    ]


def _run(make_worker: Callable[[int], StandInWorker], caplog: pytest.LogCaptureFixture) -> int:
    logger = logging.getLogger("bridge.test.pool")
    with caplog.at_level(logging.INFO, logger=logger.name):
        return run_pool(make_worker, concurrency=2, logger=logger)  # type: ignore[arg-type]


def test_a_signal_right_after_the_fork_stops_that_child(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, watchdog: None
) -> None:
    real_fork = os.fork

    def fork_and_signal_the_child() -> int:
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGTERM)  # the group's SIGTERM, at the worst moment
        return pid

    monkeypatch.setattr(os, "fork", fork_and_signal_the_child)
    assert _run(lambda index: StandInWorker(), caplog) == 0
    assert _statuses(caplog) == [0, 0]


def test_a_signal_while_the_worker_is_built_stops_it_before_its_first_job(
    caplog: pytest.LogCaptureFixture, watchdog: None
) -> None:
    def build_while_signalled(index: int) -> StandInWorker:
        os.kill(os.getpid(), signal.SIGTERM)
        return StandInWorker()

    # Before, the child died of the signal (status -15) and, as the pool itself had not
    # been signalled, was restarted to die again.
    assert _run(build_while_signalled, caplog) == 0
    assert _statuses(caplog) == [0, 0]


class UnusableStorage:
    """Ends as a worker does when the database refuses its configuration (EX_CONFIG)."""

    def stop(self) -> None:
        pass

    def run(self) -> _Reason:
        return _Reason(78)


def test_a_child_that_finds_the_storage_unusable_is_not_restarted(
    caplog: pytest.LogCaptureFixture, watchdog: None
) -> None:
    # A restarted child would fail the same way, forever (the pool used to restart it).
    assert _run(lambda index: UnusableStorage(), caplog) == 78  # type: ignore[arg-type,return-value]
    assert _statuses(caplog) == [78, 78]
