"""Worker throughput: bridge's `Worker` against Laravel 8's `queue:work`, same jobs, same table.

    python bench/bench_worker.py [--url mysql+pymysql://root@127.0.0.1:3306/test]
        [--jobs 5000] [--memory-jobs 100000] [--rounds 1] [--no-write] [--laravel 8|12|13]

One run on a throwaway database it creates and drops, on the server of `--url` (MariaDB by
default; a `postgresql+psycopg://` URL measures PostgreSQL):

* the same N trivial jobs (`Bench\\NoopJob`, a handler that does nothing, queued by bridge's
  `Dispatcher.bulk` with the Laravel 8 profile) drained by Laravel's worker (`work.php
  --stop-when-empty --sleep=0`, the job class loaded with `auto_prepend_file`), then by bridge's
  `Worker` with `prefetch` 1, 16 and 64 (log lines at INFO to /dev/null, as `bridge work` logs);
* in the same run, the raw SQL limits from `bench_queue_sql.py`: Laravel's one-at-a-time
  statements and 16 / 64 rows per transaction with one UPDATE and one DELETE per batch;
* a drain of `--memory-jobs` jobs (prefetch 64) with the RSS read at its first, middle and
  last job.

Prints the table with ratios and rewrites the `## Worker` section of bench/RESULTS.md
(`## Worker (PostgreSQL)` for PostgreSQL).

`--laravel 13` (or 12) names the PHP peer's Laravel: its worker then runs under PHP 8.3 as
WebAssembly (see `peer.py`), on jobs bridge dispatched with that version's profile, against
bridge's worker at prefetch 1 and 64 on the same jobs. That PHP is far slower than native, so
the run writes its own "also measured" section and leaves the goals' sections alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import sqlalchemy as sa
from bench_queue_sql import fill as raw_fill
from bench_queue_sql import raw_reserve_delete
from peer import Peer
from results import database_head, on_postgres, write_section
from sqlalchemy.engine import make_url

from bridge.dispatcher import Dispatcher
from bridge.laravel.classes import JobClass, Prop
from bridge.queue import Stores
from bridge.queue.database import (
    DatabaseBatchStore,
    DatabaseFailedJobStore,
    DatabaseQueue,
    create_engine_for,
)
from bridge.queue.schema import migrate
from bridge.worker import App, Job, Worker, WorkerOptions, log_handler
from bridge.worker.worker import rss_bytes

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SECTION = "## Worker"
SECTION_POSTGRES = "## Worker (PostgreSQL)"
NOOP_PHP = BENCH / "php" / "noop_job.php"
NATIVE = Peer("8")
WORK_PHP = ROOT / "php_fixtures" / "work.php"
QUEUE = "bench"
CHUNK = 500

#: `Bench\NoopJob` of bench/php/noop_job.php, declared for bridge's payload builder.
NOOP = JobClass(name="Bench\\NoopJob", properties=(Prop("n", type="int", default=0),))


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards; yields its URL."""
    name = f"bridge_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    postgres = admin.dialect.name == "postgresql"
    with admin.connect() as conn:
        if postgres:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        else:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if postgres:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


def harness_environ(url: str) -> dict[str, str]:
    """The environment php_fixtures scripts read, for the database at `url`."""
    parsed = make_url(url)
    postgres = on_postgres(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "QUEUE_"))}
    env.update(
        DB_CONNECTION="pgsql" if postgres else "mysql",
        DB_HOST=parsed.host or "127.0.0.1",
        DB_PORT=str(parsed.port or (5432 if postgres else 3306)),
        DB_DATABASE=parsed.database or "",
        DB_USERNAME=parsed.username or "",
        DB_PASSWORD=parsed.password or "",
        QUEUE_RETRY_AFTER="90",
    )
    return env


def pymysql_connect(url: str) -> Any:
    parsed = make_url(url)
    return pymysql.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 3306,
        user=parsed.username or "root",
        password=parsed.password or "",
        database=parsed.database,
        charset="utf8mb4",
    )


