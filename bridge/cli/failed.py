"""The failed-job commands: `failed` (list, show, export, import), `forget`, `flush` and
`prune-failed`; `retry-failed` lives in `bridge.cli.retry_failed` and shares the filters.

Each command parses options, asks `bridge.admin` to do the work against the context's
stores, and prints: tables or JSON on stdout, warnings, prompts and progress on stderr.

Exit codes (all commands): 0 success, including an empty selection; 1 an error (database,
configuration, declined prompt); 2 a usage error; 3 (`EXIT_PARTIAL`) when some selected or
named jobs were skipped, were not found, or import lines were rejected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

import click

from bridge.admin import (
    Selection,
    cutoff,
    details_to_json,
    export_lines,
    import_lines,
    inspect_failed,
    missing_identifiers,
    render_details,
    select_failed,
)
from bridge.admin.listing import (
    LIST_COLUMNS,
    format_table,
    summary_row,
)
from bridge.cli._context import CliContext, confirm, pass_context
from bridge.exceptions import FailedJobNotFound
from bridge.queue.base import FailedJobFilter, FailedJobRecord

__all__ = [
    "EXIT_PARTIAL",
    "failed_group",
    "flush_command",
    "forget_command",
    "prune_failed_command",
]

#: Some selected or named jobs were skipped or not found (the rest were handled).
EXIT_PARTIAL = 3
#: Selections at least this large get a progress bar.
PROGRESS_THRESHOLD = 100

F = TypeVar("F", bound=Callable[..., Any])


def _filter_options(function: F) -> F:
    """The filters every command that selects failed jobs shares."""
    options = [
        click.option(
            "--range",
            "id_range",
            metavar="FIRST-LAST",
            multiple=True,
            help="Ids in this range (repeatable: the ranges add up).",
        ),
        click.option("--queue", help="Only jobs that failed on this queue."),
        click.option("--connection", help="Only jobs of this queue connection."),
        click.option(
            "--class", "command_name", metavar="CLASS", help="Only this job class (commandName)."
        ),
        click.option("--since", metavar="WHEN", help="Failed at or after (2026-11-01, 2h, 7d)."),
        click.option("--until", metavar="WHEN", help="Failed at or before (same forms)."),
        click.option(
            "--exception",
            "exception_contains",
            metavar="TEXT",
            help="Exception text contains TEXT.",
        ),
        click.option(
            "--limit", type=click.IntRange(min=1), help="At most this many, newest first."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _selection(identifiers: Sequence[str], options: dict[str, Any]) -> Selection:
    ranges = tuple(options.pop("id_range", None) or ())
    return Selection(
        identifiers=tuple(identifiers),
        id_range=ranges[0] if ranges else None,
        more_ranges=ranges[1:],
        **options,
    )


def _to_filters(ctx: CliContext, selection: Selection) -> tuple[FailedJobFilter, ...]:
    try:
        return selection.to_filters(now=ctx.now(), timezone=ctx.settings.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _select(ctx: CliContext, selection: Selection) -> tuple[list[FailedJobRecord], FailedJobFilter]:
    """The selected rows, and the filter that carries the named ids (for "not found")."""
    filters = _to_filters(ctx, selection)
    return select_failed(ctx.failed, filters), filters[0]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --- bridge failed [list] / show / export / import -------------------------------------


@click.group(name="failed", invoke_without_command=True)
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_context
@click.pass_context
def failed_group(
    click_ctx: click.Context, ctx: CliContext, /, as_json: bool, **options: Any
) -> None:
    """List failed jobs, newest first (the filters narrow the list).

    \b
    Subcommands: show ID|UUID, export [IDS...] [filters], import FILE.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    records, _ = _select(ctx, _selection((), options))
    rows = [summary_row(r) for r in records]
    if as_json:
        _echo_json(rows)
    elif not rows:
        click.echo("No failed jobs.")
    else:
        click.echo(format_table(rows, LIST_COLUMNS, width=terminal_width()))


def _lookup(ctx: CliContext, identifier: str) -> FailedJobRecord:
    key: int | str = int(identifier) if identifier.isdigit() else identifier
    record = ctx.failed.find(key)
    if record is None:
        raise FailedJobNotFound(f"no failed job has the id or uuid {identifier!r}")
    return record


def terminal_width() -> int | None:
    """The width to fit tables to: the terminal's, or COLUMNS; None when writing to a pipe
    or file (scripts get whole cells)."""
    import os
    import shutil

    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        return None
    return shutil.get_terminal_size().columns


