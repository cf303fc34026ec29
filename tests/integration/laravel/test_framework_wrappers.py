"""Jobs Laravel wraps around app code: a queued listener, a mailable, a notification.

Real Laravel 8 pushes them (`php_fixtures/framework_jobs.php`); bridge parses each payload,
re-encodes payload and command byte for byte, and its worker runs them with handlers
registered for the app's own classes (matched through `displayName`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.laravel.payload import JobPayload
from bridge.php import PhpObject, dumps, loads
from bridge.queue.base import FailedJobFilter
from bridge.queue.database_stores import DatabaseStores
from bridge.worker import App, Job, Worker, WorkerOptions
from tests.support.laravel import fresh_laravel_env

WRAPPERS = {
    "listener": ("Illuminate\\Events\\CallQueuedListener", "Fixtures\\Framework\\SendReceipt"),
    "mailable": ("Illuminate\\Mail\\SendQueuedMailable", "Fixtures\\Framework\\WelcomeMail"),
    "notification": (
        "Illuminate\\Notifications\\SendQueuedNotifications",
        "Fixtures\\Framework\\InvoicePaid",
    ),
}


def test_wrapped_jobs_parse_round_trip_and_run_in_bridge(
    sqlite_url: str, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    env = fresh_laravel_env(sqlite_url, php_binary=php_binary, tmp_path=tmp_path)
    lines = [json.loads(line) for line in env.php("framework_jobs.php").stdout.splitlines()]
    assert sorted(line["kind"] for line in lines) == sorted(WRAPPERS)
    for line in lines:
        command_name, display_name = WRAPPERS[line["kind"]]
        payload = JobPayload.from_json(line["payload"])
        assert (payload.command_name, payload.display_name) == (command_name, display_name)
        assert payload.to_json() == line["payload"]
        assert payload.command is not None
        assert dumps(loads(payload.command)).decode() == payload.command
    listener = JobPayload.from_json(next(x["payload"] for x in lines if x["kind"] == "listener"))
    assert listener.max_tries == 4

    seen: dict[str, Any] = {}
    app = App()

    @app.handler("Fixtures\\Framework\\SendReceipt")
    def receipt(job: Job) -> None:
        event = job.command["data"][0] if job.command is not None else None
        assert isinstance(event, PhpObject)
        seen["listener"] = (job.command["class"], job.command["method"], event.as_dict())

    @app.handler("Fixtures\\Framework\\WelcomeMail")
    def mail(job: Job) -> None:
        mailable = job.command["mailable"] if job.command is not None else None
        assert isinstance(mailable, PhpObject)
        seen["mailable"] = (mailable["name"], mailable["userId"], mailable.visibility("userId"))

    @app.handler("Fixtures\\Framework\\InvoicePaid")
    def notify(job: Job) -> None:
        notification = job.command["notification"] if job.command is not None else None
        assert isinstance(notification, PhpObject)
        seen["notification"] = (notification["invoiceId"], notification["amount"])

    stores = DatabaseStores.open(sqlite_url)
    try:
        Worker(
            stores=stores,
            app=app,
            options=WorkerOptions(
                queues=("framework",), stop_when_empty=True, sleep_seconds=0, memory_mb=0
            ),
        ).run()
        assert list(stores.failed.select(FailedJobFilter())) == []
    finally:
        stores.close()
    assert seen == {
        "listener": (
            "Fixtures\\Framework\\SendReceipt",
            "handle",
            {"orderId": 7, "carrier": "DHL/Express"},
        ),
        "mailable": ("Zoë", 42, "protected"),
        "notification": (1001, 99.5),
    }
