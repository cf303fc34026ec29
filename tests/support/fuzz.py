"""Mutation fuzzing of everything that reads a payload: the codec, the payload, decryption, and
the worker's decoding steps (`decode_path.decode_like_worker`).

Inputs are derived from the payloads real Laravel 8-12 wrote (tests/vectors/laravel-fixtures):
bit flips, truncations, edited ``s:N`` / ``a:N`` / ``O:N`` counts, splices of one input into
another, deep nesting (serialize() arrays, JSON, the encrypted envelope's JSON), huge declared
lengths, hostile JSON values for the payload's options, edited chains and tampered encrypted
envelopes. Input `i` of seed `s` is made by its own `random.Random(f"{s}:{i}")`, so any input
can be made again from those two numbers.

Each input runs on both codec paths in turn (the C accelerators, then the pure-Python codec)
and must end in a value or in one of bridge's errors (`BridgeError`); the two paths must agree
on the value or on the error's class. Run as a program, it fuzzes a range of inputs and prints
its figures as JSON (see `main`); a crash of the process is the caller's to see.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from bridge.exceptions import BridgeError
from bridge.laravel.encryption import Encrypter
from bridge.php import PhpDecoder, _accel, dumps, loads
from tests.support import sanitized
from tests.support.decode_path import APP_KEY, FIXTURES, decode_like_worker

TARGETS = ("loads", "payload", "decrypt")
#: Seconds one input may take on one path before it counts as a hang.
HANG_SECONDS = 20.0

_COUNT = re.compile(rb"([saOCSE]):([0-9]+):")
_TAGS = b"NbidsSaOCErR"
_HOSTILE_NUMBERS = [
    "Infinity",
    "-Infinity",
    "NaN",
    "1e400",
    "-1e400",
    "1e308",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "0.5",
    "-1",
    "0",
    "1" * 30,
]
_HOSTILE_STRINGS = [
    "9" * 5000,
    "1," * 3000 + "9" * 5000,
    "\ud800",
    "\udcff",
    "",
    "0",
    " -7",
    "1e400",
    "99999999999999999999",
    "x" * 20000,
]


@dataclass(frozen=True, slots=True)
class Case:
    """One fuzz input: what produced it, which reader it is for, and its bytes or text."""

    kind: str
    target: str
    data: str | bytes


# -- seeds ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeds:
    payloads: list[str]  # payload texts, encrypted commands among them
    commands: list[bytes]  # serialized commands and the chained jobs inside them
    envelopes: list[str]  # encrypted commands (base64 envelopes)


def _fixed_iv(size: int) -> bytes:
    return bytes(range(size))


@cache
def seeds() -> Seeds:
    """The recorded payloads, their commands, and encrypted forms of a few of them."""
    payloads: list[str] = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            payload = json.loads(line).get("payload")
            if payload:
                payloads.append(payload)
    commands: list[bytes] = []
    envelopes: list[str] = []
    decrypter = Encrypter(APP_KEY)
    for text in payloads:
        data = json.loads(text).get("data")
        command = data.get("command") if isinstance(data, dict) else None
        if not isinstance(command, str):
            continue
        if command.startswith("O:"):
            commands.append(command.encode())
        else:
            envelopes.append(command)
            commands.append(decrypter.decrypt(command))
    for command in list(commands):
        chained = loads(command).get("chained")
        if isinstance(chained, list):
            commands.extend(c.encode() for c in chained if isinstance(c, str))
    # Encrypted payloads of every kind (CBC with and without tag, GCM), with a pinned IV.
    for index, text in enumerate(list(payloads)):
        raw = json.loads(text)
        data = raw.get("data")
        command = data.get("command") if isinstance(data, dict) else None
        if not (isinstance(command, str) and command.startswith("O:")) or index % 3:
            continue
        cipher = ("AES-256-CBC", "AES-256-GCM")[index % 2]
        sealed = Encrypter(APP_KEY, cipher, random_bytes=_fixed_iv).encrypt(command.encode())
        envelopes.append(sealed)
        data["command"] = sealed
        payloads.append(json.dumps(raw, separators=(",", ":")))
    return Seeds(payloads, commands, envelopes)


# -- mutations -----------------------------------------------------------------------------


def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _huge_number(rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"999999999",
            b"2147483648",
            b"9223372036854775807",
            b"9223372036854775808",
            b"18446744073709551616",
            b"9" * rng.randint(20, 5000),
            b"0" * rng.randint(2, 50) + b"1",
        ]
    )


def _edit_count(rng: random.Random, data: bytes, huge: bool) -> bytes:
    matches = list(_COUNT.finditer(data))
    if not matches:
        return _flip(rng, data)
    match = rng.choice(matches)
    n = int(match.group(2)) if len(match.group(2)) < 20 else 0
    if huge:
        new = _huge_number(rng)
    else:
        new = b"%d" % max(0, n + rng.choice([-2, -1, 1, 2, 7, -n, 1000]))
    return data[: match.start(2)] + new + data[match.end(2) :]


def _splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    c, d = sorted(rng.randrange(len(other) + 1) for _ in range(2))
    return data[:a] + other[c:d] + data[b:]


def _tag_swap(rng: random.Random, data: bytes) -> bytes:
    spots = [i for i, c in enumerate(data) if c in _TAGS and data[i + 1 : i + 2] in (b":", b";")]
    if not spots:
        return _flip(rng, data)
    i = rng.choice(spots)
    return data[:i] + bytes([rng.choice(_TAGS)]) + data[i + 1 :]


def _deep_serialized(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([63, 64, 65, 127, 128, 129, 300, 511, 512, 513, 1000, 5000, 100_000])
    kind = rng.randrange(3)
    if kind == 0:  # arrays around the command
        return b"a:1:{i:0;" * depth + data + b"}" * depth
    if kind == 1:  # objects around it
        return b'O:1:"A":1:{s:1:"a";' * depth + data + b"}" * depth
    # arrays inside the first property, cut short or closed
    cut = rng.random() < 0.3
    inner = b"a:1:{i:0;" * depth + b"N;" + (b"" if cut else b"}" * depth)
    return re.sub(rb'(:\{s:\d+:"[^"]*";)', lambda m: m.group(1) + inner, data, count=1)


def mutate_serialized(rng: random.Random, data: bytes, other: bytes) -> tuple[str, bytes]:
    """A mutation of serialize() bytes; (kind, mutated)."""
    kind = rng.choice(
        ["bitflip", "truncate", "count", "huge_length", "splice", "tag_swap", "deep_nesting"]
    )
    if kind == "bitflip":
        return kind, _flip(rng, data)
    if kind == "truncate":
        return kind, _truncate(rng, data)
    if kind == "count":
        return kind, _edit_count(rng, data, huge=False)
    if kind == "huge_length":
        return kind, _edit_count(rng, data, huge=True)
    if kind == "splice":
        return kind, _splice(rng, data, other)
    if kind == "tag_swap":
        return kind, _tag_swap(rng, data)
    return kind, _deep_serialized(rng, data)


def _hostile_json_value(rng: random.Random) -> Any:
    pick = rng.randrange(6)
    if pick == 0:
        return json.loads(rng.choice(_HOSTILE_NUMBERS), parse_constant=float)
    if pick == 1:
        return rng.choice(_HOSTILE_STRINGS)
    if pick == 2:
        return rng.choice([[], {}, [1], {"a": 1}, True, False, None])
    if pick == 3:
        return float(rng.choice(_HOSTILE_NUMBERS[:6]))
    if pick == 4:
        return rng.choice([2**63, -(2**63) - 1, 2**64, 10**18])
    return rng.choice([1, 5, 30, 1_800_000_000, 1_900_000_000])


_OPTION_KEYS = [
    "maxTries",
    "maxExceptions",
    "timeout",
    "retryUntil",
    "timeoutAt",
    "delay",
    "backoff",
    "failOnTimeout",
    "createdAt",
    "uuid",
    "displayName",
    "job",
    "data",
]


def _dumps_json(raw: Any) -> str:
    # Non-finite floats are written as JSON's Infinity / NaN, as a hostile writer could.
    return json.dumps(raw, separators=(",", ":"), allow_nan=True)


def _deep_json(rng: random.Random, inner: str) -> str:
    depth = rng.choice([100, 900, 999, 1000, 1001, 5000, 100_000])
    if rng.random() < 0.5:
        return "[" * depth + inner + "]" * depth
    return '{"a":' * depth + inner + "}" * depth


def _splice_json(root: dict[str, Any], holder: dict[str, Any], key: str, deep: str) -> str:
    """`root` as JSON with `holder[key]` (holder is root or inside it) replaced by `deep`."""
    mark = "\x00deep\x00"
    holder[key] = mark
    return _dumps_json(root).replace(json.dumps(mark), deep, 1)


def mutate_payload(rng: random.Random, text: str, other: Seeds) -> tuple[str, str | bytes]:
    """A mutation of a payload text; (kind, mutated)."""
    raw = json.loads(text)
    data = raw.get("data") if isinstance(raw.get("data"), dict) else None
    command = data.get("command") if data is not None else None
    kind = rng.choice(
        [
            "bitflip",
            "truncate",
            "json_value",
            "json_value",
            "deep_json",
            "command",
            "command",
            "chain",
            "envelope",
            "encoding",
        ]
    )
    if kind == "bitflip":
        return kind, _flip(rng, text.encode()).decode("utf-8", "surrogateescape")
    if kind == "truncate":
        return kind, text[: rng.randrange(len(text) + 1)]
    if kind == "json_value":
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(_OPTION_KEYS)
            if key == "data" and data is not None:
                data[rng.choice(["command", "commandName", "batchId"])] = _hostile_json_value(rng)
            else:
                raw[key] = _hostile_json_value(rng)
        return kind, _dumps_json(raw)
    if kind == "deep_json":
        where = rng.randrange(3)
        deep = _deep_json(rng, "1")
        if where == 0:
            return kind, deep
        if where == 1 or data is None:
            return kind, _splice_json(raw, raw, rng.choice(_OPTION_KEYS[:8]), deep)
        return kind, _splice_json(raw, data, "command", deep)
    if kind == "encoding":
        encoding = rng.choice(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1"])
        return kind, text.encode(encoding, "replace")
    if not isinstance(command, str) or data is None:
        return "bitflip", _flip(rng, text.encode()).decode("utf-8", "surrogateescape")
    if kind == "command" and command.startswith("O:") and rng.random() < 0.1:
        # JSON can carry a lone surrogate ("\ud800"), which has no UTF-8 bytes at all.
        at = rng.randrange(2, len(command) + 1)
        data["command"] = command[:at] + rng.choice(["\ud800", "\udfff", "\udc80"]) + command[at:]
        return "command_surrogate", _dumps_json(raw)
    if kind == "command" and command.startswith("O:"):
        sub, mutated = mutate_serialized(rng, command.encode(), rng.choice(other.commands))
        data["command"] = mutated.decode("utf-8", "surrogateescape")
        return f"command_{sub}", _dumps_json(raw)
    if kind == "chain" and command.startswith("O:"):
        value = loads(command)
        chained = value.get("chained")
        if not chained:
            value.set("chained", [])
            chained = value.get("chained")
        head = chained[0] if chained else rng.choice(other.commands).decode()
        pick = rng.randrange(3)
        if pick == 0:
            _, new = mutate_serialized(rng, head.encode(), rng.choice(other.commands))
            new_head: Any = new
        elif pick == 1:
            new_head = rng.choice([5, None, 1.5, [head], {"a": head}, True, b"\xff", 10**12])
        else:
            new_head = head.replace('s:5:"delay";N;', 's:5:"delay";d:INF;')
        value.set("chained", [new_head, *chained[1:]])
        try:
            data["command"] = dumps(value).decode("utf-8", "surrogateescape")
        except BridgeError:
            return "bitflip", _flip(rng, text.encode()).decode("utf-8", "surrogateescape")
        return "chain", _dumps_json(raw)
    # an envelope (or a plain command sealed first)
    if command.startswith("O:"):
        command = Encrypter(APP_KEY, random_bytes=_fixed_iv).encrypt(command.encode())
    data["command"] = mutate_envelope(rng, command)[1]
    return "envelope", _dumps_json(raw)


def mutate_envelope(rng: random.Random, envelope: str) -> tuple[str, str]:
    """A tampered Laravel encryption envelope; (kind, mutated)."""
    inner = json.loads(base64.b64decode(envelope))
    pick = rng.randrange(7)
    if pick == 0:  # one byte of iv, value, mac or tag changed
        field = rng.choice([k for k in ("iv", "value", "mac", "tag") if inner.get(k)])
        if field == "mac":
            text = inner["mac"]
            i = rng.randrange(len(text))
            inner["mac"] = text[:i] + rng.choice("0123456789abcdef") + text[i + 1 :]
        else:
            raw = bytearray(base64.b64decode(inner[field]))
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            inner[field] = base64.b64encode(bytes(raw)).decode()
        kind = "tamper_" + field
    elif pick == 1:
        inner[rng.choice(["iv", "value", "mac", "tag"])] = _hostile_json_value(rng)
        kind = "envelope_value"
    elif pick == 2:
        return "envelope_deep", base64.b64encode(_deep_json(rng, "1").encode()).decode()
    elif pick == 3:
        text = base64.b64encode(json.dumps(inner).encode()).decode()
        return "envelope_truncate", text[: rng.randrange(len(text) + 1)]
    elif pick == 4:
        flipped = _flip(rng, json.dumps(inner).encode())
        return "envelope_bitflip", base64.b64encode(flipped).decode()
    elif pick == 5:
        inner["mac"] = "\ud800" if rng.random() < 0.5 else "é" * 64
        kind = "envelope_surrogate"
    else:
        return "envelope_text", rng.choice(["", "\ud800", "not base64!", "AAAA", "e30="])
    return kind, base64.b64encode(json.dumps(inner).encode("utf-8", "surrogatepass")).decode()


def make_case(seed: int, index: int) -> Case:
    """Input `index` of fuzz run `seed`."""
    rng = random.Random(f"{seed}:{index}")
    pool = seeds()
    target = TARGETS[index % len(TARGETS)] if index % 5 else "payload"
    if target == "loads":
        kind, data = mutate_serialized(rng, rng.choice(pool.commands), rng.choice(pool.commands))
        return Case(kind, target, data)
    if target == "decrypt":
        kind, text = mutate_envelope(rng, rng.choice(pool.envelopes))
        return Case(kind, target, text)
    kind, payload = mutate_payload(rng, rng.choice(pool.payloads), pool)
    return Case(kind, target, payload)


# -- running -------------------------------------------------------------------------------


class Hang(BaseException):
    """One input ran past HANG_SECONDS."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


