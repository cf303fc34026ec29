"""Run one job through Laravel's worker and through bridge's, attempt by attempt, and compare.

A scenario starts from one payload that real Laravel dispatched (optionally with payload-level
option keys set, as a job property would have set them). Each side gets the same start, a fresh
`jobs` row holding that exact text, and the same worker options. After every worker run the
observable state is captured as a `Step`: the `jobs` rows (queue, attempts, reserved or not,
`available_at - created_at`, payload unchanged), the `failed_jobs` rows and which attempts the
handler ran. Between runs time is stepped by moving rows, never clocks: a released row is made
available now, an abandoned reservation is aged past `retry_after`. Both sides are stepped
identically, so the two step lists must be equal.

Python handlers mirror the PHP fixture jobs in `php_fixtures/app/Jobs/` exactly (same message,
same decision per attempt) and record each run in `fixture_job_log` as the PHP ones do.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bridge.retry import MessageStyle
from bridge.worker import App, InMemoryExceptionCounter, Job, Worker, WorkerOptions
from tests.integration.interop import interop_kit
from tests.support.laravel import JOB_LOG_TABLE, LaravelEnv

ALWAYS_FAILS = "Fixtures\\Jobs\\AlwaysFails"
FLAKY = "Fixtures\\Jobs\\FlakyJob"
OVERSTAYS = "Fixtures\\Jobs\\OverstaysTimeout"
RELEASES = "Fixtures\\Jobs\\ReleasesItself"
FAILS_MANUALLY = "Fixtures\\Jobs\\FailsManually"
RECORDS = "Fixtures\\Jobs\\RecordsOnly"

#: Python exception classes standing in for the PHP ones the fixture jobs throw.
PHP_EQUIVALENT = {"RuntimeError": "RuntimeException"}


# --- the Python side of the fixture jobs ---------------------------------------------------


class Tables:
    """One engine on the environment's database and its harness tables, reflected once."""

    def __init__(self, env: LaravelEnv) -> None:
        """Reflect the tables `env` migrated."""
        self.env = env
        self.engine = sa.create_engine(env.database_url)
        metadata = sa.MetaData()
        with self.engine.connect() as conn:
            metadata.reflect(conn, only=[env.queue_table, env.failed_table, JOB_LOG_TABLE])
        self.jobs = metadata.tables[env.queue_table]
        self.failed = metadata.tables[env.failed_table]
        self.log = metadata.tables[JOB_LOG_TABLE]

    def record(self, job: Job) -> None:
        """Write a `fixture_job_log` row for a Python handler run, as `JobLog::record`."""
        with self.engine.begin() as conn:
            conn.execute(
                self.log.insert().values(
                    uuid=job.uuid,
                    job_class=job.name,
                    worker="python",
                    pid=os.getpid(),
                    attempts=job.attempts,
                    values="{}",
                    created_at=int(time.time()),
                )
            )

    def dispose(self) -> None:
        """Close the engine's connections."""
        self.engine.dispose()


def python_app(record: Callable[[Job], None]) -> App:
    """Handlers that behave as the PHP fixture jobs do, logging each run with `record`."""
    app = App(name="parity")
    log = record

    @app.handler(ALWAYS_FAILS)
    def always_fails(job: Job) -> None:
        log(job)
        raise RuntimeError(job["message"])

    @app.handler(FLAKY)
    def flaky(job: Job) -> None:
        log(job)
        if job.attempts <= job["failures"]:
            raise RuntimeError(f"flaky failure on attempt {job.attempts}")

    @app.handler(OVERSTAYS)
    def overstays(job: Job) -> None:
        log(job)
        time.sleep(job["seconds"])

    @app.handler(RELEASES)
    def releases(job: Job) -> None:
        log(job)
        if job.attempts <= job["times"]:
            job.release(job["releaseDelay"])

    @app.handler(FAILS_MANUALLY)
    def fails_manually(job: Job) -> None:
        log(job)
        job.fail(job["reason"])

    @app.handler(RECORDS)
    def records(job: Job) -> None:
        log(job)

    return app


# --- what is compared ----------------------------------------------------------------------


@dataclass(frozen=True)
class JobsRow:
    """A `jobs` row as far as it must match: ids and absolute times differ between runs."""

    queue: str
    attempts: int
    reserved: bool
    delay_seconds: int
    payload_unchanged: bool


