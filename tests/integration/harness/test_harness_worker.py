"""Laravel's own worker over the behaviour kinds: failures land in failed_jobs, releases and
retries come back, timeouts kill the worker, SIGTERM lets the current job finish, and Laravel's
`queue:retry` moves failed jobs back. These rows are what bridge's worker is compared with.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from tests.support.laravel import LaravelEnv


def _uuid(line: dict[str, Any]) -> str:
    uuid: str = json.loads(line["payload"])["uuid"]
    return uuid


def test_failing_job_lands_in_failed_jobs_with_its_uuid(laravel_env: LaravelEnv) -> None:
    [line] = laravel_env.dispatch("always_fails", queue="risky")

    done = laravel_env.work(queue="risky", tries=1)

    assert "Failed:     Fixtures\\Jobs\\AlwaysFails" in done.stdout
    [failed] = laravel_env.failed_jobs()
    assert failed["uuid"] == _uuid(line)
    assert (failed["connection"], failed["queue"]) == ("database", "risky")
    assert failed["payload"] == line["payload"]
    assert failed["exception"].startswith(
        'RuntimeException: Broke "quoted" / slash – ünïcödé ✓ in '
    )
    assert "\nStack trace:\n#0 " in failed["exception"]
    assert laravel_env.jobs() == []
    assert [row["attempts"] for row in laravel_env.job_log()] == [1]


def test_id_only_failed_layout(laravel_env: LaravelEnv) -> None:
    env = laravel_env.with_options(failed_driver="database", failed_table="failed_jobs_by_id")
    env.migrate(fresh=True)
    [line] = env.dispatch("always_fails")

    env.work(tries=1)

    [failed] = env.failed_jobs()
    assert "uuid" not in failed
    assert failed["payload"] == line["payload"]
    env.retry([failed["id"]])
    assert env.failed_jobs() == []
    assert [json.loads(row["payload"])["uuid"] for row in env.jobs()] == [_uuid(line)]


def test_job_fails_after_its_tries_with_its_own_exception(laravel_env: LaravelEnv) -> None:
    laravel_env.dispatch("fails_then_succeeds", args={"failures": 5})

    laravel_env.work(tries=2)

    assert [row["attempts"] for row in laravel_env.job_log()] == [1, 2]
    [failed] = laravel_env.failed_jobs()
    assert failed["exception"].startswith("RuntimeException: flaky failure on attempt 2 in ")


def test_job_succeeds_on_a_later_attempt(laravel_env: LaravelEnv) -> None:
    laravel_env.dispatch("fails_then_succeeds", args={"failures": 2})

    laravel_env.work(tries=3)

    assert [row["attempts"] for row in laravel_env.job_log()] == [1, 2, 3]
    assert laravel_env.failed_jobs() == []
    assert laravel_env.jobs() == []


def test_released_job_comes_back_as_a_new_row(laravel_env: LaravelEnv) -> None:
    [line] = laravel_env.dispatch("releases")  # $this->release(5) on its first attempt

    laravel_env.work(once=True, tries=3)

    [row] = laravel_env.jobs()
    assert row["id"] != line["row"]["id"]
    assert row["payload"] == line["payload"]
    assert (row["attempts"], row["reserved_at"]) == (1, None)
    # Laravel reads the clock once for available_at and again for created_at.
    assert row["available_at"] - row["created_at"] in (5, 4)


def test_released_job_runs_again(laravel_env: LaravelEnv) -> None:
    laravel_env.dispatch("releases", args={"releaseDelay": 0})

    laravel_env.work(tries=3)

    assert [row["attempts"] for row in laravel_env.job_log()] == [1, 2]
    assert laravel_env.jobs() == []
    assert laravel_env.failed_jobs() == []


def test_manual_fail_records_the_reason(laravel_env: LaravelEnv) -> None:
    laravel_env.dispatch("fails_manually", args={"reason": "no stock / «sold out»"})

    laravel_env.work(tries=3)

    [failed] = laravel_env.failed_jobs()
    # Laravel 8 hands the string itself to the failed-job provider as the "exception".
    assert failed["exception"] == "no stock / «sold out»"
    assert laravel_env.jobs() == []


@pytest.mark.parametrize("tries", [1, 2])
def test_timeout_kills_the_worker(laravel_env: LaravelEnv, tries: int) -> None:
    [line] = laravel_env.dispatch("sleeps_past_timeout", args={"seconds": 5, "timeout": 1})

    started = time.monotonic()
    done = laravel_env.work(tries=tries)

    assert done.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 4
    if tries == 1:
        [failed] = laravel_env.failed_jobs()
        assert failed["uuid"] == _uuid(line)
        assert failed["exception"].startswith(
            "Illuminate\\Queue\\MaxAttemptsExceededException: Fixtures\\Jobs\\OverstaysTimeout"
            " has been attempted too many times or run too long."
        )
        assert laravel_env.jobs() == []
    else:
        # Not failed: the row stays reserved until retry_after runs out.
        assert laravel_env.failed_jobs() == []
        [row] = laravel_env.jobs()
        assert row["attempts"] == 1
        assert row["reserved_at"] is not None


def test_sigterm_lets_the_current_job_finish(laravel_env: LaravelEnv) -> None:
    laravel_env.dispatch("sleeps_past_timeout", args={"seconds": 2, "timeout": 30}, count=2)
    worker = laravel_env.start_worker(tries=1)
    try:
        deadline = time.monotonic() + 20
        while not laravel_env.job_log():
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=20)
    finally:
        worker.kill()
        worker.wait()

    assert worker.returncode == 0
    assert out.count("Processed:") == 1
    assert len(laravel_env.job_log()) == 1
    [left] = laravel_env.jobs()
    assert left["reserved_at"] is None


def test_queue_retry_pushes_failed_jobs_back(laravel_env: LaravelEnv) -> None:
    [line] = laravel_env.dispatch("always_fails", queue="risky")
    laravel_env.work(queue="risky", tries=1)
    [failed] = laravel_env.failed_jobs()

    done = laravel_env.retry([failed["uuid"]])

    assert f"The failed job [{failed['uuid']}] has been pushed back onto the queue!" in done.stdout
    assert laravel_env.failed_jobs() == []
    [row] = laravel_env.jobs()
    assert (row["queue"], row["attempts"], row["reserved_at"]) == ("risky", 0, None)
    # Laravel reads the clock once for available_at and again for created_at.
    assert row["created_at"] - row["available_at"] in (0, 1)
    # queue:retry re-encodes the payload with json_encode() and no flags: same data, ASCII text.
    assert json.loads(row["payload"]) == json.loads(line["payload"])
    assert row["payload"] != line["payload"]
    assert "\\u00fc" in row["payload"]

    laravel_env.work(queue="risky", tries=1)
    assert [f["uuid"] for f in laravel_env.failed_jobs()] == [_uuid(line)]


def test_queue_retry_by_queue_and_all(laravel_env: LaravelEnv) -> None:
    for queue in ("a", "b", "b"):
        laravel_env.dispatch("always_fails", queue=queue)
    laravel_env.work(queue="a,b", tries=1)
    assert len(laravel_env.failed_jobs()) == 3

    laravel_env.retry(queue="b")
    assert [f["queue"] for f in laravel_env.failed_jobs()] == ["a"]
    assert sorted(row["queue"] for row in laravel_env.jobs()) == ["b", "b"]

    laravel_env.retry("all")
    assert laravel_env.failed_jobs() == []
    assert sorted(row["queue"] for row in laravel_env.jobs()) == ["a", "b", "b"]
