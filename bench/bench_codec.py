"""Benchmark of the PHP serialize() codec on a realistic ~50 KB Laravel job command.

    python bench/bench_codec.py [--seconds 1.0] [--runs 5] [--markdown]

PHP builds the input (php_fixtures/serialize_bench.php: 183 line items with UTF-8 strings,
floats, nested arrays and tag lists; protected and private properties; a ModelIdentifier; a
DateTimeImmutable; two chained jobs as nested serialized strings). Then, interleaved so
that a busy machine slows every contender alike, each of bridge (with its C accelerators
when they are built, and its pure-Python codec alone), phpserialize 1.3 and PHP's own
unserialize()/serialize() runs `--runs` timed windows; the median and best window of
each are reported, as round trips (decode + encode) per second and decodes per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.php import _accel, dumps, loads  # noqa: E402

PHP_SCRIPT = ROOT / "php_fixtures" / "serialize_bench.php"


def rate(op: Callable[[], object], seconds: float) -> float:
    """Calls of `op` per second over a window of about `seconds`."""
    n = 0
    start = time.perf_counter()
    while True:
        for _ in range(5):
            op()
        n += 5
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def php_rates(data: bytes, seconds: float) -> tuple[float, float]:
    out = subprocess.run(
        ["php", str(PHP_SCRIPT), "time", str(seconds)],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    php = subprocess.run(["php", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "php": php,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one window")
    parser.add_argument("--runs", type=int, default=5, help="windows per contender")
    parser.add_argument("--markdown", action="store_true", help="print a RESULTS.md table")
    args = parser.parse_args()

    data = subprocess.run(["php", str(PHP_SCRIPT), "emit"], capture_output=True, check=True).stdout
    value = loads(data)
    assert dumps(value) == data, "bridge must round-trip the benchmark input exactly"

    import phpserialize  # the peer being compared; installed with the test extras

    def peer_decode() -> object:
        return phpserialize.loads(data, object_hook=phpserialize.phpobject)

    accelerated = (_accel.c_decode, _accel.c_encode)

    def pure(op: Callable[[], object]) -> Callable[[], object]:
        """`op` on the pure-Python codec (the accelerators switched off for the call)."""

        def run() -> object:
            _accel.c_decode = _accel.c_encode = None
            try:
                return op()
            finally:
                _accel.c_decode, _accel.c_encode = accelerated

        return run

    contenders: dict[str, dict[str, Callable[[], object]]] = {}
    if None not in accelerated:
        contenders["bridge"] = {
            "round trip": lambda: dumps(loads(data)),
            "decode": lambda: loads(data),
            "encode": lambda: dumps(value),
        }
    else:
        print("the C accelerators are not built: bridge runs on its pure-Python codec")
    contenders["bridge, pure Python"] = {
        "round trip": pure(lambda: dumps(loads(data))),
        "decode": pure(lambda: loads(data)),
        "encode": pure(lambda: dumps(value)),
    }
    contenders["phpserialize 1.3"] = {
        "round trip": lambda: phpserialize.dumps(peer_decode()),
        "decode": peer_decode,
    }
    results: dict[str, dict[str, list[float]]] = {
        name: {op: [] for op in ops} for name, ops in contenders.items()
    }
    results["PHP 8.2 native"] = {"round trip": [], "decode": []}
    for _ in range(args.runs):
        for name, ops in contenders.items():
            for op, fn in ops.items():
                results[name][op].append(rate(fn, args.seconds))
        round_trip, decode = php_rates(data, args.seconds)
        results["PHP 8.2 native"]["round trip"].append(round_trip)
        results["PHP 8.2 native"]["decode"].append(decode)

    info = machine()
    print(f"input: {len(data):,} bytes; {args.runs} windows of {args.seconds:.1f} s each")
    print(
        f"machine: {info['cpus']} CPUs, {info['cpu']}; Python {info['python']}; "
        f"{info['php']}; load {info['load']}; {info['date']}"
    )
    med = {n: {op: statistics.median(v) for op, v in ops.items()} for n, ops in results.items()}
    best = {n: {op: max(v) for op, v in ops.items()} for n, ops in results.items()}
    sep = "|" if args.markdown else " "
    header = [
        "library",
        "round trips/s (median)",
        "best",
        "decodes/s (median)",
        "best",
        "encodes/s (median)",
        "best",
    ]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    for name in results:
        cells = [name]
        for op in ("round trip", "decode", "encode"):
            if op in med[name]:
                cells += [f"{med[name][op]:,.0f}", f"{best[name][op]:,.0f}"]
            else:
                cells += ["-", "-"]
        line = f" {sep} ".join(cells)
        print(f"| {line} |" if args.markdown else line)
    p, n = med["phpserialize 1.3"], med["PHP 8.2 native"]
    print()
    for name in ("bridge", "bridge, pure Python"):
        if name not in med:
            continue
        b = med[name]
        for op in ("round trip", "decode"):
            print(f"{name}, {op}: {b[op] / p[op]:.1f}x phpserialize, {b[op] / n[op]:.2f}x PHP")


if __name__ == "__main__":
    main()
