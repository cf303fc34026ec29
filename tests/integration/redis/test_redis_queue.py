"""bridge's Redis queue against the real Redis: Laravel's keys and state, step by step.

Each test uses a queue name of its own under the session's prefix. Times are passed in
(storage never reads a clock), so expiry is tested by passing a later `now`, not by waiting.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from bridge.exceptions import ConfigError, PayloadError
from bridge.queue import Stores
from bridge.queue.base import FailedJobFilter, NewJob, ReservedJob
from bridge.queue.memory import InMemoryFailedJobStore
from bridge.queue.redis import (
    RedisQueue,
    _reserved_jobs,
    connect,
    has_hash_tag,
    with_redis_fields,
)
from bridge.worker import App, Job, Worker, WorkerOptions
from tests.integration.redis.redis_kit import REDIS_HOST, REDIS_PORT

PAYLOAD = (
    '{"uuid":"u-1","displayName":"App\\\\Jobs\\\\Ping",'
    '"job":"App\\\\Jobs\\\\Ping@handle","data":{"n":1}}'
)


@pytest.fixture
def queue(redis_prefix: str) -> Iterator[RedisQueue]:
    q = RedisQueue(
        client=connect(host=REDIS_HOST, port=REDIS_PORT),
        prefix=redis_prefix,
        retry_after_seconds=90,
    )
    try:
        yield q
    finally:
        q.close()


def test_keys_are_laravels_under_the_prefix(queue: RedisQueue, queue_name: str) -> None:
    p = queue.prefix
    assert queue.keys(queue_name) == (
        f"{p}queues:{queue_name}",
        f"{p}queues:{queue_name}:delayed",
        f"{p}queues:{queue_name}:reserved",
        f"{p}queues:{queue_name}:notify",
    )
    queue.push(PAYLOAD, queue=queue_name, now=100)
    queue.push(PAYLOAD, queue=queue_name, now=100, delay_seconds=5)
    client = queue.client
    assert client.llen(f"{p}queues:{queue_name}") == 1
    assert client.llen(f"{p}queues:{queue_name}:notify") == 1
    assert client.zrange(f"{p}queues:{queue_name}:delayed", 0, -1, withscores=True)[0][1] == 105


def test_push_appends_id_and_attempts_as_laravel(queue: RedisQueue, queue_name: str) -> None:
    job_id = queue.push(PAYLOAD, queue=queue_name, now=100)
    [stored] = queue.client.lrange(queue.keys(queue_name)[0], 0, -1)
    assert stored == f'{PAYLOAD[:-1]},"id":"{job_id}","attempts":0}}'
    assert isinstance(job_id, str) and len(job_id) == 32 and job_id.isalnum()


@pytest.mark.parametrize(
    ("payload", "stamped"),
    [
        ('{"uuid":"u","createdAt":5,"delay":null}', '{"uuid":"u","createdAt":5,ID,"delay":null}'),
        ('{"uuid":"u","createdAt":5,"delay":300}', '{"uuid":"u","createdAt":5,ID,"delay":300}'),
        # A `delay` key inside `data` is not the payload's own: the keys go at the end.
        ('{"uuid":"u","data":{"delay":null}}', '{"uuid":"u","data":{"delay":null},ID}'),
        ('{"uuid":"u","delay":"soon"}', '{"uuid":"u","delay":"soon",ID}'),
        ("{}", "{ID}"),
    ],
)
def test_the_redis_keys_go_before_a_trailing_delay_else_at_the_end(
    payload: str, stamped: str
) -> None:
    expected = stamped.replace("ID", '"id":"j","attempts":0')
    assert with_redis_fields(payload, job_id="j") == expected
    assert with_redis_fields(expected) == expected  # stamped once only


def test_a_payload_with_attempts_is_pushed_unchanged() -> None:
    retried = '{"uuid":"u","attempts":0,"id":"abc","data":{}}'
    assert with_redis_fields(retried) == retried
    nested = '{"uuid":"u","data":{"attempts":3}}'
    assert with_redis_fields(nested, "X").endswith(',"id":"X","attempts":0}')
    with pytest.raises(PayloadError):
        with_redis_fields("[1,2]")


def test_reserve_counts_the_attempt_in_the_reserved_member(
    queue: RedisQueue, queue_name: str
) -> None:
    job_id = queue.push(PAYLOAD, queue=queue_name, now=100)
    [job] = queue.reserve(queue_name, now=100)
    assert (job.id, job.attempts, job.reserved_at) == (job_id, 1, 100)
    assert json.loads(job.payload)["attempts"] == 0
    assert job.reserved_payload is not None
    assert json.loads(job.reserved_payload) == {**json.loads(job.payload), "attempts": 1}
    [(member, score)] = queue.client.zrange(queue.keys(queue_name)[2], 0, -1, withscores=True)
    assert (member, score) == (job.reserved_payload, 190)
    assert queue.client.llen(queue.keys(queue_name)[3]) == 0  # its notify token is gone
    assert queue.reserve(queue_name, now=100) == []
    # Built without the dataclass's __init__, it is still the frozen ReservedJob it names.
    assert job == ReservedJob(job_id, queue_name, job.payload, 1, 100, 100, 100, member)
    assert hash(job) == hash(dataclasses.replace(job))


def test_a_reserve_reply_with_a_missing_field_is_an_error_not_a_shorter_batch() -> None:
    with pytest.raises(ValueError):
        _reserved_jobs("q", 100, [b"job", b"reserved", b"1", b"id", b"job2", b"reserved2", b"1"])


def test_delete_removes_the_exact_reserved_member(queue: RedisQueue, queue_name: str) -> None:
    queue.push(PAYLOAD, queue=queue_name, now=100)
    [job] = queue.reserve(queue_name, now=100)
    queue.delete(job)
    assert queue.size(queue_name) == 0


def test_release_moves_the_reservation_to_delayed(queue: RedisQueue, queue_name: str) -> None:
    queue.push(PAYLOAD, queue=queue_name, now=100)
    [job] = queue.reserve(queue_name, now=100)
    queue.release(job, now=110, delay_seconds=30)
    assert (queue.reserved_size(queue_name), queue.delayed_size(queue_name, now=110)) == (0, 1)
    assert queue.reserve(queue_name, now=139) == []
    [again] = queue.reserve(queue_name, now=140)
    assert (again.id, again.attempts) == (job.id, 2)
    assert again.payload == job.reserved_payload  # the released text, attempts 1


def test_release_of_a_reservation_taken_by_another_worker_adds_no_copy(
    queue: RedisQueue, queue_name: str
) -> None:
    queue.push(PAYLOAD, queue=queue_name, now=100)
    [mine] = queue.reserve(queue_name, now=100)
    [theirs] = queue.reserve(queue_name, now=190)  # retry_after expired: handed out again
    assert theirs.attempts == 2
    queue.release(mine, now=191)
    assert queue.size(queue_name) == 1  # only their reservation


def test_retry_after_expiry_hands_the_job_out_again(queue: RedisQueue, queue_name: str) -> None:
    queue.push(PAYLOAD, queue=queue_name, now=100)
    [first] = queue.reserve(queue_name, now=100)
    assert queue.reserve(queue_name, now=189) == []
    [second] = queue.reserve(queue_name, now=190)
    assert (second.id, second.attempts) == (first.id, 2)
    assert queue.size(queue_name) == 1


def test_reserve_many_and_delete_finished_in_the_same_script(
    queue: RedisQueue, queue_name: str
) -> None:
    queue.bulk([NewJob(PAYLOAD, queue_name, 100, 100) for _ in range(5)])
    batch = queue.reserve(queue_name, now=100, limit=3)
    assert len(batch) == 3 and len({j.id for j in batch}) == 3
    rest = queue.reserve(queue_name, now=100, limit=3, finished=batch)
    assert len(rest) == 2
    assert queue.reserved_size(queue_name) == 2


def test_unreserve_puts_the_job_back_first_with_its_attempts(
    queue: RedisQueue, queue_name: str
) -> None:
    queue.push(PAYLOAD.replace("u-1", "first"), queue=queue_name, now=100)
    queue.push(PAYLOAD.replace("u-1", "second"), queue=queue_name, now=100)
    [job] = queue.reserve(queue_name, now=100)
    assert queue.unreserve(job) is True
    assert queue.unreserve(job) is False
    [again] = queue.reserve(queue_name, now=100)
    assert (again.payload, again.attempts) == (job.payload, 1)


def test_bulk_sends_delayed_rows_to_delayed(queue: RedisQueue, queue_name: str) -> None:
    queue.bulk([NewJob(PAYLOAD, queue_name, 100, 100), NewJob(PAYLOAD, queue_name, 160, 100)])
    assert queue.pending_size(queue_name, now=100) == 1
    assert queue.delayed_size(queue_name, now=100) == 1
    assert queue.pending_size(queue_name, now=160) == 2
    assert queue.clear(queue_name) == 2
    assert queue.size(queue_name) == 0


def test_an_undecodable_payload_is_reserved_whole_and_failed_with_the_reason(
    queue: RedisQueue, queue_name: str
) -> None:
    # Laravel's pop script fails after its LPOP on such a payload, and the job is gone.
    broken = '{"uuid": "x", "job": '
    queue.client.rpush(queue.keys(queue_name)[0], broken)
    failed = InMemoryFailedJobStore()
    worker = Worker(
        stores=Stores(queue=queue, failed=failed),
        app=App(),
        options=WorkerOptions(
            queues=(queue_name,), stop_when_empty=True, sleep_seconds=0, memory_mb=0
        ),
    )
    worker.run()
    [record] = failed.select(FailedJobFilter())
    assert (record.payload, record.connection, record.queue) == (broken, "redis", queue_name)
    assert "JSON" in record.exception or "payload" in record.exception.lower()
    assert queue.size(queue_name) == 0


def test_the_worker_runs_redis_jobs_with_no_second_code_path(
    queue: RedisQueue, queue_name: str
) -> None:
    app = App()
    seen: list[tuple[str, int]] = []

    @app.handler("App\\Jobs\\Ping@handle")
    def ping(job: Job) -> None:
        seen.append((str(job.id), job.attempts))
        if job.attempts == 1:
            job.release(0)

    job_id = queue.push(PAYLOAD.replace('"data"', '"maxTries":3,"data"'), queue=queue_name, now=100)
    Worker(
        stores=Stores(queue=queue, failed=InMemoryFailedJobStore()),
        app=app,
        options=WorkerOptions(
            queues=(queue_name,), stop_when_empty=True, sleep_seconds=0, memory_mb=0
        ),
    ).run()
    assert seen == [(job_id, 1), (job_id, 2)]
    assert queue.size(queue_name) == 0


def test_block_for_waits_for_a_push(redis_prefix: str, queue_name: str) -> None:
    import threading
    import time

    import redis

    # The blocking client carries a name of its own, so the pusher can see it blocked.
    name = f"bridge-test-{queue_name}"
    blocking = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, decode_responses=True, client_name=name
    )
    q = RedisQueue(client=blocking, prefix=redis_prefix, block_for_seconds=30)
    other = RedisQueue(client=connect(host=REDIS_HOST, port=REDIS_PORT), prefix=redis_prefix)
    seen_blocked = threading.Event()

    # The push happens only once the reservation found the queue empty and blocks on
    # :notify (its client is seen in BLPOP); the reservation then returns the job.
    def push_when_blocked() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            clients = other.client.client_list()
            if any(c.get("name") == name and c.get("cmd") == "blpop" for c in clients):
                seen_blocked.set()
                break
            time.sleep(0.01)
        other.push(PAYLOAD, queue=queue_name, now=100)

    pusher = threading.Thread(target=push_when_blocked)
    pusher.start()
    try:
        jobs = q.reserve(queue_name, now=100)
    finally:
        pusher.join()
        q.close()
        other.close()
    assert seen_blocked.is_set()
    assert len(jobs) == 1


def test_cluster_names_need_a_hash_tag_before_laravel_13() -> None:
    assert has_hash_tag("{default}") and has_hash_tag("a{b}c")
    assert not has_hash_tag("default") and not has_hash_tag("{}") and not has_hash_tag("}{")
    with pytest.raises(ConfigError, match="hash tag"):
        q = RedisQueue.__new__(RedisQueue)
        q.is_cluster, q.hash_tag_queues, q.prefix, q._keys = True, False, "", {}
        q.keys("default")


def test_queue_names_and_the_oldest_pending_job(redis_prefix: str) -> None:
    # A prefix of its own, so only this test's queues are listed (glob characters escaped).
    prefix = f"{redis_prefix}names[1]*:"
    q = RedisQueue(client=connect(host=REDIS_HOST, port=REDIS_PORT), prefix=prefix)
    try:
        assert q.queue_names() == []
        q.push(PAYLOAD, queue="b", now=100)
        q.push(PAYLOAD, queue="a", now=100, delay_seconds=10)
        q.push(PAYLOAD.replace('"data"', '"createdAt":1700000000,"data"'), queue="c", now=100)
        assert len(q.reserve("b", now=100)) == 1  # b is now only in :reserved
        assert q.queue_names() == ["a", "b", "c"]
        assert q.oldest_pending_created_at("c") == 1700000000
        assert q.oldest_pending_created_at("b") is None  # nothing pending
        q.push(PAYLOAD, queue="b", now=100)
        assert q.oldest_pending_created_at("b") is None  # a Laravel 8 payload: no createdAt
    finally:
        for name in ("a", "b", "c"):
            q.clear(name)
        q.close()


@pytest.mark.parametrize("profile", ["8", "9", "10", "11", "12.10", "12.11", "12", "13"])
def test_the_dispatcher_writes_each_profiles_payload_plus_laravels_redis_keys(
    queue: RedisQueue, queue_name: str, profile: str
) -> None:
    from bridge.dispatcher import Dispatcher
    from bridge.laravel.classes import JobClass, Prop
    from bridge.queue.memory import InMemoryQueue

    ping = JobClass(name="App\\Jobs\\Ping", properties=(Prop("n", type="int"),))
    fixed = {"clock": lambda: 1_700_000_000.0, "uuid_factory": lambda: "5f0c-fixed"}
    on_redis = Dispatcher(queue=queue, profile=profile, **fixed).dispatch(
        ping.new(n=1), queue=queue_name
    )
    in_table = Dispatcher(queue=InMemoryQueue(), profile=profile, **fixed).dispatch(
        ping.new(n=1), queue=queue_name
    )
    # The database payload of that version with `id` and `attempts` where RedisQueue adds
    # them: at the end, or before the `delay` that 12+ adds last (live: Laravel 8.83 in
    # test_redis_laravel8.py, 12.67 and 13.26 in live/test_live_redis_payloads.py).
    fields = f',"id":"{on_redis.id}","attempts":0'
    head, delay, tail = in_table.payload.rpartition(',"delay":')
    expected = f"{head}{fields}{delay}{tail}" if delay else f"{in_table.payload[:-1]}{fields}}}"
    assert on_redis.payload == expected
    # `delay` arrives with Queue::createPayload in 12.11.0 (read in laravel/framework's tags).
    assert ('"delay":' in in_table.payload) == (profile not in ("8", "9", "10", "11", "12.10"))
    assert queue.client.lrange(queue.keys(queue_name)[0], 0, -1) == [on_redis.payload]
