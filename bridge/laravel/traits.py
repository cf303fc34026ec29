"""The properties Laravel's queue traits add to a job class, per version profile.

`Queueable` (order from `Profile.queueable_properties`), `InteractsWithQueue` (`job`),
`Batchable` (`batchId`, and a private `fakeBatch` from 9.31, owned by the class that uses
the trait); `Dispatchable` and `SerializesModels` add none (`SerializesModels` changes how
the object is serialized). Every one of these properties is untyped with default null,
except `middleware` and `chained`, which default to `[]`, and 13's `debounceOwner` and
`uniqueLockOwner`, which default to `""`.
"""

from __future__ import annotations

from bridge.laravel.versions import Profile
from bridge.php import Visibility

__all__ = [
    "KNOWN_TRAITS",
    "SHOULD_BE_ENCRYPTED",
    "SHOULD_QUEUE",
    "STANDARD_TRAITS",
    "TRAIT_PROPERTY_NAMES",
    "interface_name",
    "trait_name",
    "trait_properties",
]

#: Fully qualified names of the traits, by short name.
KNOWN_TRAITS: dict[str, str] = {
    "Dispatchable": "Illuminate\\Foundation\\Bus\\Dispatchable",
    "InteractsWithQueue": "Illuminate\\Queue\\InteractsWithQueue",
    "Queueable": "Illuminate\\Bus\\Queueable",
    "SerializesModels": "Illuminate\\Queue\\SerializesModels",
    "Batchable": "Illuminate\\Bus\\Batchable",
}
#: The trait set `php artisan make:job` writes.
STANDARD_TRAITS = ("Dispatchable", "InteractsWithQueue", "Queueable", "SerializesModels")

SHOULD_QUEUE = "Illuminate\\Contracts\\Queue\\ShouldQueue"
SHOULD_BE_ENCRYPTED = "Illuminate\\Contracts\\Queue\\ShouldBeEncrypted"
_INTERFACES = {"ShouldQueue": SHOULD_QUEUE, "ShouldBeEncrypted": SHOULD_BE_ENCRYPTED}

#: Every property any version of these traits declares (for validating given values).
TRAIT_PROPERTY_NAMES = frozenset(
    {"job", "connection", "queue", "group", "messageGroup", "deduplicator", "delay",
     "afterCommit", "middleware", "chained", "chainConnection", "chainQueue",
     "chainCatchCallbacks", "batchId", "fakeBatch", "debounceOwner", "uniqueLockOwner"}
)  # fmt: skip
_ARRAY_DEFAULTS = frozenset({"middleware", "chained"})
_STRING_DEFAULTS = frozenset({"debounceOwner", "uniqueLockOwner"})


def trait_name(name: str) -> str:
    """The short name of a known trait given short or fully qualified; others unchanged."""
    clean = name.lstrip("\\")
    for short, qualified in KNOWN_TRAITS.items():
        if clean.lower() == qualified.lower():
            return short
    return clean


def interface_name(name: str) -> str:
    """The fully qualified interface name for `ShouldQueue` / `ShouldBeEncrypted` or a FQCN."""
    name = name.lstrip("\\")
    return _INTERFACES.get(name, name)


def trait_properties(trait: str, profile: Profile) -> list[tuple[str, Visibility, object]]:
    """`(name, visibility, default)` of the properties `trait` declares on `profile`.

    Unknown traits declare nothing (declare their properties on the class instead).
    """
    short = trait_name(trait)
    if short == "InteractsWithQueue":
        return [("job", Visibility.PUBLIC, None)]
    if short == "Queueable":
        return [(name, Visibility.PUBLIC, _default(name)) for name in profile.queueable_properties]
    if short == "Batchable":
        props: list[tuple[str, Visibility, object]] = [("batchId", Visibility.PUBLIC, None)]
        if profile.batchable_fake_batch:
            props.append(("fakeBatch", Visibility.PRIVATE, None))
        return props
    return []


def _default(name: str) -> object:
    if name in _ARRAY_DEFAULTS:
        return []
    return "" if name in _STRING_DEFAULTS else None
