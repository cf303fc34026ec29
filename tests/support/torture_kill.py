"""SIGKILL torture: workers killed mid-drain and restarted; `retry-failed` killed mid-move.

`run_kills` drains a queue with three `bridge work` daemons at once (prefetch 1; prefetch 64
reading ahead; a `--concurrency 2` pool) and SIGKILLs one of them, chosen at random, each time
the record reaches a random number of started jobs; the victim is restarted at once, as a
supervisor would. One job in ten raises on every attempt (`--tries 3`), so failing a job (the
`jobs` DELETE and the `failed_jobs` INSERT) is killed too. Afterwards every job must have run
to the end or be in `failed_jobs` exactly once, and every extra run must be of a job that a
killed process had started: either killed mid-run, or finished but its row not yet deleted.

`run_retry_crash` fills `failed_jobs`, runs `bridge retry-failed all` and SIGKILLs it whenever
`jobs` reaches a random count, then reruns it; after every kill each job must be in exactly
one of the two tables, and at the end all are back in `jobs`, payloads byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.dispatcher import Dispatched
from bridge.queue.database import create_engine_for
from tests.support.torture import (
    ROOT,
    Run,
    bridge_command,
    children_of,
    clean_exit,
    count_events,
    count_rows,
    dialect,
    file_size,
    fresh_tables,
    gone,
    log_tail,
    queue_jobs,
    read_record,
    run_bridge,
    start_bridge,
    stop,
    wait_for,
    write_env_file,
)

#: The workers of the kill run: name -> `bridge work` options.
WORKERS = {
    "prefetch 1": ("--prefetch", "1"),
    "prefetch 64, read-ahead": ("--prefetch", "64", "--read-ahead"),
    "pool of 2": ("--concurrency", "2"),
}
TRIES = 3


@dataclass
class Kill:
    """One SIGKILL: when, whom, which processes went with it."""

    at_started: int
    worker: str
    pids: list[int]
    orphans: list[int] = field(default_factory=list)


@dataclass
class KillResult:
    """What a kill run did and found."""

    database: str
    jobs: int
    failing: int
    seed: int
    kills: list[Kill] = field(default_factory=list)
    seconds: float = 0.0
    lost: list[str] = field(default_factory=list)
    failed_twice: list[str] = field(default_factory=list)
    #: good jobs failed "attempted too many times" because kills used up their tries
    failed_by_kills: int = 0
    #: extra runs by cause: a job killed mid-run / finished but its row not yet deleted
    reruns_mid_run: int = 0
    reruns_finished: int = 0
    reruns_finished_by_worker: dict[str, int] = field(default_factory=dict)
    kills_by_worker: dict[str, int] = field(default_factory=dict)
    unexplained_reruns: list[str] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)
    problems_found: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken promise (empty: the run held)."""
        out = list(self.problems_found)
        if self.lost:
            out.append(f"{len(self.lost)} jobs lost: {self.lost[:5]}")
        if self.failed_twice:
            out.append(f"{len(self.failed_twice)} jobs failed twice: {self.failed_twice[:5]}")
        if self.unexplained_reruns:
            out.append(
                f"{len(self.unexplained_reruns)} jobs ran again without a kill: "
                f"{self.unexplained_reruns[:5]}"
            )
        job_killers = sum(1 for k in self.kills if k.worker != "pool of 2")
        if self.reruns_mid_run > job_killers:
            out.append(
                f"{self.reruns_mid_run} jobs re-run after a kill mid-run, for {job_killers} "
                "kills of processes that run jobs"
            )
        killed_p1 = self.kills_by_worker.get("prefetch 1", 0)
        if self.reruns_finished_by_worker.get("prefetch 1", 0) > killed_p1:
            out.append(
                f"prefetch 1: {self.reruns_finished_by_worker['prefetch 1']} finished jobs "
                f"re-run for {killed_p1} kills (at most one each)"
            )
        orphans = [o for k in self.kills for o in k.orphans]
        if orphans:
            out.append(f"pool children outlived their SIGKILLed parent: {orphans}")
        return out


