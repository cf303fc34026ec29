"""The cache beside the payload writer: the bytes `reference_payload` writes, made sooner.

Dispatching writes jobs of one class again and again, and most of each payload is then the
same text. So this keeps, per job class and profile (in the class's `memo`):

* the command's tokens: property keys and the defaults' serialized text. A job whose given
  values are all scalars gets its command joined from them: scalars take part in no
  back-reference, so their bytes are the same wherever they stand.
* the text around the uuid and the command, per second and kind of push: the reference
  writer's output with marks in their place, cut at the marks. It serves jobs that set none
  of the properties that text is made from, of a class whose payload methods are constants.

What this cannot write the same way it leaves to the reference (None), which also raises
every error. tests/unit/laravel/test_ready_paths.py holds both to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.exceptions import PayloadError, PhpSerializeError
from bridge.laravel._json import php_json_encode
from bridge.laravel.classes import UNINITIALIZED, Job, JobClass, php_identical, serialize_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.versions import Profile
from bridge.php import dumps, object_token, scalar_token

__all__ = ["Around", "ready_command", "ready_payload"]

#: The reference writer of an object payload around a given command:
#: `(job, profile, uuid, now, command, bulk) -> text`.
Around = Callable[[Job, Profile, str, int, str | bytes, bool], str]

# Job properties and methods that everything in an object payload but `uuid` and
# `data.command` is made from: a job that sets none of these properties, of a class whose
# payload methods are constants, has the same text around them as every other job of its
# class dispatched in the same second.
_ENVELOPE_PROPERTIES = frozenset(
    {"tries", "maxExceptions", "failOnTimeout", "backoff", "timeout", "retryUntil", "batchId",
     "delay", "shouldBeEncrypted", "deleteWhenMissingModels"}
)  # fmt: skip
_PAYLOAD_METHODS = ("displayName", "backoff", "retryUntil", "tries")
# Stand-ins written where the uuid and the command go; plain ASCII, so JSON keeps them as is.
_UUID_MARK = "bridge-envelope-uuid-9c41d7"
_COMMAND_MARK = "bridge-envelope-command-9c41d7"


def ready_command(job: Job, profile: Profile) -> bytes:
    """`serialize_command(job, profile)`, joined from the class's tokens where it can be."""
    memo, key = job.job_class.memo, ("plan", profile.version)
    plan = memo.get(key)
    if plan is None:
        plan = memo[key] = _CommandPlan(job.job_class, profile)
    data = plan.write(job.values)
    return serialize_command(job, profile) if data is None else data


def ready_payload(
    job: Job,
    profile: Profile,
    command: bytes,
    uuid: str,
    now: int,
    bulk: bool,
    encrypter: Encrypter | None,
    around: Around,
) -> str | None:
    """The payload of `job` with its serialized `command`, from the text kept for its class,
    profile, kind of push and second (`around` makes it); None: it needs the reference."""
    if not _ENVELOPE_PROPERTIES.isdisjoint(job.values):
        return None
    memo, key = job.job_class.memo, ("envelope", profile.version, bulk)
    known = memo.get(key)
    if known is None or known[0] != now:
        known = memo[key] = (now, _Envelope.make(job, profile, now, bulk, around))
    envelope: _Envelope | None = known[1]
    if envelope is None:
        return None
    if envelope.encrypted:
        if encrypter is None:
            return None  # the reference raises the error
        return envelope.fill(uuid, encrypter.encrypt(command))
    return envelope.fill(uuid, command)


