"""Fixtures for the worker unit tests."""

from __future__ import annotations

import pytest
from worker_kit import Env, make_env


@pytest.fixture
def env() -> Env:
    return make_env()
