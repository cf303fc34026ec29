"""Storage errors: one log line each, a growing pause, the stop options honoured, and a stop
with a clear status for errors that cannot go away. Finished rows never wait long to be
deleted."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from worker_kit import Env, fixture_payload

from bridge.exceptions import (
    ConnectionLost,
    QueueAccessError,
    QueueBusy,
    QueueError,
    SchemaError,
)
from bridge.worker import Job, StopReason, Worker

WELCOME = "App\\Jobs\\SendWelcomeEmail"
# A worker looping on a storage error forever (the old behaviour) fails the test instead.
MAX_PAUSES = 50


class Runaway(Exception):
    pass


def failing_reserve(env: Env, errors: list[QueueError]) -> None:
    """The queue's reservations raise `errors` in turn, then work again."""
    real = env.queue.reserve

    def reserve(*args: Any, **kwargs: Any) -> Any:
        if errors:
            raise errors.pop(0)
        return real(*args, **kwargs)

    env.queue.reserve = reserve  # type: ignore[method-assign]
    real_sleep = env.clock.sleep

    def sleep(seconds: float) -> None:
        if len(env.clock.slept) >= MAX_PAUSES:
            raise Runaway("the worker never stopped")
        real_sleep(seconds)

    env.clock.sleep = sleep  # type: ignore[method-assign]


def storage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("Storage error")]


