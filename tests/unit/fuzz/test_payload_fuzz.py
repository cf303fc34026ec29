"""Fuzzing every reader of a payload (tests/support/fuzz.py) on both codec paths.

Each run is a child process, so a crash fails the test with the input that caused it instead
of killing the test session. CI runs `BRIDGE_FUZZ_INPUTS` inputs (50,000 by default, about
half a minute here); set it to 1,000,000 for the full run whose figures bench/RELIABILITY.md
publishes. Every input that ever failed is kept in tests/vectors/fuzz-regressions.jsonl and
run again here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.php import _accel
from tests.conftest import ROOT, SANITIZED, VECTORS, unavailable

INPUTS = int(os.environ.get("BRIDGE_FUZZ_INPUTS", "50000"))
SEED = int(os.environ.get("BRIDGE_FUZZ_SEED", "1"))
#: The inputs of one child; several children share a run so that a crash names its range.
CHUNK = 25_000
#: Peak memory of a child: the largest input is about 1 MB, and no declared length may
#: allocate what the data cannot hold.
PEAK_RSS_MIB = 400


@pytest.fixture(scope="module", autouse=True)
def _both_paths() -> None:
    if _accel.c_decode is None or _accel.c_encode is None:
        unavailable("the codec's C accelerators are not built (they need a C compiler)")


def run_child(args: list[str], progress: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.fuzz", "--progress", str(progress), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    last = progress.read_text().strip() if progress.exists() else "?"
    assert result.returncode == 0, (
        f"the fuzzing child died (status {result.returncode}) on input seed/index {last}\n"
        f"{result.stderr[-3000:]}"
    )
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def test_inputs_that_ever_failed_give_bridge_errors_on_both_paths(tmp_path: Path) -> None:
    figures = run_child(
        ["--vectors", str(VECTORS / "fuzz-regressions.jsonl")], tmp_path / "progress"
    )
    assert figures["inputs"] > 0
    assert figures["failures"] == []


@pytest.mark.parametrize("start", range(0, INPUTS, CHUNK))
def test_mutated_payloads_give_bridge_errors_and_agree_on_both_paths(
    tmp_path: Path, start: int
) -> None:
    count = min(CHUNK, INPUTS - start)
    figures = run_child(
        ["--seed", str(SEED), "--start", str(start), "--count", str(count)],
        tmp_path / "progress",
    )
    assert figures["inputs"] == count
    assert figures["escapes"] == 0, figures["failures"][:5]
    assert figures["disagreements"] == 0, figures["failures"][:5]
    if not SANITIZED:  # AddressSanitizer's shadow memory counts in the RSS
        assert figures["peak_rss_mib"] < PEAK_RSS_MIB
    # Some inputs must survive their mutation, or only the first checks would be fuzzed.
    assert figures["outcomes"].get("value", 0) > count // 50
