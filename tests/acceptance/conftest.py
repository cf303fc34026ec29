"""Acceptance tests run the installed `bridge` command as a subprocess."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bridge_command() -> str:
    """The `bridge` console script installed next to this interpreter."""
    local = Path(sys.executable).with_name("bridge")
    found = str(local) if local.exists() else shutil.which("bridge")
    if found is None:
        pytest.fail("the bridge command is not installed (pip install -e .)")
    return found
