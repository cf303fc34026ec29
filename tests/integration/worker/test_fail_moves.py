"""Every way a worker fails a row goes through `Stores.fail`: on a database, the failed row and
the `jobs` DELETE commit together, whatever shape the failed row takes (the SO worker's own,
or a row of the other dialect failed intact).

SQLite with a trigger that refuses the DELETE stands in for a DELETE that fails after the
failed row was written: nothing may then be left in `failed_jobs` while the job stays queued
(it would be failed, and recorded, a second time after `retry_after`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.dialect import dialect_named
from bridge.queue.base import FailedJobFilter
from bridge.queue.database_stores import DatabaseStores
from bridge.queue.schema import migrate
from bridge.so import SO_JSON, encode_so
from bridge.worker import App, ForeignRowPolicy, Job, Worker, WorkerOptions

REPORT = "App\\Jobs\\Report"
NOW = 1_760_000_000


def _so_payload() -> str:
    data = {"tries": 1, "timeout": 60, "queue": "default", "retryAfter": 90, "jobId": None}
    return encode_so(REPORT, {**data, "attempts": 0}, SO_JSON)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[DatabaseStores]:
    opened = DatabaseStores.open(f"sqlite:///{tmp_path / 'app.sqlite'}")
    migrate(opened.engine)
    yield opened
    opened.close()


def _refuse_deletes(stores: DatabaseStores) -> None:
    with stores.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER keep_jobs BEFORE DELETE ON jobs"
            " BEGIN SELECT RAISE(ABORT, 'deletes refused'); END"
        )


def _raises(job: Job) -> None:
    raise RuntimeError("report failed")


def _work(stores: DatabaseStores, dialect: str, **options: object) -> None:
    app = App()
    app.register(REPORT, _raises)
    worker = Worker(
        stores=stores,
        app=app,
        options=WorkerOptions(
            stop_when_empty=True,
            sleep_seconds=0,
            error_sleep_seconds=0,
            max_error_sleep_seconds=0,
            dialect=dialect_named(dialect),
            **options,  # type: ignore[arg-type]
        ),
    )
    worker.run()


def _failed_count(stores: DatabaseStores) -> int:
    return sum(1 for _ in stores.failed.select(FailedJobFilter()))


def test_the_so_workers_failed_row_and_the_delete_commit_together(
    stores: DatabaseStores,
) -> None:
    stores.queue.push(_so_payload(), queue="default", now=NOW)
    _refuse_deletes(stores)
    _work(stores, "so", tries=1)
    assert _failed_count(stores) == 0
    assert len(stores.queue.rows()) == 1


def test_a_foreign_row_failed_intact_and_its_delete_commit_together(
    stores: DatabaseStores,
) -> None:
    stores.queue.push(_so_payload(), queue="default", now=NOW)
    _refuse_deletes(stores)
    _work(stores, "laravel", foreign_rows=ForeignRowPolicy.FAIL)
    assert _failed_count(stores) == 0
    assert len(stores.queue.rows()) == 1


@pytest.mark.parametrize(
    ("dialect", "options"),
    [("so", {"tries": 1}), ("laravel", {"foreign_rows": ForeignRowPolicy.FAIL})],
    ids=["so-worker", "foreign-row"],
)
def test_without_the_trigger_each_row_moves(
    stores: DatabaseStores, dialect: str, options: dict[str, object]
) -> None:
    text = _so_payload()
    stores.queue.push(text, queue="default", now=NOW)
    _work(stores, dialect, **options)
    (failed,) = stores.failed.select(FailedJobFilter())
    assert stores.queue.rows() == []
    assert failed.connection == "database"
    if dialect == "laravel":
        assert failed.payload == text  # the other dialect's row, byte for byte
    else:
        assert failed.payload != text  # the SO worker writes its jobId and attempts in
