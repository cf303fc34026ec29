"""The SO framework, live: its own queue classes run by `php_fixtures/so/so.php`, and bridge's
side of the same tables.

The framework's files are read from `../shared/so-framework/<version>` beside the clone, never
copied into the project. `SoEnv` owns one MariaDB database with the framework's own `jobs` and
`failed_jobs` tables; PHP pushes and works through the framework's `QueueManager` and
`Worker`, and each fixture job's `handle()` appends what it saw to a log file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bridge.dialect import Dialect, dialect_named
from bridge.dispatcher import Dispatcher
from bridge.laravel import JobClass, Prop
from bridge.php import dumps, loads
from bridge.queue.base import JobRow
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for
from bridge.queue.database_stores import DatabaseStores
from bridge.so import SO_JSON, SO_SERIALIZE, so_job_class
from bridge.worker import App, Job, StopReason, Worker, WorkerOptions

ROOT = Path(__file__).resolve().parents[3]
SO_FRAMEWORK = ROOT.parent / "shared" / "so-framework"
DRIVER = ROOT / "php_fixtures" / "so" / "so.php"

#: Folder of each version -> the payload format its `Job::serialize()` writes.
VERSIONS = {"head": SO_JSON, "7799133": SO_SERIALIZE}
MIGRATIONS = {
    "head": "database/migrations/001_framework_essentials.sql",
    "7799133": "database/migrations/create_framework_tables.sql",
}

# The fixture classes of php_fixtures/so/jobs.php, declared as `bridge stubs` declares them.
KINDS = so_job_class(
    "SoFixture\\Kinds",
    [
        Prop("untyped", "public", None, None),
        Prop("count", "public", "int", 0),
        Prop("ratio", "public", "float", 0.0),
        Prop("label", "public", "string", ""),
        Prop("note", "public", "?string", None),
        Prop("flag", "public", "bool", False),
        Prop("items", "public", "array", []),
        Prop("hidden", "protected", "string", "h"),
        Prop("looseProtected", "protected", None, None),
    ],
)
FAILS = so_job_class("SoFixture\\Fails", [Prop("label", "public", "string", "")])
COUNTS = so_job_class("SoFixture\\Counts", [Prop("n", "public", "int", 0)])
NOOP = so_job_class("SoFixture\\Noop", [Prop("n", "public", "int", 0)])  # bench/bench_so.py's
CLASSES = {c.name: c for c in (KINDS, FAILS, COUNTS, NOOP)}


def so_tables_sql(version: str) -> list[str]:
    """The framework's own CREATE TABLE statements for `jobs` and `failed_jobs`."""
    text = (SO_FRAMEWORK / version / MIGRATIONS[version]).read_text()
    text = re.sub(r"--[^\n]*", "", text)
    wanted = re.compile(r"CREATE TABLE IF NOT EXISTS (jobs|failed_jobs) \(")
    out = []
    for statement in text.split(";"):
        found = wanted.search(statement)
        if found:
            out.append(statement[found.start() :].strip())
    return out


