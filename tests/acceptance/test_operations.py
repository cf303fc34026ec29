"""Daily operation through the installed command: a queue shared with PHP, the worker's
logs, `status`, `clear`, `restart`, `retry-batch` and a fast `--version`."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

from tests.acceptance.test_first_use import clean_environ, run

FIXTURES = Path(__file__).parent.parent / "vectors" / "laravel-fixtures" / "8.83.26.jsonl"


def php_payload(kind: str = "plain_public") -> str:
    """A payload Laravel 8 wrote (App\\Jobs\\SendWelcomeEmail for plain_public)."""
    for line in FIXTURES.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == kind:
            payload: str = record["payload"]
            return payload
    raise LookupError(kind)


def insert_job(
    database: Path,
    payload: str,
    *,
    queue: str = "default",
    available_at: int = 0,
    created_at: int = 0,
    reserved_at: int | None = None,
    attempts: int = 0,
) -> int:
    with sqlite3.connect(database) as db:
        cursor = db.execute(
            "insert into jobs (queue, payload, attempts, reserved_at, available_at, created_at)"
            " values (?, ?, ?, ?, ?, ?)",
            (queue, payload, attempts, reserved_at, available_at, created_at),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def rows(database: Path, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(f"select * from {table} order by id")]


def python_job(name: str) -> str:
    """A payload for a Python handler registered as `name` (an untyped object job)."""
    return json.dumps(
        {
            "uuid": f"uuid-{name}-{time.monotonic_ns()}",
            "displayName": name,
            "job": "Illuminate\\Queue\\CallQueuedHandler@call",
            "maxTries": None,
            "maxExceptions": None,
            "failOnTimeout": False,
            "backoff": None,
            "timeout": None,
            "retryUntil": None,
            "data": {"commandName": name, "command": f'O:{len(name)}:"{name}":0:{{}}'},
        }
    )


def migrated(bridge: str, folder: Path) -> Path:
    assert run([bridge, "migrate"], folder).returncode == 0
    return folder / "bridge.sqlite"


WORK = ("work", "--app", "myjobs:app", "--stop-when-empty")
MYJOBS = """
import logging
import warnings
from bridge.worker import App

app = App()

@app.handler("App\\\\Jobs\\\\Python")
def python_job(job):
    logging.getLogger("myapp").warning("handled %s", job.uuid)
    warnings.warn("careful with that")

@app.handler("App\\\\Jobs\\\\Broken")
def broken(job):
    raise RuntimeError("boom")
