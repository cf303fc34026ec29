"""Fixtures for the Redis queue tests: the Redis at 127.0.0.1:6379 under a key prefix of this
session's own, and Laravel 8's Redis queue (phpredis) on the same keys.

Every session gets a fresh prefix (`bridge-t-<random>:`), and every test a fresh queue
name under it, so parallel runs and tests never see each other's keys; the session deletes
its keys at the end. `redis_env` is Laravel 8 with its `redis` queue connection as default
(failed jobs, batches and the job log on a SQLite file, as an app keeps them in its database).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_kit import RedisSide

from tests.conftest import unavailable
from tests.support.laravel import LaravelEnv, fresh_laravel_env

REDIS_HOST = os.environ.get("BRIDGE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BRIDGE_TEST_REDIS_PORT", "6379"))


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """This session's key prefix; its keys are deleted when the session ends."""
    redis = pytest.importorskip("redis")
    prefix = f"bridge-t-{uuid.uuid4().hex[:10]}:"
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    try:
        yield prefix
    finally:
        doomed = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if doomed:
            client.delete(*doomed)
        client.close()


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"q{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_env(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path, redis_prefix: str
) -> LaravelEnv:
    """Laravel 8 whose default queue connection is `redis` (phpredis) under our prefix."""
    probe = shutil.which(php_binary)
    assert probe is not None
    env = fresh_laravel_env(
        sqlite_url,
        php_binary=php_binary,
        tmp_path=tmp_path,
        queue_connection="redis",
        extra_env={
            "REDIS_HOST": REDIS_HOST,
            "REDIS_PORT": str(REDIS_PORT),
            "REDIS_PREFIX": redis_prefix,
        },
    )
    done = env.php("redis_pop.php", "probe-" + uuid.uuid4().hex[:6], check=False)
    if done.returncode != 0:
        unavailable(
            f"Laravel's Redis queue does not run (php-redis missing?): {done.stderr[-300:]}"
        )
    return env


@pytest.fixture
def redis_side(redis_env: LaravelEnv, redis_prefix: str) -> Iterator[RedisSide]:
    """bridge's Redis queue, failed-job and batch stores on `redis_env`'s keys and tables."""
    side = RedisSide.open(redis_env, prefix=redis_prefix, host=REDIS_HOST, port=REDIS_PORT)
    try:
        yield side
    finally:
        side.close()


def _free_ports(count: int) -> list[int]:
    """Loopback ports free now whose cluster bus ports (port + 10000) are free as well."""
    import socket

    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A 3-master Redis Cluster of redis-server processes on loopback ports: (host, seed port).

    Started for the session and stopped (its processes terminated, its files removed) after.
    """
    import subprocess

    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        unavailable("redis-server / redis-cli are not installed")
    assert server is not None and cli is not None
    base = tmp_path_factory.mktemp("redis-cluster")
    ports = _free_ports(3)
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            folder = base / str(port)
            folder.mkdir()
            nodes.append(
                subprocess.Popen(
                    [
                        server, "--port", str(port), "--bind", "127.0.0.1",
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--dir", str(folder), "--save", "", "--appendonly", "no",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        for port in ports:
            _wait_for(lambda p=port: _cli(cli, p, "ping") == "PONG", f"redis-server :{port}")
        created = subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for port in ports:
            _wait_for(
                lambda p=port: "cluster_state:ok" in _cli(cli, p, "cluster", "info"),
                f"cluster state on :{port}",
            )
        yield "127.0.0.1", ports[0]
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            try:
                node.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        shutil.rmtree(base, ignore_errors=True)


def _cli(cli: str, port: int, *command: str) -> str:
    import subprocess

    done = subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *command],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout.strip()


def _wait_for(ready: object, what: str) -> None:
    """Poll `ready()` until it holds (the cluster comes up on its own schedule); 60 s at most."""
    import time
    from collections.abc import Callable
    from typing import cast

    check = cast(Callable[[], bool], ready)
    deadline = time.monotonic() + 60
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up within 60 s")
        time.sleep(0.05)
