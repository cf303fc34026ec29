"""Live Laravel 8 (Debian's 8.83 through php_fixtures/): bridge writes what Laravel writes,
and Laravel's own `queue:work` runs bridge's payloads with the same results.

For each kind the harness dispatches: Laravel dispatches it (one line per row), bridge
builds the payload for the same class and values with the uuid and clock pinned from
Laravel's row and must match byte for byte; then bridge's payloads (fresh uuids) are
inserted into `jobs` and `work.php` runs them; every handler logs what it saw, and the
logs of the two runs must be equal.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from laravel_fixture_adapter import bridge_payload, declaration

from bridge.laravel.command import decode_command, next_chained_job
from bridge.laravel.payload import JobPayload
from bridge.laravel.versions import profile_for
from tests.support.laravel import (
    ATTRIBUTE_KINDS,
    BEHAVIOUR_KINDS,
    VALUE_KINDS,
    LaravelEnv,
    fresh_laravel_env,
)

pytestmark = pytest.mark.php

#: A few kinds repeated on MariaDB and PostgreSQL (all of them run on SQLite).
SERVER_KINDS = ("plain_public", "encrypted", "chain", "dates", "model_collection", "batch")


def _insert(env: LaravelEnv, rows: list[tuple[str, str]]) -> None:
    now = int(time.time())
    with env.engine() as engine, engine.begin() as conn:
        jobs = sa.Table(env.queue_table, sa.MetaData(), autoload_with=conn)
        for queue, payload in rows:
            conn.execute(
                jobs.insert().values(
                    queue=queue,
                    payload=payload,
                    attempts=0,
                    reserved_at=None,
                    available_at=now,
                    created_at=now,
                )
            )


def _run_and_log(env: LaravelEnv, queues: list[str]) -> list[tuple[str, Any]]:
    with env.engine() as engine, engine.begin() as conn:
        # Delayed rows become due now; the log starts empty.
        conn.execute(sa.text(f"UPDATE {env.queue_table} SET available_at = 0"))
        conn.execute(sa.text("DELETE FROM fixture_job_log"))
    done = env.work(queue=",".join(dict.fromkeys(queues)))
    assert env.jobs() == [], done.stdout + done.stderr
    return [(row["job_class"], row["values"]) for row in env.job_log()]


def _check_kind(env: LaravelEnv, kind: str, *, run: bool) -> None:
    lines = env.dispatch(kind)
    assert lines, kind
    for line in lines:
        assert bridge_payload(line, fresh=False) == line["payload"], line["kind"]
    if not run:
        return
    queues = [line["row"]["queue"] for line in lines]
    laravel_log = _run_and_log(env, queues)
    _insert(env, [(line["row"]["queue"], bridge_payload(line, fresh=True)) for line in lines])
    bridge_log = _run_and_log(env, queues)
    assert laravel_log, f"{kind}: Laravel's handlers logged nothing"
    assert bridge_log == laravel_log


@pytest.fixture
def env(sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path) -> LaravelEnv:
    return fresh_laravel_env(sqlite_url, php_binary=php_binary, tmp_path=tmp_path)


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_live_value_kinds_sqlite(env: LaravelEnv, kind: str) -> None:
    _check_kind(env, kind, run=True)


@pytest.mark.parametrize("kind", BEHAVIOUR_KINDS)
def test_live_behaviour_kinds_payload(env: LaravelEnv, kind: str) -> None:
    _check_kind(env, kind, run=False)


def test_harness_kinds_are_all_covered(env: LaravelEnv) -> None:
    assert set(env.kinds()) <= set(VALUE_KINDS) | set(BEHAVIOUR_KINDS) | set(ATTRIBUTE_KINDS)


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_live_on_each_database(
    database_url: str, php_binary: str, laravel: Path, tmp_path: Path, kind: str
) -> None:
    env = fresh_laravel_env(database_url, php_binary=php_binary, tmp_path=tmp_path)
    _check_kind(env, kind, run=True)


def test_next_chained_job_matches_laravels_worker(env: LaravelEnv) -> None:
    """After the first job of a chain, Laravel's worker pushes exactly bridge's next job."""
    [line] = env.dispatch("chain")
    env.work(once=True)
    [pushed] = env.jobs()
    profile = profile_for(line["laravel"])
    declarations = {d["class"]: declaration(d) for d in line["chained"]}
    laravel_payload = JobPayload.from_json(pushed["payload"])
    assert laravel_payload.uuid is not None
    step = next_chained_job(
        decode_command(JobPayload.from_json(line["payload"])),
        profile=profile,
        uuid=laravel_payload.uuid,
        now=pushed["created_at"],
        declarations=declarations,
    )
    assert step is not None
    assert step.payload == pushed["payload"]
    generic = next_chained_job(
        decode_command(JobPayload.from_json(line["payload"])),
        profile=profile,
        uuid=laravel_payload.uuid,
        now=pushed["created_at"],
    )
    assert generic is not None and generic.payload == pushed["payload"]


def test_payload_rewrite_matches_laravels_queue_retry(env: LaravelEnv) -> None:
    """`queue:retry` re-encodes the failed payload without JSON flags; so does `replace`."""
    [line] = env.dispatch("always_fails", args={"message": "héllo/wörld \u2028 ok"})
    env.work(tries=1)
    [failed] = env.failed_jobs()
    env.retry("all")
    [retried] = env.jobs()
    ours = JobPayload.from_json(failed["payload"]).replace(unescaped_unicode=False)
    assert failed["payload"] == line["payload"]
    assert ours.to_json() == retried["payload"]
    assert ours.to_json() != line["payload"]  # the message really was re-escaped
