"""The `bridge` command: click lives here and nowhere else.

Global options pick the queue database; each command family lives in its own module and
receives the shared `CliContext`. `--database` and `--env-file` are accepted before or
after the command name (`bridge --database URL failed` and `bridge failed --database URL`).
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
    help="URL of the queue database, e.g. mysql://user:pass@host/db [env: "
    "BRIDGE_DATABASE_URL]. Default: Laravel's DB_* settings (environment, then ./.env), "
    "else ./bridge.sqlite.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A Laravel .env file to read instead of ./.env.",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None, env_file: Path | None) -> None:
    """Share one Laravel job queue between PHP and Python.

    \b
    Exit codes: 0 done; 1 runtime error (database, configuration, declined
    prompt); 2 usage error; 3 some named jobs skipped or not found;
    4 a `status` threshold crossed; 12 a worker's memory limit; 78 a worker's
    database refuses the configuration (missing table, bad credentials); 130 interrupted.
    """
    if not isinstance(ctx.obj, CliContext):
        ctx.obj = CliContext()
    if database_url is not None:
        ctx.obj.database_url = database_url
    if env_file is not None:
        ctx.obj.env_file = env_file
    ctx.call_on_close(ctx.obj.close)


__all__ = ["main"]
