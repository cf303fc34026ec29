"""The two commands the README gives an SO framework user, as subprocesses: `bridge dispatch
--dialect so` (the framework's worker runs the job) and `bridge work --dialect so` (Python
runs the framework's jobs); and the dialect taken from BRIDGE_DIALECT or from the rows."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from so_kit import COUNTS, KINDS, SoEnv

from bridge.so import decode_so
from tests.acceptance.test_failed_crash import bridge_command

pytestmark = [pytest.mark.php, pytest.mark.mysql]

HERE = Path(__file__).resolve().parent


def bridge(so_env: SoEnv, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in so_env.php_environ().items() if not k.startswith("BRIDGE_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(HERE), environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [*bridge_command(), "--database", so_env.url, *args],
        capture_output=True,
        text=True,
        cwd=HERE,
        env={**environ, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_dispatch_then_the_framework_worker_runs_it(so_env: SoEnv) -> None:
    sent = bridge(
        so_env,
        "dispatch",
        "--dialect",
        so_env.format,
        KINDS.name,
        "--declarations",
        "so_kit",
        "--set",
        "label=from the shell",
        "--set",
        "count=3",
        "--json",
    )
    (row,) = so_env._rows()
    assert json.loads(sent.stdout)["id"] == row.id
    assert decode_so(row.payload).format == so_env.format
    so_env.php_work()
    (handled,) = so_env.handled()
    assert handled["props"]["label"] == "from the shell" and handled["props"]["count"] == 3


def test_work_runs_the_framework_jobs(so_env: SoEnv) -> None:
    so_env.php_push([(COUNTS.name, {"n": n}) for n in range(3)])
    bridge(
        so_env,
        "work",
        "--dialect",
        so_env.format,
        "--app",
        "mixed_app:app",
        "--stop-when-empty",
        "--sleep",
        "0",
    )
    runs = [json.loads(line) for line in so_env.log_path.read_text().splitlines()]
    assert sorted(r["n"] for r in runs) == [0, 1, 2]
    assert so_env._rows() == []


def test_the_dialect_comes_from_the_environment_or_the_rows(so_env: SoEnv) -> None:
    bridge(so_env, "dispatch", COUNTS.name, "--set", "n=1", BRIDGE_DIALECT=so_env.format)
    # Now every row is the framework's: a plain dispatch follows them.
    bridge(so_env, "dispatch", COUNTS.name, "--set", "n=2")
    rows = so_env._rows()
    assert [decode_so(r.payload).data["n"] for r in rows] == [1, 2]
    assert {decode_so(r.payload).format for r in rows} == {so_env.format}