def test_a_daemon_pauses_longer_each_time_and_carries_on(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []
    env.app.register(WELCOME, lambda job: ran.append(1))
    env.push(fixture_payload("plain_public"))
    failing_reserve(env, [ConnectionLost("server has gone away")] * 7)
    assert env.worker(stop_when_empty=False, max_jobs=1).run() is StopReason.MAX_JOBS
    assert ran == [1]
    assert env.clock.slept == [1, 2, 4, 8, 10, 10, 10]
    records = storage_records(caplog)
    # One line per error, no traceback.
    assert len(records) == 7
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    assert records[0].getMessage() == (
        "Storage error while reserving: server has gone away. Retrying in 1.0 s."
    )


def test_the_pause_starts_over_after_a_success(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    env.push(fixture_payload("plain_public"))
    errors: list[QueueError] = [QueueBusy("locked"), QueueBusy("locked")]
    failing_reserve(env, errors)
    env.worker(stop_when_empty=False, max_jobs=1).run()
    errors += [QueueBusy("locked")]
    env.push(fixture_payload("plain_public"))
    env.worker(stop_when_empty=False, max_jobs=1).run()
    assert env.clock.slept == [1, 2, 1]


@pytest.mark.parametrize("option", ["once", "stop_when_empty"])
def test_once_and_stop_when_empty_give_up_after_three_errors(
    env: Env, caplog: pytest.LogCaptureFixture, option: str
) -> None:
    failing_reserve(env, [ConnectionLost("connection refused")] * MAX_PAUSES)
    reason = env.worker(**{"stop_when_empty": False, option: True}).run()
    assert reason is StopReason.STORAGE_DOWN and reason.exit_code == 1
    assert env.clock.slept == [1, 2]
    assert len(storage_records(caplog)) == 3
    assert "Gave up after 3 tries in a row" in storage_records(caplog)[-1].getMessage()


@pytest.mark.parametrize(
    "error",
    [
        SchemaError("queue table or column missing: no such table: jobs"),
        QueueAccessError("queue database refused access: (1045, Access denied)"),
    ],
)
def test_errors_that_cannot_go_away_stop_the_worker_at_once(
    env: Env, caplog: pytest.LogCaptureFixture, error: QueueError
) -> None:
    failing_reserve(env, [error] * MAX_PAUSES)
    reason = env.worker(stop_when_empty=False).run()
    assert reason is StopReason.STORAGE_UNUSABLE and reason.exit_code == 78
    assert env.clock.slept == []
    [record] = storage_records(caplog)
    assert str(error) in record.getMessage() and "Retrying cannot help" in record.getMessage()


def test_max_time_is_honoured_during_an_outage(env: Env) -> None:
    failing_reserve(env, [ConnectionLost("down")] * MAX_PAUSES)
    reason = env.worker(stop_when_empty=False, max_time_seconds=5).run()
    assert reason is StopReason.MAX_TIME
    # No pause runs past max_time.
    assert env.clock.slept == [1, 2, 2]


def test_a_stop_signal_during_an_outage_stops_the_worker(env: Env) -> None:
    failing_reserve(env, [ConnectionLost("down")] * MAX_PAUSES)
    workers: list[Worker] = []
    real_sleep = env.clock.sleep

    def sleep(seconds: float) -> None:
        real_sleep(seconds)
        if len(env.clock.slept) == 2:
            workers[0].stop()

    env.clock.sleep = sleep  # type: ignore[method-assign]
    workers.append(env.worker(stop_when_empty=False))
    assert workers[0].run() is StopReason.SIGNAL
    assert len(env.clock.slept) == 2


def test_an_unexpected_error_while_reserving_is_handled_like_a_storage_error(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    real = env.queue.reserve
    calls = 0

    def reserve(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte")
        return real(*args, **kwargs)

    env.queue.reserve = reserve  # type: ignore[method-assign]
    assert env.worker().run() is StopReason.EMPTY
    assert env.clock.slept == [1]
    [record] = storage_records(caplog)
    assert "unexpected UnicodeDecodeError" in record.getMessage()


def test_bookkeeping_errors_count_toward_giving_up(env: Env) -> None:
    def boom(job: Job) -> None:
        raise RuntimeError("no")

    env.app.register(WELCOME, boom)
    for _ in range(5):
        env.push(fixture_payload("plain_public"))

    def release(*args: Any, **kwargs: Any) -> int:
        raise ConnectionLost("down")

    env.queue.release = release  # type: ignore[method-assign]
    # Each job's release fails: the third error in a row ends a stop_when_empty worker.
    assert env.worker(tries=3).run() is StopReason.STORAGE_DOWN
    assert env.clock.slept == [1, 2]


# --- finished rows --------------------------------------------------------------------------


@pytest.mark.parametrize("read_ahead", [True, False])
def test_finished_rows_are_deleted_within_a_tenth_of_a_second(env: Env, read_ahead: bool) -> None:
    job_seconds = 0.04
    finished_at: dict[int, float] = {}
    late: list[tuple[int, int]] = []

    def handler(job: Job) -> None:
        now = env.clock.now
        deleted = set(env.queue.deleted)
        # Every row finished 0.1 s or more ago is gone before the next job starts.
        late.extend(
            (job.id, done)
            for done, at in finished_at.items()
            if now - at >= 0.1 - 1e-9 and done not in deleted
        )
        env.clock.now += job_seconds
        finished_at[job.id] = env.clock.now

    env.app.register(WELCOME, handler)
    for _ in range(40):
        env.push(fixture_payload("plain_public"))
    deletes = 0
    real_delete_many = env.queue.delete_many

    def delete_many(jobs: Any) -> None:
        nonlocal deletes
        deletes += 1
        real_delete_many(jobs)

    env.queue.delete_many = delete_many  # type: ignore[method-assign]
    env.worker(prefetch=16, read_ahead=read_ahead).run()
    assert env.queue.rows() == [] and len(finished_at) == 40
    assert late == []
    # Still grouped: a DELETE for every few jobs, not one per job.
    assert 0 < deletes <= 40 // 3


def test_an_error_text_ending_in_a_period_reads_as_one_sentence(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # redis-py's texts end with a period ("... Connection refused."); the line adds its own.
    failing_reserve(env, [ConnectionLost("Error 111 connecting to 127.0.0.1:6390. Refused.")] * 3)
    env.worker(stop_when_empty=True).run()
    lines = [record.getMessage() for record in storage_records(caplog)]
    assert lines[0] == (
        "Storage error while reserving: Error 111 connecting to 127.0.0.1:6390. Refused."
        " Retrying in 1.0 s."
    )
    assert not any(".." in line for line in lines), lines
