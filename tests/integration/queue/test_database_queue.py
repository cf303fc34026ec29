"""`DatabaseQueue` writes and reads `jobs` rows exactly as Laravel's driver does.

Every test runs on SQLite, MariaDB and PostgreSQL; rows are read back with plain SQL, not
through the class under test.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bridge.queue._driver import watched
from bridge.queue.base import NewJob
from bridge.queue.database import DatabaseQueue
from bridge.queue.stats import queue_stats

NOW = 1_760_000_000


def raw_rows(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            "SELECT id, queue, payload, attempts, reserved_at, available_at, created_at "
            f"FROM {table} ORDER BY id"
        )
        return [tuple(r) for r in result]


def test_push_writes_laravels_row(queue: DatabaseQueue, engine: Engine) -> None:
    first = queue.push('{"n":1}', queue="default", now=NOW)
    second = queue.push('{"n":2}', queue="emails", now=NOW + 1, delay_seconds=30)
    assert second > first
    assert raw_rows(engine, queue.table.name) == [
        (first, "default", '{"n":1}', 0, None, NOW, NOW),
        (second, "emails", '{"n":2}', 0, None, NOW + 31, NOW + 1),
    ]


def test_bulk_inserts_many_rows_in_order(queue: DatabaseQueue, engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    queue.bulk(
        [
            NewJob(payload=f"p{i}", queue="bulk", available_at=NOW + i, created_at=NOW)
            for i in range(5)
        ]
    )
    assert sum(s.lstrip().upper().startswith("INSERT") for s in statements) == 1
    rows = raw_rows(engine, queue.table.name)
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        (f"p{i}", 0, None, NOW + i, NOW) for i in range(5)
    ]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_reserve_takes_lowest_id_and_counts_the_attempt(
    queue: DatabaseQueue, engine: Engine
) -> None:
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(3)]
    queue.push("other", queue="other", now=NOW)
    (job,) = queue.reserve("default", now=NOW + 5)
    assert (job.id, job.payload, job.attempts, job.reserved_at) == (ids[0], "p0", 1, NOW + 5)
    assert (job.available_at, job.created_at) == (NOW, NOW)
    assert raw_rows(engine, queue.table.name)[0] == (ids[0], "default", "p0", 1, NOW + 5, NOW, NOW)
    more = queue.reserve("default", now=NOW + 5, limit=10)
    assert [j.id for j in more] == ids[1:]
    assert queue.reserve("default", now=NOW + 5) == []
    assert [r[3] for r in raw_rows(engine, queue.table.name)] == [1, 1, 1, 0]


def test_delayed_job_is_invisible_until_available_at(queue: DatabaseQueue) -> None:
    queue.push("later", queue="default", now=NOW, delay_seconds=60)
    assert queue.reserve("default", now=NOW + 59) == []
    [stats] = queue_stats(queue, now=NOW)
    assert (stats.delayed, stats.pending) == (1, 0)
    (job,) = queue.reserve("default", now=NOW + 60)
    assert job.available_at == NOW + 60


def test_expired_reservation_is_handed_out_again(queue: DatabaseQueue, engine: Engine) -> None:
    queue.push("p", queue="default", now=NOW)
    (first,) = queue.reserve("default", now=NOW)
    assert queue.reserve("default", now=NOW + 89) == []
    (again,) = queue.reserve("default", now=NOW + 90)
    assert (again.id, again.attempts, again.reserved_at) == (first.id, 2, NOW + 90)
    assert raw_rows(engine, queue.table.name)[0][3:5] == (2, NOW + 90)


def test_release_deletes_and_inserts_with_same_payload_and_attempts(
    queue: DatabaseQueue, engine: Engine
) -> None:
    payload = '{"uuid":"9f0c","data":{"command":"O:8:\\"App\\\\Job\\":0:{}"}}'
    queue.push(payload, queue="default", now=NOW)
    queue.push("behind", queue="default", now=NOW)
    (job,) = queue.reserve("default", now=NOW + 1)
    new_id = queue.release(job, now=NOW + 2, delay_seconds=10)
    rows = raw_rows(engine, queue.table.name)
    assert new_id > job.id and job.id not in [r[0] for r in rows]
    assert rows[-1] == (new_id, "default", payload, 1, None, NOW + 12, NOW + 2)
    (behind,) = queue.reserve("default", now=NOW + 12)
    assert behind.payload == "behind"  # the released job went to the back of the line


def test_delete_and_delete_many(queue: DatabaseQueue, engine: Engine) -> None:
    for i in range(4):
        queue.push(f"p{i}", queue="default", now=NOW)
    jobs = queue.reserve("default", now=NOW, limit=4)
    queue.delete(jobs[0])
    queue.delete(jobs[0])  # already gone: no error
    queue.delete_many(jobs[1:3])
    assert [r[2] for r in raw_rows(engine, queue.table.name)] == ["p3"]


def test_unreserve_restores_the_row_only_for_its_own_reservation(
    queue: DatabaseQueue, engine: Engine
) -> None:
    queue.push("p", queue="default", now=NOW)
    (job,) = queue.reserve("default", now=NOW)
    assert queue.unreserve(job)
    assert raw_rows(engine, queue.table.name)[0][3:5] == (0, None)
    (job,) = queue.reserve("default", now=NOW)
    (reclaimed,) = queue.reserve("default", now=NOW + 90)
    assert not queue.unreserve(job)
    assert raw_rows(engine, queue.table.name)[0][3:5] == (2, NOW + 90)
    assert queue.unreserve(reclaimed)


def test_sizes_and_clear(queue: DatabaseQueue) -> None:
    queue.push("a", queue="q", now=NOW)
    queue.push("b", queue="q", now=NOW, delay_seconds=100)
    queue.push("c", queue="q", now=NOW)
    queue.reserve("q", now=NOW)
    assert queue.size("q") == 3
    [stats] = queue_stats(queue, now=NOW)
    assert (stats.queue, stats.pending, stats.delayed, stats.reserved) == ("q", 1, 1, 1)
    assert queue.clear("q") == 3 and queue.size("q") == 0


PAYLOADS = [
    "plain ascii",
    "héllo wörld – ünïcödé, 日本語",
    "four-byte: 😀 🐘 𝄞",
    '{"command":"O:8:\\"App\\\\Job\\":1:{s:6:\\"\\u0000*\\u0000key\\";s:1:\\"v\\";}"}',
    'escaped NUL \\u0000 and a literal backslash \\ and quote "',
    "line\nbreaks\r\nand\ttabs",
    "x" * 70_000,  # beyond MySQL TEXT's 64 KiB: needs LONGTEXT
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_payload_round_trips_byte_identical(
    queue: DatabaseQueue, engine: Engine, payload: str
) -> None:
    queue.push(payload, queue="utf8", now=NOW)
    (job,) = queue.reserve("utf8", now=NOW)
    assert job.payload.encode() == payload.encode()
    octets = "LENGTH" if engine.dialect.name == "sqlite" else "OCTET_LENGTH"
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            f"SELECT {octets}(CAST(payload AS BLOB)) FROM {queue.table.name}"
            if engine.dialect.name == "sqlite"
            else f"SELECT {octets}(payload) FROM {queue.table.name}"
        ).scalar_one()
    assert stored == len(payload.encode())
    new_id = queue.release(job, now=NOW)
    assert raw_rows(engine, queue.table.name)[0][:3] == (new_id, "utf8", payload)


# Text a statement could mistake for syntax: quotes, backslashes, NUL, format marks, and
# what PostgreSQL's COPY text format escapes (tab, newline, `\N`, `\.`).
_TRICKY = st.text(
    alphabet=st.one_of(st.sampled_from("'\"\\%?:\x00\x1a\n\r\t;`N."), st.characters(codec="utf-8")),
    max_size=30,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(_TRICKY, min_size=1, max_size=6),
    name=_TRICKY.filter(lambda t: t.strip("\x00")),
)
def test_any_text_is_stored_as_given_by_push_bulk_and_release(
    queue: DatabaseQueue, engine: Engine, payloads: list[str], name: str
) -> None:
    target = name[:40]
    if engine.dialect.name != "mysql":
        # SQLite's bound TEXT ends at NUL; PostgreSQL text refuses it (JSON never has one).
        target = target.replace("\x00", "")
        payloads = [p.replace("\x00", "") for p in payloads]
    queue.clear(target)
    queue.push(payloads[0], queue=target, now=NOW)
    queue.bulk(
        [NewJob(payload=p, queue=target, available_at=NOW, created_at=NOW) for p in payloads]
    )
    first, *_ = queue.reserve(target, now=NOW)
    queue.release(first, now=NOW)
    stored = sorted((r.queue, r.payload) for r in queue.rows(target))
    assert stored == sorted((target, p) for p in [payloads[0], *payloads])
    queue.clear(target)


def test_reservation_sql_uses_the_lock_laravel_would(queue: DatabaseQueue, engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    queue.push("p", queue="default", now=NOW)
    queue.reserve("default", now=NOW)
    select = next(s for s in statements if s.lstrip().upper().startswith("SELECT"))
    if engine.dialect.name == "sqlite":
        assert "FOR UPDATE" not in select.upper()
        assert "BEGIN IMMEDIATE" in statements
    else:  # MariaDB 10.11 and PostgreSQL 15 both support SKIP LOCKED
        assert select.upper().rstrip().endswith("FOR UPDATE SKIP LOCKED")


def test_large_bulk_is_chunked_within_one_transaction(queue: DatabaseQueue, engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    jobs = [
        NewJob(payload=f"p{i}", queue="big", available_at=NOW, created_at=NOW) for i in range(2_500)
    ]
    queue.bulk(jobs)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 3  # 1,000 + 1,000 + 500 rows
    assert [r.payload for r in queue.rows("big")] == [f"p{i}" for i in range(2_500)]


def test_bulk_statements_stay_under_the_smallest_packet_limit(
    queue: DatabaseQueue, engine: Engine
) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    # ~1.2 MB each: three would pass 4 MiB in one statement (twice that as MySQL hex).
    payloads = [f"{i}" + "é" * 600_000 for i in range(3)]
    queue.bulk([NewJob(payload=p, queue="big", available_at=NOW, created_at=NOW) for p in payloads])
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    if engine.dialect.name == "mysql":  # the others bind values outside the statement
        assert len(inserts) >= 2
        assert all(len(s.encode()) < 4 * 1024 * 1024 for s in inserts)
    assert [r.payload for r in queue.rows("big")] == payloads


def test_reserve_deletes_the_finished_rows_in_the_same_transaction(queue: DatabaseQueue) -> None:
    ids = [queue.push(f"p{i}", queue="default", now=NOW) for i in range(5)]
    first = queue.reserve("default", now=NOW, limit=2)
    second = queue.reserve("default", now=NOW, limit=2, finished=first)
    assert [job.id for job in second] == ids[2:4]
    assert [row.id for row in queue.rows()] == ids[2:]
    # Nothing left to reserve: the finished rows are deleted all the same.
    queue.reserve("default", now=NOW, limit=2)
    assert queue.reserve("other", now=NOW, finished=second) == []
    assert [row.id for row in queue.rows()] == ids[4:]


def test_reservation_is_the_same_whether_or_not_a_listener_watches_statements(
    queue: DatabaseQueue, engine: Engine
) -> None:
    """Unwatched, the reservation runs on the DBAPI cursor; watched, through SQLAlchemy."""
    for i in range(4):
        queue.push(f"p{i}", queue="w", now=NOW)
    assert not watched(engine)
    first = queue.reserve("w", now=NOW, limit=2)
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert watched(engine)
        second = queue.reserve("w", now=NOW + 1, limit=2, finished=first)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert any(s.lstrip().upper().startswith("SELECT") for s in seen)
    got = [(j.payload, j.attempts, j.reserved_at, j.queue) for j in first + second]
    assert got == [
        ("p0", 1, NOW, "w"),
        ("p1", 1, NOW, "w"),
        ("p2", 1, NOW + 1, "w"),
        ("p3", 1, NOW + 1, "w"),
    ]
    stored = [(r.payload, r.attempts, r.reserved_at) for r in queue.rows("w")]
    assert stored == [("p2", 1, NOW + 1), ("p3", 1, NOW + 1)]


def test_bulk_rows_are_the_same_whether_or_not_a_listener_watches_statements(
    queue: DatabaseQueue, engine: Engine
) -> None:
    """Unwatched, PostgreSQL takes bulk rows by COPY; watched, every database by INSERT."""
    payloads = ["a\tb", "\\N", "\\.", "line\nnext\r", '{"k":"\\u00e9"}', "é" * 70_000, ""]
    jobs = [
        NewJob(payload=p, queue="w\t1", available_at=NOW + i, created_at=NOW)
        for i, p in enumerate(payloads)
    ]
    assert not watched(engine)
    queue.bulk(jobs)
    sa.event.listen(engine, "before_cursor_execute", _ignore)
    try:
        assert watched(engine)
        queue.bulk(jobs)
    finally:
        sa.event.remove(engine, "before_cursor_execute", _ignore)
    rows = raw_rows(engine, queue.table.name)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    expected = [("w\t1", p, 0, None, NOW + i, NOW) for i, p in enumerate(payloads)]
    assert [r[1:] for r in rows] == expected + expected


def _ignore(*args: Any) -> None:
    pass


def test_a_watched_engine_sees_every_push(queue: DatabaseQueue, engine: Engine) -> None:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    first = queue.push("a", queue="w", now=NOW)
    second = queue.push("b", queue="w", now=NOW)
    assert sum(s.lstrip().upper().startswith("INSERT") for s in seen) == 2
    assert [(r.id, r.payload) for r in queue.rows("w")] == [(first, "a"), (second, "b")]
