"""The commands the `bridge` group offers, by name, and the module each one lives in.

Commands are imported when they are run, not when `bridge` starts: `bridge --version` and
shell completion then load click and little else (the queue layer pulls in SQLAlchemy).
"""

from __future__ import annotations

#: name -> "module:attribute", in the order `bridge --help` lists them.
COMMANDS: dict[str, str] = {
    "migrate": "bridge.cli.migrate:migrate",
    "work": "bridge.cli.work:work",
    "dispatch": "bridge.cli.dispatch:dispatch",
    "demo": "bridge.cli.demo:demo",
    "status": "bridge.cli.status:status",
    "clear": "bridge.cli.status:clear",
    "restart": "bridge.cli.restart:restart",
    "failed": "bridge.cli.failed:failed_group",
    "retry-failed": "bridge.cli.retry_failed:retry_failed_command",
    "retry-batch": "bridge.cli.retry_batch:retry_batch",
    "forget": "bridge.cli.failed:forget_command",
    "flush": "bridge.cli.failed:flush_command",
    "prune-failed": "bridge.cli.failed:prune_failed_command",
    "stubs": "bridge.cli.stubs:stubs",
}
