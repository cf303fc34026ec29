"""Laravel's `Encrypter`: the APP_KEY envelope around `ShouldBeEncrypted` job commands.

The envelope is standard base64 of compact JSON `{"iv","value","mac","tag"}` (`tag` from
Laravel 8.54, slashes not escaped). AES-CBC: PKCS#7 padding, `mac` = lowercase hex
HMAC-SHA256 keyed with the raw key over the *base64 texts* `iv + value`, `tag` empty.
AES-GCM: 12-byte IV, no padding, no associated data, `mac` empty, `tag` the base64 tag.

With `serialize=True` (Laravel's default, used for job commands) the plaintext is wrapped
as a PHP serialized string first, so a command ends up serialized twice:
`s:<n>:"O:...";`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bridge.exceptions import DecryptionError, EncryptionError

__all__ = ["CIPHERS", "Encrypter", "parse_key"]

#: Supported ciphers (lowercase) and their key lengths in bytes.
CIPHERS: dict[str, int] = {
    "aes-128-cbc": 16,
    "aes-256-cbc": 32,
    "aes-128-gcm": 16,
    "aes-256-gcm": 32,
}

# At most 19 digits: any length fits int64, and int() never meets thousands of digits.
_SERIALIZED_STRING = re.compile(rb"s:([0-9]{1,19}):\"")


def parse_key(key: bytes | str) -> bytes:
    """Turn an APP_KEY into raw key bytes: `base64:...` is decoded, other text used as is."""
    if isinstance(key, bytes):
        return key
    if key.startswith("base64:"):
        try:
            return base64.b64decode(key[7:], validate=True)
        except binascii.Error as exc:
            raise EncryptionError(f"APP_KEY is not valid base64: {exc}") from exc
    return key.encode("utf-8")


def _b64decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise DecryptionError(f"The payload is invalid: {what} is not a string.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError(f"The payload is invalid: {what} is not base64.") from exc


def php_serialize_string(data: bytes) -> bytes:
    """PHP's `serialize()` of a string: `s:<byte length>:"<bytes>";`."""
    return b's:%d:"%s";' % (len(data), data)


def php_unserialize_string(data: bytes) -> bytes:
    """Undo `php_serialize_string`; raise `DecryptionError` for anything else."""
    match = _SERIALIZED_STRING.match(data)
    if match is None:
        raise DecryptionError("The decrypted value is not a PHP serialized string.")
    start = match.end()
    end = start + int(match.group(1))
    if data[end : end + 2] != b'";' or len(data) != end + 2:
        raise DecryptionError("The decrypted value is not a PHP serialized string.")
    return data[start:end]


