"""`bridge status` (counts and ages per queue, as `queue:monitor`) and `bridge clear`
(`queue:clear`)."""

from __future__ import annotations

import json
from typing import Any

import click

from bridge.cli._context import CliContext, confirm, pass_context
from bridge.cli._options import queue_list
from bridge.cli._redis_prefix import prefix_hint

__all__ = ["EXIT_THRESHOLD", "clear", "status"]

#: `bridge status` found a queue over --max-pending or --max-age.
EXIT_THRESHOLD = 4


def _age(seconds: int | None) -> str:
    """`12s`, `4m 3s`, `2h 5m`, `3d 4h`: an age a person reads at a glance."""
    if seconds is None:
        return "-"
    steps = (("d", 86_400, "h", 3_600), ("h", 3_600, "m", 60), ("m", 60, "s", 1))
    for unit, size, small, small_size in steps:
        if seconds >= size:
            return f"{seconds // size}{unit} {seconds % size // small_size}{small}"
    return f"{seconds}s"


@click.command()
@click.option("--queue", "queues", callback=queue_list, help="Only these queues: a,b.")
@click.option(
    "--connection",
    default=None,
    help="Queue connection: database or redis (default: QUEUE_CONNECTION of .env).",
)
@click.option(
    "--max-pending",
    type=click.IntRange(min=0),
    default=None,
    help="Exit 4 when a queue has more pending jobs than this (queue:monitor's --max).",
)
@click.option(
    "--max-age",
    type=click.IntRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Exit 4 when a queue's oldest pending job is older than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def status(
    ctx: CliContext,
    queues: tuple[str, ...] | None,
    connection: str | None,
    max_pending: int | None,
    max_age: int | None,
    as_json: bool,
) -> None:
    """Pending, delayed and reserved jobs and the oldest pending job's age, per queue.

    Queues named with --queue are listed even when empty. With --max-pending or --max-age
    the exit status is 4 when any queue crosses the threshold, for monitoring scripts.
    """
    from bridge.queue.stats import QueueStats, queue_stats

    ctx.use_connection(connection)
    now = ctx.now()
    found = {s.queue: s for s in queue_stats(ctx.queue, now=now)}
    names = list(queues) if queues else sorted(found)
    hint = prefix_hint(ctx, queues or None)
    if hint is not None:
        click.echo(f"note: {hint}", err=True)
    rows: list[dict[str, Any]] = []
    crossed: list[str] = []
    for name in names:
        stats = found.get(name) or QueueStats(name, 0, 0, 0, None)
        age = stats.oldest_age(now)
        over = (max_pending is not None and stats.pending > max_pending) or (
            max_age is not None and age is not None and age > max_age
        )
        if over:
            crossed.append(name)
        rows.append(
            {
                "queue": name,
                "pending": stats.pending,
                "delayed": stats.delayed,
                "reserved": stats.reserved,
                "oldest_pending_age_seconds": age,
                "over_threshold": over,
            }
        )
    if as_json:
        payload: dict[str, Any] = {
            "connection": ctx.settings.connection_name,
            "database": ctx.settings.display_url,
            "now": now,
            "queues": rows,
        }
        if ctx.settings.connection_name == "redis":
            redis = ctx.settings.redis
            payload["redis"] = {
                "host": redis.host,
                "port": redis.port,
                "db": redis.db,
                "cluster": redis.cluster,
                "prefix": ctx.redis_prefix,
            }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(f"Queues in {ctx.queue_described}:", err=True)
        if not rows:
            click.echo("No jobs.")
        from bridge.admin.listing import format_table

        if rows:
            table = [
                {
                    **r,
                    "oldest": _age(r["oldest_pending_age_seconds"]),
                    "alert": "over" if r["over_threshold"] else "",
                }
                for r in rows
            ]
            columns = ["queue", "pending", "delayed", "reserved", "oldest"]
            if max_pending is not None or max_age is not None:
                columns.append("alert")
            click.echo(format_table(table, columns))
    if crossed:
        click.echo(f"Over the threshold: {', '.join(crossed)}", err=True)
        ctx.exit_code = EXIT_THRESHOLD


@click.command()
@click.option("--queue", "queues", callback=queue_list, help="The queues to empty: a,b.")
@click.option(
    "--connection",
    default=None,
    help="Queue connection: database or redis (default: QUEUE_CONNECTION of .env).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def clear(
    ctx: CliContext, queues: tuple[str, ...] | None, connection: str | None, yes: bool
) -> None:
    """Delete every job of a queue, PHP's and Python's alike, reserved ones too (Laravel's
    queue:clear). Without --queue: the connection's default queue."""
    ctx.use_connection(connection)
    names = queues or (ctx.settings.default_queue,)
    if not yes:
        confirm(
            ctx,
            f"Delete every job on {', '.join(names)}",
            declined="Nothing deleted.",
            where=ctx.queue_described,
        )
    for name in names:
        click.echo(f"Cleared {ctx.queue.clear(name)} job(s) from the [{name}] queue.")
