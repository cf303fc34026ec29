"""The worker: run loop, handler registry, timeouts and signals, over the storage protocols.

```python
app = bridge.worker.App()

@app.handler("App\\\\Jobs\\\\GenerateReport")
def generate_report(job: bridge.worker.Job) -> None:
    ...
```

`bridge work --app myjobs:app` imports that app (`load_app`) and runs a `Worker` (or a pool of
them, `run_pool`) with `WorkerOptions` built from the command line.
"""

from __future__ import annotations

from bridge.worker.app import App, FailedHook, Handler, HandlerSpec, load_app
from bridge.worker.counters import ExceptionCounter, InMemoryExceptionCounter
from bridge.worker.job import Job
from bridge.worker.logs import LOGGER_NAME, JsonFormatter, TextFormatter, log_handler
from bridge.worker.options import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_MEMORY_LIMIT,
    EXIT_SUCCESS,
    ForeignRowPolicy,
    StopReason,
    UnknownJobPolicy,
    WorkerOptions,
)
from bridge.worker.pool import run_pool
from bridge.worker.worker import Worker

__all__ = [
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_MEMORY_LIMIT",
    "EXIT_SUCCESS",
    "LOGGER_NAME",
    "App",
    "ExceptionCounter",
    "FailedHook",
    "ForeignRowPolicy",
    "Handler",
    "HandlerSpec",
    "InMemoryExceptionCounter",
    "Job",
    "JsonFormatter",
    "StopReason",
    "TextFormatter",
    "UnknownJobPolicy",
    "Worker",
    "WorkerOptions",
    "load_app",
    "log_handler",
    "run_pool",
]
