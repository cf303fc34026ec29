"""Live against Laravel 8's own Redis queue (phpredis): PHP and bridge share queues:NAME.

PHP dispatches through `dispatch()`/`Bus::chain`/`Bus::batch`/`Queue::push` on the `redis`
connection; bridge's worker runs it, and the other way round with Laravel's `queue:work redis`.
Delayed members are made due by moving their score back (never by waiting); an expired
reservation is made by reserving with a `now` in the past.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.dispatcher import new_job_uuid
from bridge.laravel import JobClass, build_string_payload, command_object
from bridge.laravel.versions import profile_for
from tests.support.describe import describe_command, describe_data
from tests.support.handlers import STRING_JOB
from tests.support.laravel import VALUE_KINDS, LaravelEnv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from interop_kit import (
    BridgeSide,
    log_by_uuid,
    php_run_problems,
    python_run_problems,
    seed_fixture_models,
)
from python_jobs import fixture_classes, python_kinds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "laravel"))
from laravel_fixture_adapter import redis_payload_mismatches
from redis_kit import laravel_on_redis

PROFILE = profile_for("8")


def payload_uuid(payload: str) -> str:
    return str(json.loads(payload)["uuid"])


def make_due(side: BridgeSide, queue: str = "default") -> None:
    """Every delayed member of `queue` becomes due now (its score moves back)."""
    delayed = side.queue.keys(queue)[1]
    client = side.queue.client
    for member in client.zrange(delayed, 0, -1):
        client.zadd(delayed, {member: 0})


@pytest.fixture(scope="module")
def classes(php_binary: str, laravel: Path) -> dict[str, JobClass]:
    return fixture_classes(php_binary)


def test_bridge_runs_every_value_kind_php_dispatched_to_redis(
    redis_env: LaravelEnv, redis_side: BridgeSide
) -> None:
    lines = [line for kind in VALUE_KINDS for line in redis_env.dispatch(kind)]
    assert all(line["payload"] and '"attempts":0}' in line["payload"] for line in lines)
    make_due(redis_side)

    redis_side.work(queue="default")

    logged = log_by_uuid(redis_env.job_log())
    problems = python_run_problems(lines, logged)
    # The chain's next link was pushed onto Redis by bridge's worker and run by it.
    [chain_line] = [line for line in lines if line["kind"] == "chain"]
    [next_link] = chain_line["chained"]
    leftover = [row for rows in logged.values() for row in rows]
    assert [row["job_class"] for row in leftover] == [next_link["class"]], problems
    assert problems == []
    assert redis_side.queue.size("default") == 0
    assert redis_env.failed_jobs() == []
    [batch] = redis_env.batches()
    assert (batch["pending_jobs"], batch["failed_jobs"]) == (0, 0)


def test_laravel_runs_every_value_kind_bridge_dispatched_to_redis(
    redis_env: LaravelEnv, redis_side: BridgeSide, classes: dict[str, JobClass]
) -> None:
    seed_fixture_models(redis_env)
    kinds = python_kinds(classes, connection=redis_env.db_connection, now=time.time)
    dispatcher = redis_side.dispatcher()
    expected: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for kind, spec in kinds.items():
        if spec.mode == "chain":
            sent = [dispatcher.chain(spec.jobs)]
        elif spec.mode == "batch":
            before = set(redis_side.queue.client.lrange(redis_side.queue.keys("default")[0], 0, -1))
            dispatcher.batch(spec.jobs, name="crunch-numbers", allow_failures=True)
            after = redis_side.queue.client.lrange(redis_side.queue.keys("default")[0], 0, -1)
            payloads = [p for p in after if p not in before]
            for payload, job in zip(payloads, spec.jobs, strict=True):
                expected[payload_uuid(payload)] = (
                    kind,
                    job.name,
                    describe_command(command_object(job, PROFILE)),
                )
            continue
        else:
            sent = [dispatcher.dispatch(spec.jobs[0], delay=spec.delay)]
        for dispatched, job in zip(sent, spec.jobs, strict=False):
            assert dispatched.payload.endswith(f'"id":"{dispatched.id}","attempts":0}}')
            expected[dispatched.uuid] = (
                kind,
                job.name,
                describe_command(command_object(job, PROFILE)),
            )
    now = int(time.time())
    string_payload = build_string_payload(
        STRING_JOB, {"n": 1, "s": "ü/é"}, profile=PROFILE, uuid=new_job_uuid(), now=now
    )
    redis_side.queue.push(string_payload, queue="default", now=now)
    expected[payload_uuid(string_payload)] = (
        "string_job",
        STRING_JOB,
        {"data": describe_data({"n": 1, "s": "ü/é"})},
    )
    make_due(redis_side)

    done = redis_env.work(connection="redis", tries=1)

    assert "Failed:" not in done.stdout, done.stdout + done.stderr
    assert php_run_problems(expected, log_by_uuid(redis_env.job_log())) == []
    assert redis_side.queue.size("default") == 0
    assert redis_env.failed_jobs() == []


def test_reservations_are_byte_identical_to_laravels(
    redis_env: LaravelEnv, redis_side: BridgeSide, queue_name: str
) -> None:
    [line] = redis_env.dispatch("plain_public", queue=queue_name)
    payload = line["payload"]
    twin = f"{queue_name}-twin"
    redis_side.queue.push(payload, queue=twin, now=int(time.time()))

    php = json.loads(redis_env.php("redis_pop.php", queue_name).stdout)
    [ours] = redis_side.queue.reserve(twin, now=int(time.time()))

    assert php["job"] == ours.payload == payload
    assert php["reserved"] == ours.reserved_payload
    assert (php["attempts"], php["id"]) == (ours.attempts, ours.id)
    [member] = redis_side.queue.client.zrange(redis_side.queue.keys(queue_name)[2], 0, -1)
    assert member == ours.reserved_payload  # what Laravel's delete and release name


def test_expired_reservations_pass_between_php_and_python(
    redis_env: LaravelEnv, redis_side: BridgeSide, queue_name: str
) -> None:
    [line] = redis_env.dispatch("plain_public", queue=queue_name)
    # bridge reserves it long ago: its reservation has expired by now.
    [ours] = redis_side.queue.reserve(queue_name, now=int(time.time()) - 1000)
    php = json.loads(redis_env.php("redis_pop.php", queue_name).stdout)
    assert (php["job"], php["attempts"]) == (ours.reserved_payload, 2)
    # ...and PHP's reservation (retry_after 90) expires for a worker 91 s later.
    assert redis_side.queue.reserve(queue_name, now=int(time.time())) == []
    [again] = redis_side.queue.reserve(queue_name, now=int(time.time()) + 91)
    assert (again.payload, again.attempts, again.id) == (php["reserved"], 3, php["id"])
    assert payload_uuid(again.payload) == payload_uuid(line["payload"])


def test_release_failure_and_queue_retry_across_languages(
    redis_env: LaravelEnv, redis_side: BridgeSide, queue_name: str
) -> None:
    # PHP's job releases itself once (Laravel's release script), bridge runs attempt 2.
    [released] = redis_env.dispatch(
        "releases", queue=queue_name, args={"times": 1, "releaseDelay": 0}
    )
    redis_env.work(connection="redis", queue=queue_name, once=True, tries=3)
    assert redis_side.queue.client.zcard(redis_side.queue.keys(queue_name)[1]) == 1
    make_due(redis_side, queue_name)
    redis_side.work(queue=queue_name, tries=3)
    runs = [(r["worker"], r["attempts"]) for r in redis_env.job_log()]
    assert runs == [("php", 1), ("python", 2)]

    # A failure lands in failed_jobs with the raw body Laravel would record...
    [failing] = redis_env.dispatch("always_fails", queue=queue_name)
    redis_side.work(queue=queue_name, tries=1)
    [failed] = redis_env.failed_jobs()
    assert (failed["connection"], failed["queue"], failed["payload"]) == (
        "redis",
        queue_name,
        failing["payload"],
    )
    # ...and Laravel's own queue:retry pushes it back onto Redis, attempts reset.
    redis_env.retry("all")
    assert redis_env.failed_jobs() == []
    [back] = redis_side.queue.client.lrange(redis_side.queue.keys(queue_name)[0], 0, -1)
    assert json.loads(back)["attempts"] == 0
    assert payload_uuid(back) == payload_uuid(failing["payload"])
    redis_env.work(connection="redis", queue=queue_name, tries=1)
    assert [r["worker"] for r in redis_env.job_log()][-1] == "php"
    assert released["payload"] is not None


@pytest.mark.parametrize("client", ["phpredis", "memory"])
def test_laravels_redis_payloads_are_bridges_byte_for_byte(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, redis_prefix: str, client: str
) -> None:
    """Every value kind, and a bulk push, as Laravel 8's RedisQueue writes it: to a real Redis
    (phpredis), and to the harness's in-memory client the live Laravel 12/13 tests use, which
    must record the same bytes a real Redis gets."""
    env = laravel_on_redis(sqlite_url, php_binary, tmp_path, PREFIX=redis_prefix, CLIENT=client)
    lines = [line for kind in VALUE_KINDS for line in env.dispatch(kind)]
    lines += env.dispatch("plain_public", bulk=True, count=2)
    assert len(lines) >= len(VALUE_KINDS) + 2
    for line in lines:
        assert list(json.loads(line["payload"]))[-2:] == ["id", "attempts"], line["kind"]
    assert redis_payload_mismatches(lines) == []
