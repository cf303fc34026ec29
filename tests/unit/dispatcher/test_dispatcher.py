"""Dispatcher: rows and payloads as Laravel's dispatch(), bulk, chain and batch write them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from bridge.dispatcher import Dispatcher, SyncDispatcher, new_job_uuid, ordered_uuid
from bridge.exceptions import JobClassError, WorkerError
from bridge.laravel.classes import JobClass, Prop
from bridge.laravel.payload import JobPayload
from bridge.php import Visibility, loads
from bridge.queue import Stores
from bridge.queue.memory import InMemoryBatchStore, InMemoryFailedJobStore, InMemoryQueue
from bridge.worker import App, Job

NOW = 1_800_000_000

REPORT = JobClass(
    name="App\\Jobs\\GenerateReport",
    properties=(
        Prop("reportId", "public", "int"),
        Prop("format", "protected", "string", default="pdf"),
        Prop("secret", "private", "?string", default=None),
    ),
)


def make(
    queue: InMemoryQueue, batches: InMemoryBatchStore | None = None, **kwargs: Any
) -> Dispatcher:
    stores = Stores(queue=queue, failed=InMemoryFailedJobStore(), batches=batches)
    return Dispatcher(
        stores=stores,
        clock=lambda: NOW,
        uuid_factory=lambda: "11111111-2222-4333-8444-555555555555",
        **kwargs,
    )


def test_dispatch_writes_a_laravel_row_with_mangled_properties() -> None:
    queue = InMemoryQueue()
    sent = make(queue).dispatch(REPORT.new(reportId=7, secret="s3"), queue="reports")
    (row,) = queue.rows("reports")
    assert (row.attempts, row.available_at, row.created_at, row.reserved_at) == (0, NOW, NOW, None)
    payload = JobPayload.from_json(row.payload)
    assert payload.uuid == sent.uuid and payload.command_name == REPORT.name
    command = loads(payload.command or "")
    assert command["reportId"] == 7 and command["format"] == "pdf" and command["secret"] == "s3"
    assert "\0*\0format" in command.properties
    assert f"\0{REPORT.name}\0secret" in command.properties
    assert command["queue"] == "reports"


def test_delay_sets_available_at() -> None:
    queue = InMemoryQueue()
    make(queue).dispatch(REPORT.new(reportId=1), delay=60)
    (row,) = queue.rows()
    assert row.available_at - row.created_at == 60


def test_wrong_type_is_refused_at_dispatch_time() -> None:
    with pytest.raises(JobClassError, match="reportId"):
        make(InMemoryQueue()).dispatch(REPORT.new(reportId="seven"))


def test_bulk_inserts_every_job_available_now_like_laravel_8() -> None:
    queue = InMemoryQueue()
    sent = make(queue).bulk([REPORT.new(reportId=i).delay(30) for i in range(3)])
    rows = queue.rows()
    assert [r.available_at for r in rows] == [NOW] * 3
    assert [r.payload for r in rows] == [s.payload for s in sent]
    assert [loads(JobPayload.from_json(r.payload).command or "")["reportId"] for r in rows] == [
        0,
        1,
        2,
    ]


def test_bulk_onto_a_queue_leaves_the_commands_as_laravel_bulk_does() -> None:
    queue = InMemoryQueue()
    jobs = [REPORT.new(reportId=1), REPORT.new(reportId=2).on_queue("own")]
    make(queue).bulk(jobs, queue="reports")
    make(queue).bulk(jobs)
    rows = queue.rows()
    assert [r.queue for r in rows] == ["reports", "reports", "default", "own"]
    commands = [loads(JobPayload.from_json(r.payload).command or "") for r in rows]
    assert [c["queue"] for c in commands] == [None, "own", None, "own"]


def test_chain_carries_the_rest_as_serialized_commands() -> None:
    queue = InMemoryQueue()
    make(queue).chain([REPORT.new(reportId=1), REPORT.new(reportId=2), REPORT.new(reportId=3)])
    (row,) = queue.rows()
    command = loads(JobPayload.from_json(row.payload).command or "")
    chained = command["chained"]
    assert len(chained) == 2
    assert [loads(c)["reportId"] for c in chained] == [2, 3]


def test_batch_creates_the_row_and_counts_jobs() -> None:
    chunk = JobClass(
        name="App\\Jobs\\ProcessChunk",
        properties=(Prop("n", "public", "int"),),
        traits=("Batchable", "Dispatchable", "InteractsWithQueue", "Queueable", "SerializesModels"),
    )
    queue, batches = InMemoryQueue(), InMemoryBatchStore()
    batch = make(queue, batches=batches).batch([chunk.new(n=1), chunk.new(n=2)], name="reports")
    assert (batch.total_jobs, batch.pending_jobs, batch.failed_jobs) == (2, 2, 0)
    for row in queue.rows():
        assert loads(JobPayload.from_json(row.payload).command or "")["batchId"] == batch.id


def test_job_uuids_are_random_rfc_4122_version_4() -> None:
    made = {new_job_uuid() for _ in range(2000)}
    assert len(made) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    # Every one of the 122 random bits is seen both set and clear.
    ored, anded = 0, ~0
    for text in made:
        ored |= uuid.UUID(text).int
        anded &= uuid.UUID(text).int
    assert bin(ored).count("1") - bin(anded & ((1 << 128) - 1)).count("1") == 122


def test_ordered_uuid_sorts_by_time() -> None:
    first, second = ordered_uuid(1_800_000_000.0), ordered_uuid(1_800_000_001.0)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert first < second


def test_sync_runs_the_handler_inline_and_raises_its_failure() -> None:
    app = App()
    seen: list[int] = []

    @app.handler(REPORT.name)
    def handle(job: Job) -> None:
        if job.command["reportId"] < 0:
            raise RuntimeError("negative report")
        seen.append(job.command["reportId"])

    sync = SyncDispatcher(app=app, clock=lambda: NOW)
    sync.dispatch(REPORT.new(reportId=5))
    assert seen == [5]
    # The handler's own exception, as Laravel's sync driver rethrows the job's.
    with pytest.raises(RuntimeError, match="negative report") as raised:
        sync.dispatch(REPORT.new(reportId=-1))
    assert type(raised.value) is RuntimeError
    assert raised.traceback[-1].name == "handle"


def test_sync_reports_a_job_without_handler_as_a_worker_error() -> None:
    sync = SyncDispatcher(app=App(), clock=lambda: NOW)
    with pytest.raises(WorkerError, match="No Python handler"):
        sync.dispatch(REPORT.new(reportId=1))


def test_batch_jobs_go_to_the_batch_queue_whatever_queue_they_name() -> None:
    chunk = JobClass(
        name="App\\Jobs\\ProcessChunk",
        properties=(Prop("n", Visibility.PUBLIC, "int"),),
        traits=("Batchable", "Dispatchable", "InteractsWithQueue", "Queueable", "SerializesModels"),
    )
    queue, batches = InMemoryQueue(), InMemoryBatchStore()
    dispatcher = make(queue, batches=batches)
    dispatcher.batch([chunk.new(n=1).on_queue("elsewhere")], queue="imports")
    dispatcher.batch([chunk.new(n=2).on_queue("elsewhere")])
    assert [r.queue for r in queue.rows()] == ["imports", "default"]
