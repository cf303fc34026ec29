"""`bridge retry-batch`: retry the failed jobs of a batch (Laravel's `queue:retry-batch`)."""

from __future__ import annotations

import click

from bridge.cli._context import CliContext, pass_context

__all__ = ["retry_batch"]


@click.command(name="retry-batch")
@click.argument("batch_id", metavar="BATCH_ID")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
@click.pass_context
def retry_batch(click_ctx: click.Context, ctx: CliContext, batch_id: str, as_json: bool) -> None:
    """Move the failed jobs of batch BATCH_ID back onto the queue.

    They are the batch's `failed_job_ids` (uuids), retried as `bridge retry-failed UUID...`
    would (no prompt: the batch names them). The batch's counters are left as they are,
    as Laravel's queue:retry-batch leaves them.
    """
    from bridge.cli.retry_failed import retry_failed_command
    from bridge.exceptions import FailedJobNotFound

    batches = ctx.stores.batches
    batch = batches.find(batch_id) if batches is not None else None
    if batch is None:
        raise FailedJobNotFound(f"no batch has the id {batch_id!r} (see the job_batches table)")
    if not batch.failed_job_ids:
        click.echo(f"Batch {batch_id} has no failed jobs.")
        return
    args = [*batch.failed_job_ids, *(["--json"] if as_json else [])]
    sub = retry_failed_command.make_context("retry-failed", args, parent=click_ctx)
    with sub:
        retry_failed_command.invoke(sub)
