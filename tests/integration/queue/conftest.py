"""Fixtures for the queue storage tests: an engine per database and per-test table names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from queue_helpers import Tables
from sqlalchemy.engine import Engine

from bridge.queue.database import DatabaseQueue, create_engine_for
from bridge.queue.schema import migrate


@pytest.fixture(params=["mysql", "postgres"])
def server_url(request: pytest.FixtureRequest) -> str:
    """Each of the two database servers in turn (for what SQLite does not have)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A bridge engine on each of SQLite, MariaDB and PostgreSQL in turn."""
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tables(engine: Engine) -> Iterator[Tables]:
    """Fresh table names; whatever a test created under them is dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    names = Tables(jobs=f"jobs_{suffix}", failed=f"failed_{suffix}", batches=f"batches_{suffix}")
    yield names
    metadata = sa.MetaData()
    with engine.begin() as conn:
        metadata.reflect(conn, only=lambda name, _: name.endswith(suffix))
        metadata.drop_all(conn)


@pytest.fixture
def queue(engine: Engine, tables: Tables) -> DatabaseQueue:
    """A migrated `jobs` table behind a `DatabaseQueue` (retry_after 90, as the skeleton)."""
    migrate(
        engine, jobs_table=tables.jobs, failed_table=tables.failed, batches_table=tables.batches
    )
    return DatabaseQueue(engine=engine, table=tables.jobs)
