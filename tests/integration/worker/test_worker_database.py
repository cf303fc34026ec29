"""The worker on real databases: drain, fail, crash recovery, a process pool, throughput."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from worker_env import SLOW, STUBBORN, Stores, payloads

from bridge.queue.base import FailedJobFilter
from bridge.worker import App, StopReason

HERE = Path(__file__).resolve().parent


def seen_lines(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "seen.txt"
    monkeypatch.setenv("BRIDGE_TEST_SEEN", str(path))
    return path


@pytest.mark.parametrize("prefetch", [1, 25])
def test_worker_drains_each_job_once(stores: Stores, seen: Path, prefetch: int) -> None:
    texts = payloads("plain_public", 120)
    stores.push(texts)
    worker = stores.worker(stop_when_empty=True, prefetch=prefetch)
    assert worker.run() is StopReason.EMPTY
    uuids = [line[1] for line in seen_lines(seen)]
    assert sorted(uuids) == sorted(json.loads(t)["uuid"] for t in texts)
    jobs_queue, failed, _ = stores.build()
    assert jobs_queue.size("default") == 0
    assert list(failed.select(FailedJobFilter())) == []


def test_failure_is_recorded_as_laravel_does(stores: Stores) -> None:
    [text] = payloads("plain_public", 1)
    stores.push([text])
    # No handler for the class in this app: a clear failure, payload intact.
    stores.worker(stop_when_empty=True, app=App()).run()
    jobs_queue, failed, _ = stores.build()
    [row] = list(failed.select(FailedJobFilter()))
    assert row.uuid == json.loads(text)["uuid"]
    assert (row.connection, row.queue, row.payload) == ("database", "default", text)
    assert row.exception.startswith("bridge.exceptions.HandlerNotFound: No Python handler")
    # Naive `Y-m-d H:i:s` in the app timezone (UTC by default).
    assert row.failed_at.tzinfo is None and row.failed_at.microsecond == 0
    assert abs(row.failed_at.replace(tzinfo=UTC).timestamp() - time.time()) < 120
    assert jobs_queue.size("default") == 0


def _start(
    stores: Stores, *args: str, env: dict[str, str], own_group: bool = False
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "worker_env.py"), stores.url, stores.suffix, *args],
        env={**os.environ, **env, "PYTHONPATH": str(HERE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=own_group,
    )


def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_sigkill_mid_job_runs_again_after_retry_after(stores: Stores, seen: Path) -> None:
    [text] = payloads("default_omitted", 1)
    assert json.loads(text)["displayName"] == SLOW
    stores.push([text])
    child = _start(stores, "--retry-after", "2", "--tries", "3", env={})
    try:
        _wait_for(lambda: len(seen_lines(seen)) == 1, 30)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    jobs_queue, _, _ = stores.build()
    [row] = jobs_queue.rows()
    assert row.reserved_at is not None and row.attempts == 1
    time.sleep(3.1)  # retry_after (2 s) passes; a worker now takes the job over
    os.environ["BRIDGE_TEST_SLOW_SECONDS"] = "0"
    try:
        stores.retry_after = 2
        worker = stores.worker(stop_when_empty=True, tries=3)
        assert worker.run() is StopReason.EMPTY
    finally:
        del os.environ["BRIDGE_TEST_SLOW_SECONDS"]
    runs = seen_lines(seen)
    assert [(r[1], r[2]) for r in runs] == [
        (row_uuid := json.loads(text)["uuid"], "1"),
        (row_uuid, "2"),
    ]
    assert jobs_queue.size("default") == 0


def test_pool_of_two_drains_2000_jobs_none_twice(stores: Stores, seen: Path) -> None:
    texts = payloads("plain_public", 2000)
    stores.push(texts)
    child = _start(stores, "--concurrency", "2", "--prefetch", "20", "--stop-when-empty", env={})
    _, err = child.communicate(timeout=240)
    assert child.returncode == 0, err.decode()[-2000:]
    runs = seen_lines(seen)
    counts = collections.Counter(r[1] for r in runs)
    assert len(counts) == 2000 and set(counts.values()) == {1}
    assert len({r[0] for r in runs}) == 2  # both processes worked
    jobs_queue, _, _ = stores.build()
    assert jobs_queue.size("default") == 0


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def test_pool_restarts_a_killed_child_and_stops_on_sigterm(stores: Stores, seen: Path) -> None:
    child = _start(stores, "--concurrency", "2", env={})
    try:
        _wait_for(lambda: len(_children(child.pid)) == 2, 60)
        first, second = _children(child.pid)
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: len(now := _children(child.pid)) == 2 and first not in now, 60)
        assert second in _children(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()[-2000:]
    assert _children(child.pid) == []


def test_pool_stops_when_its_whole_process_group_gets_sigterm(stores: Stores) -> None:
    # systemd's stop and a terminal's Ctrl-C signal every process of the group, and the
    # pool forwards the signal once more: each child gets it twice, close together. A race,
    # so a few rounds (a child used to deadlock now and then: in 1 of 4, then 1 of 20 rounds
    # tried by hand).
    for _ in range(3):
        child = _start(stores, "--concurrency", "2", env={}, own_group=True)
        try:
            _wait_for(lambda pid=child.pid: len(_children(pid)) == 2, 60)
            os.killpg(child.pid, signal.SIGTERM)
            _, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.communicate()  # closes the pipes too, not left to a later test's GC
        assert child.returncode == 0, err.decode()[-2000:]


def test_prefetch_drains_every_job_with_its_log_lines(stores: Stores) -> None:
    # Trivial jobs, prefetch 100, log lines formatted. How fast is bench/bench_worker.py's
    # business; this checks that a prefetched drain does every job and logs each one.
    import io
    import logging

    from bridge.worker import log_handler

    count = 3000
    stores.push(payloads("plain_public", count))
    worker = stores.worker(stop_when_empty=True, prefetch=100)
    logger = logging.getLogger("bridge.worker")
    out = io.StringIO()
    handler = log_handler(stream=out)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        worker.run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert worker.jobs_processed == count
    lines = out.getvalue().splitlines()
    assert sum(" Processing: " in line for line in lines) == count
    assert sum(" Processed:  " in line for line in lines) == count
    assert stores.build()[0].size("default") == 0


def test_hard_timeout_ends_the_process_after_recording(stores: Stores, seen: Path) -> None:
    [stuck] = payloads("protected_private", 1)
    assert json.loads(stuck)["displayName"] == STUBBORN
    # The first reservation takes one row; the second prefetches the stuck job and the 3
    # behind it.
    stores.push([*payloads("plain_public", 1), stuck, *payloads("plain_public", 3)])
    child = _start(stores, "--timeout", "0.5", "--grace", "0.5", "--prefetch", "10", env={})
    _, err = child.communicate(timeout=60)
    # Laravel's worker kills itself on a timeout; bridge exits with status 1 once the job
    # ignored its interrupt for the grace period, after settling it (tries 1: failed).
    assert child.returncode == 1, err.decode()[-2000:]
    jobs_queue, failed, _ = stores.build()
    [row] = list(failed.select(FailedJobFilter()))
    assert row.payload == stuck
    assert row.exception.startswith(f"Illuminate\\Queue\\TimeoutExceededException: {STUBBORN}")
    # The prefetched rows it had not started went back unreserved, attempts untouched.
    rows = jobs_queue.rows()
    assert len(rows) == 3 and all(r.reserved_at is None and r.attempts == 0 for r in rows)
    assert len(seen_lines(seen)) == 2
