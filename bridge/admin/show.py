"""Reading a failed job for people: its class, its decoded command, its chain, its exception.

The command is decoded with bridge's PHP codec, never by running PHP code: properties keep
their visibility (public, protected, private with the declaring class) and their order.
An encrypted command (`ShouldBeEncrypted`) is decrypted when an `Encrypter` for the app's
`APP_KEY` is given, and is otherwise reported as encrypted. Chained jobs (`chained`, a list
of serialized, possibly encrypted, jobs) are decoded the same way.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge.dialect import SO_DIALECT_NAMES, sniff, summarize
from bridge.exceptions import BridgeError, PayloadDecodeError, PayloadError
from bridge.laravel.payload import JobPayload
from bridge.php import PhpCustom, PhpEnum, PhpObject, PhpReference, PhpValue, Visibility, loads
from bridge.queue.base import FailedJobRecord
from bridge.so import SoPayload, decode_so

if TYPE_CHECKING:
    from bridge.laravel.encryption import Encrypter

__all__ = [
    "DecodedCommand",
    "FailedJobDetails",
    "class_of",
    "decode_command_text",
    "details_to_json",
    "inspect_failed",
    "render_details",
    "render_value",
]

_RECURSION = "*RECURSION*"


def class_of(payload: str) -> str:
    """The job's class for listings: `data.commandName`, else `displayName`, else `job`
    (an SO framework payload's `class`), whichever dialect wrote the row."""
    summary = summarize(payload)
    return summary.class_name or summary.display_name or "?"


@dataclass(frozen=True, slots=True)
class DecodedCommand:
    """A serialized job as far as it could be read.

    `value` is the decoded object (None when it could not be decoded); `problem` says why
    not (encrypted without a key, a bad key, malformed data); `chained` holds the decoded
    jobs of its `chained` property.
    """

    encrypted: bool
    value: PhpValue = None
    problem: str | None = None
    chained: tuple[DecodedCommand, ...] = ()


#: What `failed show` says of an encrypted command it was not asked to decrypt.
WITHHELD = "encrypted: its values are not shown (they may be secrets); --decrypt shows them"


def decode_command_text(
    command: str, *, encrypter: Encrypter | None, depth: int = 0, decrypt: bool = True
) -> DecodedCommand:
    """Decode one `data.command` (or one `chained` entry), decrypting it when needed and
    `decrypt` allows (an encrypted job's values are often secrets: show them on request)."""
    # Laravel's own rule: anything that does not start with `O:` is ciphertext.
    encrypted = not command.startswith("O:")
    data: str | bytes = command
    if encrypted:
        if not decrypt:
            return DecodedCommand(encrypted=True, problem=WITHHELD)
        if encrypter is None:
            return DecodedCommand(encrypted=True, problem="encrypted; set APP_KEY to decrypt it")
        try:
            data = encrypter.decrypt(command)
        except BridgeError as exc:
            return DecodedCommand(encrypted=True, problem=f"cannot decrypt: {exc}")
    try:
        value = loads(data)
    except BridgeError as exc:
        return DecodedCommand(encrypted=encrypted, problem=f"cannot decode: {exc}")
    chained: list[DecodedCommand] = []
    if isinstance(value, PhpObject) and depth < 8:
        entries = value.get("chained")
        if isinstance(entries, dict):
            entries = list(entries.values())
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, str):
                    chained.append(
                        decode_command_text(
                            entry, encrypter=encrypter, depth=depth + 1, decrypt=decrypt
                        )
                    )
                else:
                    chained.append(DecodedCommand(encrypted=False, value=entry))
    return DecodedCommand(encrypted=encrypted, value=value, chained=tuple(chained))


@dataclass(frozen=True, slots=True)
class FailedJobDetails:
    """Everything `failed show` prints about one failed job."""

    record: FailedJobRecord
    payload: JobPayload | None
    command: DecodedCommand | None
    problem: str | None = None
    #: The payload of an SO framework row (then `payload` is None).
    so: SoPayload | None = None


def inspect_failed(
    record: FailedJobRecord, *, encrypter: Encrypter | None, decrypt: bool = True
) -> FailedJobDetails:
    """Decode a failed job's payload and command (no I/O); encrypted commands only with
    `decrypt`."""
    if sniff(record.payload) in SO_DIALECT_NAMES:
        try:
            so = decode_so(record.payload)
        except PayloadError as exc:
            return FailedJobDetails(record, None, None, problem=f"unreadable payload: {exc}")
        return FailedJobDetails(
            record, None, DecodedCommand(encrypted=False, value=so.command()), so=so
        )
    try:
        payload = JobPayload.from_json(record.payload)
    except PayloadDecodeError as exc:
        return FailedJobDetails(record, None, None, problem=f"unreadable payload: {exc}")
    command = (
        decode_command_text(payload.command, encrypter=encrypter, decrypt=decrypt)
        if payload.command is not None
        else None
    )
    return FailedJobDetails(record, payload, command)