@contextmanager
def pure_python(enabled: bool) -> Iterator[None]:
    saved = (_accel.c_decode, _accel.c_encode)
    if enabled:
        _accel.c_decode = _accel.c_encode = None
    try:
        yield
    finally:
        _accel.c_decode, _accel.c_encode = saved


Outcome = tuple[str, Any]  # ("ok", summary) or ("error", class name) or ("escape", class name)


class Runner:
    """Runs cases on one codec path, with the long-lived state a worker keeps."""

    def __init__(self) -> None:
        self.decoder = PhpDecoder()
        self.encrypter = Encrypter(APP_KEY)

    def run(self, case: Case) -> Outcome:
        call: Callable[[], Any]
        if case.target == "loads":
            call = lambda: dumps(loads(case.data))  # noqa: E731  # the value, round-tripped
        elif case.target == "decrypt":
            call = lambda: dumps(loads(self.encrypter.decrypt(case.data)))  # noqa: E731
        else:
            call = lambda: decode_like_worker(case.data, self.encrypter, self.decoder)  # noqa: E731
        try:
            return "ok", call()
        except BridgeError as exc:
            return "error", type(exc).__name__
        except Exception as exc:  # what the fuzzing is for: anything outside bridge's tree
            return "escape", f"{type(exc).__name__}: {str(exc)[:200]}"


