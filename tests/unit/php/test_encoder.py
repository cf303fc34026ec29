"""dumps: PHP's exact output for Python values, and the errors for values PHP cannot hold."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict

import pytest

from bridge.php import (
    PhpCustom,
    PhpEncodeError,
    PhpEncodeTypeError,
    PhpEnum,
    PhpIntegerOverflowError,
    PhpObject,
    PhpReference,
    dumps,
    format_float,
    loads,
)
from tests.unit.php.corpus import corpus

CASES = corpus()

# Each expected text below was printed by PHP 8.2's serialize() for the same float.
PHP_FLOATS = [
    (1e16, b"10000000000000000"),
    (1e17, b"1.0E+17"),
    (-0.0, b"-0"),
    (0.00001, b"1.0E-5"),
    (0.0001, b"0.0001"),
    (1.5e-7, b"1.5E-7"),
    (5e-324, b"5.0E-324"),
    (1e25, b"1.0E+25"),
    (1.0, b"1"),
    (0.1, b"0.1"),
    (math.inf, b"INF"),
    (-math.inf, b"-INF"),
    (math.nan, b"NAN"),
    (123456789012345678.0, b"1.2345678901234568E+17"),
]


@pytest.mark.parametrize(("value", "text"), PHP_FLOATS)
def test_float_text_is_phps(value: float, text: bytes) -> None:
    assert format_float(value) == text


def test_floats_inside_containers_are_phps() -> None:
    # Containers write floats inline; each one must still be PHP's text.
    expected = b"".join(b"i:%d;d:%b;" % (i, text) for i, (_, text) in enumerate(PHP_FLOATS))
    assert dumps([value for value, _ in PHP_FLOATS]) == b"a:%d:{%b}" % (len(PHP_FLOATS), expected)


def test_long_lists_and_large_ints() -> None:
    # List keys and small ints come from a table of 4,096 tokens; past it they are written.
    values = [*range(5000), -1, 2**63 - 1, -(2**63)]
    expected = b"".join(b"i:%d;i:%d;" % (i, v) for i, v in enumerate(values))
    assert dumps(values) == b"a:%d:{%b}" % (len(values), expected)
    assert loads(dumps(values)) == values


def test_float_edges_match_the_corpus() -> None:
    data = CASES["float_edges"]
    assert dumps(loads(data)) == data


def test_scalars() -> None:
    assert dumps(None) == b"N;"
    assert dumps(True) == b"b:1;"
    assert dumps(False) == b"b:0;"
    assert dumps(-7) == b"i:-7;"
    assert dumps("héllo") == 's:6:"héllo";'.encode()
    assert dumps(b"\x00\xff") == b's:2:"\x00\xff";'


def test_lists_tuples_and_dicts() -> None:
    assert dumps([1, "a"]) == b'a:2:{i:0;i:1;i:1;s:1:"a";}'
    assert dumps((1, "a")) == dumps([1, "a"])
    assert dumps({}) == dumps([]) == b"a:0:{}"
    assert dumps(OrderedDict([("b", 1), ("a", 2)])) == b'a:2:{s:1:"b";i:1;s:1:"a";i:2;}'


def test_array_keys_are_normalized_like_php() -> None:
    data = CASES["numeric_string_keys"]
    value = loads(data)
    # The same mapping with the int keys given as strings writes what PHP wrote.
    as_strings = {str(k): v for k, v in value.items()}
    assert dumps(as_strings) == data
    assert dumps({b"12": 1, True: 2}) == b"a:2:{i:12;i:1;i:1;i:2;}"


def test_property_keys_are_not_normalized() -> None:
    assert dumps(PhpObject("stdClass", {"0": "z", 1: "y"})) == (
        b'O:8:"stdClass":2:{s:1:"0";s:1:"z";i:1;s:1:"y";}'
    )


def test_bad_keys() -> None:
    with pytest.raises(PhpEncodeError):
        dumps({1.5: "x"})
    with pytest.raises(PhpEncodeError):
        dumps({None: "x"})


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, [2**64], {2**63: 1}])
def test_int_overflow_is_an_error_never_a_clamp(value: object) -> None:
    with pytest.raises(PhpIntegerOverflowError) as info:
        dumps(value)
    assert isinstance(info.value, OverflowError)


def test_int64_bounds_are_fine() -> None:
    assert dumps(2**63 - 1) == CASES["int_max"]
    assert dumps(-(2**63)) == CASES["int_min"]


def test_unsupported_type() -> None:
    with pytest.raises(PhpEncodeTypeError) as info:
        dumps({"when": object()})
    assert isinstance(info.value, TypeError)


def test_default_converts_unsupported_values() -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

    assert dumps([Money(5)], default=lambda m: {"cents": m.cents}) == dumps([{"cents": 5}])
    with pytest.raises(PhpEncodeTypeError):
        dumps(Money(1), default=lambda m: m)


def test_subclasses_of_supported_types() -> None:
    class Color(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    assert dumps([Color.RED, Size.BIG]) == dumps(["red", 3])


def test_strings_that_are_not_utf8_encodable() -> None:
    with pytest.raises(PhpEncodeError):
        dumps("\udcff")


def test_repeated_object_becomes_r_with_php_slot() -> None:
    node = PhpObject("N", {"v": 1})
    # slot 1: the list, 2: node, 3: its v, 4: the back-reference
    assert dumps([node, node]) == b'a:2:{i:0;O:1:"N":1:{s:1:"v";i:1;}i:1;r:2;}'


def test_self_referencing_object() -> None:
    obj = PhpObject("stdClass")
    obj.properties["me"] = obj
    assert dumps(obj) == b'O:8:"stdClass":1:{s:2:"me";r:1;}'


def test_equal_enum_cases_are_one_php_object() -> None:
    data = dumps([PhpEnum("E", "A"), PhpEnum("E", "A")])
    assert data == b'a:2:{i:0;E:3:"E:A";i:1;r:2;}'


def test_reference_box_writes_r_upper_and_takes_no_slot() -> None:
    box = PhpReference(5)
    node = PhpObject("N")
    assert dumps([box, node, box, node]) == (b'a:4:{i:0;i:5;i:1;O:1:"N":0:{}i:2;R:2;i:3;r:3;}')


def test_reference_to_an_object_shares_the_object_slot() -> None:
    node = PhpObject("N")
    assert dumps([node, PhpReference(node)]) == b'a:2:{i:0;O:1:"N":0:{}i:1;R:2;}'


def test_reference_inside_reference_is_an_error() -> None:
    with pytest.raises(PhpEncodeError):
        dumps(PhpReference(PhpReference(1)))


def test_custom() -> None:
    assert dumps(PhpCustom("Foo", b"x;y")) == b'C:3:"Foo":3:{x;y}'


def test_cyclic_list_is_an_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(PhpEncodeError):
        dumps(loop)


def test_deep_nesting_limit() -> None:
    value: object = 1
    for _ in range(20):
        value = [value]
    with pytest.raises(PhpEncodeError):
        dumps(value, max_depth=10)
    assert loads(dumps(value, max_depth=20)) == value


@pytest.mark.parametrize(
    "value", [{12: "a", "12": "b"}, {"é": 1, "é".encode(): 2}, {b"3": 1, 3: 2}]
)
def test_keys_php_would_merge_are_an_error(value: dict[object, object]) -> None:
    with pytest.raises(PhpEncodeError, match="collide"):
        dumps(value)
