"""Fixtures for the live Laravel 12.67 / 13.26 tests: one PHP 8.3 session per module and database.

`live_session` is a `LiveLaravelEnv` served by one `session.php` process for the whole test
module, per framework version and database (SQLite file, a throwaway MariaDB database): the
WebAssembly PHP starts once. `live_env` gives each test the same environment with every harness
table dropped and created again; `bridge_side` opens bridge's stores on those tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import MYSQL_URL, _server_database, unavailable
from tests.integration.interop.interop_kit import BridgeSide
from tests.support.laravel_live import LIVE_DIR, LIVE_FRAMEWORKS, LiveLaravelEnv, php83_missing


@pytest.fixture(scope="package", params=sorted(LIVE_FRAMEWORKS, reverse=True))
def laravel_version(request: pytest.FixtureRequest) -> str:
    """The Laravel major the module runs against (`13`, `12`), as bridge's profiles name it."""
    version: str = request.param
    return version


@pytest.fixture(scope="package", params=["sqlite", "mysql"])
def live_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A SQLite file or a throwaway MariaDB database, for one module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('live') / 'queue.sqlite'}"
    else:
        yield from _server_database(MYSQL_URL, "mysql")


@pytest.fixture(scope="package")
def live_session(
    laravel_version: str, live_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveLaravelEnv]:
    """Laravel `laravel_version` under PHP 8.3 (WebAssembly), one process for the module."""
    missing = php83_missing()
    if missing is not None:
        unavailable(f"PHP 8.3 (WebAssembly) for Laravel {laravel_version}: {missing}")
    framework = LIVE_FRAMEWORKS[laravel_version]
    if not (LIVE_DIR / "framework" / framework).is_dir():
        unavailable(f"laravel/framework {framework} is not in {LIVE_DIR}")
    base = LiveLaravelEnv(
        database_url=live_database_url,
        framework=framework,
        cache_dir=tmp_path_factory.mktemp("laravel-cache"),
    )
    env = base.open_session()
    try:
        yield env
    finally:
        env.close()


@pytest.fixture
def live_env(live_session: LiveLaravelEnv) -> LiveLaravelEnv:
    """The module's Laravel with every harness table empty."""
    live_session.migrate(fresh=True)
    return live_session


@pytest.fixture
def bridge_side(live_env: LiveLaravelEnv) -> Iterator[BridgeSide]:
    """bridge's stores, dispatcher and worker on `live_env`'s tables.

    A SQLite file stays in the rollback-journal mode Laravel uses: the WebAssembly PHP has no
    memory shared with other processes, so it cannot read what another process wrote to a WAL.
    """
    side = BridgeSide.open(live_env, sqlite_wal=False)
    try:
        yield side
    finally:
        side.close()
