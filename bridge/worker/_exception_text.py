"""PHP's string form of a Throwable, built from a Python exception, for `failed_jobs.exception`.

PHP writes `{Class}: {message} in {file}:{line}`, then `Stack trace:` and one `#N file(line):
function()` line per call (innermost first, each naming the function called at that line), then
`#N {main}`; an empty message drops the `: {message}` part, and a chain of previous exceptions
starts with the innermost, each outer one after a blank line and `Next `.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from itertools import pairwise
from traceback import FrameSummary

from bridge.exceptions import ManuallyFailed, MaxAttemptsExceeded, ModelNotFound, TimeoutExceeded

__all__ = ["php_class_name", "php_exception_text"]

# The worker's own failure reasons carry the PHP class names a PHP worker would write, so
# `queue:failed` and log searches read the same whichever language failed the job.
_PHP_CLASSES: dict[type[BaseException], str] = {
    TimeoutExceeded: "Illuminate\\Queue\\TimeoutExceededException",
    MaxAttemptsExceeded: "Illuminate\\Queue\\MaxAttemptsExceededException",
    ManuallyFailed: "Illuminate\\Queue\\ManuallyFailedException",
    ModelNotFound: "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
}


def php_class_name(exc: BaseException) -> str:
    """The class name written for `exc`: a Laravel name for the worker's own reasons."""
    cls = type(exc)
    if cls in _PHP_CLASSES:
        return _PHP_CLASSES[cls]
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _frames(exc: BaseException, fallback: Sequence[FrameSummary] | None) -> list[FrameSummary]:
    if exc.__traceback__ is not None:
        # Frames above the catching frame matter too: PHP's trace reaches {main}.
        outer = traceback.extract_stack(exc.__traceback__.tb_frame)[:-1]
        return [*outer, *traceback.extract_tb(exc.__traceback__)]
    return list(fallback) if fallback is not None else traceback.extract_stack()[:-2]


def _one(exc: BaseException, frames: list[FrameSummary]) -> str:
    message = str(exc)
    head = php_class_name(exc) + (f": {message}" if message else "")
    if frames:
        where = frames[-1]
        head += f" in {where.filename}:{where.lineno}"
    lines = [head, "Stack trace:"]
    # Entry k shows the call site in frame n-2-k of the function of frame n-1-k.
    calls = list(pairwise(frames))
    for number, (caller, callee) in enumerate(reversed(calls)):
        lines.append(f"#{number} {caller.filename}({caller.lineno}): {callee.name}()")
    lines.append(f"#{len(calls)} {{main}}")
    return "\n".join(lines)


def _chain(exc: BaseException) -> list[BaseException]:
    chain = [exc]
    seen = {id(exc)}
    current: BaseException | None = exc
    while current is not None:
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        if cause is None or id(cause) in seen:
            break
        seen.add(id(cause))
        chain.append(cause)
        current = cause
    return chain


def php_exception_text(
    exc: BaseException, *, fallback_stack: Sequence[FrameSummary] | None = None
) -> str:
    """Render `exc` (and its causes) as PHP's `(string) $throwable` would.

    Args:
        exc: The exception.
        fallback_stack: Frames to show for an exception that was never raised (no
            traceback); by default the caller's stack.
    """
    parts = [
        _one(item, _frames(item, fallback_stack if item is exc else None))
        for item in reversed(_chain(exc))
    ]
    return "\n\nNext ".join(parts)
