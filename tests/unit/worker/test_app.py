"""The handler registry, `load_app`, exception text, counters and the job timer."""

from __future__ import annotations

import signal
import sys
import time
import types
from collections.abc import Iterator

import pytest
from worker_kit import fixture_payload

from bridge.exceptions import AppImportError, JobTimeoutInterrupt, ManuallyFailed, TimeoutExceeded
from bridge.laravel.payload import JobPayload
from bridge.worker import App, InMemoryExceptionCounter, Job, load_app
from bridge.worker._exception_text import php_class_name, php_exception_text
from bridge.worker.timeouts import JobTimer


def nothing(job: Job) -> None:
    return None


def test_resolve_object_and_string_jobs() -> None:
    app = App()
    app.register("\\App\\Jobs\\SendWelcomeEmail", nothing)
    app.register("App\\Jobs\\LegacyHandler", nothing)
    object_job = JobPayload.from_json(fixture_payload("plain_public"))
    string_job = JobPayload.from_json(fixture_payload("string_job"))
    resolved = app.resolve(object_job)
    assert resolved is not None and resolved.name == "App\\Jobs\\SendWelcomeEmail"
    resolved = app.resolve(string_job)
    assert resolved is not None and resolved.name == "App\\Jobs\\LegacyHandler"
    app.register(string_job.job, nothing)  # the exact `Class@method` wins over the class
    resolved = app.resolve(string_job)
    assert resolved is not None and resolved.name == string_job.job
    assert set(app.handlers) == {
        "App\\Jobs\\SendWelcomeEmail",
        "App\\Jobs\\LegacyHandler",
        string_job.job,
    }


def test_register_rejects_duplicates_and_empty_names() -> None:
    app = App()
    app.register("A", nothing)
    with pytest.raises(ValueError, match="already"):
        app.register("\\A", nothing)
    with pytest.raises(ValueError):
        app.register("", nothing)


def test_decorators_and_failed_hook() -> None:
    app = App()

    @app.handler("X")
    def handle(job: Job) -> None: ...

    @app.failed("X")
    def on_failed(job: Job, exc: BaseException) -> None: ...

    assert app.handlers["X"].func is handle and app.handlers["X"].failed is on_failed
    with pytest.raises(ValueError):
        app.failed("Y")(on_failed)


@pytest.fixture
def fake_module() -> Iterator[types.ModuleType]:
    module = types.ModuleType("bridge_fake_jobs")
    module.app = App()  # type: ignore[attr-defined]
    module.nested = types.SimpleNamespace(app=App(name="nested"))  # type: ignore[attr-defined]
    module.other = 42  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_load_app(fake_module: types.ModuleType) -> None:
    assert load_app("bridge_fake_jobs:app") is fake_module.app  # type: ignore[attr-defined]
    assert load_app("bridge_fake_jobs") is fake_module.app  # type: ignore[attr-defined]
    assert load_app("bridge_fake_jobs:nested.app").name == "nested"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("bridge_no_such_module_x:app", "cannot import"),
        ("bridge_fake_jobs:missing", "no attribute"),
        ("bridge_fake_jobs:other", "not a bridge.worker.App"),
        (":app", "MODULE:ATTR"),
    ],
)
def test_load_app_errors(fake_module: types.ModuleType, target: str, message: str) -> None:
    with pytest.raises(AppImportError, match=message):
        load_app(target)


def inner() -> None:
    raise KeyError("k")


def outer() -> None:
    try:
        inner()
    except KeyError as exc:
        raise RuntimeError("wrapped") from exc


def test_exception_text_with_previous_exception() -> None:
    try:
        outer()
    except RuntimeError as exc:
        text = php_exception_text(exc)
    first, second = text.split("\n\nNext ")
    assert first.startswith("KeyError: 'k' in ")
    assert second.startswith("RuntimeError: wrapped in ")
    assert "): inner()" in first and "): outer()" in second
    for part in (first, second):
        assert part.split("\n")[1] == "Stack trace:"
        assert part.endswith("{main}")


def test_exception_text_without_message_or_traceback() -> None:
    text = php_exception_text(ManuallyFailed(""))
    assert text.startswith("Illuminate\\Queue\\ManuallyFailedException in ")
    assert php_class_name(TimeoutExceeded("x")) == "Illuminate\\Queue\\TimeoutExceededException"
    assert php_class_name(ValueError()) == "ValueError"


def test_exception_counter_expires() -> None:
    counter = InMemoryExceptionCounter(ttl_seconds=10)
    assert [counter.increment("u", now=0), counter.increment("u", now=5)] == [1, 2]
    assert counter.increment("u", now=10) == 1
    counter.forget("u")
    assert counter.increment("u", now=11) == 1


