"""The C fast paths against the pure-Python codec they stand in front of.

Whatever `_cdecode.decode` or `_cencode.encode` returns must be exactly what the Python codec
returns for the same input (types, key order, bytes); whatever the Python codec rejects they
must leave to it (`NotImplemented`), so that its error is the one users see. And they must
take the values real Laravel payloads are made of: a fast path that always declined would
pass the first two checks and speed up nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.exceptions import PhpSerializeError
from bridge.php import PhpEncoder, PhpObject, PhpReference, _accel, dumps, loads
from tests.conftest import VECTORS, pure_python_codec, unavailable
from tests.strategies import php_values

CDecode = Callable[[bytes, int, int, bool, type], Any]
CEncode = Callable[[Any, int, type], Any]

DEPTH = 512
LENGTH = 1 << 30


@pytest.fixture(scope="module")
def c_decode() -> CDecode:
    if _accel.c_decode is None:
        unavailable("the C decoder is not built (it needs a C compiler at install)")
    assert _accel.c_decode is not None
    return _accel.c_decode


@pytest.fixture(scope="module")
def c_encode() -> CEncode:
    if _accel.c_encode is None:
        unavailable("the C encoder is not built (it needs a C compiler at install)")
    assert _accel.c_encode is not None
    return _accel.c_encode


def python_loads(data: bytes, **options: Any) -> tuple[str, Any]:
    """("ok", value) or ("error", exception type name), by the Python decoder alone."""
    with pure_python_codec():
        try:
            return "ok", loads(data, **options)
        except PhpSerializeError as exc:
            return "error", type(exc).__name__


def python_dumps(value: Any) -> tuple[str, Any]:
    with pure_python_codec():
        try:
            return "ok", dumps(value)
        except (PhpSerializeError, ValueError, TypeError) as exc:
            return "error", type(exc).__name__


def same(left: Any, right: Any) -> bool:
    """Equal and of the same types all the way down (dict order and key types included)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return repr(left) == repr(right)  # -0.0 is not 0.0; nan is nan
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict):
        return (
            len(left) == len(right)
            and all(same(a, b) for a, b in zip(left, right, strict=True))
            and all(same(left[key], right[key]) for key in left)
        )
    if isinstance(left, PhpObject):
        return left.class_name == right.class_name and same(left.properties, right.properties)
    if isinstance(left, PhpReference):
        return same(left.value, right.value)
    return bool(left == right)


def check_decode(c_decode: CDecode, data: bytes, **options: Any) -> Any:
    """Decode `data` both ways; the C result (NotImplemented when it declined)."""
    depth = options.get("max_depth", DEPTH)
    length = options.get("max_length", LENGTH)
    trailing = options.get("allow_trailing", False)
    fast = c_decode(data, depth, length, trailing, PhpObject)
    outcome, slow = python_loads(data, **options)
    if fast is not NotImplemented:
        assert outcome == "ok", f"C decoded what Python rejects ({slow}): {data[:80]!r}"
        assert same(fast, slow), f"C and Python differ on {data[:80]!r}"
    return fast


def check_encode(c_encode: CEncode, value: Any) -> Any:
    fast = c_encode(value, DEPTH, PhpObject)
    outcome, slow = python_dumps(value)
    if fast is not NotImplemented:
        assert outcome == "ok", f"C encoded what Python rejects ({slow}): {value!r}"
        assert fast == slow
    return fast


