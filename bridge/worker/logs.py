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
from typing import IO, Any, cast

from bridge._forks import generation

__all__ = [
    "LOGGER_NAME",
    "DirectLines",
    "JsonFormatter",
    "RecordMaker",
    "TextFormatter",
    "log_handler",
]

LOGGER_NAME = "bridge.worker"


_new_record = logging.LogRecord.__new__
_STOCK_HANDLE = logging.Logger.handle
_STOCK_CALL_HANDLERS = logging.Logger.callHandlers


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "bridge", None)
    return fields if isinstance(fields, dict) else {}


class RecordMaker:
    """Builds the worker's per-job records, each as `Logger.makeRecord` would build it.

    Two records per trivial job made `LogRecord.__init__` (file name parsing, thread and
    process lookups) a tenth of the worker's cost. The parts that cannot change between two
    records of one thread in one process are taken from a template record instead. A custom
    record factory (`logging.setLogRecordFactory`) is always honoured in full.
    """

    def __init__(self, logger: logging.Logger, *, pathname: str, func: str) -> None:
        """Make records for `logger` as if logged from `func` in `pathname`."""
        self._logger = logger
        self._pathname = pathname
        self._func = func
        self._template: logging.LogRecord | None = None
        self._template_fields: dict[str, Any] = {}
        # The fork generation and thread the template was made in (its process and thread
        # fields); the fork generation stands in for the pid, a system call to read.
        self._owner: tuple[int, int] = (-1, 0)

    def make(self, level: int, message: str, extra: dict[str, Any]) -> logging.LogRecord:
        """A record of `message` at `level` with the `extra` attributes set on it."""
        logger = self._logger
        if logging.getLogRecordFactory() is not logging.LogRecord:
            return logger.makeRecord(
                logger.name, level, self._pathname, 0, message, (), None, self._func, extra
            )
        owner = (generation(), threading.get_ident())
        template = self._template
        if template is None or owner != self._owner:
            template = logging.LogRecord(
                logger.name, level, self._pathname, 0, "", (), None, self._func
            )
            self._template, self._owner = template, owner
            self._template_fields = dict(vars(template))
        now = time.time()
        fields = self._template_fields.copy()
        fields.update(extra)
        fields["msg"] = message
        fields["levelno"] = level
        fields["levelname"] = logging.getLevelName(level)
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0
        fields["relativeCreated"] = template.relativeCreated + (now - template.created) * 1000
        # One filled dict in place of a series of attribute stores.
        record = _new_record(logging.LogRecord)
        record.__dict__ = fields
        return record


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
        line = self.format_fields(
            record.levelno, record.getMessage(), _fields(record), record.created
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    def format_fields(
        self, level: int, message: str, fields: dict[str, Any], created: float
    ) -> str:
        """Render an event given by its parts (what `format` renders of a record)."""
        when = self._time_text(created)
        if self._with_pid:
            when = f"{when} [pid {_pid_of_this_process()}]"
        uuid = fields.get("uuid")
        line = f"{when} [{uuid}] {message}" if uuid else f"{when} {message}"
        return line + _trace_lines(fields)


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record: time, level, message and the event's fields."""

    def __init__(self, *, tz: tzinfo = UTC) -> None:
        """Create the formatter; `tz` is the zone of the `time` field."""
        super().__init__()
        self._tz = tz

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        exception = self.formatException(record.exc_info) if record.exc_info else None
        fields = _fields(record)
        if not fields and record.name not in {"bridge", LOGGER_NAME}:
            fields = {"logger": record.name}  # the app's own logging, or a warning
        return self._render(
            record.levelname, record.getMessage(), fields, record.created, exception
        )

    def format_fields(
        self, level: int, message: str, fields: dict[str, Any], created: float
    ) -> str:
        """Render an event given by its parts (what `format` renders of a record)."""
        return self._render(logging.getLevelName(level), message, fields, created, None)

    def _render(
        self,
        level_name: str,
        message: str,
        fields: dict[str, Any],
        created: float,
        exception: str | None,
    ) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, self._tz).isoformat(timespec="milliseconds"),
            "level": level_name.lower(),
            "message": message,
            "pid": _pid_of_this_process(),
        }
        out.update(fields)
        if exception is not None:
            out["exception"] = exception
        return json.dumps(out, ensure_ascii=False, default=str)


class _LineHandler(logging.StreamHandler[IO[str]]):
    """`logging.StreamHandler` writing and flushing each line as it does, in fewer steps.

    `emit` runs under the lock `handle` already holds, so the flush need not take it again.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write(self.format(record))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _write(self, line: str) -> None:
        stream = self.stream
        stream.write(line + self.terminator)
        if stream and hasattr(stream, "flush"):
            stream.flush()

    def emit_fields(self, level: int, message: str, fields: dict[str, Any], created: float) -> None:
        """`handle` of the record these parts make, without the record (see `DirectLines`)."""
        formatter = cast(TextFormatter | JsonFormatter, self.formatter)
        with self.lock:  # type: ignore[union-attr]
            try:
                self._write(formatter.format_fields(level, message, fields, created))
            except RecursionError:
                raise
            except Exception:
                record = logging.LogRecord(self.name or "", level, "", 0, message, (), None)
                record.__dict__["bridge"] = fields
                self.handleError(record)


class DirectLines:
    """Writes the worker's per-job lines straight to bridge's own handlers, when they are all
    that would see the record.

    Through `logging`, two lines per trivial job were about a third of the worker's CPU
    (record, logger and handler dispatch). When every handler a record at this level would
    reach is a `log_handler()` handler with bridge's formatter, no logger or handler on the
    way filters, and neither a record factory nor a logger class of your own is installed,
    the record could only end as that text on those streams, so the text is written
    directly. Any other setup (a filter, a handler of your own, `logging.disable`, a custom
    factory or logger class) takes the `logging` path.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def handlers(self, level: int) -> list[_LineHandler] | None:
        """The handlers to write a record at `level` to, or None to go through `logging`."""
        if logging.root.manager.disable >= level:
            return None
        if logging.getLogRecordFactory() is not logging.LogRecord:
            return None
        kind = type(self._logger)
        if kind.handle is not _STOCK_HANDLE or kind.callHandlers is not _STOCK_CALL_HANDLERS:
            return None  # a logger class of your own decides where records go
        found: list[_LineHandler] = []
        logger: logging.Logger | None = self._logger
        while logger is not None:
            if logger.filters or logger.disabled:
                return None
            for handler in logger.handlers:
                if (
                    type(handler) is not _LineHandler
                    or handler.filters
                    or type(handler.formatter) not in _DIRECT_FORMATTERS
                ):
                    return None
                if level >= handler.level:
                    found.append(handler)
            logger = logger.parent if logger.propagate else None
        return found or None  # no handler at all: logging's last resort decides

    @staticmethod
    def write(
        handlers: list[_LineHandler], level: int, message: str, fields: dict[str, Any]
    ) -> None:
        """Write one event to `handlers` (from `handlers()`) as their formatters render it."""
        created = time.time()
        for handler in handlers:
            handler.emit_fields(level, message, fields, created)


def log_handler(
    *, json_lines: bool = False, stream: IO[str] | None = None, with_pid: bool = False
) -> logging.Handler:
    """A stream handler with the text or JSON formatter, for the CLI to attach.

    JSON lines always carry `pid`; text lines carry it with `with_pid` (a process pool).
    """
    handler = _LineHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter(with_pid=with_pid))
    return handler


_DIRECT_FORMATTERS = (TextFormatter, JsonFormatter)