@dataclass(frozen=True)
class FailedRow:
    """A `failed_jobs` row; `exception_class` is mapped to PHP's name for user exceptions."""

    uuid: str | None
    connection: str
    queue: str
    payload_unchanged: bool
    exception_class: str | None
    exception_message: str
    exception_has_trace: bool
    failed_at_format: str
    failed_at_in_run: bool


@dataclass(frozen=True)
class Step:
    """The state after one worker run: rows left, rows failed, attempts the handler ran."""

    jobs: tuple[JobsRow, ...]
    failed: tuple[FailedRow, ...]
    ran: tuple[int, ...]


@dataclass(frozen=True)
class WorkerSettings:
    """`queue:work` options both workers get."""

    queue: str = "default"
    tries: int = 1
    backoff: str = "0"
    timeout: int = 60


_WHERE = re.compile(r".+:\d+")
_PHP_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def split_exception(text: str) -> tuple[str | None, str, bool]:
    """`(class, message, has_trace)` of a failed_jobs exception text.

    Text without PHP's ` in {file}:{line}` head (Laravel 8's manual `fail('reason')` stores
    the bare string) gives `(None, first_line, has_trace)`.
    """
    first, _, rest = text.partition("\n")
    has_trace = rest.startswith("Stack trace:\n#0 ")
    head, sep, where = first.rpartition(" in ")
    if not sep or not _WHERE.fullmatch(where):
        return None, first, has_trace
    cls, _, message = head.partition(": ")
    return PHP_EQUIVALENT.get(cls, cls), message, has_trace


def _failed_at_format(value: Any) -> str:
    if isinstance(value, str):
        return "Y-m-d H:i:s" if _PHP_DATETIME.fullmatch(value) else f"other: {value!r}"
    if isinstance(value, datetime):
        return "Y-m-d H:i:s" if value.microsecond == 0 and value.tzinfo is None else repr(value)
    return f"other: {value!r}"


def _as_utc_seconds(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC).timestamp()


# --- one side ------------------------------------------------------------------------------


@dataclass
class Run:
    """One worker's pass over a scenario: drives the tables, records the steps."""

    tables: Tables
    payload: str
    settings: WorkerSettings
    steps: list[Step] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def reset(self, *, attempts: int = 0, reserved_at: int | None = None) -> None:
        """Empty the tables and insert the scenario's row as `push` would."""
        t = self.tables
        now = int(time.time())
        self.started = now
        with t.engine.begin() as conn:
            for table in (t.jobs, t.failed, t.log):
                conn.execute(table.delete())
            conn.execute(
                t.jobs.insert().values(
                    queue=self.settings.queue,
                    payload=self.payload,
                    attempts=attempts,
                    reserved_at=reserved_at,
                    available_at=now,
                    created_at=now,
                )
            )

    def snapshot(self) -> Step:
        """Capture the tables after a worker run."""
        ended = time.time()
        t = self.tables
        # The raw column value, so SQLite's stored text is seen as written.
        raw_failed_at = sa.text(f"SELECT failed_at FROM {t.failed.name} WHERE id = :id")
        with t.engine.connect() as conn:
            jobs = tuple(
                JobsRow(
                    queue=r.queue,
                    attempts=r.attempts,
                    reserved=r.reserved_at is not None,
                    delay_seconds=r.available_at - r.created_at,
                    payload_unchanged=r.payload == self.payload,
                )
                for r in conn.execute(sa.select(t.jobs).order_by(t.jobs.c.id))
            )
            failed = []
            for r in conn.execute(sa.select(t.failed).order_by(t.failed.c.id)):
                raw_at = conn.execute(raw_failed_at, {"id": r.id}).scalar_one()
                cls, message, has_trace = split_exception(r.exception)
                failed.append(
                    FailedRow(
                        uuid=r.uuid,
                        connection=r.connection,
                        queue=r.queue,
                        payload_unchanged=r.payload == self.payload,
                        exception_class=cls,
                        exception_message=message,
                        exception_has_trace=has_trace,
                        failed_at_format=_failed_at_format(raw_at),
                        failed_at_in_run=self.started - 1 <= _as_utc_seconds(raw_at) <= ended + 1,
                    )
                )
            ran = tuple(
                row.attempts
                for row in conn.execute(sa.select(t.log.c.attempts).order_by(t.log.c.id))
            )
        step = Step(jobs=jobs, failed=tuple(failed), ran=ran)
        self.steps.append(step)
        return step

    def step_time(self) -> None:
        """Let time pass: released rows become available, reservations expire."""
        expired = self.tables.env.retry_after + 1
        jobs = self.tables.jobs
        with self.tables.engine.begin() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.reserved_at.is_(None))
                .values(available_at=jobs.c.created_at)
            )
            conn.execute(
                jobs.update()
                .where(jobs.c.reserved_at.is_not(None))
                .values(reserved_at=jobs.c.reserved_at - expired)
            )

    def drive(self, work_once: Callable[[], None], *, max_runs: int) -> list[Step]:
        """Run the worker, snapshot, step time; until the row is gone or `max_runs`."""
        for _ in range(max_runs):
            work_once()
            if not self.snapshot().jobs:
                break
            self.step_time()
        return self.steps


