"""Reading ahead on Redis (`RedisQueue.reserve(..., ahead=)`): the next RESERVE script runs on
the server while the worker runs the batch before it.

The same contract as the database queue's (`tests/integration/queue/test_reserve_ahead.py`),
told in Redis's terms: a job's id is its payload `id`, a reservation is a member of
`:reserved`, and a job handed back is at the head of the list again with its attempts as
they were.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis._parsers import _HiredisParser as HiredisParser
from redis._parsers import _RESP2Parser as PythonParser
from redis.utils import HIREDIS_AVAILABLE as HIREDIS

from bridge.exceptions import ConnectionLost
from bridge.queue import Stores
from bridge.queue import _redis_scripts as scripts
from bridge.queue import redis as redis_queue
from bridge.queue._ahead_redis import RedisReservation
from bridge.queue.base import ReservedJob
from bridge.queue.memory import InMemoryFailedJobStore
from bridge.queue.redis import RedisQueue, connect
from bridge.worker import App, Job, Worker, WorkerOptions
from tests.integration.redis.redis_kit import REDIS_HOST, REDIS_PORT

NOW = 1_760_000_000
JOB = "App\\Jobs\\Ping@handle"


def payload(n: int) -> str:
    return json.dumps({"uuid": f"u-{n}", "job": JOB, "data": {"n": n}}, separators=(",", ":"))


@pytest.fixture
def queue(redis_prefix: str) -> Iterator[RedisQueue]:
    q = RedisQueue(client=connect(host=REDIS_HOST, port=REDIS_PORT), prefix=redis_prefix)
    try:
        yield q
    finally:
        q.close()


def push(queue: RedisQueue, name: str, count: int) -> list[str]:
    return [str(queue.push(payload(n), queue=name, now=NOW)) for n in range(count)]


def reserved_members(queue: RedisQueue, name: str) -> set[str]:
    return set(queue.client.zrange(queue.keys(name)[2], 0, -1))


def pending_of(queue: RedisQueue) -> RedisReservation:
    pending = queue._reading._pending
    assert isinstance(pending, RedisReservation)
    return pending


def answered(pending: RedisReservation) -> None:
    """Wait until the server's reply is on the socket, without reading any of it (redis-py's
    `can_read` would: the reply would not be lost with the socket)."""
    readable, _, _ = select.select([pending._connection._sock], [], [], 10)
    assert readable, "Redis never answered"


def test_reserve_reads_ahead_and_hands_those_rows_out_next(
    queue: RedisQueue, queue_name: str
) -> None:
    ids = push(queue, queue_name, 5)
    first = queue.reserve(queue_name, now=NOW, limit=2, ahead=3)
    assert [job.id for job in first] == ids[:2]
    pending_of(queue)
    assert queue.poll()  # under way, held for the caller
    # The next reservation returns the rows reserved ahead (at the time they were asked for,
    # whatever its limit); the finished ones ride on the reservation it starts ahead in
    # turn (which finds no job).
    second = queue.reserve(queue_name, now=NOW + 1, limit=1, finished=first, ahead=3)
    assert [(job.id, job.attempts, job.reserved_at) for job in second] == [
        (job_id, 1, NOW) for job_id in ids[2:5]
    ]
    assert queue._reading._carried == first
    assert queue.end_reading_ahead() == []
    assert not queue.poll()
    assert reserved_members(queue, queue_name) == {job.reserved_payload for job in second}
    # Their reservations expire as any: `retry_after` after the reservation ahead was asked.
    scores = queue.client.zrange(queue.keys(queue_name)[2], 0, -1, withscores=True)
    assert {score for _, score in scores} == {NOW + queue.retry_after_seconds}
    assert queue.reserve(queue_name, now=NOW + 2, finished=second, ahead=3) == []
    assert queue.size(queue_name) == 0


def test_a_stopping_worker_takes_the_rows_reserved_ahead(
    queue: RedisQueue, queue_name: str
) -> None:
    ids = push(queue, queue_name, 4)
    first = queue.reserve(queue_name, now=NOW, limit=1, ahead=2)
    second = queue.reserve(queue_name, now=NOW, finished=first, ahead=2)
    ahead = queue.end_reading_ahead()
    assert [job.id for job in [*second, *ahead]] == ids[1:]
    for job in [*second, *ahead]:
        assert queue.unreserve(job)
    # `first` was deleted by the reservation ahead; the others wait again, unstarted.
    assert reserved_members(queue, queue_name) == set()
    waiting = queue.client.lrange(queue.keys(queue_name)[0], 0, -1)
    assert sorted(json.loads(p)["id"] for p in waiting) == sorted(ids[1:])
    assert {json.loads(p)["attempts"] for p in waiting} == {0}


def test_finished_rows_of_another_queue_are_deleted_at_once(
    queue: RedisQueue, queue_name: str
) -> None:
    other = f"{queue_name}-low"
    push(queue, other, 1)
    done = queue.reserve(other, now=NOW)
    ids = push(queue, queue_name, 3)
    first = queue.reserve(queue_name, now=NOW, limit=1, ahead=2)
    # The script reaches one queue's keys: `done` cannot ride on the reservation ahead.
    second = queue.reserve(queue_name, now=NOW, finished=done, ahead=2)
    assert reserved_members(queue, other) == set()
    assert [job.id for job in [*first, *second]] == ids
    assert queue.end_reading_ahead() == []


def test_a_reply_lost_with_its_connection_loses_nothing(queue: RedisQueue, queue_name: str) -> None:
    ids = push(queue, queue_name, 6)
    first = queue.reserve(queue_name, now=NOW, limit=1, ahead=2)
    second = queue.reserve(queue_name, now=NOW, finished=first, ahead=2)  # carries first's ZREM
    pending = pending_of(queue)
    # The server has run the script (ZREM of `first`, ids[3:5] reserved) and answered, but
    # the answer never reaches us.
    answered(pending)
    sock = pending._connection._sock
    sock.recv(1 << 20)  # gone with the network
    sock.shutdown(socket.SHUT_RDWR)
    # The failure is the reservation ahead's, not the caller's: `first` is deleted (again)
    # and `second` with it, and a reservation is made as usual.
    third = queue.reserve(queue_name, now=NOW + 1, limit=2, finished=second)
    assert [job.id for job in third] == ids[5:]
    assert (
        pending.done and pending._connection not in queue.client.connection_pool._in_use_connections
    )
    assert (
        reserved_members(queue, queue_name) & {job.reserved_payload for job in [*first, *second]}
        == set()
    )
    # The jobs whose reply was lost are reserved still, and handed out after `retry_after`.
    later = NOW + queue.retry_after_seconds + 1
    again = queue.reserve(queue_name, now=later, limit=5, finished=third)
    assert [(job.id, job.attempts) for job in again] == [(ids[3], 2), (ids[4], 2)]
    queue.delete_many(again)
    assert queue.size(queue_name) == 0


def test_a_script_the_server_does_not_have_is_sent_whole(
    redis_prefix: str, queue_name: str
) -> None:
    # A script of our own text, so no other session can have loaded it: the server answers
    # the EVALSHA with NOSCRIPT, as after SCRIPT FLUSH or a restart, without running it.
    q = RedisQueue(client=connect(host=REDIS_HOST, port=REDIS_PORT), prefix=redis_prefix)
    q._reserve = q.client.register_script(f"{scripts.RESERVE}\n-- {uuid.uuid4().hex}\n")
    try:
        ids = push(q, queue_name, 4)
        pending = q._start_ahead(queue_name, NOW, 3, ())
        assert isinstance(pending, RedisReservation)
        assert [job.id for job in pending.wait()] == ids[:3]
        assert pending._resent
        # ...and the script is cached again: the next one goes by its SHA alone.
        again = q._start_ahead(queue_name, NOW, 3, ())
        assert isinstance(again, RedisReservation)
        assert [job.id for job in again.wait()] == ids[3:]
        assert not again._resent
    finally:
        q.close()


def test_a_connection_refused_when_reading_ahead_is_a_queue_error(
    redis_prefix: str, queue_name: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    q = RedisQueue(client=connect(host="127.0.0.1", port=port), prefix=redis_prefix)
    with pytest.raises(ConnectionLost):
        q._start_ahead(queue_name, NOW, 3, ())


def worker(queue: RedisQueue, app: App, name: str) -> Worker:
    return Worker(
        stores=Stores(queue=queue, failed=InMemoryFailedJobStore()),
        app=app,
        options=WorkerOptions(
            queues=(name,), stop_when_empty=True, sleep_seconds=0, memory_mb=0, prefetch=8
        ),
    )


def test_a_worker_goes_on_after_a_connection_lost_while_reading_ahead(
    monkeypatch: pytest.MonkeyPatch, queue: RedisQueue, queue_name: str
) -> None:
    ids = push(queue, queue_name, 40)
    app = App()
    runs: Counter[str] = Counter()

    @app.handler(JOB)
    def ping(job: Job) -> None:
        runs[str(job.id)] += 1

    taken: list[Any] = []
    real_take = redis_queue._take_connection

    def take_dead_ones(pool: Any) -> Any:
        # The first connections taken for reading ahead are closed by the server before
        # the script reaches it: the reservation fails, having run nothing.
        connection = real_take(pool)
        if len(taken) < 2:
            connection.send_command("CLIENT", "ID")
            queue.client.client_kill_filter(_id=connection.read_response())
        taken.append(connection)
        return connection

    monkeypatch.setattr(redis_queue, "_take_connection", take_dead_ones)
    worker(queue, app, queue_name).run()
    assert len(taken) > 2  # it read ahead after the failures too
    assert runs == Counter({job_id: 1 for job_id in ids})
    assert queue.size(queue_name) == 0


def test_a_worker_reading_ahead_shares_a_queue_and_runs_each_job_once(
    redis_prefix: str, queue: RedisQueue, queue_name: str
) -> None:
    ids = push(queue, queue_name, 300)
    app = App()
    runs: Counter[str] = Counter()
    lock = threading.Lock()
    starts: list[int] = []
    real_start = queue._start_ahead

    def counted_start(*args: Any) -> Any:
        starts.append(args[2])
        return real_start(*args)

    queue._reading._start = counted_start

    @app.handler(JOB)
    def ping(job: Job) -> None:
        with lock:
            runs[str(job.id)] += 1

    # A second worker (its own client) drains the same queue at the same time, one job at a
    # time, as a PHP worker would.
    other = RedisQueue(client=connect(host=REDIS_HOST, port=REDIS_PORT), prefix=redis_prefix)
    done = threading.Event()

    def other_worker() -> None:
        finished: list[ReservedJob] = []
        while not done.is_set():
            # The worker's clock: a reservation dated otherwise would look expired to it.
            rows = other.reserve(queue_name, now=int(time.time()), finished=finished)
            with lock:
                for job in rows:
                    runs[job.id] += 1
            finished = rows
            if not rows and queue.size(queue_name) == 0:
                break
        other.delete_many(finished)

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        worker(queue, app, queue_name).run()
    finally:
        done.set()
        thread.join()
        other.close()
    assert starts  # the worker read ahead
    assert runs == Counter({job_id: 1 for job_id in ids})
    assert queue.size(queue_name) == 0


PARSERS = [
    "python",
    pytest.param("hiredis", marks=pytest.mark.skipif(not HIREDIS, reason="no hiredis")),
]


@pytest.mark.parametrize("parser", PARSERS)
def test_both_reply_parsers_give_the_same_jobs(
    redis_prefix: str, queue_name: str, parser: str
) -> None:
    # redis-py reads replies with hiredis when it is installed, else in Python: text, bytes
    # that are not UTF-8 (kept through surrogateescape), and NOSCRIPT come out alike.
    parser_class = PythonParser if parser == "python" else HiredisParser
    pool = redis.ConnectionPool(
        host=REDIS_HOST,
        port=REDIS_PORT,
        decode_responses=True,
        encoding_errors="surrogateescape",
        parser_class=parser_class,
    )
    client = redis.Redis(connection_pool=pool)
    q = RedisQueue(client=client, prefix=redis_prefix)
    q._reserve = client.register_script(f"{scripts.RESERVE}\n-- {uuid.uuid4().hex}\n")
    texts = [
        '{"job":"Zürich \\u00e9","data":"日本"}',
        b'{"job":"\xff\xfe raw"}'.decode("utf-8", "surrogateescape"),
        "{}",
    ]
    try:
        connection = pool.get_connection()
        # (redis-py speaking RESP3 takes its RESP3 Python parser in place of the RESP2 one.)
        assert isinstance(connection._parser, HiredisParser) is (parser == "hiredis")
        pool.release(connection)
        for text in texts:
            q.push(text, queue=queue_name, now=NOW)
        pending = q._start_ahead(queue_name, NOW, 2, ())  # NOSCRIPT, then EVAL
        assert isinstance(pending, RedisReservation)
        ahead = pending.wait()
        assert pending._resent
        rest = q.reserve(queue_name, now=NOW, finished=ahead)  # through redis-py's Script
        jobs = [*ahead, *rest]
        assert [job.payload[: len(text) - 1] for job, text in zip(jobs, texts, strict=True)] == [
            text[:-1] for text in texts
        ]
        assert all(isinstance(job.payload, str) for job in jobs)
        assert [job.attempts for job in jobs] == [1, 1, 1]
        q.delete_many(rest)
        assert q.size(queue_name) == 0
    finally:
        q.close()
