"""bridge's side of a Laravel Redis queue: the Redis queue plus the app's database stores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.dispatcher import Dispatcher
from bridge.laravel.encryption import Encrypter
from bridge.queue.database import DatabaseBatchStore, DatabaseFailedJobStore, create_engine_for
from bridge.queue.redis import RedisQueue, connect
from bridge.worker import App, StopReason, Worker, WorkerOptions
from tests.support.handlers import JobLogWriter, Observer, build_app
from tests.support.laravel import LaravelEnv


@dataclass(frozen=True, kw_only=True)
class RedisSide:
    """bridge's Redis queue on a Laravel environment's Redis keys, its stores on its database."""

    env: LaravelEnv
    engine: sa.Engine
    queue: RedisQueue
    failed: DatabaseFailedJobStore
    batches: DatabaseBatchStore
    encrypter: Encrypter
    log: JobLogWriter

    @classmethod
    def open(cls, env: LaravelEnv, *, prefix: str, host: str, port: int) -> RedisSide:
        """Open the stores as a Laravel app with `env`'s `.env` would use them."""
        engine = create_engine_for(env.database_url)
        return cls(
            env=env,
            engine=engine,
            queue=RedisQueue(
                client=connect(host=host, port=port),
                prefix=prefix,
                connection_name="redis",
                retry_after_seconds=env.retry_after,
            ),
            failed=DatabaseFailedJobStore(engine=engine, table=env.failed_table),
            batches=DatabaseBatchStore(engine=engine),
            encrypter=Encrypter(env.app_key),
            log=JobLogWriter(env.database_url),
        )

    def close(self) -> None:
        """Release every connection."""
        self.queue.close()
        self.log.close()
        self.engine.dispose()

    def app(self, *, observe: Observer | None = None) -> App:
        """The fixture handlers, logging to the environment's database."""
        return build_app(self.log, observe=observe)

    def dispatcher(self) -> Dispatcher:
        """A dispatcher writing Laravel 8 payloads onto the Redis queue."""
        return Dispatcher(
            queue=self.queue, profile="8", encrypter=self.encrypter, batches=self.batches
        )

    def work(self, *, app: App | None = None, **options: Any) -> StopReason:
        """Run bridge's worker until the queues are empty."""
        options.setdefault("stop_when_empty", True)
        options.setdefault("sleep_seconds", 0.0)
        options.setdefault("memory_mb", 0)
        if "queue" in options:
            options["queues"] = tuple(str(options.pop("queue")).split(","))
        worker = Worker(
            queue=self.queue,
            failed=self.failed,
            batches=self.batches,
            app=app if app is not None else self.app(),
            options=WorkerOptions(**options),
            encrypter=self.encrypter,
        )
        return worker.run()


def write_env_file(env: LaravelEnv, folder: Path, prefix: str) -> Path:
    """The Laravel `.env` a `bridge` command of this app reads: redis queue, SQLite database."""
    path = folder / ".env"
    lines = [
        "QUEUE_CONNECTION=redis",
        "DB_CONNECTION=sqlite",
        f"DB_DATABASE={env.environ()['DB_DATABASE']}",
        f"APP_KEY={env.app_key}",
        f"REDIS_PREFIX={prefix}",
        f"REDIS_QUEUE_RETRY_AFTER={env.retry_after}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
