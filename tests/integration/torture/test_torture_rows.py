"""Poison rows and hostile payloads among good jobs: each bad row is failed intact with a
clear reason, each good job runs exactly once, the workers never die, nothing stays behind.

CI size: every kind of bad row once among 300 good jobs; `BRIDGE_TORTURE_SCALE=full` runs
200 bad rows among 2,000 (bench/torture.py publishes that run in bench/RELIABILITY.md).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support.torture import seeded, size
from tests.support.torture_rows import (
    BadRow,
    good_payloads,
    hostile_catalogue,
    poison_catalogue,
    run_bad_rows,
)

pytestmark = pytest.mark.torture


def _uuid() -> str:
    return str(uuid.uuid4())


def poison_rows(sqlite: bool, at_least: int) -> list[BadRow]:
    """Every kind of poison row, repeated (fresh uuids, one 10 MB row) up to `at_least`."""
    rows = poison_catalogue(_uuid, sqlite=sqlite)
    while len(rows) < at_least:
        rows += [r for r in poison_catalogue(_uuid, sqlite=sqlite) if r.kind != "10 MB payload"]
    return rows


def test_poison_rows_fail_intact_and_good_jobs_run_once(database_url: str, tmp_path: Path) -> None:
    rng, _ = seeded("poison rows")
    sqlite = database_url.startswith("sqlite")
    bad = poison_rows(sqlite, size(0, 200))
    good = size(300, 2000)
    result = run_bad_rows(
        database_url, tmp_path, good=good, bad=bad, rng=rng, good_rows=good_payloads(good, _uuid)
    )
    assert result.problems() == [], "\n".join(result.problems())


def test_hostile_payloads_run_no_code_and_fail_intact(database_url: str, tmp_path: Path) -> None:
    rng, _ = seeded("hostile payloads")
    bad = hostile_catalogue(_uuid, canary=tmp_path / "pwned")
    good = size(50, 500)
    result = run_bad_rows(
        database_url, tmp_path, good=good, bad=bad, rng=rng, good_rows=good_payloads(good, _uuid)
    )
    assert result.problems() == [], "\n".join(result.problems())
    assert not (tmp_path / "pwned").exists()
