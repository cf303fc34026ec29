"""Fixtures for the failed-job toolbox against real databases and real Laravel 8."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for
from bridge.queue.database_stores import DatabaseStores
from tests.support.laravel import LaravelEnv, fresh_laravel_env

LAYOUTS = {"uuid": "database-uuids", "id-only": "database"}


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> str:
    """The `failed_jobs` layout: `uuid` (Laravel 8+) or `id-only` (older apps)."""
    return str(request.param)


@pytest.fixture
def laravel_env(
    database_url: str, php_binary: str, laravel: Path, tmp_path: Path, layout: str
) -> LaravelEnv:
    """Laravel 8 on each database, in each failed_jobs layout, with empty harness tables."""
    return fresh_laravel_env(
        database_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        failed_driver=LAYOUTS[layout],
    )


@pytest.fixture
def engine(laravel_env: LaravelEnv) -> Iterator[Engine]:
    """A bridge engine on the Laravel environment's database."""
    engine = create_engine_for(laravel_env.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def stores(engine: Engine, laravel_env: LaravelEnv) -> Iterator[DatabaseStores]:
    """bridge's view of the harness's tables."""
    stores = DatabaseStores(
        engine=engine, jobs_table=laravel_env.queue_table, failed_table=laravel_env.failed_table
    )
    yield stores
    stores.close()


@pytest.fixture
def queue(stores: DatabaseStores) -> DatabaseQueue:
    """bridge's view of the harness's `jobs` table."""
    return stores.queue


@pytest.fixture
def failed(stores: DatabaseStores) -> DatabaseFailedJobStore:
    """bridge's view of the harness's `failed_jobs` table."""
    return stores.failed
