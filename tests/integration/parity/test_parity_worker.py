"""bridge's worker leaves the same `jobs` / `failed_jobs` rows as Laravel's, attempt by attempt.

Each scenario runs one Laravel-dispatched payload through Laravel's worker and through bridge's
`Worker` with the same options (and the wording of that Laravel's messages), one job per run,
and compares the state after every run (see `parity_kit`). The expectations written next to each
scenario (when it fails, which attempts ran, which backoffs were used, the failed row's fields)
are checked against Laravel's run first, so a scenario that stops exercising what it names fails
instead of comparing two empty runs. A scenario runs on Laravel 8 under native PHP and, where it
says so, on Laravel 13.26 / 12.67 under the WebAssembly PHP 8.3 (`php_side`), whose
`failed_jobs` row a `JobFailed` listener writes as `queue:work` writes it; that PHP has no pcntl,
so the timeout scenarios are Laravel 8's. The other tests here run on Laravel 8 alone.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from parity_kit import (
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

from tests.integration.resilience.resilience_worker import start_worker
from tests.support.laravel import LaravelEnv

#: The PHP sides a scenario runs on: Laravel 8 under native PHP, and 13 / 12 live. Timeouts
#: (`timeout`, `failOnTimeout`) need pcntl, which the WebAssembly PHP lacks.
EVERY_SIDE = ("8", "13", "12")
LIVE = ("13", "12")


@dataclass(frozen=True)
class Scenario:
    """One job's options, the worker's options, and what Laravel is expected to do."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    retry_until_offset: int | None = None
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    max_runs: int = 6
    fails_after: int | None = None
    ran: tuple[int, ...] = ()
    delays: tuple[int, ...] = ()
    exception_class: str | None = None
    #: The row starts as a crashed attempt left it: attempted once, reservation expired.
    crashed: bool = False
    sides: tuple[str, ...] = ("8",)


SCENARIOS = {
    "default_tries_fail_on_first_exception": Scenario(
        kind="always_fails",
        fails_after=1,
        ran=(1,),
        exception_class="RuntimeException",
        sides=EVERY_SIDE,
    ),
    "worker_tries": Scenario(
        kind="always_fails",
        settings=WorkerSettings(tries=2, queue="risky"),
        fails_after=2,
        ran=(1, 2),
        delays=(0,),
        exception_class="RuntimeException",
    ),
    "payload_tries_over_worker_tries": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 5, "tries": 3},
        settings=WorkerSettings(tries=1),
        fails_after=3,
        ran=(1, 2, 3),
        delays=(0, 0),
        exception_class="RuntimeException",
        sides=EVERY_SIDE,
    ),
    "success_on_a_later_attempt": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 2},
        settings=WorkerSettings(tries=3),
        ran=(1, 2, 3),
        delays=(0, 0),
        sides=EVERY_SIDE,
    ),
    "unlimited_tries_with_retry_until": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 3},
        retry_until_offset=3600,
        settings=WorkerSettings(tries=0),
        ran=(1, 2, 3, 4),
        delays=(0, 0, 0),
    ),
    "retry_until_overrides_tries": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 3},
        retry_until_offset=3600,
        settings=WorkerSettings(tries=1),
        ran=(1, 2, 3, 4),
        delays=(0, 0, 0),
    ),
    "retry_until_passed_fails_before_running": Scenario(
        kind="always_fails",
        retry_until_offset=-10,
        settings=WorkerSettings(tries=5),
        fails_after=1,
        ran=(),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
    ),
    "payload_backoff_list_last_repeats": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 9, "tries": 5, "backoff": [1, 2, 3]},
        settings=WorkerSettings(backoff="9"),
        fails_after=5,
        ran=(1, 2, 3, 4, 5),
        delays=(1, 2, 3, 3),
        exception_class="RuntimeException",
    ),
    "worker_backoff_list": Scenario(
        kind="always_fails",
        settings=WorkerSettings(tries=4, backoff="2,4"),
        fails_after=4,
        ran=(1, 2, 3, 4),
        delays=(2, 4, 4),
        exception_class="RuntimeException",
    ),
    "max_exceptions": Scenario(
        kind="fails_then_succeeds",
        args={"failures": 9, "tries": 10},
        keys={"maxExceptions": 2},
        fails_after=2,
        ran=(1, 2),
        delays=(0,),
        exception_class="RuntimeException",
        sides=EVERY_SIDE,
    ),
    "max_exceptions_ignores_manual_releases": Scenario(
        kind="releases",
        args={"releaseDelay": 3, "times": 3, "tries": 10},
        keys={"maxExceptions": 1},
        ran=(1, 2, 3, 4),
        delays=(3, 3, 3),
    ),
    # Laravel 8 stores a manual fail's bare reason: see test_manual_fail_reason.
    "manual_fail": Scenario(
        kind="fails_manually",
        args={"reason": "no stock / «sold out»"},
        settings=WorkerSettings(tries=3),
        fails_after=1,
        ran=(1,),
        exception_class="Illuminate\\Queue\\ManuallyFailedException",
        sides=LIVE,
    ),
    # On Laravel 8 a real crash: see test_max_attempts_after_a_crashed_attempt.
    "attempts_exceeded_after_a_crash": Scenario(
        kind="always_fails",
        crashed=True,
        fails_after=1,
        ran=(),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
        sides=LIVE,
    ),
    "timeout_with_fail_on_timeout": Scenario(
        kind="sleeps_past_timeout",
        args={"seconds": 4, "timeout": 1, "failOnTimeout": True, "tries": 3},
        fails_after=1,
        ran=(1,),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
    ),
    "timeout_without_fail_on_timeout_waits_for_retry_after": Scenario(
        kind="sleeps_past_timeout",
        args={"seconds": 4, "timeout": 1, "failOnTimeout": False, "tries": 2},
        fails_after=2,
        ran=(1, 2),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
    ),
    "worker_timeout_option": Scenario(
        kind="sleeps_past_timeout",
        args={"seconds": 4, "tries": 1},
        keys={"timeout": None},
        settings=WorkerSettings(timeout=1),
        fails_after=1,
        ran=(1,),
        exception_class="Illuminate\\Queue\\MaxAttemptsExceededException",
    ),
}


