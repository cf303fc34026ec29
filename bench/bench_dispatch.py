"""Dispatch throughput: bridge's `Dispatcher` against Laravel 8's `dispatch()` and raw INSERTs.

    python bench/bench_dispatch.py [--url mysql+pymysql://root@127.0.0.1:3306/test]
        [--jobs 3000] [--bulk-jobs 20000] [--rounds 1] [--no-write] [--laravel 8|12|13]

One run on a throwaway database it creates and drops (MariaDB by default; a
`postgresql+psycopg://` URL measures PostgreSQL), all with the same kind of job
(`Fixtures\\Jobs\\RecordsOnly(n, tag)`, Laravel 8 payload):

* single: Laravel's `dispatch()` in a loop inside one booted PHP process
  (`bench/php/time_dispatch.php`, boot excluded); bridge's `Dispatcher.dispatch` in a loop
  (payload built per job, one INSERT each); bridge's `DatabaseQueue.push` and a raw pymysql
  autocommit INSERT (Laravel's statement) of the same payload texts, ready-made;
* bulk: bridge's `Dispatcher.bulk` in chunks of 500 (payloads built); `DatabaseQueue.bulk` and
  a raw 500-row multi-row INSERT of the same payload texts; Laravel's `Queue::bulk` for
  reference;
* on MariaDB each raw statement twice: values bound by pymysql (the goals' baseline), and
  written in as hex literals, as bridge does on MySQL (the limit for plain SQL); on
  PostgreSQL once, values bound by psycopg;
* paired turns (`--pairs`, `--pair-jobs`): Laravel's `dispatch()` in a PHP process kept
  booted (`time_dispatch.php serve`), bridge's `Dispatcher.dispatch` and the raw INSERT take
  turns in short blocks, in rotating order, and each turn's ratio to Laravel's block is
  kept. The speed of this machine drifts by tens of percent within a minute, so a ratio of
  two bests taken minutes apart moves with it; the median of the paired ratios does not.

Prints the table with ratios and rewrites the `## Dispatch` section of bench/RESULTS.md
(`## Dispatch (PostgreSQL)` for PostgreSQL).

`--laravel 13` (or 12) names the PHP peer's Laravel: its `dispatch()` and `Queue::bulk` then
run under PHP 8.3 as WebAssembly (see `peer.py`), against bridge's `Dispatcher` writing that
version's payloads. That PHP is far slower than native, so the run writes its own "also
measured" section and leaves the goals' sections alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_worker import (
    harness_environ,
    raw_connect,
    throwaway_database,
    versions,
)
from peer import Peer
from results import database_head, on_postgres, write_section

from bridge.dispatcher import Dispatcher
from bridge.laravel.classes import Job, JobClass, Prop
from bridge.queue.base import NewJob
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.memory import InMemoryQueue
from bridge.queue.schema import migrate

BENCH = Path(__file__).resolve().parent
SECTION = "## Dispatch"
SECTION_POSTGRES = "## Dispatch (PostgreSQL)"
TIME_DISPATCH = BENCH / "php" / "time_dispatch.php"
QUEUE = "bench"
CHUNK = 500
SETTLE_SECONDS = 0.5

#: `Fixtures\Jobs\RecordsOnly` (php_fixtures/app/Jobs): two promoted constructor properties.
RECORDS = JobClass(
    name="Fixtures\\Jobs\\RecordsOnly",
    properties=(Prop("n", type="int"), Prop("tag", type="string")),
)


def laravel_seconds(url: str, mode: str, count: int, peer: Peer | None = None) -> float:
    """Seconds Laravel spends dispatching `count` jobs (`single` or `bulk`), boot excluded."""
    peer = peer or Peer("8")
    done = subprocess.run(
        [*peer.php(), str(TIME_DISPATCH), mode, str(count)],
        env=peer.environ(harness_environ(url)),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"time_dispatch.php exited {done.returncode}: {done.stderr[-2000:]}")
    seconds: float = json.loads(done.stdout)["seconds"]
    return seconds


class LaravelDispatcher:
    """`time_dispatch.php serve`: one booted PHP process that dispatches on request."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def rate(self, count: int) -> float:
        """Jobs per second of `count` single `dispatch()` calls."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"single {count}\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"time_dispatch.php serve stopped (exit {self._process.wait()})")
        return count / float(json.loads(line)["seconds"])


@contextmanager
def laravel_dispatcher(url: str) -> Iterator[LaravelDispatcher]:
    process = subprocess.Popen(
        ["php", str(TIME_DISPATCH), "serve"],
        env=harness_environ(url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield LaravelDispatcher(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)


def paired_rates(contenders: dict[str, Callable[[], float]], pairs: int) -> dict[str, list[float]]:
    """Each contender's rate in each of `pairs` turns (index i of every list: turn i).

    Contenders run one after another within a turn, starting with a different one each time.
    """
    names = list(contenders)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(pairs):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            rates[name].append(contenders[name]())
    return rates


def raw_rate(
    count: int,
    insert: Callable[..., None],
    conn: Any,
    payloads: list[str],
    *,
    hex_literals: bool,
) -> float:
    """Rows per second of `insert` (`raw_singles` or `raw_multi`) into the raw table."""
    return timed_rate(count, lambda: insert(conn, "raw_jobs", payloads, hex_literals=hex_literals))


def timed_rate(count: int, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return count / (time.perf_counter() - started)


def jobs(start: int, stop: int) -> list[Job]:
    return [RECORDS.new(n=i, tag="bench") for i in range(start, stop)]


def made_payloads(count: int) -> list[str]:
    """`count` payloads exactly as `Dispatcher` writes them (built in memory, not timed)."""
    memory = InMemoryQueue(retry_after_seconds=90)
    return [d.payload for d in Dispatcher(queue=memory, profile="8").bulk(jobs(0, count))]


def bridge_singles(dispatcher: Dispatcher, count: int) -> None:
    for i in range(count):
        dispatcher.dispatch(RECORDS.new(n=i, tag="bench"), queue=QUEUE)


def bridge_pushes(queue: DatabaseQueue, payloads: list[str]) -> None:
    for text in payloads:
        queue.push(text, queue=QUEUE, now=int(time.time()))


def bridge_bulk(dispatcher: Dispatcher, count: int) -> None:
    for start in range(0, count, CHUNK):
        dispatcher.bulk(jobs(start, min(start + CHUNK, count)), queue=QUEUE)


def bridge_queue_bulk(queue: DatabaseQueue, payloads: list[str]) -> None:
    now = int(time.time())
    for start in range(0, len(payloads), CHUNK):
        queue.bulk(
            [
                NewJob(payload=text, queue=QUEUE, available_at=now, created_at=now)
                for text in payloads[start : start + CHUNK]
            ]
        )


_INSERT = (
    "INSERT INTO {table} (queue, attempts, reserved_at, available_at, created_at, payload)"
    " VALUES {values}"
)


def _raw_insert(cur: Any, table: str, now: int, texts: list[str], hex_literals: bool) -> None:
    """Laravel's INSERT of `texts`: values bound by pymysql, or written in as hex literals."""
    if hex_literals:
        queue = QUEUE.encode().hex()
        values = ", ".join(
            f"(X'{queue}', 0, NULL, {now}, {now}, X'{text.encode().hex()}')" for text in texts
        )
        cur.execute(_INSERT.format(table=table, values=values))
        return
    values = ", ".join(["(%s, 0, NULL, %s, %s, %s)"] * len(texts))
    cur.execute(
        _INSERT.format(table=table, values=values),
        [part for text in texts for part in (QUEUE, now, now, text)],
    )


