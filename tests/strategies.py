"""Hypothesis strategies for PHP values (the codec's; other modules keep their own).

`php_values()` builds what `bridge.php.dumps` accepts and PHP reproduces byte for byte after
`unserialize()` + `serialize()`: nested arrays with int and string keys, UTF-8 and binary
strings, every kind of float, int64 bounds, objects with public, protected and private
properties, enum cases and ``C:`` objects of classes declared in
php_fixtures/serialize_classes.php, and shared object instances and `PhpReference` boxes.

Left out on purpose, because PHP itself changes them on a round trip: int property keys on
plain objects (PHP turns them into strings), ``C:`` objects of undeclared classes, and
duplicate bare property names with different visibilities on one object.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from bridge.php import PhpCustom, PhpEnum, PhpObject, PhpReference, dumps

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Size knobs: enough to nest four levels and share a few instances, small enough that a
# batch of examples stays well under a second of PHP time.
MAX_LEAVES = 24
# A shared instance is repeated wherever it stands: kept small so examples stay readable.
MAX_SHARED_LEAVES = 4
MAX_ENTRIES = 5

#: Enum cases PHP knows (serialize_classes.php declares them).
ENUM_CASES = [
    PhpEnum("Bridge\\Fixtures\\Suit", "Hearts"),
    PhpEnum("Bridge\\Fixtures\\Suit", "Spades"),
    PhpEnum("Bridge\\Fixtures\\Level", "Low"),
    PhpEnum("Bridge\\Fixtures\\Level", "High"),
    PhpEnum("Bridge\\Fixtures\\Mood", "Happy"),
    PhpEnum("Bridge\\Fixtures\\Mood", "Grumpy"),
]
#: Classes PHP does not know come back as __PHP_Incomplete_Class and serialize unchanged.
CLASS_NAMES = ["stdClass", "App\\Jobs\\Unknown", "Acme\\Ünïcode\\Thing", "X"]

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e17, 1e-4, 1e-5, 5e-324, 2.2250738585072014e-308]),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda f: round(f, 2)),
)
binary = st.binary(max_size=16)
text = st.text(max_size=16)
scalars = st.one_of(st.none(), st.booleans(), INT64, floats, text, binary)
array_keys = st.one_of(INT64, text, st.sampled_from(["0", "-1", "12", "007", "1.5", " 3"]))
names = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True)


@st.composite
def php_objects(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> PhpObject:
    """An object whose properties use all three visibilities, with distinct bare names."""
    class_name = draw(st.sampled_from(CLASS_NAMES))
    bare = draw(st.lists(names, max_size=MAX_ENTRIES, unique=True))
    props: dict[str | int | bytes, Any] = {}
    for name in bare:
        visibility = draw(st.sampled_from(["public", "protected", "private"]))
        if visibility == "public":
            key = name
        elif visibility == "protected":
            key = f"\0*\0{name}"
        else:
            owner = draw(st.sampled_from([class_name, "Some\\Parent"]))
            key = f"\0{owner}\0{name}"
        props[key] = draw(children)
    return PhpObject(class_name, props)


# Raw keeps its C: data as is (no nested serialize(), so no slots inside): data that does
# not start with a tag byte. Legacy serialize()s a value: its values share PHP's numbering.
enums = st.sampled_from(ENUM_CASES)
customs = st.one_of(
    st.builds(
        PhpCustom, st.just("Bridge\\Fixtures\\Raw"), st.binary(max_size=24).map(b"#".__add__)
    ),
    st.builds(
        PhpCustom,
        st.just("Bridge\\Fixtures\\Legacy"),
        st.recursive(scalars, lambda c: st.lists(c, max_size=3), max_leaves=5).map(dumps),
    ),
)


def _php_key(entry: tuple[Any, Any]) -> Any:
    """The key PHP would store (so that no two Python keys become one PHP key)."""
    key = entry[0]
    if isinstance(key, str) and re.fullmatch(r"-?[1-9][0-9]{0,18}|0", key):
        number = int(key)
        if -(2**63) <= number < 2**63:
            return number
    return key


def _tree(leaves: st.SearchStrategy[Any], max_leaves: int = MAX_LEAVES) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=MAX_ENTRIES),
            st.lists(st.tuples(array_keys, children), max_size=MAX_ENTRIES, unique_by=_php_key).map(
                dict
            ),
            php_objects(children),
        ),
        max_leaves=max_leaves,
    )


class _Shared:
    """A leaf standing for the i-th shared instance, swapped in after drawing."""

    def __init__(self, index: int) -> None:
        self.index = index


def _share(value: Any, pool: list[Any]) -> Any:
    if isinstance(value, _Shared):
        return pool[value.index % len(pool)] if pool else None
    if isinstance(value, list):
        return [_share(v, pool) for v in value]
    if isinstance(value, dict):
        return {k: _share(v, pool) for k, v in value.items()}
    if isinstance(value, PhpObject):
        value.properties = {k: _share(v, pool) for k, v in value.properties.items()}
    return value


_POOL = st.lists(
    st.one_of(
        php_objects(_tree(scalars, MAX_SHARED_LEAVES)),
        st.builds(PhpReference, _tree(st.one_of(scalars, enums), MAX_SHARED_LEAVES)),
    ),
    max_size=3,
)
_TREE = _tree(st.one_of(scalars, enums, customs, st.integers(0, 2).map(_Shared)))


@st.composite
def php_values(draw: st.DrawFn) -> Any:
    """A PHP value in which some object instances and reference boxes appear several times."""
    pool = draw(_POOL)
    return _share(draw(_TREE), pool)
