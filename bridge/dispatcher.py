"""Dispatching jobs from Python: what Laravel's `dispatch()`, `Bus::chain` and `Bus::batch` do.

`Dispatcher` writes rows that Laravel's own `queue:work` runs as if PHP had dispatched them:
the payload is the dialect's (`bridge.laravel.payload.build_payload` for a Laravel version
profile), and rows are inserted with Laravel's statements through a `JobQueue`.
`SyncDispatcher` is the `sync` connection: it runs the Python handler inline, as Laravel's
`SyncQueue` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from bridge._typing import Clock
from bridge.dialect import LARAVEL, Dialect
from bridge.exceptions import PayloadError, WorkerError
from bridge.laravel.classes import Job
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import delay_seconds
from bridge.laravel.versions import Profile, profile_for
from bridge.php import dumps
from bridge.queue import BatchRecord, FailedJobFilter, JobQueue, NewJob, Stores
from bridge.worker import App, Worker, WorkerOptions
from bridge.worker import Job as WorkerJob

__all__ = ["Dispatched", "Dispatcher", "SyncDispatcher", "new_job_uuid", "ordered_uuid"]


# RFC 4122 version 4 in hex: digit 12 is the version (4); digit 16 carries the variant bits
# (10), so its two random bits pick one of 8, 9, a, b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _v4_hex() -> str:
    # What uuid.uuid4().hex holds, without building a UUID object (dispatch makes one per job).
    h = os.urandom(16).hex()
    return f"{h[:12]}4{h[13:16]}{_VARIANT[h[16]]}{h[17:]}"


def _dashed(text: str) -> str:
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_job_uuid() -> str:
    """A random lowercase v4 uuid, as Laravel's `Str::uuid()` gives every payload."""
    return _dashed(_v4_hex())


def ordered_uuid(now: float) -> str:
    """A time-first ("COMB") uuid as `Str::orderedUuid()` makes batch ids: sortable by time.

    The first 48 bits are the time in units of 10 microseconds; the rest is a random v4 uuid.
    """
    stamp = int(now * 100_000) & 0xFFFF_FFFF_FFFF
    return _dashed(f"{stamp:012x}{_v4_hex()[12:]}")


class Dispatched(NamedTuple):
    """A job as it was queued (a named tuple: one is made per dispatch, and a frozen
    dataclass costs more to build)."""

    id: int | str | None
    uuid: str
    queue: str
    payload: str


