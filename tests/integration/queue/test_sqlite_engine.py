"""SQLite engines: the file is switched to WAL, also by processes that open it at once."""

from __future__ import annotations

import threading
from pathlib import Path

from bridge.queue.database import create_engine_for

OPENERS = 12
ROUNDS = 60


def _journal_mode(url: str, **options: bool) -> str:
    """Open `url` as a starting worker does (a transaction that reads the schema), then
    report the file's journal mode."""
    engine = create_engine_for(url, **options)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())
    finally:
        engine.dispose()


def _open_at_once(url: str) -> tuple[list[str], list[BaseException]]:
    start = threading.Barrier(OPENERS)
    modes: list[str] = []
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            start.wait()
            modes.append(_journal_mode(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return modes, errors


def test_engines_opening_a_fresh_file_at_once_all_connect_and_leave_it_in_wal(
    tmp_path: Path,
) -> None:
    # Without waiting out the switch, most runs of this test had an opener fail with
    # "database is locked".
    for round_ in range(ROUNDS):
        modes, errors = _open_at_once(f"sqlite:///{tmp_path / f'fresh-{round_}.sqlite'}")
        assert errors == []
        assert modes == ["wal"] * OPENERS


def test_without_wal_the_file_keeps_the_rollback_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    assert _journal_mode(url, sqlite_wal=False) == "delete"
    assert _journal_mode(url) == "wal"
