"""The Python worker and Laravel 8's own `queue:work` on one queue, against live PHP.

Chains cross languages in both directions, a Python-failed job goes back through Laravel's
`queue:retry`, batch counters end as Laravel's worker leaves them, and the failure texts the
Python worker writes match the ones Laravel writes, word for word up to the file location.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.laravel.encryption import Encrypter
from bridge.queue.database import create_engine_for
from bridge.queue.database_stores import DatabaseStores
from bridge.retry import MessageStyle
from bridge.worker import StopReason, Worker, WorkerOptions
from tests.support.handlers import JobLogWriter, build_app
from tests.support.laravel import LaravelEnv, fresh_laravel_env


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on SQLite, MariaDB and PostgreSQL in turn, with every harness table empty."""
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)


@pytest.fixture
def python_worker(laravel_env: LaravelEnv) -> Iterator[object]:
    """A factory of Python workers on the harness's tables, with the fixture handlers."""
    engine = create_engine_for(laravel_env.database_url)
    log = JobLogWriter(laravel_env.database_url)

    def make(**options: object) -> Worker:
        options.setdefault("stop_when_empty", True)
        options.setdefault("message_style", MessageStyle.LEGACY)  # Laravel 8's wording
        stores = DatabaseStores(
            engine=engine,
            jobs_table=laravel_env.queue_table,
            failed_table=laravel_env.failed_table,
            connection_name=laravel_env.queue_connection,
            retry_after_seconds=laravel_env.retry_after,
        )
        return Worker(
            stores=stores,
            app=build_app(log),
            # The test process's own size is not the worker's: no memory limit in-process.
            options=WorkerOptions(**{"memory_mb": 0, **options}),  # type: ignore[arg-type]
            encrypter=Encrypter(laravel_env.app_key),
        )

    yield make
    log.close()
    engine.dispose()


def test_chain_python_then_php(laravel_env: LaravelEnv, python_worker: object) -> None:
    [line] = laravel_env.dispatch("chain")
    assert python_worker(once=True).run() is StopReason.ONCE  # type: ignore[operator]
    laravel_env.work()
    log = laravel_env.job_log()
    assert [(r["worker"], r["job_class"]) for r in log] == [
        ("python", line["class"]),
        ("php", line["chained"][0]["class"]),
    ]
    assert log[1]["values"] == line["chained"][0]["properties"]
    assert laravel_env.jobs() == [] and laravel_env.failed_jobs() == []


def test_chain_php_then_python(laravel_env: LaravelEnv, python_worker: object) -> None:
    [line] = laravel_env.dispatch("chain")
    laravel_env.work(once=True)
    python_worker().run()  # type: ignore[operator]
    log = laravel_env.job_log()
    assert [(r["worker"], r["job_class"]) for r in log] == [
        ("php", line["class"]),
        ("python", line["chained"][0]["class"]),
    ]
    assert log[1]["values"] == line["chained"][0]["properties"]
    assert laravel_env.jobs() == []


def test_python_failure_goes_back_through_laravel_retry(
    laravel_env: LaravelEnv, python_worker: object
) -> None:
    [line] = laravel_env.dispatch("always_fails", args={"message": "nope"})
    python_worker().run()  # type: ignore[operator]
    [failed] = laravel_env.failed_jobs()
    assert failed["payload"] == line["payload"]
    assert failed["exception"].startswith("RuntimeError: nope in ")
    laravel_env.retry("all")
    assert laravel_env.failed_jobs() == []
    [row] = laravel_env.jobs()
    assert row["attempts"] == 0
    laravel_env.work()  # Laravel's worker fails it again and writes its own row
    [again] = laravel_env.failed_jobs()
    assert again["uuid"] == failed["uuid"]
    assert again["exception"].startswith("RuntimeException: nope in ")


def test_batch_counters_end_as_laravel_leaves_them(
    laravel_env: LaravelEnv, python_worker: object
) -> None:
    laravel_env.dispatch("batch")
    python_worker().run()  # type: ignore[operator]
    [batch] = laravel_env.batches()
    assert (batch["total_jobs"], batch["pending_jobs"], batch["failed_jobs"]) == (2, 0, 0)
    assert batch["finished_at"] is not None and batch["cancelled_at"] is None
    assert [r["worker"] for r in laravel_env.job_log()] == ["python", "python"]


@pytest.mark.parametrize("fail_on_timeout", [True, False])
def test_timeout_failure_text_matches_laravel(
    laravel_env: LaravelEnv, python_worker: object, fail_on_timeout: bool
) -> None:
    args = {"seconds": 3, "timeout": 1, "failOnTimeout": fail_on_timeout, "tries": 1}
    laravel_env.dispatch("sleeps_past_timeout", args=args)
    laravel_env.work()  # Laravel fails it and SIGKILLs itself
    [php_row] = laravel_env.failed_jobs()
    laravel_env.dispatch("sleeps_past_timeout", args=args)
    python_worker().run()  # type: ignore[operator]
    php_row, python_row = laravel_env.failed_jobs()
    head = php_row["exception"].split(" in ")[0]
    assert head.startswith("Illuminate\\Queue\\MaxAttemptsExceededException: ")
    assert python_row["exception"].split(" in ")[0] == head
    assert laravel_env.jobs() == []


def test_timed_out_job_with_tries_left_is_left_reserved_like_laravel(
    laravel_env: LaravelEnv, python_worker: object
) -> None:
    args = {"seconds": 3, "timeout": 1, "failOnTimeout": False, "tries": 3}
    laravel_env.dispatch("sleeps_past_timeout", args=args)
    laravel_env.work()
    [php_row] = laravel_env.jobs()
    laravel_env.dispatch("sleeps_past_timeout", args=args)
    python_worker().run()  # type: ignore[operator]
    php_row, python_row = laravel_env.jobs()
    for row in (php_row, python_row):
        assert row["reserved_at"] is not None and row["attempts"] == 1
    assert laravel_env.failed_jobs() == []
