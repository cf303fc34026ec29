"""A bridge worker meeting a row of the other dialect on a shared queue neither runs nor destroys
it by default: it leaves it for the workers that can run it (or, when asked, fails it intact)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from so_kit import KINDS, SoEnv, recording_app

from bridge.dialect import dialect_named
from bridge.dispatcher import Dispatcher
from bridge.laravel import JobClass, Prop
from bridge.worker import ForeignRowPolicy

pytestmark = [pytest.mark.php, pytest.mark.mysql]

LARAVEL_JOB = JobClass(name="App\\Jobs\\SendMail", properties=(Prop("to"),))


def _make_available(so_env: SoEnv) -> None:
    with so_env.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE jobs SET available_at = available_at - 3600")


def _laravel_row(so_env: SoEnv) -> str:
    Dispatcher(queue=so_env.queue, profile="12").dispatch(LARAVEL_JOB.new(to="a@b.c"))
    (row,) = so_env._rows()
    return row.payload


def test_a_laravel_worker_leaves_an_so_row_for_the_framework_worker(
    so_env: SoEnv, caplog: pytest.LogCaptureFixture
) -> None:
    (row_id,) = so_env.php_push([(KINDS.name, {"label": "mine"})])
    pushed = so_env._rows()[0]
    seen: list[dict[str, Any]] = []
    with caplog.at_level(logging.WARNING, logger="bridge"):
        so_env.work(
            recording_app(seen),
            dialect=dialect_named("laravel-12"),
        )
    assert seen == []
    assert so_env.failed_rows() == []
    (left,) = so_env._rows()
    assert (left.id, left.payload, left.attempts, left.reserved_at) == (
        row_id,
        pushed.payload,
        0,
        None,
    )
    assert left.available_at > time.time()
    assert f"is a {so_env.format} job, not laravel-12" in caplog.text
    _make_available(so_env)
    so_env.php_work()
    (handled,) = so_env.handled()
    assert handled["props"]["label"] == "mine"
    assert so_env._rows() == []


def test_left_rows_wait_the_delay_so_rows_behind_them_run(so_env: SoEnv) -> None:
    so_env.php_push([(KINDS.name, {"label": "first"})])
    before = int(time.time())
    so_env.work(recording_app([]), dialect=dialect_named("laravel"), unknown_job_delay_seconds=60)
    (left,) = so_env._rows()
    assert left.available_at >= before + 60
    assert left.attempts == 0


def test_an_so_worker_leaves_a_laravel_row(so_env: SoEnv) -> None:
    payload = _laravel_row(so_env)
    seen: list[dict[str, Any]] = []
    so_env.work(recording_app(seen))
    (left,) = so_env._rows()
    assert (left.payload, left.attempts, left.reserved_at) == (payload, 0, None)
    assert seen == [] and so_env.failed_rows() == []


@pytest.mark.parametrize("side", ["laravel worker, so row", "so worker, laravel row"])
def test_fail_policy_moves_the_row_intact(so_env: SoEnv, side: str) -> None:
    if side.startswith("laravel"):
        so_env.php_push([(KINDS.name, {"label": "x"})])
        payload = so_env._rows()[0].payload
        dialect, foreign = dialect_named("laravel"), so_env.format
    else:
        payload = _laravel_row(so_env)
        dialect, foreign = so_env.dialect, "laravel"
    so_env.work(recording_app([]), dialect=dialect, foreign_rows=ForeignRowPolicy.FAIL)
    assert so_env._rows() == []
    (failed,) = so_env.failed_rows()
    assert failed["payload"] == payload
    assert f"was written by the {foreign} dialect" in failed["exception"]
    assert failed["queue"] == "default"
