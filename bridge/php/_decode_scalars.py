"""The decoder's scalar tags ``N b i d s S``, and the token checks behind its hot loop.

`ScalarDecoding` is the part of `PhpDecoder` that reads values with no identity. Each
check runs once per distinct token: its result is cached under the token's exact bytes.
"""

from __future__ import annotations

from bridge.exceptions import PhpDecodeError
from bridge.php import _diagnose
from bridge.php._decode_objects import _Decoded
from bridge.php._floats import parse_float
from bridge.php._tokens import INT64_MAX, INT64_MIN, array_key, unescape
from bridge.php._types import PhpKey, PhpValue


class ScalarDecoding:
    """The ``decode_<tag>`` methods for ``N b i d s S`` (mixed into `PhpDecoder`)."""

    __slots__ = ()

    # Provided by PhpDecoder.
    _data: bytes
    _slots: list[PhpValue]
    _heads: dict[bytes, int]
    _ints: dict[bytes, int]
    _floats: dict[bytes, float]
    _keys: dict[bytes, PhpKey]
    _props: dict[bytes, PhpKey]
    max_length: int

    def _diagnose(self, pos: int, *, key: bool = False, close: bool = False) -> PhpDecodeError:
        raise NotImplementedError

    def _head(self, pos: int) -> int:
        size = _diagnose.read_head(self._data, pos, self.max_length)
        self._heads[self._data[pos : self._data.index(b":", pos + 2) + 2]] = size
        return size

    def _string_key(self, token: bytes, pos: int, size: int, in_array: bool) -> PhpKey:
        head = len(token) - size - 2
        if token[-2:] != b'";' or token[head - 2 : head] != b':"':
            raise self._diagnose(pos)
        raw = token[head:-2]
        key: PhpKey
        try:
            key = raw.decode()
        except UnicodeDecodeError:
            key = raw
        if in_array:
            key = array_key(raw, key)
            self._keys[token] = key
        else:
            self._props[token] = key
        return key

    def _int_token(self, token: bytes, pos: int, is_key: bool) -> int:
        raw = token[2:-1]
        digits = raw[1:] if raw[:1] in (b"+", b"-") else raw
        if token[:2] != b"i:" or token[-1:] != b";" or not digits.isdigit():
            raise self._diagnose(pos, key=is_key)
        value = int(raw) if len(digits) < 20 else INT64_MAX + 1
        if not INT64_MIN <= value <= INT64_MAX:
            raise self._diagnose(pos, key=is_key)
        self._ints[token] = value
        return value

    def _float_token(self, token: bytes, pos: int) -> float:
        value = parse_float(token[2:-1]) if token[:2] == b"d:" else None
        if value is None:
            raise self._diagnose(pos)
        self._floats[token] = value
        return value

    def decode_null(self, pos: int, depth: int) -> _Decoded:
        if self._data[pos : pos + 2] != b"N;":
            raise self._diagnose(pos)
        self._slots.append(None)
        return None, pos + 2

    def decode_bool(self, pos: int, depth: int) -> _Decoded:
        token = self._data[pos : pos + 4]
        if token != b"b:0;" and token != b"b:1;":
            raise self._diagnose(pos)
        value = token == b"b:1;"
        self._slots.append(value)
        return value, pos + 4

    def decode_int(self, pos: int, depth: int) -> _Decoded:
        end = self._data.find(b";", pos + 2) + 1
        value = self._int_token(self._data[pos:end], pos, False)
        self._slots.append(value)
        return value, end

    def decode_float(self, pos: int, depth: int) -> _Decoded:
        end = self._data.find(b";", pos + 2) + 1
        value = self._float_token(self._data[pos:end], pos)
        self._slots.append(value)
        return value, end

    def decode_string(self, pos: int, depth: int) -> _Decoded:
        raw, end = self._string_at(pos)
        return self._text(raw), end

    def decode_escaped_string(self, pos: int, depth: int) -> _Decoded:
        raw, end = unescape(self._data, pos, _diagnose.read_head(self._data, pos, self.max_length))
        return self._text(raw), end

    def _text(self, raw: bytes) -> str | bytes:
        """A string value: `str` when it is valid UTF-8, else the bytes; takes a slot."""
        value: str | bytes
        try:
            value = raw.decode()
        except UnicodeDecodeError:
            value = raw
        self._slots.append(value)
        return value

    def _string_at(self, pos: int) -> tuple[bytes, int]:
        """Read ``X:<n>:"<n bytes>";`` at pos; return the bytes and the offset after it."""
        data = self._data
        size = _diagnose.read_head(data, pos, self.max_length)
        start = data.index(b":", pos + 2) + 2
        end = start + size
        if data[end : end + 2] != b'";':
            raise self._diagnose(pos)
        return data[start:end], end + 2
