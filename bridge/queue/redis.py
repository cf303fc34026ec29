"""Laravel's Redis queue driver over redis-py: `RedisQueue`, the `JobQueue` of a Redis queue.

It keeps the keys and state Laravel's `RedisQueue` keeps (see `_redis_scripts` for the keys
and the scripts), so PHP and Python workers pop one queue together: a reservation is the
member of `queues:NAME:reserved` that Redis's cjson re-encoded with `attempts` counted, and a
finished job is deleted, or released to `:delayed`, by naming that exact text. Failed jobs
still go to the `failed_jobs` table (a `DatabaseFailedJobStore`), as Laravel's failer does.

Payloads are pushed as given, plus what Laravel's `RedisQueue` adds to every payload it
creates: a random 32-character `id` and `"attempts":0` at the end (`with_redis_fields`);
a payload that has an `attempts` key already (one retried from `failed_jobs`) is pushed
unchanged. Times come from the caller, as everywhere in bridge's storage.

`ReservedJob` fields on Redis: `id` is the payload's `id`, `payload` the text as it was
popped (Laravel's raw body, the one `failed_jobs` records), `reserved_payload` the
re-encoded member of `:reserved`; `reserved_at`, `available_at` and `created_at` are the
reservation's time.

Connection errors are not retried here: a reply lost after a script ran would make a retried
push enqueue twice, and a reservation whose reply is lost comes back after `retry_after`.

A worker's reading ahead (`reserve(..., ahead=)`) hides the server's time in the script
(about half of a reservation's): the next RESERVE goes out as a batch is handed out, on a
pooled connection of its own, and its reply is read as the next batch is needed
(`_ahead_redis`). Not on Redis Cluster, whose client routes each command itself: there
`reserve` never reads ahead.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import redis.cluster
import redis.exceptions

from bridge._frozen import thawed
from bridge.exceptions import ConfigError, ConnectionLost, PayloadError, QueueError
from bridge.queue import _redis_scripts as scripts
from bridge.queue._ahead import ReadAhead, ReadsAhead, UnderWay
from bridge.queue._ahead_redis import RedisReservation
from bridge.queue.base import JobRow, NewJob, QueueIdentity, ReservedJob

__all__ = [
    "RedisQueue",
    "connect",
    "has_hash_tag",
    "new_redis_id",
    "with_redis_fields",
]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Text crosses to Redis as UTF-8; bytes that are not UTF-8 survive a round trip unchanged.
_ERRORS = "surrogateescape"

Client = redis.Redis | redis.cluster.RedisCluster


# Random byte -> letter or digit (`b % 62`); bytes at or above 248 would favour the first
# eight characters, so they are dropped (`bytes.translate` maps and drops in one C pass).
_TO_ALPHABET = bytes(ord(_ALPHABET[b % 62]) for b in range(256))
_UNEVEN = bytes(range(248, 256))


def new_redis_id() -> str:
    """32 random letters and digits, as Laravel's `Str::random(32)` makes a Redis job's `id`."""
    out = b""
    while len(out) < 32:
        out += os.urandom(40).translate(_TO_ALPHABET, _UNEVEN)
    return out[:32].decode("ascii")


def with_redis_fields(payload: str, job_id: str | None = None) -> str:
    """`payload` with Laravel's Redis keys: `"id":"...","attempts":0`, where Laravel puts them.

    `RedisQueue::createPayloadArray` adds them after the payload array's keys. Laravel 12.11 and
    later add `delay` after that array, in `Queue::createPayload`, so `delay` stays the last
    key: `...,"createdAt":1,"id":"...","attempts":0,"delay":null}`. Earlier payloads end with
    the two keys. A payload already carrying a top-level `attempts` key is returned unchanged
    (`queue:retry` pushes a failed Redis payload back as it is, with its `attempts` reset).

    Raises:
        PayloadError: the payload is not a JSON object.
    """
    stripped = payload.rstrip()
    if not stripped.startswith("{") or not stripped.endswith("}"):
        raise PayloadError("a Redis job payload must be a JSON object")
    if _stamped(stripped) or _has_top_level(stripped, "attempts"):
        return payload
    job_id = job_id if job_id is not None else new_redis_id()
    fields = f'"id":"{job_id}","attempts":0'
    delay = stripped.rfind(',"delay":')
    if delay > 0 and _TRAILING_DELAY.fullmatch(stripped, delay):
        return f"{stripped[:delay]},{fields}{stripped[delay:]}"
    separator = "" if stripped[1:-1].strip() == "" else ","
    return f"{stripped[:-1]}{separator}{fields}}}"


def _stamped(text: str) -> bool:
    """Whether the text ends as a payload stamped here or by Laravel does (no parse)."""
    at = text.rfind(',"attempts":0')
    if at < 0:
        return False
    rest = at + len(',"attempts":0')
    return text[rest:] == "}" or _TRAILING_DELAY.fullmatch(text, rest) is not None


# The top-level `delay` Laravel 12.11+ writes last: null or whole seconds, then the object's end
# (a nested object ending in a `delay` key would leave a second `}`).
_TRAILING_DELAY = re.compile(r',"delay":(?:null|-?[0-9]+)\}')


def _has_top_level(text: str, key: str) -> bool:
    """Whether the JSON object `text` has `key` among its top-level keys (parsed only when the
    key's name occurs in the text at all)."""
    needle = f'"{key}"'
    if needle not in text:
        return False
    try:
        decoded = json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"a Redis job payload must be a JSON object: {exc}") from exc
    return isinstance(decoded, dict) and key in decoded


