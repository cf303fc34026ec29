"""The steps a worker takes from a row's payload text to a job it can run, without a database.

`Processor.process` (bridge/worker/_process.py) reads a reserved row this way: it parses the
payload (`JobPayload.from_json`), names it, asks the retry policy whether it may run,
decrypts and unserializes its command (`decode_command`), and reads the timeout; after a
handler's exception it reads the backoff, after a timeout the same limits again; after a
success it builds the next job of a chain (`dispatch_next_in_chain`: version detection, then
`next_chained_job`, then encryption of the next command) and reads the batch id.
`decode_like_worker` makes each of those calls, in that order, on one payload text, and
returns a summary of what they gave, so that two runs (the C and the pure-Python codec) can be
compared. Whatever it raises is what the worker would meet on that row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.laravel.command import batch_id_of, decode_command, next_chained_job
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.laravel.versions import detect_profile, profile_for
from bridge.php import PhpDecoder, PhpObject
from bridge.retry import (
    RetryDefaults,
    backoff_seconds,
    decide_after_exception,
    decide_before_run,
    decide_on_timeout,
    timeout_seconds,
)

FIXTURES = Path(__file__).resolve().parents[1] / "vectors" / "laravel-fixtures"
#: The APP_KEY the recorded Laravel fixtures were encrypted with.
APP_KEY = json.loads((FIXTURES / "manifest.json").read_text("utf-8"))["app_key"]
NOW = 1_800_000_000
NEXT_UUID = "00000000-0000-4000-8000-000000000000"


def encrypter() -> Encrypter:
    return Encrypter(APP_KEY)


def decode_like_worker(
    text: str | bytes, encrypter: Encrypter | None, decoder: PhpDecoder | None = None
) -> tuple[Any, ...]:
    """Take one payload text through the worker's decoding steps; a summary of the results."""
    # Tries to spare, so that an exception releases the job and its backoff is read.
    defaults = RetryDefaults(tries=5)
    payload = JobPayload.from_json(text)
    summary: list[Any] = [payload.name, payload.uuid, payload.batch_id, payload.is_encrypted]
    summary.append(decide_before_run(payload, attempts=1, defaults=defaults, now=NOW))
    command: PhpObject | None = None
    if payload.is_object_job:
        command = decode_command(payload, encrypter=encrypter, decoder=decoder)
        summary.append(command.class_name)
    summary.append(timeout_seconds(payload, defaults))
    for attempts in (1, 2, 3, 255):
        summary.append(backoff_seconds(payload, attempts=attempts, worker_backoff="0"))
        summary.append(
            decide_after_exception(
                payload, attempts=attempts, exception_count=attempts, defaults=defaults, now=NOW
            )
        )
        summary.append(
            decide_on_timeout(
                payload, attempts=attempts, exception_count=attempts, defaults=defaults, now=NOW
            )
        )
    if command is not None:
        summary.append(batch_id_of(command))
        if command.get("chained"):
            current = payload.to_json()
            profile = detect_profile([current]) or profile_for(12)
            step = next_chained_job(
                command,
                profile=profile,
                uuid=NEXT_UUID,
                now=NOW,
                encrypter=encrypter,
                encrypted=payload.is_encrypted,
            )
            if step is not None:
                next_text = step.payload
                summary.extend((len(next_text), step.connection, step.queue, step.delay_seconds))
    return tuple(summary)
