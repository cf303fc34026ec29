"""SO job classes declared in Python, and the properties `Job::serialize()` carries for them.

An SO job class extends `Core\\Queue\\Job` (`SO_JOB_BASE` here). `get_object_vars($this)` runs
in that base class's scope, so the payload holds the base properties first, then the
subclass's public and protected ones in declaration order; a private property of a subclass
is out of the base class's reach and never travels (the worker would see its default).

The declarations are `bridge.laravel.JobClass`es without Laravel's traits and interfaces:
the same property, type and default rules apply; only the payload differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge.laravel import UNINITIALIZED, Job, JobClass, Prop, profile_for
from bridge.php import Visibility
from bridge.so.payload import SO_JSON

__all__ = ["SO_JOB_BASE", "so_data", "so_job_class", "so_unsupported"]

SO_BASE_NAME = "Core\\Queue\\Job"

#: `Core\Queue\Job`'s own properties, as both versions of the framework declare them.
SO_JOB_BASE = JobClass(
    name=SO_BASE_NAME,
    properties=(
        Prop("tries", Visibility.PUBLIC, "int", 3),
        Prop("timeout", Visibility.PUBLIC, "int", 60),
        Prop("queue", Visibility.PUBLIC, "string", "default"),
        Prop("retryAfter", Visibility.PUBLIC, "int", 90),
        Prop("jobId", Visibility.PUBLIC, "?string", None),
        Prop("attempts", Visibility.PROTECTED, "int", 0),
    ),
    traits=(),
    interfaces=(),
)

# Slots do not depend on the Laravel version for a class without traits; any profile does.
_PROFILE = profile_for("8")


def so_job_class(
    name: str, properties: Iterable[Prop] = (), *, parent: JobClass | None = None
) -> JobClass:
    """Declare an SO job class: `class {name} extends {parent or Core\\Queue\\Job}`."""
    return JobClass(
        name=name,
        properties=tuple(properties),
        traits=(),
        interfaces=(),
        parent=parent if parent is not None else SO_JOB_BASE,
    )


def is_so_class(job_class: JobClass) -> bool:
    """Whether the class descends from `Core\\Queue\\Job`."""
    return any(cls.name == SO_BASE_NAME for cls in job_class.lineage())


def so_data(job: Job) -> dict[str, Any]:
    """`get_object_vars` of the job seen from the base class: what its payload's `data` holds."""
    out: dict[str, Any] = {}
    for slot in job.job_class.native_slots(_PROFILE):
        if not slot.seen_by(SO_BASE_NAME):
            continue
        value = job.value(slot.prop.name, _PROFILE)
        if value is not UNINITIALIZED:
            out[slot.prop.name] = value
    return out


# Builtin types a JSON value can come back as (`object` cannot: json_decode makes arrays).
_JSON_RETURNABLE = frozenset(
    {"int", "float", "string", "bool", "array", "mixed", "iterable", "false", "true"}
)


def _objects_only(members: tuple[str, ...]) -> bool:
    return bool(members) and not any(m in _JSON_RETURNABLE for m in members)


def so_unsupported(job_class: JobClass, fmt: str = SO_JSON) -> list[str]:
    """Why the SO worker could not run this class from a payload (empty when it can).

    A private property of a subclass is never carried (the job would run with its
    default), and an object-typed property cannot come back from the JSON format (the
    worker's assignment of the array `json_encode` made of it throws a `TypeError`).
    """
    problems: list[str] = []
    if not is_so_class(job_class):
        problems.append(f"{job_class.name} does not extend {SO_BASE_NAME}")
        return problems
    for cls in job_class.lineage():
        if cls.name == SO_BASE_NAME:
            break
        for prop in cls.properties:
            where = f"{cls.name}::${prop.name}"
            if prop.visibility is Visibility.PRIVATE:
                problems.append(
                    f"{where} is private: SO's serialize() does not carry it "
                    "(make it protected or public)"
                )
            php_type = prop.php_type
            if fmt == SO_JSON and php_type is not None and _objects_only(php_type.members):
                problems.append(
                    f"{where} is typed {php_type}: the SO JSON format turns objects into "
                    "arrays, which the SO worker cannot assign back"
                )
    return problems
