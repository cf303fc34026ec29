"""loads: what it accepts like PHP, what it rejects (with byte offsets), and its limits."""

from __future__ import annotations

import pytest

from bridge.exceptions import BridgeError
from bridge.php import (
    PhpDecodeError,
    PhpDecoder,
    PhpEnum,
    PhpLimitError,
    PhpObject,
    PhpTruncatedError,
    dumps,
    loads,
)
from tests.unit.php.corpus import corpus

CASES = corpus()


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"i:+5;", 5),
        (b"i:007;", 7),
        (b"i:-0;", 0),
        (b"d:1e5;", 100000.0),
        (b"d:.5;", 0.5),
        (b"d:5.;", 5.0),
        (b"d:5.e3;", 5000.0),
        (b"d:1.0E+25;", 1e25),
        (b'S:3:"\\61bc";', "abc"),
        (b's:05:"hello";', "hello"),
        (b'a:1:{s:1:"5";i:1;}', {5: 1}),
        (b'O:8:"stdclass":0:{}', PhpObject("stdclass")),
        (b"a:2:{i:0;i:1;i:0;i:2;}", {0: 2}),
    ],
)
def test_accepts_what_php_accepts(data: bytes, value: object) -> None:
    assert loads(data) == value


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"d:inf;", 0),
        (b"d:0x1A;", 0),
        (b"i: 5;", 0),
        (b"i:1_0;", 0),
        (b"b:2;", 0),
        (b"b:01;", 0),
        (b"x:1;", 0),
        (b'a:1:{i:0;s:3:"ab";}', 17),
        (b's:3:"abcd";', 8),
        (b"a:1:{d:1;i:1;}", 5),
        (b"a:1:{N;i:1;}", 5),
        (b"a:2:{i:0;i:1;}", 0),
        (b"a:1:{i:0;i:1;i:1;i:2;}", 13),
        (b"i:99999999999999999999;", 0),
        (b"i:-9223372036854775809;", 0),
        (b"r:1;", 0),
        (b"a:1:{i:0;r:1;}", 9),
        (b"a:1:{i:0;R:2;}", 9),
        (b'O:0:"":0:{}', 5),
        (b'O:3:"a b":0:{}', 5),
        (b'E:2:"XA";', 0),
        (b"N;trailing", 2),
        (b"", 0),
    ],
)
def test_rejects_what_php_rejects_with_the_offset(data: bytes, offset: int) -> None:
    with pytest.raises(PhpDecodeError) as info:
        loads(data)
    assert info.value.offset == offset
    assert isinstance(info.value, ValueError)
    assert f"byte {offset}" in str(info.value) or offset == 0


def test_truncated_errors_are_eof_errors() -> None:
    with pytest.raises(PhpTruncatedError) as info:
        loads(b'a:1:{i:0;s:5:"ab')
    assert isinstance(info.value, EOFError)


@pytest.mark.parametrize("name", ["laravel_model_job", "slot_numbering", "nested_custom"])
def test_every_truncation_of_real_data_is_a_clean_error(name: str) -> None:
    data = CASES[name]
    for cut in range(len(data)):
        with pytest.raises(PhpDecodeError):
            loads(data[:cut])


def test_error_message_says_what_and_where() -> None:
    with pytest.raises(PhpDecodeError) as info:
        loads(b'a:1:{i:0;s:3:"abcd";}')
    err = info.value
    assert err.offset == 17
    assert err.expected == '";'
    assert err.found == b'd";}'
    assert "at byte 17" in str(err)


def test_trailing_data_allowed_on_request() -> None:
    assert loads(b"N;trailing", allow_trailing=True) is None


def test_depth_limit() -> None:
    data = b"a:1:{i:0;" * 30 + b"N;" + b"}" * 30
    assert loads(data, max_depth=30) is not None
    with pytest.raises(PhpLimitError) as info:
        loads(data, max_depth=29)
    assert info.value.offset == 29 * 9


def test_default_depth_limit_stops_deep_input() -> None:
    data = b"a:1:{i:0;" * 100_000 + b"N;" + b"}" * 100_000
    with pytest.raises(PhpLimitError):
        loads(data)


