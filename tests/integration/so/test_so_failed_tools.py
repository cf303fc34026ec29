"""bridge's failed-job commands on rows the SO framework's own worker wrote, and a retried
job running again in that worker (both versions, MariaDB)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from so_kit import FAILS, KINDS, SoEnv, recording_app

from bridge.cli import main

pytestmark = [pytest.mark.php, pytest.mark.mysql]


def bridge(so_env: SoEnv, *args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(
        main, ["--database", so_env.url, *args], input=input, env={"BRIDGE_DIALECT": None}
    )
    assert result.exit_code == 0, result.output
    return result


def _failed_by_the_framework(so_env: SoEnv, label: str) -> dict[str, Any]:
    so_env.php_push([(FAILS.name, {"label": label, "tries": 1})])
    so_env.php_work()
    (row,) = [r for r in so_env.failed_rows() if label in r["payload"]]
    return row


def test_listing_and_show_read_the_framework_rows(so_env: SoEnv) -> None:
    row = _failed_by_the_framework(so_env, "listed")
    listed = json.loads(bridge(so_env, "failed", "--json").output)
    assert [(r["id"], r["class"]) for r in listed] == [(row["id"], FAILS.name)]
    by_class = json.loads(bridge(so_env, "failed", "--json", "--class", FAILS.name).output)
    assert [r["id"] for r in by_class] == [row["id"]]
    other = json.loads(bridge(so_env, "failed", "--json", "--class", KINDS.name).output)
    assert other == []
    shown = bridge(so_env, "failed", "show", row["uuid"]).output
    assert f"Class:       {FAILS.name}" in shown
    assert f"Dialect:     {so_env.format} (SO framework)" in shown
    assert "Attempts:    1" in shown
    assert '"listed"' in shown
    details = json.loads(bridge(so_env, "failed", "show", str(row["id"]), "--json").output)
    assert details["class"] == FAILS.name
    assert details["problem"] is None


def test_a_retried_job_runs_again_in_the_framework_worker(so_env: SoEnv) -> None:
    # bridge's worker fails a Kinds job; retry-failed puts it back; the framework runs it.
    so_env.php_push([(KINDS.name, {"label": "again", "count": 3})])
    seen: list[dict[str, Any]] = []
    so_env.work(recording_app(seen, fail=[KINDS.name]), tries=1)
    (failed,) = so_env.failed_rows()
    bridge(so_env, "retry-failed", failed["uuid"], "--yes")
    (row,) = so_env._rows()
    assert row.payload == failed["payload"]
    assert (row.queue, row.attempts, row.reserved_at) == ("default", 0, None)
    so_env.php_work()
    (handled,) = so_env.handled()
    assert handled["props"]["label"] == "again" and handled["props"]["count"] == 3
    assert handled["attempts"] == 1
    assert so_env._rows() == [] and so_env.failed_rows() == []


def test_forget_flush_prune_export_import(so_env: SoEnv) -> None:
    first = _failed_by_the_framework(so_env, "one")
    second = _failed_by_the_framework(so_env, "two")
    output = bridge(so_env, "failed", "export").output
    exported = "".join(line + "\n" for line in output.splitlines() if line.startswith("{"))
    assert len(exported.splitlines()) == 2
    bridge(so_env, "forget", first["uuid"])
    assert [r["id"] for r in so_env.failed_rows()] == [second["id"]]
    bridge(so_env, "prune-failed", "--hours", "1")
    assert [r["id"] for r in so_env.failed_rows()] == [second["id"]]  # too recent to prune
    bridge(so_env, "flush", "--yes")
    assert so_env.failed_rows() == []
    bridge(so_env, "failed", "import", "-", input=exported)
    restored = {r["uuid"]: r for r in so_env.failed_rows()}
    assert set(restored) == {first["uuid"], second["uuid"]}
    for before in (first, second):
        after = restored[before["uuid"]]
        for column in ("uuid", "connection", "queue", "payload", "exception", "failed_at"):
            assert after[column] == before[column]
