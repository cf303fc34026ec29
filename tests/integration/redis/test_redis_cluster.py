"""The Redis queue on a local 3-master Redis Cluster: the same behaviour, with hash tags.

As Laravel documents, a queue's keys must share a slot: queue names carry a hash tag
(`{emails}`), or, for Laravel 13 (`hash_tag_queues`), the braces are added around the name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import key_slot

from bridge.exceptions import ConfigError
from bridge.queue import Stores
from bridge.queue.base import FailedJobFilter
from bridge.queue.memory import InMemoryFailedJobStore
from bridge.queue.redis import RedisQueue, connect
from bridge.worker import App, Job, Worker, WorkerOptions
from tests.integration.redis.redis_kit import laravel_on_redis
from tests.support.handlers import JobLogWriter, build_app

PAYLOAD = '{"uuid":"u-1","displayName":"Ping","job":"Ping@handle","maxTries":3,"data":{"n":1}}'


@pytest.fixture
def cluster_queue(redis_cluster: tuple[str, int]) -> Iterator[RedisQueue]:
    host, port = redis_cluster
    queue = RedisQueue(
        client=connect(host=host, port=port, cluster=True), prefix="laravel_database_"
    )
    try:
        yield queue
    finally:
        queue.close()


@pytest.fixture
def tagged() -> str:
    return f"{{q{uuid.uuid4().hex[:8]}}}"


def test_all_keys_of_a_tagged_queue_share_a_slot(cluster_queue: RedisQueue, tagged: str) -> None:
    keys = cluster_queue.keys(tagged)
    assert keys[0] == f"laravel_database_queues:{tagged}"
    assert len({key_slot(key.encode()) for key in keys}) == 1


def test_an_untagged_name_is_refused_before_laravel_13(cluster_queue: RedisQueue) -> None:
    with pytest.raises(ConfigError, match="hash tag"):
        cluster_queue.push(PAYLOAD, queue="default", now=100)


def test_laravel_13_adds_the_hash_tag(redis_cluster: tuple[str, int]) -> None:
    host, port = redis_cluster
    name = f"q{uuid.uuid4().hex[:8]}"
    queue = RedisQueue(client=connect(host=host, port=port, cluster=True), hash_tag_queues=True)
    try:
        assert queue.keys(name)[2] == f"queues:{{{name}}}:reserved"
        queue.push(PAYLOAD, queue=name, now=100)
        [job] = queue.reserve(name, now=100)
        assert job.attempts == 1
        queue.delete(job)
        assert queue.size(name) == 0
    finally:
        queue.close()


def test_push_reserve_release_expire_and_delete_on_the_cluster(
    cluster_queue: RedisQueue, tagged: str
) -> None:
    q = cluster_queue
    q.bulk([])
    job_id = q.push(PAYLOAD, queue=tagged, now=100)
    q.push(PAYLOAD, queue=tagged, now=100, delay_seconds=50)
    [first] = q.reserve(tagged, now=100)
    assert (first.id, first.attempts) == (job_id, 1)
    q.release(first, now=100, delay_seconds=10)
    assert (q.pending_size(tagged, now=100), q.delayed_size(tagged, now=100)) == (0, 2)
    [again] = q.reserve(tagged, now=110)
    assert (again.id, again.attempts) == (job_id, 2)
    [later] = q.reserve(tagged, now=150)  # the delayed one is due now
    assert later.attempts == 1
    [expired] = q.reserve(tagged, now=110 + 90)  # `again` was never finished
    assert (expired.id, expired.attempts) == (job_id, 3)
    q.delete_many([expired, later])
    assert q.size(tagged) == 0


def test_reserve_does_not_read_ahead_on_the_cluster(cluster_queue: RedisQueue, tagged: str) -> None:
    # The cluster client routes each command itself: no connection of its pool to keep.
    for _ in range(4):
        cluster_queue.push(PAYLOAD, queue=tagged, now=100)
    first = cluster_queue.reserve(tagged, now=100, limit=2, ahead=2)
    assert len(first) == 2 and not cluster_queue.poll()
    assert cluster_queue.end_reading_ahead() == []
    second = cluster_queue.reserve(tagged, now=100, limit=1, finished=first, ahead=2)
    assert len(second) == 1 and cluster_queue.size(tagged) == 2


def test_the_worker_drains_a_cluster_queue(cluster_queue: RedisQueue, tagged: str) -> None:
    app = App()
    seen: list[int] = []

    @app.handler("Ping@handle")
    def ping(job: Job) -> None:
        seen.append(job.attempts)

    for _ in range(20):
        cluster_queue.push(PAYLOAD, queue=tagged, now=100)
    failed = InMemoryFailedJobStore()
    Worker(
        stores=Stores(queue=cluster_queue, failed=failed),
        app=app,
        options=WorkerOptions(
            queues=(tagged,), stop_when_empty=True, sleep_seconds=0, memory_mb=0, prefetch=4
        ),
    ).run()
    assert seen == [1] * 20
    assert list(failed.select(FailedJobFilter())) == []
    assert cluster_queue.size(tagged) == 0


def test_laravel_8_and_bridge_share_a_cluster_queue(
    redis_cluster: tuple[str, int],
    cluster_queue: RedisQueue,
    tagged: str,
    sqlite_url: str,
    php_binary: str,
    laravel: Path,
    tmp_path: Path,
) -> None:
    host, port = redis_cluster
    env = laravel_on_redis(
        sqlite_url, php_binary, tmp_path, host=host, port=port, CLUSTER="1",
        PREFIX="laravel_database_",
    )  # fmt: skip
    # PHP (phpredis cluster) dispatches; bridge's worker runs it.
    [line] = env.dispatch("plain_public", queue=tagged)
    log = JobLogWriter(env.database_url)
    try:
        Worker(
            stores=Stores(queue=cluster_queue, failed=InMemoryFailedJobStore()),
            app=build_app(log),
            options=WorkerOptions(
                queues=(tagged,), stop_when_empty=True, sleep_seconds=0, memory_mb=0
            ),
        ).run()
    finally:
        log.close()
    # bridge dispatches the same kind; Laravel's queue:work redis runs it.
    [payload] = [line["payload"]]
    cluster_queue.push(
        payload.replace(json.loads(payload)["uuid"], "from-python"), queue=tagged, now=0
    )
    done = env.work(connection="redis", queue=tagged, tries=1)
    assert "Processed" in done.stdout, done.stdout + done.stderr
    rows = env.job_log()
    assert [(r["worker"], r["uuid"]) for r in rows] == [
        ("python", json.loads(payload)["uuid"]),
        ("php", "from-python"),
    ]
    assert rows[0]["values"] == rows[1]["values"] == line["properties"]
    assert cluster_queue.size(tagged) == 0
