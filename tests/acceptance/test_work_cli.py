"""`bridge work`, the installed command, drains what real Laravel dispatched and stops cleanly.

The command runs as a subprocess from the repository root with the fixture app
(`--app tests.support.handlers:app`), the queue database given by `--database`, APP_KEY from the
environment (for the encrypted job) and `FIXTURE_DATABASE_URL` for the handlers' log. SIGTERM
lets the running job finish, leaves the jobs behind it untouched, and exits 0, as Laravel's
`queue:work` does.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.describe import canonical
from tests.support.laravel import ROOT, LaravelEnv, fresh_laravel_env

QUEUE = "acceptance"
KINDS = ("plain_public", "encrypted", "dates", "model_with_relation", "string_job")


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on each of the three databases, every harness table empty."""
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)


def work_command(bridge_command: str, env: LaravelEnv, *options: str) -> list[str]:
    """`bridge --database URL work --app tests.support.handlers:app --queue acceptance ...`."""
    return [
        bridge_command,
        "--database",
        env.database_url,
        "work",
        "--app",
        "tests.support.handlers:app",
        "--queue",
        QUEUE,
        *options,
    ]


def work_environ(env: LaravelEnv) -> dict[str, str]:
    """The PHP side's environment (APP_KEY, DB_*) plus the handlers' log database."""
    return {**env.environ(), "FIXTURE_DATABASE_URL": env.database_url}


def _uuid(line: dict[str, Any]) -> str:
    uuid: str = json.loads(line["payload"])["uuid"]
    return uuid


@pytest.mark.parametrize(
    "reserving",
    [(), ("--prefetch", "8"), ("--prefetch", "8", "--no-read-ahead")],
    ids=["one-at-a-time", "prefetch-read-ahead", "prefetch-no-read-ahead"],
)
def test_work_drains_php_dispatched_jobs(
    bridge_command: str, laravel_env: LaravelEnv, reserving: tuple[str, ...]
) -> None:
    lines = [line for kind in KINDS for line in laravel_env.dispatch(kind, queue=QUEUE)]
    lines += laravel_env.dispatch("records", queue=QUEUE, count=5)

    done = subprocess.run(
        work_command(bridge_command, laravel_env, "--stop-when-empty", "--sleep", "0", *reserving),
        cwd=ROOT,
        env=work_environ(laravel_env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count("Processed:") == len(lines), output
    assert "Failed:" not in output
    logged = {row["uuid"]: row for row in laravel_env.job_log()}
    assert sorted(logged) == sorted(_uuid(line) for line in lines)
    for line in lines:
        row = logged[_uuid(line)]
        expected = {"data": line["data"]} if line["kind"] == "string_job" else line["properties"]
        assert row["worker"] == "python"
        assert canonical(row["values"]) == canonical(expected), line["kind"]
    assert laravel_env.jobs() == []
    assert laravel_env.failed_jobs() == []


def test_sigterm_finishes_the_current_job_and_exits_zero(
    bridge_command: str, laravel_env: LaravelEnv
) -> None:
    [slow] = laravel_env.dispatch(
        "sleeps_past_timeout", queue=QUEUE, args={"seconds": 3, "timeout": 60}
    )
    behind = laravel_env.dispatch("records", queue=QUEUE, count=3)
    worker = subprocess.Popen(
        work_command(bridge_command, laravel_env, "--sleep", "0.1"),
        cwd=ROOT,
        env=work_environ(laravel_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not laravel_env.job_log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert laravel_env.job_log(), "the slow job never started"
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()

    assert worker.returncode == 0, output
    # The slow job ran to its end and was deleted, not failed. (No timing assertion: on a
    # loaded machine the job may be nearly done by the time its log row is seen.)
    assert "Processed:" in output
    [row] = laravel_env.job_log()
    assert row["uuid"] == _uuid(slow)
    assert laravel_env.failed_jobs() == []
    # The jobs queued behind it were never touched.
    left = laravel_env.jobs()
    assert sorted(json.loads(job["payload"])["uuid"] for job in left) == sorted(
        _uuid(line) for line in behind
    )
    assert {(job["attempts"], job["reserved_at"]) for job in left} == {(0, None)}
