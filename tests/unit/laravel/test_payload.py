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