class Dispatcher:
    """Queue declared PHP job classes (or Python-only ones) the way Laravel does.

    Args:
        stores: Where rows go, and the `job_batches` table `batch()` writes to (e.g.
            `DatabaseStores.open(url)`).
        queue: Or only a queue to push onto (no `batch()`); give one of the two.
        profile: The Laravel version the PHP side runs ("8" ... "13", or exact like "12.11").
        clock: Unix time source.
        encrypter: Needed for `ShouldBeEncrypted` classes (built from `APP_KEY`).
        default_queue: The connection's default queue name (`queue` in Laravel's config).
        uuid_factory: Payload uuid source (tests pin it).
        dialect: The PHP side's dialect (default: Laravel with `profile`). With an SO one,
            payloads are what the SO framework's `Job::serialize()` writes; they carry no
            uuid (`Dispatched.uuid` is empty), and chains and batches do not exist there.
    """

    def __init__(
        self,
        *,
        stores: Stores | None = None,
        queue: JobQueue | None = None,
        profile: Profile | str | int = "8",
        clock: Clock = time.time,
        encrypter: Encrypter | None = None,
        default_queue: str = "default",
        uuid_factory: Callable[[], str] = new_job_uuid,
        dialect: Dialect | None = None,
    ) -> None:
        target = stores.queue if stores is not None else queue
        if target is None or (stores is not None and queue is not None):
            raise TypeError("Dispatcher takes stores= or queue=, one of the two")
        self.stores = stores
        self.queue = target
        self.profile = profile_for(profile)
        self.dialect = dialect if dialect is not None else Dialect(LARAVEL, self.profile)
        self.clock = clock
        self.encrypter = encrypter
        self.default_queue = default_queue
        self.uuid_factory = uuid_factory
        # A queue that adds keys of its own to every payload it creates (Redis: `id` and
        # `attempts`, as Laravel's RedisQueue does) stamps them here, so `Dispatched` shows
        # the payload as stored; the queue would add them on push otherwise.
        self._stamp: Callable[[str], str] | None = getattr(target, "stamp", None)

    def _queue_of(self, job: Job) -> str:
        value = job.value("queue", self.profile)
        return value if isinstance(value, str) and value else self.default_queue

    def _payload(self, job: Job, *, now: int, bulk: bool = False) -> tuple[str, str]:
        dialect = self.dialect
        if not dialect.has_uuid:
            return "", dialect.payload(job, uuid="", now=now)
        job_uuid = self.uuid_factory()
        payload = dialect.payload(job, uuid=job_uuid, now=now, encrypter=self.encrypter, bulk=bulk)
        if self._stamp is not None:
            payload = self._stamp(payload)
        return job_uuid, payload

    def _delay_of(self, job: Job, now: int) -> int:
        return max(0, delay_seconds(job.value("delay", self.profile), now) or 0)

    def dispatch(
        self, job: Job, *, queue: str | None = None, delay: int | datetime | None = None
    ) -> Dispatched:
        """Queue one job (Laravel's `dispatch($job)->onQueue(...)->delay(...)`).

        In the SO dialect, `queue` is the queue argument of `push($job, $queue)` (the job's
        `queue` property is left as it is) and `delay` that of `later($job, $delay)`.
        """
        if queue is not None and self.dialect.queue_sets_property:
            job, queue = job.on_queue(queue), None
        now = int(self.clock())
        if delay is not None and self.dialect.delay_sets_property:
            job, delay = job.delay(delay), None
        # A `queue` or `delay` still given places the row alone (the SO framework's `push` and
        # `later`); else the job's own properties place it, as they do in its payload.
        row_delay = 0 if delay is None else max(0, delay_seconds(delay, now) or 0)
        job_uuid, payload = self._payload(job, now=now)
        target = queue if queue is not None else self._queue_of(job)
        row_id = self.queue.push(
            payload, queue=target, now=now, delay_seconds=row_delay or self._delay_of(job, now)
        )
        return Dispatched(row_id, job_uuid, target, payload)

    def bulk(self, jobs: Sequence[Job], *, queue: str | None = None) -> list[Dispatched]:
        """Queue many jobs with one multi-row INSERT (Laravel's `Queue::bulk`).

        With `queue`, every row goes there and the commands are left as they are, as
        `Queue::bulk($jobs, '', $queue)` does (it never calls `onQueue`). Without it each job
        goes to its own `queue` property, else the default queue, as `dispatch` would send it.
        As in Laravel 8 every row is available at once; from 9.7 a job's own `delay` counts.
        """
        now = int(self.clock())
        rows: list[NewJob] = []
        out: list[Dispatched] = []
        honour_delay = self.profile.at_least(9, 7)
        for job in jobs:
            job_uuid, payload = self._payload(job, now=now, bulk=True)
            target = queue if queue is not None else self._queue_of(job)
            available = now + (self._delay_of(job, now) if honour_delay else 0)
            rows.append(
                NewJob(payload=payload, queue=target, available_at=available, created_at=now)
            )
            out.append(Dispatched(id=None, uuid=job_uuid, queue=target, payload=payload))
        self.queue.bulk(rows)
        return out

    def chain(self, jobs: Sequence[Job], *, queue: str | None = None) -> Dispatched:
        """Queue the first job carrying the rest, as `Bus::chain([...])->dispatch()` does.

        With `queue`, every job of the chain runs there (`allOnQueue`).
        """
        if not self.dialect.has_chains_and_batches:
            raise PayloadError(f"the {self.dialect.label} dialect has no chains")
        if not jobs:
            raise PayloadError("a chain needs at least one job")
        members = list(jobs)
        if queue is not None:
            members = [j.with_values(queue=queue, chainQueue=queue) for j in members]
        first = members[0].chain(members[1:])
        return self.dispatch(first)

    def batch(
        self,
        jobs: Sequence[Job],
        *,
        name: str = "",
        allow_failures: bool = False,
        queue: str | None = None,
    ) -> BatchRecord:
        """Create a `job_batches` row and queue its jobs with one bulk INSERT (`Bus::batch`).

        PHP `then`/`catch`/`finally` callbacks are closures that Python cannot write; a batch
        dispatched from Python has none.
        """
        if not self.dialect.has_chains_and_batches:
            raise PayloadError(f"the {self.dialect.label} dialect has no batches")
        stores = self.stores
        if stores is None or stores.batches is None:
            raise PayloadError("batch() needs the job_batches table: pass stores=")
        now_float = self.clock()
        now = int(now_float)
        options: dict[str, object] = {}
        if allow_failures:
            options["allowFailures"] = True
        if queue is not None:
            options["queue"] = queue
        batch_id = ordered_uuid(now_float)
        stores.batches.create(batch_id=batch_id, name=name, options=dumps(options), now=now)
        # Laravel pushes a batch with one bulk() onto the batch's queue (its `queue` option,
        # else the connection's default), whatever queue each job names itself.
        target = queue if queue is not None else self.default_queue
        rows: list[NewJob] = []
        for job in jobs:
            _job_uuid, payload = self._payload(job.with_batch(batch_id), now=now, bulk=True)
            rows.append(NewJob(payload=payload, queue=target, available_at=now, created_at=now))
        return stores.add_batch_jobs(batch_id, rows)