class Encrypter:
    """Encrypt and decrypt exactly as Laravel's `Illuminate\\Encryption\\Encrypter`.

    Args:
        key: the APP_KEY (`"base64:..."`) or raw key bytes.
        cipher: `AES-256-CBC` (Laravel's default), `AES-128-CBC`, `AES-256-GCM`,
            `AES-128-GCM`; case-insensitive.
        previous_keys: older keys also tried when decrypting (`APP_PREVIOUS_KEYS`).
        with_tag: write the `tag` key (Laravel 8.54+); readers accept either form.
        random_bytes: source of IVs (tests pin it); `os.urandom` by default.

    Raises:
        EncryptionError: unknown cipher or a key of the wrong length.
    """

    def __init__(
        self,
        key: bytes | str,
        cipher: str = "AES-256-CBC",
        *,
        previous_keys: Sequence[bytes | str] = (),
        with_tag: bool = True,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.cipher = cipher.lower()
        if self.cipher not in CIPHERS:
            raise EncryptionError(
                f"Unsupported cipher {cipher!r}; supported: AES-128-CBC, AES-256-CBC, "
                "AES-128-GCM, AES-256-GCM."
            )
        self.key = parse_key(key)
        self.previous_keys = tuple(parse_key(k) for k in previous_keys)
        for raw in (self.key, *self.previous_keys):
            if len(raw) != CIPHERS[self.cipher]:
                raise EncryptionError(
                    f"{cipher} needs a {CIPHERS[self.cipher]}-byte key, got {len(raw)} bytes."
                )
        self.with_tag = with_tag
        self._random_bytes = random_bytes

    @property
    def is_aead(self) -> bool:
        """Whether the cipher is AES-GCM (authenticated by its tag, not by a MAC)."""
        return self.cipher.endswith("gcm")

    @property
    def iv_length(self) -> int:
        """IV length in bytes: 12 for GCM, 16 for CBC."""
        return 12 if self.is_aead else 16

    def encrypt(self, plaintext: bytes | str, *, serialize: bool = True) -> str:
        """Encrypt `plaintext` into Laravel's envelope (a base64 string).

        Args:
            plaintext: the bytes to protect (text is encoded as UTF-8).
            serialize: wrap as a PHP serialized string first, as `Encrypter::encrypt`
                does by default (job commands are encrypted this way).
        """
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        if serialize:
            data = php_serialize_string(data)
        iv = self._random_bytes(self.iv_length)
        if len(iv) != self.iv_length:
            raise EncryptionError(f"IV must be {self.iv_length} bytes, got {len(iv)}")
        iv_b64 = base64.b64encode(iv).decode("ascii")
        if self.is_aead:
            sealed = AESGCM(self.key).encrypt(iv, data, None)
            value_b64 = base64.b64encode(sealed[:-16]).decode("ascii")
            mac, tag = "", base64.b64encode(sealed[-16:]).decode("ascii")
        else:
            padder = padding.PKCS7(128).padder()
            padded = padder.update(data) + padder.finalize()
            encryptor = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
            ciphertext = encryptor.update(padded) + encryptor.finalize()
            value_b64 = base64.b64encode(ciphertext).decode("ascii")
            mac, tag = self._mac(self.key, iv_b64, value_b64), ""
        envelope: dict[str, str] = {"iv": iv_b64, "value": value_b64, "mac": mac}
        if self.with_tag:
            envelope["tag"] = tag
        # Laravel writes the envelope with JSON_UNESCAPED_SLASHES; base64 is ASCII.
        text = json.dumps(envelope, separators=(",", ":"))
        return base64.b64encode(text.encode("ascii")).decode("ascii")

    def decrypt(self, payload: str | bytes, *, unserialize: bool = True) -> bytes:
        """Decrypt Laravel's envelope.

        Args:
            payload: the base64 envelope.
            unserialize: undo the PHP string serialization `encrypt` applied by default.

        Raises:
            DecryptionError: the envelope is malformed, the MAC or tag does not verify
                under the key or any previous key, or the plaintext is not what
                `unserialize` expects.
        """
        envelope = self._envelope(payload)
        iv = _b64decode(envelope["iv"], "iv")
        if len(iv) != self.iv_length:
            raise DecryptionError(
                f"The payload is invalid: the IV is {len(iv)} bytes, {self.cipher} "
                f"needs {self.iv_length}."
            )
        value = _b64decode(envelope["value"], "value")
        tag_text = envelope.get("tag") or ""
        if not isinstance(tag_text, str):
            raise DecryptionError("The payload is invalid: tag is not a string.")
        plaintext: bytes | None = None
        for key in (self.key, *self.previous_keys):
            if self.is_aead:
                plaintext = self._open_gcm(key, iv, value, tag_text)
            else:
                if tag_text:
                    raise DecryptionError(
                        "Unable to use tag because the cipher algorithm does not support AEAD."
                    )
                plaintext = self._open_cbc(key, iv, value, envelope)
            if plaintext is not None:
                break
        if plaintext is None:
            raise DecryptionError(
                "The MAC is invalid." if not self.is_aead else "Could not decrypt the data."
            )
        return php_unserialize_string(plaintext) if unserialize else plaintext

    @staticmethod
    def _mac(key: bytes, iv_b64: str, value_b64: str) -> str:
        return hmac.new(key, (iv_b64 + value_b64).encode("ascii"), hashlib.sha256).hexdigest()

    @staticmethod
    def _envelope(payload: str | bytes) -> dict[str, Any]:
        try:
            text = base64.b64decode(payload, validate=True)
            envelope = json.loads(text)
        except (binascii.Error, ValueError, RecursionError) as exc:
            raise DecryptionError("The payload is invalid: not a base64 JSON envelope.") from exc
        if not isinstance(envelope, dict) or not all(
            isinstance(envelope.get(k), str) for k in ("iv", "value", "mac")
        ):
            raise DecryptionError("The payload is invalid: iv, value and mac are required.")
        return envelope

    def _open_cbc(
        self, key: bytes, iv: bytes, value: bytes, envelope: dict[str, Any]
    ) -> bytes | None:
        expected = self._mac(key, envelope["iv"], envelope["value"])
        mac = envelope["mac"]
        # A MAC is hex; other text (a lone surrogate has no UTF-8 at all) cannot match.
        if not mac.isascii() or not hmac.compare_digest(expected, mac):
            return None
        if not value or len(value) % 16:
            raise DecryptionError("Could not decrypt the data: bad ciphertext length.")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(value) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise DecryptionError("Could not decrypt the data: bad padding.") from exc

    @staticmethod
    def _open_gcm(key: bytes, iv: bytes, value: bytes, tag_text: str) -> bytes | None:
        tag = _b64decode(tag_text, "tag")
        if len(tag) != 16:
            raise DecryptionError("Could not decrypt the data: the tag must be 16 bytes.")
        try:
            return AESGCM(key).decrypt(iv, value + tag, None)
        except InvalidTag:
            return None
