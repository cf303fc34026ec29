"""The installed `bridge` failed-job commands as a subprocess, on SQLite, MariaDB and PostgreSQL,
over failed rows carrying payloads Laravel 8.83 and 12.67 wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_failed_crash import bridge_command, fresh_server_database

from bridge.queue.base import FailedJobFilter
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for
from bridge.queue.schema import migrate

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "laravel-fixtures"
APP_KEY = json.loads((VECTORS / "manifest.json").read_text("utf-8"))["app_key"]
TRACE = "\nStack trace:\n#0 {main}"
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _rows(version: str) -> dict[str, dict[str, Any]]:
    lines = (VECTORS / f"{version}.jsonl").read_text("utf-8").splitlines()
    return {json.loads(line)["kind"]: json.loads(line) for line in lines}


def _uuid(row: dict[str, Any]) -> str:
    uuid: str = json.loads(row["payload"])["uuid"]
    return uuid


LARAVEL_12 = _rows("12.67.0")
LARAVEL_8 = _rows("8.83.26")


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own on each server, so default table names can be used."""
    if database_url.startswith("sqlite"):
        yield database_url
    else:
        yield from fresh_server_database(database_url)


def bridge(
    url: str, *args: str, cwd: Path, input: str | None = None, app_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `bridge --database URL ARGS...`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "BRIDGE_"))}
    if app_key:
        env["APP_KEY"] = app_key
    return subprocess.run(
        [*bridge_command(), "--database", url, *args],
        cwd=cwd,
        env=env,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _seed(url: str, *, uuid_layout: bool = True) -> dict[str, int]:
    """Failed rows for a few kinds; returns their ids by name."""
    engine = create_engine_for(url)
    migrate(engine, failed_uuid=uuid_layout)
    store = DatabaseFailedJobStore(engine=engine)
    cases = {
        "old_unicode": (LARAVEL_8["protected_private"], "audit", 72),
        "encrypted": (LARAVEL_12["encrypted"], "payments", 30),
        "chain": (LARAVEL_12["chain"], "default", 5),
        "deadline": (LARAVEL_12["job_options"], "default", 1),
        "recent": (LARAVEL_12["plain_public"], "default", 0),
    }
    ids = {}
    for name, (row, queue, hours_ago) in cases.items():
        ids[name] = store.log(
            uuid=json.loads(row["payload"])["uuid"],
            connection="database",
            queue=queue,
            payload=row["payload"],
            exception=f"RuntimeException: {name} broke in /app/Job.php:7{TRACE}",
            failed_at=NOW - timedelta(hours=hours_ago),
        )
    engine.dispose()
    return ids


def _jobs(url: str) -> list[dict[str, Any]]:
    engine = create_engine_for(url)
    try:
        return [asdict(r) for r in DatabaseQueue(engine=engine).rows()]
    finally:
        engine.dispose()


def _failed_ids(url: str) -> list[int]:
    engine = create_engine_for(url)
    try:
        store = DatabaseFailedJobStore(engine=engine)
        return sorted(r.id for r in store.select(FailedJobFilter()))
    finally:
        engine.dispose()


def test_list_and_filters(url: str, tmp_path: Path) -> None:
    ids = _seed(url)

    table = bridge(url, "failed", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == [
        "ID", "UUID", "CONNECTION", "QUEUE", "CLASS", "FAILED_AT", "EXCEPTION",
    ]  # fmt: skip
    assert "App\\Jobs\\ChargeCard" in table.stdout

    def listed(*args: str) -> list[int]:
        done = bridge(url, "failed", "--json", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return [row["id"] for row in json.loads(done.stdout)]

    assert listed() == sorted(ids.values(), reverse=True)
    assert listed("--queue", "payments") == [ids["encrypted"]]
    assert listed("--class", "App\\Jobs\\RecordAudit") == [ids["old_unicode"]]
    assert listed("--exception", "chain broke") == [ids["chain"]]
    assert listed("--since", "2h") == [ids["recent"], ids["deadline"]]
    assert listed("--until", "24h") == [ids["encrypted"], ids["old_unicode"]]
    assert listed("--limit", "2") == [ids["recent"], ids["deadline"]]
    assert listed("--range", f"{ids['encrypted']}-{ids['chain']}") == [
        ids["chain"],
        ids["encrypted"],
    ]


def test_id_only_layout(url: str, tmp_path: Path) -> None:
    ids = _seed(url, uuid_layout=False)
    listed = json.loads(bridge(url, "failed", "--json", "--queue", "audit", cwd=tmp_path).stdout)
    assert [(row["id"], row["uuid"]) for row in listed] == [(ids["old_unicode"], None)]
    shown = bridge(url, "failed", "show", str(ids["chain"]), cwd=tmp_path)
    assert "UUID:        -" in shown.stdout and "Chained job 1:" in shown.stdout
    by_uuid = bridge(url, "retry-failed", _uuid(LARAVEL_12["chain"]), "--yes", cwd=tmp_path)
    assert by_uuid.returncode == 3  # the id-only layout has no uuids to look up
    moved = bridge(url, "retry-failed", str(ids["chain"]), "--yes", cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert [j["payload"] for j in _jobs(url)] == [LARAVEL_12["chain"]["payload"]]
    assert len(_failed_ids(url)) == 4


def test_show_decodes_with_visibility_and_decrypts_with_the_key(url: str, tmp_path: Path) -> None:
    ids = _seed(url)
    audit = bridge(url, "failed", "show", str(ids["old_unicode"]), cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    assert "protected actor = " in audit.stdout
    assert "private(App\\Jobs\\RecordAudit) reason = " in audit.stdout
    assert "RuntimeException: old_unicode broke" in audit.stdout

    secret = bridge(url, "failed", "show", str(ids["encrypted"]), cwd=tmp_path, app_key=APP_KEY)
    assert "--decrypt shows them" in secret.stdout
    assert "tok_visa_4242" not in secret.stdout
    opened = bridge(
        url,
        *("failed", "show", str(ids["encrypted"]), "--json", "--decrypt"),
        cwd=tmp_path,
        app_key=APP_KEY,
    )
    command = json.loads(opened.stdout)["command"]
    assert command["encrypted"] and command["problem"] is None
    assert {"name": "cardToken", "visibility": "public", "value": "tok_visa_4242"} in command[
        "value"
    ]["properties"]

    chain = bridge(url, "failed", "show", _uuid(LARAVEL_12["chain"]), cwd=tmp_path)
    assert "Chained job 1:\n    App\\Jobs\\PublishImage {" in chain.stdout

    missing = bridge(url, "failed", "show", "99999", cwd=tmp_path)
    assert missing.returncode == 1 and "FailedJobNotFound" in missing.stderr


def test_retry_failed_moves_rewrites_and_reports(url: str, tmp_path: Path) -> None:
    ids = _seed(url)

    assert bridge(url, "retry-failed", cwd=tmp_path).returncode == 2  # nothing named
    dry = bridge(url, "retry-failed", "all", "--dry-run", "--json", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["would_move"] == 5 and _jobs(url) == []

    declined = bridge(url, "retry-failed", "all", cwd=tmp_path, input="n\n")
    assert declined.returncode == 1 and _jobs(url) == []

    moved = bridge(
        url,
        "retry-failed",
        str(ids["deadline"]),
        str(ids["old_unicode"]),
        "424242",
        "--to-queue",
        "again",
        "--retry-until",
        "set:+600",
        "--yes",
        "--json",
        cwd=tmp_path,
    )
    assert moved.returncode == 3, moved.stderr  # 424242 does not exist
    summary = json.loads(moved.stdout)
    assert (summary["moved"], summary["not_found"]) == (2, ["424242"])
    jobs = {json.loads(j["payload"])["uuid"]: j for j in _jobs(url)}
    old = jobs[json.loads(LARAVEL_8["protected_private"]["payload"])["uuid"]]
    assert old["payload"] == LARAVEL_8["protected_private"]["payload"]  # untouched bytes
    assert old["queue"] == "again" and old["attempts"] == 0
    deadline = json.loads(jobs[json.loads(LARAVEL_12["job_options"]["payload"])["uuid"]]["payload"])
    assert deadline["retryUntil"] > NOW.replace(tzinfo=UTC).timestamp()
    assert _failed_ids(url) == sorted([ids["encrypted"], ids["chain"], ids["recent"]])

    rest = bridge(url, "retry-failed", "all", "--yes", cwd=tmp_path)
    assert rest.returncode == 0, rest.stderr
    assert "Moved 3 job(s); skipped 0; not found 0." in rest.stdout
    assert _failed_ids(url) == [] and len(_jobs(url)) == 5


def test_expired_deadline_is_warned_about(url: str, tmp_path: Path) -> None:
    engine = create_engine_for(url)
    migrate(engine)
    payload = (
        '{"uuid":"00000000-0000-4000-8000-000000000001","job":"X","retryUntil":1000,"data":{}}'
    )
    DatabaseFailedJobStore(engine=engine).log(
        uuid="00000000-0000-4000-8000-000000000001", connection="database", queue="default",
        payload=payload, exception="e", failed_at=NOW,
    )  # fmt: skip
    engine.dispose()
    dry = bridge(url, "retry-failed", "all", "--dry-run", cwd=tmp_path)
    assert "1 job(s) have a retryUntil deadline that is not after now" in dry.stderr
    done = bridge(url, "retry-failed", "all", "--yes", "--retry-until", "drop", cwd=tmp_path)
    assert done.returncode == 0 and "deadline" not in done.stderr
    [job] = _jobs(url)
    assert job["payload"] == payload.replace('"retryUntil":1000', '"retryUntil":null')


def test_a_job_of_another_connection_is_skipped_with_the_option_that_sends_it(
    url: str, tmp_path: Path
) -> None:
    # Found from outside: with the database queue as the default, a job that failed on the
    # redis connection was skipped with only "the target is 'database'"; the way to send
    # it back where it failed (as queue:retry does) went unsaid.
    engine = create_engine_for(url)
    migrate(engine)
    payload = LARAVEL_8["plain_public"]["payload"]
    DatabaseFailedJobStore(engine=engine).log(
        uuid=json.loads(payload)["uuid"], connection="redis", queue="default",
        payload=payload, exception="e", failed_at=NOW,
    )  # fmt: skip
    engine.dispose()
    done = bridge(url, "retry-failed", "all", "--yes", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "recorded for queue connection 'redis', but the target is 'database'" in done.stderr
    assert "add --to-connection redis" in done.stderr, done.stderr
    assert _jobs(url) == [] and len(_failed_ids(url)) == 1


def test_retry_into_another_database_is_idempotent(url: str, tmp_path: Path) -> None:
    ids = _seed(url)
    target = f"sqlite:///{tmp_path / 'target.sqlite'}"
    engine = create_engine_for(target)
    migrate(engine)
    # A run that died after inserting into the target but before deleting the failed row:
    chain_payload = LARAVEL_12["chain"]["payload"]
    DatabaseQueue(engine=engine).push(chain_payload, queue="default", now=1)
    engine.dispose()

    done = bridge(url, "retry-failed", "all", "--to-database", target, "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _failed_ids(url) == [] and _jobs(url) == []
    moved = _jobs(target)
    assert sorted(j["payload"] for j in moved) == sorted(
        r["payload"]
        for r in (
            LARAVEL_8["protected_private"],
            LARAVEL_12["encrypted"],
            LARAVEL_12["chain"],
            LARAVEL_12["job_options"],
            LARAVEL_12["plain_public"],
        )
    )
    assert len(ids) == len(moved)


def test_export_import_round_trip(url: str, tmp_path: Path) -> None:
    _seed(url)
    exported = bridge(url, "failed", "export", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    dump = tmp_path / "failed.jsonl"
    dump.write_text(exported.stdout, encoding="utf-8")
    assert len(exported.stdout.splitlines()) == 5

    target = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    engine = create_engine_for(target)
    migrate(engine)
    engine.dispose()
    first = bridge(target, "failed", "import", str(dump), "--json", cwd=tmp_path)
    assert json.loads(first.stdout) == {"imported": 5, "duplicates": 0, "rejected": []}
    again = bridge(target, "failed", "import", str(dump), cwd=tmp_path)
    assert again.returncode == 0 and "Imported 0, already present 5" in again.stdout

    def rows(database: str) -> list[tuple[Any, ...]]:
        engine = create_engine_for(database)
        store = DatabaseFailedJobStore(engine=engine)
        try:
            return sorted(
                (r.uuid, r.connection, r.queue, r.payload, r.exception, r.failed_at)
                for r in store.select(FailedJobFilter())
            )
        finally:
            engine.dispose()

    assert rows(target) == rows(url)

    dump.write_text(exported.stdout + "not json\n", encoding="utf-8")
    broken = bridge(target, "failed", "import", str(dump), cwd=tmp_path)
    assert broken.returncode == 3 and "line 6 rejected" in broken.stderr


def test_forget_flush_and_prune(url: str, tmp_path: Path) -> None:
    ids = _seed(url)
    assert bridge(url, "forget", str(ids["chain"]), cwd=tmp_path).returncode == 0
    assert bridge(url, "forget", str(ids["chain"]), cwd=tmp_path).returncode == 1
    pruned = bridge(url, "prune-failed", "--hours", "48", cwd=tmp_path)
    assert pruned.returncode == 0 and "Deleted 1 failed job(s)" in pruned.stdout
    assert bridge(url, "flush", "--hours", "12", cwd=tmp_path, input="n\n").returncode == 1
    flushed = bridge(url, "flush", "--hours", "12", "--yes", cwd=tmp_path)
    assert "Deleted 1 failed job(s)." in flushed.stdout
    assert _failed_ids(url) == sorted([ids["deadline"], ids["recent"]])
    assert bridge(url, "flush", "--yes", cwd=tmp_path).returncode == 0
    assert _failed_ids(url) == []
