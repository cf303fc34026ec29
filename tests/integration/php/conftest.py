"""A long-running PHP process that unserializes and re-serializes what the tests send.

Every test module here runs on both codec paths (see `codec_path`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "php_fixtures"


class PhpPeer:
    """One `php php_roundtrip.php` process; each request is a length-prefixed blob."""

    def __init__(self, php_binary: str) -> None:
        self._proc = subprocess.Popen(
            [php_binary, str(FIXTURES / "php_roundtrip.php")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def round_trip(self, data: bytes) -> bytes | None:
        """PHP's serialize(unserialize(data)), or None when PHP rejects the data."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(b"rt %d\n" % len(data) + data)
        self._proc.stdin.flush()
        status, length = self._proc.stdout.readline().split()
        body = self._proc.stdout.read(int(length))
        return body if status == b"OK" else None

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        self._proc.stdout.close()


@pytest.fixture(scope="session")
def php_peer(php_binary: str) -> Iterator[PhpPeer]:
    """The PHP round-trip peer, shared by the whole session."""
    peer = PhpPeer(php_binary)
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture(autouse=True, scope="module")
def _on_each_codec_path(codec_path: str) -> str:
    return codec_path
