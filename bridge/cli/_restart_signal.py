"""Where `queue:restart` leaves its signal, for `bridge restart` to write and `bridge work`
to watch: Laravel's cache store as `CACHE_STORE` names it.

`database` keeps it in the `cache` table (`bridge.queue.restart_signal`), `redis` on the
Redis `cache` connection (`bridge.queue.redis_restart_signal`), `file` in the app's
`storage/framework/cache/data` (`bridge.queue.file_restart_signal`). Without `CACHE_PREFIX`
every default prefix of Laravel's `config/cache.php` for `APP_NAME` is read and written,
since any of them may be the app's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.cli._context import CliContext
from bridge.exceptions import ConfigError

__all__ = ["READABLE_STORES", "RestartSignal"]

#: The cache stores whose signal bridge can read and write.
READABLE_STORES = frozenset({"database", "redis", "file"})


class RestartSignal:
    """The restart signal of one CLI invocation's app; `close` releases its Redis client."""

    def __init__(self, ctx: CliContext) -> None:
        """Use `ctx`'s settings, database and clock."""
        self._ctx = ctx
        self._client: Any = None

    def read(self) -> tuple[int | None, ...]:
        """The signal under each cache prefix that may be in use (None where none is).

        Raises:
            QueueError: the store could not be read.
        """
        ctx, settings = self._ctx, self._ctx.settings
        if settings.cache_store == "file":
            from bridge.queue.file_restart_signal import read_file_restart_signal

            return (read_file_restart_signal(self._directory(), now=ctx.now()),)
        if settings.cache_store == "redis":
            from bridge.queue.redis_restart_signal import read_redis_restart_signal

            return read_redis_restart_signal(self._redis(), self._redis_keys())
        from bridge.queue.restart_signal import read_restart_signal

        return read_restart_signal(
            ctx.engine, table=settings.cache_table, keys=self._table_keys(), now=ctx.now()
        )

    def write(self) -> str:
        """Send the signal where `read` reads it, and say where that is.

        Raises:
            QueueError: the store could not be written.
        """
        ctx, settings = self._ctx, self._ctx.settings
        if settings.cache_store == "file":
            from bridge.queue.file_restart_signal import write_file_restart_signal

            written = write_file_restart_signal(self._directory(), now=ctx.now())
            return f"the file cache store ({written})"
        if settings.cache_store == "redis":
            from bridge.queue.redis_restart_signal import write_redis_restart_signal

            write_redis_restart_signal(self._redis(), self._redis_keys(), now=ctx.now())
            redis = settings.redis
            database = 0 if redis.cluster else redis.cache_db
            return f"the Redis cache store at {redis.host}:{redis.port} database {database}"
        from bridge.queue.restart_signal import write_restart_signal

        write_restart_signal(
            ctx.engine, table=settings.cache_table, keys=self._table_keys(), now=ctx.now()
        )
        return settings.described

    def close(self) -> None:
        """Close the Redis client, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _directory(self) -> Path:
        directory = self._ctx.settings.cache_directory
        if directory is None:
            raise ConfigError(
                "the file cache store lives in the Laravel app's storage/framework/cache/data;"
                " run bridge from the app's folder or give its .env with --env-file"
            )
        return directory

    def _table_keys(self) -> list[str]:
        from bridge.queue.restart_signal import RESTART_KEY

        return [prefix + RESTART_KEY for prefix in self._ctx.settings.cache_prefixes]

    def _redis_keys(self) -> list[str]:
        from bridge.queue.redis_restart_signal import redis_restart_keys

        return redis_restart_keys(self._ctx.redis_prefix, self._ctx.settings.cache_prefixes)

    def _redis(self) -> Any:
        """A client of the skeleton's `cache` Redis connection (database REDIS_CACHE_DB)."""
        if self._client is None:
            try:
                from bridge.queue.redis import connect
            except ImportError as exc:
                raise ConfigError(
                    "the redis cache store needs redis-py: pip install 'laravel-jobs-bridge[redis]'"
                ) from exc
            redis = self._ctx.settings.redis
            self._client = connect(
                host=redis.host,
                port=redis.port,
                username=redis.username,
                password=redis.password,
                db=0 if redis.cluster else redis.cache_db,
                cluster=redis.cluster,
            )
        return self._client
