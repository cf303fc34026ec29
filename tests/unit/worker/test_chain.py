"""Chains: the next job is dispatched from `chained` after success, never after failure."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from worker_kit import Env, fixture_line

from bridge.php import PhpObject, loads
from bridge.worker import Job

RESIZE, PUBLISH = "App\\Jobs\\ResizeImage", "App\\Jobs\\PublishImage"
UUID_V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    "version", ["8.83.26", "9.52.22", "11.56.0", "12.11.0", "12.67.0", "13.26.1"]
)
def test_success_dispatches_next_before_deleting(env: Env, version: str) -> None:
    line = fixture_line("chain", version)
    order: list[str] = []
    pushed: list[str] = []
    real_push, real_delete, real_reserve = env.queue.push, env.queue.delete, env.queue.reserve

    def push(payload: str, **kwargs: Any) -> int:
        order.append("push")
        pushed.append(payload)
        return real_push(payload, **kwargs)

    def delete(job: Any) -> None:
        order.append("delete")
        real_delete(job)

    def reserve(queue: str, **kwargs: Any) -> Any:
        # A worker deletes its finished rows in the next reservation's transaction.
        if kwargs.get("finished"):
            order.append("delete")
        return real_reserve(queue, **kwargs)

    seen: list[tuple[str, dict[str, Any]]] = []
    env.app.register(RESIZE, lambda job: seen.append((job.name, job.values)))
    env.app.register(PUBLISH, lambda job: seen.append((job.name, job.values)))
    env.push(line["payload"])
    env.queue.push = push  # type: ignore[method-assign]
    env.queue.delete = delete  # type: ignore[method-assign]
    env.queue.reserve = reserve  # type: ignore[method-assign]
    env.worker().run()

    assert order[:2] == ["push", "delete"]
    assert [name for name, _ in seen] == [RESIZE, PUBLISH]
    assert seen[1][1]["imagePath"] == line["chained"][0]["properties"]["imagePath"]
    assert env.queue.rows() == [] and env.failed_rows() == []

    first = json.loads(line["payload"])
    nxt = json.loads(pushed[0])
    assert UUID_V4.fullmatch(nxt["uuid"]) and nxt["uuid"] != first["uuid"]
    # Same keys in the same order as the release wrote for the first job.
    assert list(nxt) == list(first)
    assert list(nxt["data"]) == list(first["data"])
    assert (nxt["displayName"], nxt["data"]["commandName"]) == (PUBLISH, PUBLISH)
    assert nxt["job"] == first["job"]
    command = loads(nxt["data"]["command"])
    assert isinstance(command, PhpObject) and command.class_name == PUBLISH
    assert not command.get("chained")
    expected = loads(line["chained_commands"][0])
    for name, value in expected.as_dict().items():
        if name not in {"chained", "chainCatchCallbacks", "connection", "queue"}:
            assert command[name] == value


def test_next_job_goes_to_chain_queue(env: Env) -> None:
    line = fixture_line("chain")
    payload = json.loads(line["payload"])
    first = loads(payload["data"]["command"])
    first.set("chainQueue", "images")
    from bridge.php import dumps

    payload["data"]["command"] = dumps(first).decode()
    env.app.register(RESIZE, lambda job: None)
    env.push(json.dumps(payload))
    env.worker().run()
    [row] = env.queue.rows()
    assert row.queue == "images"
    command = loads(json.loads(row.payload)["data"]["command"])
    assert (command["queue"], command["chainQueue"]) == ("images", "images")


def test_failure_does_not_dispatch_next(env: Env) -> None:
    line = fixture_line("chain")

    def boom(job: Job) -> None:
        raise RuntimeError("no")

    env.app.register(RESIZE, boom)
    env.push(line["payload"])
    env.worker().run()
    assert env.queue.rows() == [] and len(env.failed_rows()) == 1


def test_release_does_not_dispatch_next(env: Env) -> None:
    env.app.register(RESIZE, lambda job: job.release(60))
    env.push(fixture_line("chain")["payload"])
    env.worker().run()
    [row] = env.queue.rows()
    assert json.loads(row.payload)["displayName"] == RESIZE
