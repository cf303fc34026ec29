"""The `jobs.payload` JSON: the only module that knows Laravel's camelCase payload keys.

`JobPayload.from_json` reads any payload Laravel 8 to 12 writes (object jobs, closures,
listeners, mail, notifications, `Class@method` string jobs) and keeps every key, known or
not, in `raw` in its original order, so nothing a payload hook added is ever dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bridge.exceptions import PayloadDecodeError

CALL_QUEUED_HANDLER = "Illuminate\\Queue\\CallQueuedHandler@call"


def _opt_int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadDecodeError(f"payload key {key!r} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise PayloadDecodeError(f"payload key {key!r} must be an integer, not {value!r}") from exc


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

    @classmethod
    def from_json(cls, text: str | bytes) -> JobPayload:
        """Parse a payload; raise `PayloadDecodeError` when it is not a usable job payload."""
        try:
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadDecodeError(f"payload is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise PayloadDecodeError("payload is not a JSON object")
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
        return cls(
            uuid=raw["uuid"] if isinstance(raw.get("uuid"), str) else None,
            display_name=raw["displayName"] if isinstance(raw.get("displayName"), str) else None,
            job=job,
            max_tries=_opt_int(raw, "maxTries"),
            max_exceptions=_opt_int(raw, "maxExceptions"),
            fail_on_timeout=bool(raw.get("failOnTimeout", False)),
            backoff=backoff,
            timeout=_opt_int(raw, "timeout"),
            # 8.x-9.x workers still fall back to the pre-8 `timeoutAt` key.
            retry_until=_opt_int(raw, "retryUntil")
            if raw.get("retryUntil") is not None
            else _opt_int(raw, "timeoutAt"),
            command_name=command_name,
            command=command,
            created_at=_opt_int(raw, "createdAt"),
            delay=_opt_int(raw, "delay"),
            raw=raw,
        )

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
