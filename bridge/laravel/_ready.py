"""The cache beside the payload writer: the bytes `reference_payload` writes, made sooner.

Dispatching writes jobs of one class again and again, and most of each payload is then the
same text. For each job class and profile this keeps, in the class's `memo`:

* the command's ready tokens: property keys and the defaults' serialized text, written
  once. A job whose given values are all scalars gets its command joined from them:
  scalars take part in no back-reference, so their bytes are the same wherever they stand.
* the payload's text around the uuid and the command, per second and kind of push: the
  reference writer's own output with marks in their place, cut at the marks. It serves the
  jobs that set none of the properties the rest of the payload is made from, of a class
  whose payload methods are constants.

Whatever this cannot write the same way it leaves to the reference (None), which also
raises every error. tests/unit/laravel/test_ready_paths.py holds both to the same bytes.
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
Around = Callable[[Job, Profile, str, int, "str | bytes", bool], str]

# Job properties and methods that everything in an object payload but `uuid` and
# `data.command` is made from: a job that sets none of these properties, of a class whose
# payload methods are constants, has the same text around them as every other job of its
# class dispatched in the same second.
_ENVELOPE_PROPERTIES = frozenset(
    {
        "tries",
        "maxExceptions",
        "failOnTimeout",
        "backoff",
        "timeout",
        "retryUntil",
        "batchId",
        "delay",
        "shouldBeEncrypted",
        "deleteWhenMissingModels",
    }
)
_PAYLOAD_METHODS = ("displayName", "backoff", "retryUntil", "tries")
# Stand-ins written where the uuid and the command go; plain ASCII, so JSON keeps them as is.
_UUID_MARK = "bridge-envelope-uuid-9c41d7"
_COMMAND_MARK = "bridge-envelope-command-9c41d7"


def ready_command(job: Job, profile: Profile) -> bytes:
    """`serialize_command(job, profile)`, joined from the class's tokens where it can be."""
    plan = _cache(job.job_class, profile).plan
    if plan is not None:
        data = plan.write(job.values)
        if data is not None:
            return data
    return serialize_command(job, profile)


def ready_payload(
    job: Job,
    profile: Profile,
    command: bytes,
    *,
    uuid: str,
    now: int,
    bulk: bool,
    encrypter: Encrypter | None,
    around: Around,
) -> str | None:
    """The payload of `job` with its serialized `command`, from the text kept for its class
    and profile; None when the job needs the reference writer (`around` makes the text)."""
    if not _ENVELOPE_PROPERTIES.isdisjoint(job.values):
        return None
    envelope = _cache(job.job_class, profile).envelope(job, profile, now, bulk, around)
    if envelope is None:
        return None
    if not envelope.encrypted:
        return envelope.fill(uuid, command)
    if encrypter is None:
        return None  # the reference raises the error
    return envelope.fill(uuid, encrypter.encrypt(command))


def _cache(job_class: JobClass, profile: Profile) -> _ClassCache:
    key = ("ready", profile.version)
    cache = job_class.memo.get(key)
    if cache is None:
        cache = job_class.memo[key] = _ClassCache.build(job_class, profile)
    return cache


