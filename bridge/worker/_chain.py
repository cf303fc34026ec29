"""Chains: after a chained job succeeds, dispatch the next one as Laravel's worker does.

The next job is built by `bridge.laravel.command.next_chained_job` (what Laravel's worker
does with `chained[0]`: the rest of the list, its own connection/queue or else the chain's,
the copied `chainConnection`, `chainQueue` and `chainCatchCallbacks`) for the Laravel release
detected from the current payload, and pushed before the current row is deleted, whichever
language runs either job.

What only PHP knows cannot be carried for an undeclared next class: `displayName()`,
`tries()`, `backoff()` and `retryUntil()` *methods*, and (9.4+) property values equal to the
class default, which Laravel leaves out of the command; such jobs get the worker's defaults.
Whether the next class is `ShouldBeEncrypted` is not visible either: its command is encrypted
when the current one was (or it has a truthy `shouldBeEncrypted`) and an encrypter is set.
Payload-hook keys (Context) are not added.
"""

from __future__ import annotations

import logging
import uuid as uuid_module

from bridge.laravel.command import next_chained_job
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.laravel.versions import NEWEST_MAJOR, detect_profile, profile_for
from bridge.php import PhpObject
from bridge.queue.base import JobQueue

__all__ = ["dispatch_next_in_chain"]


def dispatch_next_in_chain(
    command: PhpObject,
    *,
    queue: JobQueue,
    current: JobPayload,
    current_text: str,
    default_queue: str,
    encrypter: Encrypter | None,
    now: int,
    logger: logging.Logger,
) -> int | str | None:
    """Push the next job of `command`'s chain; return its row id, or None without a chain.

    Args:
        command: The finished job's command.
        queue: Where the next job goes (a worker has one connection).
        current: The finished job's payload; `current_text` its exact text (version detection).
        default_queue: The connection's default queue, for a next job naming none.
        encrypter: Encrypts the next command when the current one was encrypted.
        now: Unix seconds of the dispatch.
        logger: Told when the next job names another connection.
    """
    if not command.get("chained"):
        return None
    profile = detect_profile([current_text]) or profile_for(NEWEST_MAJOR)
    step = next_chained_job(
        command,
        profile=profile,
        uuid=str(uuid_module.uuid4()),
        now=now,
        encrypter=encrypter,
        encrypted=current.is_encrypted,
    )
    if step is None:
        return None
    if step.connection is not None and step.connection != queue.connection_name:
        logger.warning(
            "Chained job %s asks for connection %r; pushed onto %r, the only one this worker has",
            step.command.class_name,
            step.connection,
            queue.connection_name,
        )
    return queue.push(
        step.payload,
        queue=step.queue or default_queue,
        now=now,
        delay_seconds=step.delay_seconds or 0,
    )
