"""The failed-job commands through click's runner, on in-memory stores and a fixed clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from admin_unit_support import NOW, laravel_rows
from click.testing import CliRunner, Result

from bridge.admin import from_unix
from bridge.cli._context import CliContext
from bridge.cli.failed import (
    EXIT_PARTIAL,
    PROGRESS_THRESHOLD,
    failed_group,
    flush_command,
    forget_command,
    prune_failed_command,
)
from bridge.cli.retry_failed import retry_failed_command
from bridge.config import Settings
from bridge.exceptions import FailedJobNotFound
from bridge.laravel.encryption import Encrypter
from bridge.queue import Stores
from bridge.queue.base import FailedJobFilter
from bridge.queue.memory import InMemoryFailedJobStore, InMemoryQueue

ROWS = [r for r in laravel_rows() if r["laravel"] == "12.67.0"]
FIXTURE_KEY = "base64:Dp3HhO7l4BO2i0GCAnhvgKcvWHMq3wUJNFp0ObptVoQ="
LOCAL_NOW = from_unix(NOW, "UTC")


def context(
    store: InMemoryFailedJobStore, queue: InMemoryQueue, *, key: str | None = None
) -> CliContext:
    """A CLI context whose stores, settings and clock are the test's."""
    ctx = CliContext(database_url="sqlite://", cwd=Path("/nonexistent"), environ={})
    ctx.clock = lambda: float(NOW)
    ctx.__dict__.update(
        settings=Settings(database_url="sqlite://", app_key=key),
        stores=Stores(queue=queue, failed=store),
        queue=queue,
        encrypter=Encrypter(key) if key else None,
    )
    return ctx


def fill(store: InMemoryFailedJobStore, count: int | None = None, **overrides: object) -> list[int]:
    """Log the 12.67 fixture rows (or `count` copies cycling through them) as failed jobs."""
    ids = []
    wanted = count if count is not None else len(ROWS)
    for n in range(wanted):
        row = ROWS[n % len(ROWS)]
        payload = row["payload"]
        uuid = json.loads(payload)["uuid"]
        if count is not None:
            fresh = f"{n:08x}-0000-4000-8000-000000000000"
            payload, uuid = payload.replace(uuid, fresh), fresh
        fields: dict[str, object] = {
            "uuid": uuid,
            "connection": "database",
            "queue": row["queue"],
            "payload": payload,
            "exception": f"RuntimeException: {row['kind']}",
            "failed_at": LOCAL_NOW - timedelta(hours=n),
            **overrides,
        }
        ids.append(store.log(**fields))  # type: ignore[arg-type]
    return ids


