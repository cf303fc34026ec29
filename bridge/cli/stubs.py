"""`bridge stubs`: write Python declarations of a PHP app's job classes, by PHP reflection."""

from __future__ import annotations

from pathlib import Path

import click

from bridge.cli._context import CliContext, dialect_option, pass_context
from bridge.dialect import SO_DIALECT_NAMES, dialect_named
from bridge.laravel.stubs import generate_stubs
from bridge.so.stubs import generate_so_stubs


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--autoload",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PHP file to require first, e.g. vendor/autoload.php (default: Debian's Laravel).",
)
@click.option("--php", "php_binary", default="php", show_default=True, help="The php binary.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Python file to write (default: standard output).",
)
@dialect_option
@pass_context
def stubs(
    ctx: CliContext,
    paths: tuple[Path, ...],
    autoload: Path | None,
    php_binary: str,
    output: Path | None,
    dialect_name: str | None,
) -> None:
    """Declare the queued job classes found under PATHS as Python `JobClass` objects.

    The declarations carry each property's visibility, type and default in PHP's order,
    the traits and interfaces, so `bridge dispatch --declarations MODULE` and `Dispatcher`
    write commands PHP unserializes exactly.
    """
    if output is not None and not output.parent.is_dir():
        raise click.BadParameter(
            f"the folder {str(output.parent)!r} does not exist; create it first "
            f"(mkdir -p {output.parent}) or write the file elsewhere",
            param_hint="'-o' / '--output'",
        )
    chosen = dialect_name or ctx.settings.dialect
    if chosen and dialect_named(chosen).name in SO_DIALECT_NAMES:
        # SO job classes (subclasses of Core\Queue\Job), refused where SO cannot carry them.
        name = dialect_named(chosen).name
        source = generate_so_stubs(list(paths), autoload=autoload, php=php_binary, fmt=name)
    else:
        source = generate_stubs(list(paths), autoload=autoload, php=php_binary)
    if output is None:
        click.echo(source, nl=False)
        return
    try:
        output.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write {str(output)!r}: {exc.strerror}", param_hint="'-o' / '--output'"
        ) from exc
    count = source.count("JobClass(") + source.count("so_job_class(\n")
    click.echo(f"Wrote {count} declarations to {output}", err=True)
