"""Validation of token heads and the error messages of the decoder.

The decoder's fast paths only learn *that* a token is malformed. `token_error` reads it
again, slowly and carefully, to say where and why: the byte offset, what the grammar
expected there, and what stood there instead (a cut-off token is a `PhpTruncatedError`).
"""

from __future__ import annotations

import re

from bridge.exceptions import PhpDecodeError, PhpLimitError, PhpTruncatedError

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# Heads that carry a length or count: s:<n>:" S:<n>:" O:<n>:" C:<n>:" E:<n>:" a:<n>:{
_HEAD = re.compile(rb'([sSOCE]):([0-9]{1,19}):"|(a):([0-9]{1,19}):\{')

_SHAPES = {
    b"N": re.compile(rb"N;"),
    b"b": re.compile(rb"b:[01];"),
    b"i": re.compile(rb"i:[+-]?[0-9]+;"),
    # Each digit run can be split one way only: `[0-9]+\.?[0-9]*` had n ways to split a
    # run of n digits, and a failed match tried them all from every split (quadratic).
    b"d": re.compile(
        rb"d:(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NAN|-?INF);"
    ),
    b"s": re.compile(rb's:([0-9]+):"'),
    b"S": re.compile(rb'S:([0-9]+):"'),
    b"a": re.compile(rb"a:[0-9]+:\{"),
    b"O": re.compile(rb'O:([0-9]+):"'),
    b"C": re.compile(rb'C:[0-9]+:"[^"]*":([0-9]+):\{'),
    b"E": re.compile(rb'E:([0-9]+):"'),
    b"r": re.compile(rb"r:[0-9]+;"),
    b"R": re.compile(rb"R:[0-9]+;"),
}
_TEXT = {
    b"N": "'N;'",
    b"b": "'b:0;' or 'b:1;'",
    b"i": "'i:<int>;'",
    b"d": "'d:<float>;'",
    b"s": "'s:<length>:\"<bytes>\";'",
    b"S": "'S:<length>:\"<escaped bytes>\";'",
    b"a": "'a:<count>:{'",
    b"O": "'O:<length>:\"<class>\":<count>:{'",
    b"C": "'C:<length>:\"<class>\":<length>:{'",
    b"E": "'E:<length>:\"<class>:<case>\";'",
    b"r": "'r:<slot>;'",
    b"R": "'R:<slot>;'",
}
# Shortest complete forms, with every digit run written as 0: a cut-off token is a prefix.
_SAMPLES = {
    b"N": [b"N;"],
    b"b": [b"b:0;", b"b:1;"],
    b"i": [b"i:0;", b"i:-0;", b"i:+0;"],
    b"d": [b"d:0.0E+0;", b"d:-0.0E-0;", b"d:0.0e+0;", b"d:NAN;", b"d:-INF;", b"d:INF;"],
    b"s": [b's:0:"'],
    b"S": [b'S:0:"'],
    b"a": [b"a:0:{"],
    b"O": [b'O:0:"'],
    b"C": [b'C:0:"'],
    b"E": [b'E:0:"'],
    b"r": [b"r:0;"],
    b"R": [b"R:0;"],
}
_DIGITS = re.compile(rb"[0-9]+")


def read_head(data: bytes, pos: int, max_length: int) -> int:
    """Validate the head of a string, class name or array at `pos`; return its length/count.

    Raises:
        PhpDecodeError: The head is malformed (or cut short).
        PhpLimitError: The length or count exceeds `max_length`.
    """
    match = _HEAD.match(data, pos)
    if match is None:
        raise token_error(data, pos)
    size = int(match.group(2) or match.group(4))
    if size > max_length:
        raise PhpLimitError(
            f"at byte {pos}: length {size} exceeds max_length {max_length}",
            offset=pos,
            expected=f"at most {max_length}",
            found=match.group(0),
        )
    return size


