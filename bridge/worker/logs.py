"""The worker's log lines: one structured `logging` record per event, and two formatters.

Every record goes to the `bridge.worker` logger with the event's fields in `record.bridge`
(`event`, `uuid`, `job`, `queue`, `attempts`, `worker`, and `duration_ms`, `delay_seconds` or
`reason` where they apply). `TextFormatter` writes Laravel-like lines,
`2026-11-27 12:00:00 [uuid] Processing: App\\Jobs\\X`; `JsonFormatter` writes one JSON object
per line, as `queue:work --json` does.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

__all__ = ["LOGGER_NAME", "JsonFormatter", "TextFormatter", "log_handler"]

LOGGER_NAME = "bridge.worker"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "bridge", None)
    return fields if isinstance(fields, dict) else {}


class TextFormatter(logging.Formatter):
    """`Y-m-d H:i:s [uuid] message`, the time in `tz`; exceptions follow on their own lines."""

    def __init__(self, *, tz: tzinfo = UTC) -> None:
        """Create the formatter; `tz` is the zone the times are written in."""
        super().__init__()
        self._tz = tz

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        when = datetime.fromtimestamp(record.created, self._tz).strftime("%Y-%m-%d %H:%M:%S")
        uuid = _fields(record).get("uuid")
        line = f"{when} [{uuid}] " if uuid else f"{when} "
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record: time, level, message and the event's fields."""

    def __init__(self, *, tz: tzinfo = UTC) -> None:
        """Create the formatter; `tz` is the zone of the `time` field."""
        super().__init__()
        self._tz = tz

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, self._tz).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        out.update(_fields(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def log_handler(*, json_lines: bool = False, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler with the text or JSON formatter, for the CLI to attach."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    return handler
