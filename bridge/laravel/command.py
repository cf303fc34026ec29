"""Job commands for the worker: decoding `data.command`, chains, and batch bookkeeping.

`decode_command` unserializes a payload's command (decrypting it when it does not start
with `O:`, as Laravel does). `next_chained_job` does what Laravel's worker does after a
chain member succeeds: take `chained[0]`, give it the rest of the chain, its own connection
and queue or the chain's, copy `chainConnection` / `chainQueue` / `chainCatchCallbacks`, and
build the payload to push (new uuid). With a `JobClass` declaration for the next job's
class the result is byte-identical to PHP's; without one the decoded object is edited in
place (properties `SerializesModels` left out stay out when the new value is the default,
and new ones are appended) and the payload options come from the object's own
`tries` / `maxExceptions` / `failOnTimeout` / `backoff` / `timeout` / `retryUntil` /
`deleteWhenMissingModels` properties (a Laravel 13 class attribute is known only to a
declaration): any PHP worker runs it the same, only the bytes may differ.

Batches: `batch_id_of` reads a command's `batchId`; `encode_batch_options` /
`decode_batch_options` handle `job_batches.options` (PHP-serialized array, base64 on
PostgreSQL); `batch_allows_failures` reads `allowFailures` from it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.exceptions import PayloadDecodeError, PhpSerializeError
from bridge.laravel.classes import JobClass
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import (
    JobPayload,
    build_payload,
    delay_seconds,
    job_backoff,
    object_payload,
    timestamp_of,
)
from bridge.laravel.values import MODEL_IDENTIFIER, model_from_identifier, php_truthy
from bridge.laravel.versions import Profile
from bridge.php import PhpDecoder, PhpObject, dumps, loads

__all__ = [
    "NextJob",
    "batch_allows_failures",
    "batch_id_of",
    "decode_batch_options",
    "decode_command",
    "encode_batch_options",
    "next_chained_job",
]

#: Properties copied from the finished job onto the next one.
_CHAIN_COPIED = ("chainConnection", "chainQueue", "chainCatchCallbacks")
#: Declared defaults of the Queueable properties a chain step sets.
_QUEUEABLE_DEFAULTS: dict[str, Any] = {"chained": [], "middleware": []}


def decode_command(
    payload: JobPayload | str,
    *,
    encrypter: Encrypter | None = None,
    decoder: PhpDecoder | None = None,
) -> PhpObject:
    """Unserialize a payload's `data.command` (or a bare command string).

    A long-lived `decoder` (a worker's) is used for every command instead of one per call.

    Raises:
        PayloadDecodeError: no command, ciphertext without an encrypter, or not an object.
        DecryptionError: wrong APP_KEY or tampered ciphertext.
        PhpDecodeError: malformed serialize() data.
    """
    command = payload.command if isinstance(payload, JobPayload) else payload
    if command is None:
        raise PayloadDecodeError("payload has no data.command")
    if command.startswith("O:"):
        data: str | bytes = command
    elif encrypter is None:
        raise PayloadDecodeError(
            "data.command is encrypted (it does not start with O:) and no encrypter was given"
        )
    else:
        data = encrypter.decrypt(command)
    value = loads(data) if decoder is None else decoder.decode(data)
    if not isinstance(value, PhpObject):
        raise PayloadDecodeError(f"data.command is a {type(value).__name__}, not an object")
    return value


@dataclass(frozen=True, slots=True)
class NextJob:
    """The next job of a chain, ready to push.

    Attributes:
        command: the next job's object as it will be serialized.
        payload: the payload text to insert.
        connection: the connection property (None: the worker's own connection).
        queue: the queue property (None: the connection's default queue).
        delay_seconds: seconds until available (its `delay` property), else None.
    """

    command: PhpObject
    payload: str
    connection: str | None
    queue: str | None
    delay_seconds: int | None


def _php_values(obj: PhpObject) -> dict[str, Any]:
    """Bare-name values of an object's own (visible) properties, models as records."""
    values: dict[str, Any] = {}
    for name, _vis, owner, value in obj.described():
        if owner and owner != obj.class_name:
            continue
        if isinstance(value, PhpObject) and value.class_name == MODEL_IDENTIFIER:
            value = model_from_identifier(value)
        values[name] = value
    return values


def _set_generic(obj: PhpObject, name: str, value: Any) -> None:
    if name in obj:
        obj.set(name, value)
    elif value != _QUEUEABLE_DEFAULTS.get(name) or type(value) is not type(
        _QUEUEABLE_DEFAULTS.get(name)
    ):
        # Absent means SerializesModels left the default out; only a new value goes back.
        obj.set(name, value)


def next_chained_job(
    command: PhpObject,
    *,
    profile: Profile,
    uuid: str,
    now: int,
    declarations: Mapping[str, JobClass] | None = None,
    encrypter: Encrypter | None = None,
    encrypted: bool = False,
) -> NextJob | None:
    """Build the next job of `command`'s chain, or return None when the chain is done.

    Args:
        command: the job that just succeeded (decoded).
        profile: the Laravel version to write for.
        uuid: the new job's payload uuid.
        now: Unix seconds (`createdAt`, delay dates).
        declarations: PHP class name -> declaration, for byte-exact output.
        encrypter: encrypts the next command: a declared `ShouldBeEncrypted` one; an
            undeclared one when `encrypted` or its `shouldBeEncrypted` is true (PHP's
            sense), as an undeclared class's interfaces are not visible here.
        encrypted: the finished job's command was encrypted.

    Raises:
        PayloadDecodeError: `chained[0]` is not a serialized object.
        JobClassError: the next job does not fit its declaration.
    """
    chained = command.get("chained")
    if not isinstance(chained, list) or not chained:
        return None
    head, rest = chained[0], list(chained[1:])
    if not isinstance(head, str | bytes):
        raise PayloadDecodeError(
            f"chained[0] is a {type(head).__name__}, not a serialized job object"
        )
    try:
        nxt = loads(head)
    except PhpSerializeError as exc:
        raise PayloadDecodeError(f"chained[0] is not PHP serialize() data: {exc}") from exc
    if not isinstance(nxt, PhpObject):
        raise PayloadDecodeError("chained[0] is not a serialized job object")
    # `$next->connection ?: $this->chainConnection`, in PHP's sense of empty.
    connection = _either(nxt.get("connection"), command.get("chainConnection"))
    queue = _either(nxt.get("queue"), command.get("chainQueue"))
    changes: dict[str, Any] = {"chained": rest, "connection": connection, "queue": queue}
    changes.update((name, command.get(name)) for name in _CHAIN_COPIED)
    declaration = (declarations or {}).get(nxt.class_name)
    if declaration is not None:
        job = declaration.instance({**_php_values(nxt), **changes})
        payload = build_payload(job, profile=profile, uuid=uuid, now=now, encrypter=encrypter)
        built = decode_command(JobPayload.from_json(payload), encrypter=encrypter)
        delay = delay_seconds(job.values.get("delay"), now)
        return NextJob(built, payload, connection, queue, delay)
    for name, value in changes.items():
        _set_generic(nxt, name, value)
    delay = delay_seconds(nxt.get("delay"), now)
    retry_until = nxt.get("retryUntil")
    until_stamp = timestamp_of(retry_until)
    options = {
        "maxTries": nxt.get("tries"),
        "maxExceptions": nxt.get("maxExceptions"),
        "failOnTimeout": nxt.get("failOnTimeout"),
        "backoff": job_backoff(nxt.get("backoff"), now),
        "timeout": nxt.get("timeout"),
        "retryUntil": retry_until if until_stamp is None else until_stamp,
        "deleteWhenMissingModels": nxt.get("deleteWhenMissingModels"),
    }
    batch_id = nxt.get("batchId")
    data: str | bytes = dumps(nxt)
    if encrypter is not None and (encrypted or php_truthy(nxt.get("shouldBeEncrypted"))):
        data = encrypter.encrypt(data)
    payload = object_payload(
        class_name=nxt.class_name,
        command=data,
        display_name=None,
        options=options,
        batch_id=batch_id if isinstance(batch_id, str) else None,
        delay=delay,
        profile=profile,
        uuid=uuid,
        now=now,
    )
    return NextJob(nxt, payload, connection, queue, delay)


def batch_id_of(command: PhpObject) -> str | None:
    """The `batchId` of a batched job's command, else None."""
    value = command.get("batchId")
    return value if isinstance(value, str) and value else None


def encode_batch_options(options: Mapping[str, Any], *, base64_encode: bool = False) -> str:
    """`job_batches.options` text: PHP-serialized array; base64 for PostgreSQL.

    Args:
        options: e.g. `{"queue": "imports", "allowFailures": True}` in Laravel's order.
        base64_encode: True on PostgreSQL, whose text columns cannot hold the NUL bytes
            a serialized closure contains.
    """
    data = dumps(dict(options))
    if base64_encode:
        return base64.b64encode(data).decode("ascii")
    return data.decode("utf-8", "surrogateescape")


def decode_batch_options(text: str | bytes | None) -> dict[Any, Any]:
    """Read `job_batches.options` (base64-decoded when it has neither `:` nor `;`).

    Raises:
        PayloadDecodeError: the options are neither PHP-serialized nor base64 of it.
    """
    if not text:
        return {}
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    if b":" not in data and b";" not in data:
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise PayloadDecodeError("job_batches.options is not base64") from exc
    try:
        value = loads(data)
    except PhpSerializeError as exc:
        raise PayloadDecodeError(f"job_batches.options is not PHP serialize() data: {exc}") from exc
    if isinstance(value, list):
        return dict(enumerate(value))
    if not isinstance(value, dict):
        raise PayloadDecodeError("job_batches.options is not an array")
    return value


def _either(value: Any, fallback: Any) -> Any:
    return value if php_truthy(value) else fallback


def batch_allows_failures(options: str | bytes | None) -> bool:
    """Whether batch options set `allowFailures` to true (unreadable options count as no).

    Laravel asks `=== true`: a 1 or a "yes" there does not allow failures.
    """
    try:
        return decode_batch_options(options).get("allowFailures") is True
    except PayloadDecodeError:
        return False
