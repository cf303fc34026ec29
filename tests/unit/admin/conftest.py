"""Fixtures for the failed-job toolbox unit tests: in-memory stores in both layouts."""

from __future__ import annotations

import pytest

from bridge.queue.memory import InMemoryFailedJobStore, InMemoryQueue


@pytest.fixture
def queue() -> InMemoryQueue:
    """An empty in-memory `jobs` table (connection `database`)."""
    return InMemoryQueue()


@pytest.fixture(params=[True, False], ids=["uuid-layout", "id-only-layout"])
def failed_store(request: pytest.FixtureRequest) -> InMemoryFailedJobStore:
    """An empty in-memory `failed_jobs` table, in each of the two layouts."""
    return InMemoryFailedJobStore(has_uuid=bool(request.param))
