"""The queue restart signal, live against Debian's Laravel 8 with the database cache store:
`bridge restart` stops PHP's `queue:work`, and Laravel's own `queue:restart` stops
`bridge work`, on each database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.laravel import ROOT, LaravelEnv, fresh_laravel_env

QUEUE = "restart"


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
    # max_time only bounds a broken run: the wait below gives up long before it.
    with laravel_env.start_worker(queue=QUEUE, max_time=300) as worker:
        try:
            # A job processed means the daemon has read the signal it compares against.
            laravel_env.dispatch("plain_public", queue=QUEUE)
            assert worker.stdout is not None
            for line in worker.stdout:
                if "Processed" in line:
                    break
            sent = subprocess.run(
                [bridge_command, "--database", laravel_env.database_url, "restart"],
                env=bridge_environ(laravel_env),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert sent.returncode == 0, sent.stderr
            assert worker.wait(timeout=120) == 0
        finally:
            if worker.poll() is None:
                worker.kill()


def test_laravels_queue_restart_stops_bridge_work(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    with subprocess.Popen(
        [
            bridge_command,
            *("--database", laravel_env.database_url),
            *("work", "--app", "tests.support.handlers:app", "--queue", QUEUE, "--sleep", "0.2"),
            # Only bounds a broken run (no start line): the wait below gives up first.
            *("--max-time", "300"),
        ],
        cwd=ROOT,
        env={**bridge_environ(laravel_env), "FIXTURE_DATABASE_URL": laravel_env.database_url},
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
    assert "Restart signal received" in rest
