"""A bridge worker killed mid-job on a Redis queue loses nothing: the job is handed out again.

(The drain of one Redis queue by PHP and Python workers together is
`tests/integration/interop/test_shared_drain.py`'s, on every storage.)
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from redis_kit import write_env_file

from tests.integration.interop.interop_kit import BridgeSide, start_bridge
from tests.support.laravel import LaravelEnv


def log_count(env: LaravelEnv) -> int:
    return len(env.job_log())


def test_a_worker_killed_mid_job_loses_nothing(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    [line] = redis_env.dispatch(
        "sleeps_past_timeout", queue=queue_name, args={"seconds": 600, "timeout": 900}
    )
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    argv = ["--env-file", str(dotenv), "work", "--connection", "redis", "--queue", queue_name]
    argv += ["--app", "tests.support.handlers:app", "--timeout", "900"]
    worker = start_bridge(redis_env, tmp_path / "worker.log", *argv)
    try:
        # The handler logs its row first, then sleeps: the job is running once the row exists.
        deadline = time.monotonic() + 60
        while log_count(redis_env) == 0 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert log_count(redis_env) == 1, (tmp_path / "worker.log").read_text()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    # The job is still reserved; once retry_after has passed it is handed out again.
    queue = redis_side.queue
    assert (queue.size(queue_name), queue.reserved_size(queue_name)) == (1, 1)
    now = int(time.time())
    assert queue.reserve(queue_name, now=now) == []
    [again] = queue.reserve(queue_name, now=now + redis_env.retry_after + 1)
    assert again.attempts == 2
    assert str(json.loads(again.payload)["uuid"]) == str(json.loads(line["payload"])["uuid"])
