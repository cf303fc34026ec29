"""Laravel 12.67 and 13.26's own RedisQueue writes the payloads bridge writes for Redis.

This PHP has neither phpredis nor sockets, so Laravel's `RedisQueue` hands its payloads to
the harness's in-memory client (`php_fixtures/app/Harness/MemoryRedis.php`, `REDIS_CLIENT=
memory`); the bytes are still built by that Laravel's own queue code. Laravel 8 is checked the
same way against a real Redis and against the same in-memory client
(`integration/redis/test_redis_laravel8.py`).

These versions write `delay` after the Redis keys (`Queue::createPayload` adds it after
`RedisQueue::createPayloadArray`), unlike Laravel 8, whose payloads end with them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from bridge.queue.redis import with_redis_fields
from tests.support.laravel import VALUE_KINDS
from tests.support.laravel_live import LiveLaravelEnv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "laravel"))
from laravel_fixture_adapter import redis_payload_mismatches


@pytest.fixture(scope="module")
def redis_session(live_session: LiveLaravelEnv) -> Iterator[LiveLaravelEnv]:
    """The same Laravel and database with `redis` as the default queue connection: jobs go to
    Redis without naming it (naming it would put `connection` into each command)."""
    env = cast(LiveLaravelEnv, live_session.with_options(queue_connection="redis", session=None))
    served = env.open_session()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def on_redis(live_env: LiveLaravelEnv, redis_session: LiveLaravelEnv) -> LiveLaravelEnv:
    """`redis_session`, with the harness tables `live_env` emptied."""
    return redis_session


def test_laravels_redis_payloads_are_bridges_byte_for_byte(on_redis: LiveLaravelEnv) -> None:
    lines = [line for kind in VALUE_KINDS for line in on_redis.dispatch(kind)]
    lines += on_redis.dispatch("plain_public", bulk=True, count=2)
    assert len(lines) >= len(VALUE_KINDS) + 2
    for line in lines:
        keys = list(json.loads(line["payload"]))
        assert keys[-3:] == ["id", "attempts", "delay"], (line["kind"], keys)
    assert redis_payload_mismatches(lines) == []


def test_a_database_payload_of_these_versions_takes_the_redis_keys_before_delay(
    live_env: LiveLaravelEnv, on_redis: LiveLaravelEnv
) -> None:
    """What `retry-failed --to-connection redis` does to a database job's payload is what this
    Laravel would have written had the job been dispatched to Redis."""
    [in_table] = live_env.dispatch("plain_public")
    [pushed] = on_redis.dispatch("plain_public")
    recorded = json.loads(pushed["payload"])
    stamped = json.loads(with_redis_fields(in_table["payload"], job_id="x" * 32))
    assert list(stamped) == list(recorded)
