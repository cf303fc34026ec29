"""The `Job` a handler receives: the decoded command, the payload, and the job's controls.

`release`, `fail` and `delete` record what the handler asks for; the worker carries it out
once the handler returns, in Laravel's order. If the handler raises after asking, what it
asked for stands and the exception is only logged (a released job is not also failed).
"""

from __future__ import annotations

import traceback
from typing import Any

from bridge.exceptions import ManuallyFailed
from bridge.laravel.payload import JobPayload
from bridge.laravel.values import to_python
from bridge.php import PhpObject
from bridge.queue.base import ReservedJob
from bridge.so import SoPayload

__all__ = ["Job"]


class Job:
    """One reserved job as a handler sees it.

    Attributes:
        payload: The decoded `jobs.payload` (`JobPayload`, or `SoPayload` in an SO queue);
            `payload.raw` is the whole payload as decoded.
        command: The unserialized job object (`PhpObject`) of an object job, else None.
            Properties read by bare name whatever their visibility: `job.command["label"]`.
        data: The payload's `data` (for `Class@method` string jobs, what was pushed).
        connection: The queue connection name.
    """

    __slots__ = (
        "_action",
        "_delay_seconds",
        "_failure",
        "_failure_stack",
        "_values",
        "command",
        "connection",
        "data",
        "payload",
        "reserved",
    )

    def __init__(
        self,
        reserved: ReservedJob,
        payload: JobPayload | SoPayload,
        command: PhpObject | None,
        connection: str,
    ) -> None:
        """Wrap a reserved row, its payload and its decoded command."""
        self.reserved = reserved
        self.payload = payload
        self.command = command
        self.connection = connection
        self.data: Any = payload.raw.get("data")
        self._values: dict[str, Any] | None = None
        self._action: str | None = None
        self._delay_seconds = 0
        self._failure: BaseException | None = None
        self._failure_stack: list[traceback.FrameSummary] | None = None

    # --- identity -------------------------------------------------------------------------

    @property
    def id(self) -> int | str:
        """The `jobs.id` of this attempt (a Laravel release inserts a new row, so it changes
        then; an SO release keeps it); on Redis the payload's `id` (kept across releases)."""
        return self.reserved.id

    @property
    def uuid(self) -> str | None:
        """The payload uuid, stable across releases and retries."""
        return self.payload.uuid

    @property
    def name(self) -> str:
        """The display name Laravel logs."""
        return self.payload.name

    @property
    def queue(self) -> str:
        """The queue the row was reserved from."""
        return self.reserved.queue

    @property
    def attempts(self) -> int:
        """Attempts so far, counting this one (the first run sees 1)."""
        return self.reserved.attempts

    @property
    def batch_id(self) -> str | None:
        """The batch this job belongs to, if any: the command's `batchId`, else the payload's
        `data.batchId` (12.51+ writes it there too, and it is all a job whose command did not
        decode still has)."""
        if self.command is not None:
            value = self.command.get("batchId")
            if isinstance(value, str) and value:
                return value
        data = self.data
        value = data.get("batchId") if isinstance(data, dict) else None
        return value if isinstance(value, str) and value else None

    # --- values ---------------------------------------------------------------------------

    @property
    def values(self) -> dict[str, Any]:
        """The command's properties by bare name as friendly Python values."""
        if self._values is None:
            # One conversion for all properties: an object two of them hold stays one object.
            self._values = {} if self.command is None else to_python(self.command.as_dict())
        return self._values

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The friendly value of property `name`, or `default`."""
        return self.values.get(name, default)

    # --- controls -------------------------------------------------------------------------

    def release(self, delay_seconds: int = 0) -> None:
        """Put the job back on its queue, available again after `delay_seconds`."""
        self._action, self._delay_seconds = "release", max(int(delay_seconds), 0)

    def delete(self) -> None:
        """Delete the job; it still counts as a success (chain and batch), as in Laravel."""
        self._action = "delete"

    def fail(self, reason: str | BaseException | None = None) -> None:
        """Fail the job now: no more attempts; it is written to `failed_jobs`.

        A string becomes the message of a `ManuallyFailed` error, as Laravel 9.48+ wraps it.
        """
        if isinstance(reason, BaseException):
            self._failure = reason
        else:
            self._failure = ManuallyFailed(reason or "")
        # An exception that was never raised has no traceback: PHP's text shows where the
        # failure was asked for, so remember the handler's stack.
        self._failure_stack = traceback.extract_stack()[:-1]
        self._action = "fail"

    @property
    def requested(self) -> str | None:
        """What the handler asked for: `"release"`, `"delete"`, `"fail"` or None."""
        return self._action

    @property
    def requested_delay_seconds(self) -> int:
        """The delay of a requested release."""
        return self._delay_seconds

    @property
    def failure_stack(self) -> list[traceback.FrameSummary] | None:
        """Where `fail` was called, for the `failed_jobs` stack trace."""
        return self._failure_stack

    @property
    def requested_failure(self) -> BaseException | None:
        """The exception of a requested failure."""
        return self._failure

    def __repr__(self) -> str:
        return (
            f"Job(id={self.id}, name={self.name!r}, uuid={self.uuid!r}, attempts={self.attempts})"
        )