def has_hash_tag(name: str) -> bool:
    """Whether a key name carries a Redis Cluster hash tag (`{...}` with something inside)."""
    start = name.find("{")
    if start < 0:
        return False
    end = name.find("}", start + 1)
    return end > start + 1


@dataclass(frozen=True, slots=True)
class _Keys:
    queue: str
    delayed: str
    reserved: str
    notify: str


def connect(
    *,
    host: str = "127.0.0.1",
    port: int = 6379,
    password: str | None = None,
    username: str | None = None,
    db: int = 0,
    cluster: bool = False,
    timeout_seconds: float | None = None,
) -> Client:
    """A redis-py client for the queue: `RedisCluster` (seeded by host:port) when `cluster`."""
    common: dict[str, Any] = {
        "password": password or None,
        "username": username or None,
        "decode_responses": True,
        "encoding_errors": _ERRORS,
        "socket_timeout": timeout_seconds,
    }
    if cluster:
        if db:
            raise ConfigError("Redis Cluster has only database 0; REDIS_DB must be 0")
        return redis.cluster.RedisCluster(host=host, port=port, **common)
    return redis.Redis(host=host, port=port, db=db, **common)


@contextmanager
def _wrapped() -> Iterator[None]:
    try:
        yield
    except redis.exceptions.RedisError as exc:
        raise _translated(exc) from exc


