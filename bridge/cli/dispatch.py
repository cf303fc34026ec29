"""`bridge dispatch`: queue a PHP job class from the shell, as `dispatch()` would in PHP."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from bridge.cli._context import CliContext, dialect_option, pass_context
from bridge.cli._options import laravel_value
from bridge.dispatcher import Dispatcher
from bridge.exceptions import ConfigError
from bridge.laravel.classes import JobClass, Prop
from bridge.so import SO_JOB_BASE, so_job_class

_SO_BASE_NAMES = frozenset(p.name for p in SO_JOB_BASE.properties)


def _parse_assignment(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--set")
    try:
        # JSON when it parses (numbers, true/false/null, lists, objects), else a plain string.
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


def find_declaration(module_path: str, class_name: str) -> JobClass | None:
    """Find the `JobClass` named `class_name` among a module's attributes (`bridge stubs`)."""
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigError(f"cannot import declarations module {module_path!r}: {exc}") from exc
    wanted = class_name.lstrip("\\")
    for value in vars(module).values():
        if isinstance(value, JobClass) and value.name == wanted:
            return value
    return None


@click.command()
@click.argument("class_name", metavar="CLASS")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE", help="A property.")
@click.option("--queue", default=None, help="Queue name (default: the connection's).")
@click.option(
    "--connection",
    default=None,
    help="Queue connection: database or redis (default: QUEUE_CONNECTION of .env).",
)
@click.option(
    "--delay",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds before the job is available.",
)
@click.option(
    "--declarations",
    metavar="MODULE",
    default=None,
    help="Module of JobClass declarations (from `bridge stubs`) that declares CLASS.",
)
@click.option(
    "--laravel",
    "laravel_version",
    default=None,
    callback=laravel_value,
    help="Laravel version of the PHP side.",
)
@dialect_option
@click.option("--json", "as_json", is_flag=True, help="Print the queued job as JSON.")
@pass_context
def dispatch(
    ctx: CliContext,
    class_name: str,
    assignments: tuple[str, ...],
    queue: str | None,
    connection: str | None,
    delay: int | None,
    declarations: str | None,
    laravel_version: str | None,
    dialect_name: str | None,
    as_json: bool,
) -> None:
    """Queue a job of PHP class CLASS with the given property values.

    With --declarations the class's declared visibility and types are used, so protected
    and private properties reach PHP intact and wrong types are refused here. Without it,
    every property is written as a public, untyped property.
    """
    values = dict(_parse_assignment(a) for a in assignments)
    ctx.use_connection(connection)
    ctx.use_laravel_version(laravel_version)
    dialect = ctx.dialect(dialect_name, laravel_version)
    declaration = None
    if declarations is not None:
        if str(ctx.cwd) not in sys.path:
            sys.path.insert(0, str(ctx.cwd))
        declaration = find_declaration(declarations, class_name)
        if declaration is None:
            raise ConfigError(f"{declarations} declares no class {class_name!r}")
    elif dialect.is_so:
        # The base Job's own properties (queue, tries, ...) are declared already.
        own = tuple(Prop(name) for name in values if name not in _SO_BASE_NAMES)
        declaration = so_job_class(class_name, own)
        click.echo(
            "note: no --declarations given; properties are written as public and untyped",
            err=True,
        )
    else:
        declaration = JobClass(name=class_name, properties=tuple(Prop(name) for name in values))
        click.echo(
            "note: no --declarations given; properties are written as public and untyped",
            err=True,
        )
    dispatcher = Dispatcher(
        queue=ctx.queue,
        profile=dialect.profile or "12",
        clock=ctx.clock,
        encrypter=ctx.encrypter,
        default_queue=ctx.settings.default_queue,
        dialect=dialect,
    )
    sent = dispatcher.dispatch(declaration.new(**values), queue=queue, delay=delay)
    where = f"{ctx.settings.connection_name} queue {sent.queue}"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": sent.id,
                    "uuid": sent.uuid,
                    "connection": ctx.settings.connection_name,
                    "queue": sent.queue,
                }
            )
        )
    elif sent.uuid:
        click.echo(f"Queued {declaration.name} [{sent.uuid}] on {where} (id {sent.id})")
    else:
        click.echo(f"Queued {declaration.name} on {where} (id {sent.id}, {dialect.label})")
