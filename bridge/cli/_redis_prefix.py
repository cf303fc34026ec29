"""A hint for the Redis key prefix bridge had to guess.

Without `REDIS_PREFIX` the prefix is the skeleton's default for the app's Laravel version,
and those differ: `my_app_database_` up to Laravel 12, `my-app-database-` from 13. When no
version is given either, bridge assumes the newest, and a Laravel 8-12 app's queues then look
empty. So when the queues are empty under the prefix bridge chose and hold jobs under the
other default, the commands say what to set.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.cli._context import CliContext
from bridge.exceptions import QueueError


def prefix_hint(ctx: CliContext, queues: Sequence[str] | None) -> str | None:
    """What to set, when `queues` (None: any queue) are empty under the guessed prefix and
    not under the other default; None when the prefix was given or nothing points elsewhere.
    """
    settings = ctx.settings
    if (
        settings.connection_name != "redis"
        or settings.redis.prefix is not None
        or settings.laravel_version
    ):
        return None
    # Imported here: redis-py is an extra, and only a Redis connection gets this far.
    from bridge.queue.redis import RedisQueue

    queue = ctx.queue
    if not isinstance(queue, RedisQueue):
        return None
    chosen = queue.prefix
    newest = settings.redis.key_prefix(13)
    other = settings.redis.key_prefix(12) if chosen == newest else newest
    if other == chosen:
        return None
    # The same client: the probe opens no connection of its own.
    probe = RedisQueue(client=queue.client, prefix=other)
    try:
        if queues is None:
            if queue.queue_names():
                return None
            elsewhere = probe.queue_names()
        else:
            if any(queue.size(name) for name in queues):
                return None
            elsewhere = [name for name in queues if probe.size(name)]
    except QueueError:
        return None  # the command's own work reports the storage error
    if not elsewhere:
        return None
    which = "Laravel 8 to 12" if other != newest else "Laravel 13"
    return (
        f"no jobs under the key prefix {chosen!r}, but {', '.join(elsewhere)} under {other!r},"
        f" {which}'s default for this APP_NAME: set REDIS_PREFIX={other} (or"
        f" BRIDGE_LARAVEL_VERSION) in .env"
    )
