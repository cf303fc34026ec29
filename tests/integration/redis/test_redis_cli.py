"""The CLI on the Redis connection: `retry-failed --to-connection redis` and `.env` wiring."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from redis_kit import laravel_on_redis, write_env_file

from tests.integration.interop.interop_kit import BridgeSide
from tests.support.laravel import ROOT, LaravelEnv


def bridge(dotenv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert found is not None
    return subprocess.run(
        [found, "--env-file", str(dotenv), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_database_failed_job_retried_onto_redis_runs_in_laravels_redis_worker(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    # A job of the database connection fails there: its payload has no `id` or `attempts`,
    # which Laravel's Redis pop script needs (it would error after popping, losing the job).
    [line] = redis_env.dispatch("always_fails", connection="database", queue=queue_name)
    assert '"attempts"' not in line["payload"]
    redis_env.work(connection="database", queue=queue_name, tries=1)
    [failed] = redis_env.failed_jobs()
    assert failed["connection"] == "database"
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)

    done = bridge(dotenv, "retry-failed", "all", "--to-connection", "redis", "--yes")

    assert done.returncode == 0, done.stdout + done.stderr
    assert redis_env.failed_jobs() == []
    [moved] = redis_side.queue.client.lrange(redis_side.queue.keys(queue_name)[0], 0, -1)
    assert moved.startswith(line["payload"][:-1])
    assert json.loads(moved)["attempts"] == 0 and len(json.loads(moved)["id"]) == 32
    worked = redis_env.work(connection="redis", queue=queue_name, tries=1)
    assert "Failed:" in worked.stdout, worked.stdout + worked.stderr  # it ran (and failed)
    [again] = redis_env.failed_jobs()
    assert (again["connection"], again["queue"]) == ("redis", queue_name)
    assert [row["worker"] for row in redis_env.job_log()] == ["php", "php"]


def test_work_connection_redis_drains_the_redis_queue_named_in_env(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    # .env keeps the database queue as the default; --connection redis picks Redis, its
    # prefix and its default queue (REDIS_QUEUE), as `queue:work redis` would.
    [line] = redis_env.dispatch("plain_public", queue=queue_name)
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    text = dotenv.read_text().replace("QUEUE_CONNECTION=redis", "QUEUE_CONNECTION=database")
    dotenv.write_text(f"{text}REDIS_QUEUE={queue_name}\n")

    done = bridge_with_log(redis_env, dotenv, "work", "--connection", "redis", "--stop-when-empty",
                           "--app", "tests.support.handlers:app")  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    [row] = redis_env.job_log()
    assert (row["worker"], row["uuid"]) == ("python", json.loads(line["payload"])["uuid"])
    assert redis_side.queue.size(queue_name) == 0


def bridge_with_log(env: LaravelEnv, dotenv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`bridge` with the fixture handlers logging to `env`'s database."""
    found = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert found is not None
    return subprocess.run(
        [found, "--env-file", str(dotenv), *args],
        cwd=ROOT,
        env={**env.environ(), "FIXTURE_DATABASE_URL": env.database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_counts_a_redis_queue_as_laravel_keeps_it(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    # Laravel 8 pushes three ready jobs and one delayed one; bridge reserves one of the three.
    redis_env.dispatch("plain_public", queue=queue_name, count=3)
    redis_env.dispatch("plain_public", queue=queue_name, delay=3600)
    now = int(time.time())
    [held] = redis_side.queue.reserve(queue_name, now=now, limit=1)
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    # The database stays the default connection; --connection picks Redis, as for work.
    text = dotenv.read_text().replace("QUEUE_CONNECTION=redis", "QUEUE_CONNECTION=database")
    dotenv.write_text(text)

    done = bridge(dotenv, "status", "--connection", "redis", "--json", "--max-pending", "1")

    assert done.returncode == 4, done.stdout + done.stderr  # 2 pending > --max-pending 1
    [row] = [r for r in json.loads(done.stdout)["queues"] if r["queue"] == queue_name]
    assert (row["pending"], row["delayed"], row["reserved"]) == (2, 1, 1)
    assert row["over_threshold"] is True
    redis_side.queue.delete(held)


def test_the_start_line_and_status_name_the_redis_server_the_queues_are_in(
    redis_env: LaravelEnv, redis_prefix: str, queue_name: str, tmp_path: Path
) -> None:
    # Found from outside: with QUEUE_CONNECTION=redis in .env, `bridge work` started with
    # "using sqlite:///... (from .env)" and `bridge status` headed its Redis counts "Queues in
    # sqlite:///...": the database that keeps failed jobs, not where the queues are.
    redis_env.dispatch("plain_public", queue=queue_name)
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    where = f"Redis 127.0.0.1:6379 database 0, key prefix {redis_prefix!r};"

    shown = bridge(dotenv, "status", "--queue", queue_name)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    header = shown.stderr.splitlines()[0]
    assert header.startswith(f"Queues in {where} failed jobs in sqlite:///"), header
    as_json = json.loads(bridge(dotenv, "status", "--json").stdout)
    assert as_json["connection"] == "redis"
    assert as_json["redis"] == {
        "host": "127.0.0.1", "port": 6379, "db": 0, "cluster": False, "prefix": redis_prefix,
    }  # fmt: skip

    worked = bridge_with_log(redis_env, dotenv, "work", "--queue", queue_name, "--stop-when-empty",
                             "--app", "tests.support.handlers:app")  # fmt: skip
    assert worked.returncode == 0, worked.stdout + worked.stderr
    [start] = [line for line in worked.stderr.splitlines() if " starting: using " in line]
    assert f" starting: using {where} failed jobs in sqlite:///" in start, start
    assert [row["worker"] for row in redis_env.job_log()] == ["python"]


def test_dispatch_connection_redis_queues_the_job_where_laravels_redis_worker_runs_it(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    # Found from outside: `bridge dispatch` had no --connection, so with the database queue
    # as the .env default a job could not be sent to Redis from the command line.
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    text = dotenv.read_text().replace("QUEUE_CONNECTION=redis", "QUEUE_CONNECTION=database")
    dotenv.write_text(f"{text}BRIDGE_LARAVEL_VERSION=8\n")

    done = bridge(dotenv, "dispatch", "Fixtures\\Jobs\\RecordsOnly", "--connection", "redis",
                  "--queue", queue_name, "--set", "n=7", "--set", "tag=cli", "--json")  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    sent = json.loads(done.stdout)
    assert (sent["connection"], sent["queue"]) == ("redis", queue_name)
    [payload] = redis_side.queue.client.lrange(redis_side.queue.keys(queue_name)[0], 0, -1)
    assert payload.endswith(f'"id":"{sent["id"]}","attempts":0}}')
    worked = redis_env.work(connection="redis", queue=queue_name, tries=1)
    assert "Processed" in worked.stdout, worked.stdout + worked.stderr
    assert [row["uuid"] for row in redis_env.job_log()] == [sent["uuid"]]


def test_a_guessed_key_prefix_that_finds_nothing_says_which_prefix_holds_the_jobs(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, queue_name: str
) -> None:
    # Found from outside: a Laravel 8-12 app whose .env sets neither REDIS_PREFIX nor the
    # version got Laravel 13's default prefix (laravel-database-): its queues looked empty
    # and the worker idled without a word; `bridge work --laravel 8` did not change the
    # prefix either (only BRIDGE_LARAVEL_VERSION did).
    env = laravel_on_redis(sqlite_url, php_binary, tmp_path)  # the skeleton's prefix
    try:
        [line] = env.dispatch("plain_public", queue=queue_name)
        dotenv = write_env_file(env, tmp_path, "unused")
        dotenv.write_text(
            "".join(
                row + "\n" for row in dotenv.read_text().splitlines() if "REDIS_PREFIX" not in row
            )
        )

        shown = bridge(dotenv, "status")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        hint = (
            f"no jobs under the key prefix 'laravel-database-', but {queue_name} under"
            " 'laravel_database_', Laravel 8 to 12's default for this APP_NAME: set"
            " REDIS_PREFIX=laravel_database_ (or BRIDGE_LARAVEL_VERSION) in .env"
        )
        assert f"note: {hint}" in shown.stderr, shown.stderr
        args = (
            "work",
            "--queue",
            queue_name,
            "--stop-when-empty",
            "--app",
            "tests.support.handlers:app",
        )
        idle = bridge_with_log(env, dotenv, *args)
        assert idle.returncode == 0 and hint in idle.stderr, idle.stderr
        assert env.job_log() == []

        worked = bridge_with_log(env, dotenv, *args, "--laravel", "8")
        assert worked.returncode == 0, worked.stdout + worked.stderr
        assert "no jobs under the key prefix" not in worked.stderr
        [row] = env.job_log()
        assert (row["worker"], row["uuid"]) == ("python", json.loads(line["payload"])["uuid"])
    finally:
        from bridge.queue.redis import RedisQueue, connect

        queue = RedisQueue(client=connect(), prefix="laravel_database_")
        queue.clear(queue_name)
        queue.close()


def test_prompts_name_the_redis_queue_a_sweep_acts_on(
    redis_env: LaravelEnv,
    redis_side: BridgeSide,
    redis_prefix: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    # Found from outside: `bridge clear` on the redis connection asked "Delete every job on
    # default in sqlite:///...?", the database that keeps failed jobs, while it was about
    # to empty the Redis queue; `retry-failed --to-connection redis` named that database too.
    redis_env.dispatch("plain_public", queue=queue_name)
    dotenv = write_env_file(redis_env, tmp_path, redis_prefix)
    where = f"in Redis 127.0.0.1:6379 database 0, key prefix {redis_prefix!r}; failed jobs in"

    asked = bridge(dotenv, "clear", "--queue", queue_name)
    assert asked.returncode == 1 and f"Delete every job on {queue_name} {where}" in asked.stderr
    assert redis_side.queue.size(queue_name) == 1  # not answered: nothing deleted

    [failing] = redis_env.dispatch("always_fails", connection="database", queue=queue_name)
    redis_env.work(connection="database", queue=queue_name, tries=1)
    text = dotenv.read_text().replace("QUEUE_CONNECTION=redis", "QUEUE_CONNECTION=database")
    dotenv.write_text(text)
    asked = bridge(dotenv, "retry-failed", "all", "--to-connection", "redis")
    assert asked.returncode == 1, asked.stderr
    assert f"Move 1 failed job(s) back onto the queue {where}" in asked.stderr, asked.stderr
    assert len(redis_env.failed_jobs()) == 1 and failing["payload"]
