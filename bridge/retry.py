"""Pure retry policy: Laravel's tries, maxExceptions, backoff, retryUntil and timeout rules."""

from __future__ import annotations
