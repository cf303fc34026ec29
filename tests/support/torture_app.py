"""The app the torture runs give `bridge work --app tests.support.torture_app:app`.

Every run of a job is written to the record file named by `BRIDGE_TORTURE_RECORD`: a line
`S uuid pid attempts` when the handler starts and `D uuid pid attempts` just before it returns
(`F` instead when the job's `fail` property asks it to raise). Each line is one `O_APPEND` write,
fsync'd before the handler goes on, so the record outlives a SIGKILL of the worker and does not
depend on the database a test may be taking down. The test reads it to count runs per job.
"""

from __future__ import annotations

import os

from bridge.worker import App, Job

__all__ = ["RECORD_CLASS", "RECORD_ENV", "SECRET_CLASS", "app"]

#: Environment variable naming the record file.
RECORD_ENV = "BRIDGE_TORTURE_RECORD"
#: A plain job class: `n` (int), `fail` (bool: raise on every attempt).
RECORD_CLASS = "Torture\\Jobs\\Record"
#: The same job, `ShouldBeEncrypted`.
SECRET_CLASS = "Torture\\Jobs\\Secret"

_record_fd: int | None = None


def _note(event: str, job: Job) -> None:
    global _record_fd
    if _record_fd is None:
        _record_fd = os.open(os.environ[RECORD_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_record_fd, f"{event} {job.uuid} {os.getpid()} {job.attempts}\n".encode())
    os.fsync(_record_fd)


def _run(job: Job) -> None:
    _note("S", job)
    if job["fail"]:
        _note("F", job)
        raise RuntimeError(f"job {job['n']} fails on purpose")
    _note("D", job)


app = App(name="torture")
app.register(RECORD_CLASS, _run)
app.register(SECRET_CLASS, _run)
