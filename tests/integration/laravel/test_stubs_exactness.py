"""`bridge stubs` and declarations against real PHP 8.2 + Debian's Laravel 8, and against the
recorded Laravel 13.26.1 / 12.67.0 lines.

* stubs from the fixture set's own PHP (jobs.php + jobs13.php, whose Laravel 13 attribute
  classes do not exist on Laravel 8: reflection reads them by name) build every recorded
  13.26.1 line, and the attribute lines for 13 and 12, byte for byte;
* integral floats stay floats (`d:1;`, `d:-0;`, `d:2;` in a list), defaults and values;
* plain value classes the properties hold are declared too;
* properties bound by PHP references serialize as PHP writes them (`R:`), with and without
  SerializesModels;
* a `retryUntil()` relative to the clock is kept relative, not frozen.
"""

from __future__ import annotations

import base64
import json
import subprocess
import types
from pathlib import Path
from typing import Any

import pytest
from laravel_fixture_adapter import dispatched_job, pins

from bridge.laravel import FromNow, JobClass, build_payload, profile_for, serialize_command
from bridge.laravel.stubs import generate_stubs
from bridge.php import PhpReference

pytestmark = pytest.mark.php

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "vectors" / "laravel-fixtures"
EXACT = HERE / "php" / "Exact.php"


def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("generated_stubs")
    exec(compile(source, "generated_stubs.py", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def fixture_stubs(laravel: Path, php_binary: str) -> types.ModuleType:
    return _module(generate_stubs([FIXTURES / "jobs.php", FIXTURES / "jobs13.php"], php=php_binary))


@pytest.fixture(scope="module")
def exact_stubs(laravel: Path, php_binary: str) -> types.ModuleType:
    return _module(generate_stubs([EXACT], php=php_binary))


@pytest.fixture(scope="module")
def php_bytes(laravel: Path, php_binary: str) -> dict[str, bytes]:
    done = subprocess.run(
        [php_binary, str(HERE / "php" / "serialize_exact.php")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if line.strip())
    return {kind: base64.b64decode(data) for kind, data in pairs}


def _lines(*names: str) -> list[Any]:
    params = []
    for name in names:
        for text in (FIXTURES / f"{name}.jsonl").read_text("utf-8").splitlines():
            line = json.loads(text)
            if line["kind"] in ("closure", "string_job"):
                continue
            params.append(pytest.param(line, id=f"{name}-{line['kind']}"))
    return params


@pytest.mark.parametrize("line", _lines("13.26.1", "13.26.1-attributes", "12.67.0-attributes"))
def test_stubs_of_the_fixture_classes_build_the_recorded_bytes(
    fixture_stubs: types.ModuleType, line: dict[str, Any]
) -> None:
    declarations: dict[str, JobClass] = fixture_stubs.DECLARATIONS
    pinned = pins(line)
    built = build_payload(
        dispatched_job(line, declarations),
        profile=profile_for(line["laravel"]),
        uuid=pinned.uuid,
        now=pinned.now,
        encrypter=pinned.encrypter,
        bulk=pinned.bulk,
    )
    assert built == line["payload"]


def test_stubs_say_which_laravel_reads_the_attributes(fixture_stubs: types.ModuleType) -> None:
    cls: JobClass = fixture_stubs.DECLARATIONS["App\\Jobs\\SyncCustomerProfile"]
    assert [a.name.rsplit("\\", 1)[1] for a in cls.attributes] == [
        "Tries", "Backoff", "Timeout", "MaxExceptions", "FailOnTimeout", "DeleteWhenMissingModels",
    ]  # fmt: skip
    assert {a.honoured_since for a in cls.attributes} == {(13, 0, 0)}


def test_integral_floats_stay_floats(
    exact_stubs: types.ModuleType, php_bytes: dict[str, bytes]
) -> None:
    job_class: JobClass = exact_stubs.DECLARATIONS["App\\Exact\\FloatJob"]
    defaults = {p.name: p.default_value for p in job_class.properties if p.has_default}
    assert [type(defaults[n]) for n in ("ratio", "negative", "untyped")] == [float] * 3
    assert [type(v) for v in defaults["weights"]] == [float] * 3
    money: JobClass = exact_stubs.VALUE_CLASSES["App\\Exact\\Money"]
    job = job_class.new(price=money.php_object(cents=250))
    assert serialize_command(job, profile_for("8")) == php_bytes["float"]


@pytest.mark.parametrize("kind", ["linked", "linked_models"])
def test_properties_bound_by_reference_serialize_as_php(
    exact_stubs: types.ModuleType, php_bytes: dict[str, bytes], kind: str
) -> None:
    name = "App\\Exact\\LinkedJob" if kind == "linked" else "App\\Exact\\LinkedModelsJob"
    job_class: JobClass = exact_stubs.DECLARATIONS[name]
    total = PhpReference(7)
    job = job_class.new(total=total, mirror=total, list=[total, total])
    assert serialize_command(job, profile_for("8")) == php_bytes[kind]


def test_retry_until_counted_from_the_dispatch_stays_relative(
    exact_stubs: types.ModuleType,
) -> None:
    job_class: JobClass = exact_stubs.DECLARATIONS["App\\Exact\\DeadlineJob"]
    deadline = job_class.method("retryUntil")
    assert isinstance(deadline, FromNow) and 595 <= deadline.seconds <= 600
    for now in (1_000, 2_000_000_000):
        payload = json.loads(
            build_payload(job_class.new(), profile=profile_for("13"), uuid="u", now=now)
        )
        assert payload["retryUntil"] == now + deadline.seconds
        assert (payload["maxTries"], payload["backoff"], payload["timeout"]) == (5, "1,5", 45)
    # The trait's #[Timeout] is known as the trait's: Laravel reads it from 13.16 only.
    [timeout] = [a for a in job_class.attributes if a.name.endswith("Timeout")]
    assert timeout.trait == "App\\Exact\\Slow"
    before = build_payload(job_class.new(), profile=profile_for("13.15"), uuid="u", now=1)
    assert json.loads(before)["timeout"] is None
