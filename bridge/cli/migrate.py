"""`bridge migrate`: Laravel's `jobs`, `failed_jobs` and `job_batches` tables, if missing."""

from __future__ import annotations

import click

from bridge.cli._context import CliContext, pass_context


@click.command()
@click.option(
    "--failed-layout",
    type=click.Choice(["uuid", "id"]),
    default=None,
    help="failed_jobs with Laravel 8's uuid column (default) or the older id-only layout.",
)
@pass_context
def migrate(ctx: CliContext, failed_layout: str | None) -> None:
    """Create the queue tables exactly as Laravel's migrations do, when they are missing."""
    from bridge.queue.schema import migrate as create_tables

    ctx.creates_database = True
    settings = ctx.settings
    with_uuid = (
        failed_layout == "uuid"
        if failed_layout is not None
        else settings.failed_driver != "database"
    )
    created = create_tables(
        ctx.engine,
        jobs_table=settings.jobs_table,
        failed_table=settings.failed_table,
        batches_table=settings.batches_table,
        failed_uuid=with_uuid,
    )
    where = settings.described
    if created:
        click.echo(f"Created {', '.join(created)} in {where}")
    else:
        click.echo(f"Nothing to do: the queue tables already exist in {where}")
