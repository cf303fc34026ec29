"""Laravel's Encrypter: round trips, the fixture's envelope, tampering and wrong keys."""

from __future__ import annotations

import base64
import json
import os

import pytest

from bridge.exceptions import DecryptionError, EncryptionError
from bridge.laravel.encryption import Encrypter, parse_key

KEY = "base64:" + base64.b64encode(bytes(range(32))).decode()
KEY128 = "base64:" + base64.b64encode(bytes(range(16))).decode()


@pytest.mark.parametrize(
    ("cipher", "key"),
    [("AES-256-CBC", KEY), ("aes-128-cbc", KEY128), ("AES-256-GCM", KEY), ("AES-128-GCM", KEY128)],
)
@pytest.mark.parametrize("serialize", [True, False])
def test_round_trip(cipher: str, key: str, serialize: bool) -> None:
    enc = Encrypter(key, cipher)
    for plaintext in (b"", b'O:8:"stdClass":0:{}', "h\u00e9llo".encode(), os.urandom(100)):
        token = enc.encrypt(plaintext, serialize=serialize)
        assert enc.decrypt(token, unserialize=serialize) == plaintext


def test_envelope_shape_cbc_and_gcm() -> None:
    cbc = json.loads(base64.b64decode(Encrypter(KEY).encrypt(b"x")))
    assert list(cbc) == ["iv", "value", "mac", "tag"]
    assert len(base64.b64decode(cbc["iv"])) == 16 and cbc["tag"] == ""
    assert cbc["mac"] == cbc["mac"].lower() and len(cbc["mac"]) == 64
    gcm = json.loads(base64.b64decode(Encrypter(KEY, "AES-256-GCM").encrypt(b"x")))
    assert len(base64.b64decode(gcm["iv"])) == 12 and gcm["mac"] == ""
    assert len(base64.b64decode(gcm["tag"])) == 16
    old = json.loads(base64.b64decode(Encrypter(KEY, with_tag=False).encrypt(b"x")))
    assert list(old) == ["iv", "value", "mac"]


def test_serialize_wraps_as_php_string() -> None:
    enc = Encrypter(KEY)
    token = enc.encrypt("héllo")
    assert enc.decrypt(token, unserialize=False) == b's:6:"h\xc3\xa9llo";'


def _tamper(token: str, field: str, value: str) -> str:
    env = json.loads(base64.b64decode(token))
    env[field] = value
    return base64.b64encode(json.dumps(env).encode()).decode()


def test_tampered_wrong_key_truncated_are_rejected() -> None:
    enc = Encrypter(KEY)
    token = enc.encrypt(b"secret")
    env = json.loads(base64.b64decode(token))
    flipped = base64.b64encode(bytes([base64.b64decode(env["value"])[0] ^ 1])
                               + base64.b64decode(env["value"])[1:]).decode()  # fmt: skip
    with pytest.raises(DecryptionError, match="MAC is invalid"):
        enc.decrypt(_tamper(token, "value", flipped))
    with pytest.raises(DecryptionError, match="MAC is invalid"):
        Encrypter(KEY.replace("A", "B", 1) if "A" in KEY else parse_key(KEY)[::-1]).decrypt(token)
    with pytest.raises(DecryptionError, match="invalid"):
        enc.decrypt(token[:-8])
    with pytest.raises(DecryptionError, match="AEAD"):
        enc.decrypt(_tamper(token, "tag", "AAAA"))
    with pytest.raises(DecryptionError, match="IV"):
        enc.decrypt(_tamper(token, "iv", base64.b64encode(b"short").decode()))
    gcm = Encrypter(KEY, "AES-256-GCM")
    gtoken = gcm.encrypt(b"secret")
    with pytest.raises(DecryptionError):
        Encrypter(parse_key(KEY)[::-1], "AES-256-GCM").decrypt(gtoken)


def test_previous_keys_decrypt_old_tokens() -> None:
    old_key = parse_key(KEY)[::-1]
    token = Encrypter(old_key).encrypt(b"legacy")
    assert Encrypter(KEY, previous_keys=[old_key]).decrypt(token) == b"legacy"
    with pytest.raises(DecryptionError):
        Encrypter(KEY).decrypt(token)


def test_bad_keys_and_ciphers() -> None:
    with pytest.raises(EncryptionError, match="32-byte key"):
        Encrypter(KEY128, "AES-256-CBC")
    with pytest.raises(EncryptionError, match="Unsupported cipher"):
        Encrypter(KEY, "DES")
    assert parse_key("plain-text-key") == b"plain-text-key"
