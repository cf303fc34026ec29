"""The list of command families the `bridge` group offers."""

from __future__ import annotations

import click

from bridge.cli.demo import demo
from bridge.cli.dispatch import dispatch
from bridge.cli.failed import COMMANDS as FAILED_COMMANDS
from bridge.cli.migrate import migrate
from bridge.cli.retry_failed import retry_failed_command
from bridge.cli.stubs import stubs
from bridge.cli.work import work

ALL: list[click.Command] = [
    migrate,
    dispatch,
    work,
    demo,
    stubs,
    *FAILED_COMMANDS,
    retry_failed_command,
]