def _translated(exc: Exception) -> QueueError:
    """The `QueueError` a redis-py error (or any other, from a reply read elsewhere) becomes."""
    if isinstance(exc, QueueError):
        return exc
    if isinstance(exc, redis.exceptions.ConnectionError):
        error: QueueError = ConnectionLost(f"Redis connection lost: {exc}")
    elif isinstance(exc, redis.exceptions.TimeoutError):
        error = ConnectionLost(f"Redis timed out: {exc}")
    else:
        error = QueueError(f"Redis error: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _take_connection(pool: Any) -> Any:
    """A connection of `pool`, connected."""
    if _wants_command_name(pool.__class__):
        return pool.get_connection("EVALSHA")
    return pool.get_connection()


@functools.cache
def _wants_command_name(pool_class: Any) -> bool:
    """Whether `get_connection` of `pool_class` must be given a command name (redis-py
    before 5.3; later versions warn when given one). Asked once per class: it costs more
    than taking the connection."""
    named = inspect.signature(pool_class.get_connection).parameters.get("command_name")
    return named is not None and named.default is inspect.Parameter.empty


def _text(value: Any) -> str:
    return value.decode("utf-8", _ERRORS) if isinstance(value, bytes) else str(value)


class RedisQueue(ReadsAhead, QueueIdentity):
    """One Redis connection's queues, used exactly as Laravel's `RedisQueue` uses them.

    A reservation (`reserve`) is one script: delete the `finished` reservations of the
    queue, move due delayed and expired reserved jobs to the list, pop and reserve. With
    `block_for_seconds` and nothing to hand out, it waits on `:notify` for a push and tries
    once more. Reading `ahead` sends the same script on a pooled connection kept for it and
    reads the reply when the next batch is needed (`_ahead_redis`); it never blocks, and a
    reservation made when the one ahead found nothing blocks as usual. On Redis Cluster it
    does not read ahead. A reply lost with the connection leaves the jobs it reserved in
    `:reserved`, handed out again after `retry_after`, as after any lost reply.
    """

    def __init__(
        self,
        *,
        client: Client,
        prefix: str = "",
        connection_name: str = "redis",
        retry_after_seconds: int = 90,
        block_for_seconds: float | None = None,
        migration_batch_size: int = -1,
        hash_tag_queues: bool = False,
        default_queue: str = "default",
    ) -> None:
        """Bind the queue to a client; no I/O happens until the first operation.

        Args:
            client: From `connect`, or any redis-py `Redis`/`RedisCluster`.
            prefix: The Redis connection's key prefix (`REDIS_PREFIX`; Laravel's phpredis
                and Predis put it before every key, those of scripts too).
            connection_name: Queue connection name, as written to `failed_jobs.connection`.
            retry_after_seconds: Must equal the PHP side's `retry_after` (skeleton: 90).
            block_for_seconds: `block_for`: wait this long on an empty queue for a push
                instead of returning at once (None: do not block).
            migration_batch_size: Laravel 12's `migration_batch_size`: due delayed and
                expired reserved jobs moved per reservation (-1: all).
            hash_tag_queues: Laravel 13 on Redis Cluster: a queue name without a hash tag
                gets one around it (`queues:{default}`).
            default_queue: The queue `recent_payloads` looks at.
        """
        self.client = client
        self.prefix = prefix
        super().__init__(connection_name=connection_name, retry_after_seconds=retry_after_seconds)
        self.block_for_seconds = block_for_seconds
        self.migration_batch_size = migration_batch_size
        self.hash_tag_queues = hash_tag_queues
        self.default_queue = default_queue
        self.is_cluster = isinstance(client, redis.cluster.RedisCluster)
        self._keys: dict[str, _Keys] = {}
        self._push = client.register_script(scripts.PUSH)
        self._reserve = client.register_script(scripts.RESERVE)
        self._release = client.register_script(scripts.RELEASE)
        self._unreserve = client.register_script(scripts.UNRESERVE)
        self._clear = client.register_script(scripts.CLEAR)
        self._reading = ReadAhead(
            start=self._start_ahead,
            reserve=self._reserve_now,
            delete=self._delete_now,
            unreserve=self.unreserve,
        )

    #: Redis counts attempts in the payload, without a limit.
    attempts_limit = None

    def close(self) -> None:
        """Close the client's connections (reopened when needed), ending a reservation made
        ahead unfinished (what it reserved waits for `retry_after`)."""
        self._reading.abandon()
        with _wrapped():
            self.client.close()

    def keys(self, queue: str) -> tuple[str, str, str, str]:
        """The four keys of `queue`, prefixed: list, `:delayed`, `:reserved`, `:notify`.

        Raises:
            ConfigError: on Redis Cluster, the name has no hash tag and Laravel (before 13)
                would not add one: its keys would fall in different slots.
        """
        keys = self._keys.get(queue)
        if keys is None:
            keys = self._keys[queue] = self._make_keys(queue)
        return keys.queue, keys.delayed, keys.reserved, keys.notify

    def _make_keys(self, queue: str) -> _Keys:
        name = queue
        if self.is_cluster and not has_hash_tag(queue):
            if not self.hash_tag_queues:
                raise ConfigError(
                    f"queue {queue!r} on Redis Cluster needs a hash tag, e.g. '{{{queue}}}', "
                    "so that all its keys share a slot (as Laravel documents; Laravel 13 adds "
                    "it itself: pass hash_tag_queues=True for a Laravel 13 application)"
                )
            name = f"{{{queue}}}"
        base = f"{self.prefix}queues:{name}"
        return _Keys(base, f"{base}:delayed", f"{base}:reserved", f"{base}:notify")

    # --- writes ------------------------------------------------------------------------

    def stamp(self, payload: str) -> str:
        """The payload Laravel's `RedisQueue` would push for `payload` (`with_redis_fields`)."""
        return with_redis_fields(payload)

    def push(self, payload: str, *, queue: str, now: int, delay_seconds: int = 0) -> int | str:
        """Push one job (to `:delayed` when delayed) and return its payload `id`."""
        text = with_redis_fields(payload)
        list_key, delayed, _, notify = self.keys(queue)
        with _wrapped():
            if delay_seconds > 0:
                self.client.zadd(delayed, {_raw(text): now + delay_seconds})
            else:
                self._push(keys=[list_key, notify], args=[_raw(text)])
        return _payload_id(text)

    def bulk(self, jobs: Sequence[NewJob]) -> None:
        """Push many jobs: one script (ready ones) and one ZADD (delayed ones) per queue.

        Each queue's share is atomic, as Laravel's MULTI around its pushes makes it.
        """
        ready: dict[str, list[bytes]] = {}
        delayed: dict[str, dict[bytes, int]] = {}
        for job in jobs:
            text = _raw(with_redis_fields(job.payload))
            if job.available_at > job.created_at:
                delayed.setdefault(job.queue, {})[text] = job.available_at
            else:
                ready.setdefault(job.queue, []).append(text)
        with _wrapped():
            for queue, payloads in ready.items():
                list_key, _, _, notify = self.keys(queue)
                self._push(keys=[list_key, notify], args=payloads)
            for queue, members in delayed.items():
                self.client.zadd(self.keys(queue)[1], members)

    # --- reservations ------------------------------------------------------------------

    def _reserve_now(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> list[ReservedJob]:
        """The reservation made at once (see the class notes), blocking if asked to."""
        mine = self._delete_others(queue, finished)
        rows = self._reserve_once(queue, now=now, limit=limit, finished=mine)
        if rows or self.block_for_seconds is None:
            return rows
        notify = self.keys(queue)[3]
        with _wrapped():
            woken = self.client.blpop([notify], timeout=self.block_for_seconds)
        if not woken:
            return []
        return self._reserve_once(queue, now=now, limit=limit, finished=())

    def _delete_others(self, queue: str, finished: Sequence[ReservedJob]) -> list[ReservedJob]:
        """Delete the `finished` jobs of other queues (the script reaches one queue's keys
        only) and return those of `queue`."""
        mine = [job for job in finished if job.queue == queue]
        if len(mine) < len(finished):
            self._delete_now([job for job in finished if job.queue != queue])
        return mine

    def _reserve_args(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> tuple[list[str], list[Any]]:
        args: list[Any] = [
            now,
            now + self._retry_after_seconds,
            limit,
            self.migration_batch_size,
            len(finished),
        ]
        args += [_raw(_reserved_text(job)) for job in finished]
        return list(self.keys(queue)), args

    def _reserve_once(
        self, queue: str, *, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> list[ReservedJob]:
        keys, args = self._reserve_args(queue, now, limit, finished)
        with _wrapped():
            flat = self._reserve(keys=keys, args=args)
        return _reserved_jobs(queue, now, flat)

    def _start_ahead(
        self, queue: str, now: int, limit: int, finished: Sequence[ReservedJob]
    ) -> UnderWay | None:
        """The RESERVE script sent on a pooled connection, its reply read later; None on
        Redis Cluster."""
        client = self.client
        if isinstance(client, redis.cluster.RedisCluster):
            return None
        mine = self._delete_others(queue, finished)
        keys, args = self._reserve_args(queue, now, limit, mine)
        pool = client.connection_pool
        with _wrapped():
            connection = _take_connection(pool)

        def on_end(healthy: bool) -> None:
            if not healthy:
                connection.disconnect()
            pool.release(connection)

        # From here on the reservation gives the connection back itself, through `on_end`.
        return RedisReservation(
            connection,
            script=self._reserve,
            keys=keys,
            args=args,
            now=now,
            jobs=lambda flat: _reserved_jobs(queue, now, flat),
            translate=_translated,
            on_end=on_end,
        )

    def _delete_now(self, jobs: Sequence[ReservedJob]) -> None:
        """One ZREM per queue."""
        by_queue: dict[str, list[bytes]] = {}
        for job in jobs:
            by_queue.setdefault(job.queue, []).append(_raw(_reserved_text(job)))
        with _wrapped():
            for queue, members in by_queue.items():
                self.client.zrem(self.keys(queue)[2], *members)

    def unreserve(self, job: ReservedJob) -> bool:
        """Put a job never started back at the head of its list, its attempts as they were.

        False when the reservation is no longer this worker's (deleted, or expired and taken).
        """
        list_key, _, reserved, notify = self.keys(job.queue)
        with _wrapped():
            moved = self._unreserve(
                keys=[list_key, reserved, notify],
                args=[_raw(_reserved_text(job)), _raw(job.payload)],
            )
        return bool(moved)

    def release(self, job: ReservedJob, *, now: int, delay_seconds: int = 0) -> int | str:
        """Move the reservation to `:delayed`, due in `delay_seconds`, as Laravel does.

        The reserved text keeps its counted `attempts`. Returns the payload `id` (a Redis
        job keeps it across releases).
        """
        _, delayed, reserved, _ = self.keys(job.queue)
        with _wrapped():
            self._release(
                keys=[delayed, reserved], args=[_raw(_reserved_text(job)), now + delay_seconds]
            )
        return job.id

    def release_in_place(
        self, job: ReservedJob, *, now: int, delay_seconds: int = 0, undo_attempt: bool = False
    ) -> bool:
        """`release`: a Redis job keeps its id when released, so it is already in place.

        The SO framework (whose release this is) has no Redis queue; a worker leaving a row
        of another dialect here (`undo_attempt`) releases it with its attempt still counted,
        since the reserved text, not a column, holds the count.
        """
        self.release(job, now=now, delay_seconds=delay_seconds)
        return True

    # --- sizes -------------------------------------------------------------------------

    def _counts(self, queue: str, calls: Callable[[Any, tuple[str, ...]], None]) -> list[int]:
        keys = self.keys(queue)
        with _wrapped():
            pipe = self.client.pipeline(transaction=False)
            calls(pipe, keys)
            return [int(n) for n in pipe.execute()]

    def size(self, queue: str) -> int:
        """Jobs of `queue` in any state (ready, delayed, reserved), as Laravel's `size`."""

        def calls(pipe: Any, keys: tuple[str, ...]) -> None:
            pipe.llen(keys[0])
            pipe.zcard(keys[1])
            pipe.zcard(keys[2])

        return sum(self._counts(queue, calls))

    def clear(self, queue: str) -> int:
        """Delete every key of `queue` and return how many jobs it held."""
        with _wrapped():
            return int(self._clear(keys=list(self.keys(queue))))

    def pending_size(self, queue: str, *, now: int) -> int:
        """Jobs ready to run at `now`: the list, and delayed jobs already due."""

        def calls(pipe: Any, keys: tuple[str, ...]) -> None:
            pipe.llen(keys[0])
            pipe.zcount(keys[1], "-inf", now)

        return sum(self._counts(queue, calls))

    def delayed_size(self, queue: str, *, now: int) -> int:
        """Delayed jobs not yet due at `now`."""

        def calls(pipe: Any, keys: tuple[str, ...]) -> None:
            pipe.zcount(keys[1], f"({now}", "+inf")

        return sum(self._counts(queue, calls))

    def reserved_size(self, queue: str) -> int:
        """Reserved jobs (possibly expired), Laravel's `reservedSize`."""

        def calls(pipe: Any, keys: tuple[str, ...]) -> None:
            pipe.zcard(keys[2])

        return sum(self._counts(queue, calls))

    # --- inspection --------------------------------------------------------------------

    def queue_names(self) -> list[str]:
        """The names of the queues that hold keys under this prefix, sorted.

        A SCAN of `queues:*` (Laravel 13's `allQueueNames` reads the same keys); on Redis
        Cluster a name given braces only by Laravel 13's rule is listed without them.
        """
        pattern = f"{_glob_escape(self.prefix)}queues:*"
        names: set[str] = set()
        with _wrapped():
            for key in self.client.scan_iter(match=pattern, count=1000):
                name = _text(key)[len(self.prefix) + len("queues:") :]
                for suffix in (":delayed", ":reserved", ":notify"):
                    if name.endswith(suffix):
                        name = name[: -len(suffix)]
                        break
                if self.hash_tag_queues and name.startswith("{") and name.endswith("}"):
                    name = name[1:-1]
                names.add(name)
        return sorted(names)

    def oldest_pending_created_at(self, queue: str) -> int | None:
        """`createdAt` of the job at the head of the list (Laravel 12's
        `creationTimeOfOldestPendingJob`); None when the list is empty or the payload has
        none (Laravel 8 payloads do not carry it)."""
        with _wrapped():
            head = self.client.lindex(self.keys(queue)[0], 0)
        if head is None:
            return None
        try:
            created = json.loads(_text(head)).get("createdAt")
        except (ValueError, AttributeError):
            return None
        return created if isinstance(created, int) and not isinstance(created, bool) else None

    def recent_payloads(self, limit: int = 20) -> list[str]:
        """The newest payloads of the default queue's list (to detect the Laravel version)."""
        with _wrapped():
            return [
                _text(p) for p in self.client.lrange(self.keys(self.default_queue)[0], -limit, -1)
            ]

    def rows(self, queue: str) -> list[JobRow]:
        """Every job of `queue` as a `JobRow` (ready, then delayed, then reserved), for tests.

        Redis keeps no row ids: `id` is the position in that listing.
        """
        list_key, delayed, reserved, _ = self.keys(queue)
        later: Any
        held: Any
        with _wrapped():
            ready = self.client.lrange(list_key, 0, -1)
            later = self.client.zrange(delayed, 0, -1, withscores=True)
            held = self.client.zrange(reserved, 0, -1, withscores=True)
        out: list[JobRow] = []
        for payload in ready:
            out.append(_row(len(out) + 1, queue, _text(payload), None, 0))
        for member, score in later:
            out.append(_row(len(out) + 1, queue, _text(member), None, int(score)))
        for member, score in held:
            out.append(_row(len(out) + 1, queue, _text(member), int(score), 0))
        return out


def _reserved_jobs(queue: str, now: int, flat: Any) -> list[ReservedJob]:
    """The jobs of a RESERVE script's reply: job, reserved text, attempts, id for each."""
    out: list[ReservedJob] = []
    append = out.append
    for job, reserved, attempts, job_id in zip(
        flat[0::4], flat[1::4], flat[2::4], flat[3::4], strict=True
    ):
        # Built without the frozen dataclass's `__init__`: this runs for every job.
        made: Any = _ReservedFill()
        made.id = _text(job_id)
        made.queue = queue
        made.payload = _text(job)
        made.attempts = int(attempts)
        made.reserved_at = made.available_at = made.created_at = now
        made.reserved_payload = _text(reserved)
        made.__class__ = ReservedJob
        append(made)
    return out


_ReservedFill = thawed(ReservedJob)


def _row(position: int, queue: str, payload: str, reserved: int | None, due: int) -> JobRow:
    try:
        decoded = json.loads(payload)
        attempts = int(decoded.get("attempts", 0)) if isinstance(decoded, dict) else 0
    except (ValueError, TypeError):
        attempts = 0
    return JobRow(
        id=position,
        queue=queue,
        payload=payload,
        attempts=attempts,
        reserved_at=reserved,
        available_at=due,
        created_at=0,
    )


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _raw(text: str) -> bytes:
    return text.encode("utf-8", _ERRORS)


def _reserved_text(job: ReservedJob) -> str:
    if job.reserved_payload is None:
        raise QueueError(f"job {job.id} was not reserved from Redis: it has no reserved payload")
    return job.reserved_payload


def _payload_id(text: str) -> str:
    marker = '"id":"'
    start = text.rfind(marker)
    if start < 0:
        return ""
    start += len(marker)
    return text[start : text.find('"', start)]
