"""Worker unit-test kit: in-memory stores, a fake clock, payloads recorded from real Laravel."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.queue import Stores
from bridge.queue.memory import InMemoryBatchStore, InMemoryFailedJobStore, InMemoryQueue
from bridge.worker import App, Worker, WorkerOptions

FIXTURES = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"
START = 1_800_000_000.0
APP_KEY = "base64:Dp3HhO7l4BO2i0GCAnhvgKcvWHMq3wUJNFp0ObptVoQ="


def fixture_line(kind: str, version: str = "12.67.0", index: int = 0) -> dict[str, Any]:
    """One line of the recorded Laravel fixtures (`index` picks among lines of one kind)."""
    lines = [
        json.loads(line)
        for line in (FIXTURES / f"{version}.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    found = [line for line in lines if line["kind"] == kind]
    return found[index]


def fixture_payload(kind: str, version: str = "12.67.0", **keys: Any) -> str:
    """A recorded payload; `keys` override top-level payload keys (e.g. `maxTries=3`)."""
    text: str = fixture_line(kind, version)["payload"]
    if not keys:
        return text
    raw = json.loads(text)
    raw.update(keys)
    return json.dumps(raw)


@dataclass
class FakeClock:
    """Unix time that moves only when the worker sleeps or a test says so."""

    now: float = START
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Env:
    """Everything one worker test needs."""

    queue: InMemoryQueue
    failed: InMemoryFailedJobStore
    batches: InMemoryBatchStore
    app: App
    clock: FakeClock
    exits: list[int] = field(default_factory=list)

    @property
    def stores(self) -> Stores:
        """The three stores joined, as a worker and a dispatcher take them."""
        return Stores(queue=self.queue, failed=self.failed, batches=self.batches)

    def push(self, payload: str, queue: str = "default", delay: int = 0) -> int:
        return self.queue.push(payload, queue=queue, now=int(self.clock()), delay_seconds=delay)

    def worker(self, **options: Any) -> Worker:
        options.setdefault("stop_when_empty", True)
        # The real RSS would stop a worker after its first job once a long test session has
        # grown past the default 128 MB limit; only the memory test measures memory.
        extra: dict[str, Callable[..., Any]] = {"memory_bytes": lambda: 0}
        if "memory_bytes" in options:
            extra["memory_bytes"] = options.pop("memory_bytes")
        encrypter = options.pop("encrypter", None)
        if "logger" in options:
            extra["logger"] = options.pop("logger")
        return Worker(
            stores=self.stores,
            app=self.app,
            options=WorkerOptions(**options),
            clock=self.clock,
            sleep=self.clock.sleep,
            encrypter=encrypter,
            exit_process=self.exits.append,
            **extra,
        )

    def failed_rows(self) -> list[Any]:
        from bridge.queue.base import FailedJobFilter

        return list(self.failed.select(FailedJobFilter()))


def make_env() -> Env:
    return Env(
        queue=InMemoryQueue(retry_after_seconds=90),
        failed=InMemoryFailedJobStore(),
        batches=InMemoryBatchStore(),
        app=App(),
        clock=FakeClock(),
    )
