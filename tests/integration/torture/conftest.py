"""Fixtures of the torture tests: a private MariaDB server to restart at will."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import unavailable
from tests.integration.resilience.private_mariadb import PrivateMariaDB


@pytest.fixture
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test's own (never the shared one), deleted afterwards."""
    try:
        server = PrivateMariaDB()
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable(f"cannot set up a private mariadbd: {exc}")
        raise
    try:
        server.start()
        yield server
    finally:
        server.remove()
