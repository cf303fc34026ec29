"""Torture under load: the database server restarted twice mid-drain loses no job; four bridge
and two Laravel workers draining one queue lose none and run none twice.

CI size: 3,000 jobs through the restarts, 1,500 in the mixed drain per database;
`BRIDGE_TORTURE_SCALE=full`: 20,000 each (published by bench/torture.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.resilience.private_mariadb import PrivateMariaDB
from tests.support.torture import seeded, size
from tests.support.torture_load import run_db_restart, run_mixed

pytestmark = pytest.mark.torture


@pytest.mark.mysql
def test_two_server_restarts_lose_no_job(private_mariadb: PrivateMariaDB, tmp_path: Path) -> None:
    rng, seed = seeded("database restart")
    result = run_db_restart(private_mariadb, tmp_path, jobs=size(3000, 20_000), rng=rng, seed=seed)
    print(
        f"restarts {result.restarts}, worker exits {result.worker_exits}, "
        f"ran twice {result.ran_twice}, log lines {result.log_lines}"
    )
    assert result.problems() == [], "\n".join(result.problems())
    assert len(result.restarts) == 2


@pytest.mark.php
@pytest.mark.parametrize("server", ["mysql", "postgres"])
def test_bridge_and_laravel_workers_share_a_queue(
    server: str, request: pytest.FixtureRequest, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue(f"{server}_url"))
    result = run_mixed(url, tmp_path, php_binary=php_binary, jobs=size(1500, 20_000))
    print(f"{server}: {result.jobs} jobs in {result.seconds:.1f} s, {result.by_language}")
    assert result.problems() == [], "\n".join(result.problems())
    # Both languages took part (every process usually does; one still starting on a loaded
    # machine when the queue runs dry need not).
    assert set(result.processes_by_language) == {"php", "python"}, result.processes_by_language
