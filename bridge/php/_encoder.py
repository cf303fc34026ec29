"""`PhpEncoder` and `dumps`: Python values to the bytes PHP's serialize() writes.

Each Python type has an `encode_<type>` method, found through `default_encoders` (by exact
type, then along the MRO). Where the C accelerator is built, `encode` asks it first and
runs this code only for what it leaves (see `_accel`), so this code is written to be read,
and to be the reference the accelerator is tested against.

Slot numbers follow PHP's serializer (`php_add_var_hash`): every value written counts one,
``r:`` included, keys and ``R:`` excluded. An object instance (or enum case) written a second
time becomes ``r:<slot>``; a `PhpReference` box becomes ``R:<slot>`` after its first place,
and a reference to an object already written becomes ``R:`` too, as in PHP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from bridge.exceptions import PhpEncodeError, PhpEncodeTypeError, PhpIntegerOverflowError
from bridge.php import _accel
from bridge.php._decoder import count_slots
from bridge.php._types import (
    INT64_MAX,
    INT64_MIN,
    PhpCustom,
    PhpEnum,
    PhpKey,
    PhpObject,
    PhpReference,
    PhpValue,
    canonical_int,
    format_float,
)

#: Deepest nesting written by default; deeper (or cyclic) plain containers are an error.
DEFAULT_MAX_DEPTH = 512

#: Converts a value of an unsupported type into one that can be encoded.
Default: TypeAlias = Callable[[PhpValue], PhpValue]


class PhpEncoder:
    """Writes Python values as PHP serialize() bytes.

    Args:
        default: Called with a value of an unsupported type; must return an encodable
            value (it is not called again on its own result).
        max_depth: Deepest list/dict/object nesting written; catches cyclic containers.
    """

    __slots__ = (
        "_depth",
        "_indexes",
        "_keys",
        "_memo",
        "_parts",
        "_props",
        "_suspects",
        "default",
        "max_depth",
    )

    def __init__(
        self, *, default: Default | None = None, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> None:
        self.default = default
        self.max_depth = max_depth
        self._parts: list[bytes] = []
        # id(object) or an enum's identity -> (slot, the object kept alive for the call)
        self._memo: dict[object, tuple[int, object]] = {}
        # The tokens of the keys written so far in this call: of dicts, objects and lists.
        self._keys: dict[PhpKey, bytes] = {}
        self._props: dict[PhpKey, bytes] = {}
        self._indexes: dict[PhpKey, bytes] = {}
        # Keys that PHP would store as another key (an int, or the str of these bytes).
        self._suspects: set[object] = set()
        self._depth = 0

    def encode(self, value: PhpValue) -> bytes:
        """Return `value` serialized.

        Raises:
            PhpEncodeTypeError: A value has no PHP form and `default` did not convert it.
            PhpIntegerOverflowError: An int is outside PHP's signed 64-bit range.
            PhpEncodeError: A string is not encodable as UTF-8, nesting is too deep, or a
                key is not an int, str or bytes.
        """
        c_encode = _accel.c_encode
        if c_encode is not None:
            # It leaves `default`'s types, and everything else but plain values, to this code.
            written = c_encode(value, self.max_depth, PhpObject)
            if written is not NotImplemented:
                return written  # type: ignore[no-any-return]
        try:
            self._value(value, 1)
            return b"".join(self._parts)
        except RecursionError:
            raise PhpEncodeError("nesting is too deep for the Python stack") from None
        finally:
            self._parts = []
            self._memo = {}
            self._keys = {}
            self._props = {}
            self._indexes = {}
            self._suspects = set()
            self._depth = 0

    def _value(self, value: PhpValue, slot: int) -> int:
        """Write `value`, whose slot number is `slot`; return the last slot used."""
        return _encoder_for(value)(self, value, slot)

    def encode_other(self, value: PhpValue, slot: int) -> int:
        if self.default is not None:
            converted = self.default(value)
            encoder = _encoder_for(converted)
            if encoder is not PhpEncoder.encode_other:
                return encoder(self, converted, slot)
        raise PhpEncodeTypeError(f"cannot serialize {type(value).__qualname__} value {value!r}")

    # -- scalars -------------------------------------------------------------------------

    def encode_none(self, value: None, slot: int) -> int:
        self._parts.append(b"N;")
        return slot

    def encode_bool(self, value: bool, slot: int) -> int:
        self._parts.append(b"b:1;" if value else b"b:0;")
        return slot

    def encode_int(self, value: int, slot: int) -> int:
        self._parts.append(_int_token(value))
        return slot

    def encode_float(self, value: float, slot: int) -> int:
        self._parts.append(_float_token(value))
        return slot

    def encode_str(self, value: str, slot: int) -> int:
        self._parts.append(_str_token(value))
        return slot

    def encode_bytes(self, value: bytes, slot: int) -> int:
        self._parts.append(_bytes_token(value))
        return slot

    # -- arrays and objects --------------------------------------------------------------

    def encode_list(self, value: list[PhpValue] | tuple[PhpValue, ...], slot: int) -> int:
        return self._entries(value, slot)

    def encode_dict(self, value: dict[PhpValue, PhpValue], slot: int) -> int:
        return self._entries(value, slot)

    def encode_object(self, value: PhpObject, slot: int) -> int:
        if self._seen(id(value), value, slot, b"r"):
            return slot
        return self._entries(value, slot)

    def _entries(self, value: PhpValue, slot: int) -> int:
        """Write a list, tuple, dict or PhpObject at `slot`; return the last slot used."""
        if self._depth >= self.max_depth:
            raise PhpEncodeError(
                f"nesting deeper than max_depth {self.max_depth} (or a cyclic list/dict)"
            )
        self._depth += 1
        append = self._parts.append
        items: Iterable[tuple[PhpValue, PhpValue]]
        if isinstance(value, PhpObject):
            name = value.class_name.encode("utf-8", "surrogateescape")
            append(b'O:%d:"%b":%d:{' % (len(name), name, len(value.properties)))
            items, keys, array = value.properties.items(), self._props, False
        elif isinstance(value, dict):
            append(b"a:%d:{" % len(value))
            items, keys, array = value.items(), self._keys, True
        else:
            append(b"a:%d:{" % len(value))
            items, keys, array = enumerate(value), self._indexes, True
        for key, item in items:
            token = keys.get(key)
            if token is None:
                token = self._key(key, array=array)
                # Of a dict's keys only str and bytes are remembered: an int key would be
                # found by an equal float, which is no key and must be refused.
                if keys is self._indexes or not isinstance(key, int):
                    keys[key] = token
            append(token)
            kind = type(item)
            write = _SCALAR_TOKENS.get(kind)
            if write is not None:
                append(write(item))
                slot += 1
            elif kind is list or kind is dict:
                # Written by this call, not through the table: each level of nesting costs
                # one Python frame, so that max_depth's nesting fits the stack.
                slot = self._entries(item, slot + 1)
            else:
                encoder = default_encoders.get(kind) or _encoder_for(item)
                slot = encoder(self, item, slot + 1)
        append(b"}")
        if isinstance(value, dict) and self._suspects and not self._suspects.isdisjoint(value):
            _check_collisions(value)
        self._depth -= 1
        return slot

    def _key(self, key: PhpValue, *, array: bool) -> bytes:
        """The token of a key not met before in this call."""
        number: int | None = None
        if isinstance(key, int):  # bool too: PHP stores true/false keys as 1/0
            number = int(key)
        elif isinstance(key, str):
            text = str(key)
            # An array's canonical int64 decimal string key is an int to PHP.
            number = canonical_int(text.encode("utf-8", "surrogatepass")) if array else None
            if number is None:
                token = _str_token(text)
            else:
                self._suspects.add(text)
        elif isinstance(key, bytes):
            self._suspects.add(key)
            number = canonical_int(key) if array else None
            if number is None:
                token = _bytes_token(key)
        else:
            raise PhpEncodeError(f"key {key!r} must be an int, str or bytes")
        if number is not None:
            token = _int_token(number)
        return token

    def _seen(self, key: object, value: PhpValue, slot: int, tag: bytes) -> bool:
        """Register an object at `slot`, or write a back-reference if already written."""
        known = self._memo.get(key)
        if known is None:
            self._memo[key] = (slot, value)
            return False
        self._parts.append(b"%b:%d;" % (tag, known[0]))
        return True

    def encode_custom(self, value: PhpCustom, slot: int) -> int:
        if self._seen(id(value), value, slot, b"r"):
            return slot
        return self._write_custom(value, slot)

    def _write_custom(self, value: PhpCustom, slot: int) -> int:
        # Only ``C:`` data makes writing depend on reading: PHP numbers the values inside
        # it, and counting them is decoding them.
        name = value.class_name.encode("utf-8", "surrogateescape")
        data = bytes(value.data)
        self._parts.append(b'C:%d:"%b":%d:{%b}' % (len(name), name, len(data), data))
        return slot + count_slots(data)

    def encode_enum(self, value: PhpEnum, slot: int) -> int:
        # A PHP enum case is a singleton: equal cases are one object, whatever Python holds.
        if self._seen(_enum_key(value), value, slot, b"r"):
            return slot
        return self._write_enum(value, slot)

    def _write_enum(self, value: PhpEnum, slot: int) -> int:
        text = f"{value.class_name}:{value.case}".encode("utf-8", "surrogateescape")
        self._parts.append(b'E:%d:"%b";' % (len(text), text))
        return slot

    def encode_reference(self, value: PhpReference, slot: int) -> int:
        inner = value.value
        kind = type(inner)
        if kind is PhpReference:
            raise PhpEncodeError("a PhpReference cannot hold another PhpReference")
        # PHP looks through a reference to an object: both share the object's slot.
        key: object
        if kind is PhpObject or kind is PhpCustom:
            key = id(inner)
        elif kind is PhpEnum:
            key = _enum_key(inner)
        else:
            key = id(value)
        if self._seen(key, value, slot, b"R"):
            return slot - 1  # R: takes no slot
        if kind is PhpObject:
            return self._entries(inner, slot)
        if kind is PhpCustom:
            return self._write_custom(inner, slot)
        if kind is PhpEnum:
            return self._write_enum(inner, slot)
        return self._value(inner, slot)


def _check_collisions(value: dict[PhpValue, PhpValue]) -> None:
    """Raise if two keys of `value` are one key to PHP (12 and "12", "é" and b"\xc3\xa9")."""
    seen: set[PhpKey] = set()
    for key in value:
        php_key: PhpKey
        if isinstance(key, int):
            php_key = int(key)
        else:
            raw = key.encode() if isinstance(key, str) else bytes(key)
            number = canonical_int(raw)
            php_key = raw if number is None else number
        if php_key in seen:
            raise PhpEncodeError(f"keys collide in PHP: {key!r} is the same array key as another")
        seen.add(php_key)


def _enum_key(value: PhpEnum) -> tuple[str, str, str]:
    return ("enum", value.class_name.lower(), value.case)


_Method: TypeAlias = Callable[[PhpEncoder, PhpValue, int], int]

#: The `encode_<type>` method for each Python type (subclasses are found along the MRO).
default_encoders: dict[type, _Method] = {
    type(None): PhpEncoder.encode_none,
    bool: PhpEncoder.encode_bool,
    int: PhpEncoder.encode_int,
    float: PhpEncoder.encode_float,
    str: PhpEncoder.encode_str,
    bytes: PhpEncoder.encode_bytes,
    bytearray: PhpEncoder.encode_bytes,
    list: PhpEncoder.encode_list,
    tuple: PhpEncoder.encode_list,
    dict: PhpEncoder.encode_dict,
    PhpObject: PhpEncoder.encode_object,
    PhpCustom: PhpEncoder.encode_custom,
    PhpEnum: PhpEncoder.encode_enum,
    PhpReference: PhpEncoder.encode_reference,
}


def _encoder_for(value: PhpValue) -> _Method:
    for cls in type(value).__mro__:
        encoder = default_encoders.get(cls)
        if encoder is not None:
            return encoder
    return PhpEncoder.encode_other


def scalar_token(value: object) -> bytes | None:
    """What `dumps` writes for a None, bool, int, float, str or bytes; None for anything else.

    Only exact types count (an int subclass such as an `IntEnum` gives None), so a caller
    that falls back to `dumps` for None results gets the same bytes either way. Together
    with `object_token` it lets a caller that knows an object's layout write it from ready
    key tokens: scalars never take part in `r:`/`R:` back-references, so their bytes do not
    depend on where they stand.

    Raises:
        PhpIntegerOverflowError: An int is outside PHP's signed 64-bit range.
        PhpEncodeError: A str is not encodable as UTF-8.
    """
    write = _SCALAR_TOKENS.get(type(value))
    return None if write is None else write(value)


def _str_token(value: str) -> bytes:
    try:
        raw = value.encode()
    except UnicodeEncodeError as exc:
        raise PhpEncodeError(f"string is not encodable as UTF-8: {exc}") from None
    return b's:%d:"%b";' % (len(raw), raw)


def _bytes_token(value: bytes) -> bytes:
    return b's:%d:"%b";' % (len(value), value)


def _int_token(value: int) -> bytes:
    if not INT64_MIN <= value <= INT64_MAX:
        raise PhpIntegerOverflowError(
            f"{value} does not fit PHP's signed 64-bit int (PHP would clamp it)"
        )
    return b"i:%d;" % value


def _float_token(value: float) -> bytes:
    return b"d:%b;" % format_float(value)


#: The token writer of each scalar type, by exact type: a scalar's bytes do not depend on
#: where it stands, so entries write them without a method call.
_SCALAR_TOKENS: dict[type, Callable[[Any], bytes]] = {
    str: _str_token,
    int: _int_token,
    float: _float_token,
    bool: lambda value: b"b:1;" if value else b"b:0;",
    type(None): lambda value: b"N;",
    bytes: _bytes_token,
}


def object_token(class_name: str, count: int, properties: bytes) -> bytes:
    """An `O:` token of class `class_name` around `count` ready key/value token pairs."""
    name = class_name.encode("utf-8", "surrogateescape")
    return b'O:%d:"%b":%d:{%b}' % (len(name), name, count, properties)


def dumps(
    value: PhpValue, *, default: Default | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> bytes:
    """Serialize `value` exactly as PHP's serialize() would.

    Args:
        value: None, bool, int, float, str, bytes, list/tuple, dict, PhpObject, PhpCustom,
            PhpEnum or PhpReference, nested freely.
        default: Converts values of other types into encodable ones.
        max_depth: Deepest nesting written.

    Raises:
        PhpEncodeTypeError: A value has no PHP form.
        PhpIntegerOverflowError: An int is outside PHP's signed 64-bit range.
        PhpEncodeError: Any other value PHP could not hold exactly.
    """
    return PhpEncoder(default=default, max_depth=max_depth).encode(value)
