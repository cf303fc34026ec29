"""The cache beside the payload writer against the reference it stands in for.

`ready_command` writes most commands from per-class tokens, and `build_payload` reuses a
class's payload text around the uuid and the command; both must give exactly what the
reference (`command_object` + `dumps`, `reference_payload` working out every payload
option) gives, errors included, for any class shape, value and Laravel version.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.exceptions import BridgeError, EncryptionError
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
from bridge.laravel._ready import ready_command
from bridge.laravel.attributes import ClassAttribute
from bridge.laravel.classes import FromNow
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import reference_payload
from bridge.php import Visibility, dumps

PROFILES = [
    profile_for(v)
    for v in ("8.0.0", "8.83", "9.4", "9.52", "10.50", "11.56", "12.67", "13.0", "13.26")
]
# Plain names, and every property a payload option is read from.
NAMES = [
    "a",
    "b",
    "queue",
    "chained",
    "tries",
    "maxExceptions",
    "failOnTimeout",
    "backoff",
    "timeout",
    "retryUntil",
    "batchId",
    "delay",
    "shouldBeEncrypted",
]

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
#: An encrypter with its IVs pinned, so that encrypted payloads can be compared byte for byte.
PINNED = Encrypter(b"k" * 32, random_bytes=lambda n: b"\x01" * n)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.just(UNINITIALIZED))
visibilities = st.sampled_from(list(Visibility))
MODEL = Model("App\\Models\\User", 7)
_NS = "Illuminate\\Queue\\Attributes\\"
#: Laravel 13's queue attributes (each profile from 13.0 writes them into the payload).
QUEUE_ATTRIBUTES = [
    ClassAttribute(_NS + "Tries", (4,)),
    ClassAttribute(_NS + "Backoff", (2, 9)),
    ClassAttribute(_NS + "Timeout", (20,)),
    ClassAttribute(_NS + "FailOnTimeout"),
    ClassAttribute(_NS + "DeleteWhenMissingModels"),
]


@st.composite
def props(draw: st.DrawFn, names: list[str]) -> tuple[Prop, ...]:
    out = []
    for name in draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=8)):
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
    if draw(st.booleans()):
        methods["retryUntil"] = FromNow(draw(st.integers(0, 900)))
    attributes = draw(
        st.lists(st.sampled_from(QUEUE_ATTRIBUTES), unique_by=lambda a: a.name, max_size=3)
    )
    return JobClass(
        name="App\\Jobs\\Démo",
        properties=draw(props(NAMES)),
        traits=traits,
        parent=parent,
        methods=methods,
        attributes=tuple(attributes),
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
    encrypter = data.draw(st.sampled_from([None, PINNED]))
    names = sorted({p.name for c in cls.lineage() for p in c.properties} | {"queue", "tries"})
    # Several jobs of one class in a row: the later ones meet what the first ones left.
    for _ in range(3):
        given_values = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=6))
        if data.draw(st.booleans()) and "SerializesModels" in cls.traits:
            given_values[names[0]] = MODEL
        try:
            job = cls.instance(given_values)
        except BridgeError:
            continue
        _check(job, profile, now, bulk, encrypter)


def _check(job: Job, profile: Profile, now: int, bulk: bool, encrypter: Encrypter | None) -> None:
    reference = _outcome(lambda: dumps(command_object(job, profile)))
    assert _outcome(lambda: ready_command(job, profile)) == reference
    kwargs: dict[str, Any] = {"profile": profile, "uuid": "u-1", "now": now, "bulk": bulk}
    actual = _outcome(lambda: build_payload(job, encrypter=encrypter, **kwargs))
    assert actual == _outcome(lambda: reference_payload(job, encrypter=encrypter, **kwargs))


def test_envelope_follows_the_clock_and_per_job_options() -> None:
    cls = JobClass(name="App\\Jobs\\Clocked", properties=(Prop("tries"),))
    p12 = profile_for("12")
    first = json.loads(build_payload(cls.new(), profile=p12, uuid="a", now=100))
    later = json.loads(build_payload(cls.new(), profile=p12, uuid="b", now=101))
    tuned = json.loads(build_payload(cls.new(tries=3), profile=p12, uuid="c", now=101))
    assert (first["uuid"], first["createdAt"]) == ("a", 100)
    assert (later["uuid"], later["createdAt"], later["maxTries"]) == ("b", 101, None)
    assert tuned["maxTries"] == 3


def test_an_encrypted_class_gets_its_envelope_filled_with_the_ciphertext() -> None:
    cls = JobClass(
        name="App\\Jobs\\Secret",
        properties=(Prop("x", default=1),),
        interfaces=("ShouldQueue", "ShouldBeEncrypted"),
    )
    p13 = profile_for("13")
    for x in (1, 2, 3):  # the first job makes the envelope, the later ones reuse it
        kwargs: dict[str, Any] = {"profile": p13, "uuid": "u", "now": 7, "encrypter": PINNED}
        text = build_payload(cls.new(x=x), **kwargs)
        assert text == reference_payload(cls.new(x=x), **kwargs)
        command = json.loads(text)["data"]["command"]
        assert PINNED.decrypt(command) == serialize_command(cls.new(x=x), p13)


@pytest.mark.parametrize("name", ["App\\Jobs\\bridge-envelope-uuid-9c41d7", "App\\Jobs\\Plain"])
def test_a_class_name_holding_a_mark_still_gets_its_own_text(name: str) -> None:
    cls = JobClass(name=name, properties=(Prop("x", default=1),))
    raw = json.loads(build_payload(cls.new(x=2), profile=profile_for("8"), uuid="u", now=1))
    assert (raw["uuid"], raw["displayName"], raw["data"]["commandName"]) == ("u", name, name)
    assert raw["data"]["command"] == serialize_command(cls.new(x=2), profile_for("8")).decode()


@pytest.mark.parametrize(
    ("flag", "encrypted"),
    [("0", False), ("", False), ([], False), (0.0, False), (None, False), ("0.0", True),
     ("1", True), ([0], True), (float("nan"), True)],
)  # fmt: skip
def test_should_be_encrypted_is_read_as_php_reads_it(flag: Any, encrypted: bool) -> None:
    cls = JobClass(name="App\\Jobs\\Maybe", properties=(Prop("shouldBeEncrypted", default=flag),))
    for job in (cls.new(), cls.new(shouldBeEncrypted=flag)):
        if encrypted:
            with pytest.raises(EncryptionError, match="pass an encrypter"):
                build_payload(job, profile=profile_for("8"), uuid="u", now=1)
        else:
            raw = json.loads(build_payload(job, profile=profile_for("8"), uuid="u", now=1))
            assert raw["data"]["command"].startswith("O:")


@pytest.mark.parametrize(
    ("name", "value"),
    [("tries", 7), ("maxExceptions", 3), ("failOnTimeout", True), ("backoff", 5),
     ("timeout", 9), ("retryUntil", 2_000_000_000), ("batchId", "b-1"), ("delay", 30),
     ("shouldBeEncrypted", True)],
)  # fmt: skip
@pytest.mark.parametrize("version", ["8.0.0", "12.67", "13.26"])
def test_a_job_setting_a_payload_option_never_gets_its_class_envelope(
    name: str, value: Any, version: str
) -> None:
    cls = JobClass(name="App\\Jobs\\Opt", properties=(Prop(name), Prop("x", default=0)))
    profile = profile_for(version)
    plain = cls.new(x=1)
    build_payload(plain, profile=profile, uuid="u", now=5)  # the class's envelope, made
    tuned = cls.new(x=1, **{name: value})
    expected = _outcome(lambda: reference_payload(tuned, profile=profile, uuid="u", now=5))
    assert _outcome(lambda: build_payload(tuned, profile=profile, uuid="u", now=5)) == expected
    assert expected != _outcome(lambda: build_payload(plain, profile=profile, uuid="u", now=5))
