"""`StopRequest`: a stop requested from a signal handler never waits for a lock.

A process group's SIGTERM (systemd's stop, a terminal's Ctrl-C) and the pool forwarding the
same signal reach a pool child twice; the second handler then runs inside the first one's
request. With `threading.Event` that deadlocked the child (its `set` waited for the lock the
interrupted `set` held).
"""

from __future__ import annotations

import os
import signal

from bridge.worker._stop import StopRequest


def test_a_request_made_inside_a_request_returns() -> None:
    request = StopRequest()
    release = request._release
    signalled = []

    def signal_in_the_middle() -> None:
        if not signalled:
            signalled.append(True)
            os.kill(os.getpid(), signal.SIGUSR1)  # its handler runs here, inside `set`
        release()

    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: request.set())
    request._release = signal_in_the_middle  # type: ignore[method-assign]
    try:
        request.set()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert signalled == [True]
    assert request.is_set()
    assert request.wait(0)


def test_waits_until_requested_then_returns_at_once() -> None:
    request = StopRequest()
    assert not request.is_set()
    assert request.wait(0) is False
    assert request.wait(-1) is False  # a negative sleep is no sleep
    request.set()
    request.set()  # a second request changes nothing
    assert request.wait(60) is True
    assert request.wait(60) is True