def test_huge_depth_limit_still_raises_a_bridge_error() -> None:
    data = b"a:1:{i:0;" * 50_000 + b"N;" + b"}" * 50_000
    with pytest.raises(BridgeError):
        loads(data, max_depth=10**9)


def test_length_limit() -> None:
    with pytest.raises(PhpLimitError):
        loads(b's:11:"hello world";', max_length=10)
    with pytest.raises(PhpLimitError):
        loads(b"a:11:{" + b"i:0;N;" * 11 + b"}", max_length=10)


def test_declared_sizes_beyond_the_data_fail_before_allocating() -> None:
    with pytest.raises(PhpTruncatedError):
        loads(b"a:99999999:{i:0;N;}")
    with pytest.raises(PhpTruncatedError):
        loads(b's:99999999:"x";')
    with pytest.raises(PhpLimitError):
        loads(b"a:999999999999:{i:0;N;}")
    with pytest.raises(PhpDecodeError):
        loads(b"s:" + b"9" * 5000 + b':"x";')


def test_object_hook_maps_objects_and_enums() -> None:
    data = CASES["repeated_enum_deep"]
    seen: list[object] = []

    def hook(value: object) -> object:
        seen.append(value)
        if isinstance(value, PhpEnum):
            return ("enum", value.case)
        assert isinstance(value, PhpObject)
        return ("node", value["label"])

    decoded = loads(data, object_hook=hook)
    assert decoded["top"] == ("enum", "Spades")
    assert decoded["rows"][0]["s"] is decoded["top"]  # the r: points at the hook's result
    assert decoded["rows"][1] == ("node", ("enum", "Hearts"))
    assert len(seen) == 5


def test_object_hook_runs_once_per_object_even_with_references() -> None:
    calls: list[object] = []
    loads(CASES["nested_references"], object_hook=lambda v: calls.append(v) or v)
    assert len(calls) == 1


def test_object_hook_errors_pass_through_unchanged() -> None:
    def hook(value: object) -> object:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        loads(b'O:8:"stdClass":0:{}', object_hook=hook)


def test_decoder_is_reusable() -> None:
    decoder = PhpDecoder()
    for name in ("php_reference", "laravel_plain_job", "php_reference"):
        assert dumps(decoder.decode(CASES[name])) == CASES[name]


def test_r_to_a_non_object_is_rejected() -> None:
    with pytest.raises(PhpDecodeError, match="not an object"):
        loads(b"a:2:{i:0;a:0:{}i:1;r:2;}")


def test_reference_to_top_level() -> None:
    value = loads(b"a:1:{i:0;R:1;}")
    assert value.value[0] is value
    assert dumps(value) == b"a:1:{i:0;R:1;}"


def _nested_custom(levels: int) -> bytes:
    data = b"i:1;"
    for _ in range(levels):
        data = b'C:1:"A":%d:{%b}' % (len(data), data)
    return data


def test_deeply_nested_custom_data() -> None:
    deep = _nested_custom(3000)
    assert dumps(loads(deep)) == deep
    # With an r: present the C: data is counted for slots, only 8 levels deep.
    data = b'a:3:{i:0;O:1:"B":0:{}i:1;' + deep + b"i:2;r:2;}"
    value = loads(data)
    assert value[2] is value[0]
    assert dumps(value) == data


def test_references_inside_custom_data_are_counted_not_followed() -> None:
    # slots: 1 outer array, 2 the C: object, 3 and 4 the inner array and its 5 (R: takes
    # none), 5 the object B.
    inner = b"a:2:{i:0;i:5;i:1;R:2;}"
    data = b'a:3:{i:0;C:1:"L":%d:{%b}i:1;O:1:"B":0:{}i:2;r:5;}' % (len(inner), inner)
    value = loads(data)
    assert value[2] is value[1]
    assert dumps(value) == data


@pytest.mark.parametrize(
    "data", [b"i::9;", b"i:+;", b"i:-;", b"i:+-1;", b"i:1-;", b"i:9;x", b"a:1:{i::0;N;}"]
)
def test_malformed_ints(data: bytes) -> None:
    with pytest.raises(PhpDecodeError):
        loads(data)