def run_kills(
    url: str,
    workdir: Path,
    *,
    jobs: int,
    kills: int,
    rng: random.Random,
    seed: int,
    retry_after: int = 15,
) -> KillResult:
    """Drain `jobs` jobs through `kills` random SIGKILLs of the three workers.

    `retry_after` is how long the rows a killed worker held stay reserved. It is kept well
    above any stall a loaded machine gives a live worker: a row whose reservation expires
    while its job runs is handed out again, by design, and would count as a re-run no kill
    explains.
    """
    fresh_tables(url)
    dispatched = queue_jobs(url, jobs, fail=lambda n: n % 10 == 7)
    failing = {d.uuid for d in dispatched[7::10]}
    result = KillResult(database=dialect(url), jobs=jobs, failing=len(failing), seed=seed)
    record = workdir / "record.txt"
    env_file = write_env_file(workdir, retry_after=retry_after)
    common = ("--sleep", "0.1", "--tries", str(TRIES), "--timeout", "60")
    logs = {name: workdir / f"{name.split(',')[0].replace(' ', '-')}.log" for name in WORKERS}

    offsets: dict[str, int] = {}

    def start(name: str) -> subprocess.Popen[bytes]:
        offsets[name] = file_size(logs[name])
        return start_bridge(
            url, *common, *WORKERS[name], record=record, log=logs[name], env_file=env_file
        )

    names = list(WORKERS)
    points = sorted(rng.sample(range(max(1, jobs // 20), max(2, jobs * 17 // 20)), kills))
    victims = [rng.choice(names) for _ in points]
    print(f"kill plan: {list(zip(points, victims, strict=True))}", flush=True)
    engine = create_engine_for(url)
    started = time.monotonic()
    processes = {name: start(name) for name in names}
    pid_owner: dict[int, str] = {}
    try:
        for point, victim in zip(points, victims, strict=True):
            wait_for(
                lambda point=point: count_events(record, "S") >= point,
                120,
                f"{point} started jobs",
            )
            process = processes[victim]
            children = children_of(process.pid)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            kill = Kill(count_events(record, "S"), victim, [process.pid, *children])
            for pid in kill.pids:
                pid_owner[pid] = victim
            try:
                wait_for(
                    lambda children=children: all(gone(c) for c in children),
                    30,
                    "the pool's children to end",
                )
            except AssertionError:
                kill.orphans = [c for c in children if not gone(c)]
                for orphan in kill.orphans:
                    os.kill(orphan, signal.SIGKILL)
            result.kills.append(kill)
            processes[victim] = start(victim)

        def settled() -> bool:
            if count_rows(engine, "jobs") != 0:
                return False
            done = {r.uuid for r in read_record(record) if r.event == "D"}
            return len(done) + count_rows(engine, "failed_jobs") >= jobs

        wait_for(settled, 120 + retry_after + jobs / 20, "every job to be run or failed")
        result.seconds = time.monotonic() - started
    except AssertionError as exc:
        result.problems_found.append(f"{exc}\n{log_tail(list(logs.values()))}")
    finally:
        logged = {name: file_size(logs[name]) > offsets[name] for name in names}
        for name, process in processes.items():
            result.exits[name] = stop(process)
        for child_list in [children_of(p.pid) for p in processes.values()]:
            for child in child_list:
                os.kill(child, signal.SIGKILL)
    if not all(clean_exit(code, logged=logged[name]) for name, code in result.exits.items()):
        result.problems_found.append(
            f"workers did not stop cleanly: {result.exits}\n{log_tail(list(logs.values()))}"
        )
    with engine.connect() as conn:
        failed_rows = conn.execute(sa.text("SELECT uuid, exception FROM failed_jobs")).all()
    engine.dispose()
    _account(result, read_record(record), failed_rows, dispatched, failing, pid_owner)
    return result


def _account(
    result: KillResult,
    runs: Sequence[Run],
    failed_rows: Sequence[Any],
    dispatched: Sequence[Dispatched],
    failing: set[str],
    pid_owner: dict[int, str],
) -> None:
    """Sort every run and every failed row into the result's counts."""
    failed = Counter(str(row[0]) for row in failed_rows)
    reasons = {str(row[0]): str(row[1]) for row in failed_rows}
    result.failed_twice = [u for u, n in failed.items() if n > 1]
    by_job: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_job[run.uuid].append(run)
    for kill in result.kills:
        result.kills_by_worker[kill.worker] = result.kills_by_worker.get(kill.worker, 0) + 1
    for sent in dispatched:
        key = sent.uuid
        lines = by_job.get(key, [])
        done = any(r.event == "D" for r in lines)
        if key in failing:
            if not failed[key]:
                result.lost.append(key)
            continue
        if not done and not failed[key]:
            result.lost.append(key)
        if failed[key]:
            touched = any(r.pid in pid_owner for r in lines)
            if touched and "attempted too many times" in reasons[key]:
                result.failed_by_kills += 1
            else:
                result.problems_found.append(
                    f"good job {key} failed: {reasons[key].splitlines()[0][:200]}"
                )
        starts = [r for r in lines if r.event == "S"]
        for earlier in starts[:-1]:
            # The run after `earlier` happened because `earlier`'s process was killed.
            owner = pid_owner.get(earlier.pid)
            if owner is None:
                shown = " ".join(f"{r.event}:{r.pid}:{r.attempts}" for r in lines)
                result.unexplained_reruns.append(f"{key} ({shown})")
                continue
            finished = any(r.event == "D" and r.pid == earlier.pid for r in lines)
            if finished:
                result.reruns_finished += 1
                result.reruns_finished_by_worker[owner] = (
                    result.reruns_finished_by_worker.get(owner, 0) + 1
                )
            else:
                result.reruns_mid_run += 1


@dataclass
class RetryCrashResult:
    """What a `retry-failed` kill run did and found."""

    database: str
    rows: int
    seed: int
    #: (kill point, rows in jobs at the kill); None: the run ended before the kill
    kills: list[tuple[int, int | None]] = field(default_factory=list)
    seconds: float = 0.0
    problems_found: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken promise (empty: the run held)."""
        return self.problems_found


def _fill_failed(url: str, rows: int) -> dict[str, str]:
    """`rows` failed jobs (queued, then moved into failed_jobs by SQL): uuid -> payload."""
    dispatched = queue_jobs(url, rows)
    engine = create_engine_for(url)
    failed = sa.Table("failed_jobs", sa.MetaData(), autoload_with=engine)
    when = sa.func.now() if dialect(url) != "sqlite" else sa.text("CURRENT_TIMESTAMP")
    try:
        with engine.begin() as conn:
            for start in range(0, rows, 1000):
                conn.execute(
                    failed.insert().values(failed_at=when),
                    [
                        {
                            "uuid": d.uuid,
                            "connection": "database",
                            "queue": d.queue,
                            "payload": d.payload,
                            "exception": "RuntimeError: failed for the retry-failed torture",
                        }
                        for d in dispatched[start : start + 1000]
                    ],
                )
            conn.execute(sa.text("DELETE FROM jobs"))
    finally:
        engine.dispose()
    return {d.uuid: d.payload for d in dispatched}


def _where_each_job_is(url: str) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            queued = [str(p) for (p,) in conn.execute(sa.text("SELECT payload FROM jobs"))]
            failed = [str(u) for (u,) in conn.execute(sa.text("SELECT uuid FROM failed_jobs"))]
    finally:
        engine.dispose()
    payloads = {json.loads(p)["uuid"]: p for p in queued}
    return Counter(json.loads(p)["uuid"] for p in queued), Counter(failed), payloads


def run_retry_crash(
    url: str, workdir: Path, *, rows: int, kills: int, rng: random.Random, seed: int
) -> RetryCrashResult:
    """Move `rows` failed jobs back with `bridge retry-failed all`, SIGKILLed `kills` times."""
    fresh_tables(url)
    original = _fill_failed(url, rows)
    result = RetryCrashResult(database=dialect(url), rows=rows, seed=seed)
    env_file = write_env_file(workdir, retry_after=90)
    points = sorted(rng.sample(range(1, max(2, rows * 9 // 10)), kills))
    print(f"retry-failed kill points (rows in jobs): {points}", flush=True)
    engine = create_engine_for(url)
    log = workdir / "retry-failed.log"
    argv = [bridge_command(), "--database", url, "--env-file", str(env_file)]
    argv += ["retry-failed", "all", "--yes"]
    started = time.monotonic()
    try:
        for point in points:
            with open(log, "ab") as sink:
                process = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=sink)
            wait_for(
                lambda point=point, process=process: (
                    process.poll() is not None or count_rows(engine, "jobs") >= point
                ),
                300,
                f"{point} rows moved",
            )
            at: int | None = None
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=60)
                at = count_rows(engine, "jobs")
            result.kills.append((point, at))
            queued, failed, _ = _where_each_job_is(url)
            both = (queued + failed).most_common(1)
            missing = [u for u in original if not queued[u] and not failed[u]]
            if missing or (both and both[0][1] > 1):
                result.problems_found.append(
                    f"after the kill at {at} moved: {len(missing)} jobs in neither table, "
                    f"most copies of one job: {both}"
                )
        done = run_bridge(url, "retry-failed", "all", "--yes", env_file=env_file)
        result.seconds = time.monotonic() - started
        if done.returncode != 0:
            result.problems_found.append(f"the last rerun exited {done.returncode}: {done.stderr}")
    except AssertionError as exc:
        result.problems_found.append(f"{exc}\n{log_tail([log])}")
    finally:
        engine.dispose()
    queued, failed, payloads = _where_each_job_is(url)
    if +failed:
        result.problems_found.append(f"{sum(failed.values())} jobs left in failed_jobs")
    twice = [u for u, n in queued.items() if n > 1]
    missing = [u for u in original if not queued[u]]
    changed = [u for u, p in payloads.items() if original.get(u) != p]
    for what, found in (
        ("queued twice", twice),
        ("not back in jobs", missing),
        ("changed", changed),
    ):
        if found:
            result.problems_found.append(f"{len(found)} jobs {what}: {found[:5]}")
    return result
