"""PHP and Python workers drain one Redis queue together, and a killed worker loses nothing.

Half the jobs are queued by Laravel (`Queue::bulk` on the redis connection), half by bridge
(`Dispatcher.bulk`), all `Fixtures\\Jobs\\RecordsOnly`. Two Laravel `queue:work redis` daemons
and two `bridge work --connection redis` daemons (one reserving a job at a time, one
prefetching 8) drain the queue at once; every handler logs one row per run, so counting rows
by payload uuid shows any job lost (0 rows) or run twice (2+). 2,000 jobs here (the CI budget);
`BRIDGE_TEST_REDIS_DRAIN_JOBS` asks for more (the full run: 10,000).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis_kit import RedisSide, write_env_file

from bridge.dispatcher import Dispatcher
from tests.support.laravel import ROOT, LaravelEnv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from python_jobs import fixture_classes

JOBS = int(os.environ.get("BRIDGE_TEST_REDIS_DRAIN_JOBS", "2000"))
DRAIN_LIMIT_SECONDS = 150.0


def start_bridge(
    env: LaravelEnv, dotenv: Path, output: Path, queue: str, *extra: str
) -> subprocess.Popen[str]:
    bridge = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert bridge is not None
    environ = {**env.environ(), "FIXTURE_DATABASE_URL": env.database_url}
    argv = [bridge, "--env-file", str(dotenv), "work", "--connection", "redis"]
    argv += ["--app", "tests.support.handlers:app", "--queue", queue, *extra]
    with output.open("w") as sink:
        return subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=sink, stderr=sink, text=True)


def start_php(env: LaravelEnv, output: Path, queue: str) -> subprocess.Popen[str]:
    argv = env.command(
        "work.php",
        *env.work_args(connection="redis", queue=queue, stop_when_empty=False, sleep=0.1, tries=1),
    )
    with output.open("w") as sink:
        return subprocess.Popen(argv, env=env.environ(), stdout=sink, stderr=sink, text=True)


def stop(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def log_count(env: LaravelEnv) -> int:
    return len(env.job_log())


@pytest.mark.slow
def test_php_and_python_workers_drain_one_redis_queue(
    redis_env: LaravelEnv,
    redis_side: RedisSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
    php_binary: str,
) -> None:
    records = fixture_classes(php_binary)["Fixtures\\Jobs\\RecordsOnly"]
    php_lines = redis_env.dispatch("records", queue=queue_name, count=JOBS // 2, bulk=True)
    uuids = [str(json.loads(line["payload"])["uuid"]) for line in php_lines]
    jobs = [records.new(n=index, tag="python") for index in range(JOBS - JOBS // 2)]
    sent = Dispatcher(queue=redis_side.queue).bulk(jobs, queue=queue_name)
    uuids += [d.uuid for d in sent]
    assert len(set(uuids)) == JOBS == redis_side.queue.size(queue_name)

    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    outputs = [tmp_path / f"worker-{i}.log" for i in range(4)]
    workers = [
        start_php(redis_env, outputs[0], queue_name),
        start_bridge(redis_env, dotenv, outputs[1], queue_name, "--sleep", "0.1", "--tries", "1"),
        start_php(redis_env, outputs[2], queue_name),
        start_bridge(
            redis_env, dotenv, outputs[3], queue_name, "--sleep", "0.1", "--tries", "1",
            "--prefetch", "8",
        ),
    ]  # fmt: skip
    started = time.monotonic()
    try:
        while time.monotonic() < started + DRAIN_LIMIT_SECONDS:
            if redis_side.queue.size(queue_name) == 0 and log_count(redis_env) >= JOBS:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        stop(workers)
    texts = [output.read_text(errors="replace") for output in outputs]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], [t[-3000:] for t in texts]
    log = redis_env.job_log()
    runs = collections.Counter(str(row["uuid"]) for row in log)
    lost = [uuid for uuid in uuids if runs[uuid] == 0]
    twice = {uuid: count for uuid, count in runs.items() if count > 1}
    assert (len(lost), twice, set(runs) - set(uuids)) == (0, {}, set())
    assert redis_side.queue.size(queue_name) == 0
    assert redis_env.failed_jobs() == []
    workers_seen = collections.Counter(str(row["worker"]) for row in log)
    assert set(workers_seen) == {"php", "python"}, workers_seen
    print(f"\nredis: {JOBS} jobs in {elapsed:.1f} s; {dict(workers_seen)}; lost 0, twice 0")


def test_a_worker_killed_mid_job_loses_nothing(
    redis_env: LaravelEnv,
    redis_side: RedisSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    [line] = redis_env.dispatch(
        "sleeps_past_timeout", queue=queue_name, args={"seconds": 600, "timeout": 900}
    )
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    worker = start_bridge(
        redis_env, dotenv, tmp_path / "worker.log", queue_name, "--timeout", "900"
    )
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
    assert str(json.loads(again.payload)["uuid"]) == str(
        __import__("json").loads(line["payload"])["uuid"]
    )
