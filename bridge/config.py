"""Settings: where the queue lives and how it is named, resolved as artisan would.

Precedence: an explicit URL (``--database`` or ``BRIDGE_DATABASE_URL``), else Laravel's
configuration, read as Laravel reads it: the process environment over the ``.env`` file
(``DB_URL``/``DATABASE_URL``, ``DB_CONNECTION``, ``DB_HOST``, ..., ``QUEUE_CONNECTION``,
``APP_KEY``), so a container configured only by environment variables finds its database;
else a SQLite file in the current folder, the embedded default that makes a fresh machine
work. Every result says where it came from (`Settings.source`), because a worker polling
the wrong database is the mistake that costs most. This module never reads the process
environment itself: the CLI passes it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bridge.exceptions import ConfigError, OptionError

DEFAULT_SQLITE_FILE = "bridge.sqlite"

_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "pgsql": "postgresql+psycopg",
    "sqlite": "sqlite",
}

#: URL schemes as people type them (Laravel's `DB_URL`, Heroku, Docker images) mapped to
#: the SQLAlchemy driver bridge installs: a bare `mysql://` would otherwise ask for
#: MySQLdb, which is not there.
_SCHEMES = {
    "mysql": "mysql+pymysql",
    "mysql2": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "pgsql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "sqlite3": "sqlite",
}

#: The variables that name Laravel's database; one of them in the environment is enough
#: to use Laravel's configuration without a `.env` file.
_DATABASE_KEYS = ("DB_URL", "DATABASE_URL", "DB_CONNECTION", "DB_HOST", "DB_DATABASE")


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
    #: `REDIS_CACHE_DB`: the skeleton's `cache` connection, where a `redis` cache store
    #: keeps `queue:restart`'s signal.
    cache_db: int = 1

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
    #: The PHP side's queue dialect (`BRIDGE_DIALECT`: laravel, so, so-serialize), if set.
    dialect: str | None = None
    #: Laravel's cache store (CACHE_STORE, CACHE_DRIVER before 11): where
    #: `queue:restart` leaves its signal; bridge reads and writes it with `database`,
    #: `redis` and `file`.
    cache_store: str = "database"
    cache_table: str = "cache"
    #: The `file` cache store's folder: the skeleton's `storage/framework/cache/data`
    #: beside the `.env` (None without a Laravel app).
    cache_directory: Path | None = None
    #: The cache key prefixes to use: CACHE_PREFIX, else Laravel's defaults for APP_NAME
    #: (`laravel_cache` up to 8, `laravel_cache_` from 9, `laravel-cache-` from 13), since
    #: any of them may be in use.
    cache_prefixes: tuple[str, ...] = ("laravel_cache", "laravel_cache_", "laravel-cache-")
    #: Where the database URL came from, for messages: "--database", "BRIDGE_DATABASE_URL",
    #: "DB_URL in the environment", "/app/.env", "sqlite default", ...
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
    def sqlite_path(self) -> Path | None:
        """The SQLite file of the queue, or None (another database, or in memory)."""
        if not self.database_url.startswith("sqlite"):
            return None
        path = self.database_url.split("://", 1)[1].split("?", 1)[0]
        if not path.startswith("/") or path in {"/", "/:memory:"}:
            return None
        return Path(path[1:])

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return hide_password(self.database_url)

    @property
    def described(self) -> str:
        """`<url without password> (from <source>)`, as prompts and start lines show it."""
        return f"{self.display_url} (from {self.source})"


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


# --- URLs ------------------------------------------------------------------------------


def hide_password(url: str) -> str:
    """`url` with its password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def normalise_url(url: str, *, source: str, option: str | None = None) -> str:
    """Check a database URL and map the schemes people type to bridge's drivers.

    `mysql://` and `mariadb://` become `mysql+pymysql://`, `postgres://`, `postgresql://`
    and `pgsql://` become `postgresql+psycopg://`; `dialect+driver://` URLs are kept.

    Raises:
        OptionError: When `option` is given (the URL came from the command line).
        ConfigError: Otherwise: the URL is not `scheme://...`, or its port is not a number.
    """

    def fail(problem: str) -> ConfigError:
        message = (
            f"{source}: {hide_password(url)!r} {problem}; write it as "
            "mysql://user:password@host:3306/database, postgresql://user@host/database "
            "or sqlite:////absolute/path.sqlite"
        )
        return OptionError(message, option=option) if option else ConfigError(message)

    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(\+[A-Za-z0-9_]+)?", scheme):
        raise fail("is not a database URL")
    try:
        port = urlsplit(url).port
    except ValueError:
        raise fail("has a port that is not a number") from None
    if port == 0:
        raise fail("has port 0")
    dialect = scheme.lower()
    return f"{_SCHEMES.get(dialect, scheme)}://{rest}"


