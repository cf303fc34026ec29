"""The SO framework's own worker runs jobs bridge dispatched, seeing the values PHP's own
dispatch gives it (both versions, MariaDB)."""

from __future__ import annotations

import time

import pytest
from so_kit import KINDS, SoEnv
from test_so_payloads import CASES

pytestmark = [pytest.mark.php, pytest.mark.mysql]


def test_the_framework_worker_runs_bridge_jobs_as_its_own(so_env: SoEnv) -> None:
    so_env.php_push([(KINDS.name, case) for case in CASES])
    php_rows = so_env._rows()
    so_env.php_work()
    from_php = so_env.handled()
    so_env.reset()
    dispatcher = so_env.dispatcher()
    sent = [dispatcher.dispatch(KINDS.instance(case)) for case in CASES]
    bridge_rows = so_env._rows()
    assert [r.payload for r in bridge_rows] == [r.payload for r in php_rows]
    assert [(r.queue, r.attempts, r.reserved_at) for r in bridge_rows] == [
        (r.queue, r.attempts, r.reserved_at) for r in php_rows
    ]
    assert [d.id for d in sent] == [r.id for r in bridge_rows]
    so_env.php_work()
    from_bridge = so_env.handled()
    assert len(from_bridge) == len(from_php) == len(CASES)
    for case, php, mine in zip(CASES, from_php, from_bridge, strict=True):
        assert mine["props"] == php["props"], case
        assert mine["attempts"] == php["attempts"] == 1
    assert so_env._rows() == []
    assert so_env.failed_rows() == []


def test_a_named_queue_and_a_delay_are_the_framework_push_and_later(so_env: SoEnv) -> None:
    dispatcher = so_env.dispatcher()
    now = int(time.time())
    sent = dispatcher.dispatch(KINDS.new(label="q"), queue="reports", delay=300)
    (row,) = so_env._rows()
    assert (row.id, row.queue) == (sent.id, "reports")
    assert now + 300 <= row.available_at <= now + 302
    # push($job, 'reports') leaves the job's own queue property as it was.
    assert '"queue":"default"' in row.payload or 's:5:"queue";s:7:"default";' in row.payload
    assert sent.uuid == ""
