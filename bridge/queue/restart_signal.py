"""The queue restart signal in Laravel's database cache store (`queue:restart`).

`php artisan queue:restart` stores the current Unix time forever under the cache key
`illuminate:queue:restart`; every Laravel worker remembers the value it saw at start and
stops (for its supervisor to start it again) once the value differs. With the `database`
cache driver the value is a row of the `cache` table: `key` is the cache prefix followed by
that name, `value` the PHP-serialized integer (`i:1733580000;`), `expiration` now plus ten
years, which is what Laravel's "forever" means for this store. PostgreSQL rows may hold the
serialized value base64-encoded (Laravel does that for values containing NUL bytes).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.exceptions import SchemaError
from bridge.queue._errors import retrying, wrap_exceptions

__all__ = ["RESTART_KEY", "read_restart_signal", "write_restart_signal"]

#: The cache key Laravel's RestartCommand writes and its Worker reads (before the prefix).
RESTART_KEY = "illuminate:queue:restart"
#: Laravel's DatabaseStore::forever: ten years.
_FOREVER_SECONDS = 315_360_000
_INT = re.compile(r"i:(-?\d+);")


def _cache_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text),
        sa.Column("expiration", sa.Integer),
    )


def _check_table(engine: Engine, name: str) -> None:
    with wrap_exceptions():
        exists = sa.inspect(engine).has_table(name)
    if not exists:
        raise SchemaError(
            f"table {name!r} does not exist: Laravel keeps the restart signal in its cache "
            "store; with CACHE_DRIVER/CACHE_STORE=database create it with "
            "`php artisan cache:table && php artisan migrate`"
        )


def _decode(value: str | None) -> int | None:
    if value is None:
        return None
    text = value
    if ":" not in text and ";" not in text:
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    match = _INT.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def write_restart_signal(engine: Engine, *, table: str, keys: Sequence[str], now: int) -> None:
    """Store `now` under each of `keys` (prefixed cache keys), as `queue:restart` does."""
    _check_table(engine, table)
    t = _cache_table(table)
    values = {"value": f"i:{now};", "expiration": now + _FOREVER_SECONDS}

    def run() -> None:
        with engine.begin() as conn:
            for key in keys:
                if conn.execute(t.update().where(t.c.key == key).values(**values)).rowcount:
                    continue
                conn.execute(t.insert().values(key=key, **values))

    retrying(run, idempotent=True)


def read_restart_signal(
    engine: Engine, *, table: str, keys: Sequence[str], now: int
) -> tuple[int | None, ...]:
    """The restart time stored under each of `keys` (None: none, or expired), in order.

    A missing cache table reads as no signal at all: nobody has sent one.
    """
    t = _cache_table(table)
    query = sa.select(t.c.key, t.c.value, t.c.expiration).where(t.c.key.in_(list(keys)))

    def run() -> tuple[int | None, ...]:
        with engine.begin() as conn:
            found = {
                row.key: _decode(row.value)
                for row in conn.execute(query)
                if row.expiration is None or int(row.expiration) > now
            }
        return tuple(found.get(key) for key in keys)

    try:
        return retrying(run, idempotent=True)
    except SchemaError:
        return tuple(None for _ in keys)