def fuzz(seed: int, start: int, count: int, progress: Path | None = None) -> dict[str, Any]:
    """Run inputs start..start+count-1 of `seed` on both paths; the figures as a dict."""
    by_kind: Counter[str] = Counter()
    by_target: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    runners = {"c": Runner(), "python": Runner()}
    max_seconds, slowest = 0.0, ""
    signal.signal(signal.SIGALRM, _on_alarm)
    marker = progress.open("w") if progress is not None else None
    try:
        for index in range(start, start + count):
            if marker is not None:  # after a crash, the input that caused it
                marker.seek(0)
                marker.write(f"{seed} {index}\n")
                marker.flush()
            case = make_case(seed, index)
            by_kind[case.kind] += 1
            by_target[case.target] += 1
            results: dict[str, Outcome] = {}
            for path, runner in runners.items():
                began = time.perf_counter()
                signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
                try:
                    with pure_python(path == "python"):
                        results[path] = runner.run(case)
                except Hang:
                    results[path] = ("escape", f"hang over {HANG_SECONDS} s")
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                took = time.perf_counter() - began
                if took > max_seconds:
                    max_seconds, slowest = took, f"{case.target}/{case.kind}"
            c, py = results["c"], results["python"]
            outcomes[py[1] if py[0] != "ok" else "value"] += 1
            problem = None
            if "escape" in (c[0], py[0]):
                problem = "escape"
            elif c != py:
                problem = "disagreement"
            if problem is not None:
                outcomes[problem] += 1
                if len(failures) < 200:
                    failures.append(_failure(seed, index, case, problem, c, py))
    finally:
        if marker is not None:
            marker.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seed": seed,
        "start": start,
        "inputs": count,
        "by_kind": dict(sorted(by_kind.items())),
        "by_target": dict(sorted(by_target.items())),
        "outcomes": dict(sorted(outcomes.items())),
        "escapes": outcomes["escape"],
        "disagreements": outcomes["disagreement"],
        "failures": failures,
        "max_seconds_per_input": round(max_seconds, 4),
        "slowest": slowest,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def _failure(
    seed: int, index: int, case: Case, problem: str, c: Outcome, py: Outcome
) -> dict[str, Any]:
    return {
        "seed": seed,
        "index": index,
        "problem": problem,
        "target": case.target,
        "kind": case.kind,
        "c": c[1] if c[0] != "ok" else "value",
        "python": py[1] if py[0] != "ok" else "value",
        **encode_data(case.data),
    }


