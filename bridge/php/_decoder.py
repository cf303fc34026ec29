"""`PhpDecoder` and `loads`: PHP serialize() bytes to Python values.

The decoder walks one bytes buffer by index, with one `decode_<tag>` method per tag byte
(`token_decoders`). Where the C accelerator is built, `decode` asks it first and runs this
code only for what it leaves (see `_accel`), so this code is written to be read, and to
be the reference the accelerator is tested against.

Reading only decides *whether* a token is valid; `diagnose` then reads it again, slowly,
to say where and why, so that every path reports a malformed token the same way.

PHP numbers every value from 1 (``R:`` and keys excluded, ``r:`` included) so that
``r:<slot>`` and ``R:<slot>`` can point back. ``R:`` makes the earlier value a shared
`PhpReference`, which must be known when that value is placed, so input that contains
``R:`` is read twice: the first pass only collects the slots ``R:`` points to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeAlias

from bridge.exceptions import PhpDecodeError, PhpLimitError, PhpTruncatedError
from bridge.php import _accel
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
    parse_float,
)

#: Nesting depth accepted by default (PHP's own `unserialize_max_depth` is 4096).
DEFAULT_MAX_DEPTH = 512
#: Largest string byte length or array/object entry count accepted by default.
DEFAULT_MAX_LENGTH = 1 << 30
#: How deep ``C:`` data inside ``C:`` data is still read to count PHP's slots.
MAX_CUSTOM_NESTING = 8

#: Called with each decoded PhpObject, PhpCustom and PhpEnum; its result replaces the value.
ObjectHook: TypeAlias = Callable[[PhpValue], PhpValue]
_Decoded: TypeAlias = tuple[PhpValue, int]

# PHP's zend_is_valid_class_name, and non-empty.
_CLASS_NAME = re.compile(rb"[A-Za-z0-9_\\\x80-\xff]+")


class _HookFailed(Exception):
    """Carries an exception out of object_hook past the decoder's own error handling."""

    def __init__(self, original: Exception) -> None:
        super().__init__()
        self.original = original


