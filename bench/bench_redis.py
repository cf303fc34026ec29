"""The Redis queue: bridge's worker and dispatch against Laravel 8's, and against raw redis-py.

    python bench/bench_redis.py [--jobs 5000] [--dispatch-jobs 2000] [--rounds 3] [--no-write]
                                 [--one-cpu]

One run against the Redis at 127.0.0.1:6379, under a key prefix of its own (deleted after);
`failed_jobs` on a throwaway SQLite file, as an app keeps it in its database:

* worker: the same N no-op jobs (`Bench\\NoopJob`, queued by bridge's `Dispatcher.bulk`,
  Laravel 8 profile) drained by Laravel's `queue:work redis` (phpredis, `--sleep=0`; again
  with `--quiet`), then by bridge's `Worker` with prefetch 1, 16 and 64 (and 64 without
  reading ahead, and 64 at `WARNING`, without the per-job lines), then by a
  raw redis-py loop making the same script calls as bridge's reservations (one RESERVE script
  per batch, which also deletes the previous batch) and doing nothing per job: the limit of
  this design on this machine;
* dispatch: Laravel's `dispatch()` and `Queue::bulk` of `Fixtures\\Jobs\\RecordsOnly` (timed
  inside one booted PHP process, as bench_dispatch does), bridge's `Dispatcher.dispatch` and
  `Dispatcher.bulk` of the same class, and raw redis-py: one PUSH script call per prebuilt
  payload, and one per 500.

Prints the table with ratios and rewrites the `## Redis queue` section of bench/RESULTS.md.

With `--one-cpu`, this process, the PHP workers it starts and the Redis server all run on one
CPU (`sched_setaffinity`; the server's affinity is put back after), and the section written
is `## Redis queue (one CPU)`. A round trip between two processes on one CPU is a context
switch; across CPUs it waits for the other CPU to wake, which on some virtual machines costs
tens of microseconds (each section says what a PING round trip cost in its run). Laravel's
worker makes several round trips per job, so its rate follows that cost; bridge's batched
worker does not wait on round trips, but on one CPU it shares that CPU with the server's
Lua work instead of running beside it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from results import section_head, write_section

from bridge.dispatcher import Dispatcher
from bridge.laravel.classes import JobClass, Prop
from bridge.queue import Stores
from bridge.queue import _redis_scripts as scripts
from bridge.queue.database import DatabaseFailedJobStore, create_engine_for
from bridge.queue.redis import RedisQueue, connect
from bridge.queue.schema import migrate
from bridge.worker import App, Worker, WorkerOptions, log_handler

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SECTION = "## Redis queue"
ONE_CPU_SECTION = "## Redis queue (one CPU)"
NOOP_PHP = BENCH / "php" / "noop_job.php"
WORK_PHP = ROOT / "php_fixtures" / "work.php"
TIME_DISPATCH = BENCH / "php" / "time_dispatch.php"
QUEUE = "bench"
CHUNK = 500

NOOP = JobClass(name="Bench\\NoopJob", properties=(Prop("n", type="int", default=0),))
RECORDS = JobClass(
    name="Fixtures\\Jobs\\RecordsOnly",
    properties=(Prop("n", type="int"), Prop("tag", type="string")),
)


def harness_environ(sqlite: Path, prefix: str) -> dict[str, str]:
    """The environment of php_fixtures: redis queue connection, SQLite for failed_jobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "QUEUE_", "REDIS_"))}
    env.update(
        DB_CONNECTION="sqlite",
        DB_DATABASE=str(sqlite),
        QUEUE_CONNECTION_NAME="redis",
        QUEUE_RETRY_AFTER="90",
        REDIS_PREFIX=prefix,
    )
    return env


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fill(dispatcher: Dispatcher, count: int) -> None:
    for start in range(0, count, CHUNK):
        dispatcher.bulk(
            [NOOP.new(n=i) for i in range(start, min(start + CHUNK, count))], queue=QUEUE
        )


