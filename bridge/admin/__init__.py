"""Failed-job operations: select, show, retry into the queue, forget, flush, export, import.

The library behind `bridge failed`, `bridge retry-failed` and friends. It works on the
storage protocols of `bridge.queue.base`, so the same code runs against the database and
the in-memory stores; the CLI only parses options and prints.
"""

from __future__ import annotations

from bridge.admin._payload_text import replace_top_level, top_level_spans
from bridge.admin._time import cutoff, from_unix, parse_moment, to_unix
from bridge.admin.listing import (
    LIST_COLUMNS,
    PREVIEW_COLUMNS,
    format_table,
    preview_row,
    summary_row,
)
from bridge.admin.retry import (
    RetryOptions,
    RetryOutcome,
    RetryPlan,
    RetryReport,
    RetryStatus,
    RetryUntilMode,
    RetryUntilPolicy,
    check_connection,
    plan_retry,
    retry_failed,
)
from bridge.admin.selection import (
    Selection,
    in_given_order,
    missing_identifiers,
    parse_range,
    select_failed,
)
from bridge.admin.show import (
    DecodedCommand,
    FailedJobDetails,
    class_of,
    decode_command_text,
    details_to_json,
    inspect_failed,
    render_details,
    render_value,
)
from bridge.admin.transfer import (
    ImportReport,
    export_lines,
    import_lines,
    record_from_line,
    record_to_line,
)

__all__ = [
    "LIST_COLUMNS",
    "PREVIEW_COLUMNS",
    "DecodedCommand",
    "FailedJobDetails",
    "ImportReport",
    "RetryOptions",
    "RetryOutcome",
    "RetryPlan",
    "RetryReport",
    "RetryStatus",
    "RetryUntilMode",
    "RetryUntilPolicy",
    "Selection",
    "check_connection",
    "class_of",
    "cutoff",
    "decode_command_text",
    "details_to_json",
    "export_lines",
    "format_table",
    "from_unix",
    "import_lines",
    "in_given_order",
    "inspect_failed",
    "missing_identifiers",
    "parse_moment",
    "parse_range",
    "plan_retry",
    "preview_row",
    "record_from_line",
    "record_to_line",
    "render_details",
    "render_value",
    "replace_top_level",
    "retry_failed",
    "select_failed",
    "summary_row",
    "to_unix",
    "top_level_spans",
]
