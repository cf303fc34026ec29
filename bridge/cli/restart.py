"""`bridge restart`: the restart signal of `php artisan queue:restart`, for both languages.

Both write the same value in Laravel's cache store (a `cache` row, a Redis key or a file:
see bridge.cli._restart_signal), so PHP workers stop after their current job when bridge
sends it, and `bridge work` stops when artisan sends it.
"""

from __future__ import annotations

import click

from bridge.cli._context import CliContext, pass_context
from bridge.cli._restart_signal import READABLE_STORES, RestartSignal

__all__ = ["restart"]


@click.command()
@pass_context
def restart(ctx: CliContext) -> None:
    """Ask every worker, PHP's `queue:work` and `bridge work`, to stop after its current job.

    Laravel's queue:restart signal: the time, stored in Laravel's cache store under the
    cache prefix (CACHE_PREFIX, else each of Laravel's defaults for APP_NAME): the `cache`
    table of the database store, with CACHE_STORE=redis the Redis `cache` connection
    (REDIS_CACHE_DB), with CACHE_STORE=file a file in the app's storage/framework/cache/data.
    The supervisor then starts the workers again, with new code.
    """
    settings = ctx.settings
    if settings.cache_store not in READABLE_STORES:
        click.secho(
            f"Warning: the cache store is {settings.cache_store!r} (CACHE_STORE/CACHE_DRIVER); "
            "PHP workers read the restart signal there, which bridge cannot write: only "
            "workers reading the database cache see this one.",
            fg="yellow",
            err=True,
        )
    signal = RestartSignal(ctx)
    try:
        where = signal.write()
    finally:
        signal.close()
    click.echo(f"Broadcast the queue restart signal in {where}.")