@dataclass
class SoEnv:
    """One SO framework version on one MariaDB database, and bridge's stores on it."""

    version: str
    php: str
    url: str
    log_path: Path
    engine: sa.Engine = field(init=False)
    stores: DatabaseStores = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine_for(self.url)
        with self.engine.begin() as conn:
            for statement in so_tables_sql(self.version):
                conn.exec_driver_sql(statement)
        self.stores = DatabaseStores(engine=self.engine)

    @property
    def queue(self) -> DatabaseQueue:
        return self.stores.queue

    @property
    def failed(self) -> DatabaseFailedJobStore:
        return self.stores.failed

    @property
    def format(self) -> str:
        """The payload format of this version."""
        return VERSIONS[self.version]

    @property
    def dialect(self) -> Dialect:
        """bridge's dialect for this version."""
        return dialect_named(self.format)

    @property
    def framework(self) -> Path:
        return SO_FRAMEWORK / self.version

    def close(self) -> None:
        self.engine.dispose()

    def reset(self) -> None:
        """Empty tables and log between tests."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM jobs")
            conn.exec_driver_sql("DELETE FROM failed_jobs")
        self.log_path.write_text("")

    # --- PHP ------------------------------------------------------------------------------

    def php_environ(self, worker: str = "so") -> dict[str, str]:
        url = make_url(self.url)
        return {
            **os.environ,
            "SO_DB_HOST": url.host or "127.0.0.1",
            "SO_DB_PORT": str(url.port or 3306),
            "SO_DB_DATABASE": url.database or "",
            "SO_DB_USERNAME": url.username or "root",
            "SO_DB_PASSWORD": url.password or "",
            "QUEUE_CONNECTION": "database",
            "SO_FIXTURE_LOG": str(self.log_path),
            "SO_WORKER_NAME": worker,
        }

    def _run(self, args: Sequence[str], stdin: str = "") -> str:
        done = subprocess.run(
            [self.php, str(DRIVER), str(self.framework), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.php_environ(),
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"SO {self.version} {args[0]} exited {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        return done.stdout

    @staticmethod
    def _specs(jobs: Iterable[tuple[str, Mapping[str, Any], str | None, int]]) -> str:
        lines = []
        for class_name, props, queue, delay in jobs:
            encoded = base64.b64encode(dumps(dict(props))).decode()
            lines.append(
                json.dumps({"class": class_name, "props": encoded, "queue": queue, "delay": delay})
            )
        return "\n".join(lines) + "\n"

    def php_serialize(self, jobs: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """What `Job::serialize()` writes for each (class, props), without a database."""
        out = self._run(["serialize"], self._specs((c, p, None, 0) for c, p in jobs))
        return [base64.b64decode(line).decode("utf-8") for line in out.split()]

    def php_push(
        self, jobs: Iterable[tuple[str, Mapping[str, Any]]], *, queue: str | None = None
    ) -> list[int]:
        """Push jobs with the framework's `QueueManager::push`; their row ids."""
        out = self._run(["push"], self._specs((c, p, queue, 0) for c, p in jobs))
        return [json.loads(line)["id"] for line in out.splitlines()]

    def php_work(self, *, queue: str = "default", tries: int = 3) -> str:
        """The framework's `Worker::runNextJob` until no job is available; its output."""
        return self._run(["work", queue, str(tries)])

    def php_worker_process(
        self, name: str, *, queue: str = "default", stdout: Any = subprocess.DEVNULL
    ) -> subprocess.Popen[str]:
        """A PHP worker running until the queue is empty, started and left running."""
        return subprocess.Popen(
            [self.php, str(DRIVER), str(self.framework), "work", queue, "3"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=self.php_environ(name),
        )

    def handled(self) -> list[dict[str, Any]]:
        """The log lines written by `handle()` (PHP's), `props` decoded."""
        out = []
        for line in self.log_path.read_text().splitlines():
            record = json.loads(line)
            record["props"] = loads(base64.b64decode(record["props"]))
            out.append(record)
        return out

    # --- bridge ---------------------------------------------------------------------------

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(stores=self.stores, dialect=self.dialect)

    def work(self, app: App, **options: Any) -> StopReason:
        """bridge's worker in the SO dialect until the queue is empty."""
        options.setdefault("stop_when_empty", True)
        options.setdefault("sleep_seconds", 0.0)
        options.setdefault("memory_mb", 0)
        options.setdefault("tries", 3)
        options.setdefault("dialect", self.dialect)
        worker = Worker(stores=self.stores, app=app, options=WorkerOptions(**options))
        return worker.run()

    def rows(self) -> list[JobRow]:
        return self.queue.rows() if hasattr(self.queue, "rows") else self._rows()

    def _rows(self) -> list[JobRow]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(
                "SELECT id, queue, payload, attempts, reserved_at, available_at, created_at "
                "FROM jobs ORDER BY id"
            )
            return [JobRow(*row) for row in result]

    def failed_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql("SELECT * FROM failed_jobs ORDER BY id")
            return [dict(row._mapping) for row in result]


def recording_app(seen: list[dict[str, Any]], *, fail: Iterable[str] = ()) -> App:
    """Handlers for the fixture classes that record what they see (and raise for `fail`)."""
    app = App()
    failing = set(fail)

    def handler_for(job_class: JobClass) -> Any:
        def handle(job: Job) -> None:
            seen.append(
                {
                    "class": job_class.name,
                    "id": job.id,
                    "attempts": job.attempts,
                    "values": dict(job.values),
                }
            )
            if job_class.name in failing:
                raise RuntimeError(f"boom: {job.get('label')}")

        return handle

    for job_class in CLASSES.values():
        app.register(job_class.name, handler_for(job_class))
    return app