@dataclass(frozen=True, slots=True)
class _Envelope:
    """An object payload's text around its uuid and command, for one class and second."""

    head: str
    middle: str
    tail: str
    encrypted: bool
    unescaped_unicode: bool

    @classmethod
    def make(
        cls, job: Job, profile: Profile, now: int, bulk: bool, around: Around
    ) -> _Envelope | None:
        """The reference text with marks for uuid and command, cut at them."""
        if any(callable(job.job_class.method(name)) for name in _PAYLOAD_METHODS):
            return None  # a method result that depends on the job's values
        try:
            text = around(job, profile, _UUID_MARK, now, _COMMAND_MARK, bulk)
        except PayloadError:
            return None  # the reference raises it, in its own order of checks
        flag = profile.json_unescaped_unicode
        uuid_mark = php_json_encode(_UUID_MARK, unescaped_unicode=flag)
        command_mark = php_json_encode(_COMMAND_MARK, unescaped_unicode=flag)
        if text.count(uuid_mark) != 1 or text.count(command_mark) != 1:
            return None  # a class name or option happens to hold a mark: never guess
        head, _, rest = text.partition(uuid_mark)  # the uuid comes first in every payload
        middle, _, tail = rest.partition(command_mark)
        return cls(head, middle, tail, job.should_be_encrypted(profile), flag)

    def fill(self, uuid: str, command: str | bytes) -> str:
        flag = self.unescaped_unicode
        uuid_text = php_json_encode(uuid, unescaped_unicode=flag)
        command_text = php_json_encode(command, unescaped_unicode=flag)
        return f"{self.head}{uuid_text}{self.middle}{command_text}{self.tail}"


def _plain(value: Any) -> bool:
    """Whether `value` holds only scalars and arrays (nothing with an identity to track)."""
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_plain(item) for item in value.values())
    return scalar_token(value) is not None


# A plan's layout for one set of given names: the pieces in order (ready bytes, or a given
# value's (name, key token, whether a value identical to the default is left out, default)),
# and how many properties the ready bytes hold. None: jobs giving these names need the
# reference (an unknown name, or a default that is not plain).
_Shape = tuple[tuple[bytes | tuple[str, bytes, bool, Any], ...], int] | None
_SHAPES_KEPT = 64


@dataclass(frozen=True, slots=True)
class _CommandPlan:
    """`command_object` + `dumps` for one class and profile, as ready tokens per tuple of
    given names (jobs of a class mostly give the same ones).

    It covers jobs whose given values are scalars (most dispatches); `write` returns None
    for anything else (models, arrays, objects, chains, unknown names).
    """

    job_class: JobClass
    profile: Profile
    shapes: dict[tuple[str, ...], _Shape] = field(default_factory=dict)

    def write(self, values: Mapping[str, Any]) -> bytes | None:
        """The serialized command, or None when a value needs the reference."""
        names = tuple(values)
        try:
            shape = self.shapes[names]
        except KeyError:
            if len(self.shapes) >= _SHAPES_KEPT:
                self.shapes.clear()
            shape = self.shapes[names] = self._shape(names)
        if shape is None:
            return None
        pieces, count = shape
        parts: list[bytes] = []
        for piece in pieces:
            if isinstance(piece, bytes):
                parts.append(piece)
                continue
            name, key, omissible, default = piece
            value = values[name]
            if value is UNINITIALIZED or (omissible and php_identical(value, default)):
                continue
            token = scalar_token(value)
            if token is None:
                return None
            parts.append(key)
            parts.append(token)
            count += 1
        return object_token(self.job_class.name, count, b"".join(parts))

    def _shape(self, names: tuple[str, ...]) -> _Shape:
        """Runs of ready bytes for the properties left at their defaults, and a place for
        each given value."""
        layout = self.job_class.command_layout(self.profile)
        if not layout.known.issuperset(names):
            return None
        given = frozenset(names)
        pieces: list[bytes | tuple[str, bytes, bool, Any]] = []
        count = 0
        for slot, visible in layout.slots:
            prop = slot.prop
            key = scalar_token(slot.key)
            assert key is not None  # property keys are str
            if visible and prop.name in given:
                omissible = layout.omit_defaults and prop.has_default
                pieces.append((prop.name, key, omissible, prop.default_value))
                continue
            if not prop.has_default:
                continue  # uninitialized: PHP writes nothing
            if not _plain(prop.default_value):
                return None
            if layout.omit_defaults and php_identical(prop.default_value, prop.default_value):
                continue  # left out (all but NAN is identical to itself)
            try:
                token = key + dumps(prop.default_value)
            except PhpSerializeError:
                return None  # the reference reports it for every job
            count += 1
            if pieces and isinstance(pieces[-1], bytes):
                pieces[-1] += token
            else:
                pieces.append(token)
        return tuple(pieces), count
