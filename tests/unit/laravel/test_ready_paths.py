"""Dispatch's ready-made paths against the general ones they stand in for.

`serialize_command` writes most commands from per-class tokens, and `build_payload` reuses a
class's payload text around the uuid and the command; both must give exactly what the
general path (`command_object` + `dumps`, every payload option worked out) gives, errors
included, for any class shape, value and Laravel version.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.exceptions import BridgeError
from bridge.laravel import (
    UNINITIALIZED,
    Job,
    JobClass,
    Model,
    Profile,
    Prop,
    build_payload,
    command_object,
    profile_for,
    serialize_command,
)
from bridge.laravel.payload import _object_payload_of
from bridge.php import Visibility, dumps

PROFILES = [profile_for(v) for v in ("8.0.0", "8.83", "9.4", "9.52", "10.50", "11.56", "12.67")]
NAMES = ["a", "b", "queue", "tries", "timeout", "delay", "backoff", "batchId", "chained"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(0, 5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["a/b", "\u2028", "é", "\x7f", "0", "12"]),
    st.binary(max_size=4),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.just(UNINITIALIZED))
visibilities = st.sampled_from(list(Visibility))
MODEL = Model("App\\Models\\User", 7)


@st.composite
def props(draw: st.DrawFn, names: list[str]) -> tuple[Prop, ...]:
    out = []
    for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=4)):
        default = draw(st.one_of(st.just(None), scalars, st.lists(scalars, max_size=2)))
        if draw(st.booleans()):
            out.append(Prop(name, draw(visibilities), default=default))
        else:
            out.append(Prop(name, draw(visibilities), "?int", draw(st.sampled_from([None, 3]))))
    return tuple(out)


@st.composite
def job_classes(draw: st.DrawFn) -> JobClass:
    parent = None
    if draw(st.booleans()):
        parent = JobClass(name="App\\Jobs\\Base", properties=draw(props(NAMES)), traits=())
    traits = draw(
        st.sampled_from(
            [
                ("Dispatchable", "InteractsWithQueue", "Queueable", "SerializesModels"),
                ("Queueable",),
                ("Queueable", "SerializesModels"),
                (),
            ]
        )
    )
    methods: dict[str, Any] = {}
    if draw(st.booleans()):
        methods["displayName"] = draw(st.sampled_from(["Nice name", lambda v: repr(v)[:40]]))
    if draw(st.booleans()):
        methods["backoff"] = draw(st.sampled_from([[1, 5], 7, lambda v: [len(repr(v))]]))
    return JobClass(
        name="App\\Jobs\\Démo",
        properties=draw(props(NAMES)),
        traits=traits,
        parent=parent,
        methods=methods,
    )


def _outcome(action: Any) -> tuple[str, Any]:
    try:
        return "ok", action()
    except BridgeError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(cls=job_classes(), data=st.data())
def test_ready_paths_match_the_general_ones(cls: JobClass, data: st.DataObject) -> None:
    profile = data.draw(st.sampled_from(PROFILES))
    now = data.draw(st.integers(1_600_000_000, 1_600_000_001))
    bulk = data.draw(st.booleans())
    names = sorted({p.name for c in cls.lineage() for p in c.properties} | {"queue", "tries"})
    # Several jobs of one class in a row: the later ones meet what the first ones left.
    for _ in range(3):
        given_values = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=4))
        if data.draw(st.booleans()) and "SerializesModels" in cls.traits:
            given_values[names[0]] = MODEL
        try:
            job = cls.instance(given_values)
        except BridgeError:
            continue
        _check(job, profile, now, bulk)


def _check(job: Job, profile: Profile, now: int, bulk: bool) -> None:
    general = _outcome(lambda: dumps(command_object(job, profile)))
    assert _outcome(lambda: serialize_command(job, profile)) == general

    def general_payload() -> str:
        command = dumps(command_object(job, profile))
        return _object_payload_of(job, profile, "u-1", now, command, bulk, None)

    actual = _outcome(lambda: build_payload(job, profile=profile, uuid="u-1", now=now, bulk=bulk))
    assert actual == _outcome(general_payload)


def test_envelope_follows_the_clock_and_per_job_options() -> None:
    cls = JobClass(name="App\\Jobs\\Clocked", properties=(Prop("tries"),))
    p12 = profile_for("12")
    first = json.loads(build_payload(cls.new(), profile=p12, uuid="a", now=100))
    later = json.loads(build_payload(cls.new(), profile=p12, uuid="b", now=101))
    tuned = json.loads(build_payload(cls.new(tries=3), profile=p12, uuid="c", now=101))
    assert (first["uuid"], first["createdAt"]) == ("a", 100)
    assert (later["uuid"], later["createdAt"], later["maxTries"]) == ("b", 101, None)
    assert tuned["maxTries"] == 3


@pytest.mark.parametrize("name", ["App\\Jobs\\bridge-envelope-uuid-9c41d7", "App\\Jobs\\Plain"])
def test_a_class_name_holding_a_mark_still_gets_its_own_text(name: str) -> None:
    cls = JobClass(name=name, properties=(Prop("x", default=1),))
    raw = json.loads(build_payload(cls.new(x=2), profile=profile_for("8"), uuid="u", now=1))
    assert (raw["uuid"], raw["displayName"], raw["data"]["commandName"]) == ("u", name, name)
    assert raw["data"]["command"] == serialize_command(cls.new(x=2), profile_for("8")).decode()
