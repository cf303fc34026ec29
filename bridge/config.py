"""Settings: where the queue lives and how it is named, resolved as artisan would.

Precedence: an explicit SQLAlchemy URL (``--database`` or ``BRIDGE_DATABASE_URL``), else a
Laravel ``.env`` in the current folder (``DB_*``, ``QUEUE_CONNECTION``, ``APP_KEY``, ...),
else a SQLite file in the current folder, the embedded default that makes a fresh machine
work. This module never reads the process environment itself: the CLI passes it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from bridge.exceptions import ConfigError

DEFAULT_SQLITE_FILE = "bridge.sqlite"

_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "pgsql": "postgresql+psycopg",
    "sqlite": "sqlite",
}


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    """Laravel's `default` Redis connection and its `redis` queue connection, from `.env`."""

    host: str = "127.0.0.1"
    port: int = 6379
    username: str | None = None
    password: str | None = None
    db: int = 0
    #: `REDIS_PREFIX`; None: the skeleton's default for the app's Laravel version.
    prefix: str | None = None
    #: `REDIS_CLUSTER=redis` in a `clusters` config: the host is one seed of a Redis Cluster.
    cluster: bool = False
    block_for_seconds: float | None = None
    app_name: str = "laravel"
    #: `REDIS_QUEUE` and `REDIS_QUEUE_RETRY_AFTER`: the `redis` queue connection's own.
    queue: str = "default"
    retry_after_seconds: int = 90

    def key_prefix(self, laravel_major: int) -> str:
        """`REDIS_PREFIX`, else the skeleton's default: `laravel_database_` up to Laravel
        12, `laravel-database-` from 13 (the app name slugged with `_`, then with `-`)."""
        if self.prefix is not None:
            return self.prefix
        if laravel_major >= 13:
            return f"{_slug(self.app_name, '-')}-database-"
        return f"{_slug(self.app_name, '_')}_database_"


