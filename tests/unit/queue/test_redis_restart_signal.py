"""The Redis cache store's restart signal: its keys, and the values it may hold."""

from __future__ import annotations

from typing import Any

from bridge.queue.redis_restart_signal import (
    read_redis_restart_signal,
    redis_restart_keys,
    write_redis_restart_signal,
)


class Values:
    """Just GET and SET, on a dict: what the functions ask of a client."""

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


def test_keys_put_the_connection_prefix_then_the_cache_prefix_and_a_colon() -> None:
    assert redis_restart_keys("laravel_database_", ["laravel_cache", "laravel_cache_"]) == [
        "laravel_database_laravel_cache:illuminate:queue:restart",
        "laravel_database_laravel_cache_:illuminate:queue:restart",
    ]
    # RedisStore adds no colon to an empty cache prefix.
    assert redis_restart_keys("", [""]) == ["illuminate:queue:restart"]


def test_values_as_redis_store_writes_them_and_anything_else_as_none() -> None:
    client = Values(a="1733580000", b=b"1733580001", c="i:1733580002;", d="soon", e="1.5")
    keys = ["a", "b", "c", "d", "e", "missing"]
    assert read_redis_restart_signal(client, keys) == (
        1733580000, 1733580001, 1733580002, None, None, None,
    )  # fmt: skip


def test_write_stores_the_time_as_digits_under_every_key() -> None:
    client = Values()
    write_redis_restart_signal(client, ["x", "y"], now=1733580000)
    assert client.values == {"x": "1733580000", "y": "1733580000"}
    assert read_redis_restart_signal(client, ["x", "y"]) == (1733580000, 1733580000)
