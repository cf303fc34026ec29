"""The queue restart signal, live against Debian's Laravel 8 with the database cache store:
`bridge restart` stops PHP's `queue:work`, and Laravel's own `queue:restart` stops
`bridge work`, on each database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.laravel import LaravelEnv, fresh_laravel_env
from tests.support.restart import bridge_restart_stops_queue_work, queue_restart_stops_bridge_work


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 whose cache store is the `cache` table, as with CACHE_DRIVER=database."""
    env = fresh_laravel_env(
        database_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        extra_env={"FIXTURE_CACHE_DRIVER": "database"},
    )
    engine = sa.create_engine(database_url)
    try:
        # Laravel's `cache` table, as `php artisan cache:table` creates it.
        table = sa.Table(
            "cache",
            sa.MetaData(),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
            sa.Column("expiration", sa.Integer, nullable=False),
        )
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
    finally:
        engine.dispose()
    return env


def bridge_environ(env: LaravelEnv) -> dict[str, str]:
    """`bridge`'s environment: the harness's, without DB_* (the URL is given by --database)."""
    return {k: v for k, v in env.environ().items() if not k.startswith("DB_")}


def test_bridge_restart_stops_laravels_queue_work(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    bridge = [bridge_command, "--database", laravel_env.database_url]
    bridge_restart_stops_queue_work(laravel_env, bridge, bridge_environ(laravel_env))


def test_laravels_queue_restart_stops_bridge_work(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    bridge = [bridge_command, "--database", laravel_env.database_url]
    queue_restart_stops_bridge_work(laravel_env, bridge, bridge_environ(laravel_env))