def _slug(text: str, separator: str) -> str:
    """`Str::slug` for ASCII names: lowercase, runs of other characters become `separator`."""
    words = re.split(r"[^a-z0-9]+", text.lower())
    return separator.join(word for word in words if word)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything bridge needs to find and name the queue."""

    database_url: str
    #: The queue connection name written to `failed_jobs.connection`.
    connection_name: str = "database"
    jobs_table: str = "jobs"
    failed_table: str = "failed_jobs"
    batches_table: str = "job_batches"
    default_queue: str = "default"
    retry_after_seconds: int = 90
    #: `database-uuids` (Laravel 8+) or `database` (the older id-only layout).
    failed_driver: str = "database-uuids"
    app_key: str | None = None
    previous_keys: tuple[str, ...] = ()
    cipher: str = "AES-256-CBC"
    timezone: str = "UTC"
    laravel_version: str | None = None
    #: The Redis connection, used when `connection_name` is `redis`.
    redis: RedisSettings = field(default_factory=RedisSettings)
    #: Where the settings came from, for messages: "url", ".env path" or "sqlite default".
    source: str = field(default="url", compare=False)

    def for_connection(self, name: str) -> Settings:
        """These settings with another queue connection chosen (`--connection`): its name,
        default queue and `retry_after` (the `redis` connection's from `REDIS_*`)."""
        if name == self.connection_name:
            return self
        if name == "redis":
            return replace(
                self,
                connection_name="redis",
                default_queue=self.redis.queue,
                retry_after_seconds=self.redis.retry_after_seconds,
            )
        return replace(self, connection_name=name)

    @property
    def is_sqlite(self) -> bool:
        """Whether the queue lives in a SQLite file."""
        return self.database_url.startswith("sqlite")


# --- .env parsing ----------------------------------------------------------------------

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse a Laravel `.env` file the way phpdotenv reads the common forms.

    Supports comments, `export`, single quotes (literal), double quotes (escapes and
    `${VAR}` interpolation), unquoted values with trailing ` # comments`, and multi-line
    double-quoted values.
    """
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(f".env line {index} is not KEY=VALUE: {line!r}")
        key, raw = match.group(1), match.group(2)
        if raw.startswith('"'):
            body = raw[1:]
            while not _closes_double_quote(body) and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            if not _closes_double_quote(body):
                raise ConfigError(f".env value of {key} has no closing double quote")
            end = _closing_quote_index(body)
            value = _unescape(body[:end])
            value = _INTERPOLATION.sub(lambda m: values.get(m.group(1), ""), value)
        elif raw.startswith("'"):
            end = raw.find("'", 1)
            if end < 0:
                raise ConfigError(f".env value of {key} has no closing single quote")
            value = raw[1:end]
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            value = _INTERPOLATION.sub(lambda m: values.get(m.group(1), ""), value)
        values[key] = value
    return values


def _closing_quote_index(body: str) -> int:
    escaped = False
    for i, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return i
    return -1


def _closes_double_quote(body: str) -> bool:
    return _closing_quote_index(body) >= 0


def _unescape(value: str) -> str:
    return re.sub(
        r"\\([\\\"nrt$])", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m[1], m[1]), value
    )


# --- resolution --------------------------------------------------------------------------


def database_url_from_laravel(env: Mapping[str, str], *, base_dir: Path) -> str:
    """Build a SQLAlchemy URL from Laravel's `DB_*` variables."""
    connection = env.get("DB_CONNECTION", "mysql").lower()
    driver = _DRIVERS.get(connection)
    if driver is None:
        raise ConfigError(
            f"DB_CONNECTION={connection!r} is not supported; use mysql, mariadb, pgsql or sqlite"
        )
    if driver == "sqlite":
        database = env.get("DB_DATABASE") or str(base_dir / "database" / "database.sqlite")
        if database == ":memory:":
            raise ConfigError("an in-memory SQLite database cannot be shared with PHP workers")
        path = Path(database)
        return f"sqlite:///{path if path.is_absolute() else base_dir / path}"
    user = quote(env.get("DB_USERNAME", "root" if driver.startswith("mysql") else "postgres"), "")
    password = env.get("DB_PASSWORD", "")
    auth = f"{user}:{quote(password, '')}" if password else user
    host = env.get("DB_HOST", "127.0.0.1")
    port = env.get("DB_PORT", "3306" if driver.startswith("mysql") else "5432")
    database = env.get("DB_DATABASE", "forge" if driver.startswith("mysql") else "laravel")
    suffix = "?charset=utf8mb4" if driver.startswith("mysql") else ""
    return f"{driver}://{auth}@{host}:{port}/{quote(database, '')}{suffix}"


def settings_from_laravel_env(env: Mapping[str, str], *, base_dir: Path, source: str) -> Settings:
    """Settings as a Laravel app with this `.env` would use them for its database queue."""
    queue_connection = env.get("QUEUE_CONNECTION", "database")
    if queue_connection not in {"database", "sync", "redis"}:
        raise ConfigError(
            f"QUEUE_CONNECTION={queue_connection!r}: bridge works with Laravel's database and "
            "redis queues; pass --database to point it at the queue database explicitly"
        )
    on_redis = queue_connection == "redis"
    retry_name = "REDIS_QUEUE_RETRY_AFTER" if on_redis else "DB_QUEUE_RETRY_AFTER"
    try:
        retry_after = int(env.get(retry_name, "90"))
    except ValueError as exc:
        raise ConfigError(f"{retry_name} must be a number of seconds") from exc
    previous = tuple(k.strip() for k in env.get("APP_PREVIOUS_KEYS", "").split(",") if k.strip())
    return Settings(
        database_url=database_url_from_laravel(env, base_dir=base_dir),
        connection_name="redis" if on_redis else "database",
        jobs_table=env.get("DB_QUEUE_TABLE", "jobs"),
        default_queue=env.get("REDIS_QUEUE" if on_redis else "DB_QUEUE", "default"),
        redis=redis_settings_from_env(env),
        retry_after_seconds=retry_after,
        failed_driver=env.get("QUEUE_FAILED_DRIVER", "database-uuids"),
        app_key=env.get("APP_KEY") or None,
        previous_keys=previous,
        cipher=env.get("APP_CIPHER", "AES-256-CBC"),
        timezone=env.get("APP_TIMEZONE", "UTC"),
        source=source,
    )


def redis_settings_from_env(env: Mapping[str, str]) -> RedisSettings:
    """The Redis connection as the skeleton's `config/database.php` reads `.env`.

    `REDIS_HOST`, `REDIS_PORT`, `REDIS_USERNAME`, `REDIS_PASSWORD` (`null` is none, as
    phpdotenv reads it), `REDIS_DB`, `REDIS_PREFIX`, `APP_NAME` (for the default prefix),
    `REDIS_QUEUE_BLOCK_FOR`, and `REDIS_CLUSTER_ENABLED=true` for a Redis Cluster.
    """

    def number(name: str, default: str) -> int:
        try:
            return int(env.get(name) or default)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number") from exc

    def optional(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value.lower() in {"", "null"} else value

    block_for = optional("REDIS_QUEUE_BLOCK_FOR")
    retry_after = number("REDIS_QUEUE_RETRY_AFTER", "90")
    try:
        block_seconds = float(block_for) if block_for is not None else None
    except ValueError as exc:
        raise ConfigError("REDIS_QUEUE_BLOCK_FOR must be a number of seconds") from exc
    return RedisSettings(
        host=env.get("REDIS_HOST") or "127.0.0.1",
        port=number("REDIS_PORT", "6379"),
        username=optional("REDIS_USERNAME"),
        password=optional("REDIS_PASSWORD"),
        db=number("REDIS_DB", "0"),
        prefix=env.get("REDIS_PREFIX"),
        cluster=env.get("REDIS_CLUSTER_ENABLED", "").lower() in {"1", "true", "yes"},
        block_for_seconds=block_seconds,
        app_name=env.get("APP_NAME") or "laravel",
        queue=env.get("REDIS_QUEUE") or "default",
        retry_after_seconds=retry_after,
    )


def resolve_settings(
    *,
    database_url: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    env_file: Path | None = None,
) -> Settings:
    """Pick the settings by precedence: explicit URL, then `.env`, then the SQLite default.

    With an explicit URL, a `.env` (if any) still supplies `APP_KEY` and table names.
    `BRIDGE_LARAVEL_VERSION` (e.g. `10`, `12.11`) names the PHP side's Laravel version.
    """
    settings = _resolve(database_url=database_url, cwd=cwd, environ=environ, env_file=env_file)
    version = environ.get("BRIDGE_LARAVEL_VERSION") or None
    return replace(settings, laravel_version=version) if version else settings


def _resolve(
    *,
    database_url: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    env_file: Path | None,
) -> Settings:
    dotenv_path = env_file if env_file is not None else cwd / ".env"
    dotenv: dict[str, str] = {}
    if dotenv_path.is_file():
        dotenv = parse_dotenv(dotenv_path.read_text(encoding="utf-8"))
    elif env_file is not None:
        raise ConfigError(f"no such .env file: {env_file}")
    # Real environment variables win over the file, as in Laravel.
    merged = {**dotenv, **{k: v for k, v in environ.items() if k in dotenv or k.startswith("APP_")}}
    if database_url:
        if dotenv:
            base = settings_from_laravel_env(
                {**merged, "DB_CONNECTION": "sqlite", "DB_DATABASE": "unused.sqlite"},
                base_dir=cwd,
                source=str(dotenv_path),
            )
            return replace(base, database_url=database_url, source="url")
        return Settings(
            database_url=database_url, app_key=environ.get("APP_KEY") or None, source="url"
        )
    if dotenv:
        return settings_from_laravel_env(
            merged, base_dir=dotenv_path.parent, source=str(dotenv_path)
        )
    return Settings(
        database_url=f"sqlite:///{cwd / DEFAULT_SQLITE_FILE}",
        app_key=environ.get("APP_KEY") or None,
        source="sqlite default",
    )
