"""bridge writes the bytes the SO framework's `Job::serialize()` writes, and reads them back.

Live: both versions of the framework serialize the same class and values (no database);
bridge's bytes must be equal, and bridge's decoding of the framework's bytes must give the
values PHP's worker would assign.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from so_kit import KINDS, SoEnv

from bridge.dialect import dialect_named
from bridge.dispatcher import Dispatcher
from bridge.exceptions import JobClassError, PayloadError
from bridge.laravel import Prop
from bridge.queue.memory import InMemoryQueue
from bridge.so import SO_JSON, decode_so, so_job_class

pytestmark = [pytest.mark.php, pytest.mark.mysql]

# Every kind of value a property can hold; `untyped` takes each, the typed ones theirs.
UNTYPED = [
    None,
    True,
    False,
    0,
    -1,
    2**62,
    -(2**63),
    1.5,
    1.0,
    -0.0,
    0.1,
    1e25,
    -2.5e-8,
    "",
    "plain",
    'a/b\\c"d',
    "é ü 😀 \u2028\u2029 \x7f\x00\t\n",
    [],
    [1, 2, 3],
    ["x", [1.5, None], {"k": True}],
    {"a": 1, "b": [1.0, "2"]},
    {"5": "numeric key", "x": "y"},
    {"0": "a", "1": "b"},
]
TYPED: list[dict[str, Any]] = [
    {"count": 7, "ratio": 2.25, "label": "x/y", "note": "n", "flag": True, "items": [1]},
    {"count": -5, "ratio": 3.0, "label": "", "note": None, "flag": False, "items": {}},
    {"ratio": 1e-7, "items": {"nested": {"deep": [1, 2]}}, "hidden": "changed"},
    {"looseProtected": [1, "two"], "hidden": "h2"},
    {"tries": 5, "retryAfter": 7, "timeout": 3},
]
CASES = [{"untyped": value} for value in UNTYPED] + TYPED


def _as_php(value: Any, *, json_format: bool) -> Any:
    """The value as PHP holds it after decoding: an array keyed 0..n-1 is a list, numeric
    string keys are ints; from JSON, integral floats are ints (`-0.0` too)."""
    if json_format and isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_as_php(v, json_format=json_format) for v in value]
    if isinstance(value, dict):
        items = {_php_key(k): _as_php(v, json_format=json_format) for k, v in value.items()}
        if list(items) == list(range(len(items))):
            return list(items.values())
        return items
    return value


def _php_key(key: Any) -> Any:
    return int(key) if isinstance(key, str) and key.isdigit() and key == str(int(key)) else key


def test_bridge_writes_the_framework_bytes(so_env: SoEnv) -> None:
    php = so_env.php_serialize((KINDS.name, case) for case in CASES)
    dispatcher = Dispatcher(queue=InMemoryQueue(), dialect=so_env.dialect)
    mine = [dispatcher.dispatch(KINDS.instance(case)).payload for case in CASES]
    assert len(php) == len(CASES)
    for case, want, got in zip(CASES, php, mine, strict=True):
        assert got == want, f"{so_env.version} {case!r}"


def test_bridge_reads_the_framework_bytes(so_env: SoEnv) -> None:
    php = so_env.php_serialize((KINDS.name, {"untyped": v}) for v in UNTYPED)
    for value, text in zip(UNTYPED, php, strict=True):
        payload = decode_so(text)
        assert payload.format == so_env.format
        assert payload.class_name == KINDS.name
        got = _as_php(payload.command().as_dict()["untyped"], json_format=False)
        want = _as_php(value, json_format=so_env.format == SO_JSON)
        assert got == want and type(got) is type(want), f"{value!r} -> {got!r}"
        if isinstance(want, float) and want == 0:
            assert math.copysign(1, got) == math.copysign(1, want)


def test_json_refusals_match_what_the_framework_cannot_push(so_env: SoEnv) -> None:
    """INF, NAN and invalid UTF-8 make the framework's push throw at head; bridge refuses too.
    The serialize version carries them."""
    dispatcher = Dispatcher(queue=InMemoryQueue(), dialect=so_env.dialect)
    for value in (math.inf, -math.inf, math.nan, b"\xff\xfe"):
        job = KINDS.new(untyped=value)
        if so_env.format == SO_JSON:
            with pytest.raises(PayloadError, match="SO JSON format cannot carry"):
                dispatcher.dispatch(job)
            with pytest.raises(AssertionError, match="JsonException"):
                so_env.php_serialize([(KINDS.name, {"untyped": value})])
        elif isinstance(value, float):
            # serialize() carries them: bridge's bytes are the framework's.
            php = so_env.php_serialize([(KINDS.name, {"untyped": value})])
            assert dispatcher.dispatch(job).payload == php[0]


def test_classes_the_framework_cannot_carry_are_refused() -> None:
    private = so_job_class("App\\Jobs\\P", [Prop("secret", "private", "string", "s")])
    with pytest.raises(JobClassError, match=r"P::\$secret is private"):
        Dispatcher(queue=InMemoryQueue(), dialect=dialect_named(SO_JSON)).dispatch(private.new())
    typed = so_job_class("App\\Jobs\\T", [Prop("when", "public", "?DateTimeImmutable", None)])
    with pytest.raises(JobClassError, match="turns objects into arrays"):
        Dispatcher(queue=InMemoryQueue(), dialect=dialect_named(SO_JSON)).dispatch(typed.new())
