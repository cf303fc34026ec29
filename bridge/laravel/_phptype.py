"""Declared PHP property types and how Python values are checked and converted for them.

Mapping (PHP's rules under `declare(strict_types=1)`, plus the one widening PHP applies
even there):

=================  ==============================================================
PHP type           accepted Python values
=================  ==============================================================
int                int (not bool), within signed 64 bits
float              float; int is widened to float (PHP does so even in strict mode)
string             str, or bytes
bool/true/false    bool (that exact value for `true`/`false`)
array, iterable    list, tuple (written as a list), dict (keys int or str)
mixed              anything below
object             PhpObject, Model, ModelCollection, PhpEnum, Enum, aware datetime
a date class       aware datetime (written as that class; for an interface such as
                   DateTimeInterface, the value's own PHP class or
                   Illuminate\\Support\\Carbon), or a PhpObject date
an enum class      PhpEnum of that class, or a Python Enum member (by member name)
a model class      Model; an Eloquent collection class: ModelCollection
other classes      PhpObject (subclassing is PHP's to check), or the above records
null / `?T`        None
=================  ==============================================================

No other coercion is made: PHP's weak mode would turn "5" into 5, bridge refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from bridge.exceptions import JobClassError
from bridge.laravel.values import (
    DATE_CLASSES,
    DATE_INTERFACES,
    ELOQUENT_COLLECTION,
    Model,
    ModelCollection,
    PhpDateTime,
    date_to_php,
    enum_to_php,
    is_php_date,
)
from bridge.php import INT64_MAX, INT64_MIN, PhpEnum, PhpObject

__all__ = ["Kind", "PhpType", "to_php_value"]

_BUILTINS = frozenset(
    {"int", "float", "string", "bool", "array", "mixed", "null", "object", "iterable",
     "callable", "false", "true", "self", "static", "parent", "void", "never"}
)  # fmt: skip
# Scalar builtins and the Python types each takes exactly as given (see `_exact`).
_AS_IS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float,),
    "string": (str, bytes),
    "bool": (bool,),
}
_COLLECTIONS = frozenset({ELOQUENT_COLLECTION.lower()})


class Kind:
    """What a class name in a type stands for (reflection tells; names are guessed)."""

    CLASS = "class"
    ENUM = "enum"
    DATE = "date"
    MODEL = "model"
    COLLECTION = "collection"


class _Mismatch(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PhpType:
    """A declared PHP property type such as `int`, `?string`, `int|string` or a class.

    Attributes:
        members: the union's member names (builtins lowercase, classes as written,
            without a leading backslash).
        nullable: whether null is allowed (`?T`, `T|null`, `mixed`).
        kinds: class name (lowercase) -> `Kind`; classes not listed are guessed from
            their name (known date and Eloquent collection classes), else `Kind.CLASS`.
    """

    members: tuple[str, ...]
    nullable: bool = False
    kinds: tuple[tuple[str, str], ...] = ()
    # For a union of scalar builtins only: the Python types stored as given (ints range
    # checked). Every dispatch checks its values, so the common case skips the member walk.
    _as_is: frozenset[type] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        if self.members and all(m in _AS_IS for m in self.members):
            as_is = frozenset(t for m in self.members for t in _AS_IS[m])
            object.__setattr__(self, "_as_is", as_is)

    @classmethod
    def parse(cls, text: str, *, kinds: Mapping[str, str] | None = None) -> PhpType:
        """Parse a type as PHP prints it: `?int`, `int|string|null`, `\\App\\Enums\\X`.

        Args:
            text: the type.
            kinds: class name -> `Kind` for class members (e.g. from reflection).
        """
        text = text.strip()
        nullable = text.startswith("?")
        parts = [p.strip().lstrip("\\") for p in re.split(r"[|]", text.lstrip("?")) if p.strip()]
        if not parts or any("&" in p or "(" in p for p in parts):
            raise JobClassError(f"unsupported PHP type {text!r}")
        members: list[str] = []
        for part in parts:
            lowered = part.lower()
            if lowered == "null":
                nullable = True
            elif lowered in _BUILTINS:
                members.append(lowered)
            else:
                members.append(part)
        if "mixed" in members:
            nullable = True
        given = tuple(sorted((k.lstrip("\\").lower(), v) for k, v in (kinds or {}).items()))
        return cls(members=tuple(members), nullable=nullable, kinds=given)

    def __str__(self) -> str:
        names = list(self.members)
        if self.nullable and "mixed" not in names:
            return f"?{names[0]}" if len(names) == 1 else "|".join([*names, "null"])
        return "|".join(names)

    def kind_of(self, class_name: str) -> str:
        """The `Kind` of a class member of this type."""
        lowered = class_name.lower()
        for name, kind in self.kinds:
            if name == lowered:
                return kind
        if class_name in DATE_CLASSES or class_name in DATE_INTERFACES:
            return Kind.DATE
        if lowered in _COLLECTIONS:
            return Kind.COLLECTION
        return Kind.CLASS

    def coerce(self, value: Any) -> Any:
        """Return the PHP value to store for `value`, or raise `JobClassError`."""
        if type(value) in self._as_is:
            return _check_int(value) if type(value) is int else value
        if value is None:
            if self.nullable:
                return None
            raise JobClassError(f"null given for non-nullable type {self}")
        for member in self.members:
            try:
                return self._exact(member, value)
            except _Mismatch:
                continue
        if isinstance(value, int) and not isinstance(value, bool) and "float" in self.members:
            return float(value)
        raise JobClassError(f"{type(value).__name__} {_short(value)} does not fit type {self}")

    def _exact(self, member: str, value: Any) -> Any:
        if member == "mixed":
            return to_php_value(value)
        if member == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return _check_int(value)
        elif member == "float":
            if isinstance(value, float):
                return value
        elif member == "string":
            if isinstance(value, str | bytes):
                return value
        elif member in ("bool", "true", "false"):
            if isinstance(value, bool) and (member == "bool" or value is (member == "true")):
                return value
        elif member in ("array", "iterable"):
            if isinstance(value, list | tuple | dict):
                return to_php_value(value)
        elif member == "object":
            if isinstance(value, PhpObject | PhpEnum | Model | ModelCollection | Enum | datetime):
                return to_php_value(value)
        elif member not in _BUILTINS:
            return self._class_value(member, value)
        raise _Mismatch

    def _class_value(self, class_name: str, value: Any) -> Any:
        kind = self.kind_of(class_name)
        if kind == Kind.DATE:
            if isinstance(value, datetime):
                target = class_name if class_name in DATE_CLASSES else None
                if (
                    target
                    and isinstance(value, PhpDateTime)
                    and _is_date_subclass(value.php_class, target)
                ):
                    target = value.php_class
                return date_to_php(value, target)
            if is_php_date(value):
                return value
        elif kind == Kind.ENUM:
            if isinstance(value, PhpEnum) and value.class_name.lower() == class_name.lower():
                return value
            if isinstance(value, Enum):
                return enum_to_php(value, class_name)
        elif kind == Kind.MODEL:
            if isinstance(value, Model):
                return value
        elif kind == Kind.COLLECTION:
            if isinstance(value, ModelCollection):
                return value
        elif isinstance(value, PhpObject | Model | ModelCollection):
            return value
        elif isinstance(value, PhpEnum) and value.class_name.lower() == class_name.lower():
            return value
        elif isinstance(value, Enum):
            return enum_to_php(value, class_name)
        raise _Mismatch


def _is_date_subclass(child: str, parent: str) -> bool:
    lineage = {
        "Illuminate\\Support\\Carbon": ("Carbon\\Carbon", "DateTime"),
        "Carbon\\Carbon": ("DateTime",),
        "Carbon\\CarbonImmutable": ("DateTimeImmutable",),
    }
    return child == parent or parent in lineage.get(child, ())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise JobClassError(f"integer {value} does not fit PHP's signed 64-bit int")
    return value


def to_php_value(value: Any, *, top_level: bool = True) -> Any:
    """Convert Python conveniences (dates, enums, tuples) into PHP values, recursively.

    `Model` and `ModelCollection` are allowed only as a property's own value, where
    `SerializesModels` turns them into `ModelIdentifier`s; inside arrays or objects PHP
    would serialize the whole model, which bridge cannot produce.

    Raises:
        JobClassError: for values with no PHP form.
    """
    if isinstance(value, Enum):
        # Before str and int: a StrEnum or IntEnum member is an enum case, not its value.
        return enum_to_php(value)
    if value is None or isinstance(value, bool | float | str | bytes | PhpEnum):
        return value
    if isinstance(value, int):
        return _check_int(value)
    if isinstance(value, list | tuple):
        return [to_php_value(v, top_level=False) for v in value]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, int | str):
                raise JobClassError(f"array key {key!r} must be int or str")
            out[key] = to_php_value(item, top_level=False)
        return out
    if isinstance(value, datetime):
        return date_to_php(value)
    if isinstance(value, Model | ModelCollection):
        if top_level:
            return value
        raise JobClassError(
            "a model inside an array or object would be serialized in full by PHP; "
            "only a property's own value becomes a ModelIdentifier"
        )
    if isinstance(value, PhpObject):
        return value
    if type(value).__module__.startswith("bridge."):
        # PhpCustom, PhpReference and other codec values pass through untouched.
        return value
    raise JobClassError(f"{type(value).__name__} has no PHP form")
