"""The decoder's object tags: ``O:`` objects, ``C:`` custom data, ``E:`` enum cases, and
the back-references ``r:`` (same object) and ``R:`` (PHP reference).

`ObjectDecoding` is the part of `PhpDecoder` that deals in identity: these tags create the
values that later tokens can point back to, and the object hook runs on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from bridge.exceptions import PhpDecodeError, PhpLimitError
from bridge.php import _diagnose
from bridge.php._tokens import valid_class_name
from bridge.php._types import PhpCustom, PhpEnum, PhpKey, PhpObject, PhpReference, PhpValue

#: How deep ``C:`` data inside ``C:`` data is still read to count PHP's slots.
MAX_CUSTOM_NESTING = 8

_Decoded: TypeAlias = tuple[PhpValue, int]
_Entries: TypeAlias = tuple[list[PhpKey] | None, list[PhpValue], int]


# How far past an object's tag the cached-head lookup looks for the head's ":{".
_HEAD_SCAN = 320


class _HookFailed(Exception):
    """Carries an exception out of object_hook past the decoder's own error handling."""

    def __init__(self, original: Exception) -> None:
        super().__init__()
        self.original = original


class ObjectDecoding:
    """The ``decode_<tag>`` methods for ``O C E r R`` (mixed into `PhpDecoder`)."""

    __slots__ = ()

    # Provided by PhpDecoder.
    _data: bytes
    _hook: Callable[[PhpValue], PhpValue] | None
    _slots: list[PhpValue]
    _obj_slots: set[int]
    _targets: set[int] | None
    _found: set[int] | None
    _refs: dict[int, PhpReference]
    _names: dict[bytes, str]
    _class_heads: dict[bytes, tuple[str, int]]
    _counts_slots: bool
    _nesting: int
    max_depth: int
    max_length: int

    def _entries(self, pos: int, count: int, depth: int, in_array: bool) -> _Entries:
        raise NotImplementedError

    def _diagnose(self, pos: int, *, key: bool = False, close: bool = False) -> PhpDecodeError:
        raise NotImplementedError

    def _string_at(self, pos: int) -> tuple[bytes, int]:
        raise NotImplementedError

    def _slot_count(self, data: bytes, nesting: int) -> int:
        raise NotImplementedError

    def _class_head(self, pos: int) -> tuple[str, int, int]:
        """Read ``O:<n>:"Class":<count>:{`` (or ``C:``); return name, count and the ``:{``."""
        data = self._data
        # A head seen before is known by its bytes: a class name holds no ":{", so the
        # first one after `pos` ends the head whenever those bytes were valid.
        brace = data.find(b":{", pos, pos + _HEAD_SCAN)
        if brace > 0:
            known = self._class_heads.get(data[pos : brace + 2])
            if known is not None:
                return known[0], known[1], brace
        name, start = self._class_name(pos)
        brace = data.find(b":{", start, start + 21)
        raw = data[start:brace]
        if brace < 0 or not raw.isdigit():
            raise self._diagnose(pos)
        count = int(raw)
        if count > self.max_length:
            raise PhpLimitError(offset=start, expected=f"<= {self.max_length}", found=raw)
        self._class_heads[data[pos : brace + 2]] = (name, count)
        return name, count, brace

    def decode_object(self, pos: int, depth: int) -> _Decoded:
        data = self._data
        name, count, brace = self._class_head(pos)
        if count * 6 > len(data) - brace or depth >= self.max_depth:
            raise _diagnose.too_many(data, pos, count, depth, self.max_depth)
        obj = PhpObject(name)
        slots = self._slots
        slot = len(slots)
        slots.append(obj)
        self._obj_slots.add(slot)
        if self._targets and slot in self._targets:
            self._refs[slot] = PhpReference(obj)
        keys, vals, end = self._entries(brace + 2, count, depth + 1, False)
        obj.properties = dict(zip(keys or (), vals, strict=True))
        if self._hook is None:
            return obj, end
        value = slots[slot] = self._call_hook(obj)
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
        if sep < 0 or not valid_class_name(raw[:sep]):
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

    def _class_name(self, pos: int) -> tuple[str, int]:
        """Read ``X:<n>:"<Class>":`` at pos; return the name and the offset after it."""
        data = self._data
        size = _diagnose.read_head(data, pos, self.max_length)
        start = data.index(b":", pos + 2) + 2
        end = start + size
        if data[end : end + 2] != b'":':
            raise self._diagnose(pos)
        raw = data[start:end]
        name = self._names.get(raw)
        if name is None:
            if not valid_class_name(raw):
                raise PhpDecodeError(
                    f"at byte {start}: invalid class name {raw[:64]!r}",
                    offset=start,
                    expected="a class name",
                    found=raw[:64],
                )
            name = self._names[raw] = raw.decode("utf-8", "surrogateescape")
        return name, end + 2

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
        try:
            return type(self)()._slot_count(data, self._nesting + 1)
        except PhpDecodeError:
            return 0
