"""Laravel 13's queue options from class attributes, and its precedence rules, per profile.

The recorded lines (13.26.1-attributes.jsonl, 12.67.0-attributes.jsonl) prove the plain
case byte for byte; these pin the rules around it, read from 13.26.1's
`ReadsClassAttributes::getAttributeValue` and `Queue::getJobTries` / `getJobBackoff`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.exceptions import JobClassError
from bridge.laravel.attributes import ClassAttribute
from bridge.laravel.classes import JobClass, Prop
from bridge.laravel.payload import JobPayload, build_payload
from bridge.laravel.versions import profile_for

NS = "Illuminate\\Queue\\Attributes\\"


def _payload(cls: JobClass, version: str, **values: Any) -> dict[str, Any]:
    text = build_payload(cls.new(**values), profile=profile_for(version), uuid="u", now=1000)
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _options(payload: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("maxTries", "maxExceptions", "failOnTimeout", "backoff", "timeout")
    return tuple(payload[k] for k in keys)


ALL = (
    ClassAttribute(NS + "Tries", (5,)),
    ClassAttribute(NS + "Backoff", ([1, 5, 10],)),
    ClassAttribute(NS + "Timeout", (30,)),
    ClassAttribute(NS + "MaxExceptions", (2,)),
    ClassAttribute(NS + "FailOnTimeout"),
    ClassAttribute(NS + "DeleteWhenMissingModels"),
)


def test_attributes_reach_the_13_payload_only() -> None:
    cls = JobClass("App\\Jobs\\A", attributes=ALL)
    p13 = _payload(cls, "13")
    assert _options(p13) == (5, 2, True, "1,5,10", 30)
    assert list(p13)[8:10] == ["retryUntil", "deleteWhenMissingModels"]
    assert p13["deleteWhenMissingModels"] is True
    p12 = _payload(cls, "12")
    assert _options(p12) == (None, None, False, None, None)
    assert "deleteWhenMissingModels" not in p12
    assert JobPayload.from_json(json.dumps(p13)).delete_when_missing_models
    assert not JobPayload.from_json(json.dumps(p12)).delete_when_missing_models


def test_variadic_backoff_and_named_arguments() -> None:
    spread = JobClass("App\\Jobs\\B", attributes=(ClassAttribute(NS + "Backoff", (3, 9)),))
    assert _payload(spread, "13")["backoff"] == "3,9"
    named = JobClass("App\\Jobs\\C", attributes=(ClassAttribute(NS + "Tries", named={"tries": 4}),))
    assert _payload(named, "13")["maxTries"] == 4
    with pytest.raises(JobClassError, match="exactly one argument"):
        _payload(JobClass("App\\Jobs\\D", attributes=(ClassAttribute(NS + "Tries"),)), "13")


def test_a_property_set_away_from_its_default_wins_over_the_attribute() -> None:
    cls = JobClass(
        "App\\Jobs\\E",
        properties=(Prop("tries", default=3), Prop("timeout", default=None)),
        attributes=(ClassAttribute(NS + "Tries", (5,)), ClassAttribute(NS + "Timeout", (30,))),
    )
    assert _payload(cls, "13")["maxTries"] == 5  # 3 is the declared default: the attribute
    assert _payload(cls, "13", tries=7, timeout=9)["maxTries"] == 7
    assert _payload(cls, "13", tries=7, timeout=9)["timeout"] == 9
    assert _payload(cls, "13.4", tries=7)["maxTries"] == 7
    assert _payload(cls, "13.3", tries=7)["maxTries"] == 5  # before 13.4 the attribute won
    assert _payload(cls, "12")["maxTries"] == 3


def test_a_public_property_declared_below_the_attributes_class_overrides_it() -> None:
    parent = JobClass("App\\Jobs\\Base", attributes=(ClassAttribute(NS + "Tries", (5,)),))
    child = JobClass("App\\Jobs\\Child", properties=(Prop("tries", default=2),), parent=parent)
    assert _payload(child, "13")["maxTries"] == 2
    assert _payload(child, "13.14")["maxTries"] == 2
    assert _payload(child, "13.13")["maxTries"] == 5  # before 13.14 the parent's attribute won
    # Declared in the attribute's own class: the attribute wins over the default.
    same = JobClass(
        "App\\Jobs\\Same",
        properties=(Prop("tries", default=2),),
        attributes=(ClassAttribute(NS + "Tries", (5,)),),
    )
    assert _payload(same, "13")["maxTries"] == 5


def test_13_lets_tries_and_backoff_methods_win_over_properties() -> None:
    cls = JobClass(
        "App\\Jobs\\F",
        properties=(Prop("tries", default=3), Prop("backoff", default=10)),
        methods={"tries": 8, "backoff": [1, 2]},
    )
    p12, p13 = _payload(cls, "12"), _payload(cls, "13")
    assert (p12["maxTries"], p12["backoff"]) == (3, "10")
    assert (p13["maxTries"], p13["backoff"]) == (8, "1,2")


def test_delete_when_missing_models_from_the_property() -> None:
    cls = JobClass("App\\Jobs\\G", properties=(Prop("deleteWhenMissingModels", default=True),))
    assert _payload(cls, "13")["deleteWhenMissingModels"] is True
    assert _payload(JobClass("App\\Jobs\\H"), "13")["deleteWhenMissingModels"] is False
    assert _payload(cls, "13.0")["deleteWhenMissingModels"] is True


def test_attributes_on_a_trait_count_from_13_16() -> None:
    on_trait = ClassAttribute(NS + "Timeout", (45,), trait="App\\Concerns\\Slow")
    cls = JobClass("App\\Jobs\\I", attributes=(on_trait,))
    assert _payload(cls, "13.16")["timeout"] == 45
    assert _payload(cls, "13.15")["timeout"] is None
