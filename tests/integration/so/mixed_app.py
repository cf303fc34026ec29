"""The Python side of the mixed-workers test: `bridge work --app mixed_app:app`.

Its handler for `SoFixture\\Counts` appends what it ran to the same log file the PHP fixture
jobs write (`SO_FIXTURE_LOG`), one line per run, so lost and doubled jobs can be counted.
"""

from __future__ import annotations

import json
import os

from bridge.worker import App, Job

app = App()
_LOG = os.environ.get("SO_FIXTURE_LOG", "")
_NAME = os.environ.get("SO_WORKER_NAME", "bridge")


@app.handler("SoFixture\\Counts")
def count(job: Job) -> None:
    line = json.dumps(
        {"n": job["n"], "worker": _NAME, "jobId": str(job.id), "attempts": job.attempts}
    )
    # One write of a short line to a file opened for appending lands whole.
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")
