"""A job whose model is gone: Laravel 13.26 / 12.67's worker and bridge's, live.

`Fixtures\\Jobs13\\ForgetsMissingUser` queues a `FixtureUser` and carries
`#[DeleteWhenMissingModels]`. The user is deleted after the dispatch. Laravel's worker then
deletes the job without running it and without a `failed_jobs` row: 13 because its payload
says `deleteWhenMissingModels: true`, 12 because its worker finds the attribute on the class.
bridge's worker reads the payload only (a Python handler that cannot find the model raises
`ModelNotFound`): it deletes 13's job as 13 does, and fails 12's job, whose payload does not
say it, with Laravel's `ModelNotFoundException` text, as a 13 worker fails a 12 payload.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bridge.exceptions import ModelNotFound
from bridge.laravel import Model
from bridge.worker import App, Job
from tests.integration.interop.interop_kit import BridgeSide
from tests.integration.parity.parity_kit import split_exception
from tests.support.laravel_live import LiveLaravelEnv

JOB = "Fixtures\\Jobs13\\ForgetsMissingUser"
USER = "Fixtures\\Models\\FixtureUser"
MISSING = (
    "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
    f"No query results for model [{USER}] 3",
)
#: What bridge's worker does with each version's payload once the model is gone.
BRIDGE_FAILS = {"13": False, "12": True}


def dispatch_then_forget_the_user(env: LiveLaravelEnv) -> dict[str, Any]:
    """Laravel dispatches the job (creating user 3), then the user is deleted."""
    [line] = env.dispatch("missing_model_attribute")
    with env.engine() as engine, engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM fixture_users WHERE id = 3"))
    return line


def app_looking_up_users(side: BridgeSide, looked_up: list[Any]) -> App:
    """A handler that loads its user as SerializesModels would, and says when it is gone."""
    app = App(name="missing-models")

    @app.handler(JOB)
    def forget(job: Job) -> None:
        user = job["user"]
        assert isinstance(user, Model)
        looked_up.append(user.key)
        with side.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT id FROM fixture_users WHERE id = :id"), {"id": user.key}
            ).first()
        if found is None:
            raise ModelNotFound(user.class_name, [user.key])
        side.log.record(job, JOB, {})

    return app


def test_laravel_deletes_the_job_unrun(live_env: LiveLaravelEnv, laravel_version: str) -> None:
    line = dispatch_then_forget_the_user(live_env)
    assert ('"deleteWhenMissingModels":true' in line["payload"]) == (laravel_version == "13")

    done = live_env.work(tries=3)

    assert "Failed:" not in done.stdout, done.stdout
    assert (live_env.jobs(), live_env.failed_jobs(), live_env.job_log()) == ([], [], [])


def test_bridge_follows_the_payload(
    live_env: LiveLaravelEnv, bridge_side: BridgeSide, laravel_version: str
) -> None:
    line = dispatch_then_forget_the_user(live_env)
    looked_up: list[Any] = []

    bridge_side.work(app=app_looking_up_users(bridge_side, looked_up), tries=3)

    assert looked_up == [3]  # one attempt: a missing model is never retried
    assert (live_env.jobs(), live_env.job_log()) == ([], [])
    failed = [
        (*split_exception(row["exception"])[:2], row["uuid"]) for row in live_env.failed_jobs()
    ]
    uuid = line["payload"].split('"uuid":"', 1)[1].split('"', 1)[0]
    assert failed == ([(*MISSING, uuid)] if BRIDGE_FAILS[laravel_version] else [])