class _PsycopgRaw:
    """A psycopg connection with the pymysql calls the raw loops make that it lacks
    (`begin`: psycopg opens a transaction with the first statement by itself)."""

    def __init__(self, url: str) -> None:
        import psycopg

        parsed = make_url(url)
        self._conn = psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "root",
            password=parsed.password or "",
            dbname=parsed.database,
        )
        self.cursor = self._conn.cursor
        self.commit = self._conn.commit
        self.close = self._conn.close

    def begin(self) -> None:
        pass

    def autocommit(self, on: bool) -> None:
        self._conn.autocommit = on


def raw_connect(url: str) -> Any:
    """A plain DBAPI connection for the raw loop (pymysql, or psycopg for PostgreSQL)."""
    if on_postgres(url):
        return _PsycopgRaw(url)
    return pymysql_connect(url)


def fill(dispatcher: Dispatcher, count: int) -> None:
    """Queue `count` no-op jobs with bridge's bulk dispatch (500 per INSERT)."""
    for start in range(0, count, CHUNK):
        jobs = [NOOP.new(n=i) for i in range(start, min(start + CHUNK, count))]
        dispatcher.bulk(jobs, queue=QUEUE)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def laravel_drain(url: str, peer: Peer | None = None) -> None:
    """Laravel's `queue:work --stop-when-empty` until the bench queue is empty."""
    peer = peer or NATIVE
    argv = [
        *peer.php(),
        "-d",
        f"auto_prepend_file={NOOP_PHP}",
        str(WORK_PHP),
        f"--queue={QUEUE}",
        "--stop-when-empty",
        "--sleep=0",
        "--tries=1",
    ]
    done = subprocess.run(
        argv,
        env=peer.environ(harness_environ(url)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"queue:work exited {done.returncode}: {done.stderr[-2000:]!r}")


def bridge_worker(
    queue: DatabaseQueue, app: App, prefetch: int, *, read_ahead: bool = True
) -> Worker:
    """The worker as `bridge work` sets it up (batch bookkeeping included)."""
    return Worker(
        stores=Stores(
            queue=queue,
            failed=DatabaseFailedJobStore(engine=queue.engine),
            batches=DatabaseBatchStore(engine=queue.engine),
        ),
        app=app,
        options=WorkerOptions(
            queues=(QUEUE,),
            stop_when_empty=True,
            sleep_seconds=0,
            prefetch=prefetch,
            read_ahead=read_ahead,
        ),
    )


def check_drained(queue: DatabaseQueue, failed: DatabaseFailedJobStore) -> None:
    left = queue.size(QUEUE)
    with queue.engine.connect() as conn:
        failures = conn.execute(sa.select(sa.func.count()).select_from(failed.table)).scalar()
    if left or failures:
        raise RuntimeError(f"drain incomplete: {left} jobs left, {failures} failed")


def versions(url: str, peer: Peer | None = None) -> tuple[str, str]:
    peer = peer or NATIVE
    with sa.create_engine(url).connect() as conn:
        server = str(conn.exec_driver_sql("SELECT VERSION()").scalar())
    php = subprocess.run(
        [*peer.php(), "-r", "echo PHP_VERSION;"],
        capture_output=True,
        text=True,
        env=peer.environ(dict(os.environ)),
    )
    return server, php.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--memory-jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each drain; best counts")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--laravel", default="8", choices=["8", "12", "13"], help="PHP peer")
    args, _ = parser.parse_known_args()
    n = args.jobs
    if args.laravel != "8":
        peer_main(args, Peer(args.laravel))
        return

    # `bridge work` logs two lines per job; send them where Laravel's go: nowhere.
    devnull = open(os.devnull, "w")
    logger = logging.getLogger("bridge")
    logger.addHandler(log_handler(stream=devnull))
    logger.setLevel(logging.INFO)

    load = os.getloadavg()
    with throwaway_database(args.url) as url:
        engine = create_engine_for(url)
        migrate(engine)
        migrate(engine, jobs_table="raw_jobs", failed_table="raw_failed", batches_table="raw_b")
        queue = DatabaseQueue(engine=engine)
        failed = DatabaseFailedJobStore(engine=engine)
        dispatcher = Dispatcher(queue=queue, profile="8")
        app = App(name="bench")
        app.register(NOOP.name, lambda job: None)
        rates: dict[str, float] = {}

        raw = raw_connect(url)
        for _ in range(args.rounds):
            fill(dispatcher, n)
            rate = n / timed(lambda: laravel_drain(url))
            check_drained(queue, failed)
            rates["laravel"] = max(rates.get("laravel", 0.0), rate)
            print(f"laravel queue:work: {rates['laravel']:,.0f} jobs/s", file=sys.stderr)
            for batch in (1, 16, 64):
                fill(dispatcher, n)
                rate = n / timed(lambda b=batch: bridge_worker(queue, app, b).run())
                check_drained(queue, failed)
                rates[f"bridge{batch}"] = max(rates.get(f"bridge{batch}", 0.0), rate)
                if batch > 1:
                    fill(dispatcher, n)
                    rate = n / timed(
                        lambda b=batch: bridge_worker(queue, app, b, read_ahead=False).run()
                    )
                    check_drained(queue, failed)
                    key = f"bridge{batch}-sync"
                    rates[key] = max(rates.get(key, 0.0), rate)
                raw_fill(raw, "raw_jobs", n)
                rate = n / timed(lambda b=batch: raw_reserve_delete(raw, "raw_jobs", b))
                rates[f"raw{batch}"] = max(rates.get(f"raw{batch}", 0.0), rate)
                print(
                    f"prefetch {batch}: bridge {rates[f'bridge{batch}']:,.0f}"
                    f" (no read-ahead {rates.get(f'bridge{batch}-sync', 0):,.0f})"
                    f" raw {rates[f'raw{batch}']:,.0f} jobs/s",
                    file=sys.stderr,
                )
        raw.close()

        memory = measure_memory(dispatcher, queue, args.memory_jobs)
        check_drained(queue, failed)
        server, php = versions(url)
        engine.dispose()
    devnull.close()
    heading = SECTION_POSTGRES if on_postgres(args.url) else SECTION
    section = render(args, rates, memory, server=server, php=php, load=load, heading=heading)
    print(section)
    if not args.no_write:
        write_section(section, heading)


