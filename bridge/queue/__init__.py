"""Queue storage: the protocols in `base`, the database implementation and an in-memory one.

`bridge.queue.memory` needs no database; the SQL implementation lives in
`bridge.queue.database` and `bridge.queue.schema` (they import SQLAlchemy).
"""

from __future__ import annotations

from bridge.queue.base import (
    BatchRecord,
    BatchStore,
    FailedJobFilter,
    FailedJobRecord,
    FailedJobStore,
    JobQueue,
    JobRow,
    NewJob,
    ReservedJob,
)
from bridge.queue.memory import InMemoryBatchStore, InMemoryFailedJobStore, InMemoryQueue

__all__ = [
    "BatchRecord",
    "BatchStore",
    "FailedJobFilter",
    "FailedJobRecord",
    "FailedJobStore",
    "InMemoryBatchStore",
    "InMemoryFailedJobStore",
    "InMemoryQueue",
    "JobQueue",
    "JobRow",
    "NewJob",
    "ReservedJob",
]
