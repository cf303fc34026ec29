"""`bridge stubs`: PHP job classes reflected by PHP itself, written as Python declarations.

`generate_stubs(paths)` runs the `php` binary over the shipped `_reflect.php`, which loads
the given files and directories (with `--autoload` or, when present, Debian's Laravel
autoloader), reflects every non-abstract class implementing `ShouldQueue` and prints JSON:
properties in declaration order with visibility, type (and whether each class in it is an
enum, a date, a model or an Eloquent collection), default, parent classes, traits,
interfaces, the class's PHP attributes (name and arguments, read without instantiating
them: Laravel 13's `#[Tries(5)]` and the rest, which only 13.0+ writes into the payload)
and the results of `displayName` / `retryUntil` / `backoff` / `tries` when they can be
called on an instance made without its constructor. It also reflects the plain classes the
jobs' typed properties hold (value objects). The JSON becomes a Python module of
`JobClass` declarations plus `DECLARATIONS` (jobs) and `VALUE_CLASSES` (value objects,
instantiated with `JobClass.php_object(...)`) mappings by PHP class name.

Method results are recorded at generation time, except `retryUntil()`, kept as
`FromNow(seconds)` (its deadline relative to the dispatch); a method whose result depends
on the job's state must be replaced by a callable in the generated module.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bridge.exceptions import StubGenerationError
from bridge.laravel.attributes import HONOURED_SINCE
from bridge.laravel.traits import trait_name

__all__ = ["generate_stubs", "reflect", "render_stubs"]

REFLECT_SCRIPT = Path(__file__).with_name("_reflect.php")
# Laravel 13's attributes that pick where and when a job goes (the row, not the payload
# options); bridge's dispatcher takes those as arguments.
_ROUTING = frozenset(
    "Illuminate\\Queue\\Attributes\\" + name for name in ("Queue", "Connection", "Delay")
)
_IDENT = re.compile(r"[^0-9A-Za-z_]")


def reflect(
    paths: Sequence[str | Path],
    *,
    autoload: str | Path | None = None,
    php: str = "php",
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Run the reflection script; return its JSON (`classes`, `errors`).

    Raises:
        StubGenerationError: php is missing, fails, or prints something that is not JSON.
    """
    argv = [php, str(REFLECT_SCRIPT)]
    if autoload is not None:
        argv += ["--autoload", str(autoload)]
    argv += [str(p) for p in paths]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StubGenerationError(f"could not run {php}: {exc}") from exc
    if done.returncode != 0:
        raise StubGenerationError(
            f"PHP reflection failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise StubGenerationError(f"PHP reflection printed no JSON: {done.stdout[:500]}") from exc
    return result


def _literal(desc: Any) -> str:
    """Python source for a described PHP value."""
    if isinstance(desc, float):
        return repr(desc)
    if isinstance(desc, list):
        return "[" + ", ".join(_literal(v) for v in desc) + "]"
    if not isinstance(desc, dict):
        return repr(desc)
    if set(desc) == {"float"}:
        value = float(desc["float"])
        return "math.nan" if math.isnan(value) else ("-math.inf" if value < 0 else "math.inf")
    if set(desc) == {"array"}:
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in desc["array"]) + "}"
    if "enum" in desc:
        return f"PhpEnum({desc['enum']!r}, {desc['case']!r})"
    if "object" in desc:
        vis = desc.get("visibility", {})
        items = []
        for name, value in desc["properties"].items():
            visibility = vis.get(name, "public")
            key = (
                name
                if visibility == "public"
                else f"\0*\0{name}"
                if visibility == "protected"
                else f"\0{desc['object']}\0{name}"
            )
            items.append(f"{key!r}: {_literal(value)}")
        return f"PhpObject({desc['object']!r}, {{{', '.join(items)}}})"
    raise StubGenerationError(f"cannot write a literal for {desc!r}")


def _prop(prop: dict[str, Any]) -> str:
    args = [repr(prop["name"]), f"Visibility.{prop['visibility'].upper()}"]
    if prop["type"] is None:
        args.append("None")
    elif prop["kinds"]:
        args.append(f"PhpType.parse({prop['type']!r}, kinds={prop['kinds']!r})")
    else:
        args.append(repr(prop["type"]))
    args.append(_literal(prop["default"]) if prop["has_default"] else "NO_DEFAULT")
    return f"Prop({', '.join(args)})"


