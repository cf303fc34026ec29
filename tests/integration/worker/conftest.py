"""Fixtures for the worker integration tests: unique tables on each database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from worker_env import Stores

from bridge.queue.database import create_engine_for


@pytest.fixture
def stores(database_url: str) -> Iterator[Stores]:
    """Stores on SQLite, MariaDB and PostgreSQL in turn; their tables dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    made = Stores(database_url, suffix)
    yield made
    made.close()
    engine = create_engine_for(database_url)
    metadata = sa.MetaData()
    with engine.begin() as conn:
        metadata.reflect(conn, only=lambda name, _: name.endswith(suffix))
        metadata.drop_all(conn)
    engine.dispose()
