"""Checks of option values shared by several commands, as click callbacks: a wrong value is
a usage error (exit 2) that names the option, never something accepted silently."""

from __future__ import annotations

import click

__all__ = ["backoff_value", "laravel_value", "queue_list"]


def queue_list(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """`a,b` as ('a', 'b'); an empty name (`a,,b`, `a,`) is refused."""
    if value is None:
        return None
    names = tuple(part.strip() for part in value.split(","))
    if not value.strip() or any(not name for name in names):
        raise click.BadParameter(
            f"{value!r} has an empty queue name; write names separated by commas: high,default",
            ctx=ctx,
            param=param,
        )
    return names


def backoff_value(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """`10` or `10,30,60`: whole seconds, none negative."""
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() for part in parts):
        raise click.BadParameter(
            f"{value!r} is not a number of seconds or a list like 10,30,60", ctx=ctx, param=param
        )
    return ",".join(parts)


def laravel_value(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Laravel version bridge knows (8 to 12, or an exact one such as 12.11)."""
    if value is None:
        return None
    from bridge.exceptions import BridgeError
    from bridge.laravel.versions import profile_for

    try:
        profile_for(value)
    except (BridgeError, ValueError) as exc:
        raise click.BadParameter(
            f"{exc}; give a major version such as 10 or an exact one such as 12.11",
            ctx=ctx,
            param=param,
        ) from exc
    return value
