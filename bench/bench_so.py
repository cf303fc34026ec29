"""bridge against the SO framework's own queue: dispatch and worker, same jobs, one run.

    python bench/bench_so.py [--url mysql+pymysql://root@127.0.0.1:3306/test] [--jobs 5000]
        [--version head|7799133] [--no-write]

On a throwaway MariaDB database with the framework's own `jobs` / `failed_jobs` tables (the
framework's files read from ../shared/so-framework/<version>, run by php_fixtures/so/so.php):

* dispatch: N `SoFixture\\Noop` jobs pushed one by one by the framework's `QueueManager::push`
  (timed inside PHP, connection made before the clock starts), then by bridge's
  `Dispatcher.dispatch` (one INSERT each) and `Dispatcher.bulk` (multi-row INSERTs);
* worker: the same N jobs drained by one framework worker (`Worker::runNextJob` until empty,
  timed inside PHP, its lines to /dev/null), then by bridge's `Worker` in the SO dialect
  (prefetch 1, as the framework's worker, and 64; INFO log lines to /dev/null);
* the framework's reservation has no `SKIP LOCKED`: two of its workers on one queue, against
  two bridge workers (processes), draining N jobs, wall time from start to empty queue.

Prints the table with ratios and rewrites the `## SO framework` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_worker import throwaway_database
from results import section_head, write_section
from sqlalchemy.engine import make_url

from bridge.dialect import dialect_named
from bridge.dispatcher import Dispatcher
from bridge.laravel import Prop
from bridge.queue import Stores
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for
from bridge.so import SO_JSON, SO_SERIALIZE, so_job_class
from bridge.worker import App, Worker, WorkerOptions, log_handler

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SO = ROOT.parent / "shared" / "so-framework"
DRIVER = ROOT / "php_fixtures" / "so" / "so.php"
SECTION = "## SO framework"
FORMATS = {"head": SO_JSON, "7799133": SO_SERIALIZE}
MIGRATIONS = {
    "head": "database/migrations/001_framework_essentials.sql",
    "7799133": "database/migrations/create_framework_tables.sql",
}
NOOP = so_job_class("SoFixture\\Noop", [Prop("n", "public", "int", 0)])


def _tables(engine: sa.Engine, version: str) -> None:
    import re

    text = (SO / version / MIGRATIONS[version]).read_text()
    wanted = re.compile(r"CREATE TABLE IF NOT EXISTS (jobs|failed_jobs) \(")
    with engine.begin() as conn:
        for statement in text.split(";"):
            found = wanted.search(statement)
            if found:
                conn.exec_driver_sql(statement[found.start() :])


def _php_env(url: str) -> dict[str, str]:
    parsed = make_url(url)
    return {
        **os.environ,
        "SO_DB_HOST": parsed.host or "127.0.0.1",
        "SO_DB_PORT": str(parsed.port or 3306),
        "SO_DB_DATABASE": parsed.database or "",
        "SO_DB_USERNAME": parsed.username or "root",
        "SO_DB_PASSWORD": parsed.password or "",
        "QUEUE_CONNECTION": "database",
        "SO_FIXTURE_LOG": os.devnull,
    }


def _php(url: str, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["php", str(DRIVER), str(SO / version), *args],
        capture_output=True,
        text=True,
        env=_php_env(url),
        check=True,
    )


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM jobs").scalar_one())


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM jobs")


def run(url: str, jobs: int, version: str) -> list[str]:
    engine = create_engine_for(url)
    _tables(engine, version)
    queue = DatabaseQueue(engine=engine, table="jobs", connection_name="database")
    failed = DatabaseFailedJobStore(engine=engine, table="failed_jobs")
    dialect = dialect_named(FORMATS[version])
    dispatcher = Dispatcher(queue=queue, dialect=dialect)
    rows: list[tuple[str, float, float]] = []  # (what, SO seconds, bridge seconds)

    # --- dispatch ---
    so_push = float(_php(url, version, "push-noop", str(jobs)).stdout)
    _clear(engine)
    started = time.perf_counter()
    for n in range(jobs):
        dispatcher.dispatch(NOOP.new(n=n))
    single = time.perf_counter() - started
    _clear(engine)
    started = time.perf_counter()
    for first in range(0, jobs, 1000):
        dispatcher.bulk([NOOP.new(n=n) for n in range(first, min(first + 1000, jobs))])
    bulk = time.perf_counter() - started
    rows.append(("dispatch, one by one", so_push, single))
    rows.append(("dispatch, bridge bulk", so_push, bulk))

    # --- one worker ---
    def fill() -> None:
        _clear(engine)
        dispatcher.bulk([NOOP.new(n=n) for n in range(jobs)])

    fill()
    done = subprocess.run(
        ["php", str(DRIVER), str(SO / version), "work-timed", "default", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_php_env(url),
        check=True,
    )
    so_work = float(done.stderr.strip().splitlines()[-1])
    assert _count(engine) == 0
    app = App()
    app.register(NOOP.name, lambda job: None)
    logger = logging.getLogger("bench.so")
    logger.handlers[:] = [log_handler(stream=open(os.devnull, "w"))]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for prefetch in (1, 64):
        fill()
        worker = Worker(
            stores=Stores(queue=queue, failed=failed),
            app=app,
            logger=logger,
            options=WorkerOptions(
                stop_when_empty=True,
                sleep_seconds=0,
                memory_mb=0,
                tries=3,
                dialect=dialect,
                prefetch=prefetch,
            ),
        )
        started = time.perf_counter()
        worker.run()
        seconds = time.perf_counter() - started
        assert _count(engine) == 0
        rows.append((f"worker, bridge prefetch {prefetch}", so_work, seconds))

    # --- two workers of each kind (no SKIP LOCKED on the framework's side) ---
    def two(argv: list[str]) -> tuple[float, int, int]:
        """Wall time to drain with two processes; deadlock restarts; rows left behind."""
        fill()
        restarts = 0

        def start() -> tuple[subprocess.Popen[bytes], Any]:
            # Log lines to a file: a pipe read only at the end would fill and stop a worker.
            errors = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=errors, env=_php_env(url), cwd=BENCH
            )
            return proc, errors

        started = time.perf_counter()
        pending = [start(), start()]
        while pending:
            proc, errors = pending.pop(0)
            proc.wait()
            errors.seek(0)
            text = errors.read()[-4000:].decode(errors="replace")
            errors.close()
            if proc.returncode == 255 and "1213 Deadlock found" in text:
                restarts += 1  # as Supervisor's autorestart would
                pending.append(start())
            elif proc.returncode != 0:
                raise RuntimeError(f"worker exit {proc.returncode}: {text[-1000:]}")
        return time.perf_counter() - started, restarts, _count(engine)

    so_two, so_restarts, so_left = two(
        ["php", str(DRIVER), str(SO / version), "work", "default", "3"]
    )
    bridge_two, bridge_restarts, bridge_left = two(
        [
            str(Path(sys.executable).with_name("bridge")),
            "--database",
            url,
            "work",
            "--dialect",
            dialect.name,
            "--app",
            "so_noop_app:app",
            "--stop-when-empty",
            "--sleep",
            "0",
        ]
    )
    engine.dispose()
    load = os.getloadavg()
    lines = [
        *section_head(
            SECTION,
            f"python bench/bench_so.py --jobs {jobs} --version {version}",
            server=_server(url),
            load=load,
        ),
        f"- The SO framework at `{version}` ({dialect.name} payloads), PHP "
        f"{_php_version()}; {jobs:,} `SoFixture\\Noop` jobs per row; one run.",
        "",
        "| what | SO framework | bridge | bridge / SO |",
        "|---|---:|---:|---:|",
    ]
    for what, so_seconds, bridge_seconds in rows:
        lines.append(
            f"| {what} | {jobs / so_seconds:,.0f} jobs/s | {jobs / bridge_seconds:,.0f} jobs/s "
            f"| {so_seconds / bridge_seconds:.2f}x |"
        )
    lines.append(
        f"| two workers (processes, wall time to empty) | {jobs / so_two:,.0f} jobs/s "
        f"| {jobs / bridge_two:,.0f} jobs/s | {so_two / bridge_two:.2f}x |"
    )
    lines += [
        "",
        f"Two framework workers drain at {so_work / so_two:.2f}x the rate of one here (the "
        "machine is shared: single processes are held back by the load as much as by the "
        "database). Its reservation is `SELECT ... FOR UPDATE` without `SKIP LOCKED`: a "
        "second worker waits on the row lock of the first, and MariaDB picks deadlock "
        f"victims among them. In this run: {so_restarts} framework worker process(es) died "
        "of one in the reservation (exit 255, nothing reserved; restarted here as "
        f"Supervisor would), and {so_left} finished job(s) were left released for 90 s "
        "because their DELETE was the victim (the framework counts that as a job failure, "
        f"so the job runs again). bridge's two workers: {bridge_restarts} restarts, "
        f"{bridge_left} rows left. The two-worker rows include each process's start "
        "(a Python interpreter and its imports for bridge, PHP's for the framework).",
        "",
    ]
    return lines


def _server(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = str(conn.exec_driver_sql("SELECT VERSION()").scalar_one())
    engine.dispose()
    return version


def _php_version() -> str:
    return subprocess.run(
        ["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--version", choices=sorted(FORMATS), default="head")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with throwaway_database(args.url) as url:
        lines = run(url, args.jobs, args.version)
    print("\n".join(lines))
    if not args.no_write:
        write_section("\n".join(lines), SECTION)


if __name__ == "__main__":
    main()
