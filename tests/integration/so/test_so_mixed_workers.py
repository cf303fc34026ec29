"""Two SO framework workers and two bridge workers drain one SO queue together: every job
runs exactly once (lost and doubled counts), both versions, MariaDB.

The SO worker reserves with `SELECT ... FOR UPDATE` and no `SKIP LOCKED`: its workers queue up
on the first free row's lock instead of passing over it. bridge's workers skip rows others
hold. The test counts, per worker kind, how many jobs each ran; the speed side is measured in
bench/bench_so.py. `BRIDGE_SO_MIXED_JOBS` sets the size (CI: 1,000 per version).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from so_kit import COUNTS, SoEnv

from bridge.php import loads
from tests.acceptance.test_failed_crash import bridge_command

pytestmark = [pytest.mark.php, pytest.mark.mysql]

JOBS = int(os.environ.get("BRIDGE_SO_MIXED_JOBS", "1000"))
HERE = Path(__file__).resolve().parent


def _run(line: str) -> dict[str, Any]:
    """A log line of either side: PHP's carries its props serialized."""
    run: dict[str, Any] = json.loads(line)
    if "props" in run:
        run["n"] = loads(base64.b64decode(run["props"]))["n"]
    return run


def _bridge_worker(so_env: SoEnv, name: str) -> subprocess.Popen[str]:
    env = so_env.php_environ(name)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [
            *bridge_command(),
            "--database",
            so_env.url,
            "work",
            "--dialect",
            so_env.format,
            "--app",
            "mixed_app:app",
            "--stop-when-empty",
            "--sleep",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_so_and_two_bridge_workers_lose_and_double_nothing(so_env: SoEnv) -> None:
    # Pushed from Python in one INSERT, then the framework's push for the last few (both
    # writers on one queue).
    dispatcher = so_env.dispatcher()
    dispatcher.bulk([COUNTS.new(n=n) for n in range(JOBS - 10)])
    so_env.php_push([(COUNTS.name, {"n": n}) for n in range(JOBS - 10, JOBS)])
    workers = [
        so_env.php_worker_process("so-1"),
        _bridge_worker(so_env, "bridge-1"),
        so_env.php_worker_process("so-2"),
        _bridge_worker(so_env, "bridge-2"),
    ]
    errors = []
    for process in workers:
        _, stderr = process.communicate(timeout=600)
        if process.returncode != 0:
            errors.append(f"exit {process.returncode}: {stderr[-1500:]}")
    runs = [_run(line) for line in so_env.log_path.read_text().splitlines()]
    done = Counter(run["n"] for run in runs)
    lost = [n for n in range(JOBS) if n not in done]
    doubled = {n: c for n, c in done.items() if c > 1}
    by_worker = Counter(run["worker"] for run in runs)
    print(
        f"\n{so_env.version}: {JOBS} jobs, lost {len(lost)}, doubled {len(doubled)}, "
        f"by worker {dict(sorted(by_worker.items()))}, worker errors {len(errors)}"
    )
    assert errors == []
    assert lost == [] and doubled == {}
    assert so_env._rows() == [] and so_env.failed_rows() == []
    # Both kinds took part (a test where one side ran everything would prove nothing).
    assert by_worker["so-1"] + by_worker["so-2"] > 0
    assert by_worker["bridge-1"] + by_worker["bridge-2"] > 0
