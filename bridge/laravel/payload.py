"""The `jobs.payload` JSON: reading what Laravel writes, and writing what it would.

`JobPayload.from_json` reads any payload Laravel 8 to 13 writes (object jobs, closures,
listeners, mail, notifications, `Class@method` string jobs) and keeps every key, known or
not, in `raw` in its original order, so nothing a payload hook added is ever dropped.
`to_json()` gives back the original text; `replace(...)` rewrites fields in place, keeps
key order and unknown keys, and re-encodes with PHP's `json_encode` rules.

`reference_payload` writes the payload Laravel's `Queue::createObjectPayload` would for a
declared `Job` under a version profile, plainly, from the job alone; `build_payload` gives
the same bytes, most of them kept per class (`bridge.laravel._ready`).
`build_string_payload` writes the one for `Class@method` jobs. The uuid and the clock are
parameters, so output can be pinned byte for byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge._frozen import thawed
from bridge.exceptions import EncryptionError, PayloadDecodeError, PayloadError
from bridge.laravel._json import php_float_repr, php_json_encode
from bridge.laravel._ready import ready_command, ready_payload
from bridge.laravel.attributes import QUEUE_OPTION_ATTRIBUTES
from bridge.laravel.classes import UNINITIALIZED, FromNow, Job, php_identical, serialize_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.values import date_from_php, is_php_date, php_truthy
from bridge.laravel.versions import Profile
from bridge.php import INT64_MAX, INT64_MIN

__all__ = [
    "CALL_QUEUED_HANDLER",
    "JobPayload",
    "build_payload",
    "build_string_payload",
    "delay_seconds",
    "job_backoff",
    "object_payload",
    "payload_uuid",
    "reference_payload",
    "timestamp_of",
]

CALL_QUEUED_HANDLER = "Illuminate\\Queue\\CallQueuedHandler@call"

#: snake_case field -> payload key, for `JobPayload.replace`.
_TOP_KEYS = {
    "uuid": "uuid",
    "display_name": "displayName",
    "job": "job",
    "max_tries": "maxTries",
    "max_exceptions": "maxExceptions",
    "fail_on_timeout": "failOnTimeout",
    "backoff": "backoff",
    "timeout": "timeout",
    "retry_until": "retryUntil",
    "created_at": "createdAt",
    "delay": "delay",
}
_DATA_KEYS = {"command_name": "commandName", "command": "command"}


def payload_uuid(text: str) -> str | None:
    """The `uuid` of a payload text, or None when it has none or is not a JSON object.

    Never raises: storage uses it to find a job again, even in a damaged payload.
    """
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return None
    uuid = decoded.get("uuid") if isinstance(decoded, dict) else None
    return uuid if isinstance(uuid, str) and uuid else None


# The scanner of a decoder with `json.loads`'s defaults (typeshed does not list it).
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(text: str) -> Any:
    """`json.loads(text)`, quicker for a payload: the decoder's scanner called directly.

    `json.loads` is that scan plus two whitespace matches and an end check in Python; a text
    the scanner reads whole from its first byte is decoded to the same value. Anything else
    (leading or trailing whitespace, a BOM, an error) goes through `json.loads`, which then
    gives its own result or exception.
    """
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _opt_int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value  # the common case first: every worker reads six of these per job
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _not_an_int(key, value)
    try:
        number = int(value)  # ValueError: NaN, text; OverflowError: Infinity, 1e400
    except (ValueError, OverflowError) as exc:
        raise _not_an_int(key, value) from exc
    if not INT64_MIN <= number <= INT64_MAX:
        raise _not_an_int(key, value)
    return number


def _not_an_int(key: str, value: Any) -> PayloadDecodeError:
    shown = repr(value)
    if len(shown) > 80:
        shown = f"{shown[:60]}... ({len(shown)} characters)"
    return PayloadDecodeError(f"payload key {key!r} must be a 64-bit integer, not {shown}")


@dataclass(frozen=True, slots=True)
class JobPayload:
    """A decoded payload. `raw` holds the whole JSON object; the fields are typed views."""

    uuid: str | None
    display_name: str | None
    job: str
    max_tries: int | None
    max_exceptions: int | None
    fail_on_timeout: bool
    backoff: str | None
    timeout: int | None
    retry_until: int | None
    command_name: str | None
    command: str | None
    created_at: int | None
    delay: int | None
    raw: dict[str, Any] = field(repr=False)
    text: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> JobPayload:
        """Parse a payload; raise `PayloadDecodeError` when it is not a usable job payload.

        Bytes must be UTF-8, as the `jobs.payload` column holds it (no BOM, no UTF-16).
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PayloadDecodeError(f"payload is not UTF-8: {exc}") from exc
        try:
            raw = _loads(text)
        except ValueError as exc:
            raise PayloadDecodeError(f"payload is not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise PayloadDecodeError("payload is not valid JSON: nested too deep") from exc
        if not isinstance(raw, dict):
            raise PayloadDecodeError("payload is not a JSON object")
        return cls.from_raw(raw, text=text)

    @classmethod
    def from_raw(cls, raw: dict[str, Any], *, text: str | None = None) -> JobPayload:
        """Build the typed view over an already decoded payload object."""
        job = raw.get("job")
        if not isinstance(job, str):
            raise PayloadDecodeError("payload has no 'job' string")
        data = raw.get("data")
        command_name = command = None
        if isinstance(data, dict):
            name = data.get("commandName")
            cmd = data.get("command")
            command_name = name if isinstance(name, str) else None
            command = cmd if isinstance(cmd, str) else None
        backoff = raw.get("backoff")
        if backoff is not None and not isinstance(backoff, str):
            if isinstance(backoff, bool) or not isinstance(backoff, int):
                raise PayloadDecodeError(f"payload 'backoff' must be a string, not {backoff!r}")
            backoff = str(backoff)
        uuid, display_name = raw.get("uuid"), raw.get("displayName")
        # Filled without the frozen dataclass's `__init__` (see `bridge._frozen`): this runs
        # for every job a worker takes.
        made: Any = _Unfrozen()
        made.uuid = uuid if isinstance(uuid, str) else None
        made.display_name = display_name if isinstance(display_name, str) else None
        made.job = job
        made.max_tries = _opt_int(raw, "maxTries")
        made.max_exceptions = _opt_int(raw, "maxExceptions")
        # Laravel's worker tests it with `if`: PHP's truthiness ("0" is false).
        made.fail_on_timeout = php_truthy(raw.get("failOnTimeout", False))
        made.backoff = backoff
        made.timeout = _opt_int(raw, "timeout")
        # 8.x-9.x workers still fall back to the pre-8 `timeoutAt` key.
        made.retry_until = (
            _opt_int(raw, "retryUntil")
            if raw.get("retryUntil") is not None
            else _opt_int(raw, "timeoutAt")
        )
        made.command_name = command_name
        made.command = command
        made.created_at = _opt_int(raw, "createdAt")
        made.delay = _opt_int(raw, "delay")
        made.raw = raw
        made.text = text
        if cls is not JobPayload:
            # A subclass may have another layout (a `__dict__`): its own `__init__` builds it.
            return cls(**{name: getattr(made, name) for name in _Unfrozen.__slots__})
        made.__class__ = JobPayload
        return made  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        """The name Laravel logs: `displayName`, else the `job` string."""
        return self.display_name or self.job

    @property
    def is_object_job(self) -> bool:
        """Whether `data.command` holds a serialized job object (`CallQueuedHandler@call`)."""
        return self.job == CALL_QUEUED_HANDLER

    @property
    def is_encrypted(self) -> bool:
        """Laravel treats any command not starting with `O:` as ciphertext."""
        return self.command is not None and not self.command.startswith("O:")

    @property
    def delete_when_missing_models(self) -> bool:
        """`deleteWhenMissingModels` (13.0+ payloads), in PHP's sense of true; false when
        absent, as Laravel 13's worker reads it."""
        return php_truthy(self.raw.get("deleteWhenMissingModels", False))

    @property
    def batch_id(self) -> str | None:
        """`data.batchId` (Laravel 12.51+ payloads), else None."""
        data = self.raw.get("data")
        value = data.get("batchId") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    def to_json(self, *, unescaped_unicode: bool | None = None) -> str:
        """The payload text: the original when parsed and not re-encoded, else PHP's JSON.

        Args:
            unescaped_unicode: force re-encoding with (True) or without (False)
                `JSON_UNESCAPED_UNICODE`; None keeps the original text when there is one.
        """
        if unescaped_unicode is None:
            if self.text is not None:
                return self.text
            unescaped_unicode = True
        return php_json_encode(self.raw, unescaped_unicode=unescaped_unicode)

    def replace(
        self,
        *,
        set_keys: Mapping[str, Any] | None = None,
        remove_keys: Iterable[str] = (),
        unescaped_unicode: bool | None = None,
        **fields: Any,
    ) -> JobPayload:
        """A copy with fields changed, keeping key order and every unknown key.

        Args:
            set_keys: raw top-level payload keys to set (e.g. `{"attempts": 0}`); keys
                not present yet are appended, as PHP's array assignment does.
            remove_keys: raw top-level keys to drop.
            unescaped_unicode: JSON flavour of the new text; None keeps the original's
                (raw UTF-8 if the original had any non-ASCII byte, else escaped, which
                is also what `queue:retry` writes).
            **fields: snake_case fields (`retry_until=...`, `command=...`, `uuid=...`).

        Raises:
            PayloadError: an unknown field name.
        """
        try:
            raw = json.loads(json.dumps(self.raw))  # deep copy that keeps key order
        except RecursionError as exc:
            raise PayloadError("the payload is nested too deep to rewrite") from exc
        for name, value in fields.items():
            if name in _TOP_KEYS:
                raw[_TOP_KEYS[name]] = value
            elif name in _DATA_KEYS:
                if not isinstance(raw.get("data"), dict):
                    raw["data"] = {}
                raw["data"][_DATA_KEYS[name]] = value
            else:
                raise PayloadError(f"JobPayload has no field {name!r}")
        raw.update(set_keys or {})
        for key in remove_keys:
            raw.pop(key, None)
        if unescaped_unicode is None:
            unescaped_unicode = self.text is not None and not self.text.isascii()
        text = php_json_encode(raw, unescaped_unicode=unescaped_unicode)
        return JobPayload.from_raw(raw, text=text)


_Unfrozen = thawed(JobPayload)  # see `from_raw`


def timestamp_of(value: Any) -> int | None:
    """Unix seconds of a datetime or PHP date object (floored), else None."""
    if isinstance(value, datetime):
        return math.floor(value.timestamp())
    if is_php_date(value):
        parsed = date_from_php(value)
        if parsed is None:
            raise PayloadError(f"cannot read the date {value!r}")
        return math.floor(parsed.timestamp())
    return None


def delay_seconds(delay: Any, now: int) -> int | None:
    """Seconds until `delay` (int seconds or a date), floored at 0; None when unset."""
    if delay is None or delay is UNINITIALIZED:
        return None
    stamp = timestamp_of(delay)
    if stamp is not None:
        return max(0, stamp - now)
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)
        or not INT64_MIN <= delay <= INT64_MAX
    ):
        raise PayloadError(f"delay must be seconds or a date, not {delay!r}")
    return int(delay)


