"""What one bad row, a failing `failed_jobs` write or a killed pool must not do, on real
databases: block the rows behind it, lose the job, or leave workers running unsupervised.

In-process workers run on a thread joined with a generous bound: a worker that never stops
(the old behaviour of several cases) is stopped and reported instead of hanging the suite.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from worker_env import TRIVIAL, Stores, payloads

from bridge.queue.base import FailedJobFilter, NewJob
from bridge.worker import App, Job, StopReason, Worker

HERE = Path(__file__).resolve().parent
BOUND_SECONDS = 120
POOL_OF_TWO = ("--concurrency", "2")


def run_bounded(worker: Worker) -> StopReason:
    """`worker.run()` on a thread; a worker still running after the bound fails the test."""
    result: list[StopReason] = []
    thread = threading.Thread(target=lambda: result.append(worker.run()))
    thread.start()
    thread.join(BOUND_SECONDS)
    if thread.is_alive():
        worker.stop()
        thread.join()
        pytest.fail(f"the worker was still running after {BOUND_SECONDS} s")
    return result[0]


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "seen.txt"
    monkeypatch.setenv("BRIDGE_TEST_SEEN", str(path))
    return path


def seen_uuids(path: Path) -> collections.Counter[str]:
    if not path.exists():
        return collections.Counter()
    return collections.Counter(line.split()[1] for line in path.read_text().splitlines())


# --- a row at the attempts column's limit -------------------------------------------------


@pytest.mark.parametrize("prefetch", [1, 16])
def test_a_row_at_attempts_255_never_blocks_the_rows_behind_it(
    stores: Stores, seen: Path, prefetch: int
) -> None:
    # MariaDB/MySQL strict mode refused every reservation's `attempts + 1` once one row
    # reached the TINYINT UNSIGNED limit: 0 of 200 good jobs ran.
    jobs_queue, _, _ = stores.build()
    [stuck] = payloads("plain_public", 1)
    good = payloads("plain_public", 200)
    now = int(time.time())
    jobs_queue.bulk(
        [NewJob(stuck, "default", now, now, attempts=255)]
        + [NewJob(text, "default", now, now) for text in good]
    )
    reason = run_bounded(stores.worker(stop_when_empty=True, tries=0, prefetch=prefetch))
    assert reason is StopReason.EMPTY
    runs = seen_uuids(seen)
    assert len(runs) == 200 and set(runs.values()) == {1}
    assert jobs_queue.rows() == []
    _, failed, _ = stores.build()
    [row] = list(failed.select(FailedJobFilter()))
    assert row.payload == stuck
    assert "attempted 255 times" in row.exception


# --- SQLite: a payload that is not UTF-8 ----------------------------------------------------


@pytest.fixture
def sqlite_stores(sqlite_url: str) -> Iterator[Stores]:
    made = Stores(sqlite_url, uuid.uuid4().hex[:10])
    yield made
    made.close()


def test_sqlite_a_payload_that_is_not_utf8_is_failed_byte_for_byte(
    sqlite_stores: Stores, seen: Path
) -> None:
    # SQLite stores any bytes as TEXT; reading them as str failed every reservation that
    # reached the row ("Could not decode to UTF-8 column 'payload'").
    stores = sqlite_stores
    jobs_queue, _, _ = stores.build()
    [text] = payloads("plain_public", 1)
    broken = text.encode().replace(b"Ada", b"Ad\xe9")
    now = int(time.time())
    with jobs_queue.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO jobs_{stores.suffix} (queue, attempts, available_at, created_at,"
                " payload) VALUES ('default', 0, :now, :now, CAST(:payload AS TEXT))"
            ),
            {"now": now, "payload": broken},
        )
    good = payloads("plain_public", 5)
    stores.push(good)
    assert run_bounded(stores.worker(stop_when_empty=True)) is StopReason.EMPTY
    assert len(seen_uuids(seen)) == 5
    assert jobs_queue.rows() == []
    with jobs_queue.engine.connect() as conn:
        [(stored, exception)] = conn.execute(
            sa.text(f"SELECT CAST(payload AS BLOB), exception FROM failed_{stores.suffix}")
        ).all()
    assert stored == broken
    assert "not valid UTF-8" in exception


# --- failing a job never loses it -----------------------------------------------------------

failing_app = App()


@failing_app.handler(TRIVIAL)
def always_fails(job: Job) -> None:
    raise RuntimeError("this job fails")


def _refuse_failed_rows_of(stores: Stores, queue: str) -> None:
    """Make every INSERT of a failed job of `queue` fail, as a full disk or a lock would."""
    jobs_queue, failed, _ = stores.build()
    table = failed.table_name
    with jobs_queue.engine.begin() as conn:
        if jobs_queue.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
                f" WHEN NEW.queue = '{queue}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ADD CONSTRAINT refuse_{table} CHECK (queue <> '{queue}')"
            )


def test_a_job_whose_failed_row_cannot_be_written_stays_in_jobs(stores: Stores) -> None:
    _refuse_failed_rows_of(stores, "poison")
    [text] = payloads("plain_public", 1)
    stores.push([text], queue="poison")
    worker = stores.worker(
        app=failing_app, queues=("poison",), stop_when_empty=True, error_sleep_seconds=0.01
    )
    run_bounded(worker)
    jobs_queue, failed, _ = stores.build()
    # The DELETE went with the refused INSERT: the job is still there, reserved, to be
    # failed again after retry_after. It used to be deleted first, and so lost.
    [row] = jobs_queue.rows()
    assert row.payload == text and row.reserved_at is not None
    assert list(failed.select(FailedJobFilter())) == []


def test_a_failed_job_is_moved_whole(stores: Stores) -> None:
    [text] = payloads("plain_public", 1)
    stores.push([text])
    assert run_bounded(stores.worker(app=failing_app, stop_when_empty=True)) is StopReason.EMPTY
    jobs_queue, failed, _ = stores.build()
    assert jobs_queue.rows() == []
    [row] = list(failed.select(FailedJobFilter()))
    assert row.payload == text and "this job fails" in row.exception


# --- a pool's children die with it ----------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_pool_children_stop_when_the_pool_is_killed(stores: Stores) -> None:
    stores.build()
    pool = subprocess.Popen(
        [sys.executable, str(HERE / "worker_env.py"), stores.url, stores.suffix, *POOL_OF_TWO],
        env={**os.environ, "PYTHONPATH": str(HERE)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        assert _wait_for(lambda: len(_children(pool.pid)) == 2, 60), "the pool never forked"
        children = _children(pool.pid)
        pool.send_signal(signal.SIGKILL)
        pool.wait()
        # Each child gets SIGTERM from the kernel, finishes (no job here) and exits.
        gone = _wait_for(lambda: not any(_running(pid) for pid in children), 60)
        assert gone, f"children {children} outlived their pool"
    finally:
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if pool.poll() is None:
            pool.kill()
            pool.wait()