def runs_on(params: dict[str, Any]) -> bool:
    """Whether a `test_same_rows_as_laravel` case is one its scenario runs on (the conftest
    deselects the others)."""
    version, _database = params["php_session"]
    return version in SCENARIOS[params["name"]].sides


def _released_delays(steps: list[Step]) -> tuple[int, ...]:
    return tuple(row.delay_seconds for step in steps for row in step.jobs if not row.reserved)


def _delays_match(measured: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    # Laravel reads the clock twice for a released row (available_at, then created_at): when
    # a second ticks in between, available_at - created_at comes out one second short.
    return len(measured) == len(expected) and all(
        m in (e, e - 1) for m, e in zip(measured, expected, strict=True)
    )


def _without_delays(steps: list[Step]) -> list[Step]:
    return [
        replace(step, jobs=tuple(replace(row, delay_seconds=0) for row in step.jobs))
        for step in steps
    ]


def _payload(env: LaravelEnv, scenario: Scenario) -> str:
    payload = dispatched_payload(env, scenario.kind, scenario.args)
    keys = dict(scenario.keys)
    if scenario.retry_until_offset is not None:
        keys["retryUntil"] = int(time.time()) + scenario.retry_until_offset
    return with_payload_keys(payload, **keys) if keys else payload


def _start(run: Run, scenario: Scenario) -> Run:
    if scenario.crashed:
        expired = int(time.time()) - run.tables.env.retry_after - 1
        run.reset(attempts=1, reserved_at=expired)
    else:
        run.reset()
    return run


@pytest.mark.php
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_rows_as_laravel(php_env: LaravelEnv, php_tables: Tables, name: str) -> None:
    scenario = SCENARIOS[name]
    payload = _payload(php_env, scenario)
    settings = scenario.settings

    laravel = _start(Run(php_tables, payload, settings), scenario)
    laravel.drive(laravel_once(php_env, settings), max_runs=scenario.max_runs)

    bridge = _start(Run(php_tables, payload, settings), scenario)
    bridge.drive(BridgeSide(php_tables, settings).once, max_runs=scenario.max_runs)

    # Laravel did what the scenario is about ...
    assert fail_index(laravel.steps) == scenario.fails_after
    assert laravel.steps[-1].ran == scenario.ran
    assert _delays_match(_released_delays(laravel.steps), scenario.delays)
    assert laravel.steps[-1].jobs == ()
    if scenario.fails_after is not None:
        [failed] = laravel.steps[-1].failed
        assert failed.exception_class == scenario.exception_class
        assert failed.payload_unchanged and failed.exception_has_trace
        assert (failed.connection, failed.queue, failed.failed_at_format) == (
            "database",
            settings.queue,
            "Y-m-d H:i:s",
        )
        assert failed.uuid is not None and failed.uuid in payload
    # ... and bridge left the same rows after every run (its own delays exact).
    assert _released_delays(bridge.steps) == scenario.delays
    assert _without_delays(bridge.steps) == _without_delays(laravel.steps)


@pytest.mark.php
def test_failed_row_fields(parity_env: LaravelEnv, tables: Tables) -> None:
    """The failed_jobs row both workers write, field by field, for a job failing at once."""
    payload = _payload(parity_env, SCENARIOS["worker_tries"])
    settings = WorkerSettings(queue="risky", tries=1)
    rows = []
    for work in (laravel_once(parity_env, settings), BridgeSide(tables, settings).once):
        run = Run(tables, payload, settings)
        run.reset()
        [step] = run.drive(work, max_runs=1)
        rows.append(step.failed)
    laravel_rows, bridge_rows = rows
    [failed] = laravel_rows
    assert failed.uuid is not None and failed.uuid in payload
    assert (failed.connection, failed.queue) == ("database", "risky")
    assert failed.payload_unchanged and failed.exception_has_trace and failed.failed_at_in_run
    assert failed.exception_message == 'Broke "quoted" / slash – ünïcödé ✓'
    assert failed.failed_at_format == "Y-m-d H:i:s"
    assert bridge_rows == laravel_rows


@pytest.mark.php
def test_manual_fail_reason(parity_env: LaravelEnv, tables: Tables) -> None:
    """`fail('reason')`: Laravel 8 stores the bare string; bridge writes 9.48+'s exception.

    Everything else about the row matches. The exception text is the one known difference:
    bridge always wraps the reason in `ManuallyFailedException`, as Laravel 9.48+ does.
    """
    reason = "no stock / «sold out»"
    payload = dispatched_payload(parity_env, "fails_manually", {"reason": reason})
    settings = WorkerSettings(tries=3)
    runs = []
    for work in (laravel_once(parity_env, settings), BridgeSide(tables, settings).once):
        run = Run(tables, payload, settings)
        run.reset()
        run.drive(work, max_runs=2)
        runs.append(run.steps)
    laravel_steps, bridge_steps = runs
    assert len(laravel_steps) == len(bridge_steps) == 1
    [laravel_failed] = laravel_steps[0].failed
    [bridge_failed] = bridge_steps[0].failed
    assert (laravel_failed.exception_class, laravel_failed.exception_message) == (None, reason)
    assert not laravel_failed.exception_has_trace
    assert bridge_failed.exception_class == "Illuminate\\Queue\\ManuallyFailedException"
    assert bridge_failed.exception_message == reason
    same = {"exception_class": None, "exception_message": "", "exception_has_trace": False}
    assert _without(bridge_failed, same) == _without(laravel_failed, same)
    assert bridge_steps[0].ran == laravel_steps[0].ran == (1,)
    assert bridge_steps[0].jobs == laravel_steps[0].jobs == ()


def _without(row: Any, blanks: dict[str, Any]) -> Any:
    from dataclasses import replace

    return replace(row, **blanks)


def _crash_mid_job(worker: subprocess.Popen[Any], tables: Tables) -> None:
    """Wait until the worker's job has logged its start, then SIGKILL the worker."""
    deadline = time.monotonic() + 30
    try:
        while True:
            with tables.engine.connect() as conn:
                if conn.execute(sa.select(sa.func.count()).select_from(tables.log)).scalar():
                    break
            assert worker.poll() is None, "the worker ended before its job started"
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)


