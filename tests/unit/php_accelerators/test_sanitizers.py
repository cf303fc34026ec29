"""The codec's C accelerators under AddressSanitizer and UndefinedBehaviorSanitizer.

Both C modules are compiled again with ``-fsanitize=address,undefined`` into a temporary
directory, and the tests that drive them (the C paths against the Python codec, the codec's
own tests on both paths, deep values on small stacks, and a share of the fuzzing) run in a
child pytest that uses that build: any out-of-bounds access, use after free or undefined
behaviour aborts the child, and fails this test with the sanitizer's report. Without a
compiler and its sanitizer runtimes this is skipped, and fails in CI (`./dev test` installs
them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SANITIZED, unavailable
from tests.support import sanitized

SUITES = [
    "tests/unit/php_accelerators/test_codec_accelerators.py",
    "tests/unit/php_accelerators/test_small_stacks.py",
    "tests/unit/php",
    "tests/unit/fuzz",
]
#: Fuzz inputs run under the sanitizers (about 20 times slower than without).
FUZZ_INPUTS = 3_000


@pytest.mark.skipif(SANITIZED is not None, reason="this is the sanitized run itself")
def test_the_c_accelerators_pass_the_codec_tests_under_asan_and_ubsan(tmp_path: Path) -> None:
    try:
        asan = sanitized.build(tmp_path / "sanitized")
    except sanitized.ToolchainMissing as exc:
        unavailable(f"no sanitizer toolchain: {exc}")
        return
    env = sanitized.environment(tmp_path / "sanitized", asan)
    env["BRIDGE_FUZZ_INPUTS"] = str(FUZZ_INPUTS)
    env["HYPOTHESIS_PROFILE"] = "dev"
    env.pop("CI", None)  # the hypothesis profile: CI's 200 examples a test take too long here
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--durations=8",
            "-p",
            "no:cacheprovider",
            "-k",
            # Not the oracle of another library, nor the timing of error messages (their
            # children run the installed build).
            "not phpserialize and not php_oracle and not linear_time and not quickly",
            *SUITES,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    report = result.stdout[-4000:] + result.stderr[-6000:]
    assert "sanitized build in" in result.stdout, report
    assert result.returncode == 0, report
    assert "ERROR: AddressSanitizer" not in result.stderr, report
    assert "runtime error:" not in result.stderr, report
