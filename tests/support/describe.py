"""The value description, computed in Python from a command decoded by `bridge.php.loads`.

Python test handlers write `fixture_job_log.values` with `describe_command(command)`; PHP handlers
write the same description from the live objects (`php_fixtures/app/Harness/Describer.php`), so a
test can compare what each language's handler saw. The format is the one of
`tests/vectors/laravel-fixtures/README.md` ("Value description").

What the serialized form cannot tell is supplied as PHP would compute it: backed enum values come
from `enum_values`; date offsets come from the time zone database (an ambiguous wall time takes
the later, standard-time offset and a skipped one moves forward, as PHP does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bridge.php import PhpEnum, PhpObject, PhpReference

#: Properties Laravel's queue traits add to a job; not part of the job's own description.
LARAVEL_TRAIT_PROPERTIES = frozenset(
    {
        "job",
        "connection",
        "queue",
        "messageGroup",
        "deduplicator",
        "chainConnection",
        "chainQueue",
        "chainCatchCallbacks",
        "delay",
        "afterCommit",
        "middleware",
        "chained",
        "batchId",
        "fakeBatch",
    }
)

#: Backing values of the harness's own backed enums (`php_fixtures/app/Enums`).
FIXTURE_ENUM_VALUES: Mapping[str, Mapping[str, int | str]] = {
    "Fixtures\\Enums\\ShipmentState": {
        "Queued": "queued",
        "InTransit": "in-transit",
        "Delivered": "delivered",
    },
    "Fixtures\\Enums\\Urgency": {"Low": 1, "Urgent": 99},
}

DATE_CLASSES = frozenset(
    {
        "DateTime",
        "DateTimeImmutable",
        "Carbon\\Carbon",
        "Carbon\\CarbonImmutable",
        "Illuminate\\Support\\Carbon",
    }
)
MODEL_IDENTIFIER = "Illuminate\\Contracts\\Database\\ModelIdentifier"
ELOQUENT_COLLECTION = "Illuminate\\Database\\Eloquent\\Collection"

# Offsets PHP gives the abbreviations (timezone_type 2) the fixtures may use, in hours.
_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "JST": 9,
}


def describe_command(
    command: PhpObject,
    *,
    enum_values: Mapping[str, Mapping[str, int | str]] = FIXTURE_ENUM_VALUES,
    exclude: frozenset[str] = LARAVEL_TRAIT_PROPERTIES,
) -> dict[str, Any]:
    """The job's own properties (those not from Laravel's traits), described, in order."""
    describer = _Describer(enum_values)
    return {
        name: describer.describe(value, "/" + _pointer(name))
        for name, _visibility, _owner, value in command.described()
        if name not in exclude
    }


def describe_value(
    value: Any, *, enum_values: Mapping[str, Mapping[str, int | str]] = FIXTURE_ENUM_VALUES
) -> Any:
    """The description of one decoded value (e.g. a string job's data)."""
    return _Describer(enum_values).describe(value, "")


def _pointer(segment: str | int) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


class _Describer:
    def __init__(self, enum_values: Mapping[str, Mapping[str, int | str]]) -> None:
        self._enum_values = enum_values
        self._seen: dict[int, str] = {}

    def describe(self, value: Any, path: str) -> Any:
        if isinstance(value, PhpReference):
            return self.describe(value.value, path)
        if isinstance(value, float):
            if math.isnan(value):
                return {"float": "NAN"}
            if math.isinf(value):
                return {"float": "INF" if value > 0 else "-INF"}
            return value
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="surrogateescape")
        if isinstance(value, list):
            return [self.describe(item, f"{path}/{i}") for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                "array": [
                    [key, self.describe(item, f"{path}/{_pointer(key)}")]
                    for key, item in value.items()
                ]
            }
        if isinstance(value, PhpEnum):
            case: dict[str, Any] = {"enum": value.class_name, "case": value.case}
            values = self._enum_values.get(value.class_name)
            if values is not None:
                case["value"] = values[value.case]
            return case
        if isinstance(value, PhpObject):
            return self._describe_object(value, path)
        return value

    def _describe_object(self, obj: PhpObject, path: str) -> Any:
        if obj.class_name in DATE_CLASSES:
            return _describe_date(obj)
        if obj.class_name == MODEL_IDENTIFIER:
            return _describe_model(obj)
        if id(obj) in self._seen:
            return {"ref": self._seen[id(obj)]}
        self._seen[id(obj)] = path
        properties: dict[str, Any] = {}
        visibility: dict[str, str] = {}
        for name, vis, _owner, value in obj.described():
            properties[name] = self.describe(value, f"{path}/{_pointer(name)}")
            visibility[name] = str(vis)
        return {"object": obj.class_name, "properties": properties, "visibility": visibility}


def _describe_date(obj: PhpObject) -> dict[str, Any]:
    naive = datetime.strptime(str(obj["date"]), "%Y-%m-%d %H:%M:%S.%f")
    zone_type = int(obj["timezone_type"])
    zone_name = str(obj["timezone"])
    if zone_type == 3:
        zone = ZoneInfo(zone_name)
        local = naive.replace(tzinfo=zone, fold=1)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            # A wall time the clock skipped: PHP moves it forward by the gap.
            local = naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)
        stamp = local
    elif zone_type == 1:
        sign = -1 if zone_name.startswith("-") else 1
        hours, minutes = zone_name[1:].split(":")
        offset = sign * timedelta(hours=int(hours), minutes=int(minutes))
        stamp = naive.replace(tzinfo=timezone(offset))
    else:
        stamp = naive.replace(tzinfo=timezone(timedelta(hours=_ABBREVIATIONS[zone_name.upper()])))
    return {
        "datetime": _php_iso(stamp),
        "timezone": zone_name,
        "timezone_type": zone_type,
        "class": obj.class_name,
    }


def _php_iso(stamp: datetime) -> str:
    offset = stamp.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_model(identifier: PhpObject) -> dict[str, Any]:
    key = identifier["id"]
    if isinstance(key, list):
        return {
            "model_collection": identifier["class"],
            "keys": key,
            "connection": identifier["connection"],
            "collection_class": identifier.get("collectionClass") or ELOQUENT_COLLECTION,
        }
    return {
        "model": identifier["class"],
        "key": key,
        "connection": identifier["connection"],
        "relations": identifier["relations"],
    }