def raw_singles(conn: Any, table: str, payloads: list[str], *, hex_literals: bool) -> None:
    """Laravel's push statement, autocommit, one per payload."""
    conn.autocommit(True)
    with conn.cursor() as cur:
        for text in payloads:
            _raw_insert(cur, table, int(time.time()), [text], hex_literals)
    conn.autocommit(False)


def raw_multi(conn: Any, table: str, payloads: list[str], *, hex_literals: bool) -> None:
    """Laravel's bulk statement: 500 rows per multi-row INSERT, one commit each."""
    with conn.cursor() as cur:
        for start in range(0, len(payloads), CHUNK):
            chunk = payloads[start : start + CHUNK]
            _raw_insert(cur, table, int(time.time()), chunk, hex_literals)
            conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--jobs", type=int, default=3_000, help="single dispatches per side")
    parser.add_argument("--bulk-jobs", type=int, default=20_000, help="rows per bulk side")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs; best counts")
    parser.add_argument("--pairs", type=int, default=40, help="paired turns (0: none)")
    parser.add_argument("--pair-jobs", type=int, default=300, help="jobs per contender per turn")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--laravel", default="8", choices=["8", "12", "13"], help="PHP peer")
    args, _ = parser.parse_known_args()
    if args.laravel != "8":
        peer_main(args, Peer(args.laravel))
        return
    n, bulk_n = args.jobs, args.bulk_jobs
    pair_n = args.pair_jobs
    singles, many = made_payloads(n), made_payloads(bulk_n)

    load = os.getloadavg()
    rates: dict[str, float] = {}
    postgres = on_postgres(args.url)

    def best(name: str, rate: float) -> None:
        rates[name] = max(rates.get(name, 0.0), rate)
        print(f"{name}: {rates[name]:,.0f}/s", file=sys.stderr)

    with throwaway_database(args.url) as url:
        engine = create_engine_for(url)
        migrate(engine)
        migrate(engine, jobs_table="raw_jobs", failed_table="raw_failed", batches_table="raw_b")
        queue = DatabaseQueue(engine=engine)
        dispatcher = Dispatcher(queue=queue, profile="8")
        raw = raw_connect(url)
        single_runs: list[tuple[str, Callable[[], float]]] = [
            ("laravel_single", lambda: n / laravel_seconds(url, "single", n)),
            ("bridge_single", lambda: timed_rate(n, lambda: bridge_singles(dispatcher, n))),
            ("bridge_push", lambda: timed_rate(n, lambda: bridge_pushes(queue, singles))),
            ("raw_single", partial(raw_rate, n, raw_singles, raw, singles, hex_literals=False)),
            ("raw_single_hex", partial(raw_rate, n, raw_singles, raw, singles, hex_literals=True)),
        ]
        bulk_runs: list[tuple[str, Callable[[], float]]] = [
            ("laravel_bulk", lambda: bulk_n / laravel_seconds(url, "bulk", bulk_n)),
            ("bridge_bulk", lambda: timed_rate(bulk_n, lambda: bridge_bulk(dispatcher, bulk_n))),
            ("queue_bulk", lambda: timed_rate(bulk_n, lambda: bridge_queue_bulk(queue, many))),
            ("raw_bulk", partial(raw_rate, bulk_n, raw_multi, raw, many, hex_literals=False)),
            ("raw_bulk_hex", partial(raw_rate, bulk_n, raw_multi, raw, many, hex_literals=True)),
        ]
        if postgres:  # hex literals are MySQL's
            single_runs, bulk_runs = (
                [run for run in runs if not run[0].endswith("_hex")]
                for runs in (single_runs, bulk_runs)
            )
        for round_no in range(args.rounds):
            # Each round starts with a different contender: whoever runs right after a big
            # write burst meets the server still flushing it.
            for runs in (single_runs, bulk_runs):
                shift = round_no % len(runs)
                for name, run in runs[shift:] + runs[:shift]:
                    time.sleep(SETTLE_SECONDS)
                    best(name, run())
        pair_payloads = singles[:pair_n]
        with laravel_dispatcher(url) as laravel:
            contenders: dict[str, Callable[[], float]] = {
                "laravel": partial(laravel.rate, pair_n),
                "bridge_single": lambda: timed_rate(
                    pair_n, lambda: bridge_singles(dispatcher, pair_n)
                ),
                "bridge_push": lambda: timed_rate(
                    pair_n, lambda: bridge_pushes(queue, pair_payloads)
                ),
                "raw_single": partial(
                    raw_rate, pair_n, raw_singles, raw, pair_payloads, hex_literals=False
                ),
                "raw_single_hex": partial(
                    raw_rate, pair_n, raw_singles, raw, pair_payloads, hex_literals=True
                ),
            }
            if postgres:
                del contenders["raw_single_hex"]
            paired = paired_rates(contenders, args.pairs)
        raw.close()
        with engine.connect() as conn:
            queued = conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one()
        # jobs, not raw_jobs
        expected = args.rounds * (3 * n + 3 * bulk_n) + args.pairs * 3 * pair_n
        if queued != expected:
            raise RuntimeError(f"{queued} rows queued, expected {expected}")
        server, php = versions(url)
        engine.dispose()
    heading = SECTION_POSTGRES if postgres else SECTION
    section = render(
        args,
        rates,
        paired,
        server=server,
        php=php,
        load=load,
        size=len(singles[0]),
        heading=heading,
    )
    print(section)
    if not args.no_write:
        write_section(section, heading)


