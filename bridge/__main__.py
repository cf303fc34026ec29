"""`python -m bridge` runs the command-line interface."""

from __future__ import annotations

from bridge.cli import main

main()