def test_timer_interrupts_and_disarms() -> None:
    hard: list[int] = []
    timer = JobTimer(on_hard_timeout=lambda: hard.append(1), grace_seconds=10)
    with pytest.raises(JobTimeoutInterrupt):
        timer.run(lambda: time.sleep(3), 0.1)
    assert timer.fired
    assert timer.run(lambda: 7, 0.1) == 7
    time.sleep(0.2)  # the disarmed alarm must not fire later
    assert not timer.fired and hard == []
    assert timer.run(lambda: 8, 0) == 8
    timer.close()


def test_timer_keeps_its_alarm_handler_between_jobs_and_close_restores_the_old_one() -> None:
    before = signal.getsignal(signal.SIGALRM)
    timer = JobTimer(on_hard_timeout=lambda: None)
    timer.run(lambda: None, 5)
    ours = signal.getsignal(signal.SIGALRM)
    assert ours is not before
    timer.run(lambda: None, 5)
    assert signal.getsignal(signal.SIGALRM) == ours
    timer.close()
    assert signal.getsignal(signal.SIGALRM) == before


@pytest.fixture
def timer() -> Iterator[JobTimer]:
    """A timer with no hard-timeout consequence, closed (alarm cleared) afterwards."""
    made = JobTimer(on_hard_timeout=lambda: None, grace_seconds=10)
    yield made
    made.close()


def test_an_alarm_going_off_in_a_finaliser_still_interrupts_the_job(timer: JobTimer) -> None:
    # Found in a CI run: the limit passed while a garbage-collector callback ran (one that
    # Hypothesis installs), the interrupt raised there was printed and dropped, and the job
    # ran on. A `__del__` method drops exceptions the same way.
    class Slow:
        def __del__(self) -> None:
            end = time.monotonic() + 0.3
            while time.monotonic() < end:  # the 0.1 s limit passes in here
                pass

    def job() -> None:
        Slow()  # dropped at once: its __del__ runs here
        time.sleep(5)  # the interrupt comes in here, not after it

    started = time.monotonic()
    with pytest.raises(JobTimeoutInterrupt):
        timer.run(job, 0.1)
    assert time.monotonic() - started < 4.5
    assert timer.fired


def test_an_alarm_going_off_in_a_gc_callback_still_interrupts_the_job(timer: JobTimer) -> None:
    import gc

    def slow_callback(phase: str, info: dict[str, int]) -> None:
        end = time.monotonic() + 0.3
        while phase == "start" and time.monotonic() < end:  # the limit passes in here
            pass

    def job() -> None:
        gc.collect()
        time.sleep(5)

    gc.callbacks.append(slow_callback)
    try:
        started = time.monotonic()
        with pytest.raises(JobTimeoutInterrupt):
            timer.run(job, 0.1)
    finally:
        gc.callbacks.remove(slow_callback)
    assert time.monotonic() - started < 4.5


def test_an_alarm_left_by_a_shorter_limit_does_not_cut_the_next_job_short(timer: JobTimer) -> None:
    timer.run(lambda: None, 0.1)  # leaves its alarm pending
    assert timer.run(lambda: time.sleep(0.4) or "done", 30) == "done"
    assert not timer.fired


def test_a_pending_alarm_still_stops_a_later_hanging_job(timer: JobTimer) -> None:
    timer.run(lambda: None, 0.1)
    # The pending alarm goes off first and is set again for this job's own deadline.
    with pytest.raises(JobTimeoutInterrupt):
        timer.run(lambda: time.sleep(5), 0.3)
    assert timer.fired


def test_a_shorter_limit_than_the_pending_alarm_gets_its_own_alarm(timer: JobTimer) -> None:
    timer.run(lambda: None, 30)
    with pytest.raises(JobTimeoutInterrupt):
        timer.run(lambda: time.sleep(5), 0.1)


def test_rest_and_close_clear_the_pending_alarm() -> None:
    timer = JobTimer(on_hard_timeout=lambda: None)
    try:
        timer.run(lambda: None, 30)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
        timer.rest()
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        timer.run(lambda: None, 30)
    finally:
        timer.close()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_wrapped_job_is_served_by_the_handler_of_its_display_name() -> None:
    app = App()
    app.register("App\\Listeners\\SendReceipt", lambda job: None)
    wrapped = JobPayload.from_json(
        '{"uuid":"u","displayName":"App\\\\Listeners\\\\SendReceipt",'
        '"job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call",'
        '"data":{"commandName":"Illuminate\\\\Events\\\\CallQueuedListener","command":"O:1:\\"X\\":0:{}"}}'
    )
    spec = app.resolve(wrapped)
    assert spec is not None and spec.name == "App\\Listeners\\SendReceipt"