class SyncDispatcher:
    """The `sync` connection: run the Python handler now, in this process.

    Like Laravel's `SyncQueue`, nothing is stored: the job is built exactly as for the queue,
    handed to the app's handler at once, and a failure is raised to the caller: the
    handler's own exception, as Laravel's sync driver rethrows the job's (after the failed
    hook ran); a failure before the handler ran (no handler, an undecodable command) is a
    `WorkerError`.
    """

    def __init__(
        self,
        *,
        app: App,
        profile: Profile | str | int = "8",
        clock: Clock = time.time,
        encrypter: Encrypter | None = None,
    ) -> None:
        self.app = app
        self.profile = profile_for(profile)
        self.clock = clock
        self.encrypter = encrypter

    def dispatch(self, job: Job) -> Dispatched:
        """Run `job`'s handler inline; raise what it raised when it fails."""
        stores = Stores.in_memory(connection_name="sync")
        inline = Dispatcher(
            stores=stores, profile=self.profile, clock=self.clock, encrypter=self.encrypter
        )
        dispatched = inline.dispatch(job.delay(None) if job.value("delay", self.profile) else job)
        raised: list[BaseException] = []
        worker = Worker(
            stores=stores,
            app=_capturing(self.app, raised),
            options=WorkerOptions(queues=(dispatched.queue,), once=True, sleep_seconds=0),
            clock=self.clock,
            encrypter=self.encrypter,
        )
        worker.run()
        for record in stores.failed.select(FailedJobFilter()):
            if raised:
                raise raised[-1]
            raise WorkerError(f"{job.name} failed in the sync connection:\n{record.exception}")
        return dispatched


def _capturing(app: App, raised: list[BaseException]) -> App:
    """`app` with every handler wrapped to keep what it raises (the worker only records it)."""
    copy = App(name=app.name)
    for key, spec in app.handlers.items():

        def run(job: WorkerJob, func: Callable[[WorkerJob], object] = spec.func) -> object:
            try:
                return func(job)
            except BaseException as exc:
                raised.append(exc)
                raise

        copy.register(key, run, failed=spec.failed)
    return copy
