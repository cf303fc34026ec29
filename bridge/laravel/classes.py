"""PHP job classes declared in Python, and their instances serialized exactly as PHP would.

A `JobClass` mirrors a PHP class: its own properties in declaration order (visibility,
type, default), the traits it uses, its interfaces, a parent class and the results of
methods Laravel calls at dispatch (`displayName`, `retryUntil`, `backoff`, `tries`).
`JobClass.new(**values)` checks the values against the declared types (see
`bridge.laravel._phptype` for the mapping) and returns a `Job`.

`command_object(job, profile)` is the `PhpObject` PHP's `serialize()` writes for it:

* without `SerializesModels`: native order, inherited properties first (parent's private
  ones included, mangled with the parent's name), then the class body, then its traits;
  a redeclared property keeps its inherited slot; uninitialized typed properties are left
  out;
* with `SerializesModels`: reflection order (the class body, then inherited public and
  protected properties, then trait properties; inherited private ones are never sent),
  models become `ModelIdentifier`s, and from Laravel 9.4 values identical (`===`) to their
  declared default are left out.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bridge.exceptions import JobClassError
from bridge.laravel._phptype import PhpType, to_php_value
from bridge.laravel.attributes import ClassAttribute
from bridge.laravel.traits import (
    SHOULD_BE_ENCRYPTED,
    SHOULD_QUEUE,
    STANDARD_TRAITS,
    TRAIT_PROPERTY_NAMES,
    interface_name,
    trait_name,
    trait_properties,
)
from bridge.laravel.values import Model, ModelCollection, model_identifier, php_truthy
from bridge.laravel.versions import LATEST, NEWEST_MAJOR, Profile
from bridge.php import PhpObject, PhpReference, Visibility, dumps, mangle

__all__ = [
    "NO_DEFAULT",
    "UNINITIALIZED",
    "FromNow",
    "Job",
    "JobClass",
    "Prop",
    "command_object",
    "php_identical",
    "serialize_command",
]


class _Marker(enum.Enum):
    NO_DEFAULT = "NO_DEFAULT"
    UNINITIALIZED = "UNINITIALIZED"


#: A typed property declared without `= value`.
NO_DEFAULT = _Marker.NO_DEFAULT
#: A value that leaves a typed property uninitialized (it is then never serialized).
UNINITIALIZED = _Marker.UNINITIALIZED


@dataclass(frozen=True, slots=True)
class FromNow:
    """A method result relative to the dispatch time, such as `retryUntil()` returning
    `now()->addMinutes(10)`: Unix seconds `now + seconds` when the payload is built.

    `bridge stubs` writes one for `retryUntil()` (the deadline it measured, less the time it
    was called); replace it with a fixed value or a callable when the method is not relative
    to the clock.
    """

    seconds: int

    def at(self, now: int) -> int:
        """The timestamp for a dispatch at `now`."""
        return now + self.seconds


MethodResult = Any | Callable[[Mapping[str, Any]], Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Prop:
    """One declared property.

    Attributes:
        name: the property name.
        visibility: public, protected or private.
        type: the declared type (`PhpType` or text such as `"?int"`), None when untyped.
        default: the declared default, or `NO_DEFAULT`. An untyped property without one
            defaults to null, as in PHP.
        has_default: PHP's `ReflectionProperty::hasDefaultValue()` (derived).
        default_value: the default as a PHP value, null for an untyped property without
            one (derived, once: every payload of the class compares values against it).
    """

    name: str
    visibility: Visibility = Visibility.PUBLIC
    type: PhpType | str | None = None
    default: Any = NO_DEFAULT
    has_default: bool = field(init=False, repr=False, compare=False, default=False)
    default_value: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "visibility", Visibility(self.visibility))
        if isinstance(self.type, str):
            object.__setattr__(self, "type", PhpType.parse(self.type))
        if self.default is not NO_DEFAULT:
            object.__setattr__(self, "default_value", self._default_value())
        has_default = self.default is not NO_DEFAULT or self.type is None
        object.__setattr__(self, "has_default", has_default)

    @property
    def php_type(self) -> PhpType | None:
        """The declared type, parsed."""
        assert not isinstance(self.type, str)
        return self.type

    def _default_value(self) -> Any:
        # PHP coerces a typed default at compile time (`float $x = 1` holds 1.0): so must we.
        php_type = self.php_type
        if php_type is None:
            return to_php_value(self.default)
        try:
            return php_type.coerce(self.default)
        except JobClassError as exc:
            raise JobClassError(f"${self.name}: default {exc}") from exc

    def check(self, value: Any, owner: str) -> Any:
        """Return the PHP value to store, or raise `JobClassError` naming the property.

        A `PhpReference` (properties bound by `&`, written `R:` by PHP) is checked by what it
        holds and kept as that same box, so every property sharing it serializes as PHP's.
        """
        if value is UNINITIALIZED:
            if self.type is None:
                raise JobClassError(f"{owner}::${self.name} is untyped and cannot be uninitialized")
            return value
        try:
            if isinstance(value, PhpReference):
                value.value = self._coerce(value.value)
                return value
            return self._coerce(value)
        except JobClassError as exc:
            raise JobClassError(f"{owner}::${self.name}: {exc}") from exc

    def _coerce(self, value: Any) -> Any:
        php_type = self.php_type
        return to_php_value(value) if php_type is None else php_type.coerce(value)


@dataclass(frozen=True, slots=True)
class _Slot:
    prop: Prop
    owner: str
    key: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", mangle(self.prop.name, self.prop.visibility, self.owner))

    def seen_by(self, class_name: str) -> bool:
        """Whether `$this->name` in class `class_name` reaches this slot (an inherited private
        one is out of reach)."""
        return self.owner == class_name or self.prop.visibility is not Visibility.PRIVATE


@dataclass(frozen=True, slots=True)
class JobClass:
    """A PHP (job) class declaration.

    Attributes:
        name: fully qualified class name, without a leading backslash.
        properties: the class body's own properties, in declaration order.
        traits: traits used directly, in `use` order (short or qualified names).
        interfaces: interfaces implemented (`"ShouldQueue"`, `"ShouldBeEncrypted"` or FQCNs).
        parent: the parent class, declared the same way (its traits count too).
        methods: results of methods Laravel calls when building the payload
            (`displayName`, `retryUntil`, `backoff`, `tries`): a value, or a callable
            given the job's property values by name, or `FromNow(seconds)` for a result
            relative to the dispatch time.
        attributes: the PHP attributes on the class and the traits it uses (e.g.
            Laravel 13's `#[Tries(5)]`), as `ClassAttribute`s.
    """

    name: str
    properties: tuple[Prop, ...] = ()
    traits: tuple[str, ...] = STANDARD_TRAITS
    interfaces: tuple[str, ...] = (SHOULD_QUEUE,)
    parent: JobClass | None = None
    methods: Mapping[str, MethodResult] = field(default_factory=dict)
    attributes: tuple[ClassAttribute, ...] = ()
    #: Facts derived from this declaration (slot layouts, payload parts), kept with it. A
    #: declaration never changes, so whatever is computed from it alone can be kept for every
    #: later job of the class; an entry that also depends on something else (the clock) must
    #: carry it and be replaced when it differs. Per-profile entries are keyed by
    #: `profile.version`, which hashes in C (a `Profile` key would run the dataclass's
    #: `__hash__` on every lookup). A field, not a property: payloads read it per dispatch.
    memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lstrip("\\"))
        object.__setattr__(self, "properties", tuple(self.properties))
        object.__setattr__(self, "traits", tuple(trait_name(t) for t in self.traits))
        object.__setattr__(self, "interfaces", tuple(interface_name(i) for i in self.interfaces))
        object.__setattr__(self, "attributes", tuple(self.attributes))
        names = [p.name for p in self.properties]
        if len(set(names)) != len(names):
            raise JobClassError(f"{self.name} declares a property twice")

    # --- class facts -------------------------------------------------------------------

    def lineage(self) -> Iterator[JobClass]:
        """This class, then its ancestors."""
        cls: JobClass | None = self
        while cls is not None:
            yield cls
            cls = cls.parent

    def uses(self, trait: str) -> bool:
        """Whether this class or an ancestor uses `trait`."""
        short = trait_name(trait)
        return any(short in cls.traits for cls in self.lineage())

    def implements(self, interface: str) -> bool:
        """Whether this class or an ancestor implements `interface`."""
        full = interface_name(interface).lower()
        return any(full in (i.lower() for i in cls.interfaces) for cls in self.lineage())

    @property
    def should_be_encrypted(self) -> bool:
        """Whether Laravel encrypts the command (`ShouldBeEncrypted`)."""
        return self.implements(SHOULD_BE_ENCRYPTED)

    def method(self, name: str) -> MethodResult | None:
        """The declared result of method `name` (own or inherited), else None."""
        for cls in self.lineage():
            if name in cls.methods:
                return cls.methods[name]
        return None

    def find_attribute(
        self, name: str, *, traits: bool = True
    ) -> tuple[int, ClassAttribute] | None:
        """The first `#[name]` up the lineage, with its depth (0: this class), as Laravel
        13 looks for it (the class, its traits when `traits`, then the parent); None when
        absent."""
        return self._cached(("attribute", name, traits), self._find_attribute, name, traits)

    def _find_attribute(self, name: str, traits: bool) -> tuple[int, ClassAttribute] | None:
        wanted = name.lstrip("\\").lower()
        for depth, cls in enumerate(self.lineage()):
            for attribute in cls.attributes:
                if attribute.trait is not None and not traits:
                    continue
                if attribute.name.lower() == wanted:
                    return depth, attribute
        return None

    def declaring_depth(self, name: str, profile: Profile) -> int | None:
        """How far up the lineage the public `$name` an instance reads is declared (a
        trait's property counts as declared by the class using it); None if not public."""
        for depth, cls in enumerate(self.lineage()):
            body, traits = cls._own_slots(profile)
            for slot in (*body, *traits):
                if slot.prop.name == name:
                    return depth if slot.prop.visibility is Visibility.PUBLIC else None
        return None

    def has_method(self, name: str) -> bool:
        """Whether a result for method `name` is declared."""
        return any(name in cls.methods for cls in self.lineage())

    def _own_slots(self, profile: Profile) -> tuple[list[_Slot], list[_Slot]]:
        body = [_Slot(p, self.name) for p in self.properties]
        traits = [
            _Slot(Prop(name, vis, None, default), self.name)
            for trait in self.traits
            for name, vis, default in trait_properties(trait, profile)
        ]
        return body, traits

    def _cached(self, key: Hashable, build: Callable[..., T], *args: Any) -> T:
        # `build` and its arguments, not a closure: the lookups run several times per
        # dispatch, and a closure made on each would cost more than the lookup.
        try:
            # Not `typing.cast`: that is a call of its own.
            return self.memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self.memo[key] = build(*args)
            return value

    def native_slots(self, profile: Profile) -> list[_Slot]:
        """Properties in PHP's object-table order (what native `serialize()` walks)."""
        return list(self._cached(("native", profile.version), self._native_slots, profile))

    def command_layout(self, profile: Profile) -> _CommandLayout:
        """What `command_object` walks for `profile`."""
        return self._cached(("command", profile.version), _CommandLayout.of, self, profile)

    def slot_named(self, name: str, profile: Profile) -> _Slot | None:
        """The slot an instance's `$name` reads (an inherited private one never counts)."""
        by_name = self._cached(("by_name", profile.version), self._index_slots, profile)
        return by_name.get(name)

    def _index_slots(self, profile: Profile) -> dict[str, _Slot]:
        index: dict[str, _Slot] = {}
        for slot in self.native_slots(profile):
            if slot.seen_by(self.name):
                index.setdefault(slot.prop.name, slot)
        return index

    def _native_slots(self, profile: Profile) -> list[_Slot]:
        slots = self.parent.native_slots(profile) if self.parent else []
        body, traits = self._own_slots(profile)
        for slot in body:
            index = _inherited_index(slots, slot.prop.name)
            if index is not None and slot.prop.visibility is not Visibility.PRIVATE:
                slots[index] = slot  # a redeclared property keeps its inherited slot
            else:
                slots.append(slot)
        body_names = {s.prop.name for s in body}
        for slot in traits:
            if slot.prop.name in body_names:
                continue
            if _inherited_index(slots, slot.prop.name) is not None and (
                slot.prop.visibility is not Visibility.PRIVATE
            ):
                continue  # the inherited declaration stands
            slots.append(slot)
        return slots

    def reflection_slots(self, profile: Profile) -> list[_Slot]:
        """Properties in `ReflectionClass::getProperties()` order, inherited privates dropped."""
        return list(self._cached(("reflection", profile.version), self._reflection_seen, profile))

    def _reflection_seen(self, profile: Profile) -> list[_Slot]:
        return [s for s in self._reflection_all(profile) if s.seen_by(self.name)]

    def _reflection_all(self, profile: Profile) -> list[_Slot]:
        body, traits = self._own_slots(profile)
        body_names = {s.prop.name for s in body}
        inherited = [
            s
            for s in (self.parent._reflection_all(profile) if self.parent else [])
            if s.prop.name not in body_names or s.prop.visibility is Visibility.PRIVATE
        ]
        visible = {s.prop.name for s in inherited if s.prop.visibility is not Visibility.PRIVATE}
        own_traits = [
            s
            for s in traits
            if s.prop.name not in body_names
            and (s.prop.visibility is Visibility.PRIVATE or s.prop.name not in visible)
        ]
        return body + inherited + own_traits

    def _visible_props(self) -> dict[str, Prop]:
        """Declared (non-trait) properties reachable by bare name on an instance."""
        return self._cached("visible", self._find_visible_props)

    def _find_visible_props(self) -> dict[str, Prop]:
        found: dict[str, Prop] = {}
        for depth, cls in enumerate(self.lineage()):
            for prop in cls.properties:
                if prop.name in found or (depth and prop.visibility is Visibility.PRIVATE):
                    continue
                found[prop.name] = prop
        return found

    # --- instances ---------------------------------------------------------------------

    def php_object(self, **values: Any) -> PhpObject:
        """An instance of a plain (value) class as the `PhpObject` PHP serializes: properties
        in PHP's order, defaults filled in, names mangled. For a job property typed with
        this class (`bridge stubs` declares such classes in `VALUE_CLASSES`)."""
        return command_object(self.instance(values), Profile(version=LATEST[NEWEST_MAJOR]))

    def new(self, **values: Any) -> Job:
        """Instantiate with property values by bare name (see `instance`)."""
        return self.instance(values)

    def instance(self, values: Mapping[str, Any]) -> Job:
        """Check `values` against the declaration and return a `Job`.

        Args:
            values: property name -> value, for the class's own and inherited properties
                and the trait properties (`queue`, `delay`, `chained`, `batchId`, ...).
                Typed properties without a default must be given (or `UNINITIALIZED`).

        Raises:
            JobClassError: an unknown property, a value of the wrong type, or a missing
                required property; the message names the class and the property.
        """
        return self._checked({}, values)

    def _checked(
        self, checked: dict[str, Any], values: Mapping[str, Any], *, complete: bool = False
    ) -> Job:
        """A `Job` of `checked` (values already checked) updated with `values`; `complete`:
        `checked` already holds every required property (it comes from a `Job`)."""
        props = self._visible_props()
        for name, value in values.items():
            prop = props.get(name)
            if prop is not None:
                checked[name] = prop.check(value, self.name)
            elif name in TRAIT_PROPERTY_NAMES and name in self._trait_property_names():
                checked[name] = _trait_value(name, value, self.name)
            else:
                raise JobClassError(f"{self.name} has no property ${name}")
        if not complete:
            for name, prop in props.items():
                if name not in checked and not prop.has_default:
                    raise JobClassError(
                        f"{self.name}::${name} is required: typed {prop.php_type} without a default"
                    )
        return Job(job_class=self, values=checked)

    def _trait_property_names(self) -> frozenset[str]:
        return self._cached("trait_names", self._find_trait_names)

    def _find_trait_names(self) -> frozenset[str]:
        latest = Profile(version=LATEST[NEWEST_MAJOR])
        legacy = Profile(version=(12, 27, 0))
        return frozenset(
            prop_name
            for cls in self.lineage()
            for trait in cls.traits
            for profile in (latest, legacy)
            for prop_name, _vis, _default in trait_properties(trait, profile)
        )


def _inherited_index(slots: list[_Slot], name: str) -> int | None:
    for index, slot in enumerate(slots):
        if slot.prop.name == name and slot.prop.visibility is not Visibility.PRIVATE:
            return index
    return None


def _trait_value(name: str, value: Any, owner: str) -> Any:
    if name == "chained":
        if not isinstance(value, list | tuple):
            raise JobClassError(f"{owner}::$chained must be a list")
        return [v if isinstance(v, Job | str | bytes) else to_php_value(v) for v in value]
    if type(value) is str:
        return value  # what `to_php_value` gives, for the `onQueue()` of most dispatches
    try:
        return to_php_value(value)
    except JobClassError as exc:
        raise JobClassError(f"{owner}::${name}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Job:
    """An instance of a declared job class, with checked property values.

    Attributes:
        job_class: the declaration.
        values: the values given (defaults are filled in when serializing).
    """

    job_class: JobClass
    values: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The PHP class name."""
        return self.job_class.name

    def with_values(self, **changes: Any) -> Job:
        """A copy with some property values changed (the changes are checked)."""
        return self.job_class._checked(dict(self.values), changes, complete=True)

    def on_queue(self, queue: str | None) -> Job:
        """Laravel's `onQueue()`: sets the `queue` property."""
        return self.with_values(queue=queue)

    def on_connection(self, connection: str | None) -> Job:
        """Laravel's `onConnection()`: sets the `connection` property."""
        return self.with_values(connection=connection)

    def delay(self, delay: int | datetime | None) -> Job:
        """Laravel's `delay()`: seconds or an aware datetime."""
        return self.with_values(delay=delay)

    def chain(self, jobs: Sequence[Job]) -> Job:
        """What `Bus::chain([this, *jobs])` stores on the first job."""
        return self.with_values(chained=list(jobs), chainCatchCallbacks=[])

    def with_batch(self, batch_id: str) -> Job:
        """Mark the job as part of batch `batch_id` (sets `batchId`)."""
        return self.with_values(batchId=batch_id)

    def value(self, name: str, profile: Profile) -> Any:
        """The current value of a property by bare name (given, else its default)."""
        slot = self.job_class.slot_named(name, profile)
        if slot is None:
            return UNINITIALIZED
        if name in self.values:
            return self.values[name]
        return slot.prop.default_value if slot.prop.has_default else UNINITIALIZED

    def should_be_encrypted(self, profile: Profile) -> bool:
        """Whether Laravel encrypts the command: `$job instanceof ShouldBeEncrypted ||
        ($job->shouldBeEncrypted ?? false)`, in PHP's sense of true (`"0"` and `[]` are
        false)."""
        if self.job_class.should_be_encrypted:
            return True
        flag = self.value("shouldBeEncrypted", profile)
        return flag is not UNINITIALIZED and php_truthy(flag)

    def properties(self, profile: Profile) -> dict[str, Any]:
        """Every initialized property by bare name (what PHP code would see)."""
        out: dict[str, Any] = {}
        for slot in self.job_class.native_slots(profile):
            name = slot.prop.name
            if not slot.seen_by(self.name):
                continue
            value = self.value(name, profile)
            if value is not UNINITIALIZED:
                out[name] = value
        return out


def php_identical(left: Any, right: Any) -> bool:
    """PHP's `===` for property values: same type and value, arrays key by key in order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if type(left) is not type(right):
        if isinstance(left, list | dict) and isinstance(right, list | dict):
            return _array_items(left) == _array_items(right) and all(
                php_identical(a, b)
                for a, b in zip(_array_values(left), _array_values(right), strict=True)
            )
        return False
    if isinstance(left, list | dict):
        return list(_array_items(left)) == list(_array_items(right)) and all(
            php_identical(a, b)
            for a, b in zip(_array_values(left), _array_values(right), strict=True)
        )
    if isinstance(left, float) and left != left:
        return False  # NAN !== NAN
    if isinstance(left, PhpObject | Model | ModelCollection):
        return left is right
    return bool(left == right)


def _array_items(value: list[Any] | dict[Any, Any]) -> list[Any]:
    return list(range(len(value))) if isinstance(value, list) else list(value)


def _array_values(value: list[Any] | dict[Any, Any]) -> Iterable[Any]:
    return value if isinstance(value, list) else value.values()


def _command_value(value: Any, profile: Profile, *, models: bool, cls: str, name: str) -> Any:
    if isinstance(value, Model | ModelCollection):
        if not models:
            raise JobClassError(
                f"{cls}::${name} holds a model, but only SerializesModels jobs can queue models"
            )
        return model_identifier(value, collection_class=profile.model_identifier_collection_class)
    return value


def _chained_value(value: Any, profile: Profile) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if isinstance(item, Job):
            data = serialize_command(item, profile)
            try:
                out.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(data)
        else:
            out.append(item)
    return out


def command_object(job: Job, profile: Profile) -> PhpObject:
    """The `PhpObject` that PHP's `serialize()` writes for `job` (module docstring).

    Raises:
        JobClassError: a value the profile's Laravel cannot hold (e.g. `messageGroup`
            before 12.28.1) or a model in a job without `SerializesModels`.
    """
    cls = job.job_class
    layout = cls.command_layout(profile)
    models, omit_defaults = layout.models, layout.omit_defaults
    values = job.values
    for name in values:
        if name not in layout.known:
            raise JobClassError(f"{cls.name}::${name} does not exist in Laravel {profile.name}")
    properties: dict[Any, Any] = {}
    for slot, visible in layout.slots:
        prop, name = slot.prop, slot.prop.name
        if visible and name in values:
            value = values[name]
        elif prop.has_default:
            value = prop.default_value
        else:
            continue  # uninitialized typed property: PHP writes nothing
        if value is UNINITIALIZED:
            continue
        if models and isinstance(value, PhpReference):
            # SerializesModels::__serialize() copies each property's value into an array:
            # PHP writes what the reference holds there, not an `R:` (references nested in
            # the value stay references).
            value = value.value
        if omit_defaults and prop.has_default and php_identical(value, prop.default_value):
            continue
        if name == "chained":
            value = _chained_value(value, profile)
        properties[slot.key] = _command_value(
            value, profile, models=models, cls=cls.name, name=name
        )
    return PhpObject(cls.name, properties)


def serialize_command(job: Job, profile: Profile) -> bytes:
    """PHP's `serialize()` of the job as Laravel queues it (`data.command`, unencrypted)."""
    return dumps(command_object(job, profile))


@dataclass(frozen=True, slots=True)
class _CommandLayout:
    """What `command_object` walks for one class and profile."""

    #: Each slot in serialize() order, and whether the class's own code reaches it by name
    #: (only then does a value given by bare name land there).
    slots: tuple[tuple[_Slot, bool], ...]
    #: The bare names a job of the class may give values for.
    known: frozenset[str]
    #: SerializesModels: reflection order, models written as identifiers.
    models: bool
    #: SerializesModels from 9.4: values identical to their declared default are left out.
    omit_defaults: bool

    @classmethod
    def of(cls, job_class: JobClass, profile: Profile) -> _CommandLayout:
        models = job_class.uses("SerializesModels")
        slots = job_class.reflection_slots(profile) if models else job_class.native_slots(profile)
        return cls(
            slots=tuple((slot, slot.seen_by(job_class.name)) for slot in slots),
            known=frozenset(slot.prop.name for slot in slots),
            models=models,
            omit_defaults=models and profile.serializes_models_omits_defaults,
        )