@failed_group.command(name="show")
@click.argument("identifier", metavar="ID|UUID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--decrypt",
    is_flag=True,
    help="Decrypt an encrypted command with APP_KEY and show its values (often secrets).",
)
@pass_context
def show_command(ctx: CliContext, /, identifier: str, as_json: bool, decrypt: bool) -> None:
    """Show one failed job: its decoded command, its chained jobs and its exception.

    An encrypted command (ShouldBeEncrypted) stays hidden unless --decrypt is given: its
    values are what the PHP class chose to encrypt.
    """
    encrypter = ctx.require_encrypter() if decrypt else None
    details = inspect_failed(_lookup(ctx, identifier), encrypter=encrypter, decrypt=decrypt)
    if as_json:
        _echo_json(details_to_json(details))
    else:
        click.echo(render_details(details))


def _collect(
    records: Iterable[FailedJobRecord], into: list[FailedJobRecord]
) -> Iterator[FailedJobRecord]:
    for record in records:
        into.append(record)
        yield record


@failed_group.command(name="export")
@click.argument("identifiers", nargs=-1, metavar="[ID|UUID|all]...")
@_filter_options
@pass_context
def export_command(ctx: CliContext, /, identifiers: tuple[str, ...], **options: Any) -> None:
    """Write failed jobs as JSON lines to stdout (all of them when nothing is named).

    Each line holds id, uuid, connection, queue, payload, exception and failed_at exactly
    as stored; `bridge failed import` reads them back.
    """
    chosen = _selection(identifiers, options)
    filters = _to_filters(ctx, chosen)
    selection = filters[0]
    # One filter streams from the store; several are merged (and so held) first.
    source = (
        ctx.failed.select(selection) if len(filters) == 1 else select_failed(ctx.failed, filters)
    )
    records: list[FailedJobRecord] = []
    for line in export_lines(_collect(source, records)):
        click.echo(line, nl=False)
    missing = missing_identifiers(selection, records)
    click.echo(f"Exported {len(records)} failed job(s).", err=True)
    if missing:
        click.echo(f"Not found: {', '.join(missing)}", err=True)
        sys.exit(EXIT_PARTIAL)


@failed_group.command(name="import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def import_command(ctx: CliContext, /, source: TextIO, as_json: bool) -> None:
    """Insert failed jobs from a JSON-lines export (`-` reads stdin).

    uuid, connection, queue, payload, exception and failed_at are kept exactly; rows
    already present (same uuid) are skipped, so an interrupted import can be rerun.
    """
    report = import_lines(source, store=ctx.failed)
    if as_json:
        _echo_json(report.to_json())
    else:
        for number, reason in report.rejected:
            click.echo(f"line {number} rejected: {reason}", err=True)
        click.echo(
            f"Imported {report.imported}, already present {report.duplicates}, "
            f"rejected {len(report.rejected)}."
        )
    if report.rejected:
        sys.exit(EXIT_PARTIAL)


# --- forget / flush / prune-failed -----------------------------------------------------


@click.command(name="forget")
@click.argument("identifier", metavar="ID|UUID")
@pass_context
def forget_command(ctx: CliContext, /, identifier: str) -> None:
    """Delete one failed job (exit 1 when there is none)."""
    key: int | str = int(identifier) if identifier.isdigit() else identifier
    if not ctx.failed.forget(key):
        raise FailedJobNotFound(f"no failed job has the id or uuid {identifier!r}")
    click.echo(f"Failed job {identifier} deleted.")


@click.command(name="flush")
@click.option("--hours", type=click.FloatRange(min=0), help="Only jobs failed N or more hours ago.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def flush_command(ctx: CliContext, /, hours: float | None, yes: bool) -> None:
    """Delete all failed jobs, or with --hours those with failed_at <= now - N hours
    (Laravel's queue:flush)."""
    older_than = None if hours is None else cutoff(ctx.now(), hours, ctx.settings.timezone)
    if not yes:
        scope = "all failed jobs" if older_than is None else f"failed jobs up to {older_than}"
        confirm(ctx, f"Delete {scope}", declined="Nothing deleted.")
    deleted = ctx.failed.flush(older_than=older_than)
    click.echo(f"Deleted {deleted} failed job(s).")


@click.command(name="prune-failed")
@click.option(
    "--hours",
    type=click.FloatRange(min=0),
    default=24,
    show_default=True,
    help="Delete jobs with failed_at < now - N hours.",
)
@pass_context
def prune_failed_command(ctx: CliContext, /, hours: float) -> None:
    """Delete failed jobs older than --hours, 1000 rows per statement (Laravel's
    queue:prune-failed)."""
    before = cutoff(ctx.now(), hours, ctx.settings.timezone)
    deleted = ctx.failed.prune(before=before)
    click.echo(f"Deleted {deleted} failed job(s) failed before {before}.")


#: Registered on the `bridge` group by `bridge.cli.commands`.
COMMANDS: list[click.Command] = [
    failed_group,
    forget_command,
    flush_command,
    prune_failed_command,
]
