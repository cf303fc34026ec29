"""Chains: after a chained job succeeds, dispatch the next one as Laravel's worker does.

`chained` holds the complete serialize() text of each next job. Laravel unserializes the first,
gives it the rest of the list, its own connection/queue or the chain's, copies
`chainConnection`, `chainQueue` and `chainCatchCallbacks`, and dispatches it (new uuid, new row)
before the current row is deleted; whichever language runs either job.
"""

from __future__ import annotations

from bridge.laravel.payload import JobPayload
from bridge.php import PhpObject
from bridge.queue.base import JobQueue

__all__ = ["dispatch_next_in_chain"]


def dispatch_next_in_chain(
    command: PhpObject, *, queue: JobQueue, payload: JobPayload, now: int
) -> int | None:
    """Push the next job of `command`'s chain; return its row id, or None without a chain."""
    chained = command.get("chained")
    if not chained:
        return None
    raise NotImplementedError("chains: waiting for the Laravel layer's next_chained_job")
