"""`bridge stubs`: PHP job classes reflected by PHP itself, written as Python declarations.

`generate_stubs(paths)` runs the `php` binary over the shipped `_reflect.php`, which loads
the given files and directories (with `--autoload` or, when present, Debian's Laravel
autoloader), reflects every non-abstract class implementing `ShouldQueue` and prints JSON:
properties in declaration order with visibility, type (and whether each class in it is an
enum, a date, a model or an Eloquent collection), default, parent classes, traits,
interfaces and the results of `displayName` / `retryUntil` / `backoff` / `tries` when
they can be called on an instance made without its constructor. The JSON becomes a Python
module of `JobClass` declarations plus a `DECLARATIONS` mapping by PHP class name.

Method results are recorded at generation time; a method whose result depends on the
clock or on the job's state must be replaced by a callable in the generated module.
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
from bridge.laravel.traits import trait_name

__all__ = ["generate_stubs", "reflect", "render_stubs"]

REFLECT_SCRIPT = Path(__file__).with_name("_reflect.php")
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

    def add(self, cls: dict[str, Any]) -> str:
        if cls["name"] in self.names:
            return self.names[cls["name"]]
        parent = self.add(cls["parent"]) if cls.get("parent") else "None"
        var = self.variable(cls["name"])
        self.names[cls["name"]] = var
        props = "".join(f"\n        {_prop(p)}," for p in cls["properties"])
        traits = ", ".join(repr(trait_name(t)) for t in cls["traits"])
        interfaces = ", ".join(repr(i) for i in cls["interfaces"])
        methods = ", ".join(
            f"{name!r}: {_literal(entry['value'])}"
            for name, entry in cls.get("methods", {}).items()
            if entry.get("known")
        )
        unknown = [n for n, e in cls.get("methods", {}).items() if not e.get("known")]
        note = f"  # not callable at generation time: {', '.join(unknown)}" if unknown else ""
        self.blocks.append(
            f"{var} = JobClass(\n"
            f"    name={cls['name']!r},\n"
            f"    properties=({props}\n    ),\n"
            f"    traits=({traits}{',' if len(cls['traits']) == 1 else ''}),\n"
            f"    interfaces=({interfaces}{',' if len(cls['interfaces']) == 1 else ''}),\n"
            f"    parent={parent},\n"
            f"    methods={{{methods}}},{note}\n"
            ")\n"
        )
        return var


def render_stubs(reflected: dict[str, Any], *, source: Iterable[str] = ()) -> str:
    """Python module text for reflected classes (the JSON `reflect` returns)."""
    writer = _Writer()
    jobs = [writer.add(cls) for cls in reflected.get("classes", [])]
    origin = ", ".join(source) or "PHP sources"
    header = (
        f'"""PHP job classes reflected from {origin} by `bridge stubs`.\n\n'
        "Regenerate instead of editing, except to turn a method result that depends on the\n"
        'clock or on the job into a callable.\n"""\n\n'
        "from __future__ import annotations\n\n"
        "import math\n\n"
        "from bridge.laravel import NO_DEFAULT, JobClass, PhpType, Prop\n"
        "from bridge.php import PhpEnum, PhpObject, Visibility\n\n"
        "_ = (math, NO_DEFAULT, PhpEnum, PhpObject, PhpType)  # not every module uses all\n\n"
    )
    mapping = "".join(f"\n    {v}.name: {v}," for v in jobs)
    return header + "\n\n".join(writer.blocks) + f"\n\nDECLARATIONS = {{{mapping}\n}}\n"


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
