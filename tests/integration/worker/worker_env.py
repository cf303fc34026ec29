"""Integration kit for the worker: real tables on each database, a runnable worker process.

Run as a script, it starts a worker (or a pool) on the given tables with the app below; the
test process watches what the handlers record in `BRIDGE_TEST_SEEN` (one line per run:
`pid uuid attempts`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bridge.queue.base import NewJob
from bridge.queue.database import (
    DatabaseBatchStore,
    DatabaseFailedJobStore,
    DatabaseQueue,
    create_engine_for,
)
from bridge.queue.database_stores import DatabaseStores
from bridge.queue.schema import migrate
from bridge.worker import App, Job, StopReason, Worker, WorkerOptions
from bridge.worker.pool import run_pool

FIXTURES = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"
TRIVIAL = "App\\Jobs\\SendWelcomeEmail"
SLOW = "App\\Jobs\\GenerateReport"
STUBBORN = "App\\Jobs\\RecordAudit"

app = App()


def _record(job: Job) -> None:
    seen = os.environ.get("BRIDGE_TEST_SEEN")
    if seen:
        with open(seen, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {job.uuid} {job.attempts}\n")


@app.handler(TRIVIAL)
def trivial(job: Job) -> None:
    _record(job)


@app.handler(SLOW)
def slow(job: Job) -> None:
    _record(job)
    time.sleep(float(os.environ.get("BRIDGE_TEST_SLOW_SECONDS", "30")))


@app.handler(STUBBORN)
def stubborn(job: Job) -> None:
    _record(job)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # ignores the timeout interrupt, as C code would
        try:
            time.sleep(0.05)
        except BaseException:
            pass


def recorded_payload(kind: str, version: str = "12.67.0") -> str:
    for line in (FIXTURES / f"{version}.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] == kind:
            return str(row["payload"])
    raise LookupError(kind)


def payloads(kind: str, count: int, **keys: object) -> list[str]:
    """`count` copies of a recorded payload, each with its own uuid."""
    raw = json.loads(recorded_payload(kind))
    out = []
    for _ in range(count):
        raw.update(keys, uuid=str(uuid.uuid4()))
        out.append(json.dumps(raw))
    return out


@dataclass
class Stores:
    """The three stores on one database, under unique table names, on one engine."""

    url: str
    suffix: str
    retry_after: int = 90
    _engine: Engine | None = None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def open(self) -> DatabaseStores:
        if self._engine is None:
            self._engine = create_engine_for(self.url)
        engine = self._engine
        migrate(
            engine,
            jobs_table=f"jobs_{self.suffix}",
            failed_table=f"failed_{self.suffix}",
            batches_table=f"batches_{self.suffix}",
        )
        return DatabaseStores(
            engine=engine,
            jobs_table=f"jobs_{self.suffix}",
            failed_table=f"failed_{self.suffix}",
            batches_table=f"batches_{self.suffix}",
            retry_after_seconds=self.retry_after,
        )

    def build(self) -> tuple[DatabaseQueue, DatabaseFailedJobStore, DatabaseBatchStore]:
        stores = self.open()
        return stores.queue, stores.failed, stores.batches

    def push(self, texts: list[str], queue: str = "default") -> None:
        jobs_queue, _, _ = self.build()
        now = int(time.time())
        jobs_queue.bulk(
            [NewJob(payload=t, queue=queue, available_at=now, created_at=now) for t in texts]
        )
        jobs_queue.engine.dispose()

    def worker(self, *, app: App = app, **options: object) -> Worker:
        return Worker(
            stores=self.open(),
            app=app,
            # The test process's own size is not the worker's: no memory limit in-process.
            options=WorkerOptions(**{"memory_mb": 0, **options}),  # type: ignore[arg-type]
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("suffix")
    parser.add_argument("--retry-after", type=int, default=90)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--prefetch", type=int, default=1)
    parser.add_argument("--tries", type=int, default=1)
    parser.add_argument("--stop-when-empty", action="store_true")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--grace", type=float, default=5)
    args = parser.parse_args()
    stores = Stores(args.url, args.suffix, args.retry_after)
    options = {
        "prefetch": args.prefetch,
        "tries": args.tries,
        "stop_when_empty": args.stop_when_empty,
        "sleep_seconds": 0.2,
        "timeout_seconds": args.timeout,
        "timeout_grace_seconds": args.grace,
    }
    if args.concurrency > 1:
        return run_pool(lambda index: stores.worker(**options), concurrency=args.concurrency)
    reason: StopReason = stores.worker(**options).run()
    return reason.exit_code


if __name__ == "__main__":
    sys.exit(main())