def laravel_drain(environ: dict[str, str], *, quiet: bool = False) -> None:
    argv = ["php", "-d", f"auto_prepend_file={NOOP_PHP}", str(WORK_PHP), "redis"]
    argv += [f"--queue={QUEUE}", "--stop-when-empty", "--sleep=0", "--tries=1"]
    argv += ["--quiet"] if quiet else []
    done = subprocess.run(
        argv, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"queue:work exited {done.returncode}: {done.stderr[-2000:]!r}")


def raw_drain(queue: RedisQueue, batch: int) -> int:
    """The reservation scripts alone: RESERVE `batch` jobs, deleting the previous batch."""
    reserve = queue.client.register_script(scripts.RESERVE)
    keys = list(queue.keys(QUEUE))
    finished: list[Any] = []
    done = 0
    while True:
        now = int(time.time())
        flat = reserve(keys=keys, args=[now, now + 90, batch, -1, len(finished), *finished])
        if not flat:
            return done
        finished = flat[1::4]
        done += len(finished)


def check_empty(queue: RedisQueue, engine: Any) -> None:
    left = queue.size(QUEUE)
    with engine.connect() as conn:
        failures = conn.exec_driver_sql("SELECT COUNT(*) FROM failed_jobs").scalar()
    if left or failures:
        raise RuntimeError(f"drain incomplete: {left} jobs left, {failures} failed")


