"""Failing jobs under Laravel 13.26 / 12.67's worker and bridge's: the same rows, run by run.

The parity scenarios of `tests/integration/parity` (Laravel 8) that need no pcntl, run against
Laravel 13.26 and 12.67's own `Illuminate\\Queue\\Worker` under PHP 8.3: one payload that the
real Laravel dispatched goes through its worker and through bridge's (with 10.10+'s wording),
one job per run, and the `jobs` / `failed_jobs` rows and the attempts run must be equal after
every run. `failed_jobs` is written by a `JobFailed` listener, as `queue:work` writes it.
Timeouts (`timeout`, `failOnTimeout`) and SIGTERM need pcntl, which this PHP lacks: Laravel 8
on native PHP proves those (`tests/integration/parity`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bridge.retry import MessageStyle
from tests.integration.parity.parity_kit import (
    BridgeSide,
    Run,
    Step,
    Tables,
    WorkerSettings,
    dispatched_payload,
    fail_index,
    laravel_once,
    with_payload_keys,
)
from tests.support.laravel_live import LiveLaravelEnv


@dataclass(frozen=True)
class Scenario:
    """One job's options, the worker's options, and what Laravel is expected to do."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    max_runs: int = 6
    fails_after: int | None = None
    ran: tuple[int, ...] = ()
    exception_class: str | None = None
    #: The row starts as a crashed attempt left it: attempted once, reservation expired.
    crashed: bool = False


SCENARIOS = {
    "fails_on_first_exception": Scenario(
        kind="always_fails", fails_after=1, ran=(1,), exception_class="RuntimeException"
    ),
    "payload_tries_over_worker_tries": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 5, "tries": 3},
        fails_after=3,
        ran=(1, 2, 3),
        exception_class="RuntimeException",
    ),
    "success_on_a_later_attempt": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 1},
        settings=WorkerSettings(tries=2),
        ran=(1, 2),
    ),
    "max_exceptions": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 9, "tries": 10},
        keys={"maxExceptions": 2},
        fails_after=2,
        ran=(1, 2),
        exception_class="RuntimeException",
    ),
    "manual_fail": Scenario(
        kind="fails_manually",
        args={"reason": "no stock / «sold out»"},
        settings=WorkerSettings(tries=3),
        fails_after=1,
        ran=(1,),
        exception_class="Illuminate\\Queue\\ManuallyFailedException",
    ),
    "attempts_exceeded_after_a_crash": Scenario(
        kind="always_fails",
        crashed=True,
        fails_after=1,
        ran=(),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
    ),
}


def _start(run: Run, scenario: Scenario) -> None:
    if scenario.crashed:
        expired = int(time.time()) - run.tables.env.retry_after - 1
        run.reset(attempts=1, reserved_at=expired)
    else:
        run.reset()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_rows_as_laravel(live_env: LiveLaravelEnv, name: str) -> None:
    scenario = SCENARIOS[name]
    payload = dispatched_payload(live_env, scenario.kind, scenario.args)
    if scenario.keys:
        payload = with_payload_keys(payload, **scenario.keys)
    settings = scenario.settings
    tables = Tables(live_env)
    try:
        laravel = Run(tables, payload, settings)
        _start(laravel, scenario)
        laravel.drive(laravel_once(live_env, settings), max_runs=scenario.max_runs)

        bridge = Run(tables, payload, settings)
        _start(bridge, scenario)
        side = BridgeSide(tables, settings, message_style=MessageStyle.MODERN, sqlite_wal=False)
        bridge.drive(side.once, max_runs=scenario.max_runs)
    finally:
        tables.dispose()

    # Laravel did what the scenario is about ...
    assert fail_index(laravel.steps) == scenario.fails_after
    assert laravel.steps[-1].ran == scenario.ran
    assert laravel.steps[-1].jobs == ()
    if scenario.fails_after is not None:
        [failed] = laravel.steps[-1].failed
        assert failed.exception_class == scenario.exception_class
        assert failed.payload_unchanged and failed.exception_has_trace
        assert (failed.connection, failed.queue, failed.failed_at_format) == (
            "database",
            "default",
            "Y-m-d H:i:s",
        )
        assert failed.uuid is not None and failed.uuid in payload
    # ... and bridge left the same rows after every run. Every backoff here is 0; Laravel
    # reads the clock twice for a released row (available_at, then created_at), so when a
    # second ticks in between its row says -1.
    assert set(released_delays(laravel.steps)) <= {0, -1}
    assert set(released_delays(bridge.steps)) <= {0}
    assert without_delays(bridge.steps) == without_delays(laravel.steps)


def released_delays(steps: list[Step]) -> list[int]:
    """`available_at - created_at` of every row left for a later attempt."""
    return [row.delay_seconds for step in steps for row in step.jobs if not row.reserved]


def without_delays(steps: list[Step]) -> list[Step]:
    """The steps with those delays blanked (compared on their own above)."""
    return [
        replace(step, jobs=tuple(replace(row, delay_seconds=0) for row in step.jobs))
        for step in steps
    ]
