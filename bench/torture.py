"""The torture runs at full size, published in bench/RELIABILITY.md.

    python bench/torture.py [--only poison,hostile,kill,retry,restart,mixed] [--seed N]
        [--scale full|NUMBER] [--no-write]

The scenarios are the ones tests/integration/torture runs at CI size (the code lives in
tests/support/torture*.py); here they run at the sizes of the reliability goals: 200 poison rows
among 2,000 good jobs and the hostile payloads on SQLite, MariaDB and PostgreSQL; 50 SIGKILLs of
workers over 5,000 jobs and 10 of `retry-failed` over 10,000 failed rows (MariaDB); two server
restarts of a private MariaDB during a 20,000-job drain; 4 bridge + 2 Laravel workers on
20,000 jobs on MariaDB and on PostgreSQL. Each run's section of bench/RELIABILITY.md is
rewritten with the machine, the date, the seed, the sizes, the counts and the times; a run
that breaks a promise is published with what broke, and the script exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.integration.resilience.private_mariadb import PrivateMariaDB  # noqa: E402
from tests.support.torture import SCALE_ENV, SEED_ENV, machine, seeded, size  # noqa: E402
from tests.support.torture_kill import WORKERS, run_kills, run_retry_crash  # noqa: E402
from tests.support.torture_load import (  # noqa: E402
    BRIDGE_PREFETCH,
    LARAVEL_WORKERS,
    run_db_restart,
    run_mixed,
)
from tests.support.torture_rows import (  # noqa: E402
    MAX_WORKER_RSS_MIB,
    BadRow,
    BadRowsResult,
    good_payloads,
    hostile_catalogue,
    poison_catalogue,
    run_bad_rows,
)

RELIABILITY = BENCH / "RELIABILITY.md"
MYSQL = os.environ.get("BRIDGE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES = os.environ.get(
    "BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCENARIOS = ("poison", "hostile", "kill", "retry", "restart", "mixed")
_TITLE = (
    "# Reliability figures\n\n"
    "What bridge survives, measured. Each section says how to run it again.\n"
)


def write_section(text: str, heading: str) -> None:
    """Replace the section of RELIABILITY.md that starts with `heading`, or append it."""
    whole = RELIABILITY.read_text("utf-8") if RELIABILITY.exists() else _TITLE
    body = text.rstrip("\n") + "\n"
    start = whole.find(heading + "\n")
    if start == -1:
        whole = whole.rstrip("\n") + "\n\n" + body
    else:
        following = whole.find("\n## ", start + len(heading))
        rest = "" if following == -1 else "\n" + whole[following + 1 :]
        whole = whole[:start] + body + rest
    RELIABILITY.write_text(whole, "utf-8")


@contextmanager
def throwaway(server_url: str) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards; yields its URL."""
    name = f"bridge_torture_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    postgres = admin.dialect.name == "postgresql"
    quoted = f'"{name}"' if postgres else f"`{name}`"
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE {quoted}" + ("" if postgres else " CHARACTER SET utf8mb4")
        )
    try:
        url = make_url(server_url).set(database=name)
        if not postgres:
            url = url.update_query_dict({"charset": "utf8mb4"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"DROP DATABASE IF EXISTS {quoted}" + (" WITH (FORCE)" if postgres else "")
            )
        admin.dispose()


@contextmanager
def each_database(folder: Path) -> Iterator[list[tuple[str, str]]]:
    """(name, url) of a fresh SQLite file, MariaDB database and PostgreSQL database."""
    with throwaway(MYSQL) as mysql, throwaway(POSTGRES) as postgres:
        yield [
            ("SQLite", f"sqlite:///{folder / 'queue.sqlite'}"),
            ("MariaDB", mysql),
            ("PostgreSQL", postgres),
        ]


def head(heading: str, command: str, seed: int | None, started: float) -> list[str]:
    load = os.getloadavg()
    replay = f"; seed {seed} (`{SEED_ENV}={seed}` replays it)" if seed is not None else ""
    return [
        heading,
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `{command}`{replay};"
        f" {time.monotonic() - started:.0f} s in all",
        f"- Machine: {machine()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        " at the end; MariaDB and PostgreSQL on 127.0.0.1",
    ]


def verdict(problems: list[str]) -> list[str]:
    if not problems:
        return ["", "Every promise held (the test's checks, run at this size, found nothing)."]
    return ["", "**Broken promises:**", "", *[f"- {p.splitlines()[0][:300]}" for p in problems]]


def bad_rows_table(results: list[tuple[str, BadRowsResult]]) -> list[str]:
    lines = [
        "",
        "| Database | Good jobs | Bad rows | Good jobs run once | Bad rows failed intact "
        "| Bad rows run once (edge values) | Workers alive | Left in jobs | Peak RSS (MiB) "
        "| Time |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, r in results:
        bad_ran, once, failed_intact = r.bad_ran_once, r.good_once, len(r.failed)
        lines.append(
            f"| {name} | {r.good:,} | {len(r.bad):,} | {once:,} | {failed_intact:,} | {bad_ran} "
            f"| {'yes' if all(r.alive_at_end) else 'NO'} | {r.left_in_jobs} "
            f"| {max(r.peak_rss_mib or [0]):.0f} | {r.seconds:.1f} s |"
        )
    return lines


def reasons_table(results: list[tuple[str, BadRowsResult]]) -> list[str]:
    kinds: dict[str, str] = {}
    for _, r in results:
        for kind, reason in r.reasons.items():
            kinds.setdefault(kind, reason)
    lines = ["", "| Row | Outcome (first line of failed_jobs.exception) |", "|---|---|"]
    for kind, reason in kinds.items():
        short = reason.split(" in /")[0].replace("|", "\\|")[:140]
        lines.append(f"| {kind} | `{short}` |")
    return lines


def poison(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    results = []
    problems: list[str] = []
    with each_database(folder) as databases:
        for name, url in databases:
            rng, seed = seeded(f"poison rows on {name}")
            seed_note.append(seed)
            sqlite = name == "SQLite"
            bad: list[BadRow] = poison_catalogue(lambda: str(uuid.uuid4()), sqlite=sqlite)
            while len(bad) < size(0, 200):
                bad += [
                    r
                    for r in poison_catalogue(lambda: str(uuid.uuid4()), sqlite=sqlite)
                    if r.kind != "10 MB payload"
                ]
            good = size(300, 2000)
            work = folder / f"poison-{name}"
            work.mkdir()
            result = run_bad_rows(
                url,
                work,
                good=good,
                bad=bad,
                rng=rng,
                good_rows=good_payloads(good, lambda: str(uuid.uuid4())),
            )
            results.append((name, result))
            problems += [f"{name}: {p}" for p in result.problems()]
    lines = head(
        "## Torture: poison rows", "python bench/torture.py --only poison", seed_note[-1], started
    )
    lines += [
        "",
        "Malformed rows written straight into `jobs` in a random order among good jobs (every"
        " fourth one encrypted), drained by two `bridge work` daemons (prefetch 1 and 32,"
        " `--tries 3`). Each bad row must land in `failed_jobs` byte for byte with a reason"
        " whose class is a bridge error (or Laravel's MaxAttemptsExceeded for `attempts` at"
        " 255), first line at most 2,000 characters; rows with values at the edge"
        " (`1e400`, a lone surrogate, JSON 1,000 deep, a UTF-8 BOM) may instead run, exactly"
        " once. Invalid UTF-8 and UTF-16 rows exist only on SQLite (MariaDB and PostgreSQL"
        " refuse them at the INSERT).",
        *bad_rows_table(results),
        *reasons_table(results),
        *verdict(problems),
    ]
    write(lines, "## Torture: poison rows")
    return problems


def hostile(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    results = []
    problems: list[str] = []
    with each_database(folder) as databases:
        for name, url in databases:
            rng, seed = seeded(f"hostile payloads on {name}")
            seed_note.append(seed)
            work = folder / f"hostile-{name}"
            work.mkdir()
            canary = work / "pwned"
            good = size(50, 500)
            result = run_bad_rows(
                url,
                work,
                good=good,
                bad=hostile_catalogue(lambda: str(uuid.uuid4()), canary=canary),
                rng=rng,
                good_rows=good_payloads(good, lambda: str(uuid.uuid4())),
            )
            if canary.exists():
                result.problems_found.append("a payload's shell command ran")
            results.append((name, result))
            problems += [f"{name}: {p}" for p in result.problems()]
    lines = head(
        "## Torture: hostile payloads",
        "python bench/torture.py --only hostile",
        seed_note[-1],
        started,
    )
    lines += [
        "",
        "Rows written to attack the worker: job classes named like Python callables"
        " (`os.system`, `builtins.exec`, `subprocess.Popen`, `__import__`, and a test module"
        " whose import writes a canary file) as `O:` commands and as `Class@method` string"
        " jobs, each carrying a shell command that would create a file; `a:999999999:{`,"
        " `s:999999999999:`, PHP nesting 100,000 deep, JSON nesting 100,000 deep in the"
        " payload and in an encrypted envelope, and encrypted commands with one byte of the iv,"
        " the value or the mac changed. Promise: no code runs (no canary, no file), no memory"
        f" blow-up (worker peak RSS under {MAX_WORKER_RSS_MIB:.0f} MiB), a clear reason, the"
        " row kept byte for byte, the good jobs run once.",
        *bad_rows_table(results),
        *reasons_table(results),
        *verdict(problems),
    ]
    write(lines, "## Torture: hostile payloads")
    return problems


def kill(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    jobs, kills = size(600, 5000), size(6, 50)
    with throwaway(MYSQL) as url:
        rng, seed = seeded("kill -9")
        result = run_kills(url, folder, jobs=jobs, kills=kills, rng=rng, seed=seed)
    problems = result.problems()
    by_worker = ", ".join(
        f"{name}: {result.kills_by_worker.get(name, 0)} kills, "
        f"{result.reruns_finished_by_worker.get(name, 0)} finished jobs re-run"
        for name in WORKERS
    )
    lines = head("## Torture: kill -9", "python bench/torture.py --only kill", seed, started)
    lines += [
        "",
        f"{jobs:,} jobs on MariaDB (one in ten raises on every attempt, `--tries 3`), drained"
        " by three `bridge work` daemons at once: prefetch 1; prefetch 64 reading ahead; a"
        " `--concurrency 2` pool. Each time the record reached a random number of started jobs,"
        " one daemon chosen at random got SIGKILL (the pool: its parent only) and was started"
        " again. The handler fsyncs a line when it starts and when it ends each job.",
        "",
        "| Figure | Value |",
        "|---|---:|",
        f"| SIGKILLs | {len(result.kills)} |",
        f"| Jobs lost | {len(result.lost)} |",
        f"| Jobs in failed_jobs twice | {len(result.failed_twice)} |",
        f"| Re-runs of jobs killed mid-run | {result.reruns_mid_run} |",
        f"| Re-runs of finished jobs whose row was not yet deleted | {result.reruns_finished} |",
        f"| Re-runs no kill explains | {len(result.unexplained_reruns)} |",
        f"| Good jobs failed because kills used up their 3 tries | {result.failed_by_kills} |",
        f"| Pool children alive after their parent's SIGKILL | "
        f"{sum(len(k.orphans) for k in result.kills)} |",
        f"| Time | {result.seconds:.1f} s |",
        "",
        f"By worker: {by_worker}.",
        *verdict(problems),
    ]
    write(lines, "## Torture: kill -9")
    return problems


def retry(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    rows, kills = size(1000, 10_000), size(3, 10)
    with throwaway(MYSQL) as url:
        rng, seed = seeded("retry-failed kill")
        result = run_retry_crash(url, folder, rows=rows, kills=kills, rng=rng, seed=seed)
    landed = [at for _, at in result.kills if at is not None]
    problems = result.problems()
    lines = head(
        "## Torture: retry-failed killed", "python bench/torture.py --only retry", seed, started
    )
    lines += [
        "",
        f"{rows:,} rows in `failed_jobs` on MariaDB; `bridge retry-failed all --yes` started"
        " and SIGKILLed whenever `jobs` reached a random count, then started again; after each"
        " kill every job was checked to be in exactly one of the two tables; a last run moved"
        " the rest.",
        "",
        f"- SIGKILLs that landed: {len(landed)} of {len(result.kills)}, at {landed} rows moved",
        f"- After every kill: each of the {rows:,} jobs in exactly one table:"
        f" {'yes' if not problems else 'NO'}; at the end all in `jobs`, payloads byte for byte",
        f"- Time, kills and reruns included: {result.seconds:.1f} s",
        *verdict(problems),
    ]
    write(lines, "## Torture: retry-failed killed")
    return problems


def restart(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    jobs = size(3000, 20_000)
    server = PrivateMariaDB()
    try:
        server.start()
        rng, seed = seeded("database restart")
        result = run_db_restart(server, folder, jobs=jobs, rng=rng, seed=seed)
    finally:
        server.remove()
    problems = result.problems()
    outages = "; ".join(
        f"{how} at {at:,} started jobs, down {secs:.1f} s" for at, how, secs in result.restarts
    )
    lines = head(
        "## Torture: database restarts", "python bench/torture.py --only restart", seed, started
    )
    lines += [
        "",
        f"{jobs:,} jobs on a private MariaDB, drained by two `bridge work` daemons (prefetch 1"
        " and 64); the server was stopped twice at random points, once by SIGKILL (a crash)"
        " and once by SIGTERM (a clean shutdown), and started again once every worker had"
        " logged the outage or exited. The run supervised the workers: one that exited was"
        " started again.",
        "",
        f"- Outages: {outages}",
        f"- Jobs lost: {result.lost}; run twice (finished while their DELETE could not"
        f" commit): {result.ran_twice}",
        f"- Worker exits during the run (exit codes): {result.worker_exits or 'none'}",
        f"- Worker log: {result.log_lines:,} lines in all (one per job start and end, plus"
        f" the outages), {result.tracebacks} tracebacks",
        f"- Time: {result.seconds:.1f} s",
        *verdict(problems),
    ]
    write(lines, "## Torture: database restarts")
    return problems


def mixed(folder: Path, seed_note: list[int]) -> list[str]:
    started = time.monotonic()
    jobs = size(1500, 20_000)
    php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True)
    rows = []
    problems: list[str] = []
    for name, server in (("MariaDB", MYSQL), ("PostgreSQL", POSTGRES)):
        with throwaway(server) as url:
            work = folder / f"mixed-{name}"
            work.mkdir()
            result = run_mixed(url, work, php_binary="php", jobs=jobs)
        problems += [f"{name}: {p}" for p in result.problems()]
        rows.append(
            f"| {name} | {jobs:,} | {result.lost} | {result.duplicated} | {result.failed} "
            f"| {result.by_language.get('python', 0):,} | {result.by_language.get('php', 0):,} "
            f"| {result.seconds:.1f} s | {jobs / max(result.seconds, 1e-9):,.0f} |"
        )
    lines = head(
        "## Torture: bridge and Laravel workers together",
        "python bench/torture.py --only mixed",
        0,
        started,
    )
    lines += [
        "",
        f"Jobs queued by Laravel 8.83 (`Queue::bulk`, PHP {php.stdout.strip()}), drained by"
        f" {len(BRIDGE_PREFETCH)} `bridge work` daemons (prefetch"
        f" {', '.join(map(str, BRIDGE_PREFETCH))}) and {LARAVEL_WORKERS} Laravel `queue:work`"
        " daemons at once, `--tries 1`; each handler commits a `fixture_job_log` row before"
        " it returns.",
        "",
        "| Database | Jobs | Lost | Run twice | Failed | Run by bridge | Run by Laravel | Time "
        "| Jobs/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        *verdict(problems),
    ]
    write(lines, "## Torture: bridge and Laravel workers together")
    return problems


_write_enabled = True


def write(lines: list[str], heading: str) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if _write_enabled:
        write_section(text, heading)


RUNS: dict[str, Callable[[Path, list[int]], list[str]]] = {
    "poison": poison,
    "hostile": hostile,
    "kill": kill,
    "retry": retry,
    "restart": restart,
    "mixed": mixed,
}


def main() -> int:
    global _write_enabled
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--seed", type=int)
    parser.add_argument("--scale", default="full")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    _write_enabled = not args.no_write
    os.environ[SCALE_ENV] = args.scale
    if args.seed is not None:
        os.environ[SEED_ENV] = str(args.seed)
    broken: list[str] = []
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bridge-torture-{name}-") as folder:
            broken += RUNS[name.strip()](Path(folder), [])
    for line in broken:
        print("BROKEN:", line.splitlines()[0], file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
