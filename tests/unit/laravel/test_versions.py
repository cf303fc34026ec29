"""Version profiles: parsing, the version-dependent rules, and detection from payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.exceptions import ConfigError
from bridge.laravel.versions import Profile, detect_profile, profile_for

FIXTURES = Path(__file__).resolve().parents[2] / "vectors" / "laravel-fixtures"


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("8", (8, 83, 29)),
        ("9", (9, 52, 22)),
        ("10", (10, 50, 3)),
        ("11", (11, 56, 0)),
        ("12", (12, 67, 0)),
        (12, (12, 67, 0)),
        ("13", (13, 26, 1)),
        ("13.0", (13, 0, 0)),
        ("12.11", (12, 11, 0)),
        ("8.83.26", (8, 83, 26)),
        ("v9.4.0", (9, 4, 0)),
    ],
)
def test_profile_for_parses_versions(text: str | int, version: tuple[int, int, int]) -> None:
    assert profile_for(text).version == version


@pytest.mark.parametrize("text", ["7", "14.0", "latest", ""])
def test_profile_for_rejects_unknown(text: str) -> None:
    with pytest.raises(ConfigError):
        profile_for(text)


def test_version_rules() -> None:
    p8_42, p8_83 = profile_for("8.42"), profile_for("8.83")
    assert not p8_42.payload_fail_on_timeout and p8_83.payload_fail_on_timeout
    assert not profile_for("8.81").json_unescaped_unicode and p8_83.json_unescaped_unicode
    assert not profile_for("9.3").serializes_models_omits_defaults
    assert profile_for("9.4").serializes_models_omits_defaults
    assert not profile_for("9.25").model_identifier_collection_class
    assert profile_for("9.26").model_identifier_collection_class
    assert not profile_for("9.30").batchable_fake_batch and profile_for("9.31").batchable_fake_batch
    assert not profile_for("8.53").encrypter_tag and profile_for("8.54").encrypter_tag
    assert not profile_for("12.10").payload_created_at_and_delay
    assert profile_for("12.11").payload_created_at_and_delay
    assert not profile_for("12.50").payload_batch_id and profile_for("12.51").payload_batch_id
    assert profile_for("10.9").max_attempts_message("J").endswith("previously timed out.")
    assert profile_for("10.10").max_attempts_message("J") == "J has been attempted too many times."
    assert profile_for("10.10").timeout_message("J") == "J has timed out."


def test_queueable_order_per_version() -> None:
    assert profile_for("8.18").queueable_properties == (
        "connection", "queue", "chainConnection", "chainQueue", "chainCatchCallbacks",
        "delay", "middleware", "chained",
    )  # fmt: skip
    assert profile_for("10").queueable_properties == (
        "connection", "queue", "chainConnection", "chainQueue", "chainCatchCallbacks",
        "delay", "afterCommit", "middleware", "chained",
    )  # fmt: skip
    assert profile_for("11.2").queueable_properties == (
        "connection", "queue", "delay", "afterCommit", "middleware", "chained",
        "chainConnection", "chainQueue", "chainCatchCallbacks",
    )  # fmt: skip
    assert profile_for("12.27").queueable_properties[2] == "group"
    assert profile_for("12.28.1").queueable_properties[2] == "messageGroup"
    assert profile_for("12.32").queueable_properties[2:4] == ("messageGroup", "deduplicator")
    assert profile_for("13.5").queueable_properties[3:5] == ("deduplicator", "delay")
    assert profile_for("13.6").queueable_properties[4:6] == ("debounceOwner", "delay")
    assert profile_for("13.24").queueable_properties[4:7] == (
        "debounceOwner", "uniqueLockOwner", "delay",
    )  # fmt: skip


def test_laravel_13_rules() -> None:
    assert not profile_for("12").payload_delete_when_missing_models
    assert profile_for("13.0").payload_delete_when_missing_models
    assert not profile_for("12").queue_attributes and profile_for("13.0").queue_attributes
    # 13 kept 12's exception texts (MaxAttemptsExceededException, TimeoutExceededException).
    assert profile_for("13").max_attempts_message("J") == "J has been attempted too many times."
    assert profile_for("13").timeout_message("J") == "J has timed out."


def _payloads(name: str) -> list[str]:
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["payload"] for line in lines]


@pytest.mark.parametrize(
    ("file", "major", "floor"),
    [
        ("8.83.26", 8, (8, 82, 0)),
        ("9.52.22", 9, (9, 26, 0)),
        ("10.50.3", 10, (9, 26, 0)),
        ("11.56.0", 11, (11, 2, 0)),
        ("12.11.0", 12, (12, 11, 0)),
        ("12.51.0", 12, (12, 51, 0)),
        ("12.67.0", 12, (12, 51, 0)),
        ("13.26.1", 13, (13, 24, 0)),
        ("13.26.1-attributes", 13, (13, 0, 0)),
        ("12.67.0-attributes", 12, (12, 51, 0)),
    ],
)
def test_detect_profile_from_recorded_tables(
    file: str, major: int, floor: tuple[int, int, int]
) -> None:
    detected = detect_profile(_payloads(file))
    assert detected is not None
    version = file.split("-")[0]
    actual = Profile(version=tuple(int(p) for p in version.split(".")))  # type: ignore[arg-type]
    # Detection returns a release that writes the same bytes: within the evidence range.
    assert detected.version >= floor
    assert detected.json_unescaped_unicode == actual.json_unescaped_unicode
    assert detected.payload_created_at_and_delay == actual.payload_created_at_and_delay
    assert detected.payload_batch_id == actual.payload_batch_id
    assert detected.model_identifier_collection_class == actual.model_identifier_collection_class
    assert detected.payload_delete_when_missing_models == actual.payload_delete_when_missing_models
    assert detected.queueable_properties == actual.queueable_properties or (
        "-" in file  # SerializesModels commands only: no Queueable list to read
    )
    if major not in (9, 10):  # 9.26+ and 10.x write identical payloads
        assert detected.version[0] == major


def test_detect_profile_without_evidence() -> None:
    assert detect_profile([]) is None
    assert detect_profile(["not json"]) is None
