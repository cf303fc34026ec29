"""The dialect seam: telling rows apart, detecting a table's dialect, naming one."""

from __future__ import annotations

import pytest

from bridge.dialect import (
    LARAVEL,
    Dialect,
    detect_dialect,
    dialect_named,
    sniff,
    summarize,
)
from bridge.dispatcher import Dispatcher
from bridge.exceptions import ConfigError, PayloadError
from bridge.laravel import profile_for
from bridge.queue.memory import InMemoryQueue
from bridge.so import SO_JSON, SO_SERIALIZE, encode_so, so_job_class
from tests.unit.worker.worker_kit import fixture_payload

SO_ROW = encode_so("App\\Jobs\\Report", {"tries": 3, "id": 7}, SO_JSON)
SO_OLD_ROW = encode_so("App\\Jobs\\Report", {"tries": 3, "id": 7}, SO_SERIALIZE)
LARAVEL_ROW = fixture_payload("plain_public")
LARAVEL_8_ROW = fixture_payload("plain_public", "8.83.26")


def test_sniff_tells_each_dialect_by_its_first_bytes() -> None:
    assert sniff(SO_ROW) == SO_JSON
    assert sniff(SO_OLD_ROW) == SO_SERIALIZE
    assert sniff(LARAVEL_ROW) == LARAVEL
    assert sniff(LARAVEL_8_ROW) == LARAVEL
    assert sniff("not a payload") is None
    assert sniff("") is None


def test_foreign_is_by_framework_not_by_format() -> None:
    laravel = dialect_named("laravel-12")
    so = dialect_named("so")
    assert laravel.foreign(SO_ROW) == SO_JSON
    assert laravel.foreign(SO_OLD_ROW) == SO_SERIALIZE
    assert laravel.foreign(LARAVEL_ROW) is None
    assert so.foreign(LARAVEL_ROW) == LARAVEL
    # Both SO formats are one framework: an SO worker of either runs both.
    assert so.foreign(SO_OLD_ROW) is None
    # An unreadable row is nobody's: the worker's own dialect fails it with the reason.
    assert so.foreign("garbage") is None and laravel.foreign("garbage") is None


def test_detect_decides_only_when_every_row_agrees() -> None:
    assert detect_dialect([SO_ROW, SO_ROW]) == Dialect(SO_JSON)
    assert detect_dialect([SO_OLD_ROW]) == Dialect(SO_SERIALIZE)
    assert detect_dialect([SO_ROW, SO_OLD_ROW]) is None
    assert detect_dialect([SO_ROW, LARAVEL_ROW]) is None
    assert detect_dialect([]) is None
    assert detect_dialect(["garbage"]) is None
    found = detect_dialect([LARAVEL_ROW, "garbage"])
    assert found is not None and found.name == LARAVEL and found.profile is not None


def test_names() -> None:
    assert dialect_named("so") == Dialect(SO_JSON)
    assert dialect_named("SO-JSON") == Dialect(SO_JSON)
    assert dialect_named("so-serialize") == Dialect(SO_SERIALIZE)
    assert dialect_named("laravel-10") == Dialect(LARAVEL, profile_for("10"))
    assert dialect_named("laravel", laravel_version="11") == Dialect(LARAVEL, profile_for("11"))
    assert dialect_named("laravel-10").label.startswith("laravel-10.")
    assert dialect_named("so").is_so and not dialect_named("laravel").is_so
    with pytest.raises(ConfigError, match="unknown dialect 'sox'"):
        dialect_named("sox")
    with pytest.raises(ConfigError, match="unknown Laravel version"):
        dialect_named("laravel-5")


def test_summaries_name_the_class_whichever_dialect_wrote_it() -> None:
    assert summarize(SO_ROW)[:3] == (SO_JSON, "App\\Jobs\\Report", "Report")
    assert summarize(SO_OLD_ROW).class_name == "App\\Jobs\\Report"
    laravel = summarize(LARAVEL_ROW)
    assert laravel.dialect == LARAVEL and laravel.class_name and laravel.uuid
    assert summarize('{"class":"broken').class_name is None


def test_an_so_dispatcher_has_no_chains_or_batches_and_delays_the_row_only() -> None:
    queue = InMemoryQueue()
    dispatcher = Dispatcher(queue=queue, dialect=dialect_named("so"), clock=lambda: 1000.0)
    job = so_job_class("App\\Jobs\\Report").new()
    with pytest.raises(PayloadError, match="no chains"):
        dispatcher.chain([job, job])
    with pytest.raises(PayloadError, match="no batches"):
        dispatcher.batch([job])
    sent = dispatcher.dispatch(job, delay=30)
    (row,) = queue.rows()
    assert row.available_at == 1030 and row.payload == sent.payload
    assert '"delay"' not in sent.payload
