"""PHP attributes on a job class, and the job options Laravel 13 reads from them.

From 13.0, `maxTries`, `backoff`, `timeout`, `maxExceptions`, `failOnTimeout` and
`deleteWhenMissingModels` in the payload can come from `#[Tries(5)]`, `#[Backoff(...)]`,
`#[Timeout(30)]`, `#[MaxExceptions(2)]`, `#[FailOnTimeout]` and `#[DeleteWhenMissingModels]`
on the class (or a trait it uses, or a parent). Laravel 12 and older write none of them into
the payload (12's worker looks for `#[DeleteWhenMissingModels]` on the class itself, so that
one still matters to a 12 worker, but not to the payload bytes).

A `ClassAttribute` records what PHP reflection gives without instantiating the attribute:
its class name and its arguments. That is enough to know the value, because each of these
attribute classes keeps its constructor arguments as-is (one public property; `Backoff`
keeps a single argument, or the list of them), and the attribute-less ones mean `true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.exceptions import JobClassError

__all__ = [
    "ATTRIBUTE_NAMESPACE",
    "HONOURED_SINCE",
    "QUEUE_OPTION_ATTRIBUTES",
    "ClassAttribute",
]

ATTRIBUTE_NAMESPACE = "Illuminate\\Queue\\Attributes\\"

#: Payload option (the job property of the same name) -> attribute class that also sets it.
QUEUE_OPTION_ATTRIBUTES: dict[str, str] = {
    "tries": ATTRIBUTE_NAMESPACE + "Tries",
    "backoff": ATTRIBUTE_NAMESPACE + "Backoff",
    "timeout": ATTRIBUTE_NAMESPACE + "Timeout",
    "maxExceptions": ATTRIBUTE_NAMESPACE + "MaxExceptions",
    "failOnTimeout": ATTRIBUTE_NAMESPACE + "FailOnTimeout",
    "deleteWhenMissingModels": ATTRIBUTE_NAMESPACE + "DeleteWhenMissingModels",
}

#: The first Laravel release whose payload honours each queue attribute.
HONOURED_SINCE: dict[str, tuple[int, int, int]] = {
    name: (13, 0, 0) for name in QUEUE_OPTION_ATTRIBUTES.values()
}

# Attribute classes without constructor arguments: their presence means `true`.
_FLAGS = frozenset({QUEUE_OPTION_ATTRIBUTES["failOnTimeout"],
                    QUEUE_OPTION_ATTRIBUTES["deleteWhenMissingModels"]})  # fmt: skip
_VARIADIC = QUEUE_OPTION_ATTRIBUTES["backoff"]


@dataclass(frozen=True, slots=True)
class ClassAttribute:
    """One `#[Name(args)]` on a class, as reflection reports it.

    Attributes:
        name: the attribute's fully qualified class name (no leading backslash).
        arguments: positional arguments, as PHP values.
        named: named arguments (`#[Tries(tries: 5)]`), in source order.
        trait: the trait that carries it, when it sits on a trait the class uses (Laravel
            reads those from 13.16), else None.
    """

    name: str
    arguments: tuple[Any, ...] = ()
    named: Mapping[str, Any] = field(default_factory=dict, hash=False)
    trait: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lstrip("\\"))
        object.__setattr__(self, "arguments", tuple(self.arguments))
        object.__setattr__(self, "named", dict(self.named))

    @property
    def honoured_since(self) -> tuple[int, int, int] | None:
        """The first Laravel release that reads this attribute into the payload, if any."""
        return HONOURED_SINCE.get(self.name)

    def option_value(self) -> Any:
        """The value Laravel 13 takes from this queue attribute (its one public property).

        Raises:
            JobClassError: arguments the attribute's constructor would refuse.
        """
        values = [*self.arguments, *self.named.values()]
        if self.name in _FLAGS:
            return True
        if self.name == _VARIADIC:
            if not values:
                raise JobClassError(f"#[{self.name}] needs at least one argument")
            return values[0] if len(values) == 1 else values
        if len(values) != 1:
            raise JobClassError(f"#[{self.name}] takes exactly one argument, not {len(values)}")
        return values[0]
