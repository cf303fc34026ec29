"""The value description on the Python side: the twin of `php_fixtures`' `Describer`.

PHP handlers and the dispatch lines describe what they hold in the format of
`tests/vectors/laravel-fixtures/README.md` ("Value description"); a Python handler describes
what *it* was given the same way, so tests compare two descriptions instead of two languages'
objects. `describe_values` takes what a handler sees (`bridge.worker.Job.values`: friendly
values such as `PhpDateTime`, `Model`, `PhpEnum`), `describe_command` a raw decoded or built
command (`PhpObject` with PHP date objects and `ModelIdentifier`s), `describe_data` the JSON
data of a `Class@method` string job as PHP's `json_decode($json, true)` would hold it.

Two facts are not on the wire and come from declarations instead, as they would in a Python
app: the backing value of an enum case (`enum_values`; `FIXTURE_ENUM_VALUES` mirrors
`php_fixtures/app/Enums`, `enum_values_of` reads Python enums marked with
`bridge.laravel.values.php_enum`), and which properties Laravel's traits own (every name in
`LARAVEL_TRAIT_PROPERTIES` is left out, as PHP's describer leaves out trait properties).

Dates are placed in their zone as PHP's unserialize() places them (an ambiguous wall time takes
the later, standard-time offset; a skipped one moves forward), independently of bridge's own
date conversion, so a test of that conversion is not checked against itself.

Compare descriptions with `canonical`, never with `==`: Python's `-0.0 == 0.0`, `1 == 1.0`
and `True == 1` would hide exactly the differences the format exists to show.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from bridge.laravel.traits import TRAIT_PROPERTY_NAMES
from bridge.laravel.values import (
    ELOQUENT_COLLECTION,
    MODEL_IDENTIFIER,
    Model,
    ModelCollection,
    PhpDateTime,
)
from bridge.php import PhpEnum, PhpObject, PhpReference, unmangle

__all__ = [
    "FIXTURE_ENUM_VALUES",
    "LARAVEL_TRAIT_PROPERTIES",
    "canonical",
    "describe_command",
    "describe_data",
    "describe_value",
    "describe_values",
    "enum_values_of",
]

#: PHP enum class -> {case name: backing value}; pure enums are simply absent.
EnumValues = Mapping[str, Mapping[str, int | str]]

#: Backing values of the harness's backed enums (`php_fixtures/app/Enums`).
FIXTURE_ENUM_VALUES: EnumValues = {
    "Fixtures\\Enums\\ShipmentState": {
        "Queued": "queued",
        "InTransit": "in-transit",
        "Delivered": "delivered",
    },
    "Fixtures\\Enums\\Urgency": {"Low": 1, "Urgent": 99},
}

#: Properties Laravel's queue traits add to a job: not part of the job's own description.
LARAVEL_TRAIT_PROPERTIES = TRAIT_PROPERTY_NAMES

# Offsets (minutes) of the abbreviations the fixtures use; PHP's table is far larger.
_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "BST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "PST": -480, "PDT": -420, "JST": 540,
}  # fmt: skip
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_INT_KEY = re.compile(r"-?[1-9][0-9]*|0")
_INT64 = (-(2**63), 2**63 - 1)


def enum_values_of(*enums: type[Enum]) -> dict[str, dict[str, int | str]]:
    """The `enum_values` mapping for Python enums decorated with `@php_enum(...)`."""
    out: dict[str, dict[str, int | str]] = {}
    for enum in enums:
        php_class = getattr(enum, "__php_class__", None)
        if not isinstance(php_class, str):
            raise TypeError(f"{enum.__name__} is not marked with @php_enum")
        out[php_class] = {member.name: member.value for member in enum}
    return out


def canonical(description: Any) -> str:
    """The JSON text of a description: equal text means equal PHP values."""
    return json.dumps(description, ensure_ascii=False, allow_nan=False)


def _pointer(segment: int | str) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def _offset_text(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _php_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """Place a wall time in a zone the way PHP's unserialize() does.

    In the repeated hour PHP takes the later (standard-time) instant; in the skipped hour it
    moves the clock forward by the gap. Both show in the `dates` kind's PHP descriptions.
    """
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    first_offset, second_offset = first.utcoffset(), second.utcoffset()
    assert first_offset is not None and second_offset is not None
    if first_offset > second_offset:
        return second
    if first_offset < second_offset:
        return first.astimezone(UTC).astimezone(zone)
    return first


def _raw_date(value: PhpObject) -> dict[str, Any]:
    props = value.as_dict()
    tz_type, name = props["timezone_type"], props["timezone"]
    wall = datetime.strptime(props["date"], "%Y-%m-%d %H:%M:%S.%f")
    if tz_type == 3:
        when = _php_wall_time(wall, ZoneInfo(name)) if name != "UTC" else wall.replace(tzinfo=UTC)
    elif tz_type == 1:
        match = _OFFSET.fullmatch(name)
        if match is None:
            raise ValueError(f"unreadable offset {name!r}")
        sign = -1 if match.group(1) == "-" else 1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        when = wall.replace(tzinfo=timezone(sign * delta))
    else:
        when = wall.replace(tzinfo=timezone(timedelta(minutes=_ABBREVIATIONS[name.upper()])))
    return _date(when, tz_type=tz_type, zone_name=name, php_class=value.class_name)


def _zone_fields(tz: tzinfo, when: datetime) -> tuple[int, str]:
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return 3, key
    if tz is UTC:
        return 3, "UTC"
    offset = tz.utcoffset(when)
    assert offset is not None
    name = tz.tzname(when)
    if isinstance(tz, timezone) and name is not None and name != timezone(offset).tzname(None):
        return 2, name
    return 1, _offset_text(offset)


def _date(when: datetime, *, tz_type: int, zone_name: str, php_class: str) -> dict[str, Any]:
    offset = when.utcoffset()
    assert offset is not None
    return {
        "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%f") + _offset_text(offset),
        "timezone": zone_name,
        "timezone_type": tz_type,
        "class": php_class,
    }


def _is_raw_date(value: PhpObject) -> bool:
    return all(name in value for name in ("date", "timezone_type", "timezone"))


def _model(class_name: str, key: Any, connection: Any, relations: Iterable[Any]) -> dict[str, Any]:
    return {"model": class_name, "key": key, "connection": connection, "relations": list(relations)}


def _collection(
    class_name: str, keys: Iterable[Any], connection: Any, collection_class: str | None
) -> dict[str, Any]:
    return {
        "model_collection": class_name,
        "keys": list(keys),
        "connection": connection,
        "collection_class": collection_class or ELOQUENT_COLLECTION,
    }


class _Describer:
    """One description run: remembers each object's first path, as PHP's describer does."""

    def __init__(self, enum_values: EnumValues) -> None:
        self._backed = enum_values
        self._seen: dict[int, str] = {}
        # Keep described objects alive so their ids are never reused within one run.
        self._keep: list[object] = []

    def describe(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, PhpReference):
            return self.describe(value.value, path)
        if isinstance(value, float):
            if math.isnan(value):
                return {"float": "NAN"}
            if math.isinf(value):
                return {"float": "INF" if value > 0 else "-INF"}
            return value
        if isinstance(value, bytes):
            # PHP's json_encode() would refuse invalid UTF-8; keep the bytes visible instead.
            return value.decode("utf-8", errors="surrogateescape")
        if isinstance(value, list | tuple):
            return [self.describe(item, f"{path}/{index}") for index, item in enumerate(value)]
        if isinstance(value, dict):
            return self._array(value, path)
        if isinstance(value, PhpEnum):
            return self._enum(value.class_name, value.case)
        if isinstance(value, Enum):
            php_class = getattr(type(value), "__php_class__", type(value).__qualname__)
            return self._enum(php_class, value.name)
        if isinstance(value, datetime):
            return self._friendly_date(value)
        if isinstance(value, Model):
            return _model(value.class_name, value.key, value.connection, value.relations)
        if isinstance(value, ModelCollection):
            return _collection(
                value.class_name, value.keys, value.connection, value.collection_class
            )
        if isinstance(value, PhpObject):
            return self._object(value, path)
        raise TypeError(f"{path}: no description for {type(value).__name__}")

    def _array(self, value: dict[Any, Any], path: str) -> Any:
        if list(value) == list(range(len(value))):
            return [self.describe(item, f"{path}/{index}") for index, item in value.items()]
        return {
            "array": [
                [key, self.describe(item, f"{path}/{_pointer(key)}")] for key, item in value.items()
            ]
        }

    def _enum(self, php_class: str, case: str) -> dict[str, Any]:
        out: dict[str, Any] = {"enum": php_class, "case": case}
        cases = self._backed.get(php_class)
        if cases is not None:
            out["value"] = cases[case]
        return out

    @staticmethod
    def _friendly_date(value: datetime) -> dict[str, Any]:
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value.isoformat()} has no PHP form")
        tz_type, name = _zone_fields(value.tzinfo, value)
        php_class = value.php_class if isinstance(value, PhpDateTime) else "DateTimeImmutable"
        return _date(value, tz_type=tz_type, zone_name=name, php_class=php_class)

    def _object(self, value: PhpObject, path: str) -> Any:
        if value.class_name == MODEL_IDENTIFIER:
            props = value.as_dict()
            if isinstance(props.get("id"), list):
                return _collection(
                    props["class"], props["id"], props["connection"], props.get("collectionClass")
                )
            return _model(props["class"], props["id"], props["connection"], props["relations"])
        if _is_raw_date(value):
            return _raw_date(value)
        if id(value) in self._seen:
            return {"ref": self._seen[id(value)]}
        self._seen[id(value)] = path
        self._keep.append(value)
        properties: dict[str, Any] = {}
        visibility: dict[str, str] = {}
        for key, item in value.properties.items():
            name, seen_as, _owner = unmangle(key)
            properties[name] = self.describe(item, f"{path}/{_pointer(name)}")
            visibility[name] = seen_as.value
        return {"object": value.class_name, "properties": properties, "visibility": visibility}


def describe_value(value: Any, *, enum_values: EnumValues = FIXTURE_ENUM_VALUES) -> Any:
    """Describe one value (raw codec values or friendly ones) on its own."""
    return _Describer(enum_values).describe(value, "")


def describe_values(
    values: Mapping[str, Any],
    *,
    enum_values: EnumValues = FIXTURE_ENUM_VALUES,
    exclude: Collection[str] = LARAVEL_TRAIT_PROPERTIES,
) -> dict[str, Any]:
    """Describe a job's properties by bare name, leaving out Laravel's trait properties.

    One run over all properties, so a `{"ref": "/home"}` can point across properties.
    """
    describer = _Describer(enum_values)
    return {
        name: describer.describe(value, f"/{_pointer(name)}")
        for name, value in values.items()
        if name not in exclude
    }


def describe_command(
    command: PhpObject,
    *,
    enum_values: EnumValues = FIXTURE_ENUM_VALUES,
    exclude: Collection[str] = LARAVEL_TRAIT_PROPERTIES,
) -> dict[str, Any]:
    """Describe a raw command object's own properties (the concrete class's private twin wins)."""
    return describe_values(command.as_dict(), enum_values=enum_values, exclude=exclude)


def _php_json_key(key: str) -> int | str:
    # json_decode($json, true) builds a PHP array, and PHP turns canonical decimal
    # string keys into int keys.
    if _INT_KEY.fullmatch(key) and _INT64[0] <= int(key) <= _INT64[1]:
        return int(key)
    return key


def describe_data(data: Any) -> Any:
    """Describe the JSON data of a string job as PHP's `json_decode($json, true)` holds it."""

    def php_value(item: Any) -> Any:
        if isinstance(item, dict):
            return {_php_json_key(key): php_value(value) for key, value in item.items()}
        if isinstance(item, list):
            return [php_value(value) for value in item]
        return item

    return _Describer({}).describe(php_value(data), "/data")
