"""Payloads as Horizon pushes them, on Laravel 8's Redis queue, taken by bridge's worker.

Horizon (laravel/horizon) is not in Debian and cannot run here, so what it changes in a
payload is read from its source (`Laravel\\Horizon\\RedisQueue`, `JobPayload`):

* its `createPayloadArray` sets `id` to the payload's `uuid`, in the place where Laravel's
  `RedisQueue` put a random string;
* `JobPayload::prepare` appends `type`, `tags`, `silenced` and `pushedAt`, and `set` encodes
  the whole payload again with `json_encode`'s default flags (`/` as `\\/`, non-ASCII as
  `\\u` escapes).

The tests make that text with PHP's own `json_decode` and `json_encode` from payloads Laravel
8 dispatched, put it where Horizon's push would have put it, and let bridge's worker and
Laravel's own take the jobs from there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bridge.queue.redis import RedisQueue
from tests.support.laravel import VALUE_KINDS, LaravelEnv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from interop_kit import BridgeSide, log_by_uuid, python_run_problems

# What Horizon's push does to a payload Laravel's RedisQueue built (see the module docstring).
HORIZON_PREPARE = r"""
$payload = json_decode(stream_get_contents(STDIN), true);
$payload['id'] = $payload['uuid'];
$payload = array_merge($payload, [
    'type' => 'job',
    'tags' => ['App\Models\User:1', 'reports/ü'],
    'silenced' => false,
    'pushedAt' => '1700000000.1234',
]);
echo json_encode($payload);
"""


def uuid_of(line: dict[str, Any]) -> str:
    return str(json.loads(line["payload"])["uuid"])


def as_horizon_pushes(php_binary: str, payload: str) -> str:
    done = subprocess.run(
        [php_binary, "-r", HORIZON_PREPARE],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def horizonize(php_binary: str, queue: RedisQueue, name: str) -> dict[str, str]:
    """Every payload of `name` (ready and delayed, due at once) as Horizon would have pushed
    it; returns the new text by uuid."""
    ready, delayed = queue.keys(name)[:2]
    client = queue.client
    made: dict[str, str] = {}
    for index, payload in enumerate(client.lrange(ready, 0, -1)):
        made[json.loads(payload)["uuid"]] = text = as_horizon_pushes(php_binary, str(payload))
        client.lset(ready, index, text)
    for member in client.zrange(delayed, 0, -1):
        payload = str(member)
        made[json.loads(payload)["uuid"]] = text = as_horizon_pushes(php_binary, payload)
        client.zrem(delayed, payload)
        client.zadd(delayed, {text: 0})
    return made


def test_bridge_runs_every_value_kind_as_horizon_pushes_it(
    php_binary: str, redis_env: LaravelEnv, redis_side: BridgeSide, queue_name: str
) -> None:
    lines = [line for kind in VALUE_KINDS for line in redis_env.dispatch(kind, queue=queue_name)]
    made = horizonize(php_binary, redis_side.queue, queue_name)
    assert len(made) == len(lines)
    assert all('"pushedAt":"1700000000.1234"}' in text for text in made.values())
    assert all(json.loads(text)["id"] == uuid for uuid, text in made.items())

    redis_side.work(queue=queue_name)

    logged = log_by_uuid(redis_env.job_log())
    for uuid in made:
        assert [row["worker"] for row in logged.get(uuid, [])] == ["python"], uuid
    assert python_run_problems(lines, logged) == []
    assert redis_env.failed_jobs() == []


def test_a_horizon_payload_is_released_and_failed_as_it_was_pushed(
    php_binary: str, redis_env: LaravelEnv, redis_side: BridgeSide, queue_name: str
) -> None:
    [released] = redis_env.dispatch(
        "releases", queue=queue_name, args={"times": 1, "releaseDelay": 0}
    )
    made = horizonize(php_binary, redis_side.queue, queue_name)

    redis_side.work(queue=queue_name, tries=3, max_jobs=1)
    # Released by bridge: the member in the delayed set is Horizon's text with its attempt
    # counted, keys and escapes as they were (the pop script re-encodes it with cjson).
    [member] = redis_side.queue.client.zrange(redis_side.queue.keys(queue_name)[1], 0, -1)
    pushed = json.loads(made[uuid_of(released)])
    assert json.loads(member) == {**pushed, "attempts": 1}

    redis_side.queue.client.zadd(redis_side.queue.keys(queue_name)[1], {member: 0})
    redis_env.work(connection="redis", queue=queue_name, once=True, tries=3)
    runs = [(row["worker"], row["attempts"]) for row in redis_env.job_log()]
    assert runs == [("python", 1), ("php", 2)]

    [failing] = redis_env.dispatch("always_fails", queue=queue_name)
    made = horizonize(php_binary, redis_side.queue, queue_name)
    redis_side.work(queue=queue_name, tries=1)
    # Failed by bridge: failed_jobs holds the payload byte for byte as Horizon pushed it,
    # as Laravel's failer records a Redis job's raw body.
    [failed] = redis_env.failed_jobs()
    assert (failed["uuid"], failed["payload"]) == (uuid_of(failing), made[uuid_of(failing)])
