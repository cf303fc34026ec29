"""`bridge demo`: a dispatch-and-work round trip in a sandbox.

The demo runs on a new SQLite file in a temporary folder, never on the database bridge
would otherwise find (a Laravel project's `.env`, `DB_*` variables): a demo must not write
into a real `failed_jobs`. `bridge --database URL demo` runs it on a database the user
names. It declares two PHP job classes the way `bridge stubs` would, dispatches them exactly as
Laravel would (so a PHP `queue:work` could run the same rows), drains them with Python
handlers, and shows what each side saw, including a job that fails into `failed_jobs`.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import tempfile
from pathlib import Path

import click

from bridge.cli._context import CliContext, pass_context
from bridge.config import Settings
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


def invocation() -> str:
    """How to run `bridge` again the way this process was started, as a shell command.

    `bridge` alone may run another program (Debian's iproute2 installs /usr/sbin/bridge),
    so hints name the script that runs now, or `python -m bridge`.
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name != "__main__.py" and script.exists():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m bridge"


def _sandbox(ctx: CliContext) -> None:
    """Point the context at a new SQLite file unless the user named a database."""
    ctx.creates_database = True
    if ctx.database_url is not None:
        return
    folder = Path(tempfile.mkdtemp(prefix="bridge-demo-"))
    path = folder / "demo.sqlite"
    ctx.__dict__["settings"] = Settings(
        database_url=f"sqlite:///{path}",
        app_key=ctx.environ.get("APP_KEY") or None,
        source="a sandbox for the demo; --database URL picks another",
    )


@click.command()
@pass_context
def demo(ctx: CliContext) -> None:
    """Dispatch three jobs as Laravel would, work them with Python handlers, show the result.

    It runs in a new SQLite file in a temporary folder (left there for you to look at),
    unless you name a database: `bridge --database URL demo`.
    """
    _sandbox(ctx)
    settings = ctx.settings
    click.secho(f"1. Queue tables in {settings.described}", bold=True)
    created = create_tables(
        ctx.engine,
        jobs_table=settings.jobs_table,
        failed_table=settings.failed_table,
        batches_table=settings.batches_table,
    )
    click.echo(f"   created: {', '.join(created) or 'none needed'}")
    ctx.queue.clear(DEMO_QUEUE)

    dispatcher = Dispatcher(stores=ctx.stores, profile=ctx.profile(), clock=ctx.clock)
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
            stores=ctx.stores,
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
    failed_ids: list[str] = []
    for record in ctx.failed.select(FailedJobFilter(queue=DEMO_QUEUE)):
        if record.uuid in uuids or record.uuid is None:
            reason = record.exception.splitlines()[0]
            click.echo(f"   id={record.id} uuid={record.uuid} queue={record.queue}: {reason}")
            failed_ids.append(str(record.id))
    click.echo(f"   jobs left on {DEMO_QUEUE}: {ctx.queue.size(DEMO_QUEUE)}")
    url = shlex.quote(settings.database_url)
    click.echo(
        f"Retry it with: {invocation()} --database {url} retry-failed {' '.join(failed_ids)}"
    )
    if settings.sqlite_path is not None:
        click.echo(f"(the demo's database stays in {settings.sqlite_path.parent}{os.sep})")
