"""The queue restart signal in Laravel's Redis cache store (CACHE_STORE=redis), live against
Laravel 8: its own `queue:restart` stops `bridge work`, and `bridge restart` stops its
`queue:work`.

Found from outside: with the cache on Redis, as most Redis-queue apps keep it, `bridge
work` watched the database's `cache` table, which `queue:restart` never writes, so a deploy
restarted the PHP workers and left the Python ones on the old code; `bridge restart` wrote
the table and warned that PHP workers would not see it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_kit import REDIS_HOST, REDIS_PORT, write_env_file

from tests.support.laravel import ROOT, LaravelEnv, fresh_laravel_env

QUEUE = "restart"
#: Where Laravel 8's RedisStore keeps the signal: the connection's prefix, the cache prefix
#: (the harness's CACHE_PREFIX default, config/cache.php's for APP_NAME=Laravel) and a colon.
SIGNAL_KEY = "{prefix}laravel_cache:illuminate:queue:restart"
CACHE_DB = 1


@pytest.fixture
def bridge_command() -> str:
    """The `bridge` console script installed next to this interpreter."""
    found = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert found is not None
    return found


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
    with subprocess.Popen(
        [
            bridge_command,
            *("--env-file", str(dotenv)),
            *("work", "--app", "tests.support.handlers:app", "--queue", QUEUE, "--sleep", "0.2"),
            # Only bounds a broken run (no start line): the wait below gives up first.
            *("--max-time", "300"),
        ],
        cwd=ROOT,
        env={**laravel_env.environ(), "FIXTURE_DATABASE_URL": laravel_env.database_url},
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            start = worker.stderr.readline()
            assert "starting" in start, start

            laravel_env.php("restart.php")

            assert worker.wait(timeout=120) == 0
            rest = worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
    assert "Restart signal received" in rest, rest


def test_bridge_restart_stops_laravels_queue_work(
    bridge_command: str, laravel_env: LaravelEnv, redis_prefix: str, tmp_path: Path
) -> None:
    dotenv = bridge_env_file(laravel_env, tmp_path, redis_prefix)
    with laravel_env.start_worker(connection="redis", queue=QUEUE, max_time=300) as worker:
        try:
            # A job processed means the daemon has read the signal it compares against.
            laravel_env.dispatch("plain_public", queue=QUEUE)
            assert worker.stdout is not None
            for line in worker.stdout:
                if "Processed" in line:
                    break
            sent = subprocess.run(
                [bridge_command, "--env-file", str(dotenv), "restart"],
                cwd=ROOT,
                env={k: v for k, v in laravel_env.environ().items() if not k.startswith("DB_")},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert sent.returncode == 0, sent.stderr
            assert f"the Redis cache store at {REDIS_HOST}:{REDIS_PORT} database 1" in sent.stdout
            assert "Warning" not in sent.stderr, sent.stderr
            assert worker.wait(timeout=120) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
