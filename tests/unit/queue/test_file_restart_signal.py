"""The file cache store's restart signal: where FileStore keeps it, and what it holds."""

from __future__ import annotations

from pathlib import Path

from bridge.queue.file_restart_signal import (
    read_file_restart_signal,
    restart_file,
    write_file_restart_signal,
)


def test_the_file_is_named_by_the_keys_sha1_in_two_levels(tmp_path: Path) -> None:
    # sha1("illuminate:queue:restart"), as Laravel 8's FileStore named it in the live test.
    digest = "ee2f842aa7bb1f53edf3a2ed2c09a1807ffa6c90"
    assert restart_file(tmp_path) == tmp_path / "ee" / "2f" / digest


def test_write_then_read_and_what_reads_as_no_signal(tmp_path: Path) -> None:
    assert read_file_restart_signal(tmp_path, now=0) is None  # no file yet
    path = write_file_restart_signal(tmp_path, now=1733580000)
    assert path.read_text() == "9999999999i:1733580000;"
    assert read_file_restart_signal(tmp_path, now=1733580001) == 1733580000
    path.write_text("1733580000i:1733580000;")  # expired (not forever)
    assert read_file_restart_signal(tmp_path, now=1733580001) is None
    path.write_text('9999999999s:3:"abc";')  # not an integer
    assert read_file_restart_signal(tmp_path, now=0) is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
