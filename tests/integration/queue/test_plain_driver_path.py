"""The reservation and push tests again with the drivers' internals switched off (`_driver`):
the plain path, public API only, that bridge takes with a driver version the tests do not run.
On it a queue does not read ahead, and PostgreSQL reserves with Laravel's statements."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_connection_loss import (  # noqa: F401 (fixtures; tests collected here too)
    admin,
    name,
    test_push_without_pre_ping_reports_the_loss_and_the_next_push_works,
    test_reads_and_reservations_survive_a_killed_connection,
)
from test_database_queue import (  # noqa: F401 (collected here too)
    test_any_text_is_stored_as_given_by_push_bulk_and_release,
    test_delete_and_delete_many,
    test_expired_reservation_is_handed_out_again,
    test_push_writes_laravels_row,
    test_reservation_is_the_same_whether_or_not_a_listener_watches_statements,
    test_reserve_deletes_the_finished_rows_in_the_same_transaction,
    test_reserve_takes_lowest_id_and_counts_the_attempt,
    test_unreserve_restores_the_row_only_for_its_own_reservation,
)
from test_reserve_ahead import _queue_on

from bridge.queue import _driver
from bridge.queue.database import DatabaseQueue

NOW = 1_760_000_000


@pytest.fixture(autouse=True)
def plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_driver, "use_internals", False)


@pytest.fixture(params=["mysql", "postgres"])
def plain_queue(request: pytest.FixtureRequest) -> Iterator[DatabaseQueue]:
    yield from _queue_on(str(request.getfixturevalue(f"{request.param}_url")))


def test_asked_to_read_ahead_it_reserves_batch_by_batch(plain_queue: DatabaseQueue) -> None:
    queue = plain_queue
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(5)]
    first = queue.reserve("default", now=NOW, limit=2, ahead=3)
    assert [job.id for job in first] == ids[:2]
    assert not queue.poll() and queue.end_reading_ahead() == []
    second = queue.reserve("default", now=NOW + 1, limit=3, finished=first, ahead=3)
    assert [(job.id, job.attempts, job.reserved_at) for job in second] == [
        (row_id, 1, NOW + 1) for row_id in ids[2:]
    ]
    assert [r.id for r in queue.rows()] == ids[2:]
