"""Each admin command beside its artisan counterpart, live against Debian's Laravel 8 on each
database: the same rows in, the same rows out (`php_fixtures/artisan.php` runs Laravel's own
queue commands)."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.laravel import LaravelEnv, fresh_laravel_env

QUEUE = "parity"


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)


def bridge(
    command: str, env: LaravelEnv, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in env.environ().items() if not k.startswith("DB_")}
    done = subprocess.run(
        [command, "--database", env.database_url, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def artisan(env: LaravelEnv, *args: str) -> str:
    return env.php("artisan.php", *args).stdout


def failed_by_php(env: LaravelEnv, count: int) -> list[dict[str, Any]]:
    """`count` jobs failed by Laravel's own worker; their failed_jobs rows, oldest first."""
    env.dispatch("always_fails", queue=QUEUE, count=count)
    env.work(queue=QUEUE, tries=1)
    rows = env.failed_jobs()
    assert len(rows) == count
    return rows


def test_failed_lists_what_queue_failed_lists(bridge_command: str, laravel_env: LaravelEnv) -> None:
    rows = failed_by_php(laravel_env, 2)

    listed = json.loads(bridge(bridge_command, laravel_env, "failed", "--json").stdout)
    table = artisan(laravel_env, "queue:failed")

    # With the database-uuids driver, Laravel 8 lists (and forgets) jobs by uuid.
    laravel_ids = re.findall(r"^\| ([0-9a-f-]{36}) \|", table, re.MULTILINE)
    assert sorted(laravel_ids) == sorted(r["uuid"] for r in rows)
    assert [row["id"] for row in listed] == sorted((r["id"] for r in rows), reverse=True)
    assert {row["uuid"] for row in listed} == set(laravel_ids)
    assert {row["class"] for row in listed} == {"Fixtures\\Jobs\\AlwaysFails"}
    assert all("Fixtures\\Jobs\\AlwaysFails" in line for line in table.splitlines()[3:-1])


def test_forget_and_flush_delete_what_artisan_deletes(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    first, second, third, fourth = failed_by_php(laravel_env, 4)

    bridge(bridge_command, laravel_env, "forget", str(first["id"]))
    bridge(bridge_command, laravel_env, "forget", second["uuid"])
    artisan(laravel_env, "queue:forget", third["uuid"])

    assert [r["id"] for r in laravel_env.failed_jobs()] == [fourth["id"]]
    bridge(bridge_command, laravel_env, "flush", "--yes")
    assert laravel_env.failed_jobs() == []
    failed_by_php(laravel_env, 1)
    artisan(laravel_env, "queue:flush")
    assert laravel_env.failed_jobs() == []


def test_clear_deletes_what_queue_clear_deletes(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    laravel_env.dispatch("plain_public", queue=QUEUE, count=3)
    laravel_env.dispatch("plain_public", queue="other", count=1)

    ours = bridge(bridge_command, laravel_env, "clear", "--queue", QUEUE, "--yes")

    assert "Cleared 3 job(s) from the [parity] queue." in ours.stdout
    laravel_env.dispatch("plain_public", queue=QUEUE, count=2)
    theirs = artisan(laravel_env, "queue:clear", f"--queue={QUEUE}", "--force")
    assert "Cleared 2 jobs from the [parity] queue" in theirs
    assert [job["queue"] for job in laravel_env.jobs()] == ["other"]


def test_status_counts_what_queue_monitor_counts(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    laravel_env.dispatch("plain_public", queue=QUEUE, count=3)
    laravel_env.dispatch("delayed", queue=QUEUE, count=2)

    shown = json.loads(
        bridge(bridge_command, laravel_env, "status", "--queue", QUEUE, "--json").stdout
    )
    monitor = artisan(laravel_env, "queue:monitor", f"database:{QUEUE}")

    (ours,) = shown["queues"]
    (size,) = [int(m) for m in re.findall(rf"\| {QUEUE}\s+\| (\d+)\s+\|", monitor)]
    assert (ours["pending"], ours["delayed"], ours["reserved"]) == (3, 2, 0)
    assert ours["pending"] + ours["delayed"] + ours["reserved"] == size == 5


FAILING_APP = """
from bridge.worker import App

app = App()

@app.handler("Fixtures\\\\Jobs\\\\CrunchChunk")
def crunch(job):
    raise RuntimeError("chunk failed")
"""


def test_retry_batch_moves_what_queue_retry_batch_moves(
    bridge_command: str, laravel_env: LaravelEnv, tmp_path: Path
) -> None:
    (tmp_path / "failing.py").write_text(textwrap.dedent(FAILING_APP))
    laravel_env.dispatch("batch", queue=QUEUE)
    work = ("work", "--app", "failing:app", "--queue", QUEUE, "--stop-when-empty")
    bridge(bridge_command, laravel_env, *work, cwd=tmp_path)
    (batch,) = laravel_env.batches()
    failed_ids = json.loads(batch["failed_job_ids"])
    assert len(failed_ids) == 2

    artisan(laravel_env, "queue:retry-batch", batch["id"])
    by_laravel = sorted(json.loads(job["payload"])["uuid"] for job in laravel_env.jobs())
    bridge(bridge_command, laravel_env, *work, cwd=tmp_path)  # they fail again
    ours = bridge(bridge_command, laravel_env, "retry-batch", batch["id"])
    by_bridge = sorted(json.loads(job["payload"])["uuid"] for job in laravel_env.jobs())

    assert by_laravel == by_bridge == sorted(failed_ids)
    assert "Moved 2 job(s)" in ours.stdout
    assert laravel_env.failed_jobs() == []