class _Writer:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.blocks: list[str] = []

    def variable(self, class_name: str) -> str:
        short = _IDENT.sub("_", class_name.rsplit("\\", 1)[-1])
        if short in self.names.values() and self.names.get(class_name) != short:
            short = _IDENT.sub("_", class_name)
        return short

    def add(self, cls: dict[str, Any], *, job: bool = True) -> str:
        if cls["name"] in self.names:
            return self.names[cls["name"]]
        parent = self.add(cls["parent"], job=job) if cls.get("parent") else "None"
        var = self.variable(cls["name"])
        self.names[cls["name"]] = var
        props = "".join(f"\n        {_prop(p)}," for p in cls["properties"])
        traits = ", ".join(repr(trait_name(t)) for t in cls["traits"])
        interfaces = ", ".join(repr(i) for i in cls["interfaces"])
        entries = cls.get("methods", {})
        methods = ", ".join(
            f"{name!r}: {_method(name, entry)}"
            for name, entry in entries.items()
            if entry.get("known")
        )
        unknown = [n for n, e in entries.items() if not e.get("known")]
        notes = []
        if unknown:
            notes.append(f"not callable at generation time: {', '.join(unknown)}")
        if "from_now" in entries.get("retryUntil", {}):
            notes.append("retryUntil() counted from the dispatch: replace if it is not")
        note = f"  # {'; '.join(notes)}" if notes else ""
        self.blocks.append(
            f"{var} = JobClass(\n"
            f"    name={cls['name']!r},\n"
            f"    properties=({props}\n    ),\n"
            f"    traits=({traits}{',' if len(cls['traits']) == 1 else ''}),\n"
            f"    interfaces=({interfaces}{',' if len(cls['interfaces']) == 1 else ''}),\n"
            f"    parent={parent},\n"
            f"    methods={{{methods}}},{note}\n"
            f"{_attributes(cls.get('attributes', []))}"
            ")\n"
        )
        return var


def _method(name: str, entry: dict[str, Any]) -> str:
    if name == "retryUntil" and "from_now" in entry:
        # A deadline frozen at generation time would be long past at dispatch.
        return f"FromNow({int(entry['from_now'])})"
    return _literal(entry["value"])


def _attributes(attributes: list[dict[str, Any]]) -> str:
    if not attributes:
        return ""
    lines = []
    for attribute in attributes:
        args = ", ".join(_literal(v) for v in attribute["arguments"])
        args += "," if len(attribute["arguments"]) == 1 else ""
        named = ", ".join(f"{k!r}: {_literal(v)}" for k, v in attribute.get("named", {}).items())
        since = HONOURED_SINCE.get(attribute["name"].lstrip("\\"))
        if since is not None and attribute.get("trait"):
            why = "  # on a trait: read into the payload by Laravel 13.16+ only"
        elif since is not None:
            why = f"  # read into the payload by Laravel {since[0]}.{since[1]}+ only"
        elif attribute["name"].lstrip("\\") in _ROUTING:
            why = "  # Laravel 13 routes by it: give dispatch() the queue/delay/connection"
        else:
            why = "  # no payload reads it"
        extra = f", named={{{named}}}" if named else ""
        if attribute.get("trait"):
            extra += f", trait={attribute['trait']!r}"
        lines.append(f"        ClassAttribute({attribute['name']!r}, ({args}){extra}),{why}\n")
    return f"    attributes=(\n{''.join(lines)}    ),\n"


def render_stubs(reflected: dict[str, Any], *, source: Iterable[str] = ()) -> str:
    """Python module text for reflected classes (the JSON `reflect` returns)."""
    writer = _Writer()
    jobs = [writer.add(cls) for cls in reflected.get("classes", [])]
    values = [writer.add(cls, job=False) for cls in reflected.get("values", [])]
    origin = ", ".join(source) or "PHP sources"
    header = (
        f'"""PHP job classes reflected from {origin} by `bridge stubs`.\n\n'
        "Regenerate instead of editing, except to turn a method result that depends on the\n"
        "job into a callable, or a `FromNow` that is not relative to the dispatch into a value.\n"
        "`VALUE_CLASSES` are the plain classes job properties hold: build their instances with\n"
        '`Money.php_object(amount=5)`.\n"""\n\n'
        "from __future__ import annotations\n\n"
        "import math\n\n"
        "from bridge.laravel import NO_DEFAULT, ClassAttribute, FromNow, JobClass, PhpType, Prop\n"
        "from bridge.php import PhpEnum, PhpObject, Visibility\n\n"
        "# Not every module uses all of these.\n"
        "_ = (math, NO_DEFAULT, ClassAttribute, FromNow, PhpEnum, PhpObject, PhpType)\n\n"
    )
    mapping = "".join(f"\n    {v}.name: {v}," for v in jobs)
    value_mapping = "".join(f"\n    {v}.name: {v}," for v in values)
    return (
        header
        + "\n\n".join(writer.blocks)
        + f"\n\nDECLARATIONS = {{{mapping}\n}}\n"
        + f"\nVALUE_CLASSES = {{{value_mapping}\n}}\n"
    )


def generate_stubs(
    paths: Sequence[str | Path], *, autoload: str | Path | None = None, php: str = "php"
) -> str:
    """Reflect the job classes under `paths` and return a Python module declaring them.

    Args:
        paths: PHP files or directories (searched recursively for `*.php`).
        autoload: a PHP file to require first (a project's `vendor/autoload.php`);
            default: Debian's Laravel autoloader when installed.
        php: the php binary.

    Raises:
        StubGenerationError: PHP failed, or some files could not be loaded.
    """
    reflected = reflect(paths, autoload=autoload, php=php)
    if reflected.get("errors"):
        raise StubGenerationError("; ".join(reflected["errors"]))
    return render_stubs(reflected, source=[str(p) for p in paths])