def paired_dispatch(
    environ: dict[str, str], queue: RedisQueue, dispatcher: Dispatcher, mode: str, total: int
) -> dict[str, float]:
    """Median rates of Laravel, bridge and the raw PUSH loop taking turns in blocks.

    Laravel dispatches inside one booted PHP process (`time_dispatch.php serve`, boot
    excluded); each turn is one block of each contender, so a burst of load on this shared
    machine falls on all three alike.
    """
    block = 500 if mode == "bulk" else 200
    php = subprocess.Popen(
        ["php", str(TIME_DISPATCH), "serve"],
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert php.stdin is not None and php.stdout is not None
    jobs = [RECORDS.new(n=i, tag="bench") for i in range(block)]
    send = dispatch_each if mode == "single" else dispatch_bulk
    turns: dict[str, list[float]] = {"laravel": [], "bridge": [], "raw": []}
    try:
        for _ in range(max(1, total // block)):
            php.stdin.write(f"{mode} {block}\n")
            php.stdin.flush()
            seconds = float(json.loads(php.stdout.readline())["seconds"])
            turns["laravel"].append(block / seconds)
            queue.clear(QUEUE)
            turns["bridge"].append(block / timed(partial(send, dispatcher, jobs)))
            payloads = list(queue.client.lrange(queue.keys(QUEUE)[0], 0, -1))
            queue.clear(QUEUE)
            per_call = 1 if mode == "single" else CHUNK
            turns["raw"].append(block / timed(partial(raw_push, queue, payloads, per_call)))
            queue.clear(QUEUE)
    finally:
        php.stdin.close()
        php.wait(timeout=60)
    return {who: statistics.median(rates) for who, rates in turns.items()}


def dispatch_each(dispatcher: Dispatcher, jobs: list[Any]) -> None:
    for job in jobs:
        dispatcher.dispatch(job, queue=QUEUE)


def dispatch_bulk(dispatcher: Dispatcher, jobs: list[Any]) -> None:
    for start in range(0, len(jobs), CHUNK):
        dispatcher.bulk(jobs[start : start + CHUNK], queue=QUEUE)


def raw_push(queue: RedisQueue, payloads: list[str], per_call: int) -> None:
    """The PUSH script with prebuilt payloads: `per_call` payloads per script call."""
    push = queue.client.register_script(scripts.PUSH)
    keys = [queue.keys(QUEUE)[0], queue.keys(QUEUE)[3]]
    for start in range(0, len(payloads), per_call):
        push(keys=keys, args=payloads[start : start + per_call])


def round_trip_us(count: int = 2_000) -> float:
    """Median microseconds of a PING round trip on a plain socket to the Redis server."""
    with socket.create_connection(("127.0.0.1", 6379)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            conn.sendall(b"PING\r\n")
            if not conn.recv(64).startswith(b"+PONG"):
                raise RuntimeError("Redis did not answer PING")
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


@contextmanager
def on_one_cpu(enabled: bool) -> Iterator[None]:
    """Pin this process (and so its children) and the Redis server to one CPU, then unpin."""
    if not enabled:
        yield
        return
    import redis

    server = int(redis.Redis().info("server")["process_id"])
    cpu = max(os.sched_getaffinity(0))
    ours, theirs = os.sched_getaffinity(0), os.sched_getaffinity(server)
    try:
        os.sched_setaffinity(server, {cpu})
    except PermissionError as exc:
        raise SystemExit(f"--one-cpu needs the right to pin the Redis server ({exc})") from exc
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, ours)
        os.sched_setaffinity(server, theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--dispatch-jobs", type=int, default=2_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each; medians of the rounds count"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--one-cpu", action="store_true", help="run everything, Redis too, on one CPU"
    )
    args = parser.parse_args()
    with on_one_cpu(args.one_cpu):
        run(args)


def run(args: argparse.Namespace) -> None:
    n, d = args.jobs, args.dispatch_jobs

    devnull = open(os.devnull, "w")
    logger = logging.getLogger("bridge")
    logger.addHandler(log_handler(stream=devnull))
    logger.setLevel(logging.INFO)

    load = os.getloadavg()
    round_trip = round_trip_us()
    prefix = f"bridge-bench-{uuid.uuid4().hex[:8]}:"
    # Each round's rate of each row: a ratio is taken within a round, where both of its
    # sides ran minutes apart at most, and the rounds' ratios give the median.
    rates: dict[str, list[float]] = {}

    def best(key: str, rate: float) -> None:
        rates.setdefault(key, []).append(rate)

    with tempfile.TemporaryDirectory() as folder:
        sqlite = Path(folder) / "app.sqlite"
        environ = harness_environ(sqlite, prefix)
        subprocess.run(["php", str(ROOT / "php_fixtures" / "migrate.php")], env=environ,
                       check=True, capture_output=True)  # fmt: skip
        engine = create_engine_for(f"sqlite:///{sqlite}")
        migrate(engine)
        failed = DatabaseFailedJobStore(engine=engine)
        queue = RedisQueue(client=connect(), prefix=prefix)
        dispatcher = Dispatcher(queue=queue, profile="8")
        app = App(name="bench")
        app.register(NOOP.name, lambda job: None)
        try:
            for _ in range(args.rounds):
                fill(dispatcher, n)
                best("laravel", n / timed(lambda: laravel_drain(environ)))
                check_empty(queue, engine)
                fill(dispatcher, n)
                best("laravel-quiet", n / timed(lambda: laravel_drain(environ, quiet=True)))
                check_empty(queue, engine)
                for batch, ahead, quiet in (
                    (1, True, False),
                    (16, True, False),
                    (64, True, False),
                    (64, False, False),
                    (64, True, True),
                ):
                    fill(dispatcher, n)
                    # Quiet: no per-job lines, as `bridge work --log-level WARNING` runs.
                    logger.setLevel(logging.WARNING if quiet else logging.INFO)
                    worker = Worker(
                        stores=Stores(queue=queue, failed=failed),
                        app=app,
                        options=WorkerOptions(
                            queues=(QUEUE,),
                            stop_when_empty=True,
                            sleep_seconds=0,
                            prefetch=batch,
                            read_ahead=ahead,
                        ),
                    )
                    suffix = "-quiet" if quiet else "" if ahead else "-plain"
                    best(f"bridge{batch}{suffix}", n / timed(worker.run))
                    check_empty(queue, engine)
                    if not ahead or quiet:
                        continue  # the raw loop does neither: measured once per batch
                    fill(dispatcher, n)
                    best(f"raw{batch}", n / timed(lambda b=batch: raw_drain(queue, b)))
                    check_empty(queue, engine)
                print(f"worker rates so far: {rates}", file=sys.stderr)

                for mode in ("single", "bulk"):
                    for who, rate in paired_dispatch(environ, queue, dispatcher, mode, d).items():
                        best(f"{who}-{mode}", rate)
                print(f"rates so far: {rates}", file=sys.stderr)
        finally:
            queue.clear(QUEUE)
            queue.close()
            engine.dispose()
    devnull.close()
    section = render(args, rates, load=load, round_trip=round_trip)
    print(section)
    if not args.no_write:
        write_section(section, ONE_CPU_SECTION if args.one_cpu else SECTION)


def reply_parser() -> str:
    """Which RESP parser redis-py uses here: hiredis's C one when installed."""
    import redis.utils

    if redis.utils.HIREDIS_AVAILABLE:
        import hiredis

        return f"hiredis {hiredis.__version__}"
    return "redis-py's Python parser"


def render(
    args: argparse.Namespace,
    rates: dict[str, list[float]],
    *,
    load: tuple[float, ...],
    round_trip: float,
) -> str:
    import redis

    def rate(key: str) -> float:
        return statistics.median(rates[key])

    def ratio(key: str, of: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[key], rates[of], strict=True))

    server = str(redis.Redis().info("server")["redis_version"])
    php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True)
    command = f"python bench/bench_redis.py --jobs {args.jobs} --dispatch-jobs {args.dispatch_jobs}"
    command += " --one-cpu" if args.one_cpu else ""
    heading = ONE_CPU_SECTION if args.one_cpu else SECTION
    lines = section_head(heading, command, server=server, load=load, database="Redis")
    placement = (
        "this process, its PHP workers and the Redis server pinned to one CPU"
        if args.one_cpu
        else "processes where the kernel puts them"
    )
    lines += [
        f"- Software: PHP {php.stdout.strip()}, Laravel 8.83 over phpredis; redis-py"
        f" {redis.__version__}, replies parsed by {reply_parser()}; medians of {args.rounds}"
        " round(s)",
        f"- Placement: {placement}; a PING round trip on a plain socket took"
        f" {round_trip:.1f} µs (median of 2,000) at the start",
        "",
        "| what | jobs/s | vs Laravel 8 | vs raw redis-py loop |",
        "|---|---|---|---|",
        f"| Laravel `queue:work redis` | {rate('laravel'):,.0f} | 1.00 | |",
        f"| Laravel `queue:work redis --quiet` | {rate('laravel-quiet'):,.0f}"
        f" | 1.00 (of itself) | |",
    ]
    for key, label in (
        ("1", "prefetch 1"),
        ("16", "prefetch 16"),
        ("64", "prefetch 64"),
        ("64-plain", "prefetch 64, no read-ahead"),
        ("64-quiet", "prefetch 64, no per-job lines (`--log-level WARNING`)"),
    ):
        bridge, raw = f"bridge{key}", f"raw{key.split('-')[0]}"
        # Quiet against quiet: each worker's own lines cost it something.
        laravel, of = (
            ("laravel-quiet", " (of `--quiet`)") if key.endswith("quiet") else ("laravel", "")
        )
        lines.append(
            f"| bridge worker, {label} | {rate(bridge):,.0f} | {ratio(bridge, laravel):.1f}x{of}"
            f" | {ratio(bridge, raw):.2f} (raw {rate(raw):,.0f}) |"
        )
    for mode in ("single", "bulk"):
        bridge, laravel, raw = (f"{who}-{mode}" for who in ("bridge", "laravel", "raw"))
        lines.append(
            f"| `Dispatcher.{'dispatch' if mode == 'single' else 'bulk'}` | {rate(bridge):,.0f}"
            f" | {ratio(bridge, laravel):.2f}x (Laravel {rate(laravel):,.0f})"
            f" | {ratio(bridge, raw):.2f} (raw {rate(raw):,.0f}) |"
        )
    lines += [
        "",
        "Raw loops: the worker's is the RESERVE script alone at the same batch size (deleting"
        " the previous batch in the same call), no job run; dispatch's is the PUSH script with"
        " prebuilt payloads, one per call (single) or 500 per call (bulk). Dispatch rates are"
        " medians of turns (a block of 200 single or 500 bulk jobs each for Laravel, bridge"
        " and raw in turn). Each rate is the median of the rounds' rates, each ratio the"
        " median of the rounds' own ratios (its two sides measured in the same round, which"
        " on a machine whose speed drifts keeps the drift out of it). Laravel's worker and bridge's"
        " write a Processing and a Processed line per job (to /dev/null), except in the two"
        " quiet rows, which are compared with each other.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
