"""`bridge._frozen.thawed`: objects filled through it are the frozen dataclass's own."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bridge._frozen import thawed
from bridge.queue.base import ReservedJob


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: str = "y"


def filled(**values: Any) -> Point:
    made: Any = thawed(Point)()
    for name, value in values.items():
        setattr(made, name, value)
    made.__class__ = Point
    return made  # type: ignore[no-any-return]


def test_a_filled_object_is_the_frozen_class_with_its_equality_and_repr() -> None:
    made, built = filled(x=1, y="a"), Point(1, "a")
    assert type(made) is Point
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert dataclasses.replace(made, x=2) == Point(2, "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 3  # type: ignore[misc]


def test_a_field_left_unset_reads_as_missing_rather_than_a_default() -> None:
    made = filled(x=1)
    with pytest.raises(AttributeError):
        _ = made.y


def test_a_class_without_slots_of_its_own_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        x: int

    with pytest.raises(TypeError, match="Loose has no __slots__"):
        thawed(Loose)


def test_a_class_of_another_layout_cannot_take_the_filled_object() -> None:
    made: Any = thawed(Point)()
    made.x = 1
    with pytest.raises(TypeError):
        made.__class__ = ReservedJob
