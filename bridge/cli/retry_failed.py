"""`bridge retry-failed`: move failed jobs back onto the queue, safely (see `_RETRY_HELP`).

Shares the selection options and exit codes of `bridge.cli.failed`; the work itself is
`bridge.admin.retry_failed`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import click

from bridge.admin import (
    RetryOptions,
    RetryOutcome,
    RetryStatus,
    RetryUntilPolicy,
    check_connection,
    in_given_order,
    missing_identifiers,
    plan_retry,
    retry_failed,
)
from bridge.admin.listing import (
    PREVIEW_COLUMNS,
    format_table,
    preview_row,
)
from bridge.cli._context import CliContext, confirm, pass_context
from bridge.cli.failed import (
    EXIT_PARTIAL,
    PROGRESS_THRESHOLD,
    _echo_json,
    _filter_options,
    _select,
    _selection,
    terminal_width,
)
from bridge.exceptions import PayloadDecodeError
from bridge.queue.base import FailedJobRecord, JobQueue

__all__ = ["retry_failed_command"]


# --- bridge retry-failed ---------------------------------------------------------------


_RETRY_HELP = """Move failed jobs back onto the queue.

\b
Select with IDs and/or UUIDs, `all`, --range and the filters (which narrow).
Each job moves in one transaction (insert into jobs, delete from failed_jobs);
killed and rerun, no job is lost or queued twice. With --to-database the move
spans two databases: a job whose uuid is already in the target is not inserted
again, then the failed row is deleted, so reruns are safe there too.

\b
What changes in each payload (everything else stays byte for byte, unlike
Laravel's queue:retry, which re-encodes the JSON and so \\u-escapes non-ASCII
text and turns {} into []):
  - a top-level "attempts" key becomes 0; the new row has attempts 0 and is
    available now, on the recorded queue (or --to-queue);
  - "retryUntil" (and legacy "timeoutAt"), when set, follows --retry-until:
      keep          leave it (default; Laravel instead calls the PHP job's
                    retryUntil() method, which Python cannot)
      shift         now + (retryUntil - createdAt); without createdAt (before
                    Laravel 12.11) failed_at stands in, which gives a shorter,
                    often negative, window
      set:TS        this Unix timestamp;  set:+SECONDS  now + SECONDS
      drop          null: maxTries applies again
    A job whose deadline is not after now is reported: a worker fails it
    again without running it.
  - uuid, data.command (encrypted or not) and all other keys are kept.

\b
Jobs recorded for another queue connection than this one are skipped unless
--any-connection, --to-database or --to-connection is given.

\b
Jobs named by id or uuid move at once, as with queue:retry; a sweeping
selection (`all`, --range, a filter) asks first, naming the database, unless
--yes. Interrupted (Ctrl-C), it reports how many jobs had moved; the rest
stay in failed_jobs and the same command moves them.

