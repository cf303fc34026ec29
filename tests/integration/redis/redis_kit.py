"""Laravel 8's Redis queue and bridge's on the same keys: fixtures a conftest imports.

The Redis at 127.0.0.1:6379 under a key prefix of this session's own, and Laravel 8's Redis
queue (phpredis) on the same keys. Every session gets a fresh prefix (`bridge-t-<random>:`), and
every test a fresh queue name under it, so parallel runs and tests never see each other's keys;
the session deletes its keys at the end. `redis_env` is Laravel 8 with its `redis` queue
connection as default (failed jobs, batches and the job log on a SQLite file, as an app keeps
them in its database); `redis_side` is bridge's side of it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.integration.interop.interop_kit import BridgeSide
from tests.support.laravel import LaravelEnv, fresh_laravel_env

REDIS_HOST = os.environ.get("BRIDGE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BRIDGE_TEST_REDIS_PORT", "6379"))


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """This session's key prefix; its keys are deleted when the session ends."""
    redis = pytest.importorskip("redis")
    prefix = f"bridge-t-{uuid.uuid4().hex[:10]}:"
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    try:
        yield prefix
    finally:
        doomed = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if doomed:
            client.delete(*doomed)
        client.close()


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"q{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_env(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, redis_prefix: str
) -> LaravelEnv:
    """Laravel 8 whose default queue connection is `redis` (phpredis) under our prefix."""
    probe = shutil.which(php_binary)
    assert probe is not None
    env = laravel_on_redis(sqlite_url, php_binary, tmp_path, PREFIX=redis_prefix)
    done = env.php("redis_pop.php", "probe-" + uuid.uuid4().hex[:6], check=False)
    if done.returncode != 0:
        unavailable(
            f"Laravel's Redis queue does not run (php-redis missing?): {done.stderr[-300:]}"
        )
    return env


def laravel_on_redis(
    sqlite_url: str,
    php_binary: str,
    tmp_path: Path,
    *,
    host: str = REDIS_HOST,
    port: int = REDIS_PORT,
    **settings: str,
) -> LaravelEnv:
    """Laravel 8 on a fresh SQLite file whose default queue connection is `redis` at
    `host:port`, with further `REDIS_*` settings (`PREFIX="..."`: `REDIS_PREFIX`)."""
    redis = {"HOST": host, "PORT": str(port), **settings}
    return fresh_laravel_env(
        sqlite_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        queue_connection="redis",
        extra_env={f"REDIS_{name}": value for name, value in redis.items()},
    )


@pytest.fixture
def redis_side(redis_env: LaravelEnv, redis_prefix: str) -> Iterator[BridgeSide]:
    """bridge's Redis queue, failed-job and batch stores on `redis_env`'s keys and tables."""
    with BridgeSide.open_redis(
        redis_env, prefix=redis_prefix, host=REDIS_HOST, port=REDIS_PORT
    ) as side:
        yield side


def write_env_file(env: LaravelEnv, folder: Path, prefix: str) -> Path:
    """The Laravel `.env` a `bridge` command of this app reads: redis queue, SQLite database."""
    path = folder / ".env"
    lines = [
        "QUEUE_CONNECTION=redis",
        "DB_CONNECTION=sqlite",
        f"DB_DATABASE={env.environ()['DB_DATABASE']}",
        f"APP_KEY={env.app_key}",
        f"REDIS_PREFIX={prefix}",
        f"REDIS_QUEUE_RETRY_AFTER={env.retry_after}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
