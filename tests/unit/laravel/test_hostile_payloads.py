"""Payloads written to attack the reader: no code runs, nothing big is allocated, clear errors.

A queue row is data from whoever could write to the `jobs` table. Reading it must never
import or call anything its class names name, never allocate what a declared count or length
promises before the bytes are there, and refuse deep nesting and tampered ciphertext with
one of bridge's errors (which the worker turns into a failed job, payload kept).
"""

from __future__ import annotations

import base64
import builtins
import importlib
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.exceptions import DecryptionError, PhpDecodeError, PhpLimitError, PhpTruncatedError
from bridge.laravel.command import decode_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.php import PhpObject, loads
from bridge.worker import App
from tests.support.decode_path import APP_KEY, decode_like_worker

PYTHON_NAMES = [
    "os\\system",
    "__import__",
    "builtins\\eval",
    "builtins\\exec",
    "subprocess\\Popen",
    "posix\\system",
    "importlib\\import_module",
    "bridge\\worker\\App",
]
# Names PHP's grammar refuses (dots, parentheses): an error, not an object.
INVALID_NAMES = ["os.system", "builtins.eval", "__import__('os')", "os:system"]


def serialized_name(name: str) -> str:
    raw = name.encode()
    return f'O:{len(raw)}:"{name}":1:{{s:3:"cmd";s:2:"id";}}'


def payload_for(command: str, name: str) -> str:
    return json.dumps(
        {
            "uuid": "u-1",
            "displayName": name,
            "job": "Illuminate\\Queue\\CallQueuedHandler@call",
            "data": {"commandName": name, "command": command},
        }
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records every call of the functions a hostile class name could try to reach."""
    seen: list[str] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            seen.append(f"{name}{args[:1]!r}")
            return real(*args, **kwargs)

        return recorded

    for owner, attr in [
        (os, "system"),
        (os, "popen"),
        (builtins, "eval"),
        (builtins, "exec"),
        (importlib, "import_module"),
        (subprocess, "Popen"),
    ]:
        monkeypatch.setattr(owner, attr, spy(attr, getattr(owner, attr)))
    yield seen


@pytest.mark.parametrize("name", PYTHON_NAMES)
def test_a_class_name_that_looks_like_python_stays_a_name(calls: list[str], name: str) -> None:
    modules = set(sys.modules)
    command = serialized_name(name)
    value = loads(command)
    assert isinstance(value, PhpObject) and value.class_name == name
    summary = decode_like_worker(payload_for(command, name), Encrypter(APP_KEY))
    assert name in summary
    # No handler is registered under it, and resolving one imports nothing.
    assert App().resolve(JobPayload.from_json(payload_for(command, name))) is None
    assert calls == []
    assert set(sys.modules) == modules


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_a_class_name_php_would_refuse_is_a_decode_error(calls: list[str], name: str) -> None:
    with pytest.raises(PhpDecodeError):
        loads(serialized_name(name))
    assert calls == []


@pytest.mark.parametrize(
    "data",
    [
        b"a:999999999:{",
        b"a:999999999:{i:0;N;}",
        b'O:1:"A":999999999:{',
        b's:999999999:"',
        b's:999999999:"abc";',
        b'S:999999999:"abc";',
        b's:9223372036854775807:"x";',
        b"a:9223372036854775807:{}",
        b'C:1:"A":999999999:{x}',
        b"a:1:{i:0;a:999999999:{" + b"i:0;N;" * 100 + b"}}",
    ],
)
def test_a_huge_declared_count_or_length_allocates_nothing_up_front(
    codec_path: str, data: bytes
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises((PhpTruncatedError, PhpDecodeError)):
            loads(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes traced for {len(data)} bytes of input"


@pytest.mark.parametrize(
    "unit",
    [b"a:1:{i:0;", b'O:1:"A":1:{s:1:"a";', b'a:1:{s:1:"k";'],
)
def test_nesting_a_hundred_thousand_deep_is_a_clear_limit_error(
    codec_path: str, unit: bytes
) -> None:
    depth = 100_000
    data = unit * depth + b"N;" + b"}" * depth
    with pytest.raises(PhpLimitError, match=r"max_depth|nesting"):
        loads(data)


def test_nesting_a_hundred_thousand_deep_in_a_payload_is_a_clear_error() -> None:
    depth = 100_000
    command = 'O:1:"A":1:{s:1:"a";' + "a:1:{i:0;" * depth + "N;" + "}" * (depth + 1)
    payload = JobPayload.from_json(payload_for(command, "A"))
    with pytest.raises(PhpLimitError):
        decode_command(payload)
    # The child runs the same with a 512 MiB address-space limit: no blow-up on the way.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from bridge.php import loads\n"
        "from bridge.exceptions import PhpLimitError\n"
        "try:\n"
        "    loads(sys.stdin.buffer.read())\n"
        "except PhpLimitError:\n"
        "    print('limit')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=command.encode(), capture_output=True, timeout=120
    )
    assert result.stdout.strip() == b"limit", result.stderr[-2000:]


def tampered(envelope: str, field: str, position: int) -> str:
    inner = json.loads(base64.b64decode(envelope))
    if field == "mac":
        text = inner["mac"]
        swapped = "0" if text[position] != "0" else "1"
        inner["mac"] = text[:position] + swapped + text[position + 1 :]
    else:
        raw = bytearray(base64.b64decode(inner[field]))
        raw[position] ^= 0x01
        inner[field] = base64.b64encode(bytes(raw)).decode()
    return base64.b64encode(json.dumps(inner).encode()).decode()


def field_size(envelope: str, field: str) -> int:
    inner = json.loads(base64.b64decode(envelope))
    return len(inner[field]) if field == "mac" else len(base64.b64decode(inner[field]))


@pytest.mark.parametrize("cipher", ["AES-256-CBC", "AES-128-CBC", "AES-256-GCM"])
def test_changing_any_one_byte_of_iv_value_mac_or_tag_is_a_decryption_error(cipher: str) -> None:
    key = (
        APP_KEY
        if cipher.startswith("AES-256")
        else "base64:" + base64.b64encode(b"k" * 16).decode("ascii")
    )
    encrypter = Encrypter(key, cipher)
    command = 'O:13:"App\\Jobs\\Ping":1:{s:2:"id";i:7;}'
    envelope = encrypter.encrypt(command)
    payload = JobPayload.from_json(payload_for(envelope, "App\\Jobs\\Ping"))
    assert decode_command(payload, encrypter=encrypter).class_name == "App\\Jobs\\Ping"
    fields = ["iv", "value", "tag"] if encrypter.is_aead else ["iv", "value", "mac"]
    checked = 0
    for field in fields:
        for position in range(field_size(envelope, field)):
            bad = JobPayload.from_json(payload_for(tampered(envelope, field, position), "A"))
            with pytest.raises(DecryptionError):
                decode_command(bad, encrypter=encrypter)
            checked += 1
    assert checked > 60
