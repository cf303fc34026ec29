"""`PhpEncoder` and `dumps`: Python values to the bytes PHP's serialize() writes.

Each Python type has an `encode_<type>` method, found through `default_encoders` (by exact
type, then along the MRO). Lists, dicts and objects write their scalar entries inline, since
those are most of any real payload; everything else goes through the table.

Slot numbers follow PHP's serializer (`php_add_var_hash`): every value written counts one,
``r:`` included, keys and ``R:`` excluded. An object instance (or enum case) written a second
time becomes ``r:<slot>``; a `PhpReference` box becomes ``R:<slot>`` after its first place,
and a reference to an object already written becomes ``R:`` too, as in PHP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeAlias

from bridge.exceptions import PhpEncodeError, PhpEncodeTypeError, PhpIntegerOverflowError
from bridge.php import _accel
from bridge.php._decoder import count_slots
from bridge.php._floats import format_float
from bridge.php._tokens import LIST_KEYS, N_LIST_KEYS
from bridge.php._types import PhpCustom, PhpEnum, PhpObject, PhpReference, PhpValue

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
#: Deepest nesting written by default; deeper (or cyclic) plain containers are an error.
DEFAULT_MAX_DEPTH = 512

#: Converts a value of an unsupported type into one that can be encoded.
Default: TypeAlias = Callable[[PhpValue], PhpValue]

_CANONICAL_INT = re.compile(r"-?[1-9][0-9]{0,18}|0")


def _overflow(value: int) -> PhpIntegerOverflowError:
    return PhpIntegerOverflowError(
        f"{value} does not fit PHP's signed 64-bit int (PHP would clamp it)"
    )


class PhpEncoder:
    """Writes Python values as PHP serialize() bytes.

    Args:
        default: Called with a value of an unsupported type; must return an encodable
            value (it is not called again on its own result).
        max_depth: Deepest list/dict/object nesting written; catches cyclic containers.
    """

    __slots__ = (
        "_depth",
        "_keys",
        "_memo",
        "_names",
        "_parts",
        "_strs",
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
        self._strs: dict[str, bytes] = {}
        self._keys: dict[str, bytes] = {}
        self._names: dict[str, bytes] = {}
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
            self._strs = {}
            self._keys = {}
            self._suspects = set()
            self._depth = 0

    def _value(self, value: PhpValue, slot: int) -> int:
        """Write `value`, whose slot number is `slot`; return the last slot used."""
        encoder = default_encoders.get(type(value))
        if encoder is None:
            encoder = self._find_encoder(value)
        return encoder(self, value, slot)

    def _find_encoder(self, value: PhpValue) -> _Method:
        for cls in type(value).__mro__[1:]:
            encoder = default_encoders.get(cls)
            if encoder is not None:
                return encoder
        return PhpEncoder.encode_other

    def encode_other(self, value: PhpValue, slot: int) -> int:
        if self.default is not None:
            converted = self.default(value)
            encoder = default_encoders.get(type(converted))
            if encoder is None:
                encoder = self._find_encoder(converted)
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
        self._parts.append(self._str(value))
        return slot

    def encode_bytes(self, value: bytes, slot: int) -> int:
        self._parts.append(_bytes_token(value))
        return slot

    def _str(self, value: str) -> bytes:
        token = self._strs.get(value)
        return token if token is not None else self._new_str(value)

    def _new_str(self, value: str) -> bytes:
        """The token of a string not written before in this call (now remembered)."""
        token = self._strs[value] = _str_token(value)
        return token

    def _array_key(self, key: str) -> bytes:
        """The key token for a str array key: PHP stores canonical int64 strings as ints."""
        token = self._keys.get(key)
        if token is None:
            if _CANONICAL_INT.fullmatch(key) and INT64_MIN <= int(key) <= INT64_MAX:
                token = b"i:%s;" % key.encode()
                self._suspects.add(key)
            else:
                token = self._str(key)
            self._keys[key] = token
        return token

    # -- containers ----------------------------------------------------------------------

    def encode_list(self, value: list[PhpValue] | tuple[PhpValue, ...], slot: int) -> int:
        parts = self._parts
        parts.append(b"a:%d:{" % len(value))
        slot = self._entries(enumerate(value), slot, 1, self._depth + 1)
        parts.append(b"}")
        return slot

    def encode_dict(self, value: dict[PhpValue, PhpValue], slot: int) -> int:
        parts = self._parts
        parts.append(b"a:%d:{" % len(value))
        slot = self._entries(value.items(), slot, 0, self._depth + 1)
        parts.append(b"}")
        if self._suspects and not self._suspects.isdisjoint(value):
            _check_collisions(value)
        return slot

    def _entries(self, items: PhpValue, slot: int, mode: int, depth: int) -> int:
        """Write key/value pairs; mode 1: list keys, 0: array keys, 2: property keys.

        Lists, dicts and objects inside are written here too (one call per level, not three).
        """
        if depth > self.max_depth:
            raise PhpEncodeError(
                f"nesting deeper than max_depth {self.max_depth} (or a cyclic list/dict)"
            )
        entries = self._entries
        suspects = self._suspects
        append = self._parts.append
        strs = self._strs
        new_str = self._new_str
        # The tokens of the str keys written so far (a dict's keys become ints where PHP's do).
        known_keys = self._keys if mode == 0 else strs
        for key, value in items:
            if mode == 1:
                append(LIST_KEYS[key] if key < N_LIST_KEYS else b"i:%d;" % key)
            else:
                token = known_keys.get(key)
                if token is None:
                    token = self._key(key, mode)
                append(token)
            slot += 1
            kind = type(value)
            if kind is str:
                token = strs.get(value)
                append(token if token is not None else new_str(value))
            elif kind is int:
                if 0 <= value < N_LIST_KEYS:
                    append(LIST_KEYS[value])  # the token i:<n>; of a small n, made once
                elif INT64_MIN <= value <= INT64_MAX:
                    append(b"i:%d;" % value)
                else:
                    raise _overflow(value)
            elif kind is dict:
                append(b"a:%d:{" % len(value))
                slot = entries(value.items(), slot, 0, depth + 1)
                append(b"}")
                if suspects and not suspects.isdisjoint(value):
                    _check_collisions(value)
            elif value is None:
                append(b"N;")
            elif kind is float:
                append(_float_token(value))
            elif kind is list:
                append(b"a:%d:{" % len(value))
                slot = entries(enumerate(value), slot, 1, depth + 1)
                append(b"}")
            elif kind is bool:
                append(b"b:1;" if value else b"b:0;")
            elif kind is PhpObject:
                if not self._seen(id(value), value, slot, b"r"):
                    slot = self._write_object(value, slot, depth + 1)
            else:
                encoder = default_encoders.get(kind)
                if encoder is None:
                    encoder = self._find_encoder(value)
                self._depth = depth  # the table's container methods nest from here
                slot = encoder(self, value, slot)
        return slot

    def _key(self, key: PhpValue, mode: int) -> bytes:
        """The token of a key not written before: an array key (mode 0) or a property key."""
        kind = type(key)
        if kind is int:
            return _int_token(key)
        if kind is str:
            return self._array_key(key) if mode == 0 else self._str(key)
        if isinstance(key, bytes):
            self._suspects.add(key)
            if mode == 0 and _CANONICAL_INT.fullmatch(key.decode("latin-1")):
                return self._array_key(key.decode())
            return b's:%d:"%b";' % (len(key), key)
        if isinstance(key, int):  # bool too: PHP stores true/false keys as 1/0
            return _int_token(int(key))
        if isinstance(key, str):
            return self._array_key(str(key)) if mode == 0 else self._str(str(key))
        raise PhpEncodeError(f"key {key!r} must be an int, str or bytes")

    # -- objects -------------------------------------------------------------------------

    def _seen(self, key: object, value: PhpValue, slot: int, tag: bytes) -> bool:
        """Register an object at `slot`, or write a back-reference if already written."""
        known = self._memo.get(key)
        if known is None:
            self._memo[key] = (slot, value)
            return False
        self._parts.append(b"%b:%d;" % (tag, known[0]))
        return True

    def _name(self, class_name: str) -> bytes:
        name = self._names.get(class_name)
        if name is None:
            name = self._names[class_name] = class_name.encode("utf-8", "surrogateescape")
        return name

    def encode_object(self, value: PhpObject, slot: int) -> int:
        if self._seen(id(value), value, slot, b"r"):
            return slot
        return self._write_object(value, slot, self._depth + 1)

    def _write_object(self, value: PhpObject, slot: int, depth: int) -> int:
        name = self._name(value.class_name)
        props = value.properties
        parts = self._parts
        parts.append(b'O:%d:"%b":%d:{' % (len(name), name, len(props)))
        slot = self._entries(props.items(), slot, 2, depth)
        parts.append(b"}")
        return slot

    def encode_custom(self, value: PhpCustom, slot: int) -> int:
        if self._seen(id(value), value, slot, b"r"):
            return slot
        return self._write_custom(value, slot)

    def _write_custom(self, value: PhpCustom, slot: int) -> int:
        name = self._name(value.class_name)
        data = bytes(value.data)
        self._parts.append(b'C:%d:"%b":%d:{%b}' % (len(name), name, len(data), data))
        return slot + count_slots(data)

    def encode_enum(self, value: PhpEnum, slot: int) -> int:
        # A PHP enum case is a singleton: equal cases are one object, whatever Python holds.
        if self._seen(_enum_key(value), value, slot, b"r"):
            return slot
        return self._write_enum(value, slot)

    def _write_enum(self, value: PhpEnum, slot: int) -> int:
        text = self._name(value.class_name) + b":" + self._name(value.case)
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
            return self._write_object(inner, slot, self._depth + 1)
        if kind is PhpCustom:
            return self._write_custom(inner, slot)
        if kind is PhpEnum:
            return self._write_enum(inner, slot)
        return self._value(inner, slot)


def _check_collisions(value: dict[PhpValue, PhpValue]) -> None:
    """Raise if two keys of `value` are one key to PHP (12 and "12", "é" and b"\xc3\xa9")."""
    seen: set[int | bytes] = set()
    for key in value:
        php_key: int | bytes
        if isinstance(key, int):
            php_key = int(key)
        else:
            raw = key.encode() if isinstance(key, str) else bytes(key)
            php_key = raw
            if _CANONICAL_INT.fullmatch(raw.decode("latin-1")):
                number = int(raw)
                if INT64_MIN <= number <= INT64_MAX:
                    php_key = number
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
    if type(value) is str:
        return _str_token(value)
    if type(value) is int:
        return LIST_KEYS[value] if 0 <= value < N_LIST_KEYS else _int_token(value)
    if value is None:
        return b"N;"
    if type(value) is bool:
        return b"b:1;" if value else b"b:0;"
    if type(value) is float:
        return _float_token(value)
    if type(value) is bytes:
        return _bytes_token(value)
    return None


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
        raise _overflow(value)
    return b"i:%d;" % value


def _float_token(value: float) -> bytes:
    text = repr(value)
    # PHP writes Python's repr unless it has an exponent, is inf or nan, or ends in ".0"
    # (which PHP leaves off); format_float knows those cases.
    if "e" in text or "n" in text or text[-1] == "0":
        return b"d:" + format_float(value) + b";"
    return b"d:%b;" % text.encode()


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
