"""Laravel 13's queue attributes, live: 13 honours them, 12 ignores them, bridge does as each.

`Fixtures\\Jobs13\\RetriedByAttribute` takes its options only from `#[Tries(3)]`,
`#[Backoff(0)]`, `#[Timeout(45)]` and `#[MaxExceptions(5)]`, and fails every attempt. Laravel
13.26 writes them into the payload, so its worker (run with `--tries=1`) tries the job three
times; Laravel 12.67 writes none of them, so its worker fails the job after one attempt. bridge,
given the declaration `bridge stubs` writes for the class (attributes included), builds the same
payload Laravel builds for the profile it is told, and its worker reads the same options from a
Laravel-dispatched payload.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.laravel import JobClass
from bridge.laravel.stubs import generate_stubs
from bridge.worker import App, Job
from tests.integration.interop.interop_kit import BridgeSide
from tests.integration.parity.parity_kit import split_exception
from tests.support.laravel import PHP_FIXTURES
from tests.support.laravel_live import LiveLaravelEnv

JOB = "Fixtures\\Jobs13\\RetriedByAttribute"
#: What each version's payload holds for the class's options, and the attempts that follow.
EXPECTED = {
    "13": ({"maxTries": 3, "maxExceptions": 5, "backoff": "0", "timeout": 45}, (1, 2, 3)),
    "12": ({"maxTries": None, "maxExceptions": None, "backoff": None, "timeout": None}, (1,)),
}


@pytest.fixture(scope="module")
def attributed(php_binary: str, laravel: Path) -> JobClass:
    """The class's declaration, as `bridge stubs php_fixtures/app/Jobs13` writes it."""
    source = generate_stubs(
        [PHP_FIXTURES / "app" / "Jobs13"], autoload=PHP_FIXTURES / "autoload.php", php=php_binary
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<bridge stubs php_fixtures/app/Jobs13>", "exec"), namespace)
    declaration: JobClass = namespace["DECLARATIONS"][JOB]
    return declaration


def options_of(payload: str) -> dict[str, Any]:
    """The payload's job options."""
    decoded = json.loads(payload)
    return {key: decoded[key] for key in ("maxTries", "maxExceptions", "backoff", "timeout")}


def attempts_and_failure(env: LiveLaravelEnv) -> tuple[tuple[int, ...], list[tuple[Any, ...]]]:
    """The attempts the handlers ran, and the failed_jobs rows (class, message, uuid)."""
    ran = tuple(row["attempts"] for row in env.job_log())
    failed = [(*split_exception(row["exception"])[:2], row["uuid"]) for row in env.failed_jobs()]
    return ran, failed


def failing_app(side: BridgeSide) -> App:
    """A Python handler that fails every attempt as the PHP class does."""
    app = App(name="attributes")

    @app.handler(JOB)
    def retried(job: Job) -> None:
        side.log.record(job, JOB, {"label": job["label"]})
        raise RuntimeError(f"{job['label']}: attempt {job.attempts} failed")

    return app


def test_laravel_worker_honours_what_its_version_writes(
    live_env: LiveLaravelEnv, laravel_version: str
) -> None:
    options, attempts = EXPECTED[laravel_version]
    [line] = live_env.dispatch("attribute_options")
    assert options_of(line["payload"]) == options

    done = live_env.work(tries=1)

    ran, failed = attempts_and_failure(live_env)
    assert ran == attempts, done.stdout
    message = f"configured by attributes: attempt {attempts[-1]} failed"
    assert failed == [("RuntimeException", message, json.loads(line["payload"])["uuid"])]
    assert live_env.jobs() == []


def test_bridge_writes_the_payload_laravel_writes(
    live_env: LiveLaravelEnv, bridge_side: BridgeSide, attributed: JobClass, laravel_version: str
) -> None:
    """bridge's payload for the profile equals Laravel's own, but for what is drawn at
    dispatch time (uuid, createdAt); Laravel's worker then runs it as it runs its own."""
    assert len(live_env.dispatch("attribute_options")) == 1
    ours = bridge_side.dispatcher(laravel_version).dispatch(
        attributed.new(label="configured by attributes")
    )
    [laravel_row, bridge_row] = bridge_side.queue.rows()
    theirs = json.loads(laravel_row.payload)
    mine = json.loads(bridge_row.payload)
    assert mine["uuid"] == str(ours.uuid)
    # Drawn at dispatch time: the uuid, and createdAt (12.x) in seconds.
    drawn = {key: None for key in ("uuid", "createdAt") if key in theirs}
    assert {**mine, **drawn} == {**theirs, **drawn}
    with bridge_side.engine.begin() as conn:  # Laravel's worker runs bridge's job alone
        conn.execute(
            sa.text(f"DELETE FROM {live_env.queue_table} WHERE id = :id"), {"id": laravel_row.id}
        )

    live_env.work(tries=1)

    ran, failed = attempts_and_failure(live_env)
    options, attempts = EXPECTED[laravel_version]
    assert (options_of(bridge_row.payload), ran) == (options, attempts)
    [(cls, _message, uuid)] = failed
    assert (cls, uuid) == ("RuntimeException", str(ours.uuid))


def test_bridge_worker_honours_the_laravel_payload(
    live_env: LiveLaravelEnv, bridge_side: BridgeSide, laravel_version: str
) -> None:
    [line] = live_env.dispatch("attribute_options")

    bridge_side.work(app=failing_app(bridge_side), tries=1)

    ran, failed = attempts_and_failure(live_env)
    _options, attempts = EXPECTED[laravel_version]
    assert ran == attempts
    message = f"configured by attributes: attempt {attempts[-1]} failed"
    assert failed == [("RuntimeException", message, json.loads(line["payload"])["uuid"])]
    assert live_env.jobs() == []
