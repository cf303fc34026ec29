"""Small facts about PHP's serialize() tokens shared by the decoder and the encoder."""

from __future__ import annotations

import re

from bridge.exceptions import PhpDecodeError, PhpTruncatedError
from bridge.php._types import PhpKey

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

#: The key tokens of list entries 0..N-1, so a list key is matched or written in one step.
LIST_KEYS = [b"i:%d;" % i for i in range(4096)]
LIST_KEY_LENS = [len(k) for k in LIST_KEYS]
N_LIST_KEYS = len(LIST_KEYS)

# PHP's zend_is_valid_class_name, and non-empty.
_CLASS_NAME = re.compile(rb"[A-Za-z0-9_\\\x80-\xff]+")
# A decimal PHP stores as an int array key: no sign on 0, no leading zeros, within int64.
_CANONICAL_INT = re.compile(rb"-?[1-9][0-9]{0,18}|0")


def valid_class_name(name: bytes) -> bool:
    """Whether PHP's unserialize() accepts `name` as a class name."""
    return _CLASS_NAME.fullmatch(name) is not None


def canonical_int(raw: bytes) -> int | None:
    """The int PHP turns the string array key `raw` into, or None if it stays a string."""
    if _CANONICAL_INT.fullmatch(raw):
        value = int(raw)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return None


def array_key(raw: bytes, text: PhpKey) -> PhpKey:
    """The key PHP stores for the string key `raw` (decoded as `text`)."""
    if raw and (47 < raw[0] < 58 or raw[0] == 45):
        number = canonical_int(raw)
        if number is not None:
            return number
    return text


def unescape(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    """Read the body of ``S:<size>:"..."`` at pos: raw bytes or ``\\hh`` escapes.

    Returns the decoded bytes and the offset after the closing ``";``.
    """
    i = data.index(b":", pos + 2) + 2
    out = bytearray()
    while len(out) < size:
        if i >= len(data):
            raise PhpTruncatedError(
                f"at byte {i}: data ends inside an S: string", offset=i, expected="string bytes"
            )
        if data[i] == 92:  # backslash
            pair = data[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in b"0123456789abcdefABCDEF" for c in pair):
                raise PhpDecodeError(
                    f"at byte {i}: bad escape {data[i : i + 3]!r}",
                    offset=i,
                    expected="a \\hh escape",
                    found=data[i : i + 3],
                )
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    if data[i : i + 2] != b'";':
        raise PhpDecodeError(
            f"at byte {i}: expected '\";', found {data[i : i + 2]!r}",
            offset=i,
            expected='";',
            found=data[i : i + 2],
        )
    return bytes(out), i + 2
