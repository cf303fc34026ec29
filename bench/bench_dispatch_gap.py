"""What the time between one INSERT's reply and the next statement costs a single dispatch.

    python bench/bench_dispatch_gap.py [--url mysql+pymysql://root@127.0.0.1:3306/test]
        [--block 50] [--rounds 60] [--no-write]

`bench_dispatch.py` shows `Dispatcher.dispatch` behind a push of a ready payload, and that
behind a raw INSERT, by more than the Python each adds would explain on its own. This
measures why, on a throwaway MariaDB database: blocks of `--block` statements of each kind
take turns (`--rounds` times), so the machine's drift hits them all alike, and each kind is
reported as the median, over rounds, of its block's time per statement minus the raw
block's just before it:

* raw: Laravel's INSERT with hex literals on a pymysql cursor (the least Python possible);
* push: `DatabaseQueue.push` of a ready payload;
* push + busy N µs: the same, with N µs of busy waiting before each push, standing in for
  Python work between statements;
* dispatch: `Dispatcher.dispatch` of a new `RecordsOnly` job, payload built each time;
* and, without a database, the Python time of one dispatch and one push alone
  (`InMemoryQueue`), for scale.

Prints the table and rewrites the `## Dispatch gap` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from collections.abc import Callable

from bench_dispatch import QUEUE, RECORDS, _raw_insert, made_payloads
from bench_worker import pymysql_connect, throwaway_database, versions
from results import section_head, write_section

from bridge.dispatcher import Dispatcher
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.memory import InMemoryQueue
from bridge.queue.schema import migrate

SECTION = "## Dispatch gap"
BUSY_MICROSECONDS = (5, 10, 25, 50)


def busy(seconds: float) -> None:
    """Keep the CPU running for `seconds` (sleeping would be another experiment)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def memory_microseconds() -> tuple[float, float]:
    """Python time of one dispatch and one push of a ready payload, without a database."""
    memory = InMemoryQueue(retry_after_seconds=90)
    dispatcher = Dispatcher(queue=memory, profile="8")
    text = made_payloads(1)[0]
    now = int(time.time())

    def per_call(action: Callable[[], object]) -> float:
        return min(timeit.repeat(action, number=20_000, repeat=5)) / 20_000 * 1e6

    dispatch = per_call(lambda: dispatcher.dispatch(RECORDS.new(n=5, tag="bench"), queue=QUEUE))
    push = per_call(lambda: memory.push(text, queue=QUEUE, now=now))
    memory.clear(QUEUE)
    return dispatch, push


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--block", type=int, default=50, help="statements per block")
    parser.add_argument("--rounds", type=int, default=60, help="turns of every kind")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args, _ = parser.parse_known_args()
    block = args.block
    payloads = made_payloads(block)
    load = os.getloadavg()
    in_memory = memory_microseconds()

    with throwaway_database(args.url) as url:
        engine = create_engine_for(url)
        migrate(engine)
        queue = DatabaseQueue(engine=engine)
        dispatcher = Dispatcher(queue=queue, profile="8")
        raw = pymysql_connect(url)
        raw.autocommit(True)
        cursor = raw.cursor()

        def raw_block() -> None:
            for text in payloads:
                _raw_insert(cursor, "jobs", int(time.time()), [text], True)

        def push_block(pause: float = 0.0) -> Callable[[], None]:
            def run() -> None:
                for text in payloads:
                    if pause:
                        busy(pause)
                    queue.push(text, queue=QUEUE, now=int(time.time()))

            return run

        def dispatch_block() -> None:
            for i in range(block):
                dispatcher.dispatch(RECORDS.new(n=i, tag="bench"), queue=QUEUE)

        kinds: dict[str, Callable[[], None]] = {"raw INSERT": raw_block, "push": push_block()}
        for pause in BUSY_MICROSECONDS:
            kinds[f"push + {pause} µs busy"] = push_block(pause / 1e6)
        kinds["dispatch"] = dispatch_block
        times: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(args.rounds):
            for name, run in kinds.items():
                started = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - started) / block * 1e6)
        cursor.close()
        raw.close()
        server, _php = versions(url)
        queue.close()
        engine.dispose()

    section = render(args, times, in_memory, server=server, load=load)
    print(section)
    if not args.no_write:
        write_section(section, SECTION)


def render(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    in_memory: tuple[float, float],
    *,
    server: str,
    load: tuple[float, float, float],
) -> str:
    base = times["raw INSERT"]
    command = f"python bench/bench_dispatch_gap.py --block {args.block} --rounds {args.rounds}"
    lines = [
        *section_head(SECTION, command, server=server, load=load),
        f"- Python {sys.version.split()[0]}",
        f"- Python alone (no database): a dispatch {in_memory[0]:.1f} µs, a push of a ready"
        f" payload {in_memory[1]:.1f} µs.",
        "",
        "| statement kind | µs per statement (median) | µs more than the raw INSERT"
        " before it (median) |",
        "|---|---:|---:|",
    ]
    for name, values in times.items():
        extra = statistics.median(v - b for v, b in zip(values, base, strict=True))
        lines.append(f"| {name} | {statistics.median(values):.0f} | {extra:+.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
