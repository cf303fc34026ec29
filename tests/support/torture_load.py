"""Torture under load: a database server restarted mid-drain; bridge and Laravel workers together.

`run_db_restart` drains a queue on a private MariaDB (tests/integration/resilience starts it)
with two `bridge work` daemons (prefetch 1 and 64) and restarts the server at random points:
first a crash (SIGKILL), then a clean shutdown (SIGTERM). Each outage lasts until every worker
has noticed it (an error in its log, or its exit); the run acts as the workers' supervisor,
restarting any that exits. Nothing may be lost; each exit must be an exit, not a crash.

`run_mixed` drains Laravel-dispatched jobs with four `bridge work` daemons and two Laravel
`queue:work` daemons at once; every handler commits a `fixture_job_log` row before it returns,
so counting rows by uuid shows a job lost (0) or run twice (2+).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.queue.database import create_engine_for
from tests.integration.resilience.private_mariadb import PrivateMariaDB
from tests.support.laravel import LaravelEnv, fresh_laravel_env
from tests.support.torture import (
    ROOT,
    bridge_command,
    clean_exit,
    count_events,
    count_rows,
    dialect,
    events_by_uuid,
    file_size,
    fresh_tables,
    log_tail,
    queue_jobs,
    read_record,
    start_bridge,
    stop,
    wait_for,
    write_env_file,
)

#: A worker log line that shows it met the outage.
_NOTICED = re.compile(rb"error|lost|refused|gone away|can't connect|unavailable", re.I)
#: A supervisor gives up on a worker that keeps exiting.
MAX_RESTARTS = 100


@dataclass
class RestartResult:
    """What a database-restart run did and found."""

    jobs: int
    seed: int
    #: (started jobs at the stop, how: "crash"/"clean", outage seconds)
    restarts: list[tuple[int, str, float]] = field(default_factory=list)
    worker_exits: list[tuple[str, int]] = field(default_factory=list)
    seconds: float = 0.0
    lost: int = 0
    ran_twice: int = 0
    log_lines: int = 0
    tracebacks: int = 0
    problems_found: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken promise (empty: the run held)."""
        out = list(self.problems_found)
        if self.lost:
            out.append(f"{self.lost} jobs lost")
        crashed = [(name, code) for name, code in self.worker_exits if code < 0]
        if crashed:
            out.append(f"workers died of a signal: {crashed}")
        if self.tracebacks:
            # An outage is expected: the worker says so in a line, it does not dump its stack.
            out.append(f"the worker logs hold {self.tracebacks} tracebacks")
        return out


class _Supervisor:
    """Keeps the workers running: one that exits is recorded and started again."""

    def __init__(self, start: dict[str, Any], logs: dict[str, Path], result: RestartResult) -> None:
        self._start = start
        self._logs = logs
        self._result = result
        self.offsets: dict[str, int] = {}
        self.processes = {name: self._run(name) for name in start}

    def _run(self, name: str) -> Any:
        self.offsets[name] = file_size(self._logs[name])
        return self._start[name]()

    def tend(self) -> None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                self._result.worker_exits.append((name, code))
                if len(self._result.worker_exits) > MAX_RESTARTS:
                    raise AssertionError(f"workers exited {MAX_RESTARTS} times: giving up")
                self.processes[name] = self._run(name)


