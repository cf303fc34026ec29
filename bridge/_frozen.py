"""Building frozen slotted dataclasses without their per-field `object.__setattr__`.

A frozen dataclass's `__init__` sets each field through `object.__setattr__`; for the
objects a worker makes per job (a reserved row, a decoded payload) that is a measurable
share of the job. `thawed(cls)` is a class with the same slots and plain assignment: fill
one, then set its `__class__` to `cls` (allowed between classes of one slot layout; Python
checks that they match). Subclasses with a layout of their own still use `__init__`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["thawed"]


def thawed(cls: type[Any]) -> type[Any]:
    """A class with `cls`'s `__slots__` and ordinary attribute assignment."""
    slots = cls.__dict__.get("__slots__")
    if slots is None:
        raise TypeError(f"{cls.__name__} has no __slots__ of its own")
    return type(
        f"_Thawed{cls.__name__}", (), {"__slots__": tuple(slots), "__module__": cls.__module__}
    )
