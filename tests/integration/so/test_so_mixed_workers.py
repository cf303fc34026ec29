"""Two SO framework workers and two bridge workers drain one SO queue together: every job
runs exactly once (lost and doubled counts), both versions, MariaDB.

The SO worker reserves with `SELECT ... FOR UPDATE` and no `SKIP LOCKED`: its workers queue up
on the first free row's lock instead of passing over it, and under contention MariaDB picks
one of them as a deadlock victim; the SO worker does not catch that and exits 255 (its
transaction rolled back: nothing reserved, nothing lost). The test restarts such a worker as
a supervisor would and counts the restarts; bridge's workers skip rows others hold and retry
their own storage errors. The speed side is measured in bench/bench_so.py.
`BRIDGE_SO_MIXED_JOBS` sets the size (CI: 1,000 per version).
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
from bridge.so import decode_so
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


def _bridge_worker(so_env: SoEnv, name: str, log: Path) -> subprocess.Popen[str]:
    """`bridge work` in a process; its log lines go to `log` (a pipe left unread would fill
    and stop the worker)."""
    env = so_env.php_environ(name)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    with log.open("w") as stderr:
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
            stderr=stderr,
            text=True,
            env=env,
        )


def test_two_so_and_two_bridge_workers_lose_and_double_nothing(
    so_env: SoEnv, tmp_path: Path
) -> None:
    # Pushed from Python in one INSERT, then the framework's push for the last few (both
    # writers on one queue).
    dispatcher = so_env.dispatcher()
    dispatcher.bulk([COUNTS.new(n=n) for n in range(JOBS - 10)])
    so_env.php_push([(COUNTS.name, {"n": n}) for n in range(JOBS - 10, JOBS)])
    outputs: list[Path] = []

    def so_worker(name: str) -> subprocess.Popen[str]:
        out = tmp_path / f"{name}-{len(outputs)}.out"
        outputs.append(out)
        with out.open("w") as stdout:
            return so_env.php_worker_process(name, stdout=stdout)

    pending = {name: so_worker(name) for name in ("so-1", "so-2")}
    bridge_logs = [tmp_path / f"bridge-{i}.log" for i in (1, 2)]
    bridge_workers = [
        _bridge_worker(so_env, f"bridge-{i}", log) for i, log in enumerate(bridge_logs, 1)
    ]
    errors: list[str] = []
    restarts = 0
    # The framework's workers run under a supervisor that restarts them (its docs use
    # Supervisor's autorestart): one killed by a deadlock in its reservation starts again.
    while pending:
        name, process = next(iter(pending.items()))
        _, stderr = process.communicate(timeout=600)
        del pending[name]
        if process.returncode == 255 and "1213 Deadlock found" in stderr:
            restarts += 1
            pending[name] = so_worker(name)
        elif process.returncode != 0:
            errors.append(f"{name} exit {process.returncode}: {stderr[-1500:]}")
    for process, log in zip(bridge_workers, bridge_logs, strict=True):
        process.wait(timeout=600)
        if process.returncode != 0:
            errors.append(f"bridge exit {process.returncode}: {log.read_text()[-1500:]}")
    assert errors == []
    # The framework's worker deletes a finished row inside its try of the job: when that
    # DELETE is a deadlock victim, it counts the job as failed and releases it for
    # retryAfter (90 s), and the job runs again (a worker killed by a deadlock while
    # releasing leaves the row reserved until retry_after instead). Only those rows are left.
    released_by_so = sum(out.read_text().count("Error: SQLSTATE[40001]") for out in outputs)
    left = so_env._rows()
    assert len(left) <= released_by_so + restarts, left[:3]
    assert all(row.attempts == 1 for row in left), left[:3]
    second_run = {_n(row.payload) for row in left}
    with so_env.engine.begin() as conn:  # their retryAfter / retry_after has passed
        conn.exec_driver_sql(
            "UPDATE jobs SET available_at = available_at - 3600, reserved_at = reserved_at - 3600"
        )
    so_env.php_work()
    runs = [_run(line) for line in so_env.log_path.read_text().splitlines()]
    done = Counter(run["n"] for run in runs)
    lost = [n for n in range(JOBS) if n not in done]
    doubled = {n for n, c in done.items() if c > 1}
    by_worker = Counter(run["worker"] for run in runs)
    print(
        f"\n{so_env.version}: {JOBS} jobs, lost {len(lost)}, doubled {len(doubled)} "
        f"(all released by the framework's worker after its DELETE deadlocked: "
        f"{released_by_so}), SO workers restarted after a deadlock in reserving: {restarts}, "
        f"by worker {dict(sorted(by_worker.items()))}"
    )
    assert lost == []
    assert doubled == second_run
    assert all(c <= 2 for c in done.values())
    assert so_env._rows() == [] and so_env.failed_rows() == []
    # Both kinds took part (a test where one side ran everything would prove nothing).
    assert by_worker["so-1"] + by_worker["so-2"] > 0
    assert by_worker["bridge-1"] + by_worker["bridge-2"] > 0


def _n(payload: str) -> int:
    n: int = decode_so(payload).data["n"]
    return n
