"""Selections (identifiers, ranges, filters) and `failed_at` time handling."""

from __future__ import annotations

from datetime import datetime

import pytest
from admin_unit_support import NOW, make_record

from bridge.admin import (
    Selection,
    cutoff,
    from_unix,
    missing_identifiers,
    parse_moment,
    parse_range,
    to_unix,
)
from bridge.exceptions import ConfigError
from bridge.queue.base import FailedJobFilter


def test_identifiers_split_into_ids_and_uuids_and_add_to_a_range() -> None:
    selection = Selection(identifiers=("3", "ab-cd", " 7 "), id_range="10-12", queue="q")
    wanted = selection.to_filter(now=NOW, timezone="UTC")
    assert wanted == FailedJobFilter(ids=(3, 7), uuids=("ab-cd",), id_range=(10, 12), queue="q")


def test_all_overrides_identifiers_and_range() -> None:
    selection = Selection(identifiers=("ALL", "3"), id_range="1-2", limit=5)
    assert selection.selects_all
    assert selection.to_filter(now=NOW, timezone="UTC") == FailedJobFilter(limit=5)


@pytest.mark.parametrize(
    "selection",
    [Selection(), Selection(limit=3)],
)
def test_empty_selections(selection: Selection) -> None:
    assert selection.is_empty


@pytest.mark.parametrize("field", ["queue", "connection", "command_name", "since", "until"])
def test_any_filter_makes_a_selection(field: str) -> None:
    assert not Selection(**{field: "x"}).is_empty  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection(identifiers=("",)), "empty"),
        (Selection(limit=0), "limit"),
        (Selection(id_range="5"), "range"),
        (Selection(until="soon"), "not a date"),
    ],
)
def test_bad_selections(selection: Selection, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        selection.to_filter(now=NOW, timezone="UTC")


@pytest.mark.parametrize(("text", "expected"), [("10-20", (10, 20)), (" 3 - 3 ", (3, 3))])
def test_ranges(text: str, expected: tuple[int, int]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["20-10", "a-b", "-5", "10-", "1-2-3"])
def test_bad_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        parse_range(text)


def test_missing_identifiers_keep_the_given_order() -> None:
    found = [make_record('{"job":"J"}', record_id=7, uuid="u-7")]
    wanted = FailedJobFilter(ids=(9, 7, 8), uuids=("u-x", "u-7"), id_range=(100, 200))
    assert missing_identifiers(wanted, found) == ("9", "8", "u-x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1)),
        ("2026-11-01 08:30", datetime(2026, 11, 1, 8, 30)),
        ("2026-11-01T08:30:00Z", datetime(2026, 11, 1, 9, 30)),  # into Berlin time
        ("2026-11-01T08:30:00+01:00", datetime(2026, 11, 1, 8, 30)),
        ("2h", from_unix(NOW - 7200, "Europe/Berlin")),
        ("7d", from_unix(NOW - 7 * 86400, "Europe/Berlin")),
        ("90m", from_unix(NOW - 5400, "Europe/Berlin")),
    ],
)
def test_moments_are_wall_clock_times_in_the_app_timezone(text: str, expected: datetime) -> None:
    assert parse_moment(text, now=NOW, timezone="Europe/Berlin") == expected


def test_unix_round_trip_and_cutoff() -> None:
    local = from_unix(NOW, "America/New_York")
    assert to_unix(local, "America/New_York") == NOW
    assert cutoff(NOW, 1.5, "UTC") == from_unix(NOW - 5400, "UTC")


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Base"):
        from_unix(NOW, "Mars/Base")
