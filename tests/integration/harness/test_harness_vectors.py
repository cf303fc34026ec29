"""`tests/vectors/laravel8/fixtures.jsonl` is what `make_laravel8_fixtures.php` writes today:
regenerated with real Laravel 8, it differs only in the values Laravel draws at dispatch time
(uuids, timestamps, the encryption IV, batch ids, dates computed from "now").
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.laravel import BEHAVIOUR_KINDS, PHP_FIXTURES, VALUE_KINDS

COMMITTED = Path(__file__).resolve().parents[2] / "vectors" / "laravel8" / "fixtures.jsonl"

# Kinds whose serialized command holds a value drawn at dispatch time.
_VOLATILE_COMMAND = {"encrypted", "batch", "delayed_datetime"}


def _stable(line: dict[str, Any]) -> dict[str, Any]:
    stable = {key: value for key, value in line.items() if key not in {"row", "payload"}}
    payload = json.loads(line["payload"])
    del payload["uuid"]
    if line["kind"] in _VOLATILE_COMMAND:
        del payload["data"]["command"]
        stable.pop("delay")
        if "batch" in stable:
            stable["batch"] = {
                k: v for k, v in stable["batch"].items() if k not in {"id", "created_at"}
            }
    stable["payload"] = payload
    stable["row"] = {
        k: v for k, v in line["row"].items() if k not in {"available_at", "created_at"}
    }
    return stable


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def test_committed_vectors_are_current(php_binary: str, laravel: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fixtures.jsonl"
    subprocess.run(
        [php_binary, str(PHP_FIXTURES / "make_laravel8_fixtures.php"), str(fresh)],
        check=True,
        capture_output=True,
        timeout=120,
    )

    committed, regenerated = _read(COMMITTED), _read(fresh)

    assert [_stable(line) for line in committed] == [_stable(line) for line in regenerated]
    assert {line["kind"] for line in committed} == set(VALUE_KINDS) | set(BEHAVIOUR_KINDS)
    assert {line["laravel"] for line in committed} == {"8.83.26"}
