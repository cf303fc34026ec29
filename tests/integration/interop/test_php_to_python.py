"""PHP dispatches, bridge's worker runs: Python handlers see exactly what PHP dispatched.

Every value kind of the harness is sent through real Laravel 8 (`dispatch()`, `Bus::chain`,
`Bus::batch`, `Queue::push`), bridge's worker drains the queue with the fixture handlers of
`tests.support.handlers`, and each handler's `fixture_job_log` row (worker = 'python') must
equal, as canonical JSON, the description PHP gave of the same job when it dispatched it.
Delayed rows are made available by moving their `available_at` back, never by waiting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from interop_kit import BridgeSide, log_by_uuid, make_all_available, mismatches, payload_uuid

from bridge.worker import Job
from tests.support.describe import describe_values
from tests.support.laravel import VALUE_KINDS, LaravelEnv


def expected_values(line: dict[str, Any]) -> dict[str, Any]:
    """What PHP said it dispatched, in the log's `values` shape."""
    if line["kind"] == "string_job":
        return {"data": line["data"]}
    properties: dict[str, Any] = line["properties"]
    return properties


def test_python_handlers_see_what_php_dispatched(
    laravel_env: LaravelEnv, bridge_side: BridgeSide
) -> None:
    lines = [line for kind in VALUE_KINDS for line in laravel_env.dispatch(kind)]
    make_all_available(laravel_env)

    bridge_side.work()

    logged = log_by_uuid(laravel_env.job_log())
    problems: list[str] = []
    for line in lines:
        rows = logged.pop(payload_uuid(line), [])
        if len(rows) != 1:
            problems.append(f"{line['kind']}: {len(rows)} log rows, expected 1")
            continue
        [row] = rows
        job_class = line["job"] if line["kind"] == "string_job" else line["class"]
        if (row["worker"], row["job_class"], row["attempts"]) != ("python", job_class, 1):
            problems.append(f"{line['kind']}: logged as {row['worker']} {row['job_class']}")
        problems += [
            f"{line['kind']}: {text}" for text in mismatches(expected_values(line), row["values"])
        ]
    # The chain's second link was dispatched by bridge's worker after the first succeeded.
    [chain_line] = [line for line in lines if line["kind"] == "chain"]
    [next_link] = chain_line["chained"]
    chained_rows = [row for rows in logged.values() for row in rows]
    assert [row["job_class"] for row in chained_rows] == [next_link["class"]], problems
    problems += mismatches(next_link["properties"], chained_rows[0]["values"], what="chained")
    assert problems == []
    assert laravel_env.jobs() == []
    assert laravel_env.failed_jobs() == []
    [batch] = laravel_env.batches()
    assert (batch["pending_jobs"], batch["failed_jobs"], batch["finished_at"] is not None) == (
        0,
        0,
        True,
    )


# --- the friendly view handlers read: job.values -------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [kind for kind in VALUE_KINDS if kind not in {"string_job", "batch", "chain"}],
)
def test_friendly_values_describe_like_php(sqlite_env: LaravelEnv, kind: str) -> None:
    [line] = sqlite_env.dispatch(kind)
    make_all_available(sqlite_env)
    seen: dict[str, Any] = {}

    def observe(job: Job) -> None:
        seen[str(job.uuid)] = describe_values(job.values)

    side = BridgeSide.open(sqlite_env)
    try:
        side.work(app=side.app(observe=observe))
    finally:
        side.close()

    assert mismatches(line["properties"], seen[payload_uuid(line)]) == []
    assert json.loads(json.dumps(seen)) == seen  # the view is plain JSON
