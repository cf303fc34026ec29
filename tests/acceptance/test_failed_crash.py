"""`bridge retry-failed` killed with SIGKILL at random moments and run again until it finishes:
every failed job ends up exactly once in `jobs`, byte for byte, and nothing is left behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bridge.queue.database import create_engine_for
from bridge.queue.schema import make_failed_jobs_table, make_jobs_table, migrate

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "laravel-fixtures"
ROWS = 10_000
#: At most this many kills, then the last run must finish on its own.
MAX_KILLS = 6


def bridge_command() -> list[str]:
    """The installed `bridge` console script next to this Python."""
    script = Path(sys.executable).with_name("bridge")
    found = str(script) if script.exists() else shutil.which("bridge")
    assert found, "the bridge command is not installed (pip install -e .)"
    return [found]


def fresh_server_database(url: str) -> Iterator[str]:
    """A throwaway database next to the session's one on the same server."""
    parsed = make_url(url)
    name = f"bridge_crash_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    quote = "`" if parsed.get_backend_name() == "mysql" else '"'
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if quote == '"' else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
        admin.dispose()


@pytest.fixture
def crash_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on the server the test is parametrized with (SQLite: a file)."""
    server = request.param
    if server == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite'}"
        return
    yield from fresh_server_database(str(request.getfixturevalue(f"{server}_url")))


def _payloads() -> dict[str, str]:
    """ROWS distinct payloads built from Laravel 12.67's, each with its own uuid."""
    templates = [
        json.loads(line)["payload"]
        for line in (VECTORS / "12.67.0.jsonl").read_text("utf-8").splitlines()
    ]
    out: dict[str, str] = {}
    for n in range(ROWS):
        template = templates[n % len(templates)]
        old = json.loads(template)["uuid"]
        new = str(uuid.UUID(int=random.Random(n).getrandbits(128), version=4))
        out[new] = template.replace(old, new)
    return out


def _seed(url: str, layout_uuid: bool, payloads: dict[str, str]) -> None:
    engine = create_engine_for(url)
    try:
        migrate(engine, failed_uuid=layout_uuid)
        failed = make_failed_jobs_table(sa.MetaData(), uuid=layout_uuid)
        rows = [
            {
                **({"uuid": key} if layout_uuid else {}),
                "connection": "database",
                "queue": f"q{n % 3}",
                "payload": payload,
                "exception": "RuntimeException: crash test",
                "failed_at": datetime(2026, 11, 1, 8, 0, n % 60),
            }
            for n, (key, payload) in enumerate(payloads.items())
        ]
        with engine.begin() as conn:
            for start in range(0, len(rows), 1000):
                conn.execute(failed.insert(), rows[start : start + 1000])
    finally:
        engine.dispose()


def _state(url: str) -> tuple[list[tuple[str, str, int]], int]:
    engine = create_engine_for(url)
    try:
        jobs = make_jobs_table(sa.MetaData())
        with engine.begin() as conn:
            moved = [
                (r.payload, r.queue, r.attempts)
                for r in conn.execute(sa.select(jobs.c.payload, jobs.c.queue, jobs.c.attempts))
            ]
            left = conn.execute(sa.text("SELECT COUNT(*) FROM failed_jobs")).scalar_one()
        return moved, int(left)
    finally:
        engine.dispose()


class _Progress:
    """Counts moved jobs from outside, with a plain engine that takes no write lock."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def moved(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one())

    def wait_for(self, target: int, process: subprocess.Popen[bytes], deadline: float) -> bool:
        """True once `target` jobs are moved while `process` still runs; False if it ended."""
        while process.poll() is None and time.monotonic() < deadline:
            if self.moved() >= target:
                return process.poll() is None
            time.sleep(0.01)
        return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("crash_url", "layout_uuid"),
    # The move is the same code in both layouts; each database gets one of them.
    [("sqlite", False), ("mysql", True)],
    ids=["sqlite-id-only", "mysql-uuid"],
    indirect=["crash_url"],
)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    crash_url: str, layout_uuid: bool, tmp_path: Path
) -> None:
    payloads = _payloads()
    _seed(crash_url, layout_uuid, payloads)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    argv = [*bridge_command(), "--database", crash_url, "retry-failed", "all", "--yes"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    deadline = time.monotonic() + 240
    counter = _Progress(crash_url)
    while True:
        errors = tmp_path / f"stderr-{kills}.txt"
        with errors.open("wb") as sink:
            process = subprocess.Popen(
                argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink
            )
        if kills < MAX_KILLS:
            # Kill at a random point of the work itself, not of the clock: the move is fast
            # enough that a timer would often fire before the first row or after the last.
            done = counter.moved()
            target = done + rng.randrange(1, max(2, (ROWS - done) // 2))
            if counter.wait_for(target, process, deadline):
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                continue
        else:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
        assert process.returncode == 0, f"seed {seed}: {errors.read_text()[-2000:]}"
        break
    counter.engine.dispose()
    moved, left = _state(crash_url)
    assert left == 0
    assert len(moved) == ROWS, f"seed {seed}: {len(moved) - ROWS:+d} jobs"
    assert sorted(p for p, _, _ in moved) == sorted(payloads.values())
    assert {a for _, _, a in moved} == {0}
    assert kills >= 1, "the run finished before the first kill; the test proved nothing"