def too_many(data: bytes, pos: int, count: int, depth: int, max_depth: int) -> PhpDecodeError:
    """The error for an array/object that is nested too deep or declares too many entries."""
    if depth >= max_depth:
        return PhpLimitError(
            f"at byte {pos}: nesting deeper than max_depth {max_depth}",
            offset=pos,
            expected=f"at most {max_depth} levels",
            found=data[pos : pos + 16],
        )
    return PhpTruncatedError(
        f"at byte {pos}: {count} entries cannot fit in the {len(data) - pos} bytes left",
        offset=pos,
        expected=f"{count} entries",
        found=data[pos : pos + 16],
    )


def diagnose(data: bytes, pos: int, *, key: bool = False, close: bool = False) -> PhpDecodeError:
    """Explain why the token at `pos` (a key if `key`, a closing brace if `close`) is invalid."""
    found = data[pos : pos + 16]
    if pos >= len(data):
        what = "'}'" if close else "a key" if key else "a value"
        return PhpTruncatedError(
            f"at byte {pos}: data ends where {what} should be", offset=pos, expected=what
        )
    if close:
        return PhpDecodeError(
            f"at byte {pos}: expected '}}' after the last entry, found {found!r}",
            offset=pos,
            expected="'}'",
            found=found,
        )
    if key and data[pos : pos + 1] not in (b"i", b"s"):
        return PhpDecodeError(
            f"at byte {pos}: a key must be i: or s:, found {found!r}",
            offset=pos,
            expected="an i: or s: key",
            found=found,
        )
    return token_error(data, pos)


def token_error(data: bytes, pos: int) -> PhpDecodeError:
    """Describe the first thing wrong with the token starting at `pos`."""
    tag = data[pos : pos + 1]
    found = data[pos : pos + 16]
    if tag not in _SHAPES:
        if not tag:
            return PhpTruncatedError(f"at byte {pos}: data ends", offset=pos, expected="a value")
        return PhpDecodeError(
            f"at byte {pos}: unknown type tag {tag!r}",
            offset=pos,
            expected="one of N b i d s S a O C E r R",
            found=found,
        )
    shape = _TEXT[tag]
    match = _SHAPES[tag].match(data, pos)
    if match is None:
        if _is_cut_short(data, pos, tag):
            return PhpTruncatedError(
                f"at byte {pos}: data ends inside {shape}", offset=pos, expected=shape, found=found
            )
        return PhpDecodeError(
            f"at byte {pos}: expected {shape}, found {found!r}",
            offset=pos,
            expected=shape,
            found=found,
        )
    if tag in (b"s", b"S", b"C", b"O", b"E"):
        digits = match.group(1)
        # int() refuses thousands of digits; any length past 19 digits is just "too long".
        size = int(digits) if len(digits) <= 19 else 10**19
        start = match.end()
        end = start + size
        if end > len(data):
            return PhpTruncatedError(
                f"at byte {pos}: {size} bytes declared but only {len(data) - start} remain",
                offset=pos,
                expected=f"{size} bytes",
                found=found,
            )
        close = b"}" if tag == b"C" else b'":' if tag == b"O" else b'";'
        if data[end : end + len(close)] != close:
            if end + len(close) > len(data):
                return PhpTruncatedError(
                    f"at byte {end}: data ends before {close.decode()!r}",
                    offset=end,
                    expected=close.decode(),
                    found=data[end:],
                )
            return PhpDecodeError(
                f"at byte {end}: expected {close.decode()!r} after {size} bytes, found "
                f"{data[end : end + 8]!r}",
                offset=end,
                expected=close.decode(),
                found=data[end : end + 8],
            )
    if tag == b"i":
        return PhpDecodeError(
            f"at byte {pos}: integer outside the signed 64-bit range: {match.group(0)[:40]!r}",
            offset=pos,
            expected="an int64",
            found=match.group(0)[:40],
        )
    return PhpDecodeError(
        f"at byte {pos}: invalid {shape}: {found!r}", offset=pos, expected=shape, found=found
    )


def _is_cut_short(data: bytes, pos: int, tag: bytes) -> bool:
    """Whether data[pos:] is the start of a valid token that the end of the data cut off."""
    rest = data[pos:]
    if len(rest) > 40:
        return False
    shape = _DIGITS.sub(b"0", rest)
    return any(sample.startswith(shape) for sample in _SAMPLES[tag])
