"""Laravel values read back for handlers: dates, model identifiers, enums, shared objects."""

from __future__ import annotations

import copy
import enum
from datetime import UTC, datetime, timedelta

import pytest

from bridge.laravel import (
    Model,
    ModelCollection,
    PhpDateTime,
    date_from_php,
    date_to_php,
    to_python,
)
from bridge.laravel.values import model_identifier, php_truthy
from bridge.php import PhpEnum, PhpObject

USER = Model("App\\User", 3, "mysql", ("posts",))


class Status(enum.Enum):
    Active = "a"


def test_dates_round_trip_with_their_php_class() -> None:
    for zone, tz_type in (("Europe/Paris", 3), ("+02:00", 1), ("CEST", 2), ("UTC", 3)):
        obj = PhpObject(
            "Carbon\\CarbonImmutable",
            {"date": "2024-06-01 08:15:00.250000", "timezone_type": tz_type, "timezone": zone},
        )
        value = date_from_php(obj)
        assert isinstance(value, PhpDateTime) and value.php_class == "Carbon\\CarbonImmutable"
        assert value.utcoffset() == timedelta(hours=2) or zone == "UTC"
        assert date_to_php(value) == obj
        assert copy.deepcopy(value).php_class == "Carbon\\CarbonImmutable"


def test_unknown_zone_is_left_as_object() -> None:
    obj = PhpObject("DateTime", {"date": "2024-06-01 08:15:00.000000", "timezone_type": 2,
                                 "timezone": "XYZT"})  # fmt: skip
    assert date_from_php(obj) is None
    assert to_python(obj) == obj


def test_to_python_keeps_information_and_sharing() -> None:
    shared = PhpObject("App\\Data\\Box", {"\0*\0n": 1})
    ident = model_identifier(ModelCollection("App\\User", (1, 2), "mysql"), collection_class=True)
    command = PhpObject(
        "App\\Jobs\\J",
        {
            "a": shared,
            "b": [shared],
            "user": model_identifier(USER, collection_class=False),
            "users": ident,
            "status": PhpEnum("App\\Enums\\Status", "Active"),
            "other": PhpEnum("App\\Enums\\Other", "X"),
            "at": date_to_php(datetime(2024, 1, 1, tzinfo=UTC), "DateTime"),
        },
    )  # fmt: skip
    out = to_python(command, enums={"App\\Enums\\Status": Status})
    assert out["a"] is out["b"][0] and out["a"].properties == {"\0*\0n": 1}
    assert out["user"] == USER
    assert out["users"] == ModelCollection("App\\User", (1, 2), "mysql")
    assert out["status"] is Status.Active
    assert out["other"] == PhpEnum("App\\Enums\\Other", "X")
    assert out["at"] == datetime(2024, 1, 1, tzinfo=UTC) and out["at"].php_class == "DateTime"


@pytest.mark.parametrize(
    ("value", "truth"),
    [(None, False), (False, False), (True, True), (0, False), (-1, True), (0.0, False),
     (float("nan"), True), ("", False), ("0", False), ("0.0", True), (" ", True), ("a", True),
     (b"0", False), ([], False), ([0], True), ({}, False), (PhpObject("X", {}), True)],
)  # fmt: skip
def test_php_truthy_is_php_bool_conversion(value: object, truth: bool) -> None:
    assert php_truthy(value) is truth
