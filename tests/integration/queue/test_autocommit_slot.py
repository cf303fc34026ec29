"""Pushes on MariaDB and PostgreSQL go through one kept autocommit connection.

It must behave like the pool it bypasses: threads that find it busy use the pool, a forked
child opens its own, a closed slot reopens, and a failed statement never leaves it broken.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Iterator

import pytest

from bridge.exceptions import QueueError
from bridge.queue.database import DatabaseQueue

NOW = 1_760_000_000


@pytest.fixture
def database_url(server_url: str) -> str:
    """The servers only: SQLite pushes take the file lock in a transaction instead."""
    return server_url


@pytest.fixture
def server_queue(queue: DatabaseQueue) -> Iterator[DatabaseQueue]:
    yield queue
    queue.close()


def test_threads_pushing_at_once_all_land_with_distinct_ids(server_queue: DatabaseQueue) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def pusher(n: int) -> None:
        for i in range(50):
            row_id = server_queue.push(f"t{n}-{i}", queue="default", now=NOW)
            with lock:
                ids.append(row_id)

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = server_queue.rows("default")
    assert len(ids) == len(set(ids)) == 300
    assert sorted(ids) == [row.id for row in rows]
    assert {row.payload for row in rows} == {f"t{n}-{i}" for n in range(6) for i in range(50)}


def _push_in_child(queue: DatabaseQueue, out: multiprocessing.Queue[int]) -> None:
    row_id = queue.push("child", queue="default", now=NOW)
    # Whatever the child let go of (the parent's connection objects included) is finalized
    # now; none of it may speak on the parent's socket.
    gc.collect()
    queue.close()
    gc.collect()
    out.put(row_id)


def test_a_forked_child_pushes_on_its_own_connection(server_queue: DatabaseQueue) -> None:
    first = server_queue.push("parent-1", queue="default", now=NOW)
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_push_in_child, args=(server_queue, out))
    child.start()
    child_id = out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    last = server_queue.push("parent-2", queue="default", now=NOW)
    again = server_queue.push("parent-3", queue="default", now=NOW)
    rows = server_queue.rows("default")
    assert [(r.id, r.payload) for r in rows] == [
        (first, "parent-1"),
        (child_id, "child"),
        (last, "parent-2"),
        (again, "parent-3"),
    ]


def test_a_failed_push_leaves_the_next_one_working(server_queue: DatabaseQueue) -> None:
    server_queue.push("before", queue="default", now=NOW)
    with pytest.raises(QueueError):
        server_queue.push("bad", queue="q" * 1000, now=NOW)  # longer than the column
    server_queue.close()
    server_queue.push("after", queue="default", now=NOW)
    assert [r.payload for r in server_queue.rows()] == ["before", "after"]


def test_a_failed_push_discards_the_connection_and_the_slot_goes_on(
    server_queue: DatabaseQueue,
) -> None:
    # No close() in between: the slot itself must drop the failed connection.
    with pytest.raises(QueueError, match="queue database error"):
        server_queue.push("bad", queue="q" * 1000, now=NOW)  # longer than the column
    after = server_queue.push("after", queue="default", now=NOW)
    assert [(r.id, r.payload) for r in server_queue.rows()] == [(after, "after")]