# --- resolution --------------------------------------------------------------------------


def _laravel_url(url: str, env: Mapping[str, str], *, base_dir: Path, source: str) -> str:
    """Laravel's `url` key of a connection (DB_URL): its parts win over the DB_* values."""
    normalised = normalise_url(url, source=source)
    if normalised.startswith("sqlite"):
        path = unquote(urlsplit(url).path)
        if not path.startswith("//"):
            # Laravel strips the leading slash: sqlite:///database/x.sqlite is relative.
            path = str(base_dir / path.lstrip("/")) if path.strip("/") else ""
        else:
            path = path[1:]
        if not path:
            return database_url_from_laravel(
                {**env, "DB_CONNECTION": "sqlite", "DB_URL": ""}, base_dir=base_dir
            )
        return f"sqlite:///{path}"
    return normalised


# --- resolution --------------------------------------------------------------------------


def database_url_from_laravel(env: Mapping[str, str], *, base_dir: Path) -> str:
    """Build a SQLAlchemy URL from Laravel's `DB_*` variables (`DB_URL` first, as Laravel 11+;
    `DATABASE_URL` for Laravel 8 to 10)."""
    for key in ("DB_URL", "DATABASE_URL"):
        if env.get(key):
            return _laravel_url(env[key], env, base_dir=base_dir, source=key)
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
    if env.get("CACHE_PREFIX") is not None:
        prefixes: tuple[str, ...] = (env["CACHE_PREFIX"],)
    else:
        # config/cache.php's default for APP_NAME: `_cache` up to 8, `_cache_` from 9, and
        # 13's hyphenated `-cache-`; any of them may be the app's.
        app = env.get("APP_NAME") or "laravel"
        underscored, hyphenated = _slug(app, "_"), _slug(app, "-")
        prefixes = (f"{underscored}_cache", f"{underscored}_cache_", f"{hyphenated}-cache-")
    return Settings(
        cache_store=env.get("CACHE_STORE") or env.get("CACHE_DRIVER") or "database",
        cache_table=env.get("DB_CACHE_TABLE", "cache"),
        cache_directory=base_dir / "storage" / "framework" / "cache" / "data",
        cache_prefixes=prefixes,
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
        # bridge's own two variables may sit in the app's .env beside Laravel's.
        laravel_version=env.get("BRIDGE_LARAVEL_VERSION") or None,
        dialect=env.get("BRIDGE_DIALECT") or None,
        source=source,
    )


