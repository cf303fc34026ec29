"""Fixtures for the SO framework tests: each of its two versions on its own MariaDB database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from so_kit import SO_FRAMEWORK, VERSIONS, SoEnv

from tests.conftest import MYSQL_URL, _server_database, unavailable


@pytest.fixture(scope="module", params=list(VERSIONS))
def so_env_module(
    request: pytest.FixtureRequest, php_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SoEnv]:
    """One SO version with its own tables, for a whole module."""
    version = request.param
    if not (SO_FRAMEWORK / version / "core" / "Queue" / "Job.php").exists():
        unavailable(f"the SO framework is not at {SO_FRAMEWORK / version}")
    log = tmp_path_factory.mktemp(f"so-{version}") / "handled.jsonl"
    for url in _server_database(MYSQL_URL, "mysql"):
        env = SoEnv(version=version, php=php_binary, url=url, log_path=log)
        try:
            yield env
        finally:
            env.close()


@pytest.fixture
def so_env(so_env_module: SoEnv) -> SoEnv:
    """The module's SO environment, tables and log emptied."""
    so_env_module.reset()
    return so_env_module
