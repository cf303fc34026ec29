"""Queue storage: the protocols in `base`, the database implementation and an in-memory one.

`Stores` joins a queue with its failed-job and batch tables and moves jobs between them;
`bridge.queue.memory` needs no database. The SQL implementation lives in
`bridge.queue.database`, `bridge.queue.database_stores` and `bridge.queue.schema` (they
import SQLAlchemy); Laravel's Redis queue in `bridge.queue.redis` (it imports redis-py).
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
from bridge.queue.stores import Stores

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
    "Stores",
]
