"""Every policy path of one job: success, release, fail, timeouts, manual control, bad jobs."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from worker_kit import APP_KEY, Env, fixture_payload

from bridge.exceptions import ConnectionLost, QueueError
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.php import PhpObject
from bridge.queue.base import NewJob, ReservedJob
from bridge.worker import Job, StopReason, UnknownJobPolicy

WELCOME = "App\\Jobs\\SendWelcomeEmail"
IMPORT = "App\\Jobs\\ImportCsv"


def boom(job: Job) -> None:
    raise RuntimeError("boom")


def test_success_runs_handler_and_deletes_row(env: Env) -> None:
    seen: list[Any] = []

    @env.app.handler(WELCOME)
    def welcome(job: Job) -> None:
        seen.append((job["userId"], job.command["email"] if job.command else None, job.attempts))

    payload = fixture_payload("plain_public")
    row = env.push(payload)
    assert env.worker().run() is StopReason.EMPTY
    assert seen == [(42, "ada@example.com", 1)]
    assert env.queue.rows() == []
    assert env.queue.deleted == [row]
    assert env.failed_rows() == []


def test_job_exposes_identity(env: Env) -> None:
    seen: list[Job] = []
    env.app.register(WELCOME, seen.append)
    payload = fixture_payload("plain_public")
    env.push(payload)
    env.worker().run()
    job = seen[0]
    assert job.uuid == json.loads(payload)["uuid"]
    assert (job.queue, job.connection, job.name, job.batch_id) == (
        "default",
        "database",
        WELCOME,
        None,
    )
    assert job.payload.command_name == WELCOME
    assert job.values["subject"] == "Welcome aboard, Ada!"


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"batchId": "b-1"}, "b-1"),
        ({"n": 1, "\0*\0batchId": "b-2"}, "b-2"),
        ({"n": 1, "\0App\\Jobs\\Base\0batchId": "b-3"}, "b-3"),
        ({"\0App\\Jobs\\Child\0batchId": "b-4"}, "b-4"),
        ({"n": 1, "chained": [], "xbatchId": "no", "\0*\0other": 2}, None),
        ({0: "a", b"k": "b"}, None),
        ({0: "a", "\0*\0batchId": "b-5"}, "b-5"),
        ({"batchId": ""}, None),
        ({}, None),
    ],
)
def test_batch_id_is_the_commands_batch_id_property_in_any_visibility(
    properties: dict[Any, Any], expected: str | None
) -> None:
    command = PhpObject("App\\Jobs\\Child", properties)
    job = Job(
        reserved=ReservedJob(
            id=1, queue="q", payload="{}", attempts=1, reserved_at=0, available_at=0, created_at=0
        ),
        payload=JobPayload.from_json(fixture_payload("plain_public")),
        command=command,
        connection="database",
    )
    assert job.batch_id == expected
    assert job.batch_id == (command.get("batchId") or None)


def test_exception_releases_with_backoff_per_attempt_then_fails(env: Env) -> None:
    env.app.register(IMPORT, boom)
    # Recorded with maxTries 4, backoff "5,30,120", maxExceptions 2 and a retryUntil, which
    # would override maxTries: drop the last two to see the attempts rule alone.
    payload = fixture_payload("job_options", maxExceptions=None, retryUntil=None)
    env.push(payload)
    delays = []
    for _ in range(3):
        env.worker(once=True).run()
        delays.append(env.queue.released[-1].delay_seconds)
        env.clock.now += 200
    assert delays == [5, 30, 120]
    env.worker(once=True).run()
    assert env.queue.rows() == []
    [failed] = env.failed_rows()
    assert failed.payload == payload
    assert failed.exception.startswith("RuntimeError: boom in ")


def test_default_tries_fail_on_first_exception(env: Env) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public"))
    env.worker().run()
    assert env.queue.released == []
    assert len(env.failed_rows()) == 1


def test_payload_max_tries_beats_worker_tries(env: Env) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public", maxTries=2))
    env.worker(tries=5, once=True).run()
    env.worker(tries=5, once=True).run()
    assert len(env.queue.released) == 1
    assert len(env.failed_rows()) == 1


def test_tries_zero_is_unlimited(env: Env) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public"))
    for _ in range(20):
        env.worker(tries=0, once=True).run()
    assert len(env.queue.released) == 20
    assert env.queue.rows()[0].attempts == 20
    assert env.failed_rows() == []


def test_worker_backoff_list(env: Env) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public"))
    for _ in range(3):
        env.worker(tries=0, backoff="1,7", once=True).run()
        env.clock.now += 10
    assert [r.delay_seconds for r in env.queue.released] == [1, 7, 7]


def test_recorded_options_retry_until_and_max_exceptions(env: Env) -> None:
    env.app.register(IMPORT, boom)
    env.push(fixture_payload("job_options"))
    worker = env.worker(once=True)
    worker.run()
    env.clock.now += 10
    worker.run()
    # retryUntil (in the future) overrides maxTries; maxExceptions 2 fails the second time.
    assert len(env.queue.released) == 1
    assert env.failed_rows()[0].exception.startswith("RuntimeError: boom in ")


def test_max_exceptions(env: Env) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public", maxTries=10, maxExceptions=2))
    worker = env.worker(once=True)
    worker.run()
    assert len(env.queue.released) == 1
    # The count lives in the worker's counter, as Laravel's lives in its cache.
    worker.run()
    assert len(env.failed_rows()) == 1


@pytest.mark.parametrize(("offset", "failed"), [(60, False), (-1, True)])
def test_retry_until(env: Env, offset: int, failed: bool) -> None:
    env.app.register(WELCOME, boom)
    until = int(env.clock()) + offset
    env.push(fixture_payload("plain_public", retryUntil=until, maxTries=1))
    env.worker(once=True).run()
    rows = env.failed_rows()
    assert bool(rows) is failed
    if failed:
        # retryUntil already passed: failed before running, with Laravel's message.
        assert rows[0].exception.startswith(
            f"Illuminate\\Queue\\MaxAttemptsExceededException: {WELCOME} has been attempted "
            "too many times. in "
        )
    else:
        assert len(env.queue.released) == 1


def test_max_attempts_exceeded_before_run(env: Env) -> None:
    ran: list[Job] = []
    env.app.register(WELCOME, ran.append)
    # A previous attempt was killed (crash or timeout): attempts is already 1.
    payload = fixture_payload("plain_public")
    env.queue.bulk(
        [NewJob(payload=payload, queue="default", available_at=0, created_at=0, attempts=1)]
    )
    env.worker().run()
    assert ran == []
    [failed] = env.failed_rows()
    assert failed.exception.startswith(
        f"Illuminate\\Queue\\MaxAttemptsExceededException: {WELCOME} has been attempted too "
        "many times. in "
    )


def test_legacy_message_style(env: Env) -> None:
    from bridge.retry import MessageStyle

    env.app.register(WELCOME, lambda job: None)
    env.queue.bulk(
        [
            NewJob(
                payload=fixture_payload("plain_public", "8.83.26"),
                queue="default",
                available_at=0,
                created_at=0,
                attempts=3,
            )
        ]
    )
    env.worker(message_style=MessageStyle.LEGACY).run()
    assert env.failed_rows()[0].exception.startswith(
        f"Illuminate\\Queue\\MaxAttemptsExceededException: {WELCOME} has been attempted too many "
        "times or run too long. The job may have previously timed out. in "
    )


def sleepy(job: Job) -> None:
    try:
        time.sleep(5)
    except Exception:  # the interrupt is a BaseException: this must not catch it
        pass


def test_timeout_with_attempts_left_leaves_row_reserved(env: Env) -> None:
    env.app.register(WELCOME, sleepy)
    env.push(fixture_payload("plain_public", maxTries=3))
    started = time.monotonic()
    env.worker(timeout_seconds=0.2).run()
    assert time.monotonic() - started < 2
    [row] = env.queue.rows()
    assert row.reserved_at is not None and row.attempts == 1
    assert env.failed_rows() == []


@pytest.mark.parametrize("keys", [{"maxTries": 3, "failOnTimeout": True}, {}])
def test_timeout_that_must_fail(env: Env, keys: dict[str, Any]) -> None:
    env.app.register(WELCOME, sleepy)
    env.push(fixture_payload("plain_public", **keys))
    env.worker(timeout_seconds=0.2).run()
    assert env.queue.rows() == []
    assert env.failed_rows()[0].exception.startswith(
        f"Illuminate\\Queue\\TimeoutExceededException: {WELCOME} has timed out. in "
    )


def test_payload_timeout_beats_worker_timeout(env: Env) -> None:
    done: list[int] = []

    def slow(job: Job) -> None:
        time.sleep(0.3)
        done.append(1)

    env.app.register(WELCOME, slow)
    env.push(fixture_payload("plain_public", timeout=5))
    env.worker(timeout_seconds=0.1).run()
    assert done == [1]


def test_hard_timeout_settles_the_job_and_ends_the_process(env: Env) -> None:
    def stubborn(job: Job) -> None:
        try:
            time.sleep(5)
        except BaseException:  # swallows even the interrupt; the watchdog must act
            # ...and carries on until it has (a fixed sleep lost that race on a loaded
            # machine); the bound only keeps a broken watchdog from hanging the test.
            deadline = time.monotonic() + 60
            while not env.exits and time.monotonic() < deadline:
                time.sleep(0.01)

    env.app.register(WELCOME, stubborn)
    env.push(fixture_payload("plain_public"))
    env.worker(timeout_seconds=0.1, timeout_grace_seconds=0.2).run()
    assert env.exits == [1]
    assert env.queue.rows() == []
    assert "TimeoutExceededException" in env.failed_rows()[0].exception


def test_swallowed_interrupt_still_counts_as_timeout(env: Env) -> None:
    def swallow(job: Job) -> None:
        try:
            time.sleep(5)
        except BaseException:
            return

    env.app.register(WELCOME, swallow)
    env.push(fixture_payload("plain_public"))
    env.worker(timeout_seconds=0.1).run()
    assert "TimeoutExceededException" in env.failed_rows()[0].exception


def test_manual_release(env: Env) -> None:
    env.app.register(WELCOME, lambda job: job.release(30))
    env.push(fixture_payload("plain_public"))
    env.worker(once=True).run()
    [release] = env.queue.released
    assert release.delay_seconds == 30
    [row] = env.queue.rows()
    assert (row.attempts, row.available_at) == (1, int(env.clock()) + 30)


@pytest.mark.parametrize(
    ("reason", "first_line"),
    [
        (None, "Illuminate\\Queue\\ManuallyFailedException in "),
        ("no such user", "Illuminate\\Queue\\ManuallyFailedException: no such user in "),
        (ValueError("bad input"), "ValueError: bad input in "),
    ],
)
def test_manual_fail(env: Env, reason: Any, first_line: str) -> None:
    hooked: list[BaseException] = []
    env.app.register(WELCOME, lambda job: job.fail(reason), failed=lambda job, e: hooked.append(e))
    env.push(fixture_payload("plain_public", maxTries=5))
    env.worker().run()
    assert env.queue.rows() == [] and env.queue.released == []
    assert env.failed_rows()[0].exception.startswith(first_line)
    assert len(hooked) == 1


def test_manual_delete(env: Env) -> None:
    env.app.register(WELCOME, lambda job: job.delete())
    env.push(fixture_payload("plain_public"))
    env.worker().run()
    assert env.queue.rows() == [] and env.failed_rows() == []


def test_failed_hook_gets_job_and_exception(env: Env) -> None:
    calls: list[tuple[int, str]] = []
    env.app.register(WELCOME, boom, failed=lambda job, exc: calls.append((job["userId"], str(exc))))
    env.push(fixture_payload("plain_public"))
    env.worker().run()
    assert calls == [(42, "boom")]


def test_failing_failed_hook_does_not_stop_bookkeeping(env: Env) -> None:
    env.app.register(WELCOME, boom, failed=lambda job, exc: 1 / 0)
    env.push(fixture_payload("plain_public"))
    env.worker().run()
    assert len(env.failed_rows()) == 1


def test_unknown_class_fails_by_default(env: Env) -> None:
    payload = fixture_payload("plain_public")
    env.push(payload)
    env.worker().run()
    [failed] = env.failed_rows()
    assert failed.payload == payload
    assert failed.exception.startswith(
        f"bridge.exceptions.HandlerNotFound: No Python handler is registered for {WELCOME}. in "
    )


def test_unknown_class_release_policy_costs_no_attempt(env: Env) -> None:
    payload = fixture_payload("plain_public")
    row_id = env.push(payload)
    env.worker(unknown_job=UnknownJobPolicy.RELEASE, unknown_job_delay_seconds=15).run()
    [row] = env.queue.rows()
    # Handed back in its own row: same id, the attempt given back, available after the delay.
    assert (row.id, row.attempts, row.reserved_at, row.payload) == (row_id, 0, None, payload)
    assert row.available_at == int(env.clock()) + 15
    assert env.failed_rows() == []


def test_handing_an_unknown_job_back_leaves_no_window_for_a_second_row(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between two storage steps of the hand-back (here: the second step failing)
    must not leave the job twice on the queue: the hand-back is one atomic step."""
    payload = fixture_payload("plain_public")
    row_id = env.push(payload)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise QueueError("the process died here")

    monkeypatch.setattr(env.queue, "delete", crash)
    monkeypatch.setattr(env.queue, "delete_many", crash)
    env.worker(unknown_job=UnknownJobPolicy.RELEASE, unknown_job_delay_seconds=15).run()
    [row] = env.queue.rows()
    assert (row.id, row.attempts, row.reserved_at) == (row_id, 0, None)
    assert env.failed_rows() == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # The JSON error is the cause: PHP writes it first, the outer error after "Next ".
        ("{not json", "\n\nNext bridge.exceptions.PayloadDecodeError: payload is not valid JSON"),
        (
            fixture_payload(
                "plain_public",
                data={"commandName": WELCOME, "command": 'O:25:"App\\Jobs\\SendWelcomeEmail":1:{'},
            ),
            "bridge.exceptions.PhpTruncatedError",
        ),
        (
            fixture_payload("encrypted"),
            "bridge.exceptions.PayloadDecodeError: data.command is encrypted",
        ),
    ],
)
def test_undecodable_payload_is_failed_intact(env: Env, payload: str, message: str) -> None:
    env.app.register(WELCOME, lambda job: None)
    env.app.register("App\\Jobs\\ChargeCard", lambda job: None)
    env.push(payload)
    env.push(fixture_payload("plain_public"))
    assert env.worker().run() is StopReason.EMPTY
    [failed] = env.failed_rows()
    assert failed.payload == payload
    assert message in failed.exception
    assert env.queue.rows() == []


