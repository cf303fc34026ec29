"""Laravel version profiles: every byte-format decision that depends on the version.

A `Profile` is built from a version string (`"12"` means the last release of 12.x,
`"12.11"` or `"8.83.26"` an exact one) and answers questions such as "does the payload
carry `failOnTimeout`?" or "in which order does `Queueable` declare its properties?".

`detect_profile` guesses a profile from payloads already in a `jobs` table. What the
payload text can tell apart (and nothing finer):

* `createdAt`/`delay` keys: 12.11+; `data.batchId`: 12.51+; `failOnTimeout`: 8.43+;
* raw UTF-8 in the JSON: 8.82+ (escaped non-ASCII alone proves nothing: ASCII text looks
  the same either way, and `queue:retry` re-encodes without flags on every version);
* `deleteWhenMissingModels` after `retryUntil`: 13.0+ (its absence from an object payload:
  before 13);
* in a native-serialized command: `Queueable`'s property order (11.2+ puts `chained*`
  last), `messageGroup` (12.28.1+), `deduplicator` (12.32+), `debounceOwner` (13.6+),
  `uniqueLockOwner` (13.24+), and the absence of each from a list that has the others;
* a `SerializesModels` command without the `null` `Queueable` properties: 9.4+;
* a 5-property `ModelIdentifier`: 9.26+; a private `fakeBatch`: 9.31+.

The newest release within the range the evidence allows is returned; 9.26-11.1 payloads
look alike, so such a table is reported as 10.50.3 (which writes the same bytes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering
from typing import Any

from bridge.exceptions import ConfigError

__all__ = ["LATEST", "NEWEST_MAJOR", "Profile", "detect_profile", "profile_for"]

#: What a bare major version means: the last release of that major we know.
LATEST: dict[int, tuple[int, int, int]] = {
    8: (8, 83, 29),
    9: (9, 52, 22),
    10: (10, 50, 3),
    11: (11, 56, 0),
    12: (12, 67, 0),
    13: (13, 26, 1),
}

#: The newest major: what a bare "latest" and the fallback without evidence mean.
NEWEST_MAJOR = max(LATEST)


@total_ordering
@dataclass(frozen=True, slots=True)
class Profile:
    """The byte-format rules of one Laravel release.

    Attributes:
        version: `(major, minor, patch)`.
    """

    version: tuple[int, int, int]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return self.version < other.version

    def at_least(self, *version: int) -> bool:
        """Whether this release is `version` or newer (`at_least(9, 4)`)."""
        return self.version >= tuple(version)

    @property
    def name(self) -> str:
        """The version as text, e.g. `"12.67.0"`."""
        return ".".join(map(str, self.version))

    # --- payload JSON ------------------------------------------------------------------

    @property
    def json_unescaped_unicode(self) -> bool:
        """Payloads are written with `JSON_UNESCAPED_UNICODE` (8.82+)."""
        return self.at_least(8, 82)

    @property
    def payload_fail_on_timeout(self) -> bool:
        """The payload has a `failOnTimeout` key (8.43+)."""
        return self.at_least(8, 43)

    @property
    def payload_created_at_and_delay(self) -> bool:
        """The payload has `createdAt` after `data` and `delay` last (12.11+)."""
        return self.at_least(12, 11)

    @property
    def payload_batch_id(self) -> bool:
        """`data` carries `batchId` after `command` (12.51+)."""
        return self.at_least(12, 51)

    @property
    def payload_delete_when_missing_models(self) -> bool:
        """The payload has a `deleteWhenMissingModels` bool after `retryUntil` (13.0+)."""
        return self.at_least(13)

    @property
    def tries_method(self) -> bool:
        """A `tries()` method fills `maxTries` when there is no `tries` property (10.39+)."""
        return self.at_least(10, 39)

    @property
    def attribute_loses_to_set_property(self) -> bool:
        """A property set away from its declared default wins over the class attribute
        (13.4+; on 13.0-13.3 the attribute always wins)."""
        return self.at_least(13, 4)

    @property
    def attribute_loses_to_child_property(self) -> bool:
        """A public property declared below the attribute's class wins over it (13.14+)."""
        return self.at_least(13, 14)

    @property
    def attributes_on_traits(self) -> bool:
        """Queue attributes on a trait the class uses count too (13.16+)."""
        return self.at_least(13, 16)

    @property
    def queue_attributes(self) -> bool:
        """Job options also come from `Illuminate\\Queue\\Attributes\\*` class attributes,
        and a `tries()` / `backoff()` method wins over the property (13.0+)."""
        return self.at_least(13)

    # --- job objects -------------------------------------------------------------------

    @property
    def queueable_properties(self) -> tuple[str, ...]:
        """`Queueable`'s properties in declaration order."""
        owners: tuple[str, ...] = ()
        if self.at_least(13, 6):
            owners = ("debounceOwner",)
        if self.at_least(13, 24):
            owners = ("debounceOwner", "uniqueLockOwner")
        if self.at_least(12, 32):
            head: tuple[str, ...] = ("connection", "queue", "messageGroup", "deduplicator", *owners)
        elif self.at_least(12, 28, 1):
            head = ("connection", "queue", "messageGroup")
        elif self.at_least(12, 27):
            head = ("connection", "queue", "group")
        else:
            head = ("connection", "queue")
        chain = ("chainConnection", "chainQueue", "chainCatchCallbacks")
        after_commit = ("afterCommit",) if self.at_least(8, 19) else ()
        if self.at_least(11, 2):
            return (*head, "delay", *after_commit, "middleware", "chained", *chain)
        return (*head, *chain, "delay", *after_commit, "middleware", "chained")

    @property
    def serializes_models_omits_defaults(self) -> bool:
        """`SerializesModels` leaves out properties `===` their default (9.4+)."""
        return self.at_least(9, 4)

    @property
    def model_identifier_collection_class(self) -> bool:
        """`ModelIdentifier` has a fifth property, `collectionClass` (9.26+)."""
        return self.at_least(9, 26)

    @property
    def batchable_fake_batch(self) -> bool:
        """`Batchable` declares a private `fakeBatch` (9.31+)."""
        return self.at_least(9, 31)

    # --- encryption and messages -------------------------------------------------------

    @property
    def encrypter_tag(self) -> bool:
        """The encrypter's JSON envelope has a `tag` key (8.54+)."""
        return self.at_least(8, 54)

    @property
    def short_max_attempts_message(self) -> bool:
        """10.10+: "has been attempted too many times." and a separate timeout message."""
        return self.at_least(10, 10)

    def max_attempts_message(self, display_name: str) -> str:
        """The `MaxAttemptsExceededException` text for a job already out of attempts."""
        if self.short_max_attempts_message:
            return f"{display_name} has been attempted too many times."
        return (
            f"{display_name} has been attempted too many times or run too long. "
            "The job may have previously timed out."
        )

    def timeout_message(self, display_name: str) -> str:
        """The exception text when a job hits its timeout."""
        if self.short_max_attempts_message:
            return f"{display_name} has timed out."
        return self.max_attempts_message(display_name)


