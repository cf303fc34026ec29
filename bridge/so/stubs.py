"""`bridge stubs --dialect so`: SO framework job classes, reflected by PHP, as Python declarations.

The same reflection as for Laravel (`bridge.laravel.stubs.reflect`, which also picks up
subclasses of `Core\\Queue\\Job`), written as `so_job_class(...)` declarations. A class the SO
worker could not run from a payload is refused with the reason, since dispatching it from
Python would only crash that worker: a constructor that requires arguments (the worker
builds jobs with `new $class()`), a private property (`get_object_vars` in the base class does
not see it, so it never travels), and in the JSON format a property that only an object can
fill (`json_encode` turns objects into arrays, which cannot be assigned back).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bridge.exceptions import StubGenerationError
from bridge.laravel import PhpType
from bridge.laravel.stubs import _prop, reflect
from bridge.so.classes import SO_BASE_NAME, _objects_only
from bridge.so.payload import SO_JSON

__all__ = ["generate_so_stubs", "render_so_stubs", "so_stub_problems"]

_IDENT = re.compile(r"[^0-9A-Za-z_]")
# `_prop` (from the Laravel stubs) writes a reflected property: one way for both dialects.


def _lineage(cls: dict[str, Any]) -> Iterable[dict[str, Any]]:
    current: dict[str, Any] | None = cls
    while current is not None and current["name"] != SO_BASE_NAME:
        yield current
        current = current.get("parent")


def _is_so(cls: dict[str, Any]) -> bool:
    current: dict[str, Any] | None = cls
    while current is not None:
        if current["name"] == SO_BASE_NAME:
            return True
        current = current.get("parent")
    return False


def so_stub_problems(cls: dict[str, Any], fmt: str = SO_JSON) -> list[str]:
    """Why the SO worker could not run a reflected class from a payload (empty when it can)."""
    problems = []
    required = int(cls.get("required_constructor_args") or 0)
    if required:
        problems.append(
            f"{cls['name']}: its constructor requires {required} argument(s); the SO worker "
            "builds jobs with `new $class()` and would crash (give every argument a default)"
        )
    for owner in _lineage(cls):
        for prop in owner["properties"]:
            where = f"{owner['name']}::${prop['name']}"
            if prop["visibility"] == "private":
                problems.append(
                    f"{where} is private: the SO framework's serialize() does not carry it "
                    "(make it protected or public)"
                )
            if fmt == SO_JSON and prop["type"] is not None:
                if _objects_only(PhpType.parse(prop["type"]).members):
                    problems.append(
                        f"{where} is typed {prop['type']}: the SO JSON format turns objects "
                        "into arrays, which the SO worker cannot assign back"
                    )
    return problems


class _Writer:
    def __init__(self) -> None:
        self.names: dict[str, str] = {SO_BASE_NAME: "SO_JOB_BASE"}
        self.blocks: list[str] = []

    def add(self, cls: dict[str, Any]) -> str:
        if cls["name"] in self.names:
            return self.names[cls["name"]]
        parent = self.add(cls["parent"])
        short = _IDENT.sub("_", cls["name"].rsplit("\\", 1)[-1])
        if short in self.names.values():
            short = _IDENT.sub("_", cls["name"])
        self.names[cls["name"]] = short
        props = "".join(f"\n        {_prop(p)}," for p in cls["properties"])
        self.blocks.append(
            f"{short} = so_job_class(\n"
            f"    {cls['name']!r},\n"
            f"    [{props}\n    ],\n"
            f"    parent={parent},\n"
            ")\n"
        )
        return short


def render_so_stubs(
    reflected: dict[str, Any], *, fmt: str = SO_JSON, source: Iterable[str] = ()
) -> str:
    """Python module text declaring the reflected SO job classes.

    Raises:
        StubGenerationError: some class cannot be run by the SO worker from a payload;
            the message lists every reason.
    """
    classes = [c for c in reflected.get("classes", []) if _is_so(c)]
    problems = [p for cls in classes for p in so_stub_problems(cls, fmt)]
    if problems:
        raise StubGenerationError(
            f"the SO framework ({fmt}) cannot carry these job classes:\n  " + "\n  ".join(problems)
        )
    writer = _Writer()
    jobs = [writer.add(cls) for cls in classes]
    origin = ", ".join(source) or "PHP sources"
    header = (
        f'"""SO framework job classes reflected from {origin} by `bridge stubs`.\n\n'
        'Regenerate instead of editing.\n"""\n\n'
        "from __future__ import annotations\n\n"
        "import math\n\n"
        "from bridge.laravel import NO_DEFAULT, PhpType, Prop\n"
        "from bridge.php import PhpEnum, PhpObject, Visibility\n"
        "from bridge.so import SO_JOB_BASE, so_job_class\n\n"
        "_ = (math, NO_DEFAULT, PhpEnum, PhpObject, PhpType)  # not every module uses all\n\n"
    )
    mapping = "".join(f"\n    {v}.name: {v}," for v in jobs)
    return header + "\n\n".join(writer.blocks) + f"\n\nDECLARATIONS = {{{mapping}\n}}\n"


def generate_so_stubs(
    paths: Sequence[str | Path],
    *,
    autoload: str | Path | None = None,
    php: str = "php",
    fmt: str = SO_JSON,
) -> str:
    """Reflect the SO job classes under `paths` and return a Python module declaring them.

    Raises:
        StubGenerationError: PHP failed, files could not be loaded, or a class cannot be
            carried (see the module docstring).
    """
    reflected = reflect(paths, autoload=autoload, php=php)
    if reflected.get("errors"):
        raise StubGenerationError("; ".join(reflected["errors"]))
    return render_so_stubs(reflected, fmt=fmt, source=[str(p) for p in paths])
