"""Deep nesting on a thread with a small C stack: the C fast paths must never crash.

The C encoder and decoder recurse on the calling thread's C stack, which a program may make
as small as 32 KiB (`threading.stack_size`). Past their own depth bound they leave the value
to the Python codec, so a deep value gives the Python codec's bytes or error, never a
segfault. Each case runs in a child process: a crash shows as this test failing, with the
child's exit status, instead of killing the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bridge.php import _accel
from tests.conftest import ROOT, unavailable

# Runs in the child: encode and decode nested lists, dicts and objects on a small-stack
# thread with the accelerators, and compare each outcome with the pure-Python codec's.
CHILD = textwrap.dedent(
    """
    import sys, threading
    from bridge.php import PhpObject, _accel, dumps, loads
    from tests.support import sanitized

    sanitized.install_from_env()

    stack, depths = int(sys.argv[1]), [int(d) for d in sys.argv[2:]]
    assert _accel.c_encode is not None and _accel.c_decode is not None

    def nested(kind, depth):
        value = []
        for _ in range(depth):
            if kind == "list":
                value = [value]
            elif kind == "dict":
                value = {"k": value}
            else:
                value = PhpObject("App\\\\Jobs\\\\Node", {"child": value})
        return value

    def outcome(call, arg):
        try:
            return ("ok", call(arg))
        except Exception as exc:  # the class is what is compared
            return ("error", type(exc).__name__)

    cases = [(kind, depth) for kind in ("list", "dict", "object") for depth in depths]
    fast = {}

    def run():
        for kind, depth in cases:
            value = nested(kind, depth)
            encoded = outcome(dumps, value)
            data = encoded[1] if encoded[0] == "ok" else dumps(nested(kind, 50))
            fast[kind, depth] = (encoded, outcome(loads, data), data)

    threading.stack_size(stack)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    _accel.c_encode = _accel.c_decode = None
    for kind, depth in cases:
        encoded, decoded, data = fast[kind, depth]
        assert encoded == outcome(dumps, nested(kind, depth)), (kind, depth, "dumps")
        slow = outcome(loads, data)
        assert decoded[0] == slow[0], (kind, depth, "loads", decoded[0], slow[0])
        if slow[0] == "ok":
            assert dumps(decoded[1]) == dumps(slow[1]), (kind, depth, "loads value")
        else:
            assert decoded == slow, (kind, depth, "loads error")
    print("checked", len(cases))
    """
)


@pytest.fixture(scope="module")
def _accelerated() -> None:
    if _accel.c_decode is None or _accel.c_encode is None:
        unavailable("the codec's C accelerators are not built (they need a C compiler)")


@pytest.mark.usefixtures("_accelerated")
@pytest.mark.parametrize("stack_kib", [32, 64])
def test_deep_values_on_a_small_stack_never_crash(stack_kib: int) -> None:
    depths = ["10", "63", "64", "65", "127", "128", "129", "480", "1000"]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(stack_kib * 1024), *depths],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"exit status {result.returncode} (negative: killed by that signal)\n{result.stderr}"
    )
    assert result.stdout.split() == ["checked", str(3 * len(depths))]