def encode_data(data: str | bytes) -> dict[str, str]:
    """An input as JSON can hold it: text (lone surrogates kept) or bytes, in base64."""
    if isinstance(data, str):
        return {"text_b64": base64.b64encode(data.encode("utf-8", "surrogatepass")).decode()}
    return {"bytes_b64": base64.b64encode(data).decode()}


def decode_data(entry: dict[str, str]) -> str | bytes:
    if "text_b64" in entry:
        return base64.b64decode(entry["text_b64"]).decode("utf-8", "surrogatepass")
    return base64.b64decode(entry["bytes_b64"])


def check_vectors(path: Path) -> dict[str, Any]:
    """Run every kept input of a vectors file (one JSON object a line) on both paths."""
    runners = {"c": Runner(), "python": Runner()}
    failures: list[dict[str, Any]] = []
    count = 0
    for line in path.read_text("utf-8").splitlines():
        entry = json.loads(line)
        case = Case(entry["kind"], entry["target"], decode_data(entry))
        results = {}
        for name, runner in runners.items():
            with pure_python(name == "python"):
                results[name] = runner.run(case)
        c, py = results["c"], results["python"]
        if "escape" in (c[0], py[0]) or c != py:
            failures.append({"line": count + 1, "kind": case.kind, "c": c[1], "python": py[1]})
        count += 1
    return {"inputs": count, "failures": [repr(f)[:300] for f in failures]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz bridge's payload readers.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--progress", type=Path, help="file holding the input being run")
    parser.add_argument("--vectors", type=Path, help="run the inputs kept in this file instead")
    parser.add_argument("--memory-limit-mib", type=int, default=3072)
    args = parser.parse_args(argv)
    if sanitized.install_from_env() is None:
        # A declared length that allocated up front fails here, not taking the machine down.
        # (AddressSanitizer reserves terabytes of address space, so not under it.)
        limit = args.memory_limit_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if args.vectors is not None:
        figures = check_vectors(args.vectors)
    else:
        figures = fuzz(args.seed, args.start, args.count, args.progress)
    json.dump(figures, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