class PhpDecoder:
    """Reads one PHP serialize() value from bytes.

    Args:
        object_hook: Called with each PhpObject, PhpCustom and PhpEnum once complete; its
            return value takes the object's place (and that of its ``r:`` back-references).
        max_depth: Deepest nesting of arrays and objects accepted.
        max_length: Largest string byte length, or array/object entry count, accepted.
        allow_trailing: Accept bytes after the value, as PHP 8.2 silently does. By default
            they are an error: PHP 8.3+ warns about them, and Laravel fails on warnings.
    """

    __slots__ = (
        "_counts_slots",
        "_data",
        "_found",
        "_hook",
        "_known",
        "_nesting",
        "_obj_slots",
        "_refs",
        "_slots",
        "_targets",
        "allow_trailing",
        "max_depth",
        "max_length",
    )

    def __init__(
        self,
        *,
        object_hook: ObjectHook | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_length: int = DEFAULT_MAX_LENGTH,
        allow_trailing: bool = False,
    ) -> None:
        self._hook = object_hook
        self.max_depth = max_depth
        self.max_length = max_length
        self.allow_trailing = allow_trailing
        self._data = b""
        self._nesting = 0
        self._counts_slots = True
        self._reset()

    def _reset(self) -> None:
        self._slots: list[PhpValue] = [None]  # slot numbers start at 1
        self._obj_slots: set[int] = set()
        self._targets: set[int] | None = None
        self._found: set[int] | None = None
        self._refs: dict[int, PhpReference] = {}
        # Real payloads repeat a few tokens thousands of times, so each distinct head
        # (s:5:" a:3:{) and int (i:42;) is checked once per call and then known by its
        # bytes: token -> the length, count or value it carries.
        self._known: dict[bytes, int] = {}

    def decode(self, data: bytes | bytearray | memoryview | str) -> PhpValue:
        """Decode one complete value.

        Raises:
            PhpDecodeError: The data is malformed (`PhpTruncatedError` if it ends early,
                `PhpLimitError` if it exceeds `max_depth` or `max_length`).
        """
        raw = _as_bytes(data)
        if self._hook is None:
            value = _decode_in_c(raw, self.max_depth, self.max_length, self.allow_trailing)
            if value is not NotImplemented:
                return value
        return self._decode_here(raw)

    def _decode_here(self, data: bytes) -> PhpValue:
        """Decode with this Python code (all of what the C fast path leaves)."""
        self._data = data
        # Slot numbers only matter to r: and R:; without them C: data need not be counted.
        self._counts_slots = b"r:" in data or b"R:" in data
        hook = self._hook
        try:
            if b"R:" in data:
                # First pass: find the slots R: points to, without running the hook twice.
                self._hook = None
                found: set[int] = set()
                self._found = found
                value = self._run()
                self._hook = hook
                if not found and hook is None:
                    return value
                self._reset()
                self._targets = found
            return self._run()
        except _HookFailed as exc:
            raise exc.original from None
        finally:
            self._hook = hook
            self._data = b""
            self._reset()

    def _run(self) -> PhpValue:
        data = self._data
        self._slots = [None]
        self._obj_slots = set()
        self._refs = {}
        if not data:
            raise PhpTruncatedError("no data", offset=0, expected="a value")
        decoder = token_decoders.get(data[0])
        if decoder is None:
            raise diagnose(data, 0)
        try:
            value, pos = decoder(self, 0, 0)
        except RecursionError:
            raise PhpLimitError(
                "nesting is too deep for the Python stack; lower max_depth", offset=0
            ) from None
        except (PhpDecodeError, _HookFailed):
            raise
        except (ValueError, IndexError):
            # A top-level scalar has no entry loop around it to catch a delimiter that
            # index() did not find; whatever slipped through, report the token.
            raise diagnose(data, 0) from None
        if self._targets and 1 in self._targets:
            value = self._wrap(1, value)
        if pos != len(data) and not self.allow_trailing:
            raise PhpDecodeError(
                f"at byte {pos}: trailing data after a complete value",
                offset=pos,
                expected="end of data",
                found=data[pos : pos + 16],
            )
        return value

    def _wrap(self, slot: int, value: PhpValue) -> PhpReference:
        ref = self._refs.get(slot)
        if ref is None:
            ref = self._refs[slot] = PhpReference(value)
        else:  # made early, so that entries inside the value could point to it
            ref.value = value
        return ref

    def _diagnose(self, pos: int, *, key: bool = False, close: bool = False) -> PhpDecodeError:
        return diagnose(self._data, pos, key=key, close=close)

    def _head(self, pos: int) -> tuple[int, int]:
        """Read the head at pos (``s:<n>:"`` ... ``a:<n>:{``); return n and the offset after it."""
        data = self._data
        start = data.find(b":", pos + 2) + 2
        head = data[pos:start]
        size = self._known.get(head)
        if size is None:
            size = self._known[head] = read_head(data, pos, self.max_length)
        return size, start

    # -- arrays and objects --------------------------------------------------------------

    def _entries(
        self, pos: int, count: int, depth: int, in_array: bool
    ) -> tuple[list[PhpKey], list[PhpValue], int]:
        """Read `count` key/value pairs at `pos`, and the closing brace.

        Returns (keys, values, offset after the brace).
        """
        data = self._data
        targets = self._targets
        keys: list[PhpKey] = []
        values: list[PhpValue] = []
        key: PhpKey
        value: PhpValue
        try:
            for _ in range(count):
                if data[pos] == 115:  # s
                    raw, pos = self._string_at(pos)
                    key = _text(raw)
                    # An array's canonical decimal string key is an int, as PHP stores it.
                    if in_array and raw and (47 < raw[0] < 58 or raw[0] == 45):
                        number = canonical_int(raw)
                        if number is not None:
                            key = number
                else:
                    end = data.find(b";", pos + 2) + 1
                    key = self._int(data[pos:end], pos, key=True)
                    pos = end
                tag = data[pos]
                decoder = token_decoders.get(tag)
                if decoder is None:
                    raise self._diagnose(pos)
                slot = len(self._slots)
                if tag == 97:  # a
                    # Read here, not through decode_array, so that each level of arrays
                    # costs one Python frame and max_depth's nesting fits the stack.
                    size, start = self._array_head(pos, depth, nested=True)
                    sub_keys, sub_values, pos = self._entries(start, size, depth + 1, True)
                    value = _array(sub_keys, sub_values)
                else:
                    value, pos = decoder(self, pos, depth)
                # R: takes no slot, so it is never a target itself.
                if targets and slot in targets and tag != 82:
                    value = self._wrap(slot, value)
                keys.append(key)
                values.append(value)
            if data[pos] != 125:  # }
                raise self._diagnose(pos, close=True)
        except (PhpDecodeError, _HookFailed):
            raise
        except (ValueError, IndexError):
            # data[pos] past the end, or a delimiter that is missing.
            raise self._diagnose(pos) from None
        return keys, values, pos + 1

    def decode_array(self, pos: int, depth: int) -> _Decoded:
        count, start = self._array_head(pos, depth, nested=False)
        keys, values, end = self._entries(start, count, depth + 1, True)
        return _array(keys, values), end

    def _array_head(self, pos: int, depth: int, *, nested: bool) -> tuple[int, int]:
        """Check ``a:<count>:{`` at pos and give the array its slot; return count and start.

        Every entry takes at least 6 bytes (``i:0;N;``), so a count the data left cannot
        hold is refused before any entry is read. The outermost array counts what is left
        from its brace, a nested one from its count's colon: the bound only decides which
        error a short array gets, and it stays as it was so that the errors do too.
        """
        data = self._data
        count, start = self._head(pos)
        room = len(data) - start + (2 if nested else 0)
        if count * 6 > room or depth >= self.max_depth:
            raise too_many(data, pos, count, depth, self.max_depth)
        slot = len(self._slots)
        self._slots.append(None)
        if self._targets and slot in self._targets:
            self._refs[slot] = PhpReference(None)
        return count, start

    def decode_object(self, pos: int, depth: int) -> _Decoded:
        data = self._data
        name, count, brace = self._class_head(pos)
        if count * 6 > len(data) - brace or depth >= self.max_depth:
            raise too_many(data, pos, count, depth, self.max_depth)
        obj = PhpObject(name)
        slot = len(self._slots)
        self._slots.append(obj)
        self._obj_slots.add(slot)
        if self._targets and slot in self._targets:
            self._refs[slot] = PhpReference(obj)
        keys, values, end = self._entries(brace + 2, count, depth + 1, False)
        obj.properties = dict(zip(keys, values, strict=True))
        if self._hook is None:
            return obj, end
        value = self._slots[slot] = self._call_hook(obj)
        return value, end

    def decode_custom(self, pos: int, depth: int) -> _Decoded:
        data = self._data
        name, size, brace = self._class_head(pos)
        end = brace + 2 + size
        if data[end : end + 1] != b"}":
            raise self._diagnose(pos)
        value = self._finish(PhpCustom(name, data[brace + 2 : end]))
        if self._counts_slots:
            self._slots.extend([None] * self.count_slots(data[brace + 2 : end]))
        return value, end + 1

    def decode_enum(self, pos: int, depth: int) -> _Decoded:
        raw, end = self._string_at(pos)
        sep = raw.find(b":")
        if sep < 0 or not _CLASS_NAME.fullmatch(raw[:sep]):
            raise PhpDecodeError(
                f"at byte {pos}: an enum needs 'Class:Case', found {raw[:64]!r}",
                offset=pos,
                expected="Class:Case",
                found=raw[:64],
            )
        name = raw[:sep].decode("utf-8", "surrogateescape")
        case = raw[sep + 1 :].decode("utf-8", "surrogateescape")
        return self._finish(PhpEnum(name, case)), end

    def _finish(self, value: PhpValue) -> PhpValue:
        """Run the hook on a ``C:`` or ``E:`` value and give it an object's slot."""
        if self._hook is not None:
            value = self._call_hook(value)
        self._obj_slots.add(len(self._slots))
        self._slots.append(value)
        return value

    def _call_hook(self, value: PhpValue) -> PhpValue:
        assert self._hook is not None
        try:
            return self._hook(value)
        except Exception as exc:
            raise _HookFailed(exc) from exc

    def _class_head(self, pos: int) -> tuple[str, int, int]:
        """Read ``O:<n>:"Class":<count>:{`` (or ``C:``); return name, count and the ``:{``."""
        data = self._data
        size, start = self._head(pos)
        end = start + size
        if data[end : end + 2] != b'":':
            raise self._diagnose(pos)
        raw_name = data[start:end]
        if not _CLASS_NAME.fullmatch(raw_name):
            raise PhpDecodeError(
                f"at byte {start}: invalid class name {raw_name[:64]!r}",
                offset=start,
                expected="a class name",
                found=raw_name[:64],
            )
        start = end + 2
        brace = data.find(b":{", start, start + 21)
        raw = data[start:brace]
        if brace < 0 or not raw.isdigit():
            raise self._diagnose(pos)
        count = int(raw)
        if count > self.max_length:
            raise PhpLimitError(offset=start, expected=f"<= {self.max_length}", found=raw)
        return raw_name.decode("utf-8", "surrogateescape"), count, brace

    # -- back-references -----------------------------------------------------------------

    def _slot_number(self, pos: int) -> tuple[int, int]:
        data = self._data
        end = data.find(b";", pos + 2, pos + 24)
        raw = data[pos + 2 : end]
        if data[pos + 1 : pos + 2] != b":" or end < 0 or not raw.isdigit():
            raise self._diagnose(pos)
        slot = int(raw)
        if not 0 < slot < len(self._slots):
            raise PhpDecodeError(
                f"at byte {pos}: slot {slot} does not exist (only {len(self._slots) - 1} so far)",
                offset=pos,
                expected=f"a slot from 1 to {len(self._slots) - 1}",
                found=data[pos : end + 1],
            )
        return slot, end + 1

    def decode_backref(self, pos: int, depth: int) -> _Decoded:
        slot, end = self._slot_number(pos)
        if slot not in self._obj_slots:
            raise PhpDecodeError(
                f"at byte {pos}: r:{slot} points to a value that is not an object",
                offset=pos,
                expected="r: to an object slot",
                found=f"r:{slot};",
            )
        value = self._slots[slot]
        self._obj_slots.add(len(self._slots))
        self._slots.append(value)
        return value, end

    def decode_reference(self, pos: int, depth: int) -> _Decoded:
        slot, end = self._slot_number(pos)
        if self._found is None:  # second pass: every target was wrapped when placed
            return self._refs[slot], end
        self._found.add(slot)
        return None, end

    def count_slots(self, data: bytes) -> int:
        """How many slots PHP numbers inside the data of a ``C:`` object.

        A `Serializable` class's serialize() usually calls serialize() itself, and that
        nested call shares the outer numbering (as unserialize() does on the way back). So
        when the data is one complete serialized value, its values take slots; when it is
        any other format, none are assumed. ``C:`` nested deeper than `MAX_CUSTOM_NESTING`
        inside ``C:`` data counts none, so that counting stays linear in the data.
        """
        if self._nesting >= MAX_CUSTOM_NESTING:
            return 0
        if not data or data[:1] not in b"NbidsSaOCErR":
            return 0
        counter = PhpDecoder()
        counter._data = data
        counter._nesting = self._nesting + 1
        counter._found = set()  # R: only collects: a count needs no PhpReference boxes
        try:
            counter._run()
        except PhpDecodeError:
            return 0
        return len(counter._slots) - 1

    # -- scalars -------------------------------------------------------------------------

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
        value = self._int(self._data[pos:end], pos, key=False)
        self._slots.append(value)
        return value, end

    def decode_float(self, pos: int, depth: int) -> _Decoded:
        data = self._data
        end = data.find(b";", pos + 2)
        value = parse_float(data[pos + 2 : end]) if end > 0 and data[pos + 1] == 58 else None
        if value is None:
            raise self._diagnose(pos)
        self._slots.append(value)
        return value, end + 1

    def decode_string(self, pos: int, depth: int) -> _Decoded:
        raw, end = self._string_at(pos)
        value = _text(raw)
        self._slots.append(value)
        return value, end

    def decode_escaped_string(self, pos: int, depth: int) -> _Decoded:
        raw, end = _unescape(self._data, pos, read_head(self._data, pos, self.max_length))
        value = _text(raw)
        self._slots.append(value)
        return value, end

    def _int(self, token: bytes, pos: int, *, key: bool) -> int:
        """The value of the token ``i:<digits>;`` at pos, which must fit PHP's int."""
        known = self._known.get(token)
        if known is not None:
            return known
        raw = token[2:-1]
        digits = raw[1:] if raw[:1] in (b"+", b"-") else raw
        if token[:2] != b"i:" or token[-1:] != b";" or not digits.isdigit():
            raise self._diagnose(pos, key=key)
        value = int(raw) if len(digits) < 20 else INT64_MAX + 1
        if not INT64_MIN <= value <= INT64_MAX:
            raise self._diagnose(pos, key=key)
        self._known[token] = value
        return value

    def _string_at(self, pos: int) -> tuple[bytes, int]:
        """Read ``X:<n>:"<n bytes>";`` at pos; return the bytes and the offset after it."""
        data = self._data
        size, start = self._head(pos)
        end = start + size
        if data[end : end + 2] != b'";':
            raise self._diagnose(pos)
        return data[start:end], end + 2


