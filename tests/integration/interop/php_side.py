"""The PHP side of a shared queue: Laravel 8 on native PHP, or Laravel 13 / 12 live.

A test written once against `php_env` runs against every PHP side the repository can drive:
Debian's Laravel 8.83 under PHP 8.2 on SQLite, MariaDB and PostgreSQL, and Laravel 13.26 /
12.67 under the WebAssembly PHP 8.3 (`tests.support.laravel_live`) on SQLite and MariaDB. A
conftest takes these fixtures by importing them. `php_session` is package-scoped, so pytest
groups a package's tests by side and a live PHP boots once per side and package; `php_env`
gives each test that side with every harness table dropped and created again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.conftest import MYSQL_URL, _server_database, unavailable
from tests.integration.interop.interop_kit import BridgeSide
from tests.support.laravel import LaravelEnv, fresh_laravel_env
from tests.support.laravel_live import LIVE_FRAMEWORKS, LiveLaravelEnv, live_missing

#: Every (Laravel major, database) pair a PHP side runs on. The live PHP has no pgsql driver.
PHP_SIDES = [
    ("8", "sqlite"),
    ("8", "mysql"),
    ("8", "postgres"),
    *((version, database) for version in LIVE_FRAMEWORKS for database in ("sqlite", "mysql")),
]


@contextmanager
def live_laravel(version: str, database: str, tmp: Path) -> Iterator[LiveLaravelEnv]:
    """Laravel `version` live on a SQLite file under `tmp` or a throwaway MariaDB database,
    served by one `session.php` process until the block ends."""
    missing = live_missing(version)
    if missing is not None:
        unavailable(missing)
    with ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{tmp / 'queue.sqlite'}"
        else:
            url = stack.enter_context(contextmanager(_server_database)(MYSQL_URL, "mysql"))
        base = LiveLaravelEnv(
            database_url=url, framework=LIVE_FRAMEWORKS[version], cache_dir=tmp / "laravel-cache"
        )
        env = base.open_session()
        stack.callback(env.close)
        yield env


@pytest.fixture(scope="package", params=PHP_SIDES, ids=lambda side: f"laravel{side[0]}-{side[1]}")
def php_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LaravelEnv]:
    """One PHP side for the package: a live session, or Laravel 8's settings (its SQLite file
    is made per test, as `php_env` asks for it)."""
    version, database = request.param
    if version != "8":
        with live_laravel(version, database, tmp_path_factory.mktemp("live")) as env:
            yield env
        return
    php_binary = request.getfixturevalue("php_binary")
    request.getfixturevalue("laravel")
    url = "" if database == "sqlite" else request.getfixturevalue(f"{database}_url")
    yield LaravelEnv(database_url=url, php_binary=php_binary)


@pytest.fixture
def php_env(php_session: LaravelEnv, request: pytest.FixtureRequest, tmp_path: Path) -> LaravelEnv:
    """The package's PHP side with every harness table empty."""
    if isinstance(php_session, LiveLaravelEnv):
        php_session.migrate(fresh=True)
        return php_session
    url = php_session.database_url or request.getfixturevalue("sqlite_url")
    return fresh_laravel_env(url, php_binary=php_session.php_binary, tmp_path=tmp_path)


@pytest.fixture
def php_bridge(php_env: LaravelEnv) -> Iterator[BridgeSide]:
    """bridge's stores, dispatcher and worker on `php_env`'s tables."""
    with BridgeSide.open(php_env) as side:
        yield side