@dataclass(slots=True)
class _ClassCache:
    """What is kept for one job class and profile."""

    #: The command tokens; None for a class whose defaults need the reference.
    plan: _CommandPlan | None
    #: Whether a payload method's result depends on the job's values (no envelope then).
    methods_vary: bool
    #: Per kind of push (bulk or not): the second it was made for, and the envelope.
    envelopes: dict[bool, tuple[int, _Envelope | None]] = field(default_factory=dict)

    @classmethod
    def build(cls, job_class: JobClass, profile: Profile) -> _ClassCache:
        methods_vary = any(callable(job_class.method(name)) for name in _PAYLOAD_METHODS)
        return cls(_CommandPlan.build(job_class, profile), methods_vary)

    def envelope(
        self, job: Job, profile: Profile, now: int, bulk: bool, around: Around
    ) -> _Envelope | None:
        if self.methods_vary:
            return None
        known = self.envelopes.get(bulk)
        if known is not None and known[0] == now:
            return known[1]
        envelope = _Envelope.make(job, profile, now, bulk, around)
        self.envelopes[bulk] = (now, envelope)
        return envelope


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
        try:
            text = around(job, profile, _UUID_MARK, now, _COMMAND_MARK, bulk)
        except PayloadError:
            return None  # the reference raises it, in its own order of checks
        flag = profile.json_unescaped_unicode
        uuid_mark = php_json_encode(_UUID_MARK, unescaped_unicode=flag)
        command_mark = php_json_encode(_COMMAND_MARK, unescaped_unicode=flag)
        if text.count(uuid_mark) != 1 or text.count(command_mark) != 1:
            return None  # a class name or option happens to hold a mark: never guess
        head, _, rest = text.partition(uuid_mark)
        middle, _, tail = rest.partition(command_mark)
        if _COMMAND_MARK in head:
            return None
        return cls(head, middle, tail, job.should_be_encrypted(profile), flag)

    def fill(self, uuid: str, command: str | bytes) -> str:
        flag = self.unescaped_unicode
        return "".join(
            (
                self.head,
                php_json_encode(uuid, unescaped_unicode=flag),
                self.middle,
                php_json_encode(command, unescaped_unicode=flag),
                self.tail,
            )
        )


def _plain(value: Any) -> bool:
    """Whether `value` holds only scalars and arrays (nothing with an identity to track)."""
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_plain(item) for item in value.values())
    return scalar_token(value) is not None


# A plan's layout for one set of given names: the pieces in order (ready bytes, or a given
# value's (name, key token, whether a value identical to the default is left out, default)),
# and how many properties the ready bytes hold.
_Shape = tuple[tuple[bytes | tuple[str, bytes, bool, Any], ...], int]
_SHAPES_KEPT = 64


@dataclass(frozen=True, slots=True)
class _CommandPlan:
    """`command_object` + `dumps` for one class and profile, as ready tokens.

    It covers jobs whose given values are scalars (most dispatches); `write` returns None
    for anything else (models, arrays, objects, chains, unknown names).
    """

    class_name: str
    #: (name, visible, key token, has default, default, token written when left at it)
    entries: tuple[tuple[str, bool, bytes, bool, Any, bytes | None], ...]
    known: frozenset[str]
    omit_defaults: bool
    #: Per tuple of given names (jobs of a class mostly give the same ones).
    _shapes: dict[tuple[str, ...], _Shape] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def build(cls, job_class: JobClass, profile: Profile) -> _CommandPlan | None:
        layout = job_class.command_layout(profile)
        entries = []
        for slot, visible in layout.slots:
            prop = slot.prop
            default = prop.default_value if prop.has_default else UNINITIALIZED
            token: bytes | None = None
            if default is not UNINITIALIZED:
                if not _plain(default):
                    return None
                try:
                    token = dumps(default)
                except PhpSerializeError:
                    return None  # the reference reports it for every job
                if layout.omit_defaults and php_identical(default, default):
                    token = None
            key = scalar_token(slot.key)
            assert key is not None  # property keys are str
            entries.append((prop.name, visible, key, prop.has_default, default, token))
        return cls(job_class.name, tuple(entries), layout.known, layout.omit_defaults)

    def write(self, values: Mapping[str, Any]) -> bytes | None:
        """The serialized command, or None when a value needs the reference."""
        names = tuple(values)
        shape = self._shapes.get(names)
        if shape is None:
            if not self.known.issuperset(names):
                return None
            if len(self._shapes) >= _SHAPES_KEPT:
                self._shapes.clear()
            shape = self._shapes[names] = self._shape(names)
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
        return object_token(self.class_name, count, b"".join(parts))

    def _shape(self, names: tuple[str, ...]) -> _Shape:
        """The entries for jobs that give values for `names`: runs of ready bytes for the
        properties left at their defaults, and a slot for each given value."""
        given = frozenset(names)
        pieces: list[bytes | tuple[str, bytes, bool, Any]] = []
        count = 0
        for name, visible, key, has_default, default, default_token in self.entries:
            if visible and name in given:
                pieces.append((name, key, self.omit_defaults and has_default, default))
            elif default_token is not None:
                count += 1
                last = pieces[-1] if pieces else None
                if isinstance(last, bytes):
                    pieces[-1] = last + key + default_token
                else:
                    pieces.append(key + default_token)
        return tuple(pieces), count
