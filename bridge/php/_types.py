"""The PHP value types, and the facts about PHP's values both codec directions share.

Mapping used by the codec:

===========================  ==============================================
PHP                          Python
===========================  ==============================================
null / bool / int / float    None / bool / int / float
string                       str when valid UTF-8, else bytes
array with keys 0..n-1       list
any other array              dict (int and str keys, PHP's order)
object (``O:``)              PhpObject
enum case (``E:``)           PhpEnum
``Serializable`` (``C:``)    PhpCustom
PHP reference (``R:``)       PhpReference shared by every place it stands
===========================  ==============================================

A repeated object instance (``r:``) decodes to the *same* Python object in every place,
and the encoder writes ``r:`` again for any object it has already written.

Keys: an array's string key that is a canonical int64 decimal (``"5"``, ``"-3"``, not
``"05"``) is an int key, as PHP stores it, and the encoder writes such str keys as ints
too (two Python keys that PHP would merge, like ``5`` and ``"5"``, are an error). A key
that is not valid UTF-8 stays bytes. Object property keys are kept exactly as written:
mangled str names, or ints where ``__serialize`` returned them (ArrayObject).

Enum cases are PHP singletons, so equal `PhpEnum` values are written once and then as
``r:``. The data of a ``C:`` object is opaque bytes; when it is itself one serialized value
(as a `Serializable` class that calls serialize() writes it), its values are counted in
PHP's slot numbering, as PHP counts them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

#: The range of PHP's int on the 64-bit builds Laravel runs on: `i:` tokens, array keys
#: and JSON integers outside it are not PHP ints.
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# A decimal PHP stores as an int array key: no sign on 0, no leading zeros.
_CANONICAL_INT = re.compile(rb"-?[1-9][0-9]{0,18}|0")


def canonical_int(raw: bytes) -> int | None:
    """The int PHP turns the string array key `raw` into, or None if it stays a string."""
    if _CANONICAL_INT.fullmatch(raw):
        value = int(raw)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return None


# PHP's float text (with the default ``serialize_precision = -1``) has the shortest digits
# that round-trip, which are exactly the digits of Python's `repr`; only the layout differs:
# fixed notation from 3 places left of the first digit to 17 places right of it (Python
# switches to exponents at 1e16), no ``.0`` on integral values but ``1.0E+25`` with an
# exponent, ``E+``/``E-`` exponents without leading zeros, and ``INF``, ``-INF``, ``NAN``.
_SPECIAL = {"inf": b"INF", "-inf": b"-INF", "nan": b"NAN"}
_READ_SPECIAL = {b"INF": math.inf, b"-INF": -math.inf, b"NAN": math.nan}
# Over these bytes Python's float() grammar is PHP's (sign, digits, one point with digits on
# at least one side, optional exponent); float() alone is laxer ("inf", "1_0", spaces).
_FLOAT_CHARS = b"0123456789.eE+-"


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
    if text.translate(None, _FLOAT_CHARS):
        return _READ_SPECIAL.get(text)
    try:
        return float(text)
    except ValueError:
        return None


#: Any value the codec reads or writes. Nested containers hold further PhpValues.
PhpValue: TypeAlias = Any
#: An array key or object property key as PHP holds it.
PhpKey: TypeAlias = int | str | bytes


class Visibility(StrEnum):
    """PHP property visibility, which decides how a property name is mangled."""

    PUBLIC = "public"
    PROTECTED = "protected"
    PRIVATE = "private"


def mangle(name: str, visibility: Visibility | str, declaring_class: str = "") -> str:
    """Return the serialized property key PHP uses for `name` with this visibility."""
    vis = Visibility(visibility)
    if vis is Visibility.PUBLIC:
        return name
    if vis is Visibility.PROTECTED:
        return f"\0*\0{name}"
    if not declaring_class:
        raise ValueError(f"private property {name!r} needs its declaring class")
    return f"\0{declaring_class}\0{name}"


def unmangle(key: PhpKey) -> tuple[str, Visibility, str]:
    """Split a serialized property key into (name, visibility, declaring class).

    The declaring class is empty except for private properties. Keys that are not
    well-formed mangled names are public, as PHP treats them.
    """
    if isinstance(key, bytes):
        key = key.decode("utf-8", "surrogateescape")
    elif isinstance(key, int):
        return str(key), Visibility.PUBLIC, ""
    if key[:1] == "\0":
        end = key.find("\0", 1)
        if end > 1:
            owner, name = key[1:end], key[end + 1 :]
            if owner == "*":
                return name, Visibility.PROTECTED, ""
            return name, Visibility.PRIVATE, owner
    return key, Visibility.PUBLIC, ""


class PhpObject:
    """A PHP object: its class name and its properties, keyed as PHP serializes them.

    `properties` keeps PHP's order and the mangled keys (``"\\0*\\0name"`` for protected,
    ``"\\0Class\\0name"`` for private), so the object re-encodes to the same bytes.
    Reading by bare name ignores visibility: ``obj["name"]`` finds a public, protected or
    private ``name``.
    """

    __slots__ = ("class_name", "properties")

    def __init__(self, class_name: str, properties: dict[PhpKey, PhpValue] | None = None) -> None:
        self.class_name = class_name
        self.properties: dict[PhpKey, PhpValue] = {} if properties is None else properties

    def _key_for(self, name: str) -> PhpKey | None:
        props = self.properties
        if name in props:
            return name
        protected = f"\0*\0{name}"
        if protected in props:
            return protected
        suffix = f"\0{name}"
        # A child can carry the parent's private twin; the concrete class's one wins.
        own = f"\0{self.class_name}{suffix}"
        if own in props:
            return own
        # Only a parent's private twin is left, a key ending in "\0name". Most lookups that
        # get here find nothing (a worker asks every command for `batchId`); one search of
        # the joined keys at C speed rules that out before a walk over the keys.
        try:
            joined = "\x01".join(props) + "\x01"  # type: ignore[arg-type]
        except TypeError:  # int or bytes keys: walk them
            pass
        else:
            if suffix + "\x01" not in joined:
                return None
        for key in props:
            if isinstance(key, str) and key.startswith("\0") and key.endswith(suffix):
                if key.find("\0", 1) == len(key) - len(suffix):
                    return key
        return None

    def __getitem__(self, name: str) -> PhpValue:
        key = self._key_for(name)
        if key is None:
            raise KeyError(name)
        return self.properties[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key_for(name) is not None

    def get(self, name: str, default: PhpValue = None) -> PhpValue:
        """Return the property `name` (any visibility), or `default`."""
        key = self._key_for(name)
        return default if key is None else self.properties[key]

    def set(
        self,
        name: str,
        value: PhpValue,
        visibility: Visibility | str = Visibility.PUBLIC,
        declaring_class: str = "",
    ) -> None:
        """Set a property: replace an existing one of that bare name in place, else append."""
        key = self._key_for(name)
        if key is None:
            key = mangle(name, visibility, declaring_class or self.class_name)
        self.properties[key] = value

    def visibility(self, name: str) -> Visibility:
        """Return the visibility of the property `name`."""
        key = self._key_for(name)
        if key is None:
            raise KeyError(name)
        return unmangle(key)[1]

    def described(self) -> Iterator[tuple[str, Visibility, str, PhpValue]]:
        """Yield (name, visibility, declaring class, value) for each property, in order."""
        for key, value in self.properties.items():
            name, vis, owner = unmangle(key)
            yield name, vis, owner, value

    def as_dict(self) -> dict[str, PhpValue]:
        """Properties by bare name (the concrete class's private twin wins)."""
        out: dict[str, PhpValue] = {}
        for name, _vis, owner, value in self.described():
            if name not in out or owner == self.class_name:
                out[name] = value
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpObject):
            return NotImplemented
        return self.class_name == other.class_name and list(self.properties.items()) == list(
            other.properties.items()
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict

    def __repr__(self) -> str:
        return f"PhpObject({self.class_name!r}, {self.properties!r})"


@dataclass(frozen=True, slots=True)
class PhpEnum:
    """A PHP 8.1 enum case, serialized by case name: ``E:13:"Status:Active";``."""

    class_name: str
    case: str


@dataclass(frozen=True, slots=True)
class PhpCustom:
    """An object of a class implementing ``Serializable``: ``C:`` with its raw data."""

    class_name: str
    data: bytes


class PhpReference:
    """A PHP reference (``&``): every place holding this same box holds one PHP zval.

    The encoder writes the value at the first place and ``R:<slot>;`` at the others.
    """

    __slots__ = ("value",)

    def __init__(self, value: PhpValue) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpReference):
            return NotImplemented
        return bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PhpReference({self.value!r})"
