"""The PHP side's queue dialect: which framework wrote (or will run) the rows of a queue.

Both frameworks share the `jobs` and `failed_jobs` tables but not the payload:

* `laravel`: Laravel's payload JSON, for a version profile (8 to 13);
* `so`: the SO framework's JSON (`{"class": ..., "data": {...}}`);
* `so-serialize`: the same array PHP-`serialize()`d, as the SO framework's first version
  wrote it.

The worker, the dispatcher and the failed-job tools ask a `Dialect` what a row is and how to
write one; nothing else in bridge needs to know which framework is on the other side. The
worker runs every dialect's rows down one path and asks the dialect where its PHP worker
differs: how a payload decodes, whether a release keeps the row, and the shape of a failed
row.
`sniff` tells the dialect of one row from its first bytes; `detect_dialect` decides for a
table only when every row it reads agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from bridge.exceptions import ConfigError, JobClassError, PayloadError
from bridge.laravel import JobPayload, Profile, build_payload, detect_profile, profile_for
from bridge.laravel.classes import Job
from bridge.laravel.encryption import Encrypter
from bridge.so import (
    SO_JSON,
    SO_SERIALIZE,
    SoPayload,
    decode_so,
    encode_so,
    so_data,
    so_unsupported,
)
from bridge.so.payload import looks_like_so

__all__ = [
    "LARAVEL",
    "SO",
    "SO_DIALECT_NAMES",
    "Dialect",
    "FailedRow",
    "RowSummary",
    "detect_dialect",
    "dialect_named",
    "sniff",
    "summarize",
]

LARAVEL = "laravel"
SO = "so"
#: The dialect names that mean the SO framework.
SO_DIALECT_NAMES = (SO_JSON, SO_SERIALIZE)
#: What the SO framework writes to `failed_jobs.connection`, whatever the connection's name.
SO_FAILED_CONNECTION = "database"


class FailedRow(NamedTuple):
    """A `failed_jobs` row as a dialect's worker writes it, where that is not the row as
    reserved."""

    payload: str
    queue: str
    connection: str


def sniff(text: str) -> str | None:
    """The dialect that wrote this payload: `laravel`, `so`, `so-serialize`, or None.

    None means unreadable by either; the worker of the configured dialect then fails it
    with the reason, as it does any payload it cannot decode.
    """
    so_format = looks_like_so(text)
    if so_format is not None:
        return so_format
    if text.startswith("{"):
        return LARAVEL
    return None


@dataclass(frozen=True, slots=True)
class Dialect:
    """One dialect: its name, and for Laravel the version profile payloads are written for.

    Attributes:
        name: `laravel`, `so` or `so-serialize`.
        profile: the Laravel profile (None for the SO dialects).
    """

    name: str
    profile: Profile | None = None

    @property
    def family(self) -> str:
        """`laravel` or `so` (both SO formats are one framework)."""
        return SO if self.name in SO_DIALECT_NAMES else LARAVEL

    @property
    def is_so(self) -> bool:
        """Whether this is one of the SO framework's formats."""
        return self.family == SO

    @property
    def label(self) -> str:
        """The name as a user gives it (`laravel-12`, `so`)."""
        if self.profile is not None:
            return f"{LARAVEL}-{self.profile.name}"
        return self.name

    @property
    def queue_sets_property(self) -> bool:
        """Whether dispatching onto a named queue also sets the job's `queue` property.

        Laravel's `onQueue()` does; the SO framework's `push($job, $queue)` leaves the
        property as it was (its failed row then names the property's queue).
        """
        return not self.is_so

    @property
    def delay_sets_property(self) -> bool:
        """Whether a dispatch delay is the job's `delay` property (Laravel's `delay()`), or
        only the row's `available_at` (the SO framework's `later($job, $delay)`)."""
        return not self.is_so

    @property
    def has_uuid(self) -> bool:
        """Whether payloads carry a uuid (Laravel's do; SO's do not)."""
        return not self.is_so

    @property
    def has_chains_and_batches(self) -> bool:
        """Whether the PHP side knows chains and batches (the SO framework does not)."""
        return not self.is_so

    @property
    def releases_in_place(self) -> bool:
        """Whether a release keeps the row (the SO worker) or inserts it anew (Laravel's)."""
        return self.is_so

    @property
    def failure_text_is_outer_only(self) -> bool:
        """Whether `failed_jobs.exception` holds the outer exception alone (the SO worker's
        `Class: message in file:line`) rather than Laravel's whole `Next` chain."""
        return self.is_so

    @property
    def decode(self) -> Callable[[str], JobPayload | SoPayload]:
        """The function that reads a row's payload text in this dialect (it raises
        `PayloadError` for text that is not one); taken once, called per row."""
        return decode_so if self.is_so else JobPayload.from_json

    def failed_row(
        self,
        text: str,
        queue: str,
        payload: JobPayload | SoPayload | None,
        *,
        job_id: int | str,
        attempts: int,
    ) -> FailedRow | None:
        """How this dialect's worker records the failed row `text` reserved from `queue`, or
        None to record it exactly as reserved (Laravel's).

        The SO worker writes the payload again with `jobId` and `attempts` filled in, onto the
        job's own `queue` property, under the connection name `database`.
        """
        if not self.is_so:
            return None
        if isinstance(payload, SoPayload):
            text = payload.for_failed_jobs(job_id=job_id, attempts=attempts)
            queue = payload.queue or queue
        return FailedRow(text, queue, SO_FAILED_CONNECTION)

    def foreign(self, text: str) -> str | None:
        """The other dialect a row belongs to, or None when it is this family's (or unknown)."""
        seen = sniff(text)
        if seen is None or (seen in SO_DIALECT_NAMES) == (self.name in SO_DIALECT_NAMES):
            return None
        return seen

    def payload(
        self,
        job: Job,
        *,
        uuid: str,
        now: int,
        encrypter: Encrypter | None = None,
        bulk: bool = False,
    ) -> str:
        """The payload text this dialect's PHP side writes when it dispatches `job`.

        Raises:
            JobClassError: the SO worker could not run the class from a payload.
            PayloadError: the format cannot carry one of the values.
        """
        if self.is_so:
            problems = so_unsupported(job.job_class, self.name)
            if problems:
                raise JobClassError("; ".join(problems))
            return encode_so(job.name, so_data(job), self.name)
        assert self.profile is not None
        return build_payload(
            job, profile=self.profile, uuid=uuid, now=now, encrypter=encrypter, bulk=bulk
        )