@pytest.mark.php
def test_max_attempts_after_a_crashed_attempt(
    parity_env: LaravelEnv, tables: Tables, tmp_path: Path
) -> None:
    """The worker died mid-job (SIGKILL): with tries=1 the next pop fails it before running."""
    payload = dispatched_payload(
        parity_env, "sleeps_past_timeout", {"seconds": 30, "timeout": 60, "tries": 1}
    )
    settings = WorkerSettings(tries=1)

    laravel = Run(tables, payload, settings)
    laravel.reset()
    _crash_mid_job(parity_env.start_worker(tries=1, timeout=60), tables)
    laravel.snapshot()
    laravel.step_time()
    laravel.drive(laravel_once(parity_env, settings), max_runs=1)

    bridge = Run(tables, payload, settings)
    bridge.reset()
    victim = start_worker(
        parity_env.database_url,
        tmp_path / "record",
        retry_after=parity_env.retry_after,
        tries=1,
        log=tmp_path / "worker.log",
    )
    _crash_mid_job(victim, tables)
    bridge.snapshot()
    bridge.step_time()
    bridge.drive(BridgeSide(tables, settings).once, max_runs=1)

    crashed, failed = laravel.steps
    assert [(r.attempts, r.reserved) for r in crashed.jobs] == [(1, True)]
    assert failed.jobs == () and failed.ran == (1,)
    [row] = failed.failed
    assert row.exception_class == "Illuminate\\Queue\\MaxAttemptsExceededException"
    assert bridge.steps == laravel.steps
