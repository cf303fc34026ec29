"""`bridge work`: drain the queue with Python handlers, with `queue:work`'s options."""

from __future__ import annotations

import logging
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from bridge.cli._context import CliContext, dialect_option, pass_context
from bridge.cli._options import backoff_value, laravel_value, queue_list
from bridge.cli._redis_prefix import prefix_hint
from bridge.cli._restart_signal import READABLE_STORES
from bridge.exceptions import AppImportError, ConfigError
from bridge.retry import message_style_for
from bridge.worker import (
    App,
    ForeignRowPolicy,
    UnknownJobPolicy,
    Worker,
    WorkerOptions,
    load_app,
    log_handler,
)


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
@click.option(
    "--queue",
    "queues",
    default=None,
    callback=queue_list,
    help="Queues in priority order: high,default.",
)
@click.option("--once", is_flag=True, help="Process a single job, then stop.")
@click.option("--stop-when-empty", is_flag=True, help="Stop when no queue has a job.")
@click.option("--sleep", type=float, default=3.0, show_default=True, help="Idle pause, seconds.")
@click.option("--rest", type=float, default=0.0, show_default=True, help="Pause after each job.")
@click.option(
    "--tries",
    type=int,
    default=None,
    help="Attempts [default: 1 (0: unlimited); 3 in the SO dialect, as its queue:work].",
)
@click.option(
    "--backoff",
    default="0",
    show_default=True,
    callback=backoff_value,
    help="Retry delay: 10 or 10,30,60.",
)
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
    help="With --prefetch, reserve the next batch while one runs (not on SQLite).",
)
@click.option(
    "--unknown",
    type=click.Choice([p.value for p in UnknownJobPolicy]),
    default=UnknownJobPolicy.RELEASE.value,
    show_default=True,
    help="Jobs without a Python handler: hand them back untouched for PHP workers "
    "(their attempt not counted), or fail them into failed_jobs.",
)
@click.option(
    "--unknown-delay",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="With --unknown release: when the handed-back job is available again.",
)
@click.option(
    "--laravel",
    "laravel_version",
    default=None,
    callback=laravel_value,
    help="Laravel version of the PHP side (wording of attempt/timeout errors); "
    "default: detected from the tables.",
)
@dialect_option
@click.option(
    "--foreign",
    type=click.Choice([p.value for p in ForeignRowPolicy]),
    default=ForeignRowPolicy.LEAVE.value,
    show_default=True,
    help="Rows of another dialect: leave them for their workers, or fail them intact.",
)
@click.option("--json-logs", is_flag=True, help="One JSON object per log line, every line.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="Least severe log lines written.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No per-job lines, as `queue:work --quiet` (the same as --log-level warning).",
)
@pass_context
def work(
    ctx: CliContext,
    app_path: str,
    connection: str | None,
    queues: tuple[str, ...] | None,
    once: bool,
    stop_when_empty: bool,
    sleep: float,
    rest: float,
    tries: int | None,
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
    unknown_delay: int,
    laravel_version: str | None,
    dialect_name: str | None,
    foreign: str,
    json_logs: bool,
    log_level: str,
    quiet: bool,
) -> None:
    """Run jobs from the Laravel queue with the handlers of a Python app.

    The app is an object like `app = bridge.worker.App()` in MODULE, whose handlers are
    registered per PHP job class (`data.commandName`). SIGTERM or SIGINT finish the current
    job and stop; exit code 12 means the memory limit was reached, as with `queue:work`.
    """
    ctx.use_connection(connection)
    ctx.use_laravel_version(laravel_version)
    settings = ctx.settings
    if concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="'--concurrency'")
    if quiet and log_level.lower() in {"debug", "info"}:
        log_level = "warning"
    logger = _configure_logging(json_logs=json_logs, level=log_level, pid=concurrency > 1)
    app = _load(ctx, app_path)
    # As for dispatch: given, else detected from the rows in the tables, else the newest.
    profile, how = ctx.profile_and_source(laravel_version)
    dialect = ctx.dialect(dialect_name, laravel_version)
    if tries is None:
        tries = 3 if dialect.is_so else 1
    options = WorkerOptions(
        queues=queues or (settings.default_queue,),
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
        unknown_job_delay_seconds=unknown_delay,
        default_queue=settings.default_queue,
        message_style=message_style_for(profile.name),
        timezone=_timezone(settings.timezone),
        dialect=dialect,
        foreign_rows=ForeignRowPolicy(foreign),
    )
    from bridge.cli._restart_watch import RestartWatch

    watch = RestartWatch(ctx)
    _start_line(ctx, logger, app, options, concurrency)
    if settings.cache_store not in READABLE_STORES:
        logger.warning(
            "The cache store is %r (CACHE_STORE): php artisan queue:restart leaves its signal"
            " there, where bridge cannot read it; restart this worker with SIGTERM",
            settings.cache_store,
            extra={"bridge": {"event": "restart_signal_unreadable"}},
        )
    hint = prefix_hint(ctx, options.queues)
    if hint is not None:
        logger.warning(hint, extra={"bridge": {"event": "redis_prefix_hint"}})
    logger.info(
        "Laravel %s (%s): attempt and timeout errors are worded as that worker's",
        profile.name,
        how,
        extra={"bridge": {"event": "laravel_version", "laravel": profile.name}},
    )

    def make_worker() -> Worker:
        return Worker(
            stores=ctx.stores,
            app=app,
            options=options,
            clock=ctx.clock,
            encrypter=ctx.encrypter,
        )

    if concurrency == 1:
        worker = make_worker()
        watch.start(worker.stop)
        try:
            reason = worker.run()
        finally:
            watch.close()
        ctx.exit_code = reason.exit_code
        return
    import os
    import signal

    from bridge.worker.pool import run_pool

    def child(index: int) -> Worker:
        # A forked child must not reuse the parent's pooled connections.
        ctx.engine.dispose(close=False)
        return make_worker()

    # The pool stops as a whole on the signal (the supervisor starts it again, with new
    # code), as on SIGTERM: every child finishes its current job.
    watch.start(lambda: os.kill(os.getpid(), signal.SIGTERM))
    try:
        ctx.exit_code = run_pool(
            child,
            concurrency=concurrency,
            restart_clean_exits=not (once or stop_when_empty),
        )
    finally:
        watch.close()


