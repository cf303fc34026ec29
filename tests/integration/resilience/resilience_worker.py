"""A bridge worker process for the crash tests, and helpers to start it and read its record.

Run as a script, it drains a queue with handlers for the harness's fixture jobs:

* `Fixtures\\Jobs\\RecordsOnly` appends `start UUID ATTEMPTS` to the record file, sleeps
  `--job-seconds`, then appends `done UUID ATTEMPTS`. The record is a plain file written with
  one unbuffered `O_APPEND` write per line, so it survives a SIGKILL of the worker and does not
  depend on the database the test may be taking down.
* `Fixtures\\Jobs\\OverstaysTimeout` logs to `fixture_job_log` like the PHP job, then sleeps
  its `seconds` (the parity tests kill it there).

    python resilience_worker.py --database URL --record FILE [--queue Q] [--retry-after S]
        [--tries N] [--prefetch N] [--job-seconds S] [--stop-when-empty]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[3]


@dataclass(frozen=True)
class Entry:
    """One line of a worker's record."""

    event: str
    uuid: str
    attempts: int
    at: float


def read_record(path: Path) -> list[Entry]:
    """The entries of a record file (a torn last line, from a kill mid-write, is skipped)."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text("utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4:
            entries.append(Entry(parts[0], parts[1], int(parts[2]), float(parts[3])))
    return entries


def start_worker(
    database_url: str,
    record: Path,
    *,
    queue: str = "default",
    retry_after: int = 90,
    tries: int = 1,
    prefetch: int = 1,
    job_seconds: float = 0.0,
    stop_when_empty: bool = False,
    log: Path,
) -> subprocess.Popen[bytes]:
    """Start this script as a worker process, its output appended to `log`.

    Stop it with SIGTERM (finishes the current job, exits 0) or kill it.
    """
    argv = [
        sys.executable,
        str(SCRIPT),
        f"--database={database_url}",
        f"--record={record}",
        f"--queue={queue}",
        f"--retry-after={retry_after}",
        f"--tries={tries}",
        f"--prefetch={prefetch}",
        f"--job-seconds={job_seconds}",
    ]
    if stop_when_empty:
        argv.append("--stop-when-empty")
    with open(log, "ab") as output:
        return subprocess.Popen(argv, stdout=output, stderr=output, cwd=ROOT)


def _main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--queue", default="default")
    parser.add_argument("--retry-after", type=int, default=90)
    parser.add_argument("--tries", type=int, default=1)
    parser.add_argument("--prefetch", type=int, default=1)
    parser.add_argument("--job-seconds", type=float, default=0.0)
    parser.add_argument("--stop-when-empty", action="store_true")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from bridge.queue.database import create_engine_for
    from bridge.queue.database_stores import DatabaseStores
    from bridge.retry import MessageStyle
    from bridge.worker import App, Job, Worker, WorkerOptions, log_handler

    record_fd = os.open(args.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def note(event: str, job: Job) -> None:
        os.write(record_fd, f"{event} {job.uuid} {job.attempts} {time.time():.3f}\n".encode())

    engine = create_engine_for(args.database)
    app = App(name="resilience")

    @app.handler("Fixtures\\Jobs\\RecordsOnly")
    def records(job: Job) -> None:
        note("start", job)
        if args.job_seconds > 0:
            time.sleep(args.job_seconds)
        note("done", job)

    @app.handler("Fixtures\\Jobs\\OverstaysTimeout")
    def overstays(job: Job) -> None:
        log = sa.Table("fixture_job_log", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(
                log.insert().values(
                    uuid=job.uuid,
                    job_class=job.name,
                    worker="python",
                    pid=os.getpid(),
                    attempts=job.attempts,
                    values="{}",
                    created_at=int(time.time()),
                )
            )
        note("start", job)
        time.sleep(job["seconds"])
        note("done", job)

    logger = logging.getLogger("bridge")
    logger.addHandler(log_handler(json_lines=False))
    logger.setLevel(logging.INFO)
    worker = Worker(
        stores=DatabaseStores(engine=engine, retry_after_seconds=args.retry_after),
        app=app,
        options=WorkerOptions(
            queues=(args.queue,),
            tries=args.tries,
            prefetch=args.prefetch,
            stop_when_empty=args.stop_when_empty,
            sleep_seconds=0.05,
            error_sleep_seconds=0.2,
            timeout_seconds=120,
            message_style=MessageStyle.LEGACY,
        ),
    )
    return worker.run().exit_code


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
