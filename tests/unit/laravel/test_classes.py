"""Job class declarations: validation errors, type mapping, property order, defaults."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bridge.exceptions import JobClassError
from bridge.laravel import (
    NO_DEFAULT,
    UNINITIALIZED,
    JobClass,
    Kind,
    Model,
    ModelCollection,
    PhpType,
    Prop,
    build_payload,
    command_object,
    php_enum,
    profile_for,
    serialize_command,
)
from bridge.php import PhpEnum, PhpObject, PhpReference, Visibility

P8, P12 = profile_for("8"), profile_for("12")
STATUS = "App\\Enums\\Status"


@php_enum("App\\Enums\\Status")
class Status(enum.Enum):
    ACTIVE = "active"
    Gone = "gone"


JOB = JobClass(
    name="App\\Jobs\\Demo",
    properties=(
        Prop("id", type="int"),
        Prop("ratio", type="float"),
        Prop("label", Visibility.PROTECTED, "?string", None),
        Prop("secret", Visibility.PRIVATE, default="s"),
        Prop("when", type="DateTimeImmutable"),
        Prop("status", type=PhpType.parse(STATUS, kinds={STATUS: Kind.ENUM})),
    ),
)  # fmt: skip
WHEN = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _job(**changes: object) -> object:
    values = {"id": 1, "ratio": 2, "when": WHEN, "status": Status.Gone, **changes}
    return JOB.instance(values)


def test_values_are_checked_and_mapped() -> None:
    job = JOB.instance({"id": 1, "ratio": 2, "when": WHEN, "status": Status.Gone})
    assert job.values["ratio"] == 2.0 and isinstance(job.values["ratio"], float)
    assert job.values["status"] == PhpEnum("App\\Enums\\Status", "Gone")
    when = job.values["when"]
    assert isinstance(when, PhpObject) and when.class_name == "DateTimeImmutable"
    assert when.properties == {
        "date": "2024-01-02 03:04:05.123456", "timezone_type": 3, "timezone": "UTC",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "5"}, r"Demo::\$id: str '5' does not fit type int"),
        ({"id": True}, r"Demo::\$id"),
        ({"id": 2**63}, r"64-bit"),
        ({"label": 5}, r"Demo::\$label"),
        ({"when": datetime(2024, 1, 1)}, r"naive datetime"),
        ({"status": "Gone"}, r"Demo::\$status"),
        ({"nope": 1}, r"Demo has no property \$nope"),
        ({"id": None}, r"null given for non-nullable type int"),
    ],
)
def test_wrong_values_raise_job_class_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(JobClassError, match=message):
        _job(**changes)


def test_missing_required_property_is_named() -> None:
    with pytest.raises(JobClassError, match=r"App\\Jobs\\Demo::\$id is required"):
        JOB.instance({"ratio": 1.0, "when": WHEN, "status": Status.Gone})
    job = JOB.instance({"id": UNINITIALIZED, "ratio": 1.0, "when": WHEN, "status": Status.Gone})
    assert b's:2:"id"' not in serialize_command(job, P12)


def test_native_and_serializes_models_shapes() -> None:
    job = _job(label="x")
    native = command_object(JobClass(**{**_fields(JOB), "traits": ("Queueable",)}).instance(
        dict(job.values)), P8)  # fmt: skip
    assert list(native.properties)[:6] == [
        "id", "ratio", "\0*\0label", "\0App\\Jobs\\Demo\0secret", "when", "status",
    ]  # fmt: skip
    assert "connection" in native.properties  # defaults kept without SerializesModels
    omitted = command_object(job, P12)
    assert "\0App\\Jobs\\Demo\0secret" not in omitted.properties  # equals its default
    assert "connection" not in omitted.properties
    assert "connection" in command_object(job, profile_for("9.3")).properties


def _fields(cls: JobClass) -> dict[str, object]:
    return {f: getattr(cls, f) for f in ("name", "properties", "traits", "interfaces", "parent")}


def test_parent_properties_order_and_private_inheritance() -> None:
    base = JobClass(
        name="Base", traits=(), interfaces=(),
        properties=(Prop("b1", default=1), Prop("b2", Visibility.PRIVATE, default=2),
                    Prop("shared", default="base")),
    )  # fmt: skip
    child = JobClass(
        name="Child", parent=base, traits=("Queueable",),
        properties=(Prop("c1"), Prop("shared", default="child")),
    )  # fmt: skip
    native = command_object(child.new(c1=5), P12)
    assert list(native.properties)[:4] == ["b1", "\0Base\0b2", "shared", "c1"]
    models = JobClass(**{**_fields(child), "traits": ("Queueable", "SerializesModels")})
    via_models = command_object(models.new(c1=5, b1=9), P8)
    # Reflection order: own body, inherited public/protected, traits; inherited private left out.
    assert list(via_models.properties)[:3] == ["c1", "shared", "b1"]
    assert "\0Base\0b2" not in via_models.properties


def test_models_become_identifiers_only_with_serializes_models() -> None:
    cls = JobClass(name="J", properties=(Prop("m"), Prop("c")))
    job = cls.new(m=Model("App\\User", 7, "mysql", ("posts",)),
                  c=ModelCollection("App\\User", (1, 2), "mysql"))  # fmt: skip
    obj = command_object(job, profile_for("9.25"))
    assert obj["m"].properties == {
        "class": "App\\User", "id": 7, "relations": ["posts"], "connection": "mysql",
    }  # fmt: skip
    assert command_object(job, P12)["c"]["collectionClass"] is None
    assert command_object(job, P12)["c"]["id"] == [1, 2]
    plain = JobClass(name="J", properties=(Prop("m"),), traits=("Queueable",))
    with pytest.raises(JobClassError, match="only SerializesModels jobs"):
        command_object(plain.new(m=Model("App\\User", 1)), P12)
    with pytest.raises(JobClassError, match="inside an array"):
        cls.new(m=[Model("App\\User", 1)])


def test_payload_options_from_properties_and_methods() -> None:
    cls = JobClass(
        name="App\\Jobs\\Tuned",
        properties=(Prop("tries", default=5), Prop("backoff", default=[10, 30]),
                    Prop("timeout", default=120), Prop("x")),
        methods={"retryUntil": datetime(2033, 5, 18, 3, 33, 20, tzinfo=UTC),
                 "displayName": lambda values: f"tuned {values['x']}"},
    )  # fmt: skip
    text = build_payload(cls.new(x=7).on_queue("high").delay(60), profile=P12, uuid="u", now=100)
    raw = json.loads(text)
    assert raw["displayName"] == "tuned 7"
    assert (raw["maxTries"], raw["maxExceptions"], raw["failOnTimeout"]) == (5, None, False)
    assert (raw["backoff"], raw["timeout"], raw["retryUntil"]) == ("10,30", 120, 2000000000)
    assert list(raw)[-3:] == ["data", "createdAt", "delay"]
    assert (raw["createdAt"], raw["delay"], raw["data"]["batchId"]) == (100, 60, None)


def test_timezone_kinds() -> None:
    cls = JobClass(name="J", properties=(Prop("d"),))
    zones = {
        ZoneInfo("Europe/Paris"): (3, "Europe/Paris"),
        timezone(timedelta(hours=5, minutes=45)): (1, "+05:45"),
        timezone(timedelta(hours=-5), "EST"): (2, "EST"),
    }
    for tz, (kind, name) in zones.items():
        value = cls.new(d=datetime(2024, 3, 4, 5, 6, 7, tzinfo=tz)).values["d"]
        assert (value["timezone_type"], value["timezone"]) == (kind, name)
        assert value.class_name == "Illuminate\\Support\\Carbon"


def test_enum_without_php_class_is_refused() -> None:
    class Loose(enum.Enum):
        A = 1

    with pytest.raises(JobClassError, match="no PHP enum class"):
        JobClass(name="J", properties=(Prop("e"),)).new(e=Loose.A)


def test_no_default_marker_and_unknown_profile_property() -> None:
    assert Prop("x", type="int").default is NO_DEFAULT and not Prop("x", type="int").has_default
    assert Prop("x").has_default and Prop("x").default_value is None
    job = JobClass(name="J").new(messageGroup="g")
    with pytest.raises(JobClassError, match="does not exist in Laravel 11"):
        serialize_command(job, profile_for("11"))


def test_a_typed_default_is_coerced_as_php_does_at_compile_time() -> None:
    """`public float $ratio = 1;` holds 1.0: PHP writes `d:1;`, never `i:1;`."""
    floats = JobClass(
        "App\\Jobs\\Ratios",
        properties=(
            Prop("ratio", Visibility.PUBLIC, "float", 1),
            Prop("scale", Visibility.PUBLIC, "?float", -0.0),
            Prop("weights", Visibility.PUBLIC, "array", [1.0, -0.0, 2.0]),
        ),
        traits=(),
    )
    assert type(floats.properties[0].default_value) is float
    assert serialize_command(floats.new(), profile_for("12")) == (
        b'O:15:"App\\Jobs\\Ratios":3:{s:5:"ratio";d:1;s:5:"scale";d:-0;'
        b's:7:"weights";a:3:{i:0;d:1;i:1;d:-0;i:2;d:2;}}'
    )
    with pytest.raises(JobClassError, match=r"\$ratio: default"):
        Prop("ratio", Visibility.PUBLIC, "float", "1")


def test_a_php_reference_fits_a_typed_property_and_stays_one_box() -> None:
    """Properties bound with `&` (PHP writes `R:`): checked by what the box holds."""
    linked = JobClass(
        "App\\Jobs\\Linked",
        properties=(
            Prop("total", Visibility.PUBLIC, "float"),
            Prop("mirror", Visibility.PROTECTED, "float"),
        ),
        traits=(),
    )
    box = PhpReference(3)
    job = linked.new(total=box, mirror=box)
    assert box.value == 3.0 and type(box.value) is float
    assert serialize_command(job, profile_for("8")) == (
        b'O:15:"App\\Jobs\\Linked":2:{s:5:"total";d:3;s:9:"\0*\0mirror";R:2;}'
    )
    with pytest.raises(JobClassError, match="does not fit"):
        linked.new(total=PhpReference("x"), mirror=1.0)
