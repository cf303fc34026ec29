"""Laravel 13.26 / 12.67 dispatch, bridge's worker runs: handlers see what Laravel dispatched.

As `tests/integration/interop/test_php_to_python.py` does for Laravel 8: every value kind of the
harness is sent through the real Laravel (`dispatch()`, `Bus::chain`, `Bus::batch`,
`Queue::push`) under PHP 8.3, bridge's worker drains the queue with the fixture handlers, and each
handler's `fixture_job_log` row must equal the description PHP gave of the job it dispatched
(completed with the declared defaults these versions leave out of the payload).
"""

from __future__ import annotations

from typing import Any

from tests.integration.interop.interop_kit import (
    BridgeSide,
    log_by_uuid,
    make_all_available,
    mismatches,
    payload_uuid,
)
from tests.support.laravel import VALUE_KINDS
from tests.support.laravel_live import LiveLaravelEnv


def expected_values(line: dict[str, Any]) -> dict[str, Any]:
    """What PHP said it dispatched, in the log's `values` shape."""
    if line["kind"] == "string_job":
        return {"data": line["data"]}
    properties: dict[str, Any] = line["properties"]
    return properties


def completed_with_defaults(line: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    """What a handler saw, completed with the class's declared defaults as PHP completes it.

    From Laravel 9.4 on, `SerializesModels` leaves out of the command every property equal to
    its declared default; PHP's unserialize() puts the default back, bridge's handler sees
    the properties the payload holds. Only a declared default may fill a gap.
    """
    if line.get("kind") == "string_job":
        return seen
    defaults: dict[str, Any] = line["defaults"]
    merged = {**{name: value for name, value in defaults.items() if name not in seen}, **seen}
    # unserialize() builds the object from the class, so its properties keep declaration order.
    declared = [name for name in line["visibility"] if name in merged]
    return {name: merged[name] for name in [*declared, *merged] if name in merged}


def test_python_handlers_see_what_laravel_dispatched(
    live_env: LiveLaravelEnv, bridge_side: BridgeSide
) -> None:
    lines = [line for kind in VALUE_KINDS for line in live_env.dispatch(kind)]
    assert {line["laravel"] for line in lines} == {live_env.framework}
    make_all_available(live_env)

    bridge_side.work()

    logged = log_by_uuid(live_env.job_log())
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
            f"{line['kind']}: {text}"
            for text in mismatches(
                expected_values(line), completed_with_defaults(line, row["values"])
            )
        ]
    # The chain's second link was dispatched by bridge's worker after the first succeeded.
    [chain_line] = [line for line in lines if line["kind"] == "chain"]
    [next_link] = chain_line["chained"]
    chained_rows = [row for rows in logged.values() for row in rows]
    assert [row["job_class"] for row in chained_rows] == [next_link["class"]], problems
    problems += mismatches(
        next_link["properties"],
        completed_with_defaults(next_link, chained_rows[0]["values"]),
        what="chained",
    )
    assert problems == []
    assert live_env.jobs() == []
    assert live_env.failed_jobs() == []
    [batch] = live_env.batches()
    assert (batch["pending_jobs"], batch["failed_jobs"], batch["finished_at"] is not None) == (
        0,
        0,
        True,
    )
