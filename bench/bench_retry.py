"""Benchmark: failed jobs moved back per second, `bridge retry-failed all` against Laravel's
own `queue:retry all` (Laravel 8.83 through php_fixtures/retry.php), on the same rows.

    python bench/bench_retry.py [--rows 2000] [--rounds 3] [--databases sqlite,mysql] [--write]

For each database: N failed rows (Laravel 12.67 payloads from the shared fixtures, each with
its own uuid, spread over three queues) are written, Laravel's command moves them, the
`jobs` table is emptied, the very same failed rows are written again and bridge's command
moves them. Both are timed as a user runs them: one process each, start-up included
(PHP ~0.1 s, Python ~0.5 s). Laravel does, per job, a SELECT, an INSERT and a DELETE in two
autocommitted statements; bridge one transaction (DELETE + INSERT). `--write` replaces the
`## retry-failed` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from results import write_section  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bridge.queue.database import create_engine_for  # noqa: E402
from bridge.queue.schema import make_failed_jobs_table  # noqa: E402
from tests.support.laravel import LaravelEnv  # noqa: E402

VECTORS = ROOT / "tests" / "vectors" / "laravel-fixtures"
SERVERS = {
    "mysql": os.environ.get(
        "BRIDGE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
    ),
    "postgres": os.environ.get(
        "BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
}


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A throwaway database: a SQLite file, or a new database on the server."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    url = make_url(SERVERS[kind])
    name = f"bridge_bench_{uuid.uuid4().hex[:8]}"
    quote = "`" if kind == "mysql" else '"'
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if kind == "postgres" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
        admin.dispose()


def failed_rows(count: int) -> list[dict[str, object]]:
    """`count` failed_jobs rows with distinct uuids."""
    templates = [
        json.loads(line)["payload"]
        for line in (VECTORS / "12.67.0.jsonl").read_text("utf-8").splitlines()
    ]
    rng = random.Random(7)
    rows = []
    for n in range(count):
        template = templates[n % len(templates)]
        new = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rows.append(
            {
                "uuid": new,
                "connection": "database",
                "queue": f"q{n % 3}",
                "payload": template.replace(json.loads(template)["uuid"], new),
                "exception": "RuntimeException: benchmark",
                "failed_at": datetime(2026, 11, 1, 8, 0, n % 60),
            }
        )
    return rows


def reset(url: str, rows: list[dict[str, object]]) -> None:
    """Empty `jobs` and `failed_jobs`, then write the failed rows."""
    engine = create_engine_for(url)
    try:
        failed = make_failed_jobs_table(sa.MetaData())
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM jobs"))
            conn.execute(failed.delete())
            for start in range(0, len(rows), 1000):
                conn.execute(failed.insert(), rows[start : start + 1000])
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int]:
    """Rows in `jobs` and in `failed_jobs`."""
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            jobs = conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one()
            failed = conn.execute(sa.text("SELECT COUNT(*) FROM failed_jobs")).scalar_one()
        return int(jobs), int(failed)
    finally:
        engine.dispose()


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one command takes; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def bench(kind: str, rows: list[dict[str, object]], rounds: int) -> tuple[float, float]:
    """(Laravel rows/s, bridge rows/s) on one database, the best of `rounds` alternations."""
    best = (0.0, 0.0)
    for _ in range(rounds):
        php_rate, py_rate = bench_once(kind, rows)
        best = (max(best[0], php_rate), max(best[1], py_rate))
    return best


def bench_once(kind: str, rows: list[dict[str, object]]) -> tuple[float, float]:
    """(Laravel rows/s, bridge rows/s) on one fresh database."""
    with database(kind) as url:
        # The fixtures' key: Laravel's retry unserializes (and decrypts) each command.
        app_key = json.loads((VECTORS / "manifest.json").read_text("utf-8"))["app_key"]
        laravel = LaravelEnv(database_url=url, php_binary="php", app_key=app_key)
        laravel.migrate(fresh=True, only="queue")
        reset(url, rows)
        php_seconds = timed(laravel.command("retry.php", "all"), laravel.environ())
        assert counts(url) == (len(rows), 0), counts(url)
        reset(url, rows)
        bridge = [str(Path(sys.executable).with_name("bridge")), "--database", url]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "BRIDGE_"))}
        py_seconds = timed([*bridge, "retry-failed", "all", "--yes"], env)
        assert counts(url) == (len(rows), 0), counts(url)
    return len(rows) / php_seconds, len(rows) / py_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternations; best is kept")
    parser.add_argument("--databases", default="sqlite,mysql,postgres")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    rows = failed_rows(args.rows)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "| database | Laravel queue:retry rows/s | bridge retry-failed rows/s | bridge / Laravel |",
        "|---|---:|---:|---:|",
    ]
    for kind in args.databases.split(","):
        php_rate, py_rate = bench(kind, rows, args.rounds)
        lines.append(f"| {kind} | {php_rate:,.0f} | {py_rate:,.0f} | {py_rate / php_rate:.2f} |")
        print(lines[-1], flush=True)
    section = "\n".join(
        [
            "## retry-failed",
            "",
            f"- Date: {datetime.now().date()}; "
            f"`python bench/bench_retry.py --rows {args.rows} --rounds {args.rounds}`",
            f"- Machine: {os.cpu_count()} CPUs, {platform.machine()}, "
            f"Python {platform.python_version()}; load average at start {load}",
            "- Same failed rows for both (Laravel 12.67 payloads, uuid layout); each command",
            "  timed as one process, start-up included; Laravel: SELECT + INSERT + DELETE per",
            "  job, two commits; bridge: 100 jobs per transaction, each moved whole or not at",
            "  all (lock, DELETE, INSERT per job, one commit per chunk). Runs",
            "  alternate, best of the rounds for each; the shared 2-CPU machine makes single",
            "  runs vary by up to 2x, so read the ratios as rough.",
            "",
            *lines,
            "",
        ]
    )
    print(section)
    if args.write:
        write_section(section, "## retry-failed")


if __name__ == "__main__":
    main()