def _configure_logging(*, json_logs: bool, level: str, pid: bool) -> logging.Logger:
    """Send every log line of the process, the app's own `logging` calls and Python's
    warnings included, through one handler, so `--json-logs` output stays JSON lines."""
    root = logging.getLogger()
    handler = log_handler(json_lines=json_logs, with_pid=pid)
    root.handlers = [h for h in root.handlers if not getattr(h, "bridge_cli", False)]
    handler.bridge_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    logging.captureWarnings(True)
    return logging.getLogger("bridge.worker")


def _load(ctx: CliContext, app_path: str) -> App:
    """The app, or a usage error naming --app and what to fix (never a traceback)."""
    if str(ctx.cwd) not in sys.path:
        # Like uvicorn and celery, find the app module relative to where the command runs.
        sys.path.insert(0, str(ctx.cwd))
    try:
        return load_app(app_path)
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else app_path
        problem = f"{app_path!r} does not compile: {exc.msg} ({where}); fix the module"
    except AppImportError as exc:
        problem = f"{exc}; give MODULE:ATTR of a bridge.worker.App, e.g. myjobs:app"
    except Exception as exc:  # the module's own code failed while being imported
        problem = f"importing {app_path!r} raised {type(exc).__name__}: {exc}"
    raise click.BadParameter(problem, param_hint="'--app'")


def _start_line(
    ctx: CliContext, logger: logging.Logger, app: App, options: WorkerOptions, concurrency: int
) -> None:
    """Say where the queues are (the database, or the Redis server), which queues and
    handlers this worker uses, before its first job."""
    import os

    handlers = sorted(app.handlers)
    dialect = ctx.engine.dialect.name
    version_info = getattr(ctx.engine.dialect, "server_version_info", None)
    server = ".".join(str(p) for p in version_info) if version_info else ""
    logger.info(
        "Worker %s starting: using %s; queues %s; pid %d; %d handler(s)%s",
        options.name,
        ctx.queue_described,
        ",".join(options.queues),
        os.getpid(),
        len(handlers),
        f"; {dialect} {server}".rstrip(),
        extra={
            "bridge": {
                "event": "starting",
                "worker": options.name,
                "connection": ctx.settings.connection_name,
                "redis_prefix": ctx.redis_prefix
                if ctx.settings.connection_name == "redis"
                else None,
                "database": ctx.settings.display_url,
                "database_source": ctx.settings.source,
                "dialect": dialect,
                "server_version": server or None,
                "queues": list(options.queues),
                "handlers": handlers,
                "concurrency": concurrency,
                "unknown_jobs": options.unknown_job.value,
            }
        },
    )
    if not handlers:
        logger.warning(
            "The app %s registers no handlers: every job this worker reserves is %s",
            app.name,
            "handed back for PHP workers"
            if options.unknown_job is UnknownJobPolicy.RELEASE
            else "failed into failed_jobs",
            extra={"bridge": {"event": "no_handlers"}},
        )
