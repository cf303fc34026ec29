"""The golden corpus written by php_fixtures/serialize_corpus.php (real PHP 8.2 output)."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

CORPUS_PATH = Path(__file__).resolve().parents[2] / "vectors" / "php_corpus.jsonl"


@cache
def corpus() -> dict[str, bytes]:
    """Case name -> the exact bytes PHP's serialize() wrote."""
    cases: dict[str, bytes] = {}
    for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        cases[entry["name"]] = base64.b64decode(entry["php"])
    return cases
