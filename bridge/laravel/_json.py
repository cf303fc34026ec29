"""PHP's `json_encode`, byte for byte, for the payload JSON Laravel writes.

Laravel encodes payloads with no flags (8.0-8.81, and `queue:retry` on every version) or
with only `JSON_UNESCAPED_UNICODE` (8.82+). Both differ from Python's `json` in small
ways: `/` is escaped as `\\/`, U+2028/U+2029 stay escaped even with unescaped unicode,
DEL (0x7F) is raw even without it, floats use PHP's shortest-digits text with a
lowercase exponent, and PHP arrays decide between `[...]` and `{...}` by their keys.

Strings go through the C escaper of the standard `json` module; only the few
differences are fixed up afterwards, with single `str.replace` / `re.sub` passes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from bridge.exceptions import PayloadError
from bridge.php import INT64_MAX, INT64_MIN

__all__ = ["php_float_repr", "php_json_encode"]

_escape_utf8: Callable[[str], str] = encode_basestring
_escape_ascii: Callable[[str], str] = encode_basestring_ascii
# ensure_ascii escapes DEL, PHP does not; an escape is preceded by an even run of backslashes.
_ESCAPED_DEL = re.compile(r"(?<!\\)((?:\\\\)*)\\u007f")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Printable ASCII but for `"`, `/` and `\\`: strings JSON writes as they are, quoted.
_PLAIN_TEXT = re.compile(r"[ !#-.0-\[\]-~]*")
_INT_KEY = re.compile(r"-?[1-9][0-9]*|0")


def php_float_repr(value: float, exponent_char: str = "e") -> str:
    """Return PHP's text for a finite float with `serialize_precision = -1`.

    Shortest round-trip digits; integral values drop the fraction (`1`, `-0`); scientific
    form `1.0e+25` when the decimal exponent is below -3 or above 17 (PHP's `php_gcvt`
    with 17 significant digits). `exponent_char` is `e` for JSON and `E` for serialize().
    """
    text = repr(value)
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    mantissa, _, exp_text = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    if not digits:
        return "-0" if negative else "0"
    # decpt: where the decimal point sits relative to the first significant digit.
    leading_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    decpt = len(int_part) - leading_zeros + (int(exp_text) if exp_text else 0)
    digits = digits.rstrip("0") or "0"
    sign = "-" if negative else ""
    if decpt < -3 or decpt > 17:
        exp = decpt - 1
        rest = digits[1:] or "0"
        return f"{sign}{digits[0]}.{rest}{exponent_char}{'+' if exp >= 0 else '-'}{abs(exp)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return f"{sign}{digits}{'0' * (decpt - len(digits))}"
    return f"{sign}{digits[:decpt]}.{digits[decpt:]}"


# Payloads repeat the same few dozen string keys; each is checked against `_INT_KEY` once.
_STR_KEYS: dict[str, int | str] = {}
_STR_KEYS_LIMIT = 4096


def _php_key(key: object) -> int | str:
    """Normalize an array key the way PHP stores it (canonical decimal strings become ints)."""
    if type(key) is str:
        known = _STR_KEYS.get(key)
        if known is None:
            known = int(key) if _is_int_key(key) else key
            if len(_STR_KEYS) >= _STR_KEYS_LIMIT:
                _STR_KEYS.clear()
            _STR_KEYS[key] = known
        return known
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, int):
        return key
    if isinstance(key, str):
        return int(key) if _is_int_key(key) else key
    if isinstance(key, bytes):
        return _php_key(_text(key))
    raise PayloadError(f"Unable to JSON encode payload: unsupported array key {key!r}")


def _is_int_key(key: str) -> bool:
    # Past 20 characters no decimal fits int64 (and int() refuses thousands of digits).
    return len(key) <= 20 and bool(_INT_KEY.fullmatch(key)) and INT64_MIN <= int(key) <= INT64_MAX


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(
                "Unable to JSON encode payload. Error (5): Malformed UTF-8 characters, "
                f"possibly incorrectly encoded (byte {exc.start} of a string)"
            ) from exc
    return value


def _encode(value: Any, out: list[str], escape: Callable[[str], str]) -> None:
    # Order matters: bool before int (bool is an int subclass).
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(escape(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadError(
                "Unable to JSON encode payload. Error (7): Inf and NaN cannot be JSON encoded"
            )
        out.append(php_float_repr(value, "e"))
    elif isinstance(value, Mapping):
        _encode_array(value, out, escape)
    elif isinstance(value, list | tuple):
        _encode_list(value, out, escape)
    elif isinstance(value, bytes):
        out.append(escape(_text(value)))
    else:
        raise PayloadError(f"Unable to JSON encode payload: unsupported value {value!r}")


def _encode_list(
    items: list[Any] | tuple[Any, ...], out: list[str], escape: Callable[[str], str]
) -> None:
    if not items:
        out.append("[]")
        return
    out.append("[")
    for index, item in enumerate(items):
        if index:
            out.append(",")
        _encode(item, out, escape)
    out.append("]")


def _encode_array(mapping: Mapping[Any, Any], out: list[str], escape: Callable[[str], str]) -> None:
    keys = [_php_key(k) for k in mapping]
    if keys == list(range(len(keys))):
        # A PHP array with keys 0..n-1 in order is a list (the empty array included).
        _encode_list(list(mapping.values()), out, escape)
        return
    out.append("{")
    for index, (key, item) in enumerate(zip(keys, mapping.values(), strict=True)):
        if index:
            out.append(",")
        out.append(escape(key if isinstance(key, str) else str(key)))
        out.append(":")
        _encode(item, out, escape)
    out.append("}")


def php_json_encode(value: Any, *, unescaped_unicode: bool) -> str:
    """Encode `value` exactly as PHP's `json_encode` would.

    Args:
        value: JSON-like data: None, bool, int, float, str (or UTF-8 bytes), lists and
            tuples, and mappings (PHP arrays: keys 0..n-1 in order make a JSON list, an
            empty mapping is `[]`, as PHP has only one array type).
        unescaped_unicode: `True` for `JSON_UNESCAPED_UNICODE` (Laravel 8.82+ payloads),
            `False` for no flags (older payloads, `queue:retry`).

    Returns:
        The JSON text.

    Raises:
        PayloadError: for invalid UTF-8, INF/NAN or values PHP arrays cannot hold, where
            PHP's `json_encode` fails too.
    """
    if type(value) is bytes:
        value = _text(value)  # a serialized command: the one big string of every payload
    if type(value) is str:
        if _PLAIN_TEXT.fullmatch(value):
            return f'"{value}"'  # nothing to escape (uuids, names): the common small case
        if value.isascii():
            # Both flag sets write ASCII alike: DEL raw, controls, `"` and `\\` escaped.
            return _escape_utf8(value).replace("/", "\\/")
    out: list[str] = []
    try:
        _encode(value, out, _escape_utf8 if unescaped_unicode else _checked_ascii)
    except RecursionError:
        # PHP's json_encode stops at depth 512 with "Maximum stack depth exceeded".
        raise PayloadError(
            "Unable to JSON encode payload. Error (1): Maximum stack depth exceeded"
        ) from None
    text = "".join(out)
    # `/` and U+2028/U+2029 occur only inside strings, so plain replaces are safe.
    text = text.replace("/", "\\/")
    if unescaped_unicode:
        if _SURROGATE.search(text):
            raise _malformed()
        if "\u2028" in text or "\u2029" in text:
            text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    elif "\\u007f" in text:
        text = _ESCAPED_DEL.sub("\\1\x7f", text)
    return text


def _malformed() -> PayloadError:
    # Lone surrogates (e.g. from surrogateescape) are invalid UTF-8 in PHP's eyes.
    return PayloadError(
        "Unable to JSON encode payload. Error (5): Malformed UTF-8 characters, "
        "possibly incorrectly encoded"
    )


def _checked_ascii(text: str) -> str:
    if not text.isascii() and _SURROGATE.search(text):
        raise _malformed()
    return _escape_ascii(text)