"""


# --- unknown jobs on a shared queue ------------------------------------------------------


def test_a_php_job_goes_back_untouched_for_php_workers(bridge_command: str, tmp_path: Path) -> None:
    database = migrated(bridge_command, tmp_path)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    payload = php_payload()
    insert_job(database, payload, created_at=1_000)
    before = int(time.time())

    worked = run(
        [
            bridge_command,
            *("work", "--app", "myjobs:app", "--queue", "python,default"),
            *("--stop-when-empty", "--unknown-delay", "7"),
        ],
        tmp_path,
    )

    after = int(time.time())
    assert worked.returncode == 0, worked.stderr
    assert rows(database, "failed_jobs") == []
    (job,) = rows(database, "jobs")
    assert job["payload"] == payload
    assert job["attempts"] == 0 and job["reserved_at"] is None
    assert before + 7 <= job["available_at"] <= after + 7


def test_an_app_without_handlers_is_warned_about(bridge_command: str, tmp_path: Path) -> None:
    migrated(bridge_command, tmp_path)
    (tmp_path / "empty.py").write_text("from bridge.worker import App\napp = App()\n")
    worked = run([bridge_command, "work", "--app", "empty:app", "--stop-when-empty"], tmp_path)
    assert worked.returncode == 0, worked.stderr
    assert "registers no handlers" in worked.stderr


# --- logs --------------------------------------------------------------------------------


def test_json_logs_carry_every_line_with_tracebacks_and_a_start_line(
    bridge_command: str, tmp_path: Path
) -> None:
    database = migrated(bridge_command, tmp_path)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    insert_job(database, python_job("App\\Jobs\\Python"))
    insert_job(database, python_job("App\\Jobs\\Broken"))

    worked = run(
        [bridge_command, *WORK, "--tries", "2", "--json-logs"],
        tmp_path,
    )

    assert worked.returncode == 0, worked.stderr
    lines = [json.loads(line) for line in worked.stderr.splitlines()]  # every line is JSON
    assert worked.stdout == ""
    (start,) = [line for line in lines if line.get("event") == "starting"]
    assert start["database"] == f"sqlite:///{database}"
    assert start["queues"] == ["default"]
    assert start["handlers"] == ["App\\Jobs\\Broken", "App\\Jobs\\Python"]
    assert start["dialect"] == "sqlite" and start["server_version"]
    assert all(line["pid"] == start["pid"] for line in lines)
    assert any(line.get("logger") == "myapp" and "handled" in line["message"] for line in lines)
    assert any("careful with that" in line["message"] for line in lines)
    (released,) = [line for line in lines if line.get("event") == "released"]
    (failed,) = [line for line in lines if line.get("event") == "failed"]
    for line in (released, failed):
        assert line["exception_class"] == "RuntimeError"
        assert "boom" in line["traceback"] and "myjobs.py" in line["traceback"]


def test_quiet_drops_the_per_job_lines_as_queue_work_quiet_does(
    bridge_command: str, tmp_path: Path
) -> None:
    # Found from outside: `bridge work --quiet`, what a Laravel user types, was "no such
    # option"; the per-job lines went only with --log-level warning.
    database = migrated(bridge_command, tmp_path)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    insert_job(database, python_job("App\\Jobs\\Python"))
    insert_job(database, python_job("App\\Jobs\\Broken"))

    worked = run([bridge_command, *WORK, "--quiet"], tmp_path)

    assert worked.returncode == 0, worked.stderr
    lines = worked.stderr.splitlines()
    assert not [line for line in lines if "Processing:" in line or "Processed:" in line], lines
    assert any(" Failed:     App\\Jobs\\Broken: " in line for line in lines), lines
    assert any("handled" in line for line in lines)  # the app's own warning still shows
    assert rows(database, "jobs") == [] and len(rows(database, "failed_jobs")) == 1


def test_log_level_and_a_pid_on_every_line_of_a_pool(bridge_command: str, tmp_path: Path) -> None:
    database = migrated(bridge_command, tmp_path)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    for _ in range(4):
        insert_job(database, python_job("App\\Jobs\\Python"))

    quiet = run(
        [bridge_command, *WORK, "--once", "--log-level", "error"],
        tmp_path,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "Processing" not in quiet.stderr and "Processed" not in quiet.stderr

    pool = run(
        [bridge_command, *WORK, "--concurrency", "2"],
        tmp_path,
    )

    assert pool.returncode == 0, pool.stderr
    job_lines = [line for line in pool.stderr.splitlines() if "Processed:" in line]
    assert len(job_lines) == 3
    assert all(re.search(r"\[pid \d+\]", line) for line in job_lines)


# --- status and clear --------------------------------------------------------------------


def test_status_counts_each_queue_and_exits_4_over_a_threshold(
    bridge_command: str, tmp_path: Path
) -> None:
    database = migrated(bridge_command, tmp_path)
    now = int(time.time())
    insert_job(database, php_payload(), created_at=now - 600)
    insert_job(database, php_payload(), created_at=now - 60)
    insert_job(database, php_payload(), available_at=now + 3_600, created_at=now)
    insert_job(database, php_payload(), queue="high", reserved_at=now, attempts=1, created_at=now)

    shown = run([bridge_command, "status", "--json"], tmp_path)

    assert shown.returncode == 0, shown.stderr
    by_queue = {q["queue"]: q for q in json.loads(shown.stdout)["queues"]}
    assert by_queue["default"]["pending"] == 2
    assert by_queue["default"]["delayed"] == 1
    assert by_queue["default"]["reserved"] == 0
    assert 600 <= by_queue["default"]["oldest_pending_age_seconds"] < 3_600
    assert (by_queue["high"]["pending"], by_queue["high"]["reserved"]) == (0, 1)
    assert by_queue["high"]["oldest_pending_age_seconds"] is None

    over = run([bridge_command, "status", "--queue", "default,low", "--max-pending", "1"], tmp_path)
    assert over.returncode == 4, over.stderr
    assert "Over the threshold: default" in over.stderr
    assert re.search(r"^low\s+0\s+0\s+0\s+-", over.stdout, re.MULTILINE)
    assert run([bridge_command, "status", "--max-age", "3600"], tmp_path).returncode == 0


def test_clear_empties_one_queue(bridge_command: str, tmp_path: Path) -> None:
    database = migrated(bridge_command, tmp_path)
    insert_job(database, php_payload(), queue="default")
    insert_job(database, php_payload(), queue="default", reserved_at=1, attempts=1)
    insert_job(database, php_payload(), queue="high")

    cleared = run([bridge_command, "clear", "--queue", "default", "--yes"], tmp_path)

    assert cleared.returncode == 0, cleared.stderr
    assert "Cleared 2 job(s) from the [default] queue." in cleared.stdout
    assert [job["queue"] for job in rows(database, "jobs")] == ["high"]


# --- restart -----------------------------------------------------------------------------

#: Laravel's `cache` table, as `php artisan cache:table` creates it.
CACHE_TABLE = (
    "create table cache (key varchar(255) not null primary key, value text not null,"
    " expiration integer not null)"
)


def test_bridge_restart_stops_a_running_python_worker(bridge_command: str, tmp_path: Path) -> None:
    database = migrated(bridge_command, tmp_path)
    with sqlite3.connect(database) as db:
        db.execute(CACHE_TABLE)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    with subprocess.Popen(
        # --max-time bounds a broken run (no start line); the wait below fails it sooner.
        [bridge_command, "work", "--app", "myjobs:app", "--sleep", "0.2", "--max-time", "300"],
        cwd=tmp_path,
        env=clean_environ(),
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            start = worker.stderr.readline()
            assert "starting" in start, start

            sent = run([bridge_command, "restart"], tmp_path)
            assert sent.returncode == 0, sent.stderr
            assert worker.wait(timeout=120) == 0
            rest = worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
    assert "Restart signal received" in rest
    values = {r["key"]: r["value"] for r in rows_of_cache(database)}
    # Under each default prefix of config/cache.php: Laravel 8's, 9-12's and 13's.
    assert set(values) == {
        "laravel_cacheilluminate:queue:restart",
        "laravel_cache_illuminate:queue:restart",
        "laravel-cache-illuminate:queue:restart",
    }
    assert all(re.fullmatch(r"i:\d+;", value) for value in values.values())


def rows_of_cache(database: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("select * from cache")]


def test_restart_without_a_cache_table_says_how_to_make_one(
    bridge_command: str, tmp_path: Path
) -> None:
    migrated(bridge_command, tmp_path)
    result = run([bridge_command, "restart"], tmp_path)
    assert result.returncode == 1
    assert "cache:table" in result.stderr and "Traceback" not in result.stderr


# --- retry-batch -------------------------------------------------------------------------


def test_retry_batch_moves_the_failed_jobs_of_one_batch(
    bridge_command: str, tmp_path: Path
) -> None:
    database = migrated(bridge_command, tmp_path)
    with sqlite3.connect(database) as db:
        for n in (1, 2, 3):
            payload = python_job("App\\Jobs\\Python").replace('"uuid-', f'"u{n}-')
            uuid = json.loads(payload)["uuid"]
            db.execute(
                "insert into failed_jobs (uuid, connection, queue, payload, exception, failed_at)"
                " values (?, 'database', 'default', ?, 'E', '2026-11-01 00:00:00')",
                (uuid, payload),
            )
        uuids = [r[0] for r in db.execute("select uuid from failed_jobs order by id")]
        db.execute(
            "insert into job_batches (id, name, total_jobs, pending_jobs, failed_jobs,"
            " failed_job_ids, options, cancelled_at, created_at, finished_at)"
            " values ('b-1', 'imports', 3, 2, 2, ?, 'a:0:{}', null, 0, null)",
            (json.dumps(uuids[:2]),),
        )

    retried = run([bridge_command, "retry-batch", "b-1"], tmp_path)

    assert retried.returncode == 0, retried.stderr
    assert "Moved 2 job(s)" in retried.stdout
    assert [r["uuid"] for r in rows(database, "failed_jobs")] == [uuids[2]]
    assert len(rows(database, "jobs")) == 2
    missing = run([bridge_command, "retry-batch", "nope"], tmp_path)
    assert missing.returncode == 1 and "no batch has the id 'nope'" in missing.stderr


# --- shell completion and a fast --version ------------------------------------------------


def test_shell_completion_completes_command_names(bridge_command: str, tmp_path: Path) -> None:
    # What the README's `eval "$(_BRIDGE_COMPLETE=bash_source bridge)"` asks on <Tab>.
    done = run(
        [bridge_command],
        tmp_path,
        env=clean_environ(
            _BRIDGE_COMPLETE="bash_complete", COMP_WORDS="bridge retry", COMP_CWORD="1"
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["plain,retry-failed", "plain,retry-batch"]
    script = run([bridge_command], tmp_path, env=clean_environ(_BRIDGE_COMPLETE="bash_source"))
    assert "complete " in script.stdout and "_BRIDGE_COMPLETE" in script.stdout


def test_version_loads_neither_the_queue_layer_nor_the_commands(bridge_command: str) -> None:
    probe = textwrap.dedent(
        """
        import json
        import sys
        from bridge.cli import main
        try:
            main(["--version"])
        except SystemExit:
            pass
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("bridge", "sqlalchemy")))))
        """
    )
    python = str(Path(bridge_command).with_name("python"))
    done = subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "bridge, version" in done.stdout
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded == [
        "bridge",
        "bridge.cli",
        "bridge.cli._context",
        "bridge.config",
        "bridge.exceptions",
    ]


# --- connections bridge does not drive -----------------------------------------------------


def test_a_connection_of_another_driver_is_refused_not_read_as_the_jobs_table(
    bridge_command: str, tmp_path: Path
) -> None:
    # Found from outside: `--connection sqs` (or sync, beanstalkd, ...) worked the database
    # queue as if it were a connection named "sqs", and `retry-failed --to-connection sqs`
    # moved failed jobs into the jobs table under that name.
    database = migrated(bridge_command, tmp_path)
    (tmp_path / "myjobs.py").write_text(textwrap.dedent(MYJOBS))
    insert_job(database, php_payload())
    for args in (
        ["status", "--connection", "sqs"],
        [*WORK, "--connection", "sync"],
        ["dispatch", "App\\Jobs\\X", "--connection", "beanstalkd"],
        ["retry-failed", "all", "--to-connection", "sqs", "--yes"],
    ):
        done = run([bridge_command, *args], tmp_path)
        assert done.returncode != 0, args
        assert "bridge works with the database and redis queue connections" in done.stderr, (
            args,
            done.stderr,
        )
    assert len(rows(database, "jobs")) == 1