def run(ctx: CliContext, command: object, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(command, list(args), obj=ctx, input=input)  # type: ignore[arg-type]


@pytest.fixture
def store() -> InMemoryFailedJobStore:
    return InMemoryFailedJobStore()


@pytest.fixture
def queue() -> InMemoryQueue:
    return InMemoryQueue()


def test_retry_needs_a_selection_and_a_valid_policy(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    ctx = context(store, queue)
    assert run(ctx, retry_failed_command).exit_code == 2
    bad = run(ctx, retry_failed_command, "all", "--retry-until", "later")
    assert bad.exit_code == 2 and "--retry-until" in bad.output
    assert run(ctx, retry_failed_command, "--range", "9-3").exit_code == 2
    assert run(ctx, retry_failed_command, "--since", "yesterday").exit_code == 2


def test_dry_run_changes_nothing(store: InMemoryFailedJobStore, queue: InMemoryQueue) -> None:
    ids = fill(store)
    result = run(context(store, queue), retry_failed_command, "all", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["would_move"] == len(ids) and [j["id"] for j in report["jobs"]] == ids[::-1]
    assert queue.rows() == [] and len(list(store.select(FailedJobFilter()))) == len(ids)


def test_prompt_declined_moves_nothing(store: InMemoryFailedJobStore, queue: InMemoryQueue) -> None:
    fill(store)
    result = run(context(store, queue), retry_failed_command, "all", input="n\n")
    assert result.exit_code == 1 and "Nothing moved." in result.stderr
    assert queue.rows() == []


def test_yes_moves_and_reports_missing_ids(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    ids = fill(store)
    result = run(
        context(store, queue), retry_failed_command, str(ids[0]), str(ids[1]), "999", "--yes"
    )
    assert result.exit_code == EXIT_PARTIAL
    assert "Not found: 999" in result.stderr
    assert "Moved 2 job(s); skipped 0; not found 1." in result.stdout
    assert len(queue.rows()) == 2


def test_named_jobs_go_back_in_the_order_given(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    """As `queue:retry 5 3` pushes 5 then 3 (ids, uuids, then a range's jobs)."""
    ids = fill(store, count=8)
    by_id = {r.id: r for r in store.select(FailedJobFilter())}
    uuid_of_first = by_id[ids[0]].uuid
    assert uuid_of_first is not None
    named = [str(ids[5]), str(ids[3]), uuid_of_first]
    result = run(
        context(store, queue),
        retry_failed_command,
        *named,
        "--range",
        f"{ids[6]}-{ids[7]}",
        "--yes",
    )
    assert result.exit_code == 0, result.output
    queued = [json.loads(row.payload)["uuid"] for row in queue.rows()]
    expected = [by_id[i].uuid for i in (ids[5], ids[3], ids[0], ids[6], ids[7])]
    assert queued == expected


def test_several_ranges_go_back_range_by_range_each_ascending(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    """As `queue:retry --range 7-8 --range 2-3`: the first range's jobs, then the second's."""
    ids = fill(store, count=8)
    by_id = {r.id: r for r in store.select(FailedJobFilter())}
    result = run(
        context(store, queue),
        retry_failed_command,
        "--range",
        f"{ids[6]}-{ids[7]}",
        "--range",
        f"{ids[1]}-{ids[2]}",
        "--yes",
    )
    assert result.exit_code == 0, result.output
    queued = [json.loads(row.payload)["uuid"] for row in queue.rows()]
    assert queued == [by_id[i].uuid for i in (ids[6], ids[7], ids[1], ids[2])]


def test_prompt_accepted_warns_about_expired_deadlines_first(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    store.log(
        uuid="u1", connection="database", queue="default",
        payload=f'{{"uuid":"u1","job":"J","retryUntil":{NOW - 1},"data":{{}}}}',
        exception="e", failed_at=LOCAL_NOW,
    )  # fmt: skip
    result = run(context(store, queue), retry_failed_command, "all", input="y\n")
    assert result.exit_code == 0
    assert result.stderr.index("1 job(s) have a retryUntil deadline") < result.stderr.index(
        "Move 1 failed job(s)"
    )


def test_other_connections_are_skipped_unless_asked(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    fill(store, connection="redis")
    skipped = run(context(store, queue), retry_failed_command, "all", "--yes", "--json")
    assert skipped.exit_code == EXIT_PARTIAL
    assert json.loads(skipped.stdout)["skipped"] == len(ROWS) and queue.rows() == []
    moved = run(context(store, queue), retry_failed_command, "all", "--yes", "--any-connection")
    assert moved.exit_code == 0 and len(queue.rows()) == len(ROWS)


def test_large_sets_get_a_progress_bar_on_stderr(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    fill(store, count=PROGRESS_THRESHOLD)
    result = run(context(store, queue), retry_failed_command, "all", "--yes", "--json")
    assert result.exit_code == 0
    assert "Retrying" in result.stderr
    assert json.loads(result.stdout)["moved"] == PROGRESS_THRESHOLD


def test_list_table_json_and_filters(store: InMemoryFailedJobStore, queue: InMemoryQueue) -> None:
    ids = fill(store)
    ctx = context(store, queue)
    table = run(ctx, failed_group)
    assert table.exit_code == 0 and table.stdout.startswith("ID  ")
    assert run(ctx, failed_group, "--json", "--limit", "3").stdout.count('"id"') == 3
    since = json.loads(run(ctx, failed_group, "--json", "--since", "90m").stdout)
    assert [row["id"] for row in since] == [ids[1], ids[0]]
    empty = run(context(InMemoryFailedJobStore(), queue), failed_group)
    assert empty.stdout == "No failed jobs.\n"


def test_show_decrypts_only_when_asked_and_with_a_key(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    fill(store)
    [encrypted] = [r for r in store.select(FailedJobFilter()) if "ChargeCard" in r.payload]
    keyed = context(store, queue, key=FIXTURE_KEY)
    for shown in (
        run(keyed, failed_group, "show", str(encrypted.id)),
        run(keyed, failed_group, "show", str(encrypted.id), "--json"),
    ):
        assert shown.exit_code == 0
        assert "tok_visa_4242" not in shown.stdout  # a secret, shown only on request
        assert "--decrypt shows them" in shown.stdout
    locked = run(context(store, queue), failed_group, "show", str(encrypted.id), "--decrypt")
    assert locked.exit_code != 0 and "APP_KEY is not set" in str(locked.exception)
    opened = run(keyed, failed_group, "show", encrypted.uuid or "", "--decrypt")
    assert 'public cardToken = "tok_visa_4242"' in opened.stdout
    missing = run(context(store, queue), failed_group, "show", "404")
    assert isinstance(missing.exception, FailedJobNotFound)


def test_export_then_import_keeps_rows_and_skips_duplicates(
    store: InMemoryFailedJobStore, queue: InMemoryQueue, tmp_path: Path
) -> None:
    fill(store)
    exported = run(context(store, queue), failed_group, "export")
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported.stdout, encoding="utf-8")
    target = InMemoryFailedJobStore()
    first = run(context(target, queue), failed_group, "import", str(dump))
    assert first.exit_code == 0 and f"Imported {len(ROWS)}, already present 0" in first.stdout
    second = run(context(target, queue), failed_group, "import", str(dump), "--json")
    assert json.loads(second.stdout)["duplicates"] == len(ROWS)

    def key(s: InMemoryFailedJobStore) -> list[tuple[object, ...]]:
        return sorted(
            (r.uuid, r.connection, r.queue, r.payload, r.exception, r.failed_at)
            for r in s.select(FailedJobFilter())
        )

    assert key(target) == key(store)


def test_forget(store: InMemoryFailedJobStore, queue: InMemoryQueue) -> None:
    [first, *_] = fill(store)
    assert run(context(store, queue), forget_command, str(first)).exit_code == 0
    gone = run(context(store, queue), forget_command, str(first))
    assert isinstance(gone.exception, FailedJobNotFound)


def test_flush_hours_includes_the_cutoff_and_prune_excludes_it(queue: InMemoryQueue) -> None:
    def stores() -> InMemoryFailedJobStore:
        store = InMemoryFailedJobStore()
        for hours in (2, 3, 4):
            store.log(
                uuid=f"u{hours}", connection="database", queue="q", payload="{}",
                exception="e", failed_at=LOCAL_NOW - timedelta(hours=hours),
            )  # fmt: skip
        return store

    flushed = stores()
    result = run(context(flushed, queue), flush_command, "--hours", "3", "--yes")
    assert result.stdout == "Deleted 2 failed job(s).\n"  # failed_at <= now - 3h
    pruned = stores()
    result = run(context(pruned, queue), prune_failed_command, "--hours", "3")
    assert result.stdout.startswith("Deleted 1 failed job(s)")  # failed_at < now - 3h
    assert [r.uuid for r in pruned.select(FailedJobFilter())] == ["u3", "u2"]
    everything = stores()
    assert run(context(everything, queue), flush_command, input="n\n").exit_code == 1
    assert run(context(everything, queue), flush_command, input="y\n").exit_code == 0
    assert list(everything.select(FailedJobFilter())) == []


def test_failed_at_boundaries_use_the_app_timezone(queue: InMemoryQueue) -> None:
    store = InMemoryFailedJobStore()
    store.log(
        uuid="u", connection="database", queue="q", payload="{}", exception="e",
        failed_at=datetime(2026, 11, 28, 22, 6, 40),  # NOW on a Berlin wall clock (UTC+1)
    )  # fmt: skip
    ctx = context(store, queue)
    ctx.__dict__["settings"] = Settings(database_url="sqlite://", timezone="Europe/Berlin")
    assert run(ctx, flush_command, "--hours", "0", "--yes").stdout == "Deleted 1 failed job(s).\n"


class InterruptedStores(Stores):
    """Stores whose second chunk of moves is cut short by Ctrl-C (before it commits)."""

    calls = 0

    def retry_many(self, moves, *, now, into=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().retry_many(moves, now=now, into=into)


def test_ctrl_c_during_retry_failed_says_how_many_moved(queue: InMemoryQueue) -> None:
    store = InMemoryFailedJobStore()
    fill(store, 150)
    ctx = context(store, queue)
    ctx.__dict__["stores"] = InterruptedStores(queue=queue, failed=store)

    result = run(ctx, retry_failed_command, "all", "--yes")

    assert result.exit_code == 130
    assert "Interrupted: 100 of 150 job(s) had moved back onto the queue" in result.stderr
    assert len(list(store.select(FailedJobFilter()))) == 50


def test_the_failed_listing_fits_the_terminal(
    store: InMemoryFailedJobStore, queue: InMemoryQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store)
    monkeypatch.setenv("COLUMNS", "100")

    listed = run(context(store, queue), failed_group)

    lines = listed.stdout.splitlines()
    assert len(lines) == len(ROWS) + 1
    assert max(len(line) for line in lines) <= 100
    assert all(line.split()[0].isdigit() for line in lines[1:])  # every row kept its id


def test_show_writes_retry_until_as_a_time(
    store: InMemoryFailedJobStore, queue: InMemoryQueue
) -> None:
    fill(store)
    with_deadline = [
        r for r in store.select(FailedJobFilter()) if json.loads(r.payload).get("retryUntil")
    ]
    assert with_deadline
    record = with_deadline[0]
    deadline = json.loads(record.payload)["retryUntil"]

    shown = run(context(store, queue), failed_group, "show", str(record.id))

    when = datetime.fromtimestamp(deadline, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Retry until: {when} ({deadline})" in shown.stdout
