"""SO payloads, read and written byte for byte as `Core\\Queue\\Job::serialize()` writes them.

The payload is the array `["class" => get_class($job), "data" => get_object_vars($job)]`,
encoded with `json_encode` without flags (`SO_JSON`, the framework's current format) or with
`serialize()` (`SO_SERIALIZE`, its first version). JSON turns integral floats into integers
(`1.0` is written `1`), so a JSON job's property reads back as an `int`, as PHP sees it too.

The worker of that framework ignores the payload's `attempts` and `jobId` (the row counts them)
but writes them, filled in, when it serializes the job again into `failed_jobs`:
`SoPayload.for_failed_jobs` does the same.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from bridge.exceptions import PayloadError, PhpSerializeError
from bridge.laravel import php_json_encode
from bridge.php import PhpKey, PhpObject, dumps, loads

__all__ = ["BASE_KEYS", "SO_JSON", "SO_SERIALIZE", "SoPayload", "decode_so", "encode_so"]

#: The JSON format of the framework's current code.
SO_JSON = "so"
#: The `serialize()` format of its first version.
SO_SERIALIZE = "so-serialize"

#: The base `Job` properties in `get_object_vars` order, with their declared defaults.
BASE_KEYS: dict[str, Any] = {
    "tries": 3,
    "timeout": 60,
    "queue": "default",
    "retryAfter": 90,
    "jobId": None,
    "attempts": 0,
}

_JSON_HEAD = '{"class":"'
_SERIALIZE_HEAD = 'a:2:{s:5:"class";s:'


def looks_like_so(text: str) -> str | None:
    """`SO_JSON` or `SO_SERIALIZE` when the text starts as that format's payload, else None.

    Both formats start the same way for every job (`class` is the first key), and no Laravel
    payload does (its first key is `uuid`, or `displayName` before 8.x's uuid).
    """
    if text.startswith(_JSON_HEAD):
        return SO_JSON
    if text.startswith(_SERIALIZE_HEAD):
        return SO_SERIALIZE
    return None


@dataclass(frozen=True, slots=True)
class SoPayload:
    """A decoded SO payload.

    Attributes:
        format: `SO_JSON` or `SO_SERIALIZE`.
        class_name: The job's PHP class (no leading backslash).
        data: The properties by bare name, in the payload's order (PHP values for the
            serialize format: `PhpObject`s stay objects).
        text: The payload as stored.
    """

    format: str
    class_name: str
    data: dict[str, Any]
    text: str

    @property
    def raw(self) -> dict[str, Any]:
        """The whole payload as decoded: `{"class": ..., "data": {...}}`."""
        return {"class": self.class_name, "data": self.data}

    @property
    def uuid(self) -> str | None:
        """SO payloads carry no uuid (its `failed_jobs` rows get a fresh one)."""
        return None

    @property
    def name(self) -> str:
        """The short class name, as the SO worker's `displayName()` prints it."""
        return self.class_name.rpartition("\\")[2]

    @property
    def queue(self) -> str | None:
        """The job's `queue` property (where SO writes the failed row), if a string."""
        value = self.data.get("queue")
        return value if isinstance(value, str) else None

    def int_property(self, name: str) -> int | None:
        """An integer property as the SO worker reads it (`tries`, `retryAfter`)."""
        value = self.data.get(name, BASE_KEYS.get(name))
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)

    def command(self) -> PhpObject:
        """The job as an object whose properties are read by bare name."""
        properties: dict[PhpKey, Any] = {key: value for key, value in self.data.items()}
        return PhpObject(self.class_name, properties)

    def for_failed_jobs(self, *, job_id: int | str, attempts: int) -> str:
        """The payload the SO worker writes to `failed_jobs`: `jobId` and `attempts` filled in."""
        data: dict[str, Any] = {}
        for key, default in BASE_KEYS.items():
            data[key] = self.data.get(key, default)
        data["jobId"] = str(job_id)
        data["attempts"] = attempts
        for key, value in self.data.items():
            if key not in data:
                data[key] = value
        return encode_so(self.class_name, data, self.format)


def encode_so(class_name: str, data: dict[str, Any], fmt: str) -> str:
    """The payload text `Job::serialize()` writes for `class_name` with properties `data`.

    Raises:
        PayloadError: the format cannot carry a value (INF/NAN, invalid UTF-8 or an object in
            JSON; bytes that are not UTF-8 in either, since the column is text).
    """
    whole = {"class": class_name.lstrip("\\"), "data": data}
    if fmt == SO_JSON:
        for name, value in data.items():
            _json_carries(value, name)
        try:
            return php_json_encode(whole, unescaped_unicode=False)
        except PayloadError as exc:
            raise PayloadError(f"the SO JSON format cannot carry this job: {exc}") from exc
    if fmt == SO_SERIALIZE:
        raw = dumps(whole)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(
                "the serialized SO job holds bytes that are not UTF-8; the payload column "
                "is text and cannot store them"
            ) from exc
    raise PayloadError(f"unknown SO payload format {fmt!r}")


def _json_carries(value: Any, name: str) -> None:
    if isinstance(value, PhpObject):
        raise PayloadError(
            f"the SO JSON format cannot carry the object in ${name} ({value.class_name}): "
            "json_encode makes it an array, which the SO worker cannot assign back"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(f"the SO JSON format cannot carry INF or NAN (${name})")
    if isinstance(value, dict):
        for item in value.values():
            _json_carries(item, name)
    elif isinstance(value, list | tuple):
        for item in value:
            _json_carries(item, name)


def decode_so(text: str) -> SoPayload:
    """Decode an SO payload of either format.

    Raises:
        PayloadError: not an SO payload, or malformed; the message says why.
    """
    fmt = looks_like_so(text)
    if fmt == SO_JSON:
        try:
            whole = json.loads(text)
        except ValueError as exc:
            raise PayloadError(f"SO payload is not valid JSON: {exc}") from exc
    elif fmt == SO_SERIALIZE:
        try:
            whole = loads(text.encode("utf-8", "surrogateescape"))
        except PhpSerializeError as exc:
            raise PayloadError(f"SO payload does not unserialize: {exc}") from exc
    else:
        raise PayloadError("not an SO payload (it does not start with the 'class' key)")
    if not isinstance(whole, dict) or not isinstance(whole.get("class"), str):
        raise PayloadError("SO payload has no 'class' string")
    data = whole.get("data", {})
    if isinstance(data, list) and not data:
        data = {}  # PHP's empty array reads back as a list
    if not isinstance(data, dict):
        raise PayloadError("SO payload's 'data' is not an array of properties")
    return SoPayload(format=fmt, class_name=whole["class"].lstrip("\\"), data=data, text=text)
