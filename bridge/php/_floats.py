"""PHP's float text: what `serialize()` writes for a float and what `unserialize()` reads.

PHP (with the default ``serialize_precision = -1``) writes the shortest decimal digits that
round-trip, which are exactly the digits of Python's `repr`. Only the layout differs:

* fixed notation while the decimal point sits 3 places left of the first digit up to 17
  places right of it (Python switches to exponents one place earlier, at 1e16);
* no ``.0`` on integral values (``1``, ``-0``), but ``1.0E+25`` when an exponent is used;
* ``E+``/``E-`` exponents without leading zeros, and ``INF``, ``-INF``, ``NAN``.
"""

from __future__ import annotations

import math

_SPECIAL = {"inf": b"INF", "-inf": b"-INF", "nan": b"NAN"}
_READ_SPECIAL = {b"INF": math.inf, b"-INF": -math.inf, b"NAN": math.nan}
# Over these bytes Python's float() grammar is PHP's (sign, digits, one point with digits on
# at least one side, optional exponent); float() alone is laxer ("inf", "1_0", spaces).
FLOAT_CHARS = b"0123456789.eE+-"


def format_float(value: float) -> bytes:
    """Return the text PHP's `serialize()` writes after ``d:`` for `value`."""
    text = repr(value)
    if "e" not in text:
        if text[-2:] == ".0":
            return text[:-2].encode()
        special = _SPECIAL.get(text)
        return special if special is not None else text.encode()
    mantissa, _, exp_text = text.partition("e")
    sign = ""
    if mantissa[0] == "-":
        sign, mantissa = "-", mantissa[1:]
    digits = mantissa.replace(".", "")
    # repr gives d.ddd e X, so the point sits X + 1 places after the first digit.
    decpt = int(exp_text) + 1
    if -3 <= decpt <= 17:
        # Only 1e16 <= |value| < 1e17 lands here (Python's repr goes scientific earlier).
        return (sign + digits + "0" * (decpt - len(digits))).encode()
    rest = digits[1:] or "0"
    exp = decpt - 1
    return f"{sign}{digits[0]}.{rest}E{'+' if exp > 0 else '-'}{abs(exp)}".encode()


def parse_float(text: bytes) -> float | None:
    """Read the text between ``d:`` and ``;`` as PHP does, or return None if PHP rejects it."""
    if text.translate(None, FLOAT_CHARS):
        return _READ_SPECIAL.get(text)
    try:
        return float(text)
    except ValueError:
        return None
