"""Rejecting malformed data costs time linear in its size, for every kind of token.

A regex that can split a run of digits many ways made `d:` followed by 100,000 digits take
over three minutes to reject (quadratic backtracking while writing the error message), and a
worker that picks such a row up stalls before its job timer starts. Here every tag, cut or
spoiled with long runs of the characters its grammar repeats, is rejected by a child process
on a deadline minutes below what the quadratic code needs; with linear work the whole set
takes well under a second, so the deadline only catches super-linear work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

RUN = 100_000
DEADLINE_SECONDS = 60

CHILD = textwrap.dedent(
    """
    import sys
    from bridge.exceptions import PhpSerializeError
    from bridge.php import loads

    run = int(sys.argv[1])
    fillers = [b"1", b"1.", b".1", b"e1", b"+", b"-", b'"', b":", b";", b"{", b"\\\\41", b"a"]
    heads = [b"", b"N", b"b:", b"i:", b"i:-", b"d:", b"d:1", b"d:1.", b"d:1e", b"d:-", b"s:",
             b's:1:"', b"S:", b'S:9:"', b"a:", b"a:1:{", b"O:", b'O:1:"', b'O:1:"A":',
             b'C:1:"A":', b"E:", b"r:", b"R:", b"a:1:{i:0;R:"]
    ends = [b"", b";", b"x;", b"e", b'";', b"}"]
    cases = 0
    for head in heads:
        for filler in fillers:
            for end in ends:
                for wrap in (b"", b"a:1:{i:0;"):
                    data = wrap + head + filler * (run // len(filler)) + end
                    try:
                        loads(data)
                    except PhpSerializeError:
                        pass
                    cases += 1
    print("rejected", cases)
    """
)


def run_child(pure_python: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BRIDGE_PURE_PYTHON="1" if pure_python else "0")
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(RUN)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=DEADLINE_SECONDS,
    )


def test_malformed_tokens_of_every_kind_are_rejected_in_linear_time(codec_path: str) -> None:
    result = run_child(pure_python=codec_path == "pure-python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "rejected"


def test_a_float_of_a_hundred_thousand_digits_is_rejected_quickly(codec_path: str) -> None:
    # The case that was found: `d:` and digits with no `;`, rejected in 194 s before.
    code = "from bridge.php import loads\ntry:\n    loads(b'd:' + b'1' * 100_000)\n"
    code += "except ValueError as exc:\n    print(type(exc).__name__)\n"
    env = dict(os.environ, BRIDGE_PURE_PYTHON="1" if codec_path == "pure-python" else "0")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=DEADLINE_SECONDS,
    )
    assert result.stdout.strip() == "PhpDecodeError", result.stderr
