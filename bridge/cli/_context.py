"""The one object every command receives: settings, and storage built lazily from them.

Commands build nothing themselves; they ask the context. This is also the one place where
bridge's errors become click errors, so every command reports failures the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bridge.config import Settings, resolve_settings
from bridge.exceptions import BridgeError, ConfigError, OptionError, QueueError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bridge.dialect import Dialect
    from bridge.laravel.encryption import Encrypter
    from bridge.laravel.versions import Profile
    from bridge.queue import FailedJobStore, JobQueue, Stores
    from bridge.queue.database import DatabaseQueue
    from bridge.queue.database_stores import DatabaseStores
    from bridge.queue.redis import RedisQueue

F = TypeVar("F", bound=Callable[..., Any])

#: Payloads are written for this release when nothing else decides (the newest major):
#: Laravel 13's worker needs its `deleteWhenMissingModels` key, and the workers of 8 to 12
#: run its payloads too (README, "Which Laravel version payloads are written for").
DEFAULT_LARAVEL = "13"

#: The queue connections of Laravel's skeleton whose drivers are neither the database nor
#: Redis. Any other name is a database connection, as a custom one (`database-long`) is.
_OTHER_DRIVERS = frozenset(
    {"sqs", "beanstalkd", "sync", "null", "deferred", "background", "failover"}
)


def _check_connection(name: str) -> None:
    if name in _OTHER_DRIVERS:
        raise ConfigError(
            f"connection {name!r} is Laravel's {name} driver; bridge works with the database"
            " and redis queue connections"
        )


@dataclass
class CliContext:
    """Settings and lazily built storage for one CLI invocation."""

    database_url: str | None = None
    env_file: Path | None = None
    cwd: Path = field(default_factory=Path.cwd)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], float] = time.time
    #: The process exit status a command asks for (click exits 0 otherwise).
    exit_code: int = 0
    #: The queue connection a command named (`--connection`); None: the settings' own.
    connection: str | None = None
    #: Whether this command may create a SQLite file that is not there yet (`migrate`,
    #: `demo`); every other command reports the missing file instead of leaving an empty
    #: one behind that a worker would then poll.
    creates_database: bool = False

    @cached_property
    def settings(self) -> Settings:
        """Resolved settings (URL, then Laravel's environment and `.env`, then SQLite)."""
        explicit, source = self.database_url, "--database"
        if not explicit and self.environ.get("BRIDGE_DATABASE_URL"):
            explicit, source = self.environ["BRIDGE_DATABASE_URL"], "BRIDGE_DATABASE_URL"
        return resolve_settings(
            database_url=explicit,
            database_source=source,
            cwd=self.cwd,
            environ=self.environ,
            env_file=self.env_file,
        )

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine for the queue database."""
        settings = self.settings
        path = settings.sqlite_path
        if path is not None and not self.creates_database:
            full = path if path.is_absolute() else self.cwd / path
            if not full.exists():
                raise ConfigError(
                    f"no SQLite database at {full} (from {settings.source}); "
                    "run `bridge migrate` to create it there, or name the queue database "
                    "with --database URL or DB_CONNECTION/DB_URL"
                )
        from bridge.queue.database import create_engine_for

        try:
            return create_engine_for(settings.database_url)
        except ImportError as exc:
            # The URL names a driver that is not installed (e.g. mysql+mysqldb://).
            raise ConfigError(
                f"{settings.display_url} (from {settings.source}) needs a database driver "
                f"that is not installed ({exc}); use mysql+pymysql:// or postgresql+psycopg:// "
                "(pip install 'laravel-jobs-bridge[postgres]' for PostgreSQL)"
            ) from exc

    def close(self) -> None:
        """Close what this invocation opened (SQLite then also removes its WAL side files)."""
        if "queue" in self.__dict__ and self.settings.connection_name == "redis":
            self.queue.close()
        if "_tables" in self.__dict__:
            self._tables.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def _tables(self) -> DatabaseStores:
        return self._database_stores(self.settings.connection_name)

    @cached_property
    def queue(self) -> DatabaseQueue | RedisQueue:
        """The queue of the chosen connection: the `jobs` table, or Redis (which needs no
        database until failed jobs or batches are asked for)."""
        if self.settings.connection_name == "redis":
            return self._redis_queue(self.settings)
        return self._tables.queue

    @cached_property
    def stores(self) -> Stores:
        """The chosen connection's queue, with this database's `failed_jobs` and
        `job_batches` tables (also for Redis, as Laravel's failer writes to the database)."""
        tables = self._tables
        if self.settings.connection_name != "redis":
            return tables
        from bridge.queue import Stores

        return Stores(queue=self.queue, failed=tables.failed, batches=tables.batches)

    @property
    def failed(self) -> FailedJobStore:
        """The `failed_jobs` table, in whichever layout it has."""
        return self.stores.failed

    def use_connection(self, name: str | None) -> None:
        """Work on queue connection `name` (`--connection`) instead of the settings' own."""
        if name is None:
            return
        _check_connection(name)
        self.connection = name
        self.__dict__["settings"] = self.settings.for_connection(name)
        self.__dict__.pop("_sample_rows", None)

    @property
    def queue_described(self) -> str:
        """Where the chosen connection's queues are, for start lines, headers and prompts:
        the database as `Settings.described` says it, or the Redis server and key prefix
        (and the database that keeps failed jobs)."""
        return self._where(self.settings)

    def connection_described(self, connection: str) -> str:
        """`queue_described` for another queue connection (`--to-connection`)."""
        _check_connection(connection)
        return self._where(self.settings.for_connection(connection))

    def _where(self, settings: Settings) -> str:
        if settings.connection_name != "redis":
            return settings.described
        redis = settings.redis
        server = (
            f"Redis Cluster seeded by {redis.host}:{redis.port}"
            if redis.cluster
            else f"Redis {redis.host}:{redis.port} database {redis.db}"
        )
        prefix = self._prefix_of(settings)
        return f"{server}, key prefix {prefix!r}; failed jobs in {settings.described}"

    @property
    def redis_prefix(self) -> str:
        """The key prefix of the Redis queue: `REDIS_PREFIX`, else the app's version's."""
        return self._prefix_of(self.settings)

    @staticmethod
    def _laravel_major(settings: Settings) -> int:
        return int((settings.laravel_version or DEFAULT_LARAVEL).split(".")[0])

    @classmethod
    def _prefix_of(cls, settings: Settings) -> str:
        return settings.redis.key_prefix(cls._laravel_major(settings))

    def use_laravel_version(self, version: str | None) -> None:
        """Take `version` (`--laravel`) as the PHP side's, before any storage is opened: it
        also settles the Redis key prefix when `REDIS_PREFIX` is not set."""
        if version is None:
            return
        from dataclasses import replace

        self.__dict__["settings"] = replace(self.settings, laravel_version=version)

    def queue_for(self, connection: str) -> JobQueue:
        """The queue of a connection: `redis` is Laravel's Redis queue, any other name the
        `jobs` table (connection names are their drivers, as in Laravel's skeleton)."""
        _check_connection(connection)
        if connection == "redis":
            return self._redis_queue(self.settings.for_connection(connection))
        return self._database_stores(connection).queue

    def _database_stores(self, connection: str) -> DatabaseStores:
        from bridge.queue.database_stores import DatabaseStores

        settings = self.settings.for_connection(connection)
        return DatabaseStores(
            engine=self.engine,
            jobs_table=settings.jobs_table,
            failed_table=settings.failed_table,
            batches_table=settings.batches_table,
            connection_name=connection if connection != "sync" else "database",
            retry_after_seconds=settings.retry_after_seconds,
        )

    def _redis_queue(self, settings: Settings) -> RedisQueue:
        try:
            from bridge.queue.redis import RedisQueue, connect
        except ImportError as exc:
            raise ConfigError(
                "the redis connection needs redis-py: pip install 'laravel-jobs-bridge[redis]'"
            ) from exc
        redis = settings.redis
        major = self._laravel_major(settings)
        return RedisQueue(
            client=connect(
                host=redis.host,
                port=redis.port,
                username=redis.username,
                password=redis.password,
                db=redis.db,
                cluster=redis.cluster,
            ),
            prefix=self._prefix_of(settings),
            connection_name="redis",
            retry_after_seconds=settings.retry_after_seconds,
            block_for_seconds=redis.block_for_seconds,
            hash_tag_queues=major >= 13,
            default_queue=settings.default_queue,
        )

    @cached_property
    def encrypter(self) -> Encrypter | None:
        """Laravel's encrypter for `APP_KEY`, or None when no key is configured."""
        if not self.settings.app_key:
            return None
        from bridge.laravel.encryption import Encrypter

        return Encrypter(
            self.settings.app_key,
            cipher=self.settings.cipher,
            previous_keys=self.settings.previous_keys,
        )

    def require_encrypter(self) -> Encrypter:
        """The encrypter, or a clear error saying how to configure APP_KEY."""
        encrypter = self.encrypter
        if encrypter is None:
            raise ConfigError("APP_KEY is not set: put it in .env or the environment")
        return encrypter

    def profile(self, explicit: str | None = None) -> Profile:
        """The Laravel version to write payloads for (see `profile_and_source`)."""
        return self.profile_and_source(explicit)[0]

    def profile_and_source(self, explicit: str | None = None) -> tuple[Profile, str]:
        """The Laravel version of the PHP side, and how it was settled.

        In order: `explicit` (`--laravel`), the settings, the payloads already in the tables,
        else the newest release (any PHP worker of 8 to 13 reads its payloads). The second
        item says which: `"given"`, `"detected from the tables"` or `"default"`.
        """
        from bridge.laravel.versions import detect_profile, profile_for

        chosen = explicit or self.settings.laravel_version
        if chosen:
            return profile_for(chosen), "given"
        detected = detect_profile(self._samples())
        if detected is not None:
            return detected, "detected from the tables"
        return profile_for(DEFAULT_LARAVEL), "default"

    def dialect(self, explicit: str | None = None, laravel_version: str | None = None) -> Dialect:
        """The PHP side's queue dialect.

        In order: `explicit` (`--dialect`), `BRIDGE_DIALECT`, the rows already in the tables
        when every one of them is the SO framework's, else Laravel (`profile`).
        """
        from bridge.dialect import LARAVEL, Dialect, detect_dialect, dialect_named

        version = laravel_version or self.settings.laravel_version
        chosen = explicit or self.settings.dialect
        if chosen:
            return dialect_named(chosen, laravel_version=version)
        detected = detect_dialect(self._samples())
        if detected is not None and detected.is_so:
            return detected
        return Dialect(LARAVEL, self.profile(laravel_version))

    def _samples(self) -> list[str]:
        """Payloads already in the tables, read once per command, to tell the PHP side by."""
        if "_sample_rows" in self.__dict__:
            return list(self.__dict__["_sample_rows"])
        from bridge.queue.base import FailedJobFilter

        samples: list[str] = []
        try:
            samples += self.queue.recent_payloads(limit=20)
            samples += [r.payload for r in self.failed.select(FailedJobFilter(limit=20))]
        except QueueError:
            # No tables yet, or the database unreachable: nothing to learn from (the
            # command's own work then reports the storage error; a worker in one line).
            pass
        self.__dict__["_sample_rows"] = tuple(samples)
        return samples

    def now(self) -> int:
        """The current Unix time in whole seconds, as Laravel stores queue times."""
        return int(self.clock())


pass_context = click.make_pass_decorator(CliContext)


def _set_database(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None:
        return
    settings = ctx.find_object(CliContext)
    if settings is None:
        return
    if "settings" in settings.__dict__:
        raise click.UsageError(f"{param.opts[0]} comes too late here; put it first")
    if param.name == "database_url":
        settings.database_url = value
    else:
        settings.env_file = value


def _accept_database_options(command: click.Command) -> None:
    """Let `--database` and `--env-file` follow the command name too (and its subcommands)."""
    names = {opt for param in command.params for opt in getattr(param, "opts", ())}
    if "--database" not in names:
        command.params.append(
            click.Option(
                ["--database", "database_url"],
                metavar="URL",
                expose_value=False,
                callback=_set_database,
                help="URL of the queue database (as `bridge --database`).",
            )
        )
    if "--env-file" not in names:
        command.params.append(
            click.Option(
                ["--env-file", "env_file"],
                type=click.Path(dir_okay=False, path_type=Path),
                expose_value=False,
                callback=_set_database,
                help="A Laravel .env file (as `bridge --env-file`).",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_database_options(sub)


def confirm(ctx: CliContext, action: str, *, declined: str, where: str | None = None) -> None:
    """Ask whether to `action` in the queue database, or `where` (on stderr); "no" ends with
    exit 1.

    The prompt names the database and where its URL came from (or the Redis server and key
    prefix `where` names), so nobody confirms a sweep of the wrong one. With no terminal to
    ask (cron, CI, a pipe), the command fails with a hint to `--yes` rather than click's
    bare "Aborted!".
    """
    question = f"{action} in {where or ctx.settings.described}?"
    try:
        answer = click.confirm(question, err=True)
    except click.Abort:
        if _interactive():
            raise
        click.echo(err=True)  # end the unanswered prompt's line
        raise click.ClickException(
            f"{action}: this needs a confirmation and there is no terminal to ask; "
            "pass --yes to go ahead without one"
        ) from None
    if not answer:
        click.echo(declined, err=True)
        click.get_current_context().exit(1)


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


class BridgeGroup(click.Group):
    """A click group that turns bridge's errors into click errors, in one place.

    A `OptionError` (a value typed on the command line) is a usage error: exit 2 and
    click's "Invalid value for" line; every other `BridgeError` is a runtime error: exit 1
    and one `Error:` line.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        from bridge.cli.commands import COMMANDS

        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        from bridge.cli.commands import COMMANDS

        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        import importlib

        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        _accept_database_options(command)
        self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except OptionError as exc:
            raise click.BadParameter(str(exc), param_hint=f"'{exc.option}'") from exc
        except BridgeError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(ctx.obj, CliContext) and ctx.obj.exit_code:
            ctx.exit(ctx.obj.exit_code)
        return result


def dialect_option(func: F) -> F:
    """`--dialect`: the PHP side's queue dialect, for the commands that read or write rows."""
    return click.option(
        "--dialect",
        "dialect_name",
        default=None,
        metavar="NAME",
        help="The PHP side: laravel, laravel-<version>, so (the SO framework's JSON jobs) or "
        "so-serialize (its first version) [env: BRIDGE_DIALECT]. Default: what the rows "
        "in the tables say, else laravel.",
    )(func)