def run_db_restart(
    server: PrivateMariaDB, workdir: Path, *, jobs: int, rng: Any, seed: int, restarts: int = 2
) -> RestartResult:
    """Drain `jobs` jobs while the server is restarted `restarts` times."""
    url = server.url
    fresh_tables(url)
    queued = queue_jobs(url, jobs)
    result = RestartResult(jobs=jobs, seed=seed)
    record = workdir / "record.txt"
    env_file = write_env_file(workdir, retry_after=30)
    logs = {"prefetch 1": workdir / "prefetch-1.log", "prefetch 64": workdir / "prefetch-64.log"}
    options = {"prefetch 1": ("--prefetch", "1"), "prefetch 64": ("--prefetch", "64")}

    def starter(name: str) -> Any:
        return lambda: start_bridge(
            url,
            "--sleep",
            "0.1",
            "--tries",
            "3",
            *options[name],
            record=record,
            log=logs[name],
            env_file=env_file,
        )

    points = sorted(rng.sample(range(jobs // 10, jobs * 8 // 10), restarts))
    print(f"server restarts at started jobs: {points}", flush=True)
    started = time.monotonic()
    supervisor = _Supervisor({name: starter(name) for name in logs}, logs, result)
    engine = sa.create_engine(url, pool_pre_ping=True)

    def tended(condition: Any) -> Any:
        def check() -> bool:
            supervisor.tend()
            return bool(condition())

        return check

    try:
        for index, point in enumerate(points):
            wait_for(
                tended(lambda point=point: count_events(record, "S") >= point),
                300,
                f"{point} started jobs",
            )
            offsets = {
                name: log.stat().st_size if log.exists() else 0 for name, log in logs.items()
            }
            how = "crash" if index % 2 == 0 else "clean"
            at = count_events(record, "S")
            down = time.monotonic()
            engine.dispose()
            if how == "crash":
                server.kill()
            else:
                assert server.process is not None
                server.process.send_signal(signal.SIGTERM)
                server.process.wait(timeout=120)
                server.process = None

            exits_before = len(result.worker_exits)

            def noticed(
                offsets: dict[str, int] = offsets, exits_before: int = exits_before
            ) -> bool:
                for name, log in logs.items():
                    data = log.read_bytes()[offsets[name] :] if log.exists() else b""
                    exited = any(n == name for n, _ in result.worker_exits[exits_before:])
                    if not exited and not _NOTICED.search(data):
                        return False
                return True

            wait_for(tended(noticed), 120, "every worker to notice the outage")
            server.start()
            result.restarts.append((at, how, time.monotonic() - down))

        def settled() -> bool:
            if count_rows(engine, "jobs") != 0:
                return False
            return len(events_by_uuid(read_record(record), "D")) >= jobs

        wait_for(tended(settled), 300 + jobs / 20, "the queue to drain after the restarts")
        result.seconds = time.monotonic() - started
    except AssertionError as exc:
        result.problems_found.append(f"{exc}\n{log_tail(list(logs.values()))}")
    finally:
        for name, process in supervisor.processes.items():
            code = stop(process)
            if not clean_exit(code, logged=file_size(logs[name]) > supervisor.offsets[name]):
                result.problems_found.append(f"{name} did not stop cleanly at the end: {code}")
        engine.dispose()
    done = events_by_uuid(read_record(record), "D")
    result.lost = sum(1 for d in queued if not done[d.uuid])
    result.ran_twice = sum(1 for d in queued if done[d.uuid] > 1)
    text = b"".join(log.read_bytes() for log in logs.values() if log.exists())
    result.log_lines = text.count(b"\n")
    result.tracebacks = text.count(b"Traceback (most recent call last)")
    return result


# --- bridge and Laravel together ----------------------------------------------------------

QUEUE = "mixed"
#: bridge workers of the mixed run, by prefetch.
BRIDGE_PREFETCH = (1, 1, 16, 64)
LARAVEL_WORKERS = 2


@dataclass
class MixedResult:
    """What a mixed-load run did and found."""

    database: str
    jobs: int
    seconds: float = 0.0
    lost: int = 0
    duplicated: int = 0
    by_language: dict[str, int] = field(default_factory=dict)
    processes_by_language: dict[str, int] = field(default_factory=dict)
    exits: list[int] = field(default_factory=list)
    failed: int = 0
    clean: bool = False
    problems_found: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken promise (empty: the run held)."""
        out = list(self.problems_found)
        if self.lost or self.duplicated or self.failed:
            out.append(f"{self.lost} lost, {self.duplicated} run twice, {self.failed} failed")
        if not self.clean:
            out.append(f"workers did not stop cleanly: {self.exits}")
        return out


def _dispatch_records(env: LaravelEnv, jobs: int) -> list[str]:
    """Queue `jobs` `RecordsOnly` jobs through Laravel's Queue::bulk; their uuids."""
    import json

    uuids: list[str] = []
    for start in range(0, jobs, 5000):
        lines = env.dispatch("records", queue=QUEUE, count=min(5000, jobs - start), bulk=True)
        uuids += [json.loads(line["payload"])["uuid"] for line in lines]
    return uuids


def run_mixed(url: str, workdir: Path, *, php_binary: str, jobs: int) -> MixedResult:
    """Drain `jobs` jobs with 4 bridge and 2 Laravel workers at once."""
    env = fresh_laravel_env(url, php_binary=php_binary, tmp_path=workdir)
    result = MixedResult(database=dialect(url), jobs=jobs)
    uuids = _dispatch_records(env, jobs)
    logs = [workdir / f"worker-{n}.log" for n in range(len(BRIDGE_PREFETCH) + LARAVEL_WORKERS)]
    environ = {**env.environ(), "BRIDGE_DATABASE_URL": url, "FIXTURE_DATABASE_URL": url}
    workers: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    for index, prefetch in enumerate(BRIDGE_PREFETCH):
        argv = [bridge_command(), "work", "--app", "tests.support.handlers:app", "--queue", QUEUE]
        argv += ["--sleep", "0.1", "--tries", "1", "--prefetch", str(prefetch)]
        with logs[index].open("wb") as sink:
            workers.append(subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=sink, stderr=sink))
    for index in range(LARAVEL_WORKERS):
        argv = env.command(
            "work.php", *env.work_args(queue=QUEUE, stop_when_empty=False, sleep=0.1, tries=1)
        )
        with logs[len(BRIDGE_PREFETCH) + index].open("wb") as sink:
            workers.append(subprocess.Popen(argv, env=env.environ(), stdout=sink, stderr=sink))
    engine = create_engine_for(url)
    try:

        def drained() -> bool:
            if any(w.poll() is not None for w in workers):
                raise AssertionError("a worker exited during the drain")
            return count_rows(engine, "fixture_job_log") >= jobs and count_rows(engine, "jobs") == 0

        wait_for(drained, 120 + jobs / 10, f"{jobs} jobs to be logged")
        result.seconds = time.monotonic() - started
    except AssertionError as exc:
        result.problems_found.append(f"{exc}\n{log_tail(logs)}")
    finally:
        logged = [file_size(log) > 0 for log in logs]
        result.exits = [stop(w) for w in workers]
        engine.dispose()
    result.clean = all(
        clean_exit(code, logged=grew) for code, grew in zip(result.exits, logged, strict=True)
    )
    log = env.job_log()
    runs = Counter(str(row["uuid"]) for row in log)
    result.lost = sum(1 for u in uuids if not runs[u])
    result.duplicated = sum(1 for n in runs.values() if n > 1)
    result.by_language = dict(Counter(str(row["worker"]) for row in log))
    pids: dict[str, set[int]] = {}
    for row in log:
        pids.setdefault(str(row["worker"]), set()).add(int(row["pid"]))
    result.processes_by_language = {k: len(v) for k, v in pids.items()}
    result.failed = len(env.failed_jobs())
    return result
