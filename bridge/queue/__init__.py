"""Queue storage: the protocols in `base`, the database implementation and an in-memory one."""

from __future__ import annotations
