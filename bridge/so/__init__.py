"""The SO framework's queue dialect: its payloads and its job classes.

The SO framework (`Core\\Queue`) keeps Laravel's `jobs` / `failed_jobs` tables but writes its
own payload: `{"class": ..., "data": get_object_vars($job)}`, JSON-encoded without flags at
its current version and PHP-`serialize()`d at its first. `payload` reads and writes both
byte for byte; `classes` declares its job classes and what its `serialize()` carries.
"""

from __future__ import annotations

from bridge.so.classes import SO_JOB_BASE, so_data, so_job_class, so_unsupported
from bridge.so.payload import (
    SO_JSON,
    SO_SERIALIZE,
    SoPayload,
    decode_so,
    encode_so,
    looks_like_so,
)

__all__ = [
    "SO_JOB_BASE",
    "SO_JSON",
    "SO_SERIALIZE",
    "SoPayload",
    "decode_so",
    "encode_so",
    "looks_like_so",
    "so_data",
    "so_job_class",
    "so_unsupported",
]
