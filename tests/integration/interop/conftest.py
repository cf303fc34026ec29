"""Fixtures for the interop tests: a PHP side and bridge's side of the same tables.

`laravel_env` is real Laravel 8 on SQLite, MariaDB and PostgreSQL in turn (every harness table
fresh); `bridge_side` opens bridge's queue, failed-job and batch stores on the same database
with the same table names, key and `retry_after`, and runs bridge's worker in this process.
`php_env` / `php_bridge` are the same for every PHP side, Laravel 8 and 13 / 12 live (see
`php_side`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_kit import BridgeSide
from php_side import php_bridge, php_env, php_session  # noqa: F401 (fixtures)

from tests.integration.redis.redis_kit import (  # noqa: F401 (fixtures)
    queue_name,
    redis_env,
    redis_prefix,
    redis_side,
)
from tests.support.laravel import LaravelEnv, fresh_laravel_env


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on each of the three databases, every harness table empty."""
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)


@pytest.fixture
def bridge_side(laravel_env: LaravelEnv) -> Iterator[BridgeSide]:
    """bridge's stores, dispatcher and worker on `laravel_env`'s tables."""
    with BridgeSide.open(laravel_env) as side:
        yield side


@pytest.fixture
def sqlite_env(sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on a fresh SQLite file (the friendly view does not depend on the database)."""
    return fresh_laravel_env(sqlite_url, php_binary=php_binary, tmp_path=tmp_path)
