"""Drive the real-Laravel harness in `php_fixtures/` from Python tests.

`LaravelEnv` maps a SQLAlchemy URL (SQLite file, `mysql+pymysql`, `postgresql+psycopg`) onto the
`DB_*` / `QUEUE_*` / `APP_KEY` environment a Laravel `.env` would give, and runs the harness
scripts with `php` as subprocesses, always with a timeout so nothing hangs:

    env = fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)
    [line] = env.dispatch("plain_public")            # one JSON line per jobs row
    env.work()                                       # Laravel's queue:work --stop-when-empty
    assert env.job_log()[0]["values"] == line["properties"]

Every handler, PHP or Python, writes what it saw to `fixture_job_log` in the value description
of `tests/vectors/laravel-fixtures/README.md`; `job_log()` reads it back with SQLAlchemy.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
PHP_FIXTURES = ROOT / "php_fixtures"

#: The harness's own fixed key (also its default when APP_KEY is unset).
DEFAULT_APP_KEY = "base64:AIOJdoqHPw4Ot5eihHgA9XzKAupGSxuvVTYvMYYXVyo="

#: The `fixture_job_log` table both languages' handlers write.
JOB_LOG_TABLE = "fixture_job_log"

#: Kinds that describe a wire-format feature and run successfully in a PHP worker.
VALUE_KINDS = (
    "plain_public",
    "protected_private",
    "native_visibility",
    "nested_arrays",
    "floats",
    "null_bool",
    "enums",
    "dates",
    "nested_object",
    "object_reference",
    "job_options",
    "delayed",
    "delayed_datetime",
    "encrypted",
    "chain",
    "batch",
    "model_single",
    "model_with_relation",
    "model_collection",
    "string_job",
    "default_omitted",
)

#: Kinds that exercise the worker: failures, retries, timeouts, releases, the many-job drain.
BEHAVIOUR_KINDS = (
    "always_fails",
    "fails_then_succeeds",
    "sleeps_past_timeout",
    "releases",
    "fails_manually",
    "records",
)

#: Kinds whose job options come from Laravel 13's queue attributes (`php_fixtures/app/Jobs13`).
ATTRIBUTE_KINDS = ("attribute_options", "missing_model_attribute")

_DRIVERS = {"sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql", "postgresql": "pgsql"}
_DEFAULT_PORTS = {"mysql": 3306, "pgsql": 5432}


class HarnessError(AssertionError):
    """A harness script failed; the message carries its exit status, stdout and stderr."""


@dataclass(frozen=True, kw_only=True)
class LaravelEnv:
    """One Laravel 8 environment (database, table names, key) driven through `php_fixtures/`.

    Attributes:
        database_url: SQLAlchemy URL of the queue database.
        php_binary: The php CLI.
        app_key: `APP_KEY`, `base64:` prefixed.
        queue_table: `QUEUE_TABLE`, the jobs table.
        failed_table: `QUEUE_FAILED_TABLE`.
        failed_driver: `database-uuids` (uuid column) or `database` (id-only layout).
        retry_after: `QUEUE_RETRY_AFTER` seconds of the `database` connection.
        queue_connection: `QUEUE_CONNECTION_NAME`, the queue connection's name.
        cache_dir: Laravel's file cache directory (maxExceptions counters); None: PHP's default.
        timeout_seconds: Default limit for each php subprocess.
    """

    database_url: str
    php_binary: str = "php"
    app_key: str = DEFAULT_APP_KEY
    queue_table: str = "jobs"
    failed_table: str = "failed_jobs"
    failed_driver: Literal["database-uuids", "database"] = "database-uuids"
    retry_after: int = 90
    queue_connection: str = "database"
    cache_dir: Path | None = None
    timeout_seconds: float = 120.0
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The Laravel major this environment runs, as bridge's profiles name it."""
        return "8"

    @property
    def sqlite_wal(self) -> bool:
        """Whether this PHP reads a SQLite file that another process switched to WAL."""
        return True

    @property
    def db_connection(self) -> str:
        """Laravel's DB connection name (and driver): `sqlite`, `mysql` or `pgsql`."""
        backend = make_url(self.database_url).get_backend_name()
        try:
            return _DRIVERS[backend]
        except KeyError:
            raise ValueError(f"no Laravel driver for database URL backend {backend!r}") from None

    def with_options(self, **changes: Any) -> LaravelEnv:
        """A copy with some fields changed (e.g. `failed_driver="database"`)."""
        return replace(self, **changes)

    def environ(self) -> dict[str, str]:
        """The environment the harness scripts run with."""
        url = make_url(self.database_url)
        connection = self.db_connection
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("DB_", "QUEUE_"))
        }
        env.update(
            DB_CONNECTION=connection,
            DB_DATABASE=url.database or "",
            APP_KEY=self.app_key,
            QUEUE_TABLE=self.queue_table,
            QUEUE_FAILED_TABLE=self.failed_table,
            QUEUE_FAILED_DRIVER=self.failed_driver,
            QUEUE_RETRY_AFTER=str(self.retry_after),
            QUEUE_CONNECTION_NAME=self.queue_connection,
        )
        if connection != "sqlite":
            env.update(
                DB_HOST=url.host or "127.0.0.1",
                DB_PORT=str(url.port or _DEFAULT_PORTS[connection]),
                DB_USERNAME=url.username or "",
                DB_PASSWORD=url.password or "",
            )
        if self.cache_dir is not None:
            env["FIXTURE_CACHE_DIR"] = str(self.cache_dir)
        env.update(self.extra_env)
        return env

    # --- running the scripts -----------------------------------------------------------

    def command(self, script: str, *args: str) -> list[str]:
        """The argv that runs one harness script."""
        return [self.php_binary, str(PHP_FIXTURES / script), *args]

    def php(
        self,
        script: str,
        *args: str,
        stdin: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run a harness script to completion; raise `HarnessError` on failure if `check`."""
        done = subprocess.run(
            self.command(script, *args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environ(),
            timeout=timeout or self.timeout_seconds,
            check=False,
        )
        if check and done.returncode != 0:
            raise HarnessError(
                f"{script} {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
            )
        return done

    def migrate(
        self,
        *,
        fresh: bool = False,
        drop: bool = False,
        only: Literal["queue", "fixtures"] | None = None,
    ) -> dict[str, list[str]]:
        """Create (or with `fresh` re-create, with `drop` only drop) the harness tables."""
        args = [*(["--fresh"] if fresh else []), *(["--drop"] if drop else [])]
        if only is not None:
            args.append(f"--only={only}")
        result: dict[str, list[str]] = json.loads(self.php("migrate.php", *args).stdout)
        return result

    def kinds(self) -> dict[str, str]:
        """Every kind the harness can dispatch, with how it is sent (dispatch, chain, ...)."""
        result: dict[str, str] = json.loads(self.php("dispatch.php", "--list").stdout)
        return result

    def dispatch(
        self,
        kind: str,
        *,
        queue: str | None = None,
        connection: str | None = None,
        count: int = 1,
        delay: int | None = None,
        args: Mapping[str, Any] | None = None,
        bulk: bool = False,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Dispatch a kind through real Laravel; one dict per jobs row (fixture line format)."""
        argv = [kind, "--count", str(count)]
        for name, value in (("queue", queue), ("connection", connection), ("delay", delay)):
            if value is not None:
                argv += [f"--{name}", str(value)]
        if args:
            argv += ["--args", json.dumps(args)]
        if bulk:
            argv.append("--bulk")
        out = self.php("dispatch.php", *argv, timeout=timeout).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def work_args(
        self,
        *,
        connection: str | None = None,
        queue: str | None = None,
        once: bool = False,
        stop_when_empty: bool = True,
        tries: int | None = None,
        backoff: int | str | None = None,
        timeout: int | None = None,
        sleep: float | None = 0,
        rest: float | None = None,
        max_jobs: int | None = None,
        max_time: int | None = None,
        memory: int | None = None,
        name: str | None = None,
    ) -> list[str]:
        """Arguments for work.php. Unlike `queue:work`: `stop_when_empty` and `sleep=0` default."""
        argv = [connection] if connection else []
        flags = {"once": once, "stop-when-empty": stop_when_empty}
        argv += [f"--{flag}" for flag, on in flags.items() if on]
        valued = {
            "queue": queue,
            "tries": tries,
            "backoff": backoff,
            "timeout": timeout,
            "sleep": sleep,
            "rest": rest,
            "max-jobs": max_jobs,
            "max-time": max_time,
            "memory": memory,
            "name": name,
        }
        argv += [f"--{option}={value}" for option, value in valued.items() if value is not None]
        return argv

    def work(
        self, *, process_timeout: float | None = None, **options: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run Laravel's `queue:work` to completion (see `work_args` for the options).

        The exit status is not checked: a job timeout makes Laravel's worker SIGKILL itself
        (returncode -9), which tests may expect.
        """
        return self.php(
            "work.php", *self.work_args(**options), timeout=process_timeout, check=False
        )

    def start_worker(self, **options: Any) -> subprocess.Popen[str]:
        """Start `queue:work` in the background (for concurrent runs); stop it with SIGTERM.

        Defaults to a daemon that keeps polling (`stop_when_empty=False`, `sleep=0.1`) unless told.
        """
        options.setdefault("stop_when_empty", False)
        options.setdefault("sleep", 0.1)
        return subprocess.Popen(
            self.command("work.php", *self.work_args(**options)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environ(),
        )

    def retry(
        self, ids: Sequence[str | int] | str = "all", *, queue: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run Laravel's own `queue:retry` for failed-job ids/uuids, `"all"`, or a `queue`."""
        argv = [ids] if isinstance(ids, str) else [str(i) for i in ids]
        if queue is not None:
            argv = ["--queue", queue]
        return self.php("retry.php", *argv)

    def unserialize(self, payload_or_command: str) -> dict[str, Any]:
        """What PHP sees in a payload (or bare `data.command`), decrypted and unserialized.

        Returns `{"class", "encrypted", "properties", "visibility", "defaults"}`.
        """
        result: dict[str, Any] = json.loads(
            self.php("unserialize.php", stdin=payload_or_command).stdout
        )
        return result

    # --- reading the tables ---------------------------------------------------------------

    @contextmanager
    def engine(self) -> Iterator[sa.Engine]:
        """A short-lived SQLAlchemy engine on the environment's database."""
        engine = sa.create_engine(self.database_url)
        try:
            yield engine
        finally:
            engine.dispose()

    def rows(self, table: str, *, order_by: str = "id") -> list[dict[str, Any]]:
        """Every row of a table as dicts, ordered by `order_by`."""
        with self.engine() as engine, engine.connect() as conn:
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            result = conn.execute(sa.select(t).order_by(t.c[order_by]))
            return [dict(row._mapping) for row in result]

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs table."""
        return self.rows(self.queue_table)

    def failed_jobs(self) -> list[dict[str, Any]]:
        """The failed_jobs table."""
        return self.rows(self.failed_table)

    def batches(self) -> list[dict[str, Any]]:
        """The job_batches table."""
        return self.rows("job_batches", order_by="created_at")

    def job_log(self) -> list[dict[str, Any]]:
        """What each handler saw: fixture_job_log rows with `values` decoded from JSON."""
        rows = self.rows(JOB_LOG_TABLE)
        for row in rows:
            row["values"] = json.loads(row["values"])
        return rows

    def log_job(
        self, *, uuid: str | None, job_class: str, attempts: int, values: Mapping[str, Any]
    ) -> None:
        """Write one fixture_job_log row as a Python handler (worker = 'python')."""
        with self.engine() as engine, engine.begin() as conn:
            t = sa.Table(JOB_LOG_TABLE, sa.MetaData(), autoload_with=conn)
            conn.execute(
                t.insert().values(
                    uuid=uuid,
                    job_class=job_class,
                    worker="python",
                    pid=os.getpid(),
                    attempts=attempts,
                    values=json.dumps(values, ensure_ascii=False, allow_nan=False),
                    created_at=int(time.time()),
                )
            )


def fresh_laravel_env(
    database_url: str, *, php_binary: str, tmp_path: Path, **options: Any
) -> LaravelEnv:
    """A `LaravelEnv` whose tables were all dropped and created again.

    The conftest gives one MariaDB / PostgreSQL database per session, so tests sharing it start
    from empty tables this way. `options` are further `LaravelEnv` fields.
    """
    options.setdefault("cache_dir", tmp_path / "laravel-cache")
    env = LaravelEnv(database_url=database_url, php_binary=php_binary, **options)
    env.migrate(fresh=True)
    return env
