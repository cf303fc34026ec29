"""The Python test app: a handler for every `php_fixtures` job class, doing what the PHP job does.

Each handler writes one `fixture_job_log` row exactly as `Fixtures\\Harness\\JobLog` does
(uuid, job class, worker = 'python', pid, attempts, the job's own properties as a value
description, created_at), then behaves like its PHP class: `AlwaysFails` raises, `FlakyJob`
raises while `attempts <= failures`, `ReleasesItself` releases, `FailsManually` fails itself,
`OverstaysTimeout` sleeps. A test can therefore run a queue with PHP workers, Python workers or
both and read one log.

The logged `values` describe the command exactly as it arrived (`describe_command` of
`job.command`); `observe` lets an in-process test look at the `Job` too (e.g. its friendly
`job.values`).

`bridge work --app tests.support.handlers:app` uses the module-level `app`, whose log database
is `FIXTURE_DATABASE_URL` (else `BRIDGE_DATABASE_URL`) from the environment, read on first use.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from bridge.queue.database import create_engine_for
from bridge.worker import App, Job
from tests.support.describe import describe_command, describe_data

__all__ = ["FIXTURE_JOBS", "STRING_JOB", "JobLogWriter", "Observer", "app", "build_app"]

#: The handler string of the harness's `Queue::push('Class@method', $data)` kind.
STRING_JOB = "Fixtures\\Jobs\\ArchiveHandler@archive"

#: Job classes whose PHP `handle()` only records what it holds.
RECORDING_JOBS = (
    "Fixtures\\Jobs\\WelcomeMember",
    "Fixtures\\Jobs\\AuditTrail",
    "Fixtures\\Jobs\\ArchiveTicket",
    "Fixtures\\Jobs\\SyncCatalog",
    "Fixtures\\Jobs\\MeasureSamples",
    "Fixtures\\Jobs\\SetFlags",
    "Fixtures\\Jobs\\ChangeShipment",
    "Fixtures\\Jobs\\PlanMeeting",
    "Fixtures\\Jobs\\PackOrder",
    "Fixtures\\Jobs\\CopyLocation",
    "Fixtures\\Jobs\\ImportLedger",
    "Fixtures\\Jobs\\PingLater",
    "Fixtures\\Jobs\\ChargeWallet",
    "Fixtures\\Jobs\\ResizePhoto",
    "Fixtures\\Jobs\\PublishPhoto",
    "Fixtures\\Jobs\\CrunchChunk",
    "Fixtures\\Jobs\\GreetUser",
    "Fixtures\\Jobs\\GreetUsers",
    "Fixtures\\Jobs\\BuildReport",
    "Fixtures\\Jobs\\RecordsOnly",
)

#: Every job class (and the string job) this app serves.
FIXTURE_JOBS = (
    *RECORDING_JOBS,
    "Fixtures\\Jobs\\AlwaysFails",
    "Fixtures\\Jobs\\FlakyJob",
    "Fixtures\\Jobs\\OverstaysTimeout",
    "Fixtures\\Jobs\\ReleasesItself",
    "Fixtures\\Jobs\\FailsManually",
    STRING_JOB,
)

Observer = Callable[[Job], object]


class JobLogWriter:
    """Writes `fixture_job_log` rows as a Python handler (worker = 'python').

    Args:
        database_url: The log's database; None reads `FIXTURE_DATABASE_URL` (else
            `BRIDGE_DATABASE_URL`) when the first row is written.
    """

    def __init__(self, database_url: str | None = None, *, sqlite_wal: bool = True) -> None:
        self._database_url = database_url
        self._sqlite_wal = sqlite_wal
        self._engine: sa.Engine | None = None
        self._table: sa.Table | None = None

    def _connect(self) -> tuple[sa.Engine, sa.Table]:
        if self._engine is None or self._table is None:
            url = (
                self._database_url
                or os.environ.get("FIXTURE_DATABASE_URL")
                or os.environ["BRIDGE_DATABASE_URL"]
            )
            self._engine = create_engine_for(url, sqlite_wal=self._sqlite_wal)
            with self._engine.connect() as conn:
                self._table = sa.Table("fixture_job_log", sa.MetaData(), autoload_with=conn)
        return self._engine, self._table

    def record(self, job: Job, job_class: str, values: dict[str, Any]) -> None:
        """Insert the row for one handled job."""
        engine, table = self._connect()
        with engine.begin() as conn:
            conn.execute(
                table.insert().values(
                    uuid=job.uuid,
                    job_class=job_class,
                    worker="python",
                    pid=os.getpid(),
                    attempts=job.attempts,
                    values=json.dumps(values, ensure_ascii=False, allow_nan=False),
                    created_at=int(time.time()),
                )
            )

    def close(self) -> None:
        """Release the engine's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def build_app(log: JobLogWriter, *, observe: Observer | None = None) -> App:
    """The fixture app writing to `log`; `observe` sees every `Job` before it is recorded."""
    app = App(name="fixtures")

    def record(job: Job) -> None:
        if observe is not None:
            observe(job)
        if job.command is None:
            log.record(job, job.payload.job, {"data": describe_data(job.data)})
        else:
            log.record(job, job.command.class_name, describe_command(job.command))

    def archive(job: Job) -> None:
        record(job)
        # As the PHP handler does: Laravel's worker deletes nothing for string jobs.
        job.delete()

    def always_fails(job: Job) -> None:
        record(job)
        raise RuntimeError(job["message"])

    def flaky(job: Job) -> None:
        record(job)
        if job.attempts <= job["failures"]:
            raise RuntimeError(f"flaky failure on attempt {job.attempts}")

    def overstays(job: Job) -> None:
        record(job)
        time.sleep(job["seconds"])

    def releases(job: Job) -> None:
        record(job)
        if job.attempts <= job["times"]:
            job.release(job["releaseDelay"])

    def fails_manually(job: Job) -> None:
        record(job)
        job.fail(job["reason"])

    for name in RECORDING_JOBS:
        app.register(name, record)
    app.register(STRING_JOB, archive)
    app.register("Fixtures\\Jobs\\AlwaysFails", always_fails)
    app.register("Fixtures\\Jobs\\FlakyJob", flaky)
    app.register("Fixtures\\Jobs\\OverstaysTimeout", overstays)
    app.register("Fixtures\\Jobs\\ReleasesItself", releases)
    app.register("Fixtures\\Jobs\\FailsManually", fails_manually)
    return app


#: The app `bridge work --app tests.support.handlers:app` runs.
app = build_app(JobLogWriter())
