"""`failed_at` times: naive wall-clock datetimes in the app timezone, as Laravel writes them.

Laravel formats `failed_at` as `Y-m-d H:i:s` in `app.timezone` (UTC in the skeleton), so
every comparison with it (filters, flush and prune cutoffs, the origin of a `retryUntil`
shift) has to happen in that same zone, on naive values.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.exceptions import ConfigError

__all__ = ["cutoff", "from_unix", "parse_moment", "to_unix"]

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {timezone!r}") from exc


def from_unix(seconds: int, timezone: str) -> datetime:
    """Unix seconds as the naive wall-clock time Laravel would write to `failed_at`."""
    return datetime.fromtimestamp(seconds, _zone(timezone)).replace(tzinfo=None)


def to_unix(moment: datetime, timezone: str) -> int:
    """A `failed_at` value (naive, in `timezone`; or aware) as Unix seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(timezone))
    return int(moment.timestamp())


def cutoff(now: int, hours: float, timezone: str) -> datetime:
    """The `failed_at` value `hours` before `now`, as `queue:flush` and `prune-failed` compute."""
    return from_unix(now - round(hours * 3600), timezone)


def parse_moment(text: str, *, now: int, timezone: str) -> datetime:
    """Read a `--since` / `--until` value as a naive `failed_at` time in `timezone`.

    Accepts ISO dates and times (`2026-11-01`, `2026-11-01 08:30`, `2026-11-01T08:30:00Z`,
    with an offset converted into `timezone`) and ages before `now` (`90m`, `2h`, `7d`, `1w`).
    A date alone means midnight at the start of that day.

    Raises:
        ValueError: The text is neither.
    """
    text = text.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative is not None:
        return from_unix(now - int(relative[1]) * _UNIT_SECONDS[relative[2]], timezone)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2026-11-01, 2026-11-01 08:30:00) or an age (2h, 7d)"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_zone(timezone)).replace(tzinfo=None)
    return moment
