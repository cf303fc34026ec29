"""SQLAlchemy errors become bridge errors once, and only safe operations are repeated."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc as sa_exc

from bridge.exceptions import ConnectionLost, QueueBusy, QueueError, SchemaError
from bridge.queue._errors import retrying, translate, wrap_exceptions
from bridge.queue.base import NewJob
from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.schema import migrate


def operational(message: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception(message))


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("(2006, 'MySQL server has gone away')", ConnectionLost),
        ("(2013, 'Lost connection to MySQL server during query')", ConnectionLost),
        ("(1927, 'Connection was killed')", ConnectionLost),
        ("terminating connection due to administrator command", ConnectionLost),
        ("connection failed: Connection refused", ConnectionLost),
        ("(1213, 'Deadlock found when trying to get lock; try restarting transaction')", QueueBusy),
        ("(1205, 'Lock wait timeout exceeded; try restarting transaction')", QueueBusy),
        ("database is locked", QueueBusy),
        ("no such table: jobs", SchemaError),
        ("(1146, \"Table 'app.jobs' doesn't exist\")", SchemaError),
        ('relation "jobs" does not exist', SchemaError),
        ("(1366, 'Incorrect string value')", QueueError),
    ],
)
def test_translate_classifies_driver_messages(message: str, kind: type[QueueError]) -> None:
    error = translate(operational(message))
    assert type(error) is kind
    assert message.split("'")[0].strip("(") in str(error)


def test_invalidated_connection_is_connection_lost_whatever_the_text() -> None:
    exc = sa_exc.OperationalError("SELECT 1", {}, Exception("odd"), connection_invalidated=True)
    assert isinstance(translate(exc), ConnectionLost)


def test_wrap_exceptions_chains_the_original() -> None:
    original = operational("no such table: jobs")
    with pytest.raises(SchemaError) as caught, wrap_exceptions():
        raise original
    assert caught.value.__cause__ is original


def flaky(errors: list[Exception], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return operation, calls


def test_idempotent_operation_is_repeated_after_a_lost_connection() -> None:
    operation, calls = flaky([operational("server has gone away")])
    assert retrying(operation, idempotent=True, pause_seconds=0) == "ok"
    assert len(calls) == 2


def test_non_idempotent_operation_reports_a_lost_connection() -> None:
    operation, calls = flaky([operational("server has gone away")])
    with pytest.raises(ConnectionLost):
        retrying(operation, idempotent=False, pause_seconds=0)
    assert len(calls) == 1


def test_deadlocks_are_repeated_even_for_writes_but_boundedly() -> None:
    operation, calls = flaky([operational("Deadlock found")] * 2)
    assert retrying(operation, idempotent=False, pause_seconds=0) == "ok"
    operation, calls = flaky([operational("Deadlock found")] * 5)
    with pytest.raises(QueueBusy):
        retrying(operation, idempotent=False, attempts=3, pause_seconds=0)
    assert len(calls) == 3


def test_other_errors_are_not_repeated() -> None:
    operation, calls = flaky([operational("Incorrect string value")])
    with pytest.raises(QueueError):
        retrying(operation, idempotent=True, pause_seconds=0)
    assert len(calls) == 1


@pytest.fixture
def sqlite_queue(tmp_path: Path) -> DatabaseQueue:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    migrate(engine)
    return DatabaseQueue(engine=engine)


@pytest.mark.parametrize(
    ("errors", "tries", "outcome"),
    [
        ([], 1, None),
        (["Deadlock found"], 2, None),
        (["Deadlock found"] * 2, 3, None),
        (["Deadlock found"] * 5, 3, QueueBusy),
        (["server has gone away"], 1, ConnectionLost),
        (["Incorrect string value"], 1, QueueError),
    ],
)
def test_a_push_keeps_the_write_policy_although_its_first_try_runs_outside_retrying(
    sqlite_queue: DatabaseQueue,
    monkeypatch: pytest.MonkeyPatch,
    errors: list[str],
    tries: int,
    outcome: type[QueueError] | None,
) -> None:
    real_insert = sqlite_queue._insert_one
    pending = [operational(message) for message in errors]
    calls: list[int] = []

    def insert_one(execute: Any, job: NewJob) -> int:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return real_insert(execute, job)

    monkeypatch.setattr(sqlite_queue, "_insert_one", insert_one)
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    if outcome is None:
        row_id = sqlite_queue.push("payload", queue="default", now=1)
        assert [row.id for row in sqlite_queue.rows("default")] == [row_id]
    else:
        with pytest.raises(outcome) as caught:
            sqlite_queue.push("payload", queue="default", now=1)
        assert type(caught.value) is outcome
        assert sqlite_queue.rows("default") == []
    assert len(calls) == tries
