"""Chains: after a chained job succeeds, dispatch the next one as Laravel's worker does.

`chained` holds the complete serialize() text of each next job. Laravel unserializes the first,
gives it the rest of the list, its own connection/queue or else the chain's, copies
`chainConnection`, `chainQueue` and `chainCatchCallbacks`, and dispatches it (new uuid, new
row) before the current row is deleted, whichever language runs either job.

The next payload is written for the Laravel release detected from the current payload. Its
options come from the next job's *properties* (`tries`, `maxExceptions`, `failOnTimeout`,
`backoff`, `timeout`, `retryUntil`, `delay`, `batchId`). What only PHP knows cannot be carried:
`displayName()`, `tries()`, `backoff()` and `retryUntil()` *methods*, and (9.4+) property
values equal to the class default, which Laravel leaves out of the serialized command; those
jobs get the worker's defaults instead. A `ShouldBeEncrypted` class is not visible either: the
next command is encrypted when the current one was (or it has a truthy `shouldBeEncrypted`)
and an encrypter is configured. Payload-hook keys (Context) are not added.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from typing import Any

from bridge.laravel._json import php_json_encode
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import CALL_QUEUED_HANDLER, JobPayload
from bridge.laravel.values import date_from_php
from bridge.laravel.versions import Profile, detect_profile, profile_for
from bridge.php import PhpObject, dumps, loads
from bridge.queue.base import JobQueue

__all__ = ["dispatch_next_in_chain"]

_CHAIN_PROPS = ("connection", "queue", "chained", "chainConnection", "chainQueue")


def _timestamp(value: Any) -> int | None:
    if isinstance(value, PhpObject):
        when = date_from_php(value)
        return int(when.timestamp()) if when is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _backoff(value: Any, now: int) -> str | None:
    if value is None:
        return None
    steps = list(value.values()) if isinstance(value, dict) else value
    steps = steps if isinstance(steps, list) else [steps]
    out = []
    for step in steps:
        stamp = _timestamp(step) if isinstance(step, PhpObject) else None
        out.append(str(max(stamp - now, 0)) if stamp is not None else _php_text(step))
    return ",".join(out)


def _php_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return "" if value is None else str(value)


def _delay_seconds(value: Any, now: int) -> int | None:
    if isinstance(value, PhpObject):
        stamp = _timestamp(value)
        return max(stamp - now, 0) if stamp is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _next_job(command: PhpObject, profile: Profile) -> PhpObject | None:
    chained = command.get("chained")
    items = list(chained.values()) if isinstance(chained, dict) else chained
    if not items:
        return None
    first, rest = items[0], items[1:]
    following = loads(first)
    if not isinstance(following, PhpObject):
        raise TypeError(f"chained job is not an object: {type(following).__name__}")
    values = {
        "connection": following.get("connection") or command.get("chainConnection"),
        "queue": following.get("queue") or command.get("chainQueue"),
        "chained": rest,
        "chainConnection": command.get("chainConnection"),
        "chainQueue": command.get("chainQueue"),
        "chainCatchCallbacks": command.get("chainCatchCallbacks"),
    }
    # Present properties are replaced in place; absent ones are added only when they differ
    # from Queueable's defaults (null, or [] for `chained`), in declaration order, which is
    # what SerializesModels writes from 9.4 on.
    for name in [p for p in profile.queueable_properties if p in values]:
        value = values[name]
        if name in following or value not in (None, []):
            following.set(name, value)
    return following


def dispatch_next_in_chain(
    command: PhpObject,
    *,
    queue: JobQueue,
    current: JobPayload,
    current_text: str,
    default_queue: str,
    encrypter: Encrypter | None,
    now: int,
    logger: logging.Logger,
) -> int | None:
    """Push the next job of `command`'s chain; return its row id, or None without a chain.

    Args:
        command: The finished job's command.
        queue: Where the next job goes (a worker has one connection).
        current: The finished job's payload; `current_text` its exact text (version detection).
        default_queue: The connection's default queue, for a next job naming none.
        encrypter: Encrypts the next command when the current one was encrypted.
        now: Unix seconds of the dispatch.
        logger: Told when the next job names another connection.
    """
    profile = detect_profile([current_text]) or profile_for(12)
    following = _next_job(command, profile)
    if following is None:
        return None
    serialized = dumps(following)
    encrypt = current.is_encrypted or bool(following.get("shouldBeEncrypted"))
    command_text = (
        encrypter.encrypt(serialized)
        if encrypt and encrypter is not None
        else serialized.decode("utf-8", "surrogateescape")
    )
    fail_on_timeout = following.get("failOnTimeout")
    payload: dict[str, Any] = {
        "uuid": str(uuid_module.uuid4()),
        "displayName": following.class_name,
        "job": CALL_QUEUED_HANDLER,
        "maxTries": following.get("tries"),
        "maxExceptions": following.get("maxExceptions"),
    }
    if profile.payload_fail_on_timeout:
        payload["failOnTimeout"] = bool(fail_on_timeout)
    payload["backoff"] = _backoff(following.get("backoff"), now)
    payload["timeout"] = following.get("timeout")
    payload["retryUntil"] = _timestamp(following.get("retryUntil"))
    data: dict[str, Any] = {"commandName": following.class_name, "command": command_text}
    if profile.payload_batch_id:
        data["batchId"] = following.get("batchId")
    payload["data"] = data
    delay = _delay_seconds(following.get("delay"), now)
    if profile.payload_created_at_and_delay:
        payload["createdAt"] = now
        payload["delay"] = delay
    text = php_json_encode(payload, unescaped_unicode=profile.json_unescaped_unicode)
    connection = following.get("connection")
    if isinstance(connection, str) and connection != queue.connection_name:
        logger.warning(
            "Chained job %s asks for connection %r; pushed onto %r, the only one this worker has",
            following.class_name,
            connection,
            queue.connection_name,
        )
    target = following.get("queue")
    return queue.push(
        text,
        queue=target if isinstance(target, str) and target else default_queue,
        now=now,
        delay_seconds=delay or 0,
    )