def peer_main(args: argparse.Namespace, peer: Peer) -> None:
    """Laravel `peer`'s worker (WebAssembly PHP) against bridge's, on that version's payloads."""
    n = args.jobs
    devnull = open(os.devnull, "w")
    logger = logging.getLogger("bridge")
    logger.addHandler(log_handler(stream=devnull))
    logger.setLevel(logging.INFO)
    load = os.getloadavg()
    rates: dict[str, float] = {}
    with throwaway_database(args.url) as url:
        engine = create_engine_for(url)
        migrate(engine)
        queue = DatabaseQueue(engine=engine)
        failed = DatabaseFailedJobStore(engine=engine)
        dispatcher = Dispatcher(queue=queue, profile=peer.laravel)
        app = App(name="bench")
        app.register(NOOP.name, lambda job: None)
        for _ in range(args.rounds):
            fill(dispatcher, n)
            rate = n / timed(lambda: laravel_drain(url, peer))
            check_drained(queue, failed)
            rates["laravel"] = max(rates.get("laravel", 0.0), rate)
            print(
                f"Laravel {peer.framework} worker: {rates['laravel']:,.1f} jobs/s", file=sys.stderr
            )
            for batch in (1, 64):
                fill(dispatcher, n)
                rate = n / timed(lambda b=batch: bridge_worker(queue, app, b).run())
                check_drained(queue, failed)
                rates[f"bridge{batch}"] = max(rates.get(f"bridge{batch}", 0.0), rate)
        server, php = versions(url, peer)
        engine.dispose()
    devnull.close()
    heading = f"## Worker, also measured: Laravel {peer.framework} on WebAssembly PHP"
    command = (
        f"python bench/bench_worker.py --laravel {peer.laravel} --jobs {n} --rounds {args.rounds}"
    )
    laravel = rates["laravel"]
    head = database_head(heading, command, url=args.url, server=server, php=php, load=load)
    lines = [
        *(line.replace("Debian's Laravel 8.83", f"Laravel {peer.framework}") for line in head),
        f"- PHP peer: {peer.describe(php)}; its worker is Laravel's own `Illuminate\\Queue\\Worker`"
        " (`daemon`, stop when empty) booted by `php_fixtures/work.php` without the `queue:work`"
        " command. WebAssembly PHP is far slower than native PHP (a MariaDB statement takes"
        " ~45 ms from it against ~0.5 ms natively), so this row says nothing about Laravel"
        " 13 itself: the goals compare bridge with native Laravel 8 (`## Worker`)."
        " Compare the rows with each other: the load average at start says how busy the"
        " shared machine was.",
        f"- {n:,} trivial jobs (`Bench\\NoopJob`, empty handler, Laravel {peer.laravel} payload"
        " written by bridge's `Dispatcher`) per drain, one process each, same table.",
        "",
        "| drain | jobs/s | x this Laravel's worker |",
        "|---|---:|---:|",
        f"| Laravel {peer.framework} `Worker` (WebAssembly PHP) | {laravel:,.1f} | 1.0 |",
    ]
    for batch in (1, 64):
        bridge = rates[f"bridge{batch}"]
        lines.append(
            f"| bridge `Worker`, prefetch {batch} | {bridge:,.0f} | {bridge / laravel:,.0f} |"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_write:
        write_section(section, heading)


def measure_memory(
    dispatcher: Dispatcher, queue: DatabaseQueue, count: int
) -> list[tuple[int, int]]:
    """Drain `count` jobs (prefetch 64); RSS at the first, middle and last job."""
    marks = {1, count // 2, count}
    samples: list[tuple[int, int]] = []
    seen = 0

    def handler(job: Job) -> None:
        nonlocal seen
        seen += 1
        if seen in marks:
            samples.append((seen, rss_bytes()))

    app = App(name="bench-memory")
    app.register(NOOP.name, handler)
    fill(dispatcher, count)
    started = time.perf_counter()
    bridge_worker(queue, app, 64).run()
    elapsed = time.perf_counter() - started
    print(f"memory drain: {count / elapsed:,.0f} jobs/s, samples {samples}", file=sys.stderr)
    return samples


def render(
    args: argparse.Namespace,
    rates: dict[str, float],
    memory: list[tuple[int, int]],
    *,
    server: str,
    php: str,
    load: tuple[float, float, float],
    heading: str,
) -> str:
    laravel = rates["laravel"]
    command = (
        f"python bench/bench_worker.py --jobs {args.jobs} --memory-jobs {args.memory_jobs}"
        f" --rounds {args.rounds}"
    )
    lines = [
        *database_head(heading, command, url=args.url, server=server, php=php, load=load),
        f"- {args.jobs:,} trivial jobs (`Bench\\NoopJob`, empty handler, Laravel 8 payload) per"
        " drain, one process each, same table; bridge logs its two INFO lines per job to"
        " /dev/null, Laravel's worker its two stdout lines. raw = `bench_queue_sql.py`'s"
        " DBAPI loop (pymysql; psycopg on PostgreSQL) with no handler at all (Laravel's"
        " statements at 1/txn; one UPDATE and"
        " one DELETE per batch otherwise, two commits per batch); bridge deletes a batch's"
        " finished rows in the transaction that reserves the next batch (one commit per"
        " batch), and with prefetch reads ahead (the next batch reserved while one runs,"
        " statements sent and answers read between jobs) unless the row says no"
        " read-ahead. Best of the rounds for each row. Every commit waits for an fsync: read"
        " ratios as +-30 %, the 1-row/txn rows even more.",
        "",
        "| drain | jobs/s | x Laravel's worker | bridge / raw at same batch |",
        "|---|---:|---:|---:|",
        f"| Laravel 8 `queue:work` | {laravel:,.0f} | 1.0 | |",
    ]
    for batch in (1, 16, 64):
        raw = rates[f"raw{batch}"]
        for key, label in ((f"bridge{batch}", ""), (f"bridge{batch}-sync", ", no read-ahead")):
            if key in rates:
                bridge = rates[key]
                lines.append(
                    f"| bridge `Worker`, prefetch {batch}{label} | {bridge:,.0f}"
                    f" | {bridge / laravel:.1f} | {bridge / raw:.2f} |"
                )
    for batch in (1, 16, 64):
        raw = rates[f"raw{batch}"]
        lines.append(f"| raw SQL, {batch} row(s)/txn | {raw:,.0f} | {raw / laravel:.1f} | |")
    lines += ["", f"Memory over a {args.memory_jobs:,}-job drain (prefetch 64), RSS:", ""]
    lines += [f"- after job {seen:,}: {rss / 2**20:.1f} MiB" for seen, rss in memory]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
