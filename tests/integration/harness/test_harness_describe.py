"""The Python value description (`tests/support/describe.py`) of a decoded command equals the one
PHP's handler writes: checked on the committed Laravel 8 vectors and on live dispatches, so Python
handlers can log what they saw in the same terms as PHP handlers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.php import loads
from tests.support.describe import describe_command, describe_value
from tests.support.laravel import LaravelEnv

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "laravel8" / "fixtures.jsonl"


def _lines() -> list[dict[str, Any]]:
    return [json.loads(text) for text in VECTORS.read_text(encoding="utf-8").splitlines()]


def _python_view(line: dict[str, Any]) -> Any:
    payload = json.loads(line["payload"])
    if line["kind"] == "string_job":
        return {"data": describe_value(payload["data"])}
    return describe_command(loads(payload["data"]["command"]))


@pytest.mark.parametrize(
    "line",
    [line for line in _lines() if line["kind"] != "encrypted"],
    ids=lambda line: line["kind"],
)
def test_python_description_matches_php_on_the_vectors(line: dict[str, Any]) -> None:
    expected = {"data": line["data"]} if line["kind"] == "string_job" else line["properties"]
    assert _python_view(line) == expected


def test_python_description_matches_what_php_handlers_logged(laravel_env: LaravelEnv) -> None:
    kinds = ("nested_arrays", "dates", "model_with_relation", "model_collection", "string_job")
    lines = [line for kind in kinds for line in laravel_env.dispatch(kind)]
    laravel_env.work(tries=1)

    logged = {row["uuid"]: row["values"] for row in laravel_env.job_log()}
    for line in lines:
        assert _python_view(line) == logged[json.loads(line["payload"])["uuid"]], line["kind"]
