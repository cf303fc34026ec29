"""The error tree: one root, built-in parents where a codec error refines one."""

from __future__ import annotations

import pytest

from bridge import exceptions as exc


def test_every_error_derives_from_bridge_error() -> None:
    errors = [
        value
        for value in vars(exc).values()
        if isinstance(value, type) and issubclass(value, Exception)
    ]
    assert len(errors) > 10
    assert all(issubclass(error, exc.BridgeError) for error in errors)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (exc.PhpDecodeError, ValueError),
        (exc.PhpTruncatedError, EOFError),
        (exc.PhpEncodeTypeError, TypeError),
        (exc.PhpIntegerOverflowError, OverflowError),
    ],
)
def test_codec_errors_refine_builtins(error: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(error, builtin)


def test_docstring_is_the_default_message() -> None:
    assert str(exc.HandlerNotFound()) == "No Python handler is registered for this job's class."


def test_decode_error_names_offset_expected_and_found() -> None:
    error = exc.PhpDecodeError(offset=7, expected="';'", found=b"x")
    assert (error.offset, error.expected, error.found) == (7, "';'", b"x")
    assert "7" in str(error) and "';'" in str(error)
