"""PHP dispatches, bridge's worker runs: Python handlers see exactly what PHP dispatched.

Every value kind of the harness is sent through real Laravel (`dispatch()`, `Bus::chain`,
`Bus::batch`, `Queue::push`): Laravel 8 under PHP 8.2, and Laravel 13.26 / 12.67 under PHP 8.3
(see `php_side`). bridge's worker drains the queue with the fixture handlers of
`tests.support.handlers`, and each handler's `fixture_job_log` row (worker = 'python') must
equal, as canonical JSON, the description PHP gave of the same job when it dispatched it
(completed with the declared defaults a 9.4+ payload leaves out). Delayed rows are made
available by moving their `available_at` back, never by waiting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from interop_kit import (
    BridgeSide,
    log_by_uuid,
    make_all_available,
    mismatches,
    payload_uuid,
    python_run_problems,
)

from bridge.worker import Job
from tests.support.describe import describe_values
from tests.support.laravel import VALUE_KINDS, LaravelEnv


def completed_with_defaults(env: LaravelEnv, line: Mapping[str, Any], seen: Any) -> Any:
    """What a handler saw, completed with the class's declared defaults as PHP completes it.

    From Laravel 9.4 on, `SerializesModels` leaves out of the command every property equal to
    its declared default; PHP's unserialize() puts the default back, bridge's handler sees
    the properties the payload holds. Only a declared default may fill a gap, and only where
    the PHP side's payloads leave defaults out (Laravel 8's hold every property).
    """
    if env.version == "8" or line.get("kind") == "string_job":
        return seen
    defaults: dict[str, Any] = line["defaults"]
    merged = {**{name: value for name, value in defaults.items() if name not in seen}, **seen}
    # unserialize() builds the object from the class, so its properties keep declaration order.
    declared = [name for name in line["visibility"] if name in merged]
    return {name: merged[name] for name in [*declared, *merged] if name in merged}


def test_python_handlers_see_what_php_dispatched(
    php_env: LaravelEnv, php_bridge: BridgeSide
) -> None:
    lines = [line for kind in VALUE_KINDS for line in php_env.dispatch(kind)]
    assert {line["laravel"].partition(".")[0] for line in lines} == {php_env.version}
    if php_env.version != "8":
        assert {line["laravel"] for line in lines} == {php_env.framework}
    make_all_available(php_env)

    php_bridge.work()

    logged = log_by_uuid(php_env.job_log())
    problems = python_run_problems(
        lines, logged, seen=lambda line, values: completed_with_defaults(php_env, line, values)
    )
    # The chain's second link was dispatched by bridge's worker after the first succeeded.
    [chain_line] = [line for line in lines if line["kind"] == "chain"]
    [next_link] = chain_line["chained"]
    chained_rows = [row for rows in logged.values() for row in rows]
    assert [row["job_class"] for row in chained_rows] == [next_link["class"]], problems
    seen = completed_with_defaults(php_env, next_link, chained_rows[0]["values"])
    problems += mismatches(next_link["properties"], seen, what="chained")
    assert problems == []
    assert php_env.jobs() == []
    assert php_env.failed_jobs() == []
    [batch] = php_env.batches()
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