def redis_settings_from_env(env: Mapping[str, str]) -> RedisSettings:
    """The Redis connection as the skeleton's `config/database.php` reads `.env`.

    `REDIS_HOST`, `REDIS_PORT`, `REDIS_USERNAME`, `REDIS_PASSWORD` (`null` is none, as
    phpdotenv reads it), `REDIS_DB`, `REDIS_CACHE_DB`, `REDIS_PREFIX`, `APP_NAME` (for the
    default prefix), `REDIS_QUEUE_BLOCK_FOR`, and `REDIS_CLUSTER_ENABLED=true` for a Redis
    Cluster.
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
        cache_db=number("REDIS_CACHE_DB", "1"),
    )


def resolve_settings(
    *,
    database_url: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    env_file: Path | None = None,
    database_source: str = "--database",
) -> Settings:
    """Pick the settings by precedence: explicit URL, then Laravel's configuration (the
    environment over `.env`), then the SQLite default.

    With an explicit URL, Laravel's configuration (if any) still supplies `APP_KEY` and
    table names. `BRIDGE_LARAVEL_VERSION` (e.g. `10`, `12.11`) names the PHP side's Laravel
    version, and `BRIDGE_DIALECT` its queue dialect (`so` for the SO framework), from the
    environment or the `.env` file.
    `database_source` names where an explicit URL came from, for messages.

    Raises:
        OptionError: The explicit URL is malformed.
        ConfigError: The `.env` file or a variable is unusable.
    """
    settings = _resolve(
        database_url=database_url,
        database_source=database_source,
        cwd=cwd,
        environ=environ,
        env_file=env_file,
    )
    version = environ.get("BRIDGE_LARAVEL_VERSION") or None
    if version:
        settings = replace(settings, laravel_version=version)
    dialect = environ.get("BRIDGE_DIALECT") or None
    return replace(settings, dialect=dialect) if dialect else settings


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse the `.env` file at `path`, with errors that name the file.

    Raises:
        ConfigError: The file cannot be read or is not UTF-8 text.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not a text .env file (byte {exc.start} is not UTF-8); "
            "point --env-file at Laravel's .env, or pass --database"
        ) from exc
    if "\0" in text:
        raise ConfigError(
            f"{path} is not a text .env file (it holds NUL bytes); "
            "point --env-file at Laravel's .env, or pass --database"
        )
    try:
        return parse_dotenv(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _laravel_source(
    dotenv_path: Path, dotenv: Mapping[str, str], environ: Mapping[str, str]
) -> str:
    """Where Laravel's database settings came from, as the user would look for them."""
    keys = [k for k in _DATABASE_KEYS if k in environ]
    if keys:
        return f"{keys[0]} in the environment"
    return str(dotenv_path) if dotenv else "the environment"


def _resolve(
    *,
    database_url: str | None,
    database_source: str,
    cwd: Path,
    environ: Mapping[str, str],
    env_file: Path | None,
) -> Settings:
    dotenv_path = env_file if env_file is not None else cwd / ".env"
    dotenv: dict[str, str] = {}
    if dotenv_path.is_file():
        dotenv = read_dotenv(dotenv_path)
    elif env_file is not None:
        raise OptionError(
            f"no such .env file: {env_file}; give the path of Laravel's .env",
            option="--env-file",
        )
    # Real environment variables win over the file, as in Laravel (phpdotenv never
    # overwrites a variable that is already set).
    merged = {**dotenv, **environ}
    laravel = bool(dotenv) or any(environ.get(k) for k in _DATABASE_KEYS)
    if database_url:
        url = normalise_url(database_url, source=database_source, option=database_source)
        if laravel:
            base = settings_from_laravel_env(
                {
                    **merged,
                    # Only the table names, keys and times are wanted from Laravel's side.
                    "DB_CONNECTION": "sqlite",
                    "DB_DATABASE": "unused.sqlite",
                    "DB_URL": "",
                    "DATABASE_URL": "",
                },
                base_dir=cwd,
                source=database_source,
            )
            return replace(base, database_url=url, source=database_source)
        return Settings(
            database_url=url, app_key=environ.get("APP_KEY") or None, source=database_source
        )
    if laravel:
        return settings_from_laravel_env(
            merged,
            base_dir=dotenv_path.parent,
            source=_laravel_source(dotenv_path, dotenv, environ),
        )
    return Settings(
        database_url=f"sqlite:///{cwd / DEFAULT_SQLITE_FILE}",
        app_key=environ.get("APP_KEY") or None,
        source="sqlite default",
    )
