"""Crash safety: a worker killed mid-job, a database server killed mid-drain; nothing is lost.

Jobs are dispatched by real Laravel (`records` kind, `Queue::bulk`); bridge workers run as
separate processes (`resilience_worker.py`) that note every start and finish in a plain file,
so the count by uuid does not depend on the database being crashed. Every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from private_mariadb import PrivateMariaDB
from resilience_worker import Entry, read_record, start_worker

from tests.conftest import unavailable
from tests.support.laravel import LaravelEnv, fresh_laravel_env

RETRY_AFTER = 2


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.05)


def _stop(worker: subprocess.Popen[bytes], seconds: float = 30) -> int:
    """SIGTERM a worker and return its exit status (it is killed if it does not stop)."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _done(entries: list[Entry]) -> Counter[str]:
    return Counter(e.uuid for e in entries if e.event == "done")


def _uuids(lines: list[dict[str, object]]) -> set[str]:
    return {json.loads(str(line["payload"]))["uuid"] for line in lines}


@pytest.mark.php
@pytest.mark.slow
def test_sigkill_mid_job_runs_again_after_retry_after(
    database_url: str, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    env = fresh_laravel_env(
        database_url, php_binary=php_binary, tmp_path=tmp_path, retry_after=RETRY_AFTER
    )
    uuids = _uuids(env.dispatch("records", count=40, bulk=True))
    first, second = tmp_path / "first.rec", tmp_path / "second.rec"
    log = tmp_path / "workers.log"

    victim = start_worker(
        database_url,
        first,
        retry_after=RETRY_AFTER,
        tries=3,
        prefetch=8,
        job_seconds=0.3,
        log=log,
    )
    try:
        _wait_for(lambda: len(_done(read_record(first))) >= 3, 60, "three finished jobs")
        # Kill it while it is inside a job: just after a start, before that job's done.
        _wait_for(
            lambda: (r := read_record(first)) != [] and r[-1].event == "start", 10, "a job start"
        )
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    killed_record = read_record(first)
    mid_job = killed_record[-1].uuid
    assert mid_job not in _done(killed_record)
    [left] = [row for row in env.jobs() if json.loads(row["payload"])["uuid"] == mid_job]
    assert (left["attempts"], left["reserved_at"] is not None) == (1, True)

    rescuer = start_worker(
        database_url, second, retry_after=RETRY_AFTER, tries=3, prefetch=8, log=log
    )
    try:
        _wait_for(lambda: env.jobs() == [], 60, "the queue to drain")
    finally:
        assert _stop(rescuer) == 0, log.read_text()[-3000:]

    rescued = read_record(second)
    again = [e for e in rescued if e.uuid == mid_job]
    # It ran again, as its second attempt, and not before retry_after had passed.
    assert [(e.event, e.attempts) for e in again] == [("start", 2), ("done", 2)]
    assert again[0].at >= left["reserved_at"] + RETRY_AFTER
    done = _done(killed_record) + _done(rescued)
    assert set(done) == uuids, "a job was lost"
    assert env.failed_jobs() == []


@pytest.fixture
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test's own (never the shared one), deleted afterwards."""
    try:
        server = PrivateMariaDB()
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable(f"cannot set up a private mariadbd: {exc}")
        raise
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.mark.php
@pytest.mark.mysql
@pytest.mark.slow
def test_workers_ride_out_a_mariadb_crash(
    private_mariadb: PrivateMariaDB, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    url = private_mariadb.url
    env: LaravelEnv = fresh_laravel_env(
        url, php_binary=php_binary, tmp_path=tmp_path, retry_after=5
    )
    total = 1200
    uuids = _uuids(env.dispatch("records", count=total, bulk=True))
    assert len(uuids) == total
    records = [tmp_path / f"worker{n}.rec" for n in range(2)]
    log = tmp_path / "workers.log"
    workers = [
        start_worker(url, record, retry_after=5, tries=5, prefetch=16, job_seconds=0.01, log=log)
        for record in records
    ]
    engine = sa.create_engine(url, pool_pre_ping=True)

    def finished() -> Counter[str]:
        return sum((_done(read_record(r)) for r in records), Counter())

    try:
        _wait_for(lambda: len(finished()) >= total // 4, 60, "a quarter of the jobs")
        private_mariadb.kill()
        crashed_at = len(finished())
        time.sleep(1.5)
        private_mariadb.start()
        assert all(w.poll() is None for w in workers), "a worker died with the database"
        _wait_for(lambda: _count(engine, "jobs") == 0, 120, "the queue to drain after restart")
        assert all(w.poll() is None for w in workers), "a worker died after the restart"
    finally:
        statuses = [_stop(w) for w in workers]
        engine.dispose()
    assert statuses == [0, 0], log.read_text()[-3000:]

    done = finished()
    assert crashed_at < total, "the crash came after the drain: nothing was tested"
    assert set(done) == uuids, f"{len(uuids - set(done))} jobs lost"
    assert env.failed_jobs() == []
