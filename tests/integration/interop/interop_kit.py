"""bridge's side of a shared Laravel queue, and the helpers the interop tests compare with.

`BridgeSide` opens bridge's stores on the tables a `LaravelEnv` uses (same names, same APP_KEY,
same `retry_after`), dispatches with `bridge.dispatcher.Dispatcher` for Laravel 8 and runs
`bridge.worker.Worker` in this process with the fixture handlers of `tests.support.handlers`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.dispatcher import Dispatcher
from bridge.laravel.encryption import Encrypter
from bridge.queue.database import (
    DatabaseBatchStore,
    DatabaseFailedJobStore,
    DatabaseQueue,
    create_engine_for,
)
from bridge.worker import App, StopReason, Worker, WorkerOptions
from tests.support.describe import canonical
from tests.support.handlers import JobLogWriter, Observer, build_app
from tests.support.laravel import LaravelEnv


@dataclass(frozen=True, kw_only=True)
class BridgeSide:
    """bridge's queue, failed-job and batch stores on a Laravel environment's database."""

    env: LaravelEnv
    engine: sa.Engine
    queue: DatabaseQueue
    failed: DatabaseFailedJobStore
    batches: DatabaseBatchStore
    encrypter: Encrypter
    log: JobLogWriter

    @classmethod
    def open(cls, env: LaravelEnv, *, sqlite_wal: bool = True) -> BridgeSide:
        """Open the stores on `env`'s tables (`sqlite_wal`: see `create_engine_for`)."""
        engine = create_engine_for(env.database_url, sqlite_wal=sqlite_wal)
        return cls(
            env=env,
            engine=engine,
            queue=DatabaseQueue(
                engine=engine,
                table=env.queue_table,
                connection_name=env.queue_connection,
                retry_after_seconds=env.retry_after,
            ),
            failed=DatabaseFailedJobStore(engine=engine, table=env.failed_table),
            batches=DatabaseBatchStore(engine=engine),
            encrypter=Encrypter(env.app_key),
            log=JobLogWriter(env.database_url, sqlite_wal=sqlite_wal),
        )

    def close(self) -> None:
        """Release every connection."""
        self.log.close()
        self.engine.dispose()

    def app(self, *, observe: Observer | None = None) -> App:
        """The fixture handlers, logging to this database."""
        return build_app(self.log, observe=observe)

    def dispatcher(self, profile: str = "8") -> Dispatcher:
        """A dispatcher writing payloads for `profile` (Laravel 8's) into this queue."""
        return Dispatcher(
            queue=self.queue, profile=profile, encrypter=self.encrypter, batches=self.batches
        )

    def work(self, *, app: App | None = None, **options: Any) -> StopReason:
        """Run bridge's worker until the queues are empty (like `env.work()` on the PHP side)."""
        options.setdefault("stop_when_empty", True)
        options.setdefault("sleep_seconds", 0.0)
        # The limit is for a worker process; the test process's own size is not the worker's.
        options.setdefault("memory_mb", 0)
        # The test process's own size is not the worker's: no memory limit in-process.
        options.setdefault("memory_mb", 0)
        if "queue" in options:
            options["queues"] = tuple(str(options.pop("queue")).split(","))
        worker = Worker(
            queue=self.queue,
            failed=self.failed,
            batches=self.batches,
            app=app if app is not None else self.app(),
            options=WorkerOptions(**options),
            encrypter=self.encrypter,
        )
        return worker.run()


def payload_uuid(line: Mapping[str, Any]) -> str:
    """The payload uuid of a dispatch line (or a `Dispatched`-like mapping with `payload`)."""
    uuid: str = json.loads(line["payload"])["uuid"]
    return uuid


def mismatches(
    expected: Mapping[str, Any], seen: Mapping[str, Any], *, what: str = "values"
) -> list[str]:
    """Human-readable differences between two descriptions, compared as canonical JSON."""
    if canonical(expected) == canonical(seen):
        return []
    out = []
    for name in dict.fromkeys([*expected, *seen]):
        want, got = expected.get(name, "<missing>"), seen.get(name, "<missing>")
        if canonical(want) != canonical(got):
            want_text, got_text = canonical(want)[:400], canonical(got)[:400]
            out.append(f"{what}[{name!r}]: expected {want_text}, saw {got_text}")
    if not out:
        out.append(f"{what}: same values in a different order: {list(expected)} vs {list(seen)}")
    return out


def log_by_uuid(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """`fixture_job_log` rows grouped by payload uuid."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row["uuid"]), []).append(row)
    return out


def make_all_available(env: LaravelEnv) -> None:
    """Let delayed rows run now: their `available_at` goes back to the present."""
    with env.engine() as engine, engine.begin() as conn:
        jobs = sa.Table(env.queue_table, sa.MetaData(), autoload_with=conn)
        conn.execute(jobs.update().values(available_at=int(time.time()) - 1))
