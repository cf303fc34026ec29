"""Commands from recorded payloads: decoding, the next chain step, batch options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from laravel_fixture_adapter import declaration, job_from

from bridge.exceptions import PayloadDecodeError
from bridge.laravel.classes import serialize_command
from bridge.laravel.command import (
    batch_allows_failures,
    batch_id_of,
    decode_batch_options,
    decode_command,
    encode_batch_options,
    next_chained_job,
)
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import JobPayload
from bridge.laravel.versions import profile_for
from bridge.php import PhpObject, dumps, loads

FIXTURES = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"


def _lines(kind: str) -> list[Any]:
    out = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        for text in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(text)
            if line["kind"] == kind:
                out.append(pytest.param(line, id=line["laravel"]))
    return out


@pytest.mark.parametrize("line", _lines("encrypted"))
def test_decode_encrypted_command(line: dict[str, Any]) -> None:
    payload = JobPayload.from_json(line["payload"])
    with pytest.raises(PayloadDecodeError, match="encrypted"):
        decode_command(payload, encrypter=None)
    command = decode_command(payload, encrypter=Encrypter(line["app_key"], line["cipher"]))
    assert command.class_name == line["class"]
    assert {k: command[k] for k in line["properties"]} == line["properties"]


@pytest.mark.parametrize("line", _lines("chain"))
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "generic"])
def test_next_chained_job_is_what_laravel_dispatches(line: dict[str, Any], declared: bool) -> None:
    """The next step equals the chained job serialized with chainCatchCallbacks copied."""
    profile = profile_for(line["laravel"])
    command = decode_command(JobPayload.from_json(line["payload"]))
    [next_desc] = line["chained"]
    declarations = {next_desc["class"]: declaration(next_desc)} if declared else None
    step = next_chained_job(command, profile=profile, uuid="u-1", now=1_800_000_000,
                            declarations=declarations)  # fmt: skip
    assert step is not None
    assert step.queue is None and step.connection is None and step.delay_seconds is None
    # What PHP's Queueable::dispatchNextJobInChain leaves on the next job: the rest of the
    # chain (empty) and the first job's chainCatchCallbacks ([]), everything else as is.
    expected = serialize_command(job_from(next_desc).with_values(chainCatchCallbacks=[]), profile)
    assert dumps(step.command) == expected
    payload = JobPayload.from_json(step.payload)
    assert payload.uuid == "u-1" and payload.command_name == next_desc["class"]
    assert payload.command == expected.decode()
    assert next_chained_job(step.command, profile=profile, uuid="u-2", now=0) is None


def test_next_chained_job_takes_chain_queue_and_rest() -> None:
    profile = profile_for("12")
    second = dumps(loads(b'O:1:"B":1:{s:1:"n";i:2;}')).decode()
    third = dumps(loads(b'O:1:"C":1:{s:1:"n";i:3;}')).decode()
    command = loads(
        dumps({"chained": [second, third], "chainQueue": "q2", "chainConnection": "c2"}).replace(
            b"a:3:", b'O:1:"A":3:', 1
        )
    )
    step = next_chained_job(command, profile=profile, uuid="u", now=5)
    assert step is not None
    assert (step.queue, step.connection) == ("q2", "c2")
    assert step.command["chained"] == [third]
    assert step.command["queue"] == "q2" and step.command["chainQueue"] == "q2"
    assert json.loads(step.payload)["createdAt"] == 5


@pytest.mark.parametrize(("own", "taken"), [("0", "q2"), ("", "q2"), (None, "q2"), ("q1", "q1")])
def test_next_chained_job_keeps_its_own_queue_only_when_php_calls_it_set(
    own: str | None, taken: str
) -> None:
    """`$next->queue ?: $this->chainQueue`: "0" is empty to PHP."""
    second = dumps(PhpObject("B", {"queue": own})).decode()
    command = PhpObject("A", {"chained": [second], "chainQueue": "q2"})
    step = next_chained_job(command, profile=profile_for("12"), uuid="u", now=5)
    assert step is not None and step.queue == taken


@pytest.mark.parametrize("line", _lines("batch"))
def test_batch_id_and_options(line: dict[str, Any]) -> None:
    command = decode_command(JobPayload.from_json(line["payload"]))
    assert batch_id_of(command) == line["batch"]["id"]
    stored = line["batch"]["options"]
    options = decode_batch_options(stored)
    assert encode_batch_options(options) == stored
    assert batch_allows_failures(stored) is True
    as_base64 = encode_batch_options(options, base64_encode=True)
    assert decode_batch_options(as_base64) == options
    assert batch_allows_failures(encode_batch_options({"queue": "x"})) is False
    assert batch_allows_failures("garbage;") is False
    # Laravel asks `=== true`.
    for loose in (1, "1", "yes", [True]):
        assert batch_allows_failures(encode_batch_options({"allowFailures": loose})) is False
