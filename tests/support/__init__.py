"""Helpers shared by the integration and acceptance tests."""

from __future__ import annotations