class RowSummary(NamedTuple):
    """What the listing tools show of a payload, whichever dialect wrote it."""

    dialect: str | None
    class_name: str | None
    display_name: str | None
    uuid: str | None


def summarize(text: str) -> RowSummary:
    """Class, display name and uuid of a payload of any dialect (None where unreadable)."""
    seen = sniff(text)
    if seen in SO_DIALECT_NAMES:
        try:
            so = decode_so(text)
        except PayloadError:
            return RowSummary(seen, None, None, None)
        return RowSummary(seen, so.class_name, so.name, None)
    try:
        payload = JobPayload.from_json(text)
    except PayloadError:
        return RowSummary(seen, None, None, None)
    return RowSummary(seen, payload.command_name or payload.job, payload.name, payload.uuid)


def dialect_named(name: str, *, laravel_version: str | None = None) -> Dialect:
    """The dialect a user names: `laravel`, `laravel-12`, `so`, `so-serialize`.

    Raises:
        ConfigError: an unknown name.
    """
    text = name.strip().lower()
    if text in SO_DIALECT_NAMES:
        return Dialect(text)
    if text == "so-json":
        return Dialect(SO_JSON)
    if text == LARAVEL or text.startswith(f"{LARAVEL}-"):
        version = text.partition("-")[2] or laravel_version or "8"
        try:
            return Dialect(LARAVEL, profile_for(version))
        except ConfigError as exc:
            raise ConfigError(f"unknown Laravel version in dialect {name!r}: {exc}") from exc
    raise ConfigError(
        f"unknown dialect {name!r}: use laravel, laravel-<version>, so or so-serialize"
    )


def detect_dialect(payloads: Iterable[str]) -> Dialect | None:
    """The dialect every readable payload agrees on, or None (no rows, or mixed writers).

    Laravel rows also give the profile (`detect_profile`); SO rows must all be of one format.
    """
    texts = list(payloads)
    seen = {sniff(text) for text in texts} - {None}
    if len(seen) != 1:
        return None
    (name,) = seen
    if name in SO_DIALECT_NAMES:
        return Dialect(name)
    profile = detect_profile(texts)
    return None if profile is None else Dialect(LARAVEL, profile)
