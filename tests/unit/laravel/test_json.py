"""PHP-flavoured JSON: the escaping and number rules of `json_encode` (spec §1.1)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.exceptions import PayloadError
from bridge.laravel._json import php_float_repr, php_json_encode


@pytest.mark.parametrize(
    ("value", "unescaped", "expected"),
    [
        ("a/b", True, '"a\\/b"'),
        ("héllo", True, '"héllo"'),
        ("héllo", False, '"h\\u00e9llo"'),
        ("😀", False, '"\\ud83d\\ude00"'),
        ("\u2028\u2029", True, '"\\u2028\\u2029"'),
        ("\x7f", False, '"\x7f"'),
        ("\\u007f\x7f", False, '"\\\\u007f\x7f"'),
        ("\\\x7f", False, '"\\\\\x7f"'),
        ("\x00\x1f\b\f\n\r\t", True, '"\\u0000\\u001f\\b\\f\\n\\r\\t"'),
        ("<>&'", True, '"<>&\'"'),
        ({}, True, "[]"),
        ([], True, "[]"),
        ({0: "a", 1: "b"}, True, '["a","b"]'),
        ({"0": "a", "1": "b"}, True, '["a","b"]'),
        ({1: "a"}, True, '{"1":"a"}'),
        ({"a": None, "b": True, "c": 5}, True, '{"a":null,"b":true,"c":5}'),
        (1.0, True, "1"),
        (-0.0, True, "-0"),
        (1e25, True, "1.0e+25"),
        (1.5e-7, True, "1.5e-7"),
        (0.1 + 0.2, True, "0.30000000000000004"),
    ],
)
def test_php_json_encode_matches_php_rules(value: object, unescaped: bool, expected: str) -> None:
    assert php_json_encode(value, unescaped_unicode=unescaped) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (100.0, "100"),
        (1e16, "10000000000000000"),
        (1e17, "1.0E+17"),
        (1e-5, "1.0E-5"),
        (0.0001, "0.0001"),
        (-2.5e-5, "-2.5E-5"),
        (5e-324, "5.0E-324"),
        (1.7976931348623157e308, "1.7976931348623157E+308"),
        (1.2345678901234568e17, "1.2345678901234568E+17"),
        (123456789.125, "123456789.125"),
    ],
)
def test_php_float_repr_serialize_flavour(value: float, expected: str) -> None:
    assert php_float_repr(value, "E") == expected


def test_invalid_utf8_and_nan_fail_like_php() -> None:
    with pytest.raises(PayloadError, match="Malformed UTF-8"):
        php_json_encode({"a": b"\xff"}, unescaped_unicode=True)
    with pytest.raises(PayloadError, match="Malformed UTF-8"):
        php_json_encode("\udcff", unescaped_unicode=False)
    with pytest.raises(PayloadError, match="Inf and NaN"):
        php_json_encode(float("nan"), unescaped_unicode=True)


@given(st.text())
def test_output_is_json_that_decodes_back(text: str) -> None:
    for flag in (True, False):
        try:
            encoded = php_json_encode({"k": text}, unescaped_unicode=flag)
        except PayloadError:
            assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
            continue
        assert json.loads(encoded) == {"k": text}
        if not flag:
            assert all(c.isascii() for c in encoded)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips(value: float) -> None:
    assert float(php_float_repr(value, "e")) == value
