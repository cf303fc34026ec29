"""`new_redis_id`: Laravel's `Str::random(32)` alphabet, every character equally likely."""

from __future__ import annotations

import random

import pytest

from bridge.queue import redis as redis_queue
from bridge.queue.redis import new_redis_id

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def by_the_rule(source: bytes) -> str:
    """The rule, written plainly: byte b < 248 gives ALPHABET[b % 62]; the first 32 count."""
    return "".join(ALPHABET[b % 62] for b in source if b < 248)[:32]


def test_ids_are_32_letters_and_digits_and_differ() -> None:
    ids = {new_redis_id() for _ in range(1_000)}
    assert len(ids) == 1_000
    assert all(len(i) == 32 and set(i) <= set(ALPHABET) for i in ids)


def test_the_same_random_bytes_give_the_id_the_rule_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for _ in range(500):
        # Runs of high bytes make some ids read more than once.
        source = bytes(
            rng.choice([rng.randrange(256), rng.randrange(240, 256)]) for _ in range(400)
        )
        reads = iter(source[i : i + 40] for i in range(0, len(source), 40))
        monkeypatch.setattr(redis_queue.os, "urandom", lambda n, reads=reads: next(reads))
        assert new_redis_id() == by_the_rule(source)


def test_the_top_eight_byte_values_are_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only bytes 248..255 at first: all dropped; then byte 61 ("9") from the next read.
    reads = iter([bytes(range(248, 256)) * 5, bytes([61]) * 40])
    monkeypatch.setattr(redis_queue.os, "urandom", lambda n: next(reads))
    assert new_redis_id() == "9" * 32
