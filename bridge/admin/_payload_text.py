"""Rewriting top-level values of a payload's JSON text without re-encoding anything else.

Laravel's `queue:retry` decodes the payload, changes a key or two and encodes it again with
no JSON flags, which turns raw UTF-8 into `\\uXXXX` escapes and an empty `{}` into `[]`.
bridge instead locates the value of each top-level key in the original text and splices
in the new value, so every other byte (key order, hook keys, escaping style, the command
string) stays exactly as the producer wrote it.

Positions come from `json.JSONDecoder.raw_decode`, which parses one value at a given index,
so nested objects and strings are skipped by a real JSON parser, never by searching text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.exceptions import PayloadDecodeError

__all__ = ["ValueSpan", "replace_top_level", "top_level_spans"]

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True, slots=True)
class ValueSpan:
    """Where the value of one top-level key sits: `text[start:end]`, and what it decodes to."""

    key: str
    start: int
    end: int
    value: object


def _skip_whitespace(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _expect(text: str, pos: int, wanted: str) -> int:
    if text[pos : pos + 1] != wanted:
        found = text[pos : pos + 10] or "end of text"
        raise PayloadDecodeError(
            f"payload JSON at character {pos}: expected {wanted!r}, found {found!r}"
        )
    return pos + 1


def _decode_at(text: str, pos: int) -> tuple[object, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise PayloadDecodeError(f"payload JSON at character {exc.pos}: {exc.msg}") from exc


def top_level_spans(text: str) -> list[ValueSpan]:
    """Every top-level key of a JSON object text with the span of its value, in text order.

    A key written twice appears twice (PHP's `json_decode` keeps the last one).

    Raises:
        PayloadDecodeError: `text` is not one JSON object (the message names the position).
    """
    pos = _expect(text, _skip_whitespace(text, 0), "{")
    spans: list[ValueSpan] = []
    pos = _skip_whitespace(text, pos)
    if text[pos : pos + 1] == "}":
        pos += 1
    else:
        while True:
            pos = _skip_whitespace(text, pos)
            if text[pos : pos + 1] != '"':
                _expect(text, pos, '"')
            key, pos = _decode_at(text, pos)
            assert isinstance(key, str)
            pos = _expect(text, _skip_whitespace(text, pos), ":")
            start = _skip_whitespace(text, pos)
            value, pos = _decode_at(text, start)
            spans.append(ValueSpan(key, start, pos, value))
            pos = _skip_whitespace(text, pos)
            if text[pos : pos + 1] == ",":
                pos += 1
                continue
            pos = _expect(text, pos, "}")
            break
    if _skip_whitespace(text, pos) != len(text):
        raise PayloadDecodeError(f"payload JSON at character {pos}: extra data after the object")
    return spans


def replace_top_level(text: str, values: Mapping[str, str]) -> str:
    """Return `text` with the values of the given top-level keys replaced by new JSON texts.

    Keys the object does not have are left absent (nothing is added); every byte outside
    the replaced values is kept.

    Args:
        text: A JSON object, e.g. a `jobs.payload`.
        values: Key to the replacement JSON text, e.g. `{"attempts": "0", "retryUntil": "null"}`.

    Raises:
        PayloadDecodeError: `text` is not one JSON object.
    """
    spans = [s for s in top_level_spans(text) if s.key in values]
    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for span in spans:
        pieces.append(text[last : span.start])
        pieces.append(values[span.key])
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces)