def test_encrypted_command_with_key(env: Env) -> None:
    seen: list[Any] = []
    env.app.register("App\\Jobs\\ChargeCard", lambda job: seen.append(job.values))
    env.push(fixture_payload("encrypted"))
    env.worker(encrypter=Encrypter(APP_KEY)).run()
    assert env.failed_rows() == [] and len(seen) == 1


def test_encrypted_command_with_wrong_key(env: Env) -> None:
    env.app.register("App\\Jobs\\ChargeCard", lambda job: None)
    env.push(fixture_payload("encrypted"))
    env.worker(encrypter=Encrypter(b"k" * 32)).run()
    assert env.failed_rows()[0].exception.startswith(
        "bridge.exceptions.DecryptionError: The MAC is invalid."
    )


def test_string_job(env: Env) -> None:
    seen: list[Any] = []
    env.app.register("App\\Jobs\\LegacyHandler", lambda job: seen.append((job.command, job.data)))
    payload = fixture_payload("string_job")
    env.push(payload, queue="legacy")
    env.worker(queues=("legacy",)).run()
    assert seen == [(None, json.loads(payload)["data"])]
    assert env.queue.rows() == []


def test_bookkeeping_failure_is_logged_and_loop_goes_on(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.app.register(WELCOME, boom)
    env.push(fixture_payload("plain_public", maxTries=3))
    env.push(fixture_payload("plain_public", maxTries=3))
    real_release = env.queue.release
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionLost("server has gone away")
        return real_release(*args, **kwargs)

    env.queue.release = flaky  # type: ignore[method-assign]
    assert env.worker(backoff="60").run() is StopReason.EMPTY
    assert "Storage error while bookkeeping" in caplog.text
    # The first row stays reserved (retry_after brings it back); the second was released.
    assert len(env.queue.released) == 1
    assert env.clock.slept == [1.0]


def test_failed_row_shape(env: Env) -> None:
    env.app.register(WELCOME, boom)
    payload = fixture_payload("plain_public")
    env.push(payload)
    env.worker().run()
    [failed] = env.failed_rows()
    assert failed.uuid == json.loads(payload)["uuid"]
    assert (failed.connection, failed.queue) == ("database", "default")
    assert failed.failed_at.tzinfo is None
    assert failed.failed_at.strftime("%Y-%m-%d %H:%M:%S") == "2027-01-15 08:00:00"
    lines = failed.exception.split("\n")
    assert re.fullmatch(r"RuntimeError: boom in .*test_outcomes\.py:\d+", lines[0])
    assert lines[1] == "Stack trace:"
    assert re.fullmatch(r"#0 .*\.py\(\d+\): boom\(\)", lines[2])
    assert re.fullmatch(rf"#{len(lines) - 3} {{main}}", lines[-1])
    assert all(re.fullmatch(rf"#{i} .+\(\d+\): .+\(\)", line) for i, line in enumerate(lines[2:-1]))


@pytest.mark.parametrize("outages", [2, 3])
def test_failed_jobs_write_is_retried_then_payload_logged(
    env: Env, caplog: pytest.LogCaptureFixture, outages: int
) -> None:
    env.app.register(WELCOME, boom)
    payload = fixture_payload("plain_public")
    env.push(payload)
    real_log = env.failed.log
    calls = 0

    def flaky(**kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls <= outages:
            raise ConnectionLost("down")
        return real_log(**kwargs)

    env.failed.log = flaky  # type: ignore[method-assign]
    assert env.worker().run() is StopReason.EMPTY
    if outages == 2:
        assert env.queue.rows() == []
        assert len(env.failed_rows()) == 1
    else:
        # Storage stayed down: the row was not deleted either; it stays reserved in jobs
        # (retry_after brings it back to be failed again) and the worker goes on.
        assert env.failed_rows() == []
        [row] = env.queue.rows()
        assert row.payload == payload and row.reserved_at is not None
        assert "Could not move job 1 to failed_jobs" in caplog.text
