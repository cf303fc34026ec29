"""The newcomer's path: `bridge demo`, then `bridge dispatch` and `bridge work` by hand."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
from pathlib import Path


def run(bridge: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bridge, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_demo_is_a_visible_round_trip_on_the_sqlite_default(
    bridge_command: str, tmp_path: Path
) -> None:
    sandbox = tmp_path / "tmp"
    sandbox.mkdir()
    result = subprocess.run(
        [bridge_command, "demo"],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(sandbox)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "from a sandbox for the demo" in out
    assert "report 2026-11 for user 42 (attempt 1" in out
    assert "imported storage/imports/products.csv (attempt 1)" in out
    assert "Failed:     App\\Jobs\\ImportProducts" in out
    # Nothing lands in the user's folder; every connection closed at exit, so SQLite
    # removed the WAL's side files from the sandbox.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tmp"]
    (folder,) = sandbox.iterdir()
    assert sorted(path.name for path in folder.iterdir()) == ["demo.sqlite"]
    with sqlite3.connect(folder / "demo.sqlite") as db:
        assert db.execute("select count(*) from jobs").fetchone() == (0,)
        ((queue, payload),) = db.execute("select queue, payload from failed_jobs").fetchall()
    assert queue == "bridge-demo"
    assert json.loads(payload)["displayName"] == "App\\Jobs\\ImportProducts"


def test_dispatch_then_work_with_an_app_module(bridge_command: str, tmp_path: Path) -> None:
    (tmp_path / "myjobs.py").write_text(
        textwrap.dedent(
            """
            import json
            from bridge.worker import App

            app = App()

            @app.handler("App\\\\Jobs\\\\SendWelcomeEmail")
            def send(job):
                with open("seen.jsonl", "a") as out:
                    out.write(json.dumps({"email": job["email"], "n": job["n"]}) + "\\n")
            """
        )
    )
    assert run(bridge_command, tmp_path, "migrate").returncode == 0
    sent = run(
        bridge_command,
        tmp_path,
        "dispatch",
        "App\\Jobs\\SendWelcomeEmail",
        "--set",
        "email=a@b.c",
        "--set",
        "n=3",
        "--queue",
        "high",
        "--json",
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["queue"] == "high"
    worked = run(
        bridge_command,
        tmp_path,
        "work",
        "--app",
        "myjobs:app",
        "--queue",
        "high,default",
        "--stop-when-empty",
        "--sleep",
        "0",
    )
    assert worked.returncode == 0, worked.stderr
    assert "Processed:  App\\Jobs\\SendWelcomeEmail" in worked.stderr
    seen = [json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()]
    assert seen == [{"email": "a@b.c", "n": 3}]


def test_a_bad_app_path_is_a_clear_error(bridge_command: str, tmp_path: Path) -> None:
    result = run(bridge_command, tmp_path, "work", "--app", "nope.module:app", "--once")
    assert result.returncode == 2
    assert "Invalid value for '--app': cannot import 'nope.module'" in result.stderr


def test_dispatch_writes_for_the_laravel_version_already_in_the_table(
    bridge_command: str, tmp_path: Path
) -> None:
    fixture = Path(__file__).parent.parent / "vectors" / "laravel-fixtures" / "8.83.26.jsonl"
    php_payload = json.loads(fixture.read_text().splitlines()[0])["payload"]
    assert run(bridge_command, tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "bridge.sqlite") as db:
        db.execute(
            "insert into jobs (queue, payload, attempts, available_at, created_at)"
            " values ('default', ?, 0, 0, 0)",
            (php_payload,),
        )
    sent = run(bridge_command, tmp_path, "dispatch", "App\\Jobs\\Ping", "--set", "n=1", "--json")
    assert sent.returncode == 0, sent.stderr
    with sqlite3.connect(tmp_path / "bridge.sqlite") as db:
        (payload,) = db.execute("select payload from jobs order by id desc limit 1").fetchone()
    # The default profile (12) would add createdAt and delay; rows written by Laravel 8
    # steer the dispatcher to a version whose payload keys are Laravel 8's.
    assert list(json.loads(payload)) == list(json.loads(php_payload))
