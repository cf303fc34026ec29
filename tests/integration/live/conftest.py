"""Fixtures for the live Laravel 12.67 / 13.26 tests: one PHP 8.3 session per package and database.

`live_session` is a `LiveLaravelEnv` served by one `session.php` process for the package's tests,
per framework version and database (SQLite file, a throwaway MariaDB database): the
WebAssembly PHP starts once. `live_env` gives each test the same environment with every harness
table dropped and created again; `bridge_side` opens bridge's stores on those tables. The tests
every PHP side shares (Laravel 8's as well) take `php_env` in the interop and parity packages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.interop.interop_kit import BridgeSide
from tests.integration.interop.php_side import live_laravel
from tests.support.laravel_live import LIVE_FRAMEWORKS, LiveLaravelEnv


@pytest.fixture(scope="package", params=sorted(LIVE_FRAMEWORKS, reverse=True))
def laravel_version(request: pytest.FixtureRequest) -> str:
    """The Laravel major the package runs against (`13`, `12`), as bridge's profiles name it."""
    version: str = request.param
    return version


@pytest.fixture(scope="package", params=["sqlite", "mysql"])
def live_database(request: pytest.FixtureRequest) -> str:
    """A SQLite file or a throwaway MariaDB database, for the package."""
    database: str = request.param
    return database


@pytest.fixture(scope="package")
def live_session(
    laravel_version: str, live_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveLaravelEnv]:
    """Laravel `laravel_version` under PHP 8.3 (WebAssembly), one process for the package."""
    with live_laravel(laravel_version, live_database, tmp_path_factory.mktemp("live")) as env:
        yield env


@pytest.fixture
def live_env(live_session: LiveLaravelEnv) -> LiveLaravelEnv:
    """The package's Laravel with every harness table empty."""
    live_session.migrate(fresh=True)
    return live_session


@pytest.fixture
def bridge_side(live_env: LiveLaravelEnv) -> Iterator[BridgeSide]:
    """bridge's stores, dispatcher and worker on `live_env`'s tables (on SQLite, in the
    rollback journal the WebAssembly PHP can read: see `LiveLaravelEnv.sqlite_wal`)."""
    with BridgeSide.open(live_env) as side:
        yield side
