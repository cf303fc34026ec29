"""The list of command families the `bridge` group offers."""

from __future__ import annotations

import click

from bridge.cli.migrate import migrate

ALL: list[click.Command] = [migrate]
