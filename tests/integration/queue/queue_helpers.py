"""Helpers shared by the queue integration tests: table names, child processes, Laravel."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Tables:
    """Unique table names for one test, so tests never share rows."""

    jobs: str
    failed: str
    batches: str

    def stores(self, engine: Any, **options: Any) -> Any:
        """`DatabaseStores` on these tables (migrated by the caller)."""
        from bridge.queue.database_stores import DatabaseStores

        return DatabaseStores(
            engine=engine,
            jobs_table=self.jobs,
            failed_table=self.failed,
            batches_table=self.batches,
            **options,
        )


def drain(url: str, table: str, queue: str, limit: int, now: int, start: Any = None) -> list[int]:
    """Reserve and delete jobs from `queue` until none is left; return the ids reserved.

    Runs in a child process (spawned, so it imports this module afresh) with its own engine.
    `start`, a shared barrier, lines the children up once connected: process start-up takes
    longer than draining a few thousand rows, so without it the first child may take all.
    """
    from bridge.queue.database import DatabaseQueue, create_engine_for

    engine = create_engine_for(url)
    jobs_queue = DatabaseQueue(engine=engine, table=table)
    seen: list[int] = []
    try:
        jobs_queue.size(queue)  # connect (and learn the server version) before the race
        if start is not None:
            start.wait(60)
        while jobs := jobs_queue.reserve(queue, now=now, limit=limit):
            seen.extend(job.id for job in jobs)
            jobs_queue.delete_many(jobs)
    finally:
        engine.dispose()
    return seen


LARAVEL_QUEUE_PHP = Path(__file__).with_name("laravel_queue.php")


def laravel_connection(url: str) -> dict[str, Any]:
    """The `config/database.php` connection array Laravel would use for this SQLAlchemy URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return {"driver": "sqlite", "database": parsed.database, "prefix": ""}
    common = {
        "host": parsed.host or "127.0.0.1",
        "database": parsed.database,
        "username": parsed.username or "",
        "password": parsed.password or "",
        "prefix": "",
    }
    if backend == "postgresql":
        return {**common, "driver": "pgsql", "port": parsed.port or 5432, "charset": "utf8",
                "schema": "public", "sslmode": "prefer"}  # fmt: skip
    return {**common, "driver": "mysql", "port": parsed.port or 3306, "charset": "utf8mb4",
            "collation": "utf8mb4_unicode_ci", "strict": True, "engine": None}  # fmt: skip


def run_laravel(php: str, url: str, tables: Tables, op: str, **request: Any) -> dict[str, Any]:
    """Run one operation of `laravel_queue.php` (Laravel 8's own classes) and return its answer."""
    body = {
        "connection": laravel_connection(url),
        "tables": {"jobs": tables.jobs, "failed": tables.failed, "batches": tables.batches},
        "op": op,
        **request,
    }
    done = subprocess.run(
        [php, str(LARAVEL_QUEUE_PHP), json.dumps(body)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"laravel_queue.php {op} failed:\n{done.stdout}\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
