"""Fixtures for the Redis queue tests: those of `redis_kit`, and a Redis Cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from redis_kit import queue_name, redis_env, redis_prefix, redis_side  # noqa: F401 (fixtures)

from tests.conftest import unavailable


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
