"""Fixtures for the parity tests: a fresh Laravel environment on each database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from parity_kit import Tables

from tests.support.laravel import LaravelEnv, fresh_laravel_env


@pytest.fixture
def parity_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on SQLite, MariaDB and PostgreSQL in turn, every harness table empty."""
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)


@pytest.fixture
def tables(parity_env: LaravelEnv) -> Iterator[Tables]:
    """The environment's harness tables behind one engine."""
    found = Tables(parity_env)
    yield found
    found.dispose()
