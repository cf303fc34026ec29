"""The one error tree of bridge: every error bridge raises derives from `BridgeError`.

Codec errors also derive from the built-in they refine (`ValueError`, `EOFError`,
`TypeError`, `OverflowError`), so code written against `json`-like APIs keeps working.
A class whose constructor gets no message uses its docstring as the message.
"""

from __future__ import annotations


class BridgeError(Exception):
    """A bridge operation failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else (self.__doc__ or "").strip())


# --- PHP serialize() codec -------------------------------------------------------------


class PhpSerializeError(BridgeError):
    """PHP serialize() data could not be read or written."""


class PhpDecodeError(PhpSerializeError, ValueError):
    """Malformed PHP serialize() data.

    `offset` is the byte offset of the problem, `expected` what the grammar wanted there and
    `found` a short excerpt of what stood there instead.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        offset: int = -1,
        expected: str = "",
        found: bytes | str = b"",
    ) -> None:
        self.offset = offset
        self.expected = expected
        self.found = found
        if message is None:
            message = f"at byte {offset}: expected {expected}, found {found!r}"
        super().__init__(message)


class PhpTruncatedError(PhpDecodeError, EOFError):
    """PHP serialize() data ended before the value was complete."""


class PhpLimitError(PhpDecodeError):
    """PHP serialize() data exceeds a configured depth or size limit."""


class PhpEncodeError(PhpSerializeError, ValueError):
    """A Python value has no exact PHP serialize() form."""


class PhpEncodeTypeError(PhpSerializeError, TypeError):
    """A Python value of this type cannot be written as PHP serialize() data."""


class PhpIntegerOverflowError(PhpEncodeError, OverflowError):
    """An integer does not fit PHP's signed 64-bit int; PHP would silently clamp it."""


# --- Laravel payloads and job classes --------------------------------------------------


class PayloadError(BridgeError):
    """A Laravel job payload is invalid."""


class PayloadDecodeError(PayloadError, ValueError):
    """A Laravel job payload could not be decoded."""


class JobClassError(PayloadError, TypeError):
    """Values do not fit the declared PHP job class (wrong type, missing property)."""


class EncryptionError(PayloadError):
    """A Laravel-encrypted value could not be encrypted or decrypted."""


class DecryptionError(EncryptionError, ValueError):
    """The encrypted payload is invalid, tampered with, or was made with another key."""


class StubGenerationError(PayloadError):
    """PHP job classes could not be reflected into Python declarations."""


# --- Configuration ---------------------------------------------------------------------


class ConfigError(BridgeError):
    """The configuration is invalid or incomplete."""


class OptionError(ConfigError):
    """A value the user gave on the command line is unusable (a usage error).

    `option` names where it came from (`--database`, `BRIDGE_DATABASE_URL`), so the message
    can point at what to change.
    """

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.option = option


# --- Queue storage ---------------------------------------------------------------------


class QueueError(BridgeError):
    """The queue storage failed."""


class ConnectionLost(QueueError):
    """The connection to the queue database was lost; the operation may be retried."""


class SchemaError(QueueError):
    """The queue tables are missing or do not have the expected layout."""


class QueueAccessError(QueueError):
    """The queue database refuses this configuration: bad credentials, an unknown database,
    no permission. Retrying cannot help; the configuration must change."""


class QueueBusy(QueueError):
    """The queue database stayed locked or chose this transaction as a deadlock victim.

    The transaction was rolled back as a whole, so the operation may be retried.
    """


class FailedJobNotFound(QueueError, LookupError):
    """No failed job has this id or uuid."""


# --- Worker ----------------------------------------------------------------------------


class WorkerError(BridgeError):
    """The worker could not process a job."""


class HandlerNotFound(WorkerError, LookupError):
    """No Python handler is registered for this job's class."""


class MaxAttemptsExceeded(WorkerError):
    """The job has been attempted too many times or run too long."""


class TimeoutExceeded(MaxAttemptsExceeded):
    """The job has timed out."""


class ManuallyFailed(WorkerError):
    """The job was failed by its handler."""


class ModelNotFound(WorkerError, LookupError):
    """A model the job names no longer exists (Laravel's `ModelNotFoundException`).

    A handler raises it when it cannot find a model the payload refers to. The worker then
    deletes the job without a failure when the payload's `deleteWhenMissingModels` is true
    (Laravel 13 writes it from the job's property or `#[DeleteWhenMissingModels]`), and
    otherwise fails it at once, whatever attempts are left, as Laravel's worker does.
    """

    def __init__(self, model: str, ids: tuple[object, ...] | list[object] = ()) -> None:
        self.model = model
        self.ids = tuple(ids)
        # Laravel's wording: the ids after a space, else a full stop.
        text = f"No query results for model [{model}]"
        text += " " + ", ".join(map(str, self.ids)) if self.ids else "."
        super().__init__(text)


class ForeignPayload(WorkerError):
    """A row another dialect wrote (a Laravel job in an SO queue, or the reverse)."""


class AppImportError(WorkerError, ImportError):
    """The `MODULE:ATTR` app for the worker could not be imported."""


class JobTimeoutInterrupt(BaseException):
    """Raised inside a handler when its job's time is up.

    Deliberately a `BaseException` (like `KeyboardInterrupt`), not a `BridgeError`, so a
    handler's `except Exception:` cannot swallow the timeout.
    """