def laravel_once(env: LaravelEnv, settings: WorkerSettings) -> Callable[[], None]:
    """One `queue:work --max-jobs=1 --stop-when-empty` run (daemon mode: timeouts armed)."""

    def run() -> None:
        done = env.work(
            queue=settings.queue,
            tries=settings.tries,
            backoff=settings.backoff,
            timeout=settings.timeout,
            max_jobs=1,
            process_timeout=60,
        )
        # -9: Laravel's worker kills itself when a job times out.
        assert done.returncode in (0, -9), f"queue:work exited {done.returncode}: {done.stderr}"

    return run


@dataclass
class BridgeSide:
    """bridge's worker on the environment's database, with state kept across runs."""

    tables: Tables
    settings: WorkerSettings
    counter: InMemoryExceptionCounter = field(default_factory=InMemoryExceptionCounter)
    hard_exits: list[int] = field(default_factory=list)

    def once(self) -> None:
        """One run: at most one job, stop when empty (as `--max-jobs=1 --stop-when-empty`)."""
        env = self.tables.env
        with interop_kit.BridgeSide.open(env) as side:
            worker = Worker(
                stores=side.stores,
                app=python_app(self.tables.record),
                options=WorkerOptions(
                    queues=(self.settings.queue,),
                    tries=self.settings.tries,
                    backoff=self.settings.backoff,
                    timeout_seconds=self.settings.timeout,
                    max_jobs=1,
                    memory_mb=0,  # the test process's size is not the worker's
                    stop_when_empty=True,
                    sleep_seconds=0,
                    # The attempt and timeout wording of the Laravel on the other side.
                    message_style=MessageStyle.LEGACY
                    if env.version == "8"
                    else MessageStyle.MODERN,
                ),
                # maxExceptions counts live across runs, as in Laravel's cache.
                exception_counter=self.counter,
                exit_process=self.hard_exits.append,
            )
            worker.run()
        assert self.hard_exits == [], "bridge's hard timeout fired: the handler ignored SIGALRM"


_TOP_VALUE = r'(?:null|true|false|-?\d+|"[^"\\]*")'


def with_payload_keys(payload: str, **keys: Any) -> str:
    """The payload with top-level option keys rewritten, every other byte unchanged.

    This is what setting the job property would have produced in the payload (Laravel's
    worker reads these options from the payload only), without a fixture class per option.
    """
    for key, value in keys.items():
        pattern = re.compile(f'"{key}":{_TOP_VALUE}')
        [match] = pattern.finditer(payload)  # exactly once: a top-level key
        start, end = match.span()
        payload = f'{payload[:start]}"{key}":{json.dumps(value)}{payload[end:]}'
    return payload


def dispatched_payload(env: LaravelEnv, kind: str, args: dict[str, Any]) -> str:
    """Dispatch one job through real Laravel and take its payload text (the row is dropped)."""
    [line] = env.dispatch(kind, args=args)
    payload: str = line["payload"]
    return payload


def fail_index(steps: Sequence[Step]) -> int | None:
    """The 1-based run after which the failed_jobs row appeared, or None."""
    for number, step in enumerate(steps, start=1):
        if step.failed:
            return number
    return None
