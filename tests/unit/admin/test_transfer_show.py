"""JSON-lines export/import and the decoded view of a failed job."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from admin_unit_support import laravel_rows, make_record, row_id

from bridge.admin import (
    class_of,
    details_to_json,
    export_lines,
    import_lines,
    inspect_failed,
    record_from_line,
    record_to_line,
    render_details,
    render_value,
)
from bridge.exceptions import PayloadDecodeError
from bridge.laravel.encryption import Encrypter
from bridge.php import PhpCustom, PhpEnum, PhpObject, PhpReference
from bridge.queue.base import FailedJobFilter
from bridge.queue.memory import InMemoryFailedJobStore

ROWS = laravel_rows()
FIXTURE_KEY = "base64:Dp3HhO7l4BO2i0GCAnhvgKcvWHMq3wUJNFp0ObptVoQ="


def test_a_line_round_trips_exactly() -> None:
    record = make_record(
        ROWS[1]["payload"],
        record_id=12,
        exception="Exception: ünïcödé \u2028 \x00 \ud7ff in a.php:1",
        failed_at=datetime(2026, 1, 2, 3, 4, 5),
    )
    line = record_to_line(record)
    assert line.isascii() and "\n" not in line
    assert record_from_line(line) == record
    assert json.loads(line)["failed_at"] == "2026-01-02 03:04:05"


def test_an_id_only_export_takes_the_payload_uuid() -> None:
    record = make_record(ROWS[0]["payload"], uuid=None)
    line = json.loads(record_to_line(record))
    line["uuid"] = None
    assert record_from_line(json.dumps(line)).uuid == json.loads(ROWS[0]["payload"])["uuid"]


@pytest.mark.parametrize(
    "line",
    ["nope", "[]", '{"connection":1}', json.dumps({"connection": "c", "queue": "q", "payload": "p",
     "exception": "e", "failed_at": "yesterday"}), json.dumps({"connection": "c", "queue": "q",
     "payload": "p", "exception": "e", "failed_at": "2026-01-01", "uuid": 5})],
)  # fmt: skip
def test_bad_lines(line: str) -> None:
    with pytest.raises(PayloadDecodeError, match="line 4"):
        record_from_line(line, number=4)


def test_import_into_either_layout_skips_what_is_there(
    failed_store: InMemoryFailedJobStore,
) -> None:
    records = [make_record(r["payload"], record_id=n) for n, r in enumerate(ROWS[:10], 1)]
    lines = [*export_lines(records), "\n", "garbage\n"]
    calls: list[None] = []
    first = import_lines(lines, store=failed_store, on_line=lambda: calls.append(None))
    assert (first.imported, first.duplicates, first.rejected[0][0]) == (10, 0, 12)
    assert len(calls) == 12
    again = import_lines(lines, store=failed_store)
    assert (again.imported, again.duplicates) == (0, 10)
    kept = sorted(
        (r.connection, r.queue, r.payload, r.exception, r.failed_at)
        for r in failed_store.select(FailedJobFilter())
    )
    assert kept == sorted(
        (r.connection, r.queue, r.payload, r.exception, r.failed_at) for r in records
    )


def test_import_without_any_uuid_is_rejected_in_the_uuid_layout() -> None:
    line = record_to_line(make_record('{"job":"J"}', uuid=None))
    report = import_lines([line], store=InMemoryFailedJobStore())
    assert report.rejected == ((1, "no uuid in the row or its payload"),)


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_every_laravel_payload_decodes(row: dict[str, Any]) -> None:
    details = inspect_failed(make_record(row["payload"]), encrypter=Encrypter(FIXTURE_KEY))
    assert details.problem is None and details.payload is not None
    text = render_details(details)
    assert json.dumps(details_to_json(details))  # JSON-serializable throughout
    if details.command is None:  # a Class@method job
        assert row["kind"] == "string_job" and '"Data:"' not in text and "Data:" in text
        return
    assert details.command.problem is None, details.command.problem
    assert isinstance(details.command.value, PhpObject)
    assert details.command.value.class_name == row["class"]
    assert class_of(row["payload"]) == row["class"]
    for name, visibility in row.get("visibility", {}).items():
        if name in details.command.value:  # 9.4+ leaves out properties at their default
            assert details.command.value.visibility(name).value == visibility
    assert details.command.encrypted == (row["kind"] == "encrypted")
    assert len(details.command.chained) == len(row.get("chained_commands", []))


def test_encrypted_without_key_or_with_another_key() -> None:
    [row] = [r for r in ROWS if r["kind"] == "encrypted" and r["laravel"] == "12.67.0"]
    locked = inspect_failed(make_record(row["payload"]), encrypter=None).command
    assert locked is not None and locked.problem == "encrypted; set APP_KEY to decrypt it"
    other = Encrypter("base64:" + "A" * 43 + "=")
    wrong = inspect_failed(make_record(row["payload"]), encrypter=other).command
    assert wrong is not None and wrong.problem is not None
    assert wrong.problem.startswith("cannot decrypt")


def test_unreadable_payloads_are_reported_not_raised() -> None:
    details = inspect_failed(make_record("{oops", uuid="u"), encrypter=None)
    assert details.problem is not None and details.problem.startswith("unreadable payload")
    assert "unreadable payload" in render_details(details)
    assert class_of("{oops") == "?"
    broken = inspect_failed(
        make_record('{"job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call",'
                    '"data":{"commandName":"X","command":"O:1:\\"X\\":1:{"}}', uuid="u"),
        encrypter=None,
    )  # fmt: skip
    assert broken.command is not None and broken.command.problem is not None
    assert broken.command.problem.startswith("cannot decode")


def test_render_value_covers_every_php_type() -> None:
    obj = PhpObject("A", {"\0*\0p": 1, "\0A\0q": [True, None], "r": {"k": 1.5}})
    obj.properties["self"] = obj
    text = render_value(
        [obj, PhpEnum("E", "On"), PhpCustom("C", b"xy"), PhpReference("s"), b"\xff", []]
    )
    for fragment in (
        "protected p = 1",
        "private(A) q = [",
        '"k" => 1.5',
        "public self = *RECURSION*",
        "E::On",
        "C (Serializable, 2 bytes)",
        '&"s"',
        "binary b'\\xff'",
        "5 => []",
    ):
        assert fragment in text, fragment
