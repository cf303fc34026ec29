"""`php_json_encode` against the real `json_encode` of the php binary, in one process."""

from __future__ import annotations

import base64
import random
import struct
import subprocess

from bridge.laravel._json import php_float_repr, php_json_encode

PHP_SCRIPT = r"""
while (($line = fgets(STDIN)) !== false) {
    [$kind, $data] = explode(' ', rtrim($line, "\n"), 2);
    if ($kind === 's') {
        $value = base64_decode($data);
        echo json_encode($value), "\t", json_encode($value, JSON_UNESCAPED_UNICODE), "\n";
    } else {
        $value = unpack('e', hex2bin($data))[1];
        echo json_encode($value), "\t", serialize($value), "\n";
    }
}
"""

ALPHABET = [chr(c) for c in range(0x80)] + [
    "é",
    "ß",
    "東",
    "😀",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\U0010ffff",
    "\u0600",
    "/",
    "\\",
]


def _random_strings(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        size = rng.randint(0, 24)
        chars = [
            rng.choice(ALPHABET) if rng.random() < 0.8 else chr(rng.randint(0x80, 0xD7FF))
            for _ in range(size)
        ]
        out.append("".join(chars))
    return out


def _random_floats(rng: random.Random, count: int) -> list[float]:
    values = [0.1, 1.0, -0.0, 1e25, 1.5e-7, 1e16, 1e17, 1e-4, 1e-5, 5e-324, 2.0**63]
    while len(values) < count:
        if rng.random() < 0.5:
            values.append(struct.unpack("<d", rng.randbytes(8))[0])
        else:
            values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)))
    return [v for v in values if v == v and abs(v) != float("inf")]


def test_json_encode_matches_php_on_random_strings_and_floats(php_binary: str) -> None:
    rng = random.Random(20240601)
    strings = _random_strings(rng, 2000)
    floats = _random_floats(rng, 1000)
    lines = [f"s {base64.b64encode(s.encode()).decode()}" for s in strings]
    lines += [f"f {struct.pack('<d', f).hex()}" for f in floats]
    result = subprocess.run(
        [php_binary, "-d", "serialize_precision=-1", "-r", PHP_SCRIPT],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    rows = result.stdout.split("\n")[:-1]
    assert len(rows) == len(lines)
    for text, row in zip(strings, rows[: len(strings)], strict=True):
        plain, unescaped = row.split("\t")
        assert php_json_encode(text, unescaped_unicode=False) == plain, repr(text)
        assert php_json_encode(text, unescaped_unicode=True) == unescaped, repr(text)
    for value, row in zip(floats, rows[len(strings) :], strict=True):
        as_json, as_serialized = row.split("\t")
        assert php_json_encode(value, unescaped_unicode=True) == as_json, repr(value)
        assert f"d:{php_float_repr(value, 'E')};" == as_serialized, repr(value)
