"""`PhpDecoder` and `loads`: PHP serialize() bytes to Python values.

The decoder walks one bytes buffer by index: `bytes.find` for delimiters, slices, and
per-call caches that map the exact bytes of a token head (``s:5:"``, ``a:3:{``), an int
token (``i:42;``) or a key token (``s:3:"sku";``) to what it means, so a token PHP writes
thousands of times is validated once. The common tags (``s i a d N b O``) are read
inline in the loop over an array's or object's entries; every tag is also reachable through
`token_decoders`, the table of `decode_<tag>` methods keyed by the tag byte.

Where the C accelerator is built, `decode` asks it first and runs this code for what it
leaves (see `_accel`). Fast paths only decide *whether* a token is valid;
`_diagnose.diagnose` then says where and why.

PHP numbers every value from 1 (``R:`` and keys excluded, ``r:`` included) so that
``r:<slot>`` and ``R:<slot>`` can point back. ``R:`` makes the earlier value a shared
`PhpReference`, which must be known when that value is placed, so input that contains
``R:`` is read twice: the first pass only collects the slots ``R:`` points to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from bridge.exceptions import PhpDecodeError, PhpLimitError, PhpTruncatedError
from bridge.php import _accel, _diagnose
from bridge.php._decode_objects import ObjectDecoding, _Decoded, _Entries, _HookFailed
from bridge.php._decode_scalars import ScalarDecoding
from bridge.php._floats import FLOAT_CHARS
from bridge.php._tokens import (
    LIST_KEY_LENS,
    LIST_KEYS,
    N_LIST_KEYS,
)
from bridge.php._types import PhpKey, PhpObject, PhpReference, PhpValue

#: Nesting depth accepted by default (PHP's own `unserialize_max_depth` is 4096).
DEFAULT_MAX_DEPTH = 512
#: Largest string byte length or array/object entry count accepted by default.
DEFAULT_MAX_LENGTH = 1 << 30

#: Cached token entries kept across decode() calls before the caches are dropped.
_CACHE_LIMIT = 4_096

#: Called with each decoded PhpObject, PhpCustom and PhpEnum; its result replaces the value.
ObjectHook: TypeAlias = Callable[[PhpValue], PhpValue]
# The key tokens, keys and token lengths of an array or object, found by its first token:
# records of one kind repeat their keys, and then each key costs one startswith().
_Shape: TypeAlias = tuple[list[bytes], list[PhpKey], list[int]]


class PhpDecoder(ScalarDecoding, ObjectDecoding):
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
        "_class_heads",
        "_counts_slots",
        "_data",
        "_floats",
        "_found",
        "_heads",
        "_hook",
        "_hot",
        "_ints",
        "_keys",
        "_names",
        "_nesting",
        "_obj_slots",
        "_prop_shapes",
        "_props",
        "_refs",
        "_shapes",
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
        self._clear_caches()

    def _cached_entries(self) -> int:
        return (
            len(self._heads)
            + len(self._ints)
            + len(self._floats)
            + len(self._keys)
            + len(self._props)
            + len(self._names)
            + len(self._class_heads)
            + len(self._shapes)
            + len(self._prop_shapes)
        )

    def _reset(self) -> None:
        self._slots: list[PhpValue] = [None]  # slot numbers start at 1
        self._obj_slots: set[int] = set()
        self._targets: set[int] | None = None
        self._found: set[int] | None = None
        self._refs: dict[int, PhpReference] = {}

    def _clear_caches(self) -> None:
        # Token bytes -> meaning. Each entry depends only on the token's bytes and this
        # decoder's limits, so a decoder kept for many decode() calls (a worker decoding
        # one job after another) keeps them; they are dropped when they grow too big.
        self._heads: dict[bytes, int] = {}
        self._ints: dict[bytes, int] = {}
        self._floats: dict[bytes, float] = {}
        self._keys: dict[bytes, PhpKey] = {}
        self._props: dict[bytes, PhpKey] = {}
        self._shapes: dict[bytes, _Shape] = {}
        self._prop_shapes: dict[bytes, _Shape] = {}
        self._names: dict[bytes, str] = {}
        self._class_heads: dict[bytes, tuple[str, int]] = {}

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
        if self._cached_entries() > _CACHE_LIMIT:
            self._clear_caches()
        self._data = data
        # Slot numbers only matter to r: and R:; without them C: data need not be counted.
        self._counts_slots = b"r:" in self._data or b"R:" in self._data
        hook = self._hook
        try:
            if b"R:" in self._data:
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
        self._slots = slots = [None]
        self._obj_slots = set()
        self._refs = {}
        # What the hot loop needs, bound once per pass rather than once per array.
        self._hot = (
            data,
            data.find,
            data.startswith,
            self._heads,
            self._ints,
            slots,
            slots.append,
            len(data),
        )
        if not data:
            raise PhpTruncatedError("no data", offset=0, expected="a value")
        decoder = token_decoders.get(data[0])
        if decoder is None:
            raise _diagnose.diagnose(data, 0)
        try:
            value, pos = decoder(self, 0, 0)
        except RecursionError:
            raise PhpLimitError(
                "nesting is too deep for the Python stack; lower max_depth", offset=0
            ) from None
        except (PhpDecodeError, _HookFailed):
            raise
        except (ValueError, IndexError):
            # The table's methods for a top-level scalar have no loop around them to catch
            # a delimiter index() did not find; whatever slipped through, report the token.
            raise _diagnose.diagnose(data, 0) from None
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

    def _slot_count(self, data: bytes, nesting: int) -> int:
        """Decode `data` (C: data `nesting` levels deep) and return how many slots it took."""
        self._data = data
        self._nesting = nesting
        self._counts_slots = True
        self._found = set()  # R: only collects: a count needs no PhpReference boxes
        self._run()
        return len(self._slots) - 1

    def _wrap(self, slot: int, value: PhpValue) -> PhpReference:
        ref = self._refs.get(slot)
        if ref is None:
            ref = self._refs[slot] = PhpReference(value)
        else:  # made early, so that entries inside the value could point to it
            ref.value = value
        return ref

    def _diagnose(self, pos: int, *, key: bool = False, close: bool = False) -> PhpDecodeError:
        return _diagnose.diagnose(self._data, pos, key=key, close=close)

    # -- the hot loop --------------------------------------------------------------------

    def _entries(self, pos: int, count: int, depth: int, in_array: bool) -> _Entries:
        """Read `count` key/value pairs at `pos`, and the closing brace.

        Returns (keys, values, end). For an array whose keys are 0..count-1 in order, keys
        is None: the values are the list, and no key list is built.
        """
        data, find, startswith, heads, ints, slots, push, size = self._hot
        key_cache = self._keys if in_array else self._props
        shapes = self._shapes if in_array else self._prop_shapes
        targets = self._targets
        # keys stays None while the keys are implied: 0, 1, 2... (seq) or by a known shape.
        keys: list[PhpKey] | None = None if in_array else []
        tokens: list[bytes] | None = None
        shape: _Shape | None = None
        shape_tokens: list[bytes] = []
        shape_keys: list[PhpKey] = []
        shape_lens: list[int] = []
        n_shape = 0
        vals: list[PhpValue] = []
        add = vals.append
        key: PhpKey | None
        value: PhpValue
        seq = in_array
        slot = 0
        try:
            for idx in range(count):
                if shape is not None and idx < n_shape and startswith(shape_tokens[idx], pos):
                    pos += shape_lens[idx]
                elif seq and idx < N_LIST_KEYS and startswith(LIST_KEYS[idx], pos):
                    pos += LIST_KEY_LENS[idx]
                else:
                    if shape is not None:  # this array parts from the shape: spell keys out
                        keys = shape_keys[:idx]
                        tokens = shape_tokens[:idx]
                        shape = None
                    if data[pos] == 115:  # s
                        colon = find(b":", pos + 2)
                        n = heads.get(data[pos : colon + 2])
                        if n is None:
                            n = self._head(pos)
                        end = colon + 4 + n
                        token = data[pos:end]
                        key = key_cache.get(token)
                        if key is None:
                            key = self._string_key(token, pos, n, in_array)
                    else:
                        end = find(b";", pos + 2) + 1
                        token = data[pos:end]
                        key = ints.get(token)
                        if key is None:
                            key = self._int_token(token, pos, True)
                    pos = end
                    if idx == 0:
                        if not (seq and key == 0):
                            seq = False
                            shape = shapes.get(token)
                            if shape is None:
                                keys = [key]
                                tokens = [token]
                            else:
                                shape_tokens, shape_keys, shape_lens = shape
                                n_shape = len(shape_tokens)
                                keys = None
                    elif keys is not None:
                        keys.append(key)
                        if tokens is not None:
                            tokens.append(token)
                    elif key != idx:
                        seq = False
                        keys = list(range(idx))
                        keys.append(key)
                if targets:
                    slot = len(slots)
                c = data[pos]
                if c == 115:  # s
                    colon = find(b":", pos + 2)
                    n = heads.get(data[pos : colon + 2])
                    if n is None:
                        n = self._head(pos)
                    end = colon + 2 + n
                    if data[end : end + 2] != b'";':
                        raise self._diagnose(pos)
                    raw = data[colon + 2 : end]
                    try:
                        value = raw.decode()
                    except UnicodeDecodeError:
                        value = raw
                    pos = end + 2
                    push(value)
                elif c == 105:  # i
                    end = find(b";", pos + 2) + 1
                    token = data[pos:end]
                    value = ints.get(token)
                    if value is None:
                        value = self._int_token(token, pos, False)
                    pos = end
                    push(value)
                elif c == 97 and not targets and startswith(b"a:0:{}", pos):
                    # Empty arrays fill every Laravel command (middleware, chained): no
                    # entries to read, so no call for them. At max_depth the general
                    # branch below reports the depth.
                    if depth >= self.max_depth:
                        raise _diagnose.too_many(data, pos, 0, depth, self.max_depth)
                    push(None)
                    value = []
                    pos += 6
                elif c == 97:  # a
                    colon = find(b":", pos + 2)
                    n = heads.get(data[pos : colon + 2])
                    if n is None:
                        n = self._head(pos)
                    if n * 6 > size - colon or depth >= self.max_depth:
                        raise _diagnose.too_many(data, pos, n, depth, self.max_depth)
                    if targets and len(slots) in targets:
                        self._refs[len(slots)] = PhpReference(None)
                    push(None)
                    sub_keys, value, pos = self._entries(colon + 2, n, depth + 1, True)
                    if sub_keys is not None:
                        value = dict(zip(sub_keys, value, strict=True))
                elif c == 100:  # d
                    end = find(b";", pos + 2)
                    raw = data[pos + 2 : end]
                    if data[pos + 1] == 58 and end > 0 and not raw.translate(None, FLOAT_CHARS):
                        # Over these bytes float() reads exactly PHP's grammar; floats rarely
                        # repeat, so a cache would mostly miss.
                        value = float(raw)
                    else:  # INF, NAN, -INF, or an error
                        value = self._float_token(data[pos : end + 1], pos)
                    pos = end + 1
                    push(value)
                elif c == 78 and data[pos + 1] == 59:  # N;
                    value = None
                    pos += 2
                    push(value)
                elif c == 98:  # b
                    value, pos = self.decode_bool(pos, depth)
                elif c == 79:  # O
                    value, pos = self.decode_object(pos, depth)
                else:
                    decoder = token_decoders.get(c)
                    if decoder is None:
                        raise self._diagnose(pos)
                    value, pos = decoder(self, pos, depth)
                    if c == 82:  # R: takes no slot, so it is never a target itself
                        add(value)
                        continue
                if targets and slot in targets:
                    value = self._wrap(slot, value)
                add(value)
            if data[pos] != 125:  # }
                raise self._diagnose(pos, close=True)
            if shape is not None:
                keys = shape_keys if count == n_shape else shape_keys[:count]
            elif tokens is not None and keys is not None:
                shapes[tokens[0]] = (tokens, keys, [len(t) for t in tokens])
        except (PhpDecodeError, _HookFailed):
            raise
        except (ValueError, IndexError):
            # data[pos] past the end, or a delimiter that is missing.
            raise self._diagnose(pos) from None
        return keys, vals, pos + 1

    def decode_array(self, pos: int, depth: int) -> _Decoded:
        data = self._data
        count = _diagnose.read_head(data, pos, self.max_length)
        start = data.index(b"{", pos) + 1
        if count * 6 > len(data) - start or depth >= self.max_depth:
            raise _diagnose.too_many(data, pos, count, depth, self.max_depth)
        slot = len(self._slots)
        self._slots.append(None)
        if self._targets and slot in self._targets:
            self._refs[slot] = PhpReference(None)
        keys, vals, end = self._entries(start, count, depth + 1, True)
        return (vals if keys is None else dict(zip(keys, vals, strict=True))), end


_Method: TypeAlias = Callable[[PhpDecoder, int, int], _Decoded]


def count_slots(data: bytes) -> int:
    """How many slots PHP numbers inside the data of a ``C:`` object (see `ObjectDecoding`)."""
    return PhpDecoder().count_slots(data)


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
