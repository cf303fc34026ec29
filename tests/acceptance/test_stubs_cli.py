"""`bridge stubs` as a user runs it: PHP classes in, an importable declarations module out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PHP_FIXTURES


def test_stubs_then_dispatch_with_declared_visibility(
    bridge_command: str, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    out = tmp_path / "php_classes.py"
    made = subprocess.run(
        [bridge_command, "stubs", str(PHP_FIXTURES / "app" / "Jobs"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "declarations" in made.stderr
    assert subprocess.run([bridge_command, "migrate"], cwd=tmp_path, check=False).returncode == 0
    sent = subprocess.run(
        [
            bridge_command,
            "dispatch",
            "Fixtures\\Jobs\\ArchiveTicket",
            "--declarations",
            "php_classes",
            "--set",
            "ticket=7",
            "--set",
            'owner="ops"',
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    probe = (
        "import sqlite3, json; from bridge.php import loads;"
        "p = sqlite3.connect('bridge.sqlite').execute('select payload from jobs').fetchone()[0];"
        "c = loads(json.loads(p)['data']['command']);"
        "print(json.dumps([c.visibility('owner').value, c['owner'], c['ticket']]))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert json.loads(shown.stdout) == ["protected", "ops", 7]
