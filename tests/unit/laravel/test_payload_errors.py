"""A payload that cannot be read or interpreted raises one of bridge's errors, nothing else.

The worker fails a row intact with the reason when reading it raises `PayloadError` or a codec
error (`PhpSerializeError`); anything else used to escape it and leave the row reserved, to
come back until its `attempts` overflowed. Each case here escaped as a built-in error before
(named in the test), from JSON options, the encrypted envelope, the command or its chain.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bridge.exceptions import (
    BridgeError,
    DecryptionError,
    PayloadDecodeError,
    PayloadError,
    PhpDecodeError,
)
from bridge.laravel._json import php_json_encode
from bridge.laravel.command import decode_command, next_chained_job
from bridge.laravel.encryption import Encrypter, php_unserialize_string
from bridge.laravel.payload import JobPayload, delay_seconds, payload_uuid
from bridge.laravel.versions import detect_profile, profile_for
from bridge.php import PhpObject, dumps, loads
from bridge.retry import backoff_seconds
from tests.support.decode_path import APP_KEY, decode_like_worker

COMMAND = 'O:13:"App\\Jobs\\Ping":1:{s:2:"id";i:7;}'
HANDLER = "Illuminate\\Queue\\CallQueuedHandler@call"
INT64_MAX = 2**63 - 1


def payload_text(**keys: Any) -> str:
    raw: dict[str, Any] = {
        "uuid": "u-1",
        "displayName": "App\\Jobs\\Ping",
        "job": HANDLER,
        "maxTries": None,
        "data": {"commandName": "App\\Jobs\\Ping", "command": COMMAND},
    }
    raw.update(keys)
    return json.dumps(raw, allow_nan=True)


def deep_json(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "key", ["maxTries", "maxExceptions", "timeout", "retryUntil", "timeoutAt", "delay", "createdAt"]
)
@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "1e400", "9223372036854775808"])
def test_a_number_outside_phps_int_range_in_an_option_is_a_payload_error(
    key: str, number: str
) -> None:
    # Before: OverflowError (int(inf)) for the first three; the fourth was taken as is.
    text = payload_text().replace('"maxTries": null', f'"maxTries": null, "{key}": {number}')
    with pytest.raises(PayloadDecodeError, match=f"'{key}' must be a 64-bit integer"):
        JobPayload.from_json(text)


def test_the_largest_64_bit_values_are_still_read() -> None:
    payload = JobPayload.from_json(payload_text(timeout=INT64_MAX, delay=-(2**63), maxTries=2.0))
    assert (payload.timeout, payload.delay, payload.max_tries) == (INT64_MAX, -(2**63), 2)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deep_is_a_payload_error(depth: int) -> None:
    # Before: RecursionError from json.loads.
    text = payload_text(hook="HOOK").replace('"HOOK"', deep_json(depth))
    with pytest.raises(PayloadDecodeError, match="nested too deep"):
        JobPayload.from_json(text)
    assert payload_uuid(text) is None


def test_an_envelope_nested_too_deep_is_a_decryption_error() -> None:
    # Before: RecursionError from json.loads inside the decryption.
    envelope = base64.b64encode(deep_json(5_000).encode()).decode()
    payload = JobPayload.from_json(payload_text(data={"command": envelope}))
    with pytest.raises(DecryptionError, match="not a base64 JSON envelope"):
        decode_command(payload, encrypter=Encrypter(APP_KEY))


def test_a_lone_surrogate_in_the_command_is_a_codec_error() -> None:
    # Before: UnicodeEncodeError; JSON's "\ud800" has no UTF-8 bytes.
    text = payload_text().replace('i:7;}"', 'i:7;}\\ud800"')
    payload = JobPayload.from_json(text)
    with pytest.raises(PhpDecodeError, match="lone surrogate"):
        decode_command(payload)
    with pytest.raises(PhpDecodeError):
        loads("i:1;\ud800")


@pytest.mark.parametrize("mac", ["\ud800", "é" * 64])
def test_a_mac_that_is_not_hex_text_is_a_decryption_error(mac: str) -> None:
    # Before: UnicodeEncodeError for the surrogate.
    sealed = Encrypter(APP_KEY).encrypt(COMMAND)
    inner = json.loads(base64.b64decode(sealed))
    inner["mac"] = mac
    tampered = base64.b64encode(json.dumps(inner).encode()).decode()
    with pytest.raises(DecryptionError, match="MAC is invalid"):
        Encrypter(APP_KEY).decrypt(tampered)


def test_an_envelope_that_is_a_lone_surrogate_is_a_decryption_error() -> None:
    payload = JobPayload.from_json(payload_text(data={"command": "\ud800"}))
    with pytest.raises(DecryptionError):
        decode_command(payload, encrypter=Encrypter(APP_KEY))


def test_a_serialized_length_of_thousands_of_digits_after_decryption_is_an_error() -> None:
    # Before: ValueError from int() (Python's limit on int-string conversion).
    with pytest.raises(DecryptionError):
        php_unserialize_string(b"s:" + b"9" * 5000 + b':"x";')


def chain_command(head: Any) -> PhpObject:
    command = loads(COMMAND)
    assert isinstance(command, PhpObject)
    command.set("chained", [head])
    return command


@pytest.mark.parametrize("head", [5, None, 1.5, [COMMAND], {"a": 1}, True, 10**12])
def test_a_chained_job_that_is_not_a_string_is_a_payload_error(head: Any) -> None:
    # Before: TypeError (None, 1.5, lists...) or, for 10**12, MemoryError: loads(int) made
    # bytes of that size.
    with pytest.raises(PayloadDecodeError, match="chained\\[0\\] is a"):
        next_chained_job(chain_command(head), profile=profile_for(12), uuid="u-2", now=0)


def test_a_chained_job_delayed_by_infinity_is_a_payload_error() -> None:
    # Before: OverflowError from int(inf).
    head = 'O:13:"App\\Jobs\\Ping":1:{s:5:"delay";d:INF;}'
    with pytest.raises(PayloadError, match="delay must be seconds"):
        next_chained_job(chain_command(head), profile=profile_for(12), uuid="u-2", now=0)
    with pytest.raises(PayloadError):
        delay_seconds(float("nan"), 0)


def test_loads_refuses_an_int_instead_of_allocating_its_size() -> None:
    with pytest.raises(TypeError):
        loads(10**12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backoff", "attempts", "seconds"),
    [
        ("9" * 5000, 1, INT64_MAX),  # PHP's (int) cast saturates
        ("-" + "9" * 5000, 1, 0),
        ("1," + "0" * 5000 + "7", 2, 7),
        (" 12abc", 1, 12),
        ("abc", 1, 0),
        ("٣", 1, 0),  # not an ASCII digit: PHP reads 0 (Python's int() would read 3)
    ],
)
def test_a_backoff_step_is_read_as_phps_int_cast_reads_it(
    backoff: str, attempts: int, seconds: int
) -> None:
    # Before: ValueError from int() for thousands of digits.
    payload = JobPayload.from_json(payload_text(backoff=backoff))
    assert backoff_seconds(payload, attempts=attempts, worker_backoff="0") == seconds


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1"])
def test_a_payload_in_bytes_must_be_utf8_without_a_bom(encoding: str) -> None:
    # Before: UnicodeDecodeError for UTF-16 with a BOM, which json.loads had accepted.
    text = json.dumps(json.loads(payload_text(displayName="Grüße")), ensure_ascii=False)
    with pytest.raises(PayloadDecodeError):
        JobPayload.from_json(text.encode(encoding))
    assert JobPayload.from_json(text.encode()).display_name == "Grüße"


def test_json_too_deep_to_write_is_a_payload_error() -> None:
    # Before: RecursionError when a payload was rewritten (retry-failed, chains).
    nested: Any = 1
    for _ in range(5_000):
        nested = [nested]
    with pytest.raises(PayloadError, match="Maximum stack depth"):
        php_json_encode({"a": nested}, unescaped_unicode=True)
    assert php_json_encode({"9" * 5000: 1}, unescaped_unicode=False) == '{"' + "9" * 5000 + '":1}'


@pytest.mark.parametrize(
    "text",
    [
        payload_text(maxTries=float("inf")),
        payload_text(retryUntil="1e400"),
        payload_text(backoff="9" * 5000),
        payload_text(hook="HOOK").replace('"HOOK"', deep_json(1_000)),
        payload_text().replace('i:7;}"', 'i:7;}\\ud800"'),
        payload_text(data={"command": "\ud800"}),
    ],
)
def test_the_workers_decoding_steps_raise_only_bridge_errors(text: str) -> None:
    try:
        decode_like_worker(text, Encrypter(APP_KEY))
    except BridgeError:
        pass


def test_a_chain_with_a_bad_head_fails_the_workers_steps_with_a_payload_error() -> None:
    text = payload_text(data={"command": dumps(chain_command(None)).decode()})
    with pytest.raises(PayloadDecodeError):
        decode_like_worker(text, None)


def test_a_payload_nested_too_deep_to_copy_is_a_payload_error_when_rewritten() -> None:
    # Before: RecursionError from the deep copy that keeps key order.
    nested: Any = 1
    for _ in range(5_000):
        nested = [nested]
    payload = JobPayload.from_raw({"job": HANDLER, "hook": nested})
    with pytest.raises(PayloadError, match="nested too deep"):
        payload.replace(uuid="u-2")
    assert detect_profile([payload_text(hook="HOOK").replace('"HOOK"', deep_json(100_000))]) is None