# --- text -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def render_value(value: PhpValue, indent: str = "", _path: tuple[int, ...] = ()) -> str:
    """A decoded PHP value as readable text, nested values indented below their parent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bytes):
        return f"binary {value!r}"
    if isinstance(value, PhpEnum):
        return f"{value.class_name}::{value.case}"
    if isinstance(value, PhpCustom):
        return f"{value.class_name} (Serializable, {len(value.data)} bytes)"
    if id(value) in _path:
        return _RECURSION
    path = (*_path, id(value))
    inner = indent + "  "
    if isinstance(value, PhpReference):
        return "&" + render_value(value.value, indent, path)
    if isinstance(value, PhpObject):
        if not value.properties:
            return f"{value.class_name} {{}}"
        lines = [f"{value.class_name} {{"]
        for name, visibility, owner, item in value.described():
            label = (
                visibility.value if visibility is not Visibility.PRIVATE else f"private({owner})"
            )
            lines.append(f"{inner}{label} {name} = {render_value(item, inner, path)}")
        return "\n".join([*lines, f"{indent}}}"])
    if isinstance(value, list | dict):
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        if not items:
            return "[]"
        lines = ["["]
        for key, item in items:
            shown = _quote(key) if isinstance(key, str) else repr(key)
            lines.append(f"{inner}{shown} => {render_value(item, inner, path)}")
        return "\n".join([*lines, f"{indent}]"])
    return repr(value)


def _render_command(command: DecodedCommand, indent: str, lines: list[str]) -> None:
    if command.encrypted:
        lines.append(
            f"{indent}(encrypted command{', decrypted' if command.problem is None else ''})"
        )
    if command.problem is not None:
        lines.append(f"{indent}{command.problem}")
    else:
        lines.append(indent + render_value(command.value, indent))
    for number, link in enumerate(command.chained, start=1):
        lines.append(f"{indent}Chained job {number}:")
        _render_command(link, indent + "  ", lines)


def render_details(details: FailedJobDetails) -> str:
    """The text `bridge failed show` prints."""
    record = details.record
    lines = [
        f"ID:          {record.id}",
        f"UUID:        {record.uuid or '-'}",
        f"Connection:  {record.connection}",
        f"Queue:       {record.queue}",
        f"Failed at:   {record.failed_at.isoformat(sep=' ')}",
    ]
    payload = details.payload
    if payload is not None:
        lines += [
            f"Job:         {payload.job}",
            f"Display:     {payload.name}",
            f"Class:       {payload.command_name or '-'}",
            f"Max tries:   {_or_dash(payload.max_tries)}",
            f"Timeout:     {_or_dash(payload.timeout)}",
            f"Retry until: {_moment(payload.retry_until)}",
            f"Payload uuid: {payload.uuid or '-'}",
        ]
    so = details.so
    if so is not None:
        lines += [
            f"Dialect:     {so.format} (SO framework)",
            f"Class:       {so.class_name}",
            f"Attempts:    {_or_dash(so.int_property('attempts'))}",
            f"Max tries:   {_or_dash(so.int_property('tries'))}",
        ]
    if details.problem is not None:
        lines.append(details.problem)
    if details.command is not None:
        lines.append("Command:")
        _render_command(details.command, "  ", lines)
    elif payload is not None:
        lines.append("Data:")
        lines.append("  " + json.dumps(payload.raw.get("data"), ensure_ascii=False))
    lines += ["Exception:", record.exception]
    return "\n".join(lines)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _moment(value: object) -> str:
    """A Unix time as `2026-11-01 12:00:00 UTC (1793534400)`: readable, and still exact."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _or_dash(value)
    try:
        when = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(value)
    return f"{when} ({value})"


# --- JSON -------------------------------------------------------------------------------


def value_to_json(value: PhpValue, _path: tuple[int, ...] = ()) -> Any:
    """A decoded PHP value as JSON data: objects with visibility, binary as base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"binary_base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, PhpEnum):
        return {"enum": value.class_name, "case": value.case}
    if isinstance(value, PhpCustom):
        return {
            "class": value.class_name,
            "serializable_base64": base64.b64encode(value.data).decode("ascii"),
        }
    if id(value) in _path:
        return _RECURSION
    path = (*_path, id(value))
    if isinstance(value, PhpReference):
        return {"reference": value_to_json(value.value, path)}
    if isinstance(value, PhpObject):
        return {
            "class": value.class_name,
            "properties": [
                {
                    "name": name,
                    "visibility": visibility.value,
                    **({"declared_in": owner} if owner else {}),
                    "value": value_to_json(item, path),
                }
                for name, visibility, owner, item in value.described()
            ],
        }
    if isinstance(value, list):
        return [value_to_json(item, path) for item in value]
    if isinstance(value, dict):
        return {str(key): value_to_json(item, path) for key, item in value.items()}
    return repr(value)


def _command_to_json(command: DecodedCommand) -> dict[str, Any]:
    return {
        "encrypted": command.encrypted,
        "problem": command.problem,
        "value": value_to_json(command.value) if command.problem is None else None,
        "chained": [_command_to_json(link) for link in command.chained],
    }


def details_to_json(details: FailedJobDetails) -> dict[str, Any]:
    """The object `bridge failed show --json` prints."""
    record = details.record
    return {
        "id": record.id,
        "uuid": record.uuid,
        "connection": record.connection,
        "queue": record.queue,
        "failed_at": record.failed_at.isoformat(sep=" "),
        "class": class_of(record.payload),
        "payload": details.payload.raw
        if details.payload is not None
        else (value_to_json(details.so.raw) if details.so is not None else None),
        "problem": details.problem,
        "command": _command_to_json(details.command) if details.command is not None else None,
        "exception": record.exception,
    }
