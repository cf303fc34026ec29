"""Fixtures for the harness's own tests: a fresh Laravel environment on each database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.laravel import LaravelEnv, fresh_laravel_env


@pytest.fixture
def laravel_env(database_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    """Laravel 8 on SQLite, MariaDB and PostgreSQL in turn, with every harness table empty."""
    return fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)
