"""SIGKILL torture: workers killed at random points and restarted lose nothing and re-run only
what the kills explain; `retry-failed` killed at random points and rerun moves each job once.

CI size: 600 jobs / 6 kills, 1,000 failed rows / 3 kills; `BRIDGE_TORTURE_SCALE=full`: 5,000
jobs / 50 kills and 10,000 rows / 10 kills (published by bench/torture.py). Kill points come
from a printed seed (`BRIDGE_TORTURE_SEED` replays them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.torture import seeded, size
from tests.support.torture_kill import run_kills, run_retry_crash

pytestmark = pytest.mark.torture


@pytest.mark.mysql
def test_sigkilled_workers_lose_nothing(mysql_url: str, tmp_path: Path) -> None:
    rng, seed = seeded("kill -9")
    result = run_kills(
        mysql_url, tmp_path, jobs=size(600, 5000), kills=size(6, 50), rng=rng, seed=seed
    )
    assert result.problems() == [], "\n".join(result.problems())
    assert len(result.kills) == size(6, 50)


def test_sigkilled_retry_failed_moves_each_job_once(database_url: str, tmp_path: Path) -> None:
    rng, seed = seeded("retry-failed kill")
    result = run_retry_crash(
        database_url, tmp_path, rows=size(1000, 10_000), kills=size(3, 10), rng=rng, seed=seed
    )
    print(f"kills (point, rows in jobs at the kill): {result.kills}")
    assert result.problems() == [], "\n".join(result.problems())
    # The kill points lie before the end of the move: they land unless the run outpaces polls.
    assert any(at is not None for _, at in result.kills), "no kill landed: nothing was tested"
