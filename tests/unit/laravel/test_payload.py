"""JobPayload rewriting: original bytes back, key order and unknown keys kept, PHP escaping."""

from __future__ import annotations

import json

import pytest

from bridge.exceptions import PayloadError
from bridge.laravel import JobPayload, build_string_payload, profile_for

TEXT = (
    '{"uuid":"u","displayName":"A","job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call",'
    '"maxTries":null,"retryUntil":100,"data":{"commandName":"A","command":"O:1:\\"A\\":0:{}",'
    '"hook":{}},"createdAt":5,"myHook":["h\\u00e9\\/"],"delay":null}'
)


def test_unchanged_payload_gives_back_its_bytes() -> None:
    payload = JobPayload.from_json(TEXT)
    assert payload.to_json() == TEXT
    assert payload.replace().to_json() == TEXT.replace('"hook":{}', '"hook":[]')


def test_replace_keeps_order_extra_keys_and_escaping() -> None:
    payload = JobPayload.from_json(TEXT)
    changed = payload.replace(retry_until=None, set_keys={"attempts": 0})
    raw = json.loads(changed.to_json())
    assert list(raw) == [*json.loads(TEXT), "attempts"]
    assert raw["retryUntil"] is None and changed.retry_until is None
    assert raw["myHook"] == ["hé/"]
    # The original was ASCII-only (escaped), so the rewrite stays escaped, as queue:retry does.
    assert '"myHook":["h\\u00e9\\/"]' in changed.to_json()
    assert '"myHook":["hé\\/"]' in payload.replace(unescaped_unicode=True).to_json()
    assert "retryUntil" not in payload.replace(remove_keys=["retryUntil"]).raw
    assert payload.replace(command='O:1:"B":0:{}').command == 'O:1:"B":0:{}'
    with pytest.raises(PayloadError, match="no field"):
        payload.replace(nonsense=1)


def test_string_payload_keys_per_version() -> None:
    # Key sets per version (spec 1.3); byte-level parity is proven on recorded payloads.
    old = build_string_payload("H@run", {"k": "ü"}, profile=profile_for("8.42"), uuid="u", now=1)
    assert list(json.loads(old)) == [
        "uuid", "displayName", "job", "maxTries", "maxExceptions", "backoff", "timeout", "data",
    ]  # fmt: skip
    assert old.isascii() and json.loads(old)["displayName"] == "H"
    new = build_string_payload("H@run", [], profile=profile_for("12"), uuid="u", now=1, delay=3)
    raw = json.loads(new)
    assert list(raw)[-4:] == ["timeout", "data", "createdAt", "delay"]
    assert (raw["failOnTimeout"], raw["createdAt"], raw["delay"]) == (False, 1, 3)


@pytest.mark.parametrize(
    ("value", "fails"),
    [(True, True), (False, False), (None, False), (1, True), (0, False), ("0", False), ("", False),
     ("no", True), ([], False), ([0], True)],
)  # fmt: skip
def test_fail_on_timeout_is_read_as_php_tests_it(value: object, fails: bool) -> None:
    raw = json.loads(TEXT)
    raw["failOnTimeout"] = value
    assert JobPayload.from_raw(raw).fail_on_timeout is fails


def _fields_of(payload: JobPayload) -> dict[str, object]:
    return {name: getattr(payload, name) for name in JobPayload.__dataclass_fields__}


def test_parsed_payload_is_the_dataclass_its_fields_make() -> None:
    """`from_raw` fills the slots itself: the result must be what the dataclass's own
    constructor makes of the same fields, frozen, equal, with the same repr."""
    payload = JobPayload.from_json(TEXT)
    built = JobPayload(**_fields_of(payload))  # type: ignore[arg-type]
    assert type(payload) is JobPayload
    assert payload == built
    assert repr(payload) == repr(built)
    assert _fields_of(payload) == _fields_of(built)
    assert payload.retry_until == 100 and payload.created_at == 5 and payload.text == TEXT
    for each in (payload, built):
        with pytest.raises(AttributeError):
            each.uuid = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [TEXT, f" {TEXT}", f"{TEXT}\n", f"\ufeff{TEXT}", f"{TEXT}{{}}", TEXT[:-1], "[1]", "{", "",
     '{"job":"A","x":NaN}', '{"job":"A","x":1e400}', '{"job":"A","a":1,"a":2}'],
)  # fmt: skip
def test_payload_json_reads_as_json_loads(text: str) -> None:
    """The payload is decoded as `json.loads` decodes it, and refused with its message."""
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(PayloadError) as caught:
            JobPayload.from_json(text)
        assert str(caught.value) == f"payload is not valid JSON: {exc}"
        return
    if not isinstance(expected, dict):
        with pytest.raises(PayloadError, match="not a JSON object"):
            JobPayload.from_json(text)
        return
    payload = JobPayload.from_json(text)
    assert repr(payload.raw) == repr(expected)


def test_a_subclass_parses_to_itself() -> None:
    class Mine(JobPayload):  # no slots of its own: another layout than JobPayload's
        pass

    payload = Mine.from_json(TEXT)
    assert type(payload) is Mine
    assert _fields_of(payload) == _fields_of(JobPayload.from_json(TEXT))
