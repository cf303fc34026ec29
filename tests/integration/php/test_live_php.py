"""The codec against a live PHP 8.2: PHP reads what bridge writes, bridge reads what PHP writes.

Every example goes through one long-running php process (see conftest.py), so hundreds of
examples cost well under a second of PHP time.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bridge.php import PhpCustom, PhpDecodeError, PhpEnum, PhpObject, PhpReference, dumps, loads
from tests.integration.php.conftest import FIXTURES, PhpPeer
from tests.strategies import ENUM_CASES, php_values
from tests.unit.php.corpus import corpus

pytestmark = pytest.mark.php
CASES = corpus()
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(suppress_health_check=SUPPRESS)
@given(value=php_values())
def test_php_reserializes_what_bridge_writes_byte_for_byte(php_peer: PhpPeer, value: Any) -> None:
    data = dumps(value)
    assert php_peer.round_trip(data) == data
    assert dumps(loads(data)) == data


@settings(suppress_health_check=SUPPRESS)
@given(value=st.floats())
@example(value=1e16)
@example(value=-0.0)
@example(value=5e-324)
def test_float_text_matches_php(php_peer: PhpPeer, value: float) -> None:
    data = dumps(value)
    assert php_peer.round_trip(data) == data


@pytest.mark.parametrize(
    "value",
    [
        [PhpObject("N", {"v": 1})] * 2,
        [PhpEnum("Bridge\\Fixtures\\Mood", "Happy"), PhpEnum("Bridge\\Fixtures\\Mood", "Happy")],
        [PhpReference(5), PhpObject("N"), PhpReference(5)],
    ],
    ids=["shared-object", "repeated-enum", "separate-boxes"],
)
def test_slot_numbering_hand_cases(php_peer: PhpPeer, value: list[Any]) -> None:
    data = dumps(value)
    assert php_peer.round_trip(data) == data


def test_reference_and_object_slots_agree_with_php(php_peer: PhpPeer) -> None:
    box = PhpReference(5)
    node = PhpObject("N")
    loop = PhpObject("stdClass")
    loop.properties["me"] = loop
    value = [box, node, box, node, PhpReference(node), loop, [box, loop]]
    data = dumps(value)
    assert php_peer.round_trip(data) == data


def test_values_inside_custom_data_take_slots_like_php(php_peer: PhpPeer) -> None:
    # Legacy::serialize() calls serialize(): its i:1 is slot 3, so the object B is slot 4.
    data = b'a:3:{i:0;C:22:"Bridge\\Fixtures\\Legacy":4:{i:1;}i:1;O:1:"B":0:{}i:2;r:4;}'
    assert php_peer.round_trip(data) == data
    value = loads(data)
    assert value[2] is value[1]
    assert dumps(value) == data


def _php_random_values(php_binary: str, seed: int, count: int) -> list[bytes]:
    out = subprocess.run(
        [php_binary, str(FIXTURES / "php_random_values.php"), str(seed), str(count)],
        capture_output=True,
        check=True,
    ).stdout
    values, pos = [], 0
    while pos < len(out):
        newline = out.index(b"\n", pos)
        size = int(out[pos:newline])
        values.append(out[newline + 1 : newline + 1 + size])
        pos = newline + 1 + size
    return values


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_values_written_by_php_round_trip(php_binary: str, seed: int) -> None:
    values = _php_random_values(php_binary, seed, 200)
    assert len(values) == 200
    for data in values:
        assert dumps(loads(data)) == data, data


def test_corpus_is_what_php_writes_today(php_binary: str, laravel: Path) -> None:
    fresh = subprocess.run(
        [php_binary, str(FIXTURES / "serialize_corpus.php")],
        capture_output=True,
        check=True,
    ).stdout
    committed = (Path(__file__).resolve().parents[2] / "vectors" / "php_corpus.jsonl").read_bytes()
    assert fresh == committed, "re-run php_fixtures/serialize_corpus.php and commit the result"


@pytest.mark.parametrize("name", sorted(CASES))
def test_php_reserializes_every_corpus_entry(php_peer: PhpPeer, name: str) -> None:
    data = CASES[name]
    assert php_peer.round_trip(dumps(loads(data))) == data


# -- malformed input --------------------------------------------------------------------


# By name: a strategy's repr shows its choices, and the bytes would make it huge.
_SMALL_CASES = sorted(CASES, key=lambda name: len(CASES[name]))[:45]


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    """Real serialized data, damaged: cut short, a byte changed, inserted or deleted."""
    data = CASES[draw(st.sampled_from(_SMALL_CASES))]
    pos = draw(st.integers(min_value=0, max_value=len(data) - 1))
    how = draw(st.sampled_from(["cut", "set", "insert", "delete"]))
    byte = draw(st.sampled_from(b'0123456789:;"{}aisdObNErRC-+.\x00\xff'))
    if how == "cut":
        return data[:pos]
    if how == "set":
        return data[:pos] + bytes([byte]) + data[pos + 1 :]
    if how == "insert":
        return data[:pos] + bytes([byte]) + data[pos:]
    return data[:pos] + data[pos + 1 :]


@settings(suppress_health_check=SUPPRESS)
@given(data=mutations())
def test_malformed_input_raises_only_bridge_errors(php_peer: PhpPeer, data: bytes) -> None:
    try:
        value = loads(data)
    except PhpDecodeError as exc:
        assert 0 <= exc.offset <= len(data)
        return
    if _judged_alike(value, set()):
        # Whatever bridge accepts, PHP accepts too, and both write it back the same way.
        assert php_peer.round_trip(data) == dumps(value)


# Classes PHP knows in the peer: their own rules (declared properties, date validation,
# nested unserialize() in C:) decide what PHP accepts, which bridge cannot know.
_KNOWN_CLASS_PREFIXES = ("bridge\\fixtures\\", "date", "arrayobject", "splobjectstorage")


def _judged_alike(value: Any, seen: set[int]) -> bool:
    """Whether PHP accepts and rewrites `value` as bridge does: only plain PHP data."""
    if id(value) in seen:
        return True
    if isinstance(value, PhpReference):
        seen.add(id(value))
        return _judged_alike(value.value, seen)
    if isinstance(value, PhpEnum):
        return value in ENUM_CASES
    if isinstance(value, PhpObject):
        seen.add(id(value))
        name = value.class_name.lower()
        if name.startswith(_KNOWN_CLASS_PREFIXES) or any(
            isinstance(k, int) for k in value.properties
        ):
            return False
        return all(_judged_alike(v, seen) for v in value.properties.values())
    if isinstance(value, list):
        return all(_judged_alike(v, seen) for v in value)
    if isinstance(value, dict):
        return all(_judged_alike(v, seen) for v in value.values())
    return not isinstance(value, PhpCustom)


@settings(suppress_health_check=SUPPRESS)
@given(junk=st.binary(max_size=64), depth=st.integers(min_value=0, max_value=5000))
def test_arbitrary_bytes_and_deep_nesting(junk: bytes, depth: int) -> None:
    for data in (junk, b"a:1:{i:0;" * depth + junk):
        try:
            loads(data)
        except PhpDecodeError:
            pass