def laravel_commands() -> list[bytes]:
    """`data.command` of every payload real Laravel 8-12 wrote in the recorded fixtures."""
    commands = []
    for path in sorted(VECTORS.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            payload = entry.get("payload") if isinstance(entry, dict) else None
            if not payload:
                continue
            command = json.loads(payload).get("data", {}).get("command")
            if isinstance(command, str) and command[:2] == "O:":
                commands.append(command.encode())
    return commands


def corpus_values() -> list[bytes]:
    path = VECTORS / "php_corpus.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [base64.b64decode(json.loads(line)["php"]) for line in lines]


# -- what real payloads hold -----------------------------------------------------------------


def test_every_recorded_laravel_command_decodes_and_encodes_the_same_both_ways(
    c_decode: CDecode, c_encode: CEncode
) -> None:
    commands = laravel_commands()
    assert len(commands) > 100
    taken = 0
    for data in commands:
        fast = check_decode(c_decode, data)
        value = loads(data)
        if fast is not NotImplemented:
            taken += 1
        written = check_encode(c_encode, value)
        assert written is NotImplemented or written == data
    # Left to Python: enum cases, repeated instances (r:, which PHP numbers), INF and NAN.
    left = (b"E:", b"r:", b"R:", b"d:INF;", b"d:-INF;", b"d:NAN;")
    plain = [data for data in commands if not any(token in data for token in left)]
    assert taken >= len(plain) > len(commands) // 2


def test_every_value_of_phps_own_corpus_is_the_same_both_ways(
    c_decode: CDecode, c_encode: CEncode
) -> None:
    taken = 0
    for data in corpus_values():
        if check_decode(c_decode, data) is not NotImplemented:
            taken += 1
        outcome, value = python_loads(data)
        if outcome == "ok":
            check_encode(c_encode, value)
    assert taken > 0


def test_the_fast_paths_take_plain_values_of_every_kind(
    c_decode: CDecode, c_encode: CEncode
) -> None:
    value = {
        "none": None,
        "flags": [True, False],
        "ints": [0, -1, 2**63 - 1, -(2**63)],
        "floats": [0.1, -0.0, 1e25, 5e-324, 1.5],
        "text": "Grüezi \U0001f600 \x00",
        "binary": b"\xff\xfe",
        7: {"5": "int key in PHP", "05": "string key"},
        "object": PhpObject("App\\Jobs\\Report", {"\0*\0id": 9, "\0App\\Jobs\\Report\0k": []}),
    }
    data = check_encode(c_encode, value)
    assert data is not NotImplemented
    decoded = check_decode(c_decode, data)
    assert decoded is not NotImplemented


# -- anything: the same result, or declined ------------------------------------------------


@given(php_values())
def test_any_php_value_is_the_same_both_ways(
    c_decode: CDecode, c_encode: CEncode, value: Any
) -> None:
    check_encode(c_encode, value)
    outcome, data = python_dumps(value)
    assert outcome == "ok"
    check_decode(c_decode, data)
    check_decode(c_decode, data + b"N;", allow_trailing=True)


@given(php_values(), st.integers(0, 6), st.integers(0, 40))
def test_limits_are_left_to_the_python_decoder(
    c_decode: CDecode, value: Any, max_depth: int, max_length: int
) -> None:
    _, data = python_dumps(value)
    check_decode(c_decode, data, max_depth=max_depth, max_length=max_length)


@given(php_values(), st.data())
def test_damaged_data_is_left_to_the_python_decoder(
    c_decode: CDecode, value: Any, data: st.DataObject
) -> None:
    _, encoded = python_dumps(value)
    cut = data.draw(st.integers(0, len(encoded)))
    damage = data.draw(st.binary(max_size=3))
    drop = data.draw(st.integers(0, 3))
    check_decode(c_decode, encoded[:cut] + damage + encoded[cut + drop :])


@given(st.binary(max_size=40))
def test_arbitrary_bytes_are_left_to_the_python_decoder(c_decode: CDecode, data: bytes) -> None:
    check_decode(c_decode, data)


class Shouty(str):
    pass


odd_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=8),
        st.binary(max_size=8),
        st.builds(Shouty, st.text(max_size=4)),
        st.tuples(st.integers(), st.text(max_size=3)),
        st.just(object()),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.integers(-9, 9),
                st.sampled_from(["5", "-3", "05", "x"]),
                st.booleans(),
                st.binary(max_size=2),
            ),
            children,
            max_size=4,
        ),
        st.builds(
            PhpObject,
            st.sampled_from(["A", "App\\B", "\ud800"]),
            st.dictionaries(
                st.one_of(st.text(max_size=4), st.integers(-3, 3)), children, max_size=3
            ),
        ),
    ),
    max_leaves=16,
)


@given(odd_values)
def test_values_python_rejects_or_treats_specially_are_left_to_it(
    c_encode: CEncode, value: Any
) -> None:
    check_encode(c_encode, value)


def test_repeated_and_cyclic_values_are_left_to_the_python_encoder(c_encode: CEncode) -> None:
    shared = PhpObject("A", {"x": 1})
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    for value in ([shared, shared], cyclic, [2**63], ["\ud800"], {5: 1, "5": 2}):
        assert check_encode(c_encode, value) is NotImplemented


def test_the_encoder_object_takes_the_fast_path_and_its_default_still_applies() -> None:
    class Money:
        pass

    encoder = PhpEncoder(default=lambda value: "1.00 CHF")
    assert encoder.encode([1, "a"]) == b'a:2:{i:0;i:1;i:1;s:1:"a";}'
    assert encoder.encode([Money()]) == b'a:1:{i:0;s:8:"1.00 CHF";}'


def test_a_large_command_is_the_same_both_ways(c_decode: CDecode, c_encode: CEncode) -> None:
    items = [
        {"sku": f"SKU-{n}", "qty": n, "price": n * 1.1, "tags": ["a", "ö"], "note": None}
        for n in range(300)
    ]
    command = PhpObject("App\\Jobs\\Import", {"\0*\0items": items, "chained": []})
    data = check_encode(c_encode, command)
    assert data is not NotImplemented
    assert check_decode(c_decode, data) is not NotImplemented
