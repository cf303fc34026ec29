"""The harness's value kinds built in Python, from declarations `bridge stubs` generates.

`fixture_classes` runs `bridge.laravel.stubs.generate_stubs` over `php_fixtures/app/Jobs` (PHP
reflects the real classes) and loads the module it writes, as an application would after
`bridge stubs php_fixtures/app/Jobs -o ...`. `python_kinds` then makes, in Python, the same
jobs `Fixtures\\Harness\\Kinds` makes in PHP (same values, same PHP classes for dates and
objects), so the descriptions PHP logs can be compared with both what Python sent and what
PHP itself sends for that kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum, IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bridge.laravel import JobClass, Model, ModelCollection, date_to_php, php_enum
from bridge.laravel.classes import Job
from bridge.laravel.stubs import generate_stubs
from bridge.php import PhpObject
from tests.support.laravel import PHP_FIXTURES

#: The kinds `python_kinds` builds: every value kind but the string job.
PYTHON_KIND_NAMES = (
    "plain_public", "protected_private", "native_visibility", "nested_arrays", "floats",
    "null_bool", "enums", "dates", "nested_object", "object_reference", "job_options", "delayed",
    "delayed_datetime", "encrypted", "chain", "batch", "model_single", "model_with_relation",
    "model_collection", "default_omitted",
)  # fmt: skip
USER_MODEL = "Fixtures\\Models\\FixtureUser"
SERIES = [0.1 + 0.2, 2.5, -3.75e-10, 1e16, 1e17, 123456789.125, 5e-324, 1.7976931348623157e308]


# PHP serializes an enum case by its case name, so the Python members carry the PHP case names.
ShipmentState = php_enum("Fixtures\\Enums\\ShipmentState")(
    StrEnum(
        "ShipmentState", {"Queued": "queued", "InTransit": "in-transit", "Delivered": "delivered"}
    )
)
Urgency = php_enum("Fixtures\\Enums\\Urgency")(IntEnum("Urgency", {"Low": 1, "Urgent": 99}))
Medium = php_enum("Fixtures\\Enums\\Medium")(Enum("Medium", ["Mail", "Phone", "Pigeon"]))


def fixture_classes(php_binary: str) -> dict[str, JobClass]:
    """The declarations of every `php_fixtures` job class, by PHP class name."""
    source = generate_stubs(
        [PHP_FIXTURES / "app" / "Jobs"], autoload=PHP_FIXTURES / "autoload.php", php=php_binary
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<bridge stubs php_fixtures/app/Jobs>", "exec"), namespace)
    declarations: dict[str, JobClass] = namespace["DECLARATIONS"]
    return declarations


@dataclass(frozen=True)
class PythonKind:
    """One kind sent from Python: how (`dispatch`, `chain`, `batch`) and the jobs."""

    mode: str
    jobs: list[Job]
    delay: int | datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _php_object(class_name: str, **properties: Any) -> PhpObject:
    return PhpObject(class_name, dict(properties))


def _catalog() -> dict[int | str, Any]:
    return {
        "sku": "ÖKO-42",
        7: "int key",
        "08": "leading-zero string key",
        -12: "negative numeric string key (PHP stores int -12)",
        "2.5": "float-like string key",
        " 9": "space-prefixed string key",
        "": "empty key",
        "ключ": "unicode key",
        "bins": [
            {"id": 1, "name": "Zürich", "slots": [3, 1, 2]},
            {"id": 2, "name": "東京", "slots": []},
        ],
        "escapes": [
            'quote" back\\slash /slash',
            "tab\t newline\n return\r",
            "nul\0inside",
            "\u2028line \u2029paragraph",
            "emoji 🚀",
            "del\x7f",
            "<tag> & 'apostrophe'",
        ],
        "big": 2**63 - 1,
        "min": -(2**63),
        "beyondDouble": 9007199254740993,
        "sparse": {0: "a", 3: "d"},
        "empty": [],
        "deep": {"a": {"b": {"c": {"d": "deep"}}}},
        "mixed": [1, "two", 3.0, None, True, False],
    }


def _dates() -> dict[str, Any]:
    return {
        "startsAt": date_to_php(
            datetime(2024, 3, 10, 1, 59, 59, 500000, ZoneInfo("America/New_York")), "DateTime"
        ),
        "endsAt": date_to_php(
            datetime(2025, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")), "DateTimeImmutable"
        ),
        "bookedAt": date_to_php(
            datetime(2023, 1, 15, 9, 45, 30, tzinfo=ZoneInfo("Asia/Tokyo")), "Carbon\\Carbon"
        ),
        "deadline": date_to_php(
            datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC), "Carbon\\CarbonImmutable"
        ),
        "reminder": date_to_php(
            datetime(2026, 7, 4, 12, 0, 0, 123456, ZoneInfo("Australia/Adelaide")),
            "Illuminate\\Support\\Carbon",
        ),
        "offsetStamp": date_to_php(
            datetime(2023, 11, 5, 12, tzinfo=timezone(timedelta(hours=5, minutes=45))),
            "DateTimeImmutable",
        ),
        "abbreviationStamp": date_to_php(
            datetime(2022, 6, 1, 8, 15, tzinfo=timezone(timedelta(hours=2), "CEST")), "DateTime"
        ),
    }


def _parcel() -> dict[str, Any]:
    coordinates = _php_object("Fixtures\\Data\\Coordinates", latitude=46.948, longitude=7.4474)
    parcel = _php_object(
        "Fixtures\\Data\\Parcel",
        label="fragile box",
        **{
            "\0*\0weightGrams": 1250,
            "\0Fixtures\\Data\\Parcel\0origin": coordinates,
            "stickers": ["glass", "this side up ↑"],
        },
    )
    extras = _php_object(
        "stdClass", carrier="Post", insured=True, valueChf=99.95, dims=[30, 20, 10]
    )
    return {"orderRef": "ORD-9", "parcel": parcel, "extras": extras}


def _locations() -> dict[str, Any]:
    def location(line: str, city: str, postcode: str) -> PhpObject:
        return _php_object(
            "Fixtures\\Data\\Location",
            line=line,
            **{"\0*\0city": city, "\0Fixtures\\Data\\Location\0postcode": postcode},
        )

    home = location("Bundesplatz 3", "Bern", "3005")
    # One instance held three times: serialize() writes r:N; for the repeats.
    elsewhere = location("Rue du Rhône 1", "Genève", "1204")
    return {"home": home, "work": home, "visited": [home, elsewhere]}


def python_kinds(
    classes: Mapping[str, JobClass], *, connection: str, now: Callable[[], float]
) -> dict[str, PythonKind]:
    """The value kinds (all but `string_job`) as Python jobs; models on DB `connection`."""

    def make(short: str, **values: Any) -> Job:
        return classes[f"Fixtures\\Jobs\\{short}"].new(**values)

    states = ShipmentState
    return {
        "plain_public": PythonKind(
            "dispatch",
            [make("WelcomeMember", memberId=42, email="ada@example.org", greeting="Grüezi, Ada!")],
        ),
        "protected_private": PythonKind(
            "dispatch",
            [
                make(
                    "AuditTrail",
                    entryId=9001,
                    actor="admin@example.org",
                    reason="password reset «manual»",
                )
            ],
        ),
        "native_visibility": PythonKind(
            "dispatch", [make("ArchiveTicket", ticket="T-1000", owner="ops", note='kept "as is"')]
        ),
        "nested_arrays": PythonKind(
            "dispatch", [make("SyncCatalog", catalog=_catalog(), labels=["ünïcode", "東京", ""])]
        ),
        "floats": PythonKind(
            "dispatch",
            [
                make(
                    "MeasureSamples",
                    tenth=0.1,
                    whole=1.0,
                    huge=1e25,
                    negativeZero=-0.0,
                    infinity=math.inf,
                    negativeInfinity=-math.inf,
                    notANumber=math.nan,
                    small=1.5e-7,
                    series=SERIES,
                )
            ],
        ),
        "null_bool": PythonKind(
            "dispatch",
            [make("SetFlags", enabled=True, archived=False, note=None, limit=None, strict=True)],
        ),
        "enums": PythonKind(
            "dispatch",
            [
                make(
                    "ChangeShipment",
                    state=states["InTransit"],
                    urgency=Urgency["Urgent"],
                    medium=Medium["Pigeon"],
                    trail=[states.Queued, states.InTransit, Medium.Mail, Urgency.Urgent],
                )
            ],
        ),
        "dates": PythonKind("dispatch", [make("PlanMeeting", **_dates())]),
        "nested_object": PythonKind("dispatch", [make("PackOrder", **_parcel())]),
        "object_reference": PythonKind("dispatch", [make("CopyLocation", **_locations())]),
        "job_options": PythonKind(
            "dispatch", [make("ImportLedger", file="imports/2025/ledger.csv")]
        ),
        "delayed": PythonKind(
            "dispatch", [make("PingLater", pingId=7, message="in five minutes")], delay=300
        ),
        "delayed_datetime": PythonKind(
            "dispatch",
            [make("PingLater", pingId=8, message="at a date")],
            delay=datetime.fromtimestamp(now() + 120, UTC),
        ),
        "encrypted": PythonKind(
            "dispatch", [make("ChargeWallet", walletId="w_77", amountCents=2599, currency="CHF")]
        ),
        "chain": PythonKind(
            "chain",
            [
                make("ResizePhoto", path="uploads/dog.png", width=320),
                make("PublishPhoto", path="uploads/dog.png", notify=True),
            ],
        ),
        "batch": PythonKind(
            "batch",
            [
                make("CrunchChunk", chunk=1, rows=[[1, "alpha"], [2, "beta"]]),
                make("CrunchChunk", chunk=2, rows=[[3, "gamma"]]),
            ],
        ),
        "model_single": PythonKind(
            "dispatch",
            [make("GreetUser", user=Model(USER_MODEL, 1, connection), template="welcome")],
        ),
        "model_with_relation": PythonKind(
            "dispatch",
            [
                make(
                    "GreetUser",
                    user=Model(USER_MODEL, 2, connection, relations=("posts",)),
                    template="digest",
                )
            ],
        ),
        "model_collection": PythonKind(
            "dispatch",
            [make("GreetUsers", users=ModelCollection(USER_MODEL, (1, 3), connection))],
        ),
        "default_omitted": PythonKind(
            "dispatch", [make("BuildReport", title="Q4 numbers", pages=12)]
        ),
    }
