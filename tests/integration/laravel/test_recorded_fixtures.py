"""Every recorded Laravel line: bridge parses it, and builds the same payload byte for byte.

Runs over every `*.jsonl` in tests/vectors/laravel-fixtures (and the harness's
tests/vectors/laravel8/fixtures.jsonl, ids prefixed `laravel8:`) through the generic adapter in
`laravel_fixture_adapter.py`; ids are `<version>-<kind>[-<n>]`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from laravel_fixture_adapter import dispatched_job, pins

from bridge.laravel.classes import serialize_command
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload, build_payload, build_string_payload
from bridge.laravel.versions import profile_for
from bridge.php import dumps, loads

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
#: The shared set (Laravel 8.83-12.67) and the harness's own Laravel 8 set (other classes).
FILES = [
    *sorted((VECTORS / "laravel-fixtures").glob("*.jsonl")),
    VECTORS / "laravel8" / "fixtures.jsonl",
]


def _lines() -> list[Any]:
    params = []
    for path in FILES:
        if not path.exists():
            continue
        prefix = "" if path.parent.name == "laravel-fixtures" else f"{path.parent.name}:"
        counts: dict[str, int] = {}
        for text in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(text)
            kind = line["kind"]
            counts[kind] = counts.get(kind, 0) + 1
            suffix = f"-{counts[kind]}" if kind == "batch" else ""
            params.append(pytest.param(line, id=f"{prefix}{line['laravel']}-{kind}{suffix}"))
    return params


LINES = _lines()


@pytest.mark.parametrize("line", LINES)
def test_parse_and_reencode(line: dict[str, Any]) -> None:
    payload = JobPayload.from_json(line["payload"])
    assert payload.to_json() == line["payload"]
    assert payload.replace().to_json() == line["payload"]
    assert payload.uuid == json.loads(line["payload"])["uuid"]
    if payload.command is None:
        assert payload.job == line["job"]
        return
    command = payload.command
    if payload.is_encrypted:
        command = Encrypter(line["app_key"], line["cipher"]).decrypt(command).decode()
    assert dumps(loads(command)) == command.encode()


@pytest.mark.parametrize("line", [p for p in LINES if p.values[0]["kind"] != "closure"])
def test_build_matches_laravel(line: dict[str, Any]) -> None:
    profile = profile_for(line["laravel"])
    pinned = pins(line)
    if line["kind"] == "string_job":
        data = json.loads(line["payload"])["data"]
        built = build_string_payload(
            line["job"], data, profile=profile, uuid=pinned.uuid, now=pinned.now
        )
        assert built == line["payload"]
        return
    job = dispatched_job(line)
    if pinned.encrypter is not None:
        recorded = JobPayload.from_json(line["payload"])
        assert recorded.command is not None
        plaintext = pinned.encrypter.decrypt(recorded.command)
        assert serialize_command(job, profile) == plaintext
    built = build_payload(
        job,
        profile=profile,
        uuid=pinned.uuid,
        now=pinned.now,
        encrypter=pinned.encrypter,
        bulk=pinned.bulk,
    )
    assert built == line["payload"]
    if line.get("chained_commands"):
        command = loads(JobPayload.from_json(built).command or "")
        assert command["chained"] == line["chained_commands"]
    if pinned.encrypter is not None:
        again = JobPayload.from_json(built).command
        assert again is not None
        assert pinned.encrypter.decrypt(again) == serialize_command(job, profile)
