"""Laravel's values inside job commands, both ways: models, dates and enums.

Python to PHP (used when a declared job is serialized):

* `Model` / `ModelCollection` -> `Illuminate\\Contracts\\Database\\ModelIdentifier` (four
  properties before Laravel 9.26, five after; a collection puts a list in `id`);
* an aware `datetime` -> a PHP date object (`date` as local wall time `Y-m-d H:i:s.u`):
  a `zoneinfo` zone or `timezone.utc` is timezone type 3 (identifier), a named
  `datetime.timezone(offset, "CEST")` type 2 (abbreviation), an unnamed fixed offset
  type 1 (`+05:45`). Naive datetimes are refused: PHP would silently use its default zone;
* a Python `Enum` member -> `PhpEnum` by member *name* (PHP serializes enums by case name),
  its PHP class from an explicit mapping, the `@php_enum("App\\Enums\\X")` decorator, or
  the declared property type.

PHP to Python (`to_python`, for handlers): dates become `PhpDateTime` (an aware `datetime`
that remembers its PHP class), `ModelIdentifier`s become `Model` / `ModelCollection`,
enum cases become the mapped Python enum or stay `PhpEnum`; other objects keep their
class and mangled keys with converted values. Shared instances stay shared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import Enum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.exceptions import JobClassError
from bridge.php import PhpEnum, PhpObject

__all__ = [
    "DATE_CLASSES",
    "ELOQUENT_COLLECTION",
    "MODEL_IDENTIFIER",
    "Model",
    "ModelCollection",
    "PhpDateTime",
    "date_from_php",
    "date_to_php",
    "enum_to_php",
    "model_identifier",
    "php_enum",
    "php_truthy",
    "to_python",
]

MODEL_IDENTIFIER = "Illuminate\\Contracts\\Database\\ModelIdentifier"
ELOQUENT_COLLECTION = "Illuminate\\Database\\Eloquent\\Collection"

#: PHP date classes and the native class each one extends (decides mutability only).
DATE_CLASSES: dict[str, str] = {
    "DateTime": "DateTime",
    "DateTimeImmutable": "DateTimeImmutable",
    "Carbon\\Carbon": "DateTime",
    "Carbon\\CarbonImmutable": "DateTimeImmutable",
    "Illuminate\\Support\\Carbon": "DateTime",
}
#: Interfaces a date class satisfies; a property typed with one takes any date.
DATE_INTERFACES = frozenset({"DateTimeInterface", "Carbon\\CarbonInterface"})
#: The class written for a plain `datetime` when the declared type does not pick one:
#: what Laravel's `now()` returns.
DEFAULT_DATE_CLASS = "Illuminate\\Support\\Carbon"

# PHP's abbreviation table is large; these are the common ones (offset in minutes).
_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "SAST": 120, "JST": 540,
    "KST": 540, "HKT": 480, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780, "EST": -300, "EDT": -240, "CST": -360,
    "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540,
    "AKDT": -480, "HST": -600,
}  # fmt: skip
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?")
_PHP_DATE = "%Y-%m-%d %H:%M:%S.%f"

E = TypeVar("E", bound=type[Enum])


@dataclass(frozen=True, slots=True)
class Model:
    """A reference to one Eloquent model, queued as a `ModelIdentifier`.

    Attributes:
        class_name: the model's PHP class (or morph alias).
        key: its primary key (None for an unsaved model).
        connection: the model's database connection *name* (e.g. `"mysql"`).
        relations: loaded relation names, nested ones dotted (`"posts.comments"`).
    """

    class_name: str
    key: int | str | None
    connection: str | None = None
    relations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelCollection:
    """A reference to an Eloquent collection of one model class, queued by its keys.

    Attributes:
        collection_class: a custom collection class, or None for Eloquent's own.
    """

    class_name: str
    keys: tuple[int | str, ...]
    connection: str | None = None
    relations: tuple[str, ...] = ()
    collection_class: str | None = None


class PhpDateTime(datetime):
    """An aware datetime read from PHP; `php_class` is the PHP class it came from."""

    php_class: str = "DateTimeImmutable"

    def __reduce_ex__(self, protocol: Any) -> Any:  # keep the PHP class through copies
        plain = datetime(
            self.year, self.month, self.day, self.hour, self.minute, self.second,
            self.microsecond, self.tzinfo, fold=self.fold,
        )  # fmt: skip
        return (_rebuild_date, (plain, self.php_class))


def _rebuild_date(value: datetime, php_class: str) -> PhpDateTime:
    return _as_php_datetime(value, php_class)


def _as_php_datetime(value: datetime, php_class: str) -> PhpDateTime:
    out = PhpDateTime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.tzinfo, fold=value.fold,
    )  # fmt: skip
    out.php_class = php_class
    return out


def php_enum(php_class: str) -> Callable[[E], E]:
    """Class decorator naming the PHP enum a Python `Enum` stands for."""

    def mark(cls: E) -> E:
        setattr(cls, "__php_class__", php_class)  # noqa: B010  (Enum forbids plain attributes)
        return cls

    return mark


def enum_to_php(member: Enum, php_class: str | None = None) -> PhpEnum:
    """Return the PHP enum case for a Python enum member (matched by *name*).

    Raises:
        JobClassError: when no PHP class is known for the member's enum.
    """
    name = php_class or getattr(type(member), "__php_class__", None)
    if not name:
        raise JobClassError(
            f"no PHP enum class for {type(member).__name__}; decorate it with "
            "@php_enum('App\\\\Enums\\\\Name') or declare the property's enum type"
        )
    return PhpEnum(class_name=name, case=member.name)


def _timezone_fields(tz: tzinfo, when: datetime) -> tuple[int, str]:
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if isinstance(key, str):
        return 3, key
    if tz is UTC:
        return 3, "UTC"
    offset = tz.utcoffset(when)
    if offset is None:
        raise JobClassError("a datetime's tzinfo has no UTC offset")
    if isinstance(tz, timezone):
        name = tz.tzname(None)
        if name != timezone(offset).tzname(None):
            return 2, name
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    return 1, text


def date_to_php(value: datetime, class_name: str | None = None) -> PhpObject:
    """Return the PHP date object (`DateTime`, Carbon, ...) for an aware datetime.

    Args:
        value: an aware datetime; a `PhpDateTime` keeps its PHP class by default.
        class_name: the PHP class to write; defaults to the value's own PHP class, else
            `Illuminate\\Support\\Carbon`.

    Raises:
        JobClassError: for a naive datetime.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise JobClassError(
            f"naive datetime {value.isoformat()} has no time zone; PHP dates always carry one"
        )
    if class_name is None:
        class_name = value.php_class if isinstance(value, PhpDateTime) else DEFAULT_DATE_CLASS
    tz_type, tz_name = _timezone_fields(value.tzinfo, value)
    return PhpObject(
        class_name,
        {"date": value.strftime(_PHP_DATE), "timezone_type": tz_type, "timezone": tz_name},
    )


