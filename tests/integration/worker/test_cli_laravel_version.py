"""The PHP side's Laravel version in the CLI: `--laravel 13`, `BRIDGE_LARAVEL_VERSION=13`,
detection from the tables, the fallback (13) when they tell nothing.

`bridge work` settles it as `bridge dispatch` does: without `--laravel` it reads the rows in
the tables, so a table of Laravel 8 rows gets Laravel 8's attempt-limit text in
`failed_jobs`, and the version it settled on is logged at start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.queue.base import FailedJobFilter, NewJob
from bridge.queue.database import DatabaseFailedJobStore, DatabaseQueue, create_engine_for

FIXTURES = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"
APP = """
from bridge.worker import App

app = App()
app.register("App\\\\Jobs\\\\NotifyCustomer", lambda job: None)
"""


def _payload(version: str) -> str:
    for text in (FIXTURES / f"{version}.jsonl").read_text("utf-8").splitlines():
        line = json.loads(text)
        if line["kind"] == "model_single":  # its ModelIdentifier tells 8.x from 9.26+
            raw = json.loads(line["payload"])
            raw["maxTries"] = 1
            return json.dumps(raw)
    raise AssertionError("no model_single line")


@pytest.mark.parametrize(
    ("version", "settled", "text"),
    [
        (
            "8.83.26",
            "8.83.29 (detected from the tables)",
            "has been attempted too many times or run too long. "
            "The job may have previously timed out.",
        ),
        ("13.26.1", "13.26.1 (detected from the tables)", "has been attempted too many times."),
    ],
)
def test_work_words_failures_as_the_laravel_version_in_the_tables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    version: str,
    settled: str,
    text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIDGE_LARAVEL_VERSION", raising=False)
    monkeypatch.delenv("BRIDGE_DATABASE_URL", raising=False)
    (tmp_path / "version_app.py").write_text(APP, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'q.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database", url, "migrate"]).exit_code == 0
    engine = create_engine_for(url)
    try:
        queue = DatabaseQueue(engine=engine)
        # Already attempted once, with maxTries 1: the worker fails it before running.
        payload = _payload(version)
        queue.bulk(
            [NewJob(payload=payload, queue="default", available_at=0, created_at=0, attempts=1)]
        )
        with caplog.at_level(logging.INFO, logger="bridge"):
            done = runner.invoke(
                main,
                [
                    "--database",
                    url,
                    "work",
                    "--app",
                    "version_app:app",
                    "--stop-when-empty",
                    "--sleep",
                    "0",
                    # The test process's own size is not a worker's: no memory limit.
                    "--memory",
                    "0",
                ],
            )
        assert done.exit_code == 0, done.output
        [row] = DatabaseFailedJobStore(engine=engine).select(FailedJobFilter())
        assert row.exception.startswith(
            "Illuminate\\Queue\\MaxAttemptsExceededException: App\\Jobs\\NotifyCustomer " + text
        )
        assert f"Laravel {settled}" in caplog.text
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "environ", "seed", "key"),
    [
        (["--laravel", "13"], {}, None, True),
        ([], {"BRIDGE_LARAVEL_VERSION": "13"}, None, True),
        ([], {}, None, True),  # nothing known: the newest major
        ([], {}, "13.26.1", True),
        ([], {}, "8.83.26", False),  # detected: Laravel 8 has no such key
        (["--laravel", "12"], {}, "13.26.1", False),
    ],
)
def test_dispatch_writes_for_the_version_given_detected_or_the_newest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    environ: dict[str, str],
    seed: str | None,
    key: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIDGE_LARAVEL_VERSION", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'q.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database", url, "migrate"]).exit_code == 0
    engine = create_engine_for(url)
    try:
        queue = DatabaseQueue(engine=engine)
        if seed is not None:
            queue.bulk([NewJob(payload=_payload(seed), queue="seen", available_at=0, created_at=0)])
        done = runner.invoke(
            main,
            ["--database", url, "dispatch", "App\\Jobs\\Ping", "--set", "n=1", "--json", *args],
        )
        assert done.exit_code == 0, done.output
        sent = json.loads(done.stdout.strip().splitlines()[-1])
        [row] = [r for r in queue.rows() if r.id == sent["id"]]
        assert ("deleteWhenMissingModels" in json.loads(row.payload)) is key
    finally:
        engine.dispose()
