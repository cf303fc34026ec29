"""The queue restart signal in Laravel's Redis cache store (CACHE_STORE=redis), live against
Laravel 8: its own `queue:restart` stops `bridge work`, and `bridge restart` stops its
`queue:work`.

Found from outside: with the cache on Redis, as most Redis-queue apps keep it, `bridge
work` watched the database's `cache` table, which `queue:restart` never writes, so a deploy
restarted the PHP workers and left the Python ones on the old code; `bridge restart` wrote
the table and warned that PHP workers would not see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_kit import REDIS_HOST, REDIS_PORT, write_env_file

from tests.support.laravel import LaravelEnv, fresh_laravel_env
from tests.support.restart import bridge_restart_stops_queue_work, queue_restart_stops_bridge_work

#: Where Laravel 8's RedisStore keeps the signal: the connection's prefix, the cache prefix
#: (the harness's CACHE_PREFIX default, config/cache.php's for APP_NAME=Laravel) and a colon.
SIGNAL_KEY = "{prefix}laravel_cache:illuminate:queue:restart"
CACHE_DB = 1


@pytest.fixture
def laravel_env(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, redis_prefix: str
) -> Iterator[LaravelEnv]:
    """Laravel 8 whose queue and cache stores are Redis (the cache on database 1)."""
    import redis

    env = fresh_laravel_env(
        sqlite_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        queue_connection="redis",
        extra_env={
            "REDIS_HOST": REDIS_HOST,
            "REDIS_PORT": str(REDIS_PORT),
            "REDIS_PREFIX": redis_prefix,
            "REDIS_CACHE_DB": str(CACHE_DB),
            "FIXTURE_CACHE_DRIVER": "redis",
        },
    )
    cache = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=CACHE_DB)
    key = SIGNAL_KEY.format(prefix=redis_prefix)
    cache.delete(key)
    try:
        yield env
    finally:
        cache.delete(key, key.replace("laravel_cache:", "laravel_cache_:"))
        cache.close()


def bridge_env_file(env: LaravelEnv, folder: Path, prefix: str) -> Path:
    dotenv = write_env_file(env, folder, prefix)
    dotenv.write_text(dotenv.read_text() + f"CACHE_STORE=redis\nREDIS_CACHE_DB={CACHE_DB}\n")
    return dotenv


def test_laravels_queue_restart_stops_bridge_work(
    bridge_command: str, laravel_env: LaravelEnv, redis_prefix: str, tmp_path: Path
) -> None:
    dotenv = bridge_env_file(laravel_env, tmp_path, redis_prefix)
    bridge = [bridge_command, "--env-file", str(dotenv)]
    queue_restart_stops_bridge_work(laravel_env, bridge, laravel_env.environ())


def test_bridge_restart_stops_laravels_queue_work(
    bridge_command: str, laravel_env: LaravelEnv, redis_prefix: str, tmp_path: Path
) -> None:
    dotenv = bridge_env_file(laravel_env, tmp_path, redis_prefix)
    bridge = [bridge_command, "--env-file", str(dotenv)]
    environ = {k: v for k, v in laravel_env.environ().items() if not k.startswith("DB_")}
    sent = bridge_restart_stops_queue_work(laravel_env, bridge, environ, connection="redis")
    assert f"the Redis cache store at {REDIS_HOST}:{REDIS_PORT} database 1" in sent.stdout
    assert "Warning" not in sent.stderr, sent.stderr