def peer_main(args: argparse.Namespace, peer: Peer) -> None:
    """Laravel `peer`'s dispatching (WebAssembly PHP) against bridge's with that profile."""
    n, bulk_n = args.jobs, args.bulk_jobs
    load = os.getloadavg()
    rates: dict[str, float] = {}

    def best(name: str, rate: float) -> None:
        rates[name] = max(rates.get(name, 0.0), rate)
        print(f"{name}: {rates[name]:,.1f}/s", file=sys.stderr)

    with throwaway_database(args.url) as url:
        engine = create_engine_for(url)
        migrate(engine)
        queue = DatabaseQueue(engine=engine)
        dispatcher = Dispatcher(queue=queue, profile=peer.laravel)
        for _ in range(args.rounds):
            best("laravel_single", n / laravel_seconds(url, "single", n, peer))
            best("bridge_single", timed_rate(n, lambda: bridge_singles(dispatcher, n)))
            best("laravel_bulk", bulk_n / laravel_seconds(url, "bulk", bulk_n, peer))
            best("bridge_bulk", timed_rate(bulk_n, lambda: bridge_bulk(dispatcher, bulk_n)))
        with engine.connect() as conn:
            queued = conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one()
            sizes = conn.execute(sa.text("SELECT MIN(LENGTH(payload)) FROM jobs")).scalar_one()
        if queued != args.rounds * 2 * (n + bulk_n):
            raise RuntimeError(f"{queued} rows queued, expected {args.rounds * 2 * (n + bulk_n)}")
        server, php = versions(url, peer)
        engine.dispose()
    heading = f"## Dispatch, also measured: Laravel {peer.framework} on WebAssembly PHP"
    command = (
        f"python bench/bench_dispatch.py --laravel {peer.laravel} --jobs {n}"
        f" --bulk-jobs {bulk_n} --rounds {args.rounds}"
    )
    head = database_head(heading, command, url=args.url, server=server, php=php, load=load)
    single, bulk = rates["laravel_single"], rates["laravel_bulk"]
    lines = [
        *(line.replace("Debian's Laravel 8.83", f"Laravel {peer.framework}") for line in head),
        f"- PHP peer: {peer.describe(php)}, timed inside one booted process"
        " (`bench/php/time_dispatch.php`, boot excluded). WebAssembly PHP is far slower than"
        " native PHP (a MariaDB statement takes ~45 ms from it against ~0.5 ms natively), so"
        f" this says nothing about Laravel {peer.laravel} itself: the goals compare bridge with"
        " native Laravel 8 (`## Dispatch`)."
        " Compare the rows with each other: the load average at start says how busy the"
        " shared machine was.",
        f"- `Fixtures\\Jobs\\RecordsOnly` jobs, Laravel {peer.laravel} payloads of about"
        f" {sizes} bytes, built and inserted by each side; best of {args.rounds} round(s).",
        "",
        "| dispatch | jobs/s | x this Laravel |",
        "|---|---:|---:|",
        f"| Laravel {peer.framework} `dispatch()` (WebAssembly PHP) | {single:,.1f} | 1.0 |",
        f"| bridge `Dispatcher.dispatch` | {rates['bridge_single']:,.0f}"
        f" | {rates['bridge_single'] / single:,.0f} |",
        f"| Laravel {peer.framework} `Queue::bulk` (500 per INSERT, WebAssembly PHP)"
        f" | {bulk:,.0f} | 1.0 |",
        f"| bridge `Dispatcher.bulk` (500 per INSERT) | {rates['bridge_bulk']:,.0f}"
        f" | {rates['bridge_bulk'] / bulk:,.1f} |",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_write:
        write_section(section, heading)


def render(
    args: argparse.Namespace,
    rates: dict[str, float],
    paired: dict[str, list[float]],
    *,
    server: str,
    php: str,
    load: tuple[float, float, float],
    size: int,
    heading: str,
) -> str:
    single, raw_single = rates["laravel_single"], rates["raw_single"]
    raw_bulk = rates["raw_bulk"]
    postgres = on_postgres(args.url)
    command = (
        f"python bench/bench_dispatch.py --jobs {args.jobs} --bulk-jobs {args.bulk_jobs}"
        f" --rounds {args.rounds} --pairs {args.pairs} --pair-jobs {args.pair_jobs}"
    )
    if postgres:
        how = (
            " bridge pushes through its kept autocommit connection; raw SQL binds the values"
            " with psycopg."
        )
    else:
        how = (
            " bridge pushes on MariaDB through its kept autocommit connection and, on"
            " MySQL/MariaDB, writes values into its statements as hex literals instead of having"
            " pymysql escape them (~18 µs per 600-byte payload in pure Python); the raw rows"
            " with hex literals show that limit for plain SQL."
        )

    statement = "COPY" if postgres else "INSERT"

    def row(label: str, rate: float, base: float, *, bulk: bool = False) -> str:
        digits = 1 if bulk else 2
        return f"| {label} | {rate:,.0f} | {rate / single:.{digits}f} | {rate / base:.2f} |"

    lines = [
        *database_head(heading, command, url=args.url, server=server, php=php, load=load),
        f"- `Fixtures\\Jobs\\RecordsOnly` jobs, Laravel 8 payloads of {size} bytes. `Dispatcher`"
        " and Laravel build every payload (serialize + JSON) and insert it; `DatabaseQueue` rows"
        " and raw SQL (Laravel's statements) insert the same payload texts ready-made."
        " Laravel is timed inside one booted PHP process. Each round starts with a different"
        f" contender (0.5 s pause before each run); best of the rounds.{how}"
        " Every INSERT waits for an fsync, so single runs vary by +-30 %.",
        "",
        "| dispatch | jobs/s | x Laravel `dispatch()` | x raw at same shape |",
        "|---|---:|---:|---:|",
        f"| Laravel 8 `dispatch()` (one INSERT each) | {single:,.0f} | 1.0 |"
        f" {single / raw_single:.2f} |",
        row("bridge `Dispatcher.dispatch`", rates["bridge_single"], raw_single),
        row("bridge `DatabaseQueue.push` (payload ready)", rates["bridge_push"], raw_single),
        row("raw autocommit INSERT", raw_single, raw_single),
    ]
    if "raw_single_hex" in rates:
        lines.append(
            row("raw autocommit INSERT, hex literals", rates["raw_single_hex"], raw_single)
        )
    lines += [
        row("Laravel 8 `Queue::bulk` (500 per INSERT)", rates["laravel_bulk"], raw_bulk, bulk=True),
        row(
            f"bridge `Dispatcher.bulk` (500 per {statement})",
            rates["bridge_bulk"],
            raw_bulk,
            bulk=True,
        ),
        row(
            "bridge `DatabaseQueue.bulk` (payloads ready)", rates["queue_bulk"], raw_bulk, bulk=True
        ),
        row("raw multi-row INSERT (500 rows)", raw_bulk, raw_bulk, bulk=True),
    ]
    if "raw_bulk_hex" in rates:
        lines.append(
            row("raw multi-row INSERT, hex literals", rates["raw_bulk_hex"], raw_bulk, bulk=True)
        )
    if args.pairs:
        lines += paired_lines(paired, pairs=args.pairs, jobs=args.pair_jobs)
    return "\n".join(lines) + "\n"


def paired_lines(paired: dict[str, list[float]], *, pairs: int, jobs: int) -> list[str]:
    """The paired turns' table: each contender's median rate, and the median and middle half
    of its ratios to Laravel's rate in the same turn."""
    labels = {
        "bridge_single": "bridge `Dispatcher.dispatch`",
        "bridge_push": "bridge `DatabaseQueue.push` (payload ready)",
        "raw_single": "raw autocommit INSERT",
        "raw_single_hex": "raw autocommit INSERT, hex literals",
    }
    lines = [
        "",
        f"Paired turns: {pairs} turns of {jobs} single dispatches per contender, Laravel's in"
        " one PHP process kept booted; contenders in rotating order within each turn. Each"
        " ratio is a contender's rate over Laravel's in the same turn.",
        "",
        "| single dispatch | jobs/s (median of turns) | x Laravel (median of turns)"
        " | middle half of turns |",
        "|---|---:|---:|---:|",
        f"| Laravel 8 `dispatch()` | {statistics.median(paired['laravel']):,.0f} | 1.0 | |",
    ]
    for name, label in labels.items():
        if name not in paired:
            continue
        ratios = [
            mine / theirs for mine, theirs in zip(paired[name], paired["laravel"], strict=True)
        ]
        low, median, high = statistics.quantiles(ratios, n=4)
        lines.append(
            f"| {label} | {statistics.median(paired[name]):,.0f} | {median:.2f} |"
            f" {low:.2f}-{high:.2f} |"
        )
    return lines


if __name__ == "__main__":
    main()