def _php_string(value: Any) -> str:
    """PHP's string conversion of a scalar, as `implode()` applies it."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        if math.isnan(value):
            return "NAN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return php_float_repr(value, "E")
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def _method_result(job: Job, name: str, profile: Profile) -> Any:
    result = job.job_class.method(name)
    if callable(result):
        return result(job.properties(profile))
    return result


def _option(job: Job, name: str, profile: Profile) -> Any:
    """`$job->name ?? null`: a set, non-null property value."""
    value = job.value(name, profile)
    return None if value is UNINITIALIZED else value


def job_backoff(value: Any, now: int) -> str | None:
    """The payload `backoff` for a job's backoff value: items joined with `,`, or None.

    Dates count as seconds from `now`; other items use PHP's string conversion.
    """
    if value is None:
        return None
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        items = list(value.values())
    else:
        items = [value]
    parts = []
    for item in items:
        stamp = timestamp_of(item)
        parts.append(str(max(0, stamp - now)) if stamp is not None else _php_string(item))
    return ",".join(parts)


def _queue_option(job: Job, name: str, profile: Profile) -> Any:
    """A payload option as `createObjectPayload` reads it: `$job->name ?? null` up to 12;
    from 13 also the option's class attribute (`ReadsClassAttributes::getAttributeValue`).

    On 13.26 a set property whose value differs from its declared default wins (13.4+); else
    the attribute (found on the class, its traits (13.16+) or a parent) gives the value,
    unless a public property declared below the attribute's class holds one, null included
    (13.14+); else the property's value. On 13.0-13.3 the attribute always wins.
    """
    value = _option(job, name, profile)
    if not profile.queue_attributes:
        return value
    cls = job.job_class
    found = cls.find_attribute(QUEUE_OPTION_ATTRIBUTES[name], traits=profile.attributes_on_traits)
    if found is None:
        return value
    if profile.attribute_loses_to_set_property:
        slot = cls.slot_named(name, profile)
        default = slot.prop.default_value if slot is not None and slot.prop.has_default else None
        if value is not None and not php_identical(value, default):
            return value
    depth, attribute = found
    if profile.attribute_loses_to_child_property:
        declared = cls.declaring_depth(name, profile)
        if (
            declared is not None
            and declared < depth
            and job.value(name, profile) is not UNINITIALIZED
        ):
            return value
    return attribute.option_value()


def _backoff(job: Job, profile: Profile, now: int) -> str | None:
    value = _queue_option(job, "backoff", profile)
    has_method = job.job_class.has_method("backoff")
    if has_method and (profile.queue_attributes or value is None):
        value = _method_result(job, "backoff", profile)
    return job_backoff(value, now)


def _retry_until(job: Job, profile: Profile, now: int) -> Any:
    value = _option(job, "retryUntil", profile)
    if value is None and job.job_class.has_method("retryUntil"):
        value = _method_result(job, "retryUntil", profile)
        if isinstance(value, FromNow):
            return value.at(now)
    stamp = timestamp_of(value)
    return stamp if stamp is not None else value


def _max_tries(job: Job, profile: Profile) -> Any:
    value = _queue_option(job, "tries", profile)
    has_method = profile.tries_method and job.job_class.has_method("tries")
    if has_method and (profile.queue_attributes or value is None):
        value = _method_result(job, "tries", profile)  # 13: the method wins over the property
    return value


def build_payload(
    job: Job,
    *,
    profile: Profile,
    uuid: str,
    now: int,
    encrypter: Encrypter | None = None,
    bulk: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The payload text Laravel writes when `job` is dispatched.

    The bytes are `reference_payload`'s; most come from what `bridge.laravel._ready` keeps
    for the job's class and profile, since dispatching writes the same class again and again.

    Args:
        job: the job instance (set `queue`, `delay`, `chained`, `batchId` on it first).
        profile: the Laravel version to write for.
        uuid: the payload uuid (a random lowercase v4 in production).
        now: Unix seconds at dispatch (`createdAt`, and the reference for dates in
            `delay` and `backoff`).
        encrypter: required when the class implements `ShouldBeEncrypted`.
        bulk: pushed by `bulk()` (batches), where 12.11+ writes `"delay": null` even
            for a delayed job.
        extra: keys a payload hook would add, placed where Laravel puts hook keys.

    Raises:
        JobClassError: the job does not fit the profile.
        EncryptionError: a `ShouldBeEncrypted` job without an encrypter.
        PayloadError: values JSON cannot carry (invalid UTF-8, INF/NAN in options).
    """
    command = ready_command(job, profile)
    if not extra:
        text = ready_payload(job, profile, command, uuid, now, bulk, encrypter, _around)
        if text is not None:
            return text
    return reference_payload(
        job, profile=profile, uuid=uuid, now=now, encrypter=encrypter, bulk=bulk, extra=extra,
        command=command,
    )  # fmt: skip


