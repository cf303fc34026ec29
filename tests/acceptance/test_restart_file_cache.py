"""The queue restart signal in Laravel's file cache store (CACHE_DRIVER=file, the skeleton's
default up to Laravel 10), live against Laravel 8: its `queue:restart` stops `bridge work`,
and `bridge restart` stops its `queue:work`.

Found from outside: with the file cache, `bridge work` watched the database's `cache`
table, which `queue:restart` never writes, so a deploy's restart left the Python workers
on the old code; `bridge restart` failed for want of that table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.laravel import LaravelEnv, fresh_laravel_env
from tests.support.restart import bridge_restart_stops_queue_work, queue_restart_stops_bridge_work


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    (folder / "storage" / "framework" / "cache" / "data").mkdir(parents=True)
    return folder


@pytest.fixture
def laravel_env(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, app_folder: Path
) -> LaravelEnv:
    """Laravel 8 whose file cache is the app's storage/framework/cache/data."""
    return fresh_laravel_env(
        sqlite_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        extra_env={
            "FIXTURE_CACHE_DRIVER": "file",
            "FIXTURE_CACHE_DIR": str(app_folder / "storage" / "framework" / "cache" / "data"),
        },
    )


def env_file(env: LaravelEnv, folder: Path) -> Path:
    """The app's .env, as a Laravel 8 skeleton keeps it: the file cache, the database queue."""
    path = folder / ".env"
    database = env.environ()["DB_DATABASE"]
    path.write_text(
        f"DB_CONNECTION=sqlite\nDB_DATABASE={database}\nQUEUE_CONNECTION=database\n"
        f"CACHE_DRIVER=file\nAPP_KEY={env.app_key}\n"
    )
    return path


def bridge_environ(env: LaravelEnv) -> dict[str, str]:
    """`bridge`'s environment: the harness's without DB_* (the .env names the database)."""
    return {k: v for k, v in env.environ().items() if not k.startswith("DB_")}


def test_laravels_queue_restart_stops_bridge_work(
    bridge_command: str, laravel_env: LaravelEnv, app_folder: Path
) -> None:
    bridge = [bridge_command, "--env-file", str(env_file(laravel_env, app_folder))]
    queue_restart_stops_bridge_work(laravel_env, bridge, bridge_environ(laravel_env))


def test_bridge_restart_stops_laravels_queue_work(
    bridge_command: str, laravel_env: LaravelEnv, app_folder: Path
) -> None:
    bridge = [bridge_command, "--env-file", str(env_file(laravel_env, app_folder))]
    sent = bridge_restart_stops_queue_work(laravel_env, bridge, bridge_environ(laravel_env))
    assert "the file cache store (" in sent.stdout and "Warning" not in sent.stderr
