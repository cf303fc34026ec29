"""Every value real PHP serialized decodes, and re-encodes to the very same bytes."""

from __future__ import annotations

import math

import pytest

from bridge.php import PhpCustom, PhpEnum, PhpObject, PhpReference, Visibility, dumps, loads
from tests.unit.php.corpus import corpus

CASES = corpus()


def test_corpus_covers_the_peer_survey_cases() -> None:
    assert len(CASES) >= 38


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_is_byte_exact(name: str) -> None:
    data = CASES[name]
    assert dumps(loads(data)) == data


@pytest.mark.parametrize("name", sorted(CASES))
def test_str_input_decodes_like_bytes(name: str) -> None:
    data = CASES[name]
    text = data.decode("utf-8", "surrogateescape")
    assert dumps(loads(text)) == data


def test_scalars_and_lists() -> None:
    assert loads(CASES["scalars_in_array"]) == [None, True, False, 0, 1, -1, 42, "", "abc"]
    assert loads(CASES["list"]) == [10, 20, 30, "forty", 5.5, None]
    assert loads(CASES["empty_array"]) == []


def test_array_keys_keep_php_order_and_types() -> None:
    value = loads(CASES["nested_mixed_keys"])
    assert list(value) == ["a", 5, -3, "n"]
    assert value[-3] == {"x": [1, 2], -1: "neg"}
    assert loads(CASES["sparse_keys"]) == {2: "a", 0: "b", 7: "c"}
    assert list(loads(CASES["sparse_keys"])) == [2, 0, 7]


def test_numeric_string_keys_as_php_normalizes_them() -> None:
    keys = list(loads(CASES["numeric_string_keys"]))
    assert keys == [
        123,
        "0123",
        "1.5",
        "-0",
        " 1",
        "9223372036854775808",
        -5,
        9223372036854775807,
        -9223372036854775808,
        "",
    ]


def test_strings_utf8_as_str_binary_as_bytes() -> None:
    assert loads(CASES["unicode_string"]) == 'héllo wörld ✓ 🎉 "quoted" ;:{}'
    assert loads(CASES["binary_string"]) == b'\x00\xff\x80abc\x00"};'


def test_floats() -> None:
    assert loads(CASES["float_0_1"]) == 0.1
    assert loads(CASES["float_1"]) == 1.0 and CASES["float_1"] == b"d:1;"
    assert math.copysign(1, loads(CASES["float_neg_zero"])) == -1
    assert loads(CASES["float_inf"]) == math.inf
    assert loads(CASES["float_neg_inf"]) == -math.inf
    assert math.isnan(loads(CASES["float_nan"]))
    assert loads(CASES["float_0_1_plus_0_2"]) == 0.1 + 0.2
    assert loads(CASES["int_max"]) == 2**63 - 1
    assert loads(CASES["int_min"]) == -(2**63)


def test_object_visibility() -> None:
    obj = loads(CASES["object_visibility"])
    assert isinstance(obj, PhpObject)
    assert obj.class_name == "Bridge\\Fixtures\\Visible"
    assert list(obj.properties) == ["pub", "\0*\0pro", "\0Bridge\\Fixtures\\Visible\0pri"]
    assert (obj["pub"], obj["pro"], obj["pri"]) == ("a", "b", "c")
    assert obj.visibility("pri") is Visibility.PRIVATE


def test_child_and_parent_private_twins() -> None:
    obj = loads(CASES["child_parent_private"])
    assert obj["secret"] == "child secret"
    assert obj.properties["\0Bridge\\Fixtures\\Base\0secret"] == "base secret"


def test_stdclass_numeric_property_stays_a_string() -> None:
    obj = loads(CASES["stdclass_numeric_property"])
    assert obj.properties == {"a": 1, "0": "z"}


def test_same_object_is_the_same_instance() -> None:
    value = loads(CASES["same_object_twice"])
    assert value[0] is value[1] is value["x"]


def test_php_reference_is_one_shared_box() -> None:
    value = loads(CASES["php_reference"])
    assert isinstance(value["a"], PhpReference)
    assert value["a"] is value["b"]
    assert value["a"].value == 5
    assert value["c"] == 1


def test_self_reference() -> None:
    obj = loads(CASES["self_reference"])
    assert obj["me"] is obj


def test_self_referencing_array() -> None:
    value = loads(CASES["self_referencing_array"])
    ref = value[0]
    assert isinstance(ref, PhpReference)
    assert ref.value[0] is ref


def test_nested_references_to_arrays_and_objects() -> None:
    value = loads(CASES["nested_references"])
    assert value["a"] is value["b"]["inner"]
    assert value["a"].value == [1, 2]
    assert value["o"] is value["q"][0]
    assert value["p"] is value["o"].value


def test_enums() -> None:
    assert loads(CASES["backed_enum"]) == PhpEnum("Bridge\\Fixtures\\Suit", "Hearts")
    happy, grumpy, again, high = loads(CASES["pure_enums_in_array"])
    assert happy is again
    assert grumpy == PhpEnum("Bridge\\Fixtures\\Mood", "Grumpy")
    assert high == PhpEnum("Bridge\\Fixtures\\Level", "High")


def test_serializable_keeps_raw_bytes() -> None:
    value = loads(CASES["serializable_c"])
    assert isinstance(value, PhpCustom)
    assert value.class_name == "Bridge\\Fixtures\\Legacy"
    assert loads(value.data) == {"x": 1, "y": [True, None]}


def test_int_property_keys() -> None:
    assert list(loads(CASES["magic_serialize_int_keys"]).properties) == [0, 1, 7]
    array_object = loads(CASES["array_object"])
    assert array_object.properties[1] == {"a": 1, "b": [1, 2]}


def test_dates() -> None:
    date = loads(CASES["datetime_immutable"])
    assert date.class_name == "DateTimeImmutable"
    assert date.as_dict() == {
        "date": "2024-01-02 03:04:05.123456",
        "timezone_type": 3,
        "timezone": "UTC",
    }
    assert loads(CASES["carbon_immutable"])["timezone"] == "Europe/Paris"


def test_laravel_job_with_model_enum_and_chain() -> None:
    job = loads(CASES["laravel_enum_job_payload"])
    assert job.class_name == "Bridge\\Jobs\\ShipWithSuit"
    assert job["suit"] == PhpEnum("Bridge\\Fixtures\\Suit", "Spades")
    assert job["customer"].class_name == "Illuminate\\Contracts\\Database\\ModelIdentifier"
    assert job["customer"]["id"] == 6
    assert job.visibility("customer") is Visibility.PROTECTED
    # SerializesModels leaves out the parent's private properties.
    assert "scheduledAt" not in job
    (chained,) = job["chained"]
    assert loads(chained).class_name == "Bridge\\Jobs\\SendInvoice"


def test_laravel_job_private_date() -> None:
    job = loads(CASES["laravel_model_job"])
    assert job.visibility("scheduledAt") is Visibility.PRIVATE
    assert job["scheduledAt"]["timezone"] == "Europe/Berlin"
    assert job["meta"] == {"retries": 3, "ratio": 0.25, "flags": ["a", "b"]}
