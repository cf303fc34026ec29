"""Splicing top-level payload values: every other byte must survive."""

from __future__ import annotations

import json
from typing import Any

import pytest
from admin_unit_support import laravel_rows, row_id
from hypothesis import given
from hypothesis import strategies as st

from bridge.admin import replace_top_level, top_level_spans
from bridge.exceptions import PayloadDecodeError

ROWS = laravel_rows()


def test_spans_point_at_each_value() -> None:
    text = '{"a":1, "b" : {"c":[1,2]} ,"d":"x\\"y"}'
    spans = top_level_spans(text)
    assert [(s.key, text[s.start : s.end], s.value) for s in spans] == [
        ("a", "1", 1),
        ("b", '{"c":[1,2]}', {"c": [1, 2]}),
        ("d", '"x\\"y"', 'x"y'),
    ]


def test_empty_object_has_no_spans() -> None:
    assert top_level_spans(" { } ") == []


def test_a_key_that_only_appears_nested_is_not_touched() -> None:
    text = '{"data":{"retryUntil":5},"retryUntil":7}'
    assert replace_top_level(text, {"retryUntil": "null"}) == (
        '{"data":{"retryUntil":5},"retryUntil":null}'
    )


def test_a_key_inside_a_string_is_not_touched() -> None:
    text = '{"data":"\\"attempts\\":3","attempts":3}'
    assert replace_top_level(text, {"attempts": "0"}) == '{"data":"\\"attempts\\":3","attempts":0}'


def test_an_escaped_key_is_recognised() -> None:
    assert replace_top_level('{"\\u0061ttempts":4}', {"attempts": "0"}) == '{"\\u0061ttempts":0}'


def test_a_repeated_key_is_replaced_everywhere() -> None:
    assert replace_top_level('{"a":1,"a":2}', {"a": "0"}) == '{"a":0,"a":0}'


def test_absent_keys_are_not_added() -> None:
    text = '{"uuid":"u","job":"A@b"}'
    assert replace_top_level(text, {"retryUntil": "1"}) is text


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("[1,2]", 0),
        ('{"a":1', 6),
        ('{"a" 1}', 5),
        ('{"a":1}x', 7),
        ('{"a":tru}', 5),
        ("{a:1}", 1),
        ("", 0),
    ],
)
def test_malformed_text_names_the_position(text: str, position: int) -> None:
    with pytest.raises(PayloadDecodeError, match=f"at character {position}"):
        top_level_spans(text)


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_laravel_payloads_change_only_the_spliced_value(row: dict[str, Any]) -> None:
    payload: str = row["payload"]
    decoded = json.loads(payload)
    keys = [s.key for s in top_level_spans(payload)]
    assert keys == list(decoded)  # every top-level key found, in order
    if "retryUntil" not in decoded:
        assert replace_top_level(payload, {"retryUntil": "1"}) == payload
        return
    old = json.dumps(decoded["retryUntil"])
    new = replace_top_level(payload, {"retryUntil": "2000000000"})
    marker = f'"retryUntil":{old}'
    before, _, after = payload.partition(marker)
    assert new == f'{before}"retryUntil":2000000000{after}'
    assert json.loads(new) == {**decoded, "retryUntil": 2000000000}


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    obj=st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=6),
    ensure_ascii=st.booleans(),
    spaced=st.booleans(),
    new_value=st.integers(),
    data=st.data(),
)
def test_any_encoding_style_survives(
    obj: dict[str, Any], ensure_ascii: bool, spaced: bool, new_value: int, data: st.DataObject
) -> None:
    text = json.dumps(
        obj, ensure_ascii=ensure_ascii, separators=(", ", ": ") if spaced else (",", ":")
    )
    key = data.draw(st.sampled_from(sorted(obj)))
    new = replace_top_level(text, {key: str(new_value)})
    assert json.loads(new) == {**obj, key: new_value}
    (span,) = [s for s in top_level_spans(text) if s.key == key]
    assert new[: span.start] == text[: span.start]
    assert new[span.start + len(str(new_value)) :] == text[span.end :]