def _parse_offset(text: str) -> timedelta | None:
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes, seconds = (int(g or 0) for g in match.group(2, 3, 4))
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _zone_for(tz_type: Any, name: Any) -> tzinfo | None:
    if not isinstance(name, str):
        return None
    if tz_type == 3:
        if name == "UTC":
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    if tz_type == 1:
        offset = _parse_offset(name)
        return None if offset is None else timezone(offset)
    if tz_type == 2:
        minutes = _ABBREVIATIONS.get(name.upper())
        return None if minutes is None else timezone(timedelta(minutes=minutes), name)
    return None


def php_truthy(value: Any) -> bool:
    """PHP's conversion to bool: null, false, 0, 0.0, `""`, `"0"` and `[]` are false.

    What Laravel's `if ($job->x)` and `$a ?: $b` see, where Python's truth would call `"0"`
    true. Objects are true; NAN is true in both.
    """
    if value is False or value is None:
        return False  # first: what most payload flags hold (`isinstance` with a union is slow)
    if isinstance(value, str | bytes):
        return value not in ("", "0", b"", b"0")
    if isinstance(value, list | tuple | dict):
        return bool(value)
    if isinstance(value, bool | int | float) or value is None:
        return bool(value)
    return True


def is_php_date(value: Any) -> bool:
    """Whether a decoded PHP value is a date object with the serialized date fields."""
    return (
        isinstance(value, PhpObject)
        and "date" in value.properties
        and "timezone_type" in value.properties
        and "timezone" in value.properties
    )


