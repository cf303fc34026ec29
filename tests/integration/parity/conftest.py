"""Fixtures for the parity tests: a fresh Laravel environment and its harness tables.

`parity_env` is Laravel 8 on each database; `php_env` is every PHP side, Laravel 8 and 13 / 12
live (see `php_side`), and `php_tables` its tables. A test module may say, in a `runs_on`
function of a case's parameters, which cases apply; the others are deselected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from parity_kit import Tables

from tests.integration.interop.php_side import php_env, php_session  # noqa: F401 (fixtures)
from tests.support.laravel import LaravelEnv, fresh_laravel_env


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the parametrized cases their module's `runs_on` says do not apply."""
    kept, dropped = [], []
    for item in items:
        runs_on = getattr(getattr(item, "module", None), "runs_on", None)
        callspec = getattr(item, "callspec", None)
        applies = runs_on is None or callspec is None or "php_session" not in callspec.params
        (kept if applies or runs_on(callspec.params) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@pytest.fixture
def php_tables(php_env: LaravelEnv) -> Iterator[Tables]:  # noqa: F811 (the imported fixture)
    """`php_env`'s harness tables behind one engine."""
    found = Tables(php_env)
    yield found
    found.dispose()
