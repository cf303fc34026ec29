"""The queue restart signal in Laravel's Redis cache store (`queue:restart` with
`CACHE_STORE=redis`, `CACHE_DRIVER=redis` before Laravel 11).

Laravel's `RedisStore` keeps a value under the cache prefix followed by a colon, and the
Redis connection adds its own key prefix (`REDIS_PREFIX`) in front, on the skeleton's `cache`
connection: database `REDIS_CACHE_DB`, 1 by default. A number is stored as its digits, not
PHP-serialized, and "forever" means no expiry. So after `php artisan queue:restart` the key
`laravel_database_laravel_cache:illuminate:queue:restart` of database 1 holds the time,
e.g. `1733580000`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bridge.queue.redis import _wrapped
from bridge.queue.restart_signal import RESTART_KEY

__all__ = ["read_redis_restart_signal", "redis_restart_keys", "write_redis_restart_signal"]

# Digits as RedisStore writes a number; `i:N;` should a value ever be PHP-serialized.
_VALUE = re.compile(r"(-?\d+)|i:(-?\d+);")


def redis_restart_keys(redis_prefix: str, cache_prefixes: Sequence[str]) -> list[str]:
    """The full keys of the signal, one per cache prefix that may be in use."""
    return [f"{redis_prefix}{cache}:{RESTART_KEY}" if cache else f"{redis_prefix}{RESTART_KEY}"
            for cache in cache_prefixes]  # fmt: skip


def read_redis_restart_signal(client: Any, keys: Sequence[str]) -> tuple[int | None, ...]:
    """The signal under each key (None where there is none, or no number).

    Raises:
        QueueError: Redis could not be read.
    """
    with _wrapped():
        values = [client.get(key) for key in keys]
    return tuple(_number(value) for value in values)


def write_redis_restart_signal(client: Any, keys: Sequence[str], *, now: int) -> None:
    """Store `now` under every key, forever, as `RedisStore::forever` does.

    Raises:
        QueueError: Redis could not be written.
    """
    with _wrapped():
        for key in keys:
            client.set(key, str(now))


def _number(value: Any) -> int | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    matched = _VALUE.fullmatch(text)
    if matched is None:
        return None
    return int(matched.group(1) or matched.group(2))
