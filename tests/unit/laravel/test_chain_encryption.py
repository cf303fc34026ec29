"""The next job of a chain gets its command encrypted as it is written, not after.

The worker used to take the next payload's text, parse it again, encrypt `data.command` and
write the JSON once more; `next_chained_job(encrypter=..., encrypted=...)` encrypts before
the JSON is written. Both must give the same text (IVs pinned), for each reason to encrypt.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.laravel.command import next_chained_job
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.laravel.versions import profile_for
from bridge.php import PhpObject, loads

PINNED = Encrypter(b"k" * 32, random_bytes=lambda n: b"\x02" * n)


def chain_of(head: str) -> PhpObject:
    command = loads('O:13:"App\\Jobs\\Ping":1:{s:2:"id";i:7;}')
    assert isinstance(command, PhpObject)
    command.set("chained", [head])
    return command


def encrypted_afterwards(text: str) -> str:
    """What the worker's chain step did: parse the payload, encrypt its command, re-encode."""
    payload = JobPayload.from_json(text)
    assert payload.command is not None
    secret = PINNED.encrypt(payload.command.encode("utf-8", "surrogateescape"))
    return payload.replace(command=secret).to_json()


NEXT = 'O:13:"App\\Jobs\\Next":2:{s:4:"name";s:6:"Zoë/x";s:5:"queue";s:1:"q";}'
FLAGGED = 'O:13:"App\\Jobs\\Next":1:{s:17:"shouldBeEncrypted";s:1:"1";}'
UNFLAGGED = 'O:13:"App\\Jobs\\Next":1:{s:17:"shouldBeEncrypted";s:1:"0";}'


@pytest.mark.parametrize("version", ["8.0.0", "8.83", "12.67", "13.26"])
@pytest.mark.parametrize(
    ("head", "encrypted", "expect_encrypted"),
    [(NEXT, True, True), (FLAGGED, False, True), (UNFLAGGED, False, False), (NEXT, False, False)],
)
def test_encrypting_while_writing_gives_what_encrypting_afterwards_gave(
    version: str, head: str, encrypted: bool, expect_encrypted: bool
) -> None:
    kwargs: dict[str, Any] = {"profile": profile_for(version), "uuid": "u-2", "now": 9}
    plain = next_chained_job(chain_of(head), **kwargs)
    step = next_chained_job(chain_of(head), encrypter=PINNED, encrypted=encrypted, **kwargs)
    assert plain is not None and step is not None
    expected = encrypted_afterwards(plain.payload) if expect_encrypted else plain.payload
    assert step.payload == expected
    assert (step.connection, step.queue, step.delay_seconds) == (
        plain.connection,
        plain.queue,
        plain.delay_seconds,
    )


def test_without_an_encrypter_nothing_is_encrypted() -> None:
    step = next_chained_job(chain_of(FLAGGED), profile=profile_for(12), uuid="u", now=1)
    assert step is not None and not JobPayload.from_json(step.payload).is_encrypted