def reference_payload(
    job: Job,
    *,
    profile: Profile,
    uuid: str,
    now: int,
    encrypter: Encrypter | None = None,
    bulk: bool = False,
    extra: Mapping[str, Any] | None = None,
    command: bytes | None = None,
) -> str:
    """`build_payload` worked out from the job alone, as `Queue::createObjectPayload` does:
    the definition the cache in `bridge.laravel._ready` is held to.

    Args:
        command: the job's `serialize_command`, when the caller has it already.
        (the others as for `build_payload`)
    """
    data: str | bytes = serialize_command(job, profile) if command is None else command
    if job.should_be_encrypted(profile):
        if encrypter is None:
            raise EncryptionError(f"{job.name} implements ShouldBeEncrypted: pass an encrypter")
        data = encrypter.encrypt(data)
    return _around(job, profile, uuid, now, data, bulk, extra)


def _around(
    job: Job,
    profile: Profile,
    uuid: str,
    now: int,
    command: str | bytes,
    bulk: bool,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The object payload of `job` around its (encrypted) command."""
    cls = job.job_class
    display = _method_result(job, "displayName", profile) if cls.has_method("displayName") else None
    options = {
        "maxTries": _max_tries(job, profile),
        "maxExceptions": _queue_option(job, "maxExceptions", profile),
        "failOnTimeout": _queue_option(job, "failOnTimeout", profile),
        "backoff": _backoff(job, profile, now),
        "timeout": _queue_option(job, "timeout", profile),
        "retryUntil": _retry_until(job, profile, now),
        "deleteWhenMissingModels": _queue_option(job, "deleteWhenMissingModels", profile),
    }
    return object_payload(
        class_name=cls.name,
        command=command,
        display_name=display,
        options=options,
        batch_id=_option(job, "batchId", profile),
        delay=None if bulk else delay_seconds(_option(job, "delay", profile), now),
        profile=profile,
        uuid=uuid,
        now=now,
        extra=extra,
    )


def object_payload(
    *,
    class_name: str,
    command: str | bytes,
    display_name: str | None,
    options: Mapping[str, Any],
    batch_id: str | None,
    delay: int | None,
    profile: Profile,
    uuid: str,
    now: int,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Assemble an object-job payload from already computed parts (see `build_payload`).

    `options` holds the payload keys `maxTries`, `maxExceptions`, `failOnTimeout`,
    `backoff` (already a string), `timeout`, `retryUntil` (a timestamp) and, for 13+,
    `deleteWhenMissingModels`; absent = null (`false` for the two flags).
    """
    fail_on_timeout = options.get("failOnTimeout")
    payload: dict[str, Any] = {
        "uuid": uuid,
        "displayName": display_name if display_name is not None else class_name,
        "job": CALL_QUEUED_HANDLER,
        "maxTries": options.get("maxTries"),
        "maxExceptions": options.get("maxExceptions"),
    }
    if profile.payload_fail_on_timeout:
        payload["failOnTimeout"] = False if fail_on_timeout is None else fail_on_timeout
    payload["backoff"] = options.get("backoff")
    payload["timeout"] = options.get("timeout")
    payload["retryUntil"] = options.get("retryUntil")
    if profile.payload_delete_when_missing_models:
        delete = options.get("deleteWhenMissingModels")
        payload["deleteWhenMissingModels"] = False if delete is None else delete
    data: dict[str, Any] = {"commandName": class_name, "command": command}
    if profile.payload_batch_id:
        data["batchId"] = batch_id
    payload["data"] = data
    return _finish(payload, profile, now=now, delay=delay, extra=extra)


def _finish(
    payload: dict[str, Any],
    profile: Profile,
    *,
    now: int,
    delay: int | None,
    extra: Mapping[str, Any] | None,
) -> str:
    """`payload` as PHP's JSON, after the keys that follow `data`: on 12.11+ `createdAt`,
    then a hook's `extra` keys, then `delay` last."""
    if profile.payload_created_at_and_delay:
        payload["createdAt"] = now
    for key, value in (extra or {}).items():
        payload[key] = value
    if profile.payload_created_at_and_delay:
        payload.pop("delay", None)
        payload["delay"] = delay
    return php_json_encode(payload, unescaped_unicode=profile.json_unescaped_unicode)


def build_string_payload(
    job: str,
    data: Any = "",
    *,
    profile: Profile,
    uuid: str,
    now: int,
    delay: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The payload of `Queue::push('Class@method', $data)` (no `retryUntil` key).

    Args:
        job: the `Class@method` string (the method defaults to `fire` on the PHP side).
        data: any JSON-able value given to the handler (Laravel's default is `""`).
        profile, uuid, now, extra: as for `build_payload`.
        delay: seconds when pushed with `later()`, for the 12.11+ `delay` key.
    """
    payload: dict[str, Any] = {
        "uuid": uuid,
        "displayName": job.split("@", 1)[0],
        "job": job,
        "maxTries": None,
        "maxExceptions": None,
    }
    if profile.payload_fail_on_timeout:
        payload["failOnTimeout"] = False
    payload.update({"backoff": None, "timeout": None, "data": data})
    return _finish(payload, profile, now=now, delay=delay, extra=extra)
