"""bridge's worker drains SO framework jobs by that framework's rules, checked against its own
worker running the same jobs (both versions, MariaDB).

Each test runs a scenario twice: the framework pushes the jobs, its own `Worker` runs them;
then it pushes them again and bridge's worker (dialect `so` / `so-serialize`) runs them. The
tables and what the handlers saw must match (row ids, uuids and times aside).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from so_kit import FAILS, KINDS, SoEnv, recording_app
from test_so_payloads import CASES, _as_php

from bridge.so import SO_JSON

pytestmark = [pytest.mark.php, pytest.mark.mysql]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_EXCEPTION = re.compile(r"(\S+): (.*) in (\S+):(\d+)\nStack trace:\n#0 .*#\d+ \{main\}\Z", re.S)
_JOB_ID = re.compile(r'"jobId":"\d+"|s:5:"jobId";s:\d+:"\d+";')


def _without_job_id(payload: str) -> str:
    return _JOB_ID.sub("JOBID", payload)


def _both(so_env: SoEnv, jobs: list[tuple[str, dict[str, Any]]], **work: Any) -> dict[str, Any]:
    """Run `jobs` through the framework's worker, then through bridge's; what each left."""
    tries = work.pop("tries", 3)
    queue = work.pop("queue", None)
    out: dict[str, Any] = {}
    so_env.php_push(jobs, queue=queue)
    so_env.php_work(queue=queue or "default", tries=tries)
    out["so"] = {
        "handled": so_env.handled(),
        "failed": so_env.failed_rows(),
        "jobs": so_env._rows(),
    }
    so_env.reset()
    seen: list[dict[str, Any]] = []
    so_env.php_push(jobs, queue=queue)
    so_env.work(
        recording_app(seen, fail=[FAILS.name]),
        tries=tries,
        queues=(queue or "default",),
    )
    out["bridge"] = {"handled": seen, "failed": so_env.failed_rows(), "jobs": so_env._rows()}
    return out


def _numeric(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def test_handlers_see_the_values_the_framework_worker_sees(so_env: SoEnv) -> None:
    runs = _both(so_env, [(KINDS.name, case) for case in CASES])
    php, mine = runs["so"]["handled"], runs["bridge"]["handled"]
    assert len(php) == len(mine) == len(CASES)
    json_format = so_env.format == SO_JSON
    for case, seen_php, seen_bridge in zip(CASES, php, mine, strict=True):
        values = seen_bridge["values"]
        for name, php_value in seen_php["props"].items():
            got = _as_php(values[name], json_format=False)
            want = _as_php(php_value, json_format=False)
            if name == "ratio":
                # A typed float: PHP coerces the int JSON wrote; bridge hands the int over.
                assert _numeric(got) == want and isinstance(want, float), case
            elif name == "untyped" and json_format:
                assert got == want and type(got) is type(want), f"{case}: {got!r} vs {want!r}"
            else:
                assert got == want, f"{case} {name}: {got!r} vs {want!r}"
        assert seen_bridge["attempts"] == seen_php["attempts"] == 1
    assert runs["so"]["jobs"] == runs["bridge"]["jobs"] == []


def _failure_matches(runs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    (php,) = runs["so"]["failed"]
    (mine,) = runs["bridge"]["failed"]
    assert _without_job_id(mine["payload"]) == _without_job_id(php["payload"])
    for row in (php, mine):
        assert _UUID.fullmatch(row["uuid"]), row["uuid"]
        assert row["connection"] == "database"
        found = _EXCEPTION.match(row["exception"])
        assert found, row["exception"]
        assert found.group(2) == "boom: x"
        assert abs(row["failed_at"].timestamp() - time.time()) < 3600 * 24
    assert mine["queue"] == php["queue"]
    assert runs["so"]["jobs"] == runs["bridge"]["jobs"] == []
    return php, mine


def test_failure_after_the_job_tries_writes_the_framework_row(so_env: SoEnv) -> None:
    runs = _both(so_env, [(FAILS.name, {"label": "x", "tries": 2, "retryAfter": 0})])
    php, _mine = _failure_matches(runs)
    assert [h["attempts"] for h in runs["so"]["handled"]] == [1, 2]
    assert [h["attempts"] for h in runs["bridge"]["handled"]] == [1, 2]
    assert php["queue"] == "default"


@pytest.mark.parametrize(
    ("job_tries", "worker_tries", "attempts"), [(5, 2, [1, 2]), (1, 3, [1]), (3, 3, [1, 2, 3])]
)
def test_tries_is_the_smaller_of_the_worker_and_the_job(
    so_env: SoEnv, job_tries: int, worker_tries: int, attempts: list[int]
) -> None:
    job = (FAILS.name, {"label": "x", "tries": job_tries, "retryAfter": 0})
    runs = _both(so_env, [job], tries=worker_tries)
    _failure_matches(runs)
    assert [h["attempts"] for h in runs["so"]["handled"]] == attempts
    assert [h["attempts"] for h in runs["bridge"]["handled"]] == attempts


def test_the_failed_row_names_the_job_queue_property_not_the_queue_it_ran_on(
    so_env: SoEnv,
) -> None:
    job = (FAILS.name, {"label": "x", "tries": 1, "queue": "reports"})
    runs = _both(so_env, [job], queue="other")
    php, mine = _failure_matches(runs)
    assert php["queue"] == mine["queue"] == "reports"


def test_release_is_in_place_after_the_job_retry_after(so_env: SoEnv) -> None:
    job = (FAILS.name, {"label": "x", "tries": 3, "retryAfter": 500})
    before = int(time.time())
    (so_id,) = so_env.php_push([job])
    pushed = so_env._rows()[0].payload
    so_env.php_work()
    (php_row,) = so_env._rows()
    so_env.reset()
    (bridge_id,) = so_env.php_push([job])
    seen: list[dict[str, Any]] = []
    so_env.work(recording_app(seen, fail=[FAILS.name]))
    after = int(time.time())
    (bridge_row,) = so_env._rows()
    assert (php_row.id, bridge_row.id) == (so_id, bridge_id)
    for row in (php_row, bridge_row):
        assert row.payload == pushed
        assert row.attempts == 1
        assert row.reserved_at is None
        assert before + 500 <= row.available_at <= after + 500
    assert so_env.failed_rows() == []
