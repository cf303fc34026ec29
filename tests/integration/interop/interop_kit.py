"""bridge's side of a shared Laravel queue, and the helpers the interop tests compare with.

`BridgeSide` opens bridge's stores on the tables a `LaravelEnv` uses (same names, same APP_KEY,
same `retry_after`), or on its Redis keys and its database for a Laravel whose queue connection
is `redis`; it dispatches with `bridge.dispatcher.Dispatcher` and runs `bridge.worker.Worker` in
this process with the fixture handlers of `tests.support.handlers`. The interop, parity, live
and Redis kits all open bridge's stores on a Laravel environment through it.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.cli._context import DEFAULT_LARAVEL
from bridge.dispatcher import Dispatcher
from bridge.laravel.encryption import Encrypter
from bridge.queue import Stores
from bridge.queue.database import (
    DatabaseBatchStore,
    DatabaseFailedJobStore,
    DatabaseQueue,
    create_engine_for,
)
from bridge.queue.database_stores import DatabaseStores
from bridge.queue.redis import RedisQueue, connect
from bridge.worker import App, StopReason, Worker, WorkerOptions
from tests.support.describe import canonical
from tests.support.handlers import JobLogWriter, Observer, build_app
from tests.support.laravel import ROOT, LaravelEnv

#: The profile a PHP side's worker is given besides its own version's: the fallback (the
#: newest release, written when nothing tells bridge the PHP side's version) on 8's and 12's
#: worker, and 12's (an application still pinned to 12) on 13's.
OTHER_PROFILE = {"8": DEFAULT_LARAVEL, "12": DEFAULT_LARAVEL, "13": "12"}


@dataclass(frozen=True, kw_only=True)
class BridgeSide:
    """bridge's queue, failed-job and batch stores on a Laravel environment's queue and database."""

    env: LaravelEnv
    engine: sa.Engine
    #: Opened as `bridge work` opens them: on one database, a failed job moves in one
    #: transaction.
    stores: Stores
    queue: DatabaseQueue | RedisQueue
    failed: DatabaseFailedJobStore
    batches: DatabaseBatchStore
    encrypter: Encrypter
    log: JobLogWriter

    @classmethod
    def open(cls, env: LaravelEnv) -> BridgeSide:
        """Open the stores on `env`'s tables."""
        engine = create_engine_for(env.database_url, sqlite_wal=env.sqlite_wal)
        stores = DatabaseStores(
            engine=engine,
            jobs_table=env.queue_table,
            failed_table=env.failed_table,
            connection_name=env.queue_connection,
            retry_after_seconds=env.retry_after,
        )
        return cls._with(env, engine, stores)

    @classmethod
    def open_redis(cls, env: LaravelEnv, *, prefix: str, host: str, port: int) -> BridgeSide:
        """Open the Redis queue on `env`'s keys, the other stores on its database."""
        queue = RedisQueue(
            client=connect(host=host, port=port),
            prefix=prefix,
            connection_name="redis",
            retry_after_seconds=env.retry_after,
        )
        engine = create_engine_for(env.database_url, sqlite_wal=env.sqlite_wal)
        stores = Stores(
            queue=queue,
            failed=DatabaseFailedJobStore(engine=engine, table=env.failed_table),
            batches=DatabaseBatchStore(engine=engine),
        )
        return cls._with(env, engine, stores)

    @classmethod
    def _with(cls, env: LaravelEnv, engine: sa.Engine, stores: Stores) -> BridgeSide:
        assert isinstance(stores.queue, DatabaseQueue | RedisQueue)
        assert isinstance(stores.failed, DatabaseFailedJobStore)
        assert isinstance(stores.batches, DatabaseBatchStore)
        return cls(
            env=env,
            engine=engine,
            stores=stores,
            queue=stores.queue,
            failed=stores.failed,
            batches=stores.batches,
            encrypter=Encrypter(env.app_key),
            log=JobLogWriter(env.database_url, sqlite_wal=env.sqlite_wal),
        )

    def close(self) -> None:
        """Release every connection."""
        self.queue.close()
        self.stores.close()
        self.log.close()
        self.engine.dispose()

    def __enter__(self) -> BridgeSide:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def app(self, *, observe: Observer | None = None) -> App:
        """The fixture handlers, logging to this database."""
        return build_app(self.log, observe=observe)

    def dispatcher(self, profile: str = "8") -> Dispatcher:
        """A dispatcher writing payloads for `profile` (Laravel 8's) into this queue."""
        return Dispatcher(stores=self.stores, profile=profile, encrypter=self.encrypter)

    def work(self, *, app: App | None = None, **options: Any) -> StopReason:
        """Run bridge's worker until the queues are empty (like `env.work()` on the PHP side)."""
        options.setdefault("stop_when_empty", True)
        options.setdefault("sleep_seconds", 0.0)
        # The limit is for a worker process; the test process's own size is not the worker's.
        options.setdefault("memory_mb", 0)
        if "queue" in options:
            options["queues"] = tuple(str(options.pop("queue")).split(","))
        worker = Worker(
            stores=self.stores,
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


def seed_fixture_models(env: LaravelEnv) -> None:
    """The rows `Kinds::users()` creates in PHP, so PHP can restore the queued models."""
    with env.engine() as engine, engine.begin() as conn:
        meta = sa.MetaData()
        users = sa.Table("fixture_users", meta, autoload_with=conn)
        posts = sa.Table("fixture_posts", meta, autoload_with=conn)
        conn.execute(
            users.insert(),
            [
                {"id": key, "name": name, "email": f"{name.lower()}@example.org"}
                for key, name in ((1, "Ada"), (2, "Grace"), (3, "Linus"))
            ],
        )
        conn.execute(
            posts.insert(),
            [
                {"id": 1, "fixture_user_id": 2, "title": "First post"},
                {"id": 2, "fixture_user_id": 2, "title": "Second post"},
            ],
        )


def expected_values(line: Mapping[str, Any]) -> dict[str, Any]:
    """What PHP said it dispatched (a dispatch line), in the log's `values` shape."""
    if line["kind"] == "string_job":
        return {"data": line["data"]}
    properties: dict[str, Any] = line["properties"]
    return properties


def python_run_problems(
    lines: Iterable[Mapping[str, Any]],
    logged: dict[str, list[Mapping[str, Any]]],
    *,
    seen: Callable[[Mapping[str, Any], Any], Any] = lambda _line, values: values,
) -> list[str]:
    """Where Python's handlers did not see, on their first attempt, what PHP dispatched:
    each dispatch line's rows are taken out of `logged` (see `log_by_uuid`); `seen` may
    complete what a handler saw before it is compared."""
    problems: list[str] = []
    for line in lines:
        rows = logged.pop(payload_uuid(line), [])
        if len(rows) != 1:
            problems.append(f"{line['kind']}: {len(rows)} log rows, expected 1")
            continue
        [row] = rows
        job_class = line["job"] if line["kind"] == "string_job" else line["class"]
        if (row["worker"], row["job_class"], row["attempts"]) != ("python", job_class, 1):
            problems.append(f"{line['kind']}: logged as {row['worker']} {row['job_class']}")
        values = seen(line, row["values"])
        problems += [f"{line['kind']}: {t}" for t in mismatches(expected_values(line), values)]
    return problems


def php_run_problems(
    expected: Mapping[str, tuple[str, str, Mapping[str, Any]]],
    logged: dict[str, list[Mapping[str, Any]]],
) -> list[str]:
    """Where PHP's handlers did not see what was sent: `expected` maps a payload uuid to
    (kind, class, values); each uuid's rows are taken out of `logged` (see `log_by_uuid`)."""
    problems: list[str] = []
    for uuid, (kind, job_class, sent) in expected.items():
        rows = logged.pop(uuid, [])
        if [(row["worker"], row["job_class"]) for row in rows] != [("php", job_class)]:
            problems.append(f"{kind}: logged {[(r['worker'], r['job_class']) for r in rows]}")
            continue
        problems += [f"{kind}: {text}" for text in mismatches(sent, rows[0]["values"])]
    return problems


def start_bridge(
    env: LaravelEnv, output: Path, *argv: str, environ: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """The installed `bridge` command with `argv`, its fixture handlers logging to `env`'s
    database, output to a file (thousands of job lines would fill a pipe nobody reads)."""
    found = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert found is not None, "the bridge command is not installed in this environment"
    full = {**env.environ(), "FIXTURE_DATABASE_URL": env.database_url, **(environ or {})}
    with output.open("w") as sink:
        return subprocess.Popen(
            [found, *argv], cwd=ROOT, env=full, stdout=sink, stderr=sink, text=True
        )


def start_php_worker(env: LaravelEnv, output: Path, **options: Any) -> subprocess.Popen[str]:
    """Laravel's `queue:work` daemon (`LaravelEnv.work_args` options), output to a file."""
    argv = env.command("work.php", *env.work_args(stop_when_empty=False, **options))
    with output.open("w") as sink:
        return subprocess.Popen(argv, env=env.environ(), stdout=sink, stderr=sink, text=True)


def stop(workers: list[subprocess.Popen[str]]) -> None:
    """SIGTERM: each worker finishes its current job and exits; SIGKILL after 30 s."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
