"""`bridge work`: drain the queue with Python handlers, with `queue:work`'s options."""

from __future__ import annotations

import logging
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from bridge.cli._context import CliContext, pass_context
from bridge.exceptions import ConfigError
from bridge.retry import message_style_for
from bridge.worker import UnknownJobPolicy, Worker, WorkerOptions, load_app, log_handler


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {name!r} (APP_TIMEZONE)") from exc


@click.command()
@click.option("--app", "app_path", required=True, metavar="MODULE:ATTR", help="The bridge App.")
@click.option(
    "--connection",
    default=None,
    help="Queue connection: database or redis (default: QUEUE_CONNECTION of .env).",
)
@click.option("--queue", "queues", default=None, help="Queues in priority order: high,default.")
@click.option("--once", is_flag=True, help="Process a single job, then stop.")
@click.option("--stop-when-empty", is_flag=True, help="Stop when no queue has a job.")
@click.option("--sleep", type=float, default=3.0, show_default=True, help="Idle pause, seconds.")
@click.option("--rest", type=float, default=0.0, show_default=True, help="Pause after each job.")
@click.option("--tries", type=int, default=1, show_default=True, help="Attempts (0: unlimited).")
@click.option("--backoff", default="0", show_default=True, help="Retry delay: 10 or 10,30,60.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per job.")
@click.option("--max-jobs", type=int, default=0, help="Stop after this many jobs.")
@click.option("--max-time", type=float, default=0.0, help="Stop after this many seconds.")
@click.option("--memory", type=int, default=128, show_default=True, help="MB; exit 12 above.")
@click.option("--name", default="default", show_default=True, help="Worker name in logs.")
@click.option("--concurrency", type=int, default=1, show_default=True, help="Worker processes.")
@click.option(
    "--prefetch",
    type=int,
    default=1,
    show_default=True,
    help="Rows reserved per transaction (1 is Laravel's one-at-a-time).",
)
@click.option(
    "--read-ahead/--no-read-ahead",
    default=True,
    show_default=True,
    help="With --prefetch, reserve the next batch while one runs (MySQL/MariaDB).",
)
@click.option(
    "--unknown",
    type=click.Choice([p.value for p in UnknownJobPolicy]),
    default=UnknownJobPolicy.FAIL.value,
    show_default=True,
    help="Jobs without a handler: fail them, or release them for PHP workers.",
)
@click.option(
    "--laravel",
    "laravel_version",
    default=None,
    help="Laravel version of the PHP side (wording of attempt/timeout errors); "
    "default: detected from the tables.",
)
@click.option("--json-logs", is_flag=True, help="One JSON object per log line.")
@pass_context
def work(
    ctx: CliContext,
    app_path: str,
    connection: str | None,
    queues: str | None,
    once: bool,
    stop_when_empty: bool,
    sleep: float,
    rest: float,
    tries: int,
    backoff: str,
    timeout: float,
    max_jobs: int,
    max_time: float,
    memory: int,
    name: str,
    concurrency: int,
    prefetch: int,
    read_ahead: bool,
    unknown: str,
    laravel_version: str | None,
    json_logs: bool,
) -> None:
    """Run jobs from the Laravel queue with the handlers of a Python app.

    The app is an object like `app = bridge.worker.App()` in MODULE, whose handlers are
    registered per PHP job class (`data.commandName`). SIGTERM or SIGINT finish the current
    job and stop; exit code 12 means the memory limit was reached, as with `queue:work`.
    """
    ctx.use_connection(connection)
    settings = ctx.settings
    if str(ctx.cwd) not in sys.path:
        # Like uvicorn and celery, find the app module relative to where the command runs.
        sys.path.insert(0, str(ctx.cwd))
    app = load_app(app_path)
    # As for dispatch: given, else detected from the rows in the tables, else the newest.
    profile, how = ctx.profile_and_source(laravel_version)
    options = WorkerOptions(
        queues=tuple(q.strip() for q in (queues or settings.default_queue).split(",") if q.strip()),
        name=name,
        once=once,
        stop_when_empty=stop_when_empty,
        sleep_seconds=sleep,
        rest_seconds=rest,
        tries=tries,
        backoff=backoff,
        timeout_seconds=timeout,
        max_jobs=max_jobs,
        max_time_seconds=max_time,
        memory_mb=memory,
        prefetch=prefetch,
        read_ahead=read_ahead,
        unknown_job=UnknownJobPolicy(unknown),
        default_queue=settings.default_queue,
        message_style=message_style_for(profile.name),
        timezone=_timezone(settings.timezone),
    )
    logger = logging.getLogger("bridge")
    if not logger.handlers:
        logger.addHandler(log_handler(json_lines=json_logs))
        logger.setLevel(logging.INFO)
    logger.info(
        "Laravel %s (%s): attempt and timeout errors are worded as that worker's",
        profile.name,
        how,
        extra={"bridge": {"event": "laravel_version", "laravel": profile.name}},
    )
    if concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="--concurrency")

    def make_worker() -> Worker:
        return Worker(
            queue=ctx.queue,
            failed=ctx.failed,
            batches=ctx.batches,
            app=app,
            options=options,
            clock=ctx.clock,
            encrypter=ctx.encrypter,
        )

    if concurrency == 1:
        reason = make_worker().run()
        ctx.exit_code = reason.exit_code
        return
    from bridge.worker.pool import run_pool

    def child(index: int) -> Worker:
        # A forked child must not reuse the parent's pooled connections.
        ctx.engine.dispose(close=False)
        return make_worker()

    ctx.exit_code = run_pool(
        child,
        concurrency=concurrency,
        restart_clean_exits=not (once or stop_when_empty),
    )
