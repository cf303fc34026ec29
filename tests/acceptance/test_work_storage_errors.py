"""`bridge work` against a queue it cannot use: one line per error, the stop options honoured,
and an exit status that says whether a restart can help.

A worker whose database was down or whose `jobs` table was missing used to print a
traceback of about 120 lines every second and ignore `--once`, `--stop-when-empty` and
`--max-time`. Each case here runs the installed command as a subprocess; `communicate`'s
generous timeout only turns a worker that never stops into a failure.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

# Nothing listens there: every connection is refused at once.
DEAD_SERVER = "mysql+pymysql://root@127.0.0.1:1/bridge"
NEVER_STOPPED = 60


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "storage_app.py").write_text(
        "from bridge.worker import App\n\napp = App()\napp.register('App\\\\Jobs\\\\Noop', print)\n"
    )
    return tmp_path


def run_work(bridge_command: str, cwd: Path, url: str, *options: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [bridge_command, "--database", url, "work", "--app", "storage_app:app", *options],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=NEVER_STOPPED,
    )
    return done.returncode, (done.stdout + done.stderr).splitlines()


def storage_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "Storage error" in line]


def assert_no_flood(lines: list[str]) -> None:
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    assert len(lines) < 12, "\n".join(lines)


def test_a_missing_jobs_table_stops_at_once_with_status_78(
    bridge_command: str, app_dir: Path
) -> None:
    path = app_dir / "empty.sqlite"
    sqlite3.connect(path).close()
    status, lines = run_work(bridge_command, app_dir, f"sqlite:///{path}")
    assert status == 78, "\n".join(lines)
    assert_no_flood(lines)
    [line] = storage_lines(lines)
    assert "no such table: jobs" in line and "bridge migrate" in line


def test_an_unknown_database_stops_at_once_with_status_78(
    bridge_command: str, app_dir: Path, mysql_url: str
) -> None:
    url = make_url(mysql_url).set(database="bridge_no_such_database")
    status, lines = run_work(
        bridge_command, app_dir, url.render_as_string(hide_password=False), "--stop-when-empty"
    )
    assert status == 78, "\n".join(lines)
    assert_no_flood(lines)
    [line] = storage_lines(lines)
    assert "Unknown database" in line


@pytest.mark.parametrize("option", ["--once", "--stop-when-empty"])
def test_a_dead_server_gives_up_after_three_tries(
    bridge_command: str, app_dir: Path, option: str
) -> None:
    status, lines = run_work(bridge_command, app_dir, DEAD_SERVER, option)
    assert status == 1, "\n".join(lines)
    assert_no_flood(lines)
    assert len(storage_lines(lines)) == 3
    assert "Gave up after 3 tries" in storage_lines(lines)[-1]


def test_a_dead_server_does_not_keep_a_worker_past_max_time(
    bridge_command: str, app_dir: Path
) -> None:
    status, lines = run_work(bridge_command, app_dir, DEAD_SERVER, "--max-time", "3")
    # max_time is an orderly stop, as when the queue is reachable.
    assert status == 0, "\n".join(lines)
    assert_no_flood(lines)
    # Pauses of 1 s, then 2 s, cut to what is left of the 3 s.
    assert 1 <= len(storage_lines(lines)) <= 3
    assert "Retrying in 1.0 s" in storage_lines(lines)[0]
