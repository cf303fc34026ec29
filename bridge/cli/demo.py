"""`bridge demo`: a dispatch-and-work round trip on the configured database (SQLite by default).

It declares two PHP job classes the way `bridge stubs` would, dispatches them exactly as
Laravel would (so a PHP `queue:work` could run the same rows), drains them with Python
handlers, and shows what each side saw, including a job that fails into `failed_jobs`.
"""

from __future__ import annotations

import logging
import sys

import click

from bridge.cli._context import CliContext, pass_context
from bridge.dispatcher import Dispatcher
from bridge.laravel.classes import JobClass, Prop
from bridge.laravel.payload import JobPayload
from bridge.php import Visibility
from bridge.queue.base import FailedJobFilter
from bridge.queue.schema import migrate as create_tables
from bridge.worker import App, Job, Worker, WorkerOptions, log_handler

DEMO_QUEUE = "bridge-demo"

SALES_REPORT = JobClass(
    name="App\\Jobs\\GenerateMonthlySalesReport",
    properties=(
        Prop("month", Visibility.PROTECTED, "int"),
        Prop("year", Visibility.PROTECTED, "int"),
        Prop("userId", Visibility.PRIVATE, "int"),
        Prop("timeout", Visibility.PUBLIC, "int", default=600),
    ),
)
IMPORT_PRODUCTS = JobClass(
    name="App\\Jobs\\ImportProducts",
    properties=(
        Prop("filePath", Visibility.PROTECTED, "string"),
        Prop("tries", Visibility.PUBLIC, "int", default=2),
    ),
)


def demo_app(results: list[str]) -> App:
    """Python handlers for the two PHP classes, recording what they saw."""
    app = App()

    @app.handler(SALES_REPORT.name)
    def sales_report(job: Job) -> None:
        month, year = job["month"], job["year"]
        results.append(
            f"report {year}-{month:02d} for user {job['userId']} "
            f"(attempt {job.attempts}, uuid {job.uuid})"
        )

    @app.handler(IMPORT_PRODUCTS.name)
    def import_products(job: Job) -> None:
        path = job["filePath"]
        if not path.endswith(".csv"):
            raise ValueError(f"cannot import {path!r}: not a CSV file")
        results.append(f"imported {path} (attempt {job.attempts})")

    return app


@click.command()
@pass_context
def demo(ctx: CliContext) -> None:
    """Dispatch three jobs as Laravel would, work them with Python handlers, show the result."""
    settings = ctx.settings
    where = ctx.engine.url.render_as_string(hide_password=True)
    click.secho(f"1. Queue tables in {where} ({settings.source})", bold=True)
    created = create_tables(
        ctx.engine,
        jobs_table=settings.jobs_table,
        failed_table=settings.failed_table,
        batches_table=settings.batches_table,
    )
    click.echo(f"   created: {', '.join(created) or 'none needed'}")
    ctx.queue.clear(DEMO_QUEUE)

    dispatcher = Dispatcher(queue=ctx.queue, profile=ctx.profile(), clock=ctx.clock)
    click.secho(f"2. Dispatch for Laravel {dispatcher.profile.name}", bold=True)
    jobs = [
        SALES_REPORT.new(month=11, year=2026, userId=42),
        IMPORT_PRODUCTS.new(filePath="storage/imports/products.csv"),
        IMPORT_PRODUCTS.new(filePath="storage/imports/products.xlsx"),
    ]
    sent = [dispatcher.dispatch(job, queue=DEMO_QUEUE) for job in jobs]
    for item in sent:
        payload = JobPayload.from_json(item.payload)
        click.echo(f"   #{item.id} {payload.name} uuid={item.uuid}")
    click.echo("   jobs.payload exactly as stored (PHP's queue:work runs it as its own):")
    click.echo("   " + sent[0].payload[:420] + " ...")

    click.secho("3. Work them with Python handlers", bold=True)
    results: list[str] = []
    logger = logging.getLogger("bridge")
    handler = log_handler(stream=sys.stdout)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        Worker(
            queue=ctx.queue,
            failed=ctx.failed,
            batches=ctx.batches,
            app=demo_app(results),
            options=WorkerOptions(queues=(DEMO_QUEUE,), stop_when_empty=True, sleep_seconds=0),
            clock=ctx.clock,
        ).run()
    finally:
        logger.removeHandler(handler)

    click.secho("4. What the handlers saw", bold=True)
    for line in results:
        click.echo(f"   {line}")
    click.secho("5. failed_jobs, as Laravel's queue:failed would list it", bold=True)
    uuids = {item.uuid for item in sent}
    for record in ctx.failed.select(FailedJobFilter(queue=DEMO_QUEUE)):
        if record.uuid in uuids or record.uuid is None:
            reason = record.exception.splitlines()[0]
            click.echo(f"   id={record.id} uuid={record.uuid} queue={record.queue}: {reason}")
    click.echo(f"   jobs left on {DEMO_QUEUE}: {ctx.queue.size(DEMO_QUEUE)}")
    click.echo("Retry it with: bridge retry-failed --queue bridge-demo --yes")
