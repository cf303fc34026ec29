"""Every kind dispatched through real Laravel 8 runs in Laravel's own worker, and each handler
sees exactly the values that were dispatched (the harness proving itself on all three databases).
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.laravel import VALUE_KINDS, LaravelEnv


def _uuid(line: dict[str, Any]) -> str:
    uuid: str = json.loads(line["payload"])["uuid"]
    return uuid


def test_every_value_kind_runs_in_laravels_worker(laravel_env: LaravelEnv) -> None:
    lines = [line for kind in VALUE_KINDS for line in laravel_env.dispatch(kind)]
    assert {line["kind"] for line in lines} == set(VALUE_KINDS)

    done = laravel_env.work(tries=1)

    assert done.returncode == 0, done.stderr
    assert "Failed:" not in done.stdout
    log = {row["uuid"]: row for row in laravel_env.job_log()}
    delayed = {"delayed", "delayed_datetime"}
    for line in lines:
        if line["kind"] in delayed:
            assert _uuid(line) not in log, "a delayed job ran early"
            continue
        row = log[_uuid(line)]
        expected = {"data": line["data"]} if line["kind"] == "string_job" else line["properties"]
        assert row["values"] == expected, line["kind"]
        assert (row["worker"], row["attempts"]) == ("php", 1)
        assert row["job_class"].startswith(line["class"])

    # The worker dispatched the chain's second link and ran it with the values it was built with.
    [chain] = [line for line in lines if line["kind"] == "chain"]
    [published] = [row for row in log.values() if row["job_class"] == chain["chained"][0]["class"]]
    assert published["values"] == chain["chained"][0]["properties"]

    # Only the delayed rows are left; nothing failed; the batch finished.
    left = laravel_env.jobs()
    delays = sorted(row["available_at"] - row["created_at"] for row in left)
    # Laravel reads the clock once for available_at and again for created_at.
    assert len(delays) == 2 and delays[0] in (120, 119) and delays[1] in (300, 299)
    assert laravel_env.failed_jobs() == []
    [batch] = laravel_env.batches()
    assert (batch["pending_jobs"], batch["failed_jobs"]) == (0, 0)
    assert batch["finished_at"] is not None


def test_dispatch_lines_describe_the_stored_rows(laravel_env: LaravelEnv) -> None:
    lines = laravel_env.dispatch("plain_public", queue="mail", count=3)

    rows = laravel_env.jobs()
    assert [line["row"]["id"] for line in lines] == [row["id"] for row in rows]
    assert [line["payload"] for line in lines] == [row["payload"] for row in rows]
    assert {row["queue"] for row in rows} == {"mail"}
    assert len({_uuid(line) for line in lines}) == 3


def test_bulk_dispatch_feeds_two_concurrent_workers_without_loss_or_duplicates(
    laravel_env: LaravelEnv,
) -> None:
    lines = laravel_env.dispatch("records", count=300, bulk=True)
    workers = [laravel_env.start_worker(stop_when_empty=True, sleep=0) for _ in range(2)]
    errors = ""
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        errors += err
        assert worker.returncode == 0

    seen = [row["uuid"] for row in laravel_env.job_log()]
    assert sorted(seen) == sorted(_uuid(line) for line in lines)
    left = laravel_env.jobs()
    if left and laravel_env.database_url.startswith("sqlite"):
        # Laravel's deferred SQLite transactions can lose a lock race on the delete after the
        # job ran ("database is locked", reported by the worker): that row stays reserved
        # until retry_after. PHP's own behaviour, which bridge's workers avoid (README).
        assert "database is locked" in errors, errors[-3000:]
        assert all(row["reserved_at"] is not None for row in left)
        assert {json.loads(row["payload"])["uuid"] for row in left} <= set(seen)
    else:
        assert left == [], errors[-3000:]


def test_unserialize_shows_what_php_sees(laravel_env: LaravelEnv) -> None:
    for kind in ("nested_arrays", "encrypted", "model_with_relation", "object_reference"):
        [line] = laravel_env.dispatch(kind)
        seen = laravel_env.unserialize(line["payload"])
        assert seen["class"] == line["class"]
        assert seen["encrypted"] is (kind == "encrypted")
        assert seen["properties"] == line["properties"]
        assert seen["visibility"] == line["visibility"]
