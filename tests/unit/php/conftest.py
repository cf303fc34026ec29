"""Every codec test module here runs on both codec paths (see `codec_path`)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _on_each_codec_path(codec_path: str) -> str:
    return codec_path
