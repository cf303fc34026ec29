"""The run loop: queue priority, prefetch, limits, signals, batches and logging."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
from typing import Any

import pytest
from worker_kit import Env, fixture_line, fixture_payload, make_env

from bridge.exceptions import QueueError
from bridge.worker import Job, JsonFormatter, StopReason, TextFormatter, log_handler

WELCOME = "App\\Jobs\\SendWelcomeEmail"


def names(env: Env, seen: list[Job]) -> list[tuple[str, int]]:
    return [(job.queue, job.id) for job in seen]


def test_strict_queue_priority(env: Env) -> None:
    seen: list[Job] = []
    env.app.register(WELCOME, seen.append)
    low = [env.push(fixture_payload("plain_public"), queue="low") for _ in range(2)]
    high = [env.push(fixture_payload("plain_public"), queue="high") for _ in range(2)]
    env.worker(queues=("high", "low")).run()
    assert names(env, seen) == [
        ("high", high[0]),
        ("high", high[1]),
        ("low", low[0]),
        ("low", low[1]),
    ]


def test_higher_queue_work_preempts_prefetched_lower_rows(env: Env) -> None:
    seen: list[Job] = []

    def handler(job: Job) -> None:
        seen.append(job)
        if len(seen) == 2:
            env.push(fixture_payload("plain_public"), queue="high")

    env.app.register(WELCOME, handler)
    for _ in range(6):
        env.push(fixture_payload("plain_public"), queue="low")
    env.worker(queues=("high", "low"), prefetch=10).run()
    assert [job.queue for job in seen] == ["low", "low", "high", "low", "low", "low", "low"]
    assert env.queue.unreserved  # the prefetched low rows went back, unstarted
    low_ids = [job.id for job in seen if job.queue == "low"]
    assert len(low_ids) == len(set(low_ids)) == 6
    assert env.queue.rows() == []


def test_prefetch_reserves_in_batches_and_deletes_together(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    for _ in range(50):
        env.push(fixture_payload("plain_public"))
    calls: list[tuple[int, int]] = []
    real_reserve = env.queue.reserve

    def counting(
        queue: str, *, now: int, limit: int = 1, finished: Any = (), ahead: int = 0
    ) -> Any:
        calls.append((limit, len(finished)))
        return real_reserve(queue, now=now, limit=limit, finished=finished, ahead=ahead)

    env.queue.reserve = counting  # type: ignore[method-assign]
    env.worker(prefetch=20, read_ahead=False).run()
    assert env.queue.rows() == []
    assert len(env.queue.deleted) == 50
    # The first reservation takes one row (no duration known yet), then batches of 20; each
    # deletes the rows the batch before it finished, in the same transaction.
    assert calls[:4] == [(1, 0), (20, 1), (20, 20), (20, 20)]
    assert sum(done for _limit, done in calls) == 50


def start_ahead(env: Env, start: Any) -> Any:
    """Put `start` in place of the in-memory queue's start of a reservation ahead (its
    arguments: queue, now, limit, finished rows); returns the real one."""
    reading = env.queue._reading
    real = reading._start
    reading._start = start
    return real


class AheadLog:
    """Records when the in-memory queue starts reading ahead for the worker."""

    def __init__(self, env: Env) -> None:
        self.calls: list[tuple[str, int, int, int]] = []  # queue, limit, finished, handled
        self.handled = 0

        def start(queue: str, now: int, limit: int, finished: Any) -> Any:
            self.calls.append((queue, limit, len(finished), self.handled))
            return real(queue, now, limit, finished)

        real = start_ahead(env, start)


def test_read_ahead_reserves_the_next_batch_as_a_batch_starts(env: Env) -> None:
    ahead = AheadLog(env)

    def handler(job: Job) -> None:
        ahead.handled += 1

    env.app.register(WELCOME, handler)
    ids = [env.push(fixture_payload("plain_public")) for _ in range(50)]
    worker = env.worker(prefetch=20)
    worker._reservations.average_seconds = 0.0001
    worker.run()
    assert ahead.handled == 50 and env.queue.rows() == []
    assert sorted(env.queue.deleted) == ids
    # The first batch is reserved as usual; from then on, each batch starts the next one's
    # reservation before its first job runs, which also deletes the batch before's rows.
    assert ahead.calls == [
        ("default", 20, 0, 0),
        ("default", 20, 20, 20),
        ("default", 20, 20, 40),
    ]
    # The last reservation, made as usual once the read-ahead found nothing, deleted the rest.


def test_read_ahead_batches_share_the_aging_budget(env: Env) -> None:
    worker = env.worker(prefetch=100)
    worker._reservations.average_seconds = (
        5.0  # 45 s budget / 5 s per job = 9, shared by two batches
    )
    assert worker._reservations.batch_size() == 4
    assert (
        env.worker(prefetch=100, read_ahead=False)._reservations.batch_size() == 1
    )  # no duration yet


def test_batches_take_the_whole_budget_where_the_queue_cannot_read_ahead(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    for _ in range(3):
        env.push(fixture_payload("plain_public"))
    start_ahead(env, lambda *args: None)
    worker = env.worker(prefetch=100)
    worker._reservations.average_seconds = 5.0
    assert (
        worker._reservations.batch_size() == 4
    )  # shared with a batch read ahead, until the queue says
    worker._reservations.average_seconds = 0.0001
    worker.run()
    assert env.queue.rows() == []
    worker._reservations.average_seconds = 5.0
    assert worker._reservations.batch_size() == 9


def test_read_ahead_rows_never_age_toward_retry_after(env: Env) -> None:
    seen: list[Job] = []

    def slow(job: Job) -> None:
        seen.append(job)
        env.clock.now += 20  # retry_after 90: 45 s budget

    env.app.register(WELCOME, slow)
    for _ in range(12):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(prefetch=4)
    worker._reservations.average_seconds = (
        0.001  # as if jobs were instant: batches of 4, read ahead
    )
    worker.run()
    assert len(seen) == 12 and len({job.id for job in seen}) == 12
    # Rows reserved ahead waited for a whole batch: they went back unstarted, and no job
    # started with an attempt used up by waiting.
    assert env.queue.unreserved
    assert all(job.attempts == 1 for job in seen)
    assert env.queue.rows() == []


def test_read_ahead_only_for_the_first_queue(env: Env) -> None:
    ahead = AheadLog(env)
    env.app.register(WELCOME, lambda job: None)
    for _ in range(30):
        env.push(fixture_payload("plain_public"), queue="low")
    worker = env.worker(queues=("high", "low"), prefetch=10)
    worker._reservations.average_seconds = 0.0001
    worker.run()
    assert env.queue.rows() == []
    assert ahead.calls == []  # a lower queue's rows are checked against higher ones per job


def test_read_ahead_stays_within_max_jobs(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    for _ in range(40):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(prefetch=10, max_jobs=25, stop_when_empty=False)
    worker._reservations.average_seconds = 0.0001
    assert worker.run() is StopReason.MAX_JOBS
    assert worker.jobs_processed == 25
    rows = env.queue.rows()
    # Nothing was reserved beyond the 25th job, so nothing had to be handed back.
    assert len(rows) == 15 and all(r.reserved_at is None and r.attempts == 0 for r in rows)
    assert env.queue.unreserved == []


def test_slow_jobs_are_not_read_ahead(env: Env) -> None:
    ahead = AheadLog(env)

    def handler(job: Job) -> None:
        ahead.handled += 1

    env.app.register(WELCOME, handler)
    for _ in range(20):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(prefetch=5)
    worker._reservations.average_seconds = 0.2  # but the jobs are instant: the average comes down
    worker.run()
    assert env.queue.rows() == []
    assert ahead.calls and ahead.calls[0][3] >= 5  # not while the average was above 50 ms


class FailingAhead:
    waited = 0

    def poll(self) -> None:
        pass

    def wait(self) -> list[Any]:
        FailingAhead.waited += 1
        raise QueueError("connection to the queue database lost")

    def abandon(self) -> None:
        pass


def test_a_failed_read_ahead_leaves_nothing_behind(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    ids = [env.push(fixture_payload("plain_public")) for _ in range(30)]
    failures = iter([True, False, True])

    def start(queue: str, now: int, limit: int, finished: Any) -> Any:
        if next(failures, False):
            return FailingAhead()  # nothing reserved, and its finished rows not deleted
        return real(queue, now, limit, finished)

    real = start_ahead(env, start)
    FailingAhead.waited = 0
    worker = env.worker(prefetch=8)
    worker._reservations.average_seconds = 0.0001
    worker.run()
    assert worker.jobs_processed == 30
    assert env.queue.rows() == [] and sorted(env.queue.deleted) == ids
    # Both failures were met, and the queue reserved again each time.
    assert FailingAhead.waited == 2


def test_prefetched_rows_never_age_toward_retry_after(env: Env) -> None:
    seen: list[Job] = []

    def slow(job: Job) -> None:
        seen.append(job)
        env.clock.now += 30  # retry_after is 90: the 45 s budget is spent after two jobs

    env.app.register(WELCOME, slow)
    for _ in range(8):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(prefetch=8)
    # Pretend earlier jobs were instant so the batch size is not already capped.
    worker._reservations.average_seconds = 0.0001
    worker.run()
    assert len(seen) == 8 and len({job.id for job in seen}) == 8
    assert env.queue.unreserved
    for job in seen:
        # No job started more than 45 s after its row was reserved.
        assert job.attempts == 1
    assert env.queue.rows() == []


def test_prefetch_batch_capped_by_observed_duration(env: Env) -> None:
    worker = env.worker(prefetch=100, read_ahead=False)
    worker._reservations.average_seconds = 5.0  # 45 s budget / 5 s per job
    assert worker._reservations.batch_size() == 9
    worker._reservations.average_seconds = 100.0
    assert worker._reservations.batch_size() == 1


@pytest.mark.parametrize(
    ("pushed", "run"),
    [(5, 1), (12, 2)],  # a prefetched batch; a batch and the one read ahead
)
def test_stop_on_signal_gives_back_prefetched_rows(env: Env, pushed: int, run: int) -> None:
    seen: list[Job] = []

    def handler(job: Job) -> None:
        seen.append(job)
        if len(seen) == run:
            os.kill(os.getpid(), signal.SIGTERM)

    env.app.register(WELCOME, handler)
    for _ in range(pushed):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(prefetch=5, stop_when_empty=False)
    worker._reservations.average_seconds = 0.001
    assert worker.run() is StopReason.SIGNAL
    assert len(seen) == run
    rows = env.queue.rows()
    assert len(rows) == pushed - run
    assert all(r.reserved_at is None and r.attempts == 0 for r in rows)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGQUIT])
def test_signals_finish_the_current_job_then_stop(env: Env, signum: int) -> None:
    seen: list[Job] = []

    def handler(job: Job) -> None:
        os.kill(os.getpid(), signum)
        seen.append(job)  # still runs: the signal only asks the loop to stop

    env.app.register(WELCOME, handler)
    env.push(fixture_payload("plain_public"))
    env.push(fixture_payload("plain_public"))
    before = signal.getsignal(signum)
    assert env.worker(stop_when_empty=False).run() is StopReason.SIGNAL
    assert len(seen) == 1 and len(env.queue.rows()) == 1
    assert signal.getsignal(signum) == before


def test_once(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    env.push(fixture_payload("plain_public"))
    env.push(fixture_payload("plain_public"))
    assert env.worker(once=True, stop_when_empty=False).run() is StopReason.ONCE
    assert len(env.queue.rows()) == 1


def test_once_on_empty_queue_returns(env: Env) -> None:
    assert env.worker(once=True, stop_when_empty=False).run() is StopReason.ONCE


def test_max_jobs(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    for _ in range(5):
        env.push(fixture_payload("plain_public"))
    worker = env.worker(max_jobs=3, stop_when_empty=False)
    assert worker.run() is StopReason.MAX_JOBS
    assert worker.jobs_processed == 3 and len(env.queue.rows()) == 2


def test_max_time_and_sleep(env: Env) -> None:
    worker = env.worker(max_time_seconds=10, sleep_seconds=3, stop_when_empty=False)
    assert worker.run() is StopReason.MAX_TIME
    assert env.clock.slept == [3, 3, 3, 3]


def test_rest_between_jobs(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    env.push(fixture_payload("plain_public"))
    env.push(fixture_payload("plain_public"))
    env.worker(rest_seconds=0.5).run()
    assert env.clock.slept == [0.5, 0.5]


def test_memory_limit_exit_code_12(env: Env) -> None:
    env.app.register(WELCOME, lambda job: None)
    env.push(fixture_payload("plain_public"))
    env.push(fixture_payload("plain_public"))
    worker = env.worker(memory_mb=64, memory_bytes=lambda: 64 * 1024 * 1024)
    reason = worker.run()
    assert reason is StopReason.MEMORY and reason.exit_code == 12
    assert len(env.queue.rows()) == 1


def test_real_rss_is_measured() -> None:
    from bridge.worker.worker import rss_bytes

    assert rss_bytes() > 1024 * 1024


def test_batch_success_and_failure_counters(env: Env) -> None:
    first, second = fixture_line("batch", index=0), fixture_line("batch", index=1)
    batch_id = json.loads(first["payload"])["data"]["batchId"]
    env.batches.create(batch_id=batch_id, name="import", options=None, now=0)
    env.stores.add_batch_jobs(batch_id, [])

    def handler(job: Job) -> None:
        assert job.batch_id == batch_id
        if job["chunk"] == 2:
            raise RuntimeError("bad chunk")

    env.app.register("App\\Jobs\\ProcessChunk", handler)
    from bridge.queue.base import NewJob

    env.stores.add_batch_jobs(
        batch_id,
        [
            NewJob(payload=line["payload"], queue="imports", available_at=0, created_at=0)
            for line in (first, second)
        ],
    )
    env.worker(queues=("imports",)).run()
    batch = env.batches.find(batch_id)
    assert batch is not None
    failed_uuid = env.failed_rows()[0].uuid
    assert (batch.total_jobs, batch.pending_jobs, batch.failed_jobs) == (2, 1, 1)
    assert batch.failed_job_ids == (failed_uuid,)
    # First failure without allowFailures cancels the batch, as Laravel does.
    assert batch.cancelled_at is not None


def test_log_events(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.app.register(WELCOME, lambda job: job.release(5))
    payload = fixture_payload("plain_public")
    env.push(payload)
    with caplog.at_level(logging.INFO, logger="bridge.worker"):
        env.worker(once=True, name="w1").run()
    events = [r.bridge for r in caplog.records if hasattr(r, "bridge")]  # type: ignore[attr-defined]
    processing, released = events[0], events[1]
    assert processing["event"] == "processing" and released["event"] == "released"
    assert released["delay_seconds"] == 5
    for fields in (processing, released):
        assert fields["uuid"] == json.loads(payload)["uuid"]
        assert (fields["job"], fields["queue"], fields["attempts"], fields["worker"]) == (
            WELCOME,
            "default",
            1,
            "w1",
        )


def test_formatters() -> None:
    record = logging.LogRecord(
        "bridge.worker", logging.INFO, __file__, 1, "Processing: X", (), None
    )
    record.created = 1_800_000_000.0
    record.bridge = {"event": "processing", "uuid": "u-1", "job": "X"}
    assert TextFormatter().format(record) == "2027-01-15 08:00:00 [u-1] Processing: X"
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == "Processing: X" and out["uuid"] == "u-1"
    assert out["event"] == "processing" and out["time"].startswith("2027-01-15T08:00:00.000")


def test_signal_cuts_the_idle_sleep_short(env: Env) -> None:
    import threading
    import time

    from bridge.worker import Worker, WorkerOptions

    worker = Worker(
        stores=env.stores,
        app=env.app,
        options=WorkerOptions(sleep_seconds=30),
    )
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    assert worker.run() is StopReason.SIGNAL
    assert time.monotonic() - started < 5
    timer.join()


def test_text_formatter_renders_each_second_anew() -> None:
    formatter = TextFormatter()
    lines = []
    for created in (1_800_000_000.2, 1_800_000_000.9, 1_800_000_001.0, 1_799_999_999.5):
        record = logging.LogRecord("bridge.worker", logging.INFO, __file__, 1, "m", (), None)
        record.created = created
        lines.append(formatter.format(record))
    assert lines == [
        "2027-01-15 08:00:00 m",
        "2027-01-15 08:00:00 m",
        "2027-01-15 08:00:01 m",
        "2027-01-15 07:59:59 m",
    ]


def test_worker_records_are_ordinary_logging_records() -> None:
    """A record factory and a filter of your own see every per-job record, fields and all."""
    env = make_env()
    env.app.register(WELCOME, lambda job: None)
    env.push(fixture_payload("plain_public"))
    logger = logging.getLogger("bridge.worker.test-records")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    seen: list[logging.LogRecord] = []
    logger.addFilter(lambda record: bool(seen.append(record)))  # drops every record
    standard_factory = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = standard_factory(*args, **kwargs)
        record.request_id = "r-1"
        return record

    logging.setLogRecordFactory(factory)
    try:
        env.worker(stop_when_empty=True, logger=logger).run()
    finally:
        logging.setLogRecordFactory(standard_factory)
    events = [record.bridge["event"] for record in seen]  # type: ignore[attr-defined]
    assert events == ["processing", "processed", "stopping"]
    assert {record.request_id for record in seen} == {"r-1"}  # type: ignore[attr-defined]
    assert seen[0].funcName == "process" and seen[0].getMessage() == f"Processing: {WELCOME}"


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_a_filter_on_the_way_changes_no_line(json_lines: bool) -> None:
    """The per-job lines are the same whether or not a filter sits on the way."""

    def run(through_logging: bool) -> list[Any]:
        env = make_env()
        env.app.register(WELCOME, lambda job: None)
        env.app.register(
            "App\\Jobs\\RecordAudit", lambda job: job.release(5) if job.attempts < 2 else 1 / 0
        )
        env.push(fixture_payload("plain_public"))
        env.push(fixture_payload("floats"))  # no handler
        env.push(fixture_payload("protected_private"))
        env.push("{not json")
        parent = logging.getLogger(f"direct-test-{through_logging}-{json_lines}")
        parent.propagate = False  # away from pytest's capture handler on the root logger
        parent.setLevel(logging.INFO)
        out = io.StringIO()
        parent.handlers = [log_handler(json_lines=json_lines, stream=out)]
        logger = parent.getChild("worker")
        if through_logging:
            logger.addFilter(lambda record: True)
        worker = env.worker(stop_when_empty=True, logger=logger)
        worker.run()
        lines = out.getvalue().splitlines()
        if json_lines:
            lines = [
                json.dumps(
                    {k: v for k, v in json.loads(line).items() if k not in ("time", "duration_ms")}
                )
                for line in lines
            ]
        return [re.sub(r"^\S+ \S+ |\(\d+\.\d+ ms\)", "", line) for line in lines]

    direct, through = run(False), run(True)
    assert len(direct) >= 6
    assert direct == through