\b
Exit codes: 0 all selected jobs moved (or none matched); 1 error or prompt
declined; 2 usage; 3 some jobs skipped or named ids not found.
"""


def _target_queue(ctx: CliContext, to_database: str | None, to_connection: str | None) -> JobQueue:
    if to_connection is not None:
        if to_database is not None:
            raise click.UsageError("give --to-connection or --to-database, not both")
        return ctx.queue_for(to_connection)
    if to_database is None:
        return ctx.queue
    from bridge.queue.database import DatabaseQueue, create_engine_for

    return DatabaseQueue(
        engine=create_engine_for(to_database),
        table=ctx.settings.jobs_table,
        connection_name=ctx.settings.connection_name,
        retry_after_seconds=ctx.settings.retry_after_seconds,
    )


def _warn_expiring(count: int) -> None:
    if count:
        click.secho(
            f"Warning: {count} job(s) have a retryUntil deadline that is not after now; "
            "a worker will fail them again without running them. "
            "Use --retry-until shift, set:+SECONDS or drop to give them time.",
            fg="yellow",
            err=True,
        )


@click.command(name="retry-failed", help=_RETRY_HELP)
@click.argument("identifiers", nargs=-1, metavar="[ID|UUID|all]...")
@_filter_options
@click.option("--to-queue", metavar="QUEUE", help="Push onto this queue instead.")
@click.option("--to-database", metavar="URL", help="Push into the jobs table of this database.")
@click.option(
    "--to-connection",
    metavar="NAME",
    help="Push onto this queue connection (redis: Laravel's Redis queue).",
)
@click.option(
    "--retry-until",
    "retry_until",
    default="keep",
    show_default=True,
    metavar="keep|shift|set:TS|set:+SECONDS|drop",
    help="What to do with a job's retryUntil deadline.",
)
@click.option("--any-connection", is_flag=True, help="Also move jobs of other connections.")
@click.option("--dry-run", is_flag=True, help="List what would move; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def retry_failed_command(
    ctx: CliContext,
    /,
    identifiers: tuple[str, ...],
    to_queue: str | None,
    to_database: str | None,
    to_connection: str | None,
    retry_until: str,
    any_connection: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **options: Any,
) -> None:
    selection = _selection(identifiers, options)
    if selection.is_empty:
        raise click.UsageError("name the jobs: IDs, UUIDs, `all`, --range or a filter")
    try:
        policy = RetryUntilPolicy.parse(retry_until)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--retry-until") from exc
    selected, wanted = _select(ctx, selection)
    records = in_given_order(selection.identifiers, selected, selection.ranges())
    missing = missing_identifiers(wanted, records)
    queue = _target_queue(ctx, to_database, to_connection)
    retry_options = RetryOptions(
        now=ctx.now(),
        retry_until=policy,
        to_queue=to_queue,
        connection=None
        if (any_connection or to_database or to_connection)
        else queue.connection_name,
        timezone=ctx.settings.timezone,
    )
    if dry_run:
        _dry_run(records, retry_options, missing, as_json)
        return
    expiring = sum(_expires(r, retry_options) for r in records)
    if records and not yes and _sweeping(selection):
        _warn_expiring(expiring)
        confirm(
            ctx,
            f"Move {len(records)} failed job(s) back onto the queue",
            declined="Nothing moved.",
            # Where they go: the failed jobs' own database unless another target is named.
            where=None
            if to_database is not None
            else ctx.connection_described(to_connection)
            if to_connection is not None
            else ctx.queue_described,
        )
    moved: list[int] = []
    try:
        report = _run_with_progress(
            records,
            ctx,
            queue,
            retry_options,
            show=len(records) >= PROGRESS_THRESHOLD,
            on_moved=lambda: moved.append(1),
        )
    except KeyboardInterrupt:
        click.echo(
            f"\nInterrupted: {len(moved)} of {len(records)} job(s) had moved back onto the "
            "queue; the others are still in failed_jobs (run the same command again to move "
            "them).",
            err=True,
        )
        sys.exit(130)
    if as_json:
        _echo_json(
            {
                "moved": report.moved,
                "skipped": report.skipped,
                "expiring": report.expiring,
                "not_found": list(missing),
                "jobs": [o.to_json() for o in report.outcomes],
            }
        )
    else:
        elsewhere: set[str] = set()
        for outcome in report.outcomes:
            if outcome.status is RetryStatus.SKIPPED:
                click.echo(f"Skipped {outcome.record.id}: {outcome.reason}", err=True)
                if check_connection(outcome.record, retry_options) is not None:
                    elsewhere.add(outcome.record.connection)
        for connection in sorted(elsewhere):
            click.echo(
                f"To send the jobs of connection {connection!r} back there: add"
                f" --to-connection {connection}",
                err=True,
            )
        if missing:
            click.echo(f"Not found: {', '.join(missing)}", err=True)
        if yes:
            _warn_expiring(report.expiring)
        click.echo(
            f"Moved {report.moved} job(s); skipped {report.skipped}; not found {len(missing)}."
        )
    if report.skipped or missing:
        sys.exit(EXIT_PARTIAL)


def _sweeping(selection: Any) -> bool:
    """Whether the command line sweeps (all, a range, a filter) rather than names jobs."""
    named_only = replace(selection, identifiers=())
    return selection.selects_all or not named_only.is_empty


def _expires(record: FailedJobRecord, options: RetryOptions) -> bool:
    try:
        return plan_retry(record, options).expires
    except PayloadDecodeError:
        return False


def _run_with_progress(
    records: list[FailedJobRecord],
    ctx: CliContext,
    queue: JobQueue,
    options: RetryOptions,
    *,
    show: bool,
    on_moved: Callable[[], None],
) -> Any:
    def count(outcome: RetryOutcome) -> None:
        # Outcomes arrive after their chunk committed: these jobs really moved.
        if outcome.status is RetryStatus.MOVED:
            on_moved()

    if not show:
        return retry_failed(
            records, stores=ctx.stores, into=queue, options=options, on_outcome=count
        )
    with click.progressbar(length=len(records), label="Retrying", file=sys.stderr) as bar:

        def advance(outcome: RetryOutcome) -> None:
            count(outcome)
            bar.update(1)

        return retry_failed(
            records, stores=ctx.stores, into=queue, options=options, on_outcome=advance
        )


def _dry_run(
    records: Iterable[FailedJobRecord],
    options: RetryOptions,
    missing: Sequence[str],
    as_json: bool,
) -> None:
    rows = [preview_row(record, options) for record in records]
    skipped = sum(r["skip"] is not None for r in rows)
    if as_json:
        _echo_json(
            {
                "dry_run": True,
                "would_move": len(rows) - skipped,
                "would_skip": skipped,
                "not_found": list(missing),
                "jobs": rows,
            }
        )
    else:
        if rows:
            click.echo(format_table(rows, PREVIEW_COLUMNS, width=terminal_width()))
        _warn_expiring(sum(r["expires"] and r["skip"] is None for r in rows))
        if missing:
            click.echo(f"Not found: {', '.join(missing)}", err=True)
        click.echo(f"Dry run: would move {len(rows) - skipped} job(s); would skip {skipped}.")
    if skipped or missing:
        sys.exit(EXIT_PARTIAL)
