"""The `bridge` command: click lives here and nowhere else."""

from __future__ import annotations

import click

from bridge import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def main() -> None:
    """Share one Laravel job queue between PHP and Python."""


__all__ = ["main"]