_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def profile_for(version: str | int | Profile) -> Profile:
    """Return the profile for a version: `"12"`, `12`, `"12.11"`, `"8.83.26"`, `"v9.4.0"`.

    A bare major means that major's last release (see `LATEST`); a missing patch is 0.

    Raises:
        ConfigError: for text that is not a version, or a major outside 8-13.
    """
    if isinstance(version, Profile):
        return version
    match = _VERSION.fullmatch(str(version).strip())
    if match is None:
        raise ConfigError(f"not a Laravel version: {version!r}")
    major = int(match.group(1))
    if major not in LATEST:
        known = f"{min(LATEST)} to {max(LATEST)}"
        raise ConfigError(f"Laravel {major} is not supported ({known} are)")
    if match.group(2) is None:
        return Profile(version=LATEST[major])
    return Profile(version=(major, int(match.group(2)), int(match.group(3) or 0)))


# Ranges are (lowest, highest) version tuples the evidence allows.
_FLOOR = (8, 0, 0)
_CEILING = LATEST[NEWEST_MAJOR]


def _command_hints(command: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    low, high = _FLOOR, _CEILING
    if 'Database\\ModelIdentifier":5:' in command:
        low = max(low, (9, 26, 0))
    elif 'Database\\ModelIdentifier":4:' in command:
        high = min(high, (9, 25, 99))
    if "\0fakeBatch" in command:
        low = max(low, (9, 31, 0))
    if 's:12:"messageGroup";' in command:
        low = max(low, (12, 28, 1))
    if 's:12:"deduplicator";' in command:
        low = max(low, (12, 32, 0))
    if 's:15:"chainConnection";' in command:  # Queueable's whole list is there
        if 's:12:"messageGroup";' not in command and 's:5:"group";' not in command:
            high = min(high, (12, 26, 99))
        elif 's:12:"deduplicator";' not in command:
            high = min(high, (12, 31, 99))
    if 's:13:"debounceOwner";' in command:
        low = max(low, (13, 6, 0))
    elif 's:12:"deduplicator";' in command:
        high = min(high, (13, 5, 99))  # a native command with 12.32+'s list, without 13.6's
    if 's:15:"uniqueLockOwner";' in command:
        low = max(low, (13, 24, 0))
    elif 's:13:"debounceOwner";' in command:
        high = min(high, (13, 23, 99))
    chained = command.find('s:7:"chained";')
    chain_conn = command.find('s:15:"chainConnection";')
    if chained >= 0 and chain_conn >= 0:
        if chain_conn > chained:
            low = max(low, (11, 2, 0))
        else:
            high = min(high, (11, 1, 99))
    return low, high


def _payload_hints(text: str) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
    try:
        raw: Any = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or "job" not in raw:
        return None
    low, high = _FLOOR, _CEILING
    if "failOnTimeout" in raw:
        low = max(low, (8, 43, 0))
    elif "maxExceptions" in raw:
        high = min(high, (8, 42, 99))
    if "createdAt" in raw:
        low = max(low, (12, 11, 0))
    else:
        high = min(high, (12, 10, 99))
    data = raw.get("data")
    if isinstance(data, dict) and "command" in data:
        if "deleteWhenMissingModels" in raw:
            low = max(low, (13, 0, 0))
        elif "retryUntil" in raw:
            high = min(high, LATEST[12])  # an object payload from before 13
        if "batchId" in data:
            low = max(low, (12, 51, 0))
        elif high >= (12, 11, 0) and low >= (12, 11, 0):
            high = min(high, (12, 50, 99))
        command = data.get("command")
        if isinstance(command, str) and command.startswith("O:"):
            c_low, c_high = _command_hints(command)
            low, high = max(low, c_low), min(high, c_high)
    if not text.isascii():
        low = max(low, (8, 82, 0))
    return low, high


def detect_profile(payloads: Iterable[str]) -> Profile | None:
    """Guess the Laravel release that wrote these payloads (see the module docstring).

    Args:
        payloads: `jobs.payload` texts, e.g. the newest rows of the table.

    Returns:
        The newest release consistent with every payload, or `None` when there were no
        readable payloads or they contradict each other (mixed producers).
    """
    low, high = _FLOOR, _CEILING
    seen = False
    for text in payloads:
        hints = _payload_hints(text)
        if hints is None:
            continue
        seen = True
        low, high = max(low, hints[0]), min(high, hints[1])
    if not seen or low > high:
        return None
    for major in sorted(LATEST, reverse=True):
        candidate = LATEST[major]
        if low <= candidate <= high:
            return Profile(version=candidate)
    # No major's last release fits: the range sits inside one major's history.
    return Profile(version=(high[0], high[1], 0) if high[2] == 99 else high)