def date_from_php(value: PhpObject) -> PhpDateTime | None:
    """Read a PHP date object; None when its zone is unknown here (nothing is guessed)."""
    props = value.properties
    tz = _zone_for(props.get("timezone_type"), props.get("timezone"))
    text = props.get("date")
    if tz is None or not isinstance(text, str):
        return None
    try:
        wall = datetime.strptime(text, _PHP_DATE)
    except ValueError:
        return None
    local = wall.replace(tzinfo=tz)
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        # A wall time the zone has twice (clocks turned back) is the later instant in PHP;
        # one the zone skips (clocks turned forward) keeps fold 0, which PHP agrees with.
        if (local.utcoffset() or timedelta(0)) > (
            local.replace(fold=1).utcoffset() or timedelta(0)
        ):
            local = local.replace(fold=1)
    return _as_php_datetime(local, value.class_name)


def model_identifier(ref: Model | ModelCollection, *, collection_class: bool) -> PhpObject:
    """Return the `ModelIdentifier` SerializesModels writes for a model or collection.

    Args:
        ref: the model or collection.
        collection_class: write the fifth property (`Profile.model_identifier_collection_class`).
    """
    if isinstance(ref, Model):
        ident: Any = ref.key
        custom = None
    else:
        ident = list(ref.keys)
        custom = ref.collection_class
        if custom == ELOQUENT_COLLECTION:
            custom = None
    props: dict[Any, Any] = {
        "class": ref.class_name,
        "id": ident,
        "relations": list(ref.relations),
        "connection": ref.connection,
    }
    if collection_class:
        props["collectionClass"] = custom
    return PhpObject(MODEL_IDENTIFIER, props)


def model_from_identifier(value: PhpObject) -> Model | ModelCollection:
    """Read a `ModelIdentifier` back into a `Model` or `ModelCollection`."""
    props = value.as_dict()
    relations = tuple(str(r) for r in (props.get("relations") or []))
    ident = props.get("id")
    if isinstance(ident, list):
        return ModelCollection(
            class_name=props.get("class", ""),
            keys=tuple(ident),
            connection=props.get("connection"),
            relations=relations,
            collection_class=props.get("collectionClass"),
        )
    return Model(
        class_name=props.get("class", ""),
        key=ident,
        connection=props.get("connection"),
        relations=relations,
    )


def to_python(value: Any, *, enums: Mapping[str, type[Enum]] | None = None) -> Any:
    """Turn decoded PHP values into friendly Python values for handlers (module docstring).

    Args:
        value: a value from `bridge.php.loads` (a job command, a property, ...).
        enums: PHP enum class name -> Python `Enum`; cases are matched by member name.
    """
    memo: dict[int, Any] = {}
    mapping = dict(enums or {})

    def convert(item: Any) -> Any:
        if isinstance(item, list):
            return [convert(v) for v in item]
        if isinstance(item, dict):
            return {k: convert(v) for k, v in item.items()}
        if isinstance(item, PhpEnum):
            target = mapping.get(item.class_name)
            if target is not None and item.case in target.__members__:
                return target[item.case]
            return item
        if not isinstance(item, PhpObject):
            return item
        if id(item) in memo:
            return memo[id(item)]
        if item.class_name == MODEL_IDENTIFIER:
            out: Any = model_from_identifier(item)
        elif is_php_date(item) and (date := date_from_php(item)) is not None:
            out = date
        else:
            out = PhpObject(item.class_name, {})
            memo[id(item)] = out
            out.properties.update((k, convert(v)) for k, v in item.properties.items())
        memo[id(item)] = out
        return out

    return convert(value)