_Method: TypeAlias = Callable[[PhpDecoder, int, int], _Decoded]

#: The `decode_<tag>` method for each tag byte.
token_decoders: dict[int, _Method] = {
    ord("N"): PhpDecoder.decode_null,
    ord("b"): PhpDecoder.decode_bool,
    ord("i"): PhpDecoder.decode_int,
    ord("d"): PhpDecoder.decode_float,
    ord("s"): PhpDecoder.decode_string,
    ord("S"): PhpDecoder.decode_escaped_string,
    ord("a"): PhpDecoder.decode_array,
    ord("O"): PhpDecoder.decode_object,
    ord("C"): PhpDecoder.decode_custom,
    ord("E"): PhpDecoder.decode_enum,
    ord("r"): PhpDecoder.decode_backref,
    ord("R"): PhpDecoder.decode_reference,
}


def count_slots(data: bytes) -> int:
    """How many slots PHP numbers inside the data of a ``C:`` object (see `count_slots`)."""
    return PhpDecoder().count_slots(data)


def loads(
    data: bytes | bytearray | memoryview | str,
    *,
    object_hook: ObjectHook | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_length: int = DEFAULT_MAX_LENGTH,
    allow_trailing: bool = False,
) -> PhpValue:
    """Decode PHP serialize() data (bytes, or text whose UTF-8 is those bytes).

    Never imports or instantiates Python classes and never runs code: objects come back as
    `PhpObject`, `PhpCustom` and `PhpEnum` unless `object_hook` maps them.

    Args:
        data: One complete serialized value.
        object_hook: Called with each decoded object or enum case; its result replaces it.
        max_depth: Deepest array/object nesting accepted.
        max_length: Largest string length or entry count accepted.
        allow_trailing: Ignore bytes after the value instead of raising.

    Raises:
        PhpDecodeError: The data is malformed; `PhpTruncatedError` when it ends early and
            `PhpLimitError` when it exceeds a limit. Each carries the byte `offset`.
    """
    raw = _as_bytes(data)
    if object_hook is None:
        # Before any decoder object is built: that would be most of a small command's time.
        value = _decode_in_c(raw, max_depth, max_length, allow_trailing)
        if value is not NotImplemented:
            return value
    return PhpDecoder(
        object_hook=object_hook,
        max_depth=max_depth,
        max_length=max_length,
        allow_trailing=allow_trailing,
    )._decode_here(raw)


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        try:
            return data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            # A lone surrogate outside surrogateescape's range (JSON's "\ud800") stands
            # for no byte at all: such text cannot be PHP data.
            raise PhpDecodeError(
                f"at character {exc.start}: text with a lone surrogate has no UTF-8 bytes",
                offset=exc.start,
                expected="text that encodes to UTF-8",
                found=data[exc.start : exc.start + 16],
            ) from None
    # Through memoryview, so that an int is refused rather than read as a size to allocate.
    return data if type(data) is bytes else bytes(memoryview(data))


def _decode_in_c(raw: bytes, max_depth: int, max_length: int, allow_trailing: bool) -> PhpValue:
    """The C fast path's value, or NotImplemented: not built, or the data is left to Python."""
    c_decode = _accel.c_decode
    if c_decode is None:
        return NotImplemented
    return c_decode(raw, max_depth, max_length, allow_trailing, PhpObject)


def _array(keys: list[PhpKey], values: list[PhpValue]) -> list[PhpValue] | dict[PhpKey, PhpValue]:
    """A PHP array as Python holds it: a list when its keys are 0..n-1 in order."""
    if keys == list(range(len(keys))):
        return values
    return dict(zip(keys, values, strict=True))


def _text(raw: bytes) -> str | bytes:
    """A PHP string as Python holds it: `str` when it is valid UTF-8, else the bytes."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def _unescape(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
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


# -- error messages ----------------------------------------------------------------------

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
