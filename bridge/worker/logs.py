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
import os
import sys
import threading
import time
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

from bridge._forks import generation

__all__ = [
    "LOGGER_NAME",
    "JsonFormatter",
    "RecordMaker",
    "TextFormatter",
    "log_handler",
]

LOGGER_NAME = "bridge.worker"


_new_record = logging.LogRecord.__new__
_STOCK_MAKE_RECORD = logging.Logger.makeRecord
_record_factory = logging.getLogRecordFactory
_level_name = logging.getLevelName
_LogRecord = logging.LogRecord
_now = time.time
_thread_id = threading.get_ident


class RecordMaker:
    """Makes the worker's per-job records as `Logger.makeRecord` makes them, faster.

    `LogRecord.__init__` parses the file name and looks up the thread and the process for
    every record; those cannot change between two records of one thread in one process, so
    they are copied from a template record. A record factory or a logger class of your own
    gets `makeRecord` itself. The record then goes through `Logger.handle` like any other.
    Two records are made per job, so every step here counts: no tuple, no dict of extras.
    """

    def __init__(self, logger: logging.Logger, *, pathname: str, func: str) -> None:
        """Make records for `logger` as if logged from `func` in `pathname`."""
        self._logger = logger
        self._pathname = pathname
        self._func = func
        self._template: dict[str, Any] = {}
        # The fork generation (standing in for the pid, a system call to read) and the
        # thread the template was made in.
        self._generation = -1
        self._thread = 0
        self._created = self._relative = 0.0

    def make(self, level: int, message: str, fields: dict[str, Any]) -> logging.LogRecord:
        """A record of `message` at `level`, with the event's `fields` as `record.bridge`."""
        logger = self._logger
        if _record_factory() is not _LogRecord or type(logger).makeRecord is not _STOCK_MAKE_RECORD:
            return logger.makeRecord(
                logger.name, level, self._pathname, 0, message, (), None, self._func,
                {"bridge": fields},
            )  # fmt: skip
        if generation() != self._generation or _thread_id() != self._thread:
            self._renew()
        now = _now()
        record = self._template.copy()
        record["msg"] = message
        record["levelno"] = level
        record["levelname"] = _level_name(level)
        record["created"] = now
        record["msecs"] = int((now - int(now)) * 1000) + 0.0
        record["relativeCreated"] = self._relative + (now - self._created) * 1000
        record["bridge"] = fields
        made = _new_record(_LogRecord)
        made.__dict__ = record
        return made

    def _renew(self) -> None:
        made = _LogRecord(self._logger.name, 0, self._pathname, 0, "", (), None, self._func)
        self._template = vars(made)
        self._generation, self._thread = generation(), _thread_id()
        self._created, self._relative = made.created, made.relativeCreated


_NO_FIELDS: dict[str, Any] = {}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "bridge", None)
    return fields if isinstance(fields, dict) else _NO_FIELDS


def _pid_of_this_process() -> int:
    # os.getpid() is a system call; the fork generation says when to ask again.
    global _PID
    now = generation()
    if _PID[0] != now:
        _PID = (now, os.getpid())
    return _PID[1]


_PID = (-1, 0)


def _trace_lines(fields: dict[str, Any]) -> str:
    """The traceback a failed or released attempt carries, indented under its line."""
    trace = fields.get("traceback")
    if not trace:
        return ""
    return "\n" + "\n".join("    " + line for line in str(trace).rstrip().splitlines())


class TextFormatter(logging.Formatter):
    """`Y-m-d H:i:s [uuid] message`, the time in `tz`; exceptions follow on their own lines.

    With `with_pid` (a pool of processes) each line starts with the process id after the
    time: `Y-m-d H:i:s [pid 1234] [uuid] message`.
    """

    def __init__(self, *, tz: tzinfo = UTC, with_pid: bool = False) -> None:
        """Create the formatter; `tz` is the zone the times are written in."""
        super().__init__()
        self._tz = tz
        self._with_pid = with_pid
        # Many lines share a second; rendering the time once per second saves a strftime.
        self._second = -1
        self._when = ""

    def _time_text(self, created: float) -> str:
        second = int(created // 1)
        if second != self._second:
            self._when = datetime.fromtimestamp(second, self._tz).strftime("%Y-%m-%d %H:%M:%S")
            self._second = second
        return self._when

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        # Two records per job pass here: the common case (no pid, no traceback, the time
        # in the second already rendered) takes no call it can do without.
        fields = getattr(record, "bridge", None)
        if not isinstance(fields, dict):
            fields = _NO_FIELDS
        created = record.created
        when = self._when if int(created // 1) == self._second else self._time_text(created)
        if self._with_pid:
            when = f"{when} [pid {_pid_of_this_process()}]"
        uuid = fields.get("uuid")
        message = record.getMessage()
        line = f"{when} [{uuid}] {message}" if uuid else f"{when} {message}"
        if fields.get("traceback"):
            line += _trace_lines(fields)
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
        fields = _fields(record)
        if not fields and record.name not in {"bridge", LOGGER_NAME}:
            fields = {"logger": record.name}  # the app's own logging, or a warning
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, self._tz).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "pid": _pid_of_this_process(),
        }
        out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _LineHandler(logging.StreamHandler[IO[str]]):
    """`logging.StreamHandler` writing and flushing each line as it does, in fewer steps.

    `emit` runs under the lock `handle` already holds, so the flush need not take it again.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        """`Handler.handle`, with the filter step skipped when there are no filters."""
        if self.filters:
            return bool(super().handle(record))
        with self.lock:  # type: ignore[union-attr]
            self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            formatter = self.formatter
            line = self.format(record) if formatter is None else formatter.format(record)
            stream = self.stream
            stream.write(line + self.terminator)
            if stream and hasattr(stream, "flush"):
                stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def log_handler(
    *, json_lines: bool = False, stream: IO[str] | None = None, with_pid: bool = False
) -> logging.Handler:
    """A stream handler with the text or JSON formatter, for the CLI to attach.

    JSON lines always carry `pid`; text lines carry it with `with_pid` (a process pool).
    """
    handler = _LineHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter(with_pid=with_pid))
    return handler
