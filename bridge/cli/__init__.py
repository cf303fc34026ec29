"""The `bridge` command: click lives here and nowhere else.

Global options pick the queue database; each command family lives in its own module and
receives the shared `CliContext`.
"""

from __future__ import annotations

from pathlib import Path

import click

from bridge import __version__
from bridge.cli._context import BridgeGroup, CliContext


@click.group(cls=BridgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
@click.option(
    "--database",
    "database_url",
    metavar="URL",
    help="SQLAlchemy URL of the queue database [env: BRIDGE_DATABASE_URL]. "
    "Default: the Laravel .env in this folder, else ./bridge.sqlite.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A Laravel .env file to read instead of ./.env.",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None, env_file: Path | None) -> None:
    """Share one Laravel job queue between PHP and Python."""
    ctx.obj = CliContext(database_url=database_url, env_file=env_file)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from bridge.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()

__all__ = ["main"]
