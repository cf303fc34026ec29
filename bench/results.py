"""Writing one benchmark's section of bench/RESULTS.md, keeping every other section."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(section: str, heading: str) -> None:
    """Replace the section that starts with `heading` (e.g. `## Worker`), or append it."""
    text = RESULTS.read_text("utf-8") if RESULTS.exists() else "# Benchmark results\n"
    body = section.rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        following = text.find("\n## ", start + len(heading))
        rest = "" if following == -1 else "\n" + text[following + 1 :]
        text = text[:start] + body + rest
    RESULTS.write_text(text, "utf-8")


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return found.group(1).strip() if found else "unknown"


def section_head(
    heading: str,
    command: str,
    *,
    server: str,
    load: tuple[float, ...],
    database: str = "MariaDB",
) -> list[str]:
    """A section's first lines: heading, date and command, machine, server and load."""
    return [
        heading,
        "",
        f"- Date: {dt.date.today().isoformat()}; `{command}`",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}; {database} {server} on"
        f" 127.0.0.1; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ]


def on_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL server (the benchmarks' other kind is MariaDB)."""
    return make_url(url).get_backend_name() == "postgresql"


def database_head(
    heading: str, command: str, *, url: str, server: str, php: str, load: tuple[float, ...]
) -> list[str]:
    """`section_head` and the software line of a run against `url`: MariaDB, the default
    (its URL left out of the command), or PostgreSQL."""
    if on_postgres(url):
        import psycopg

        database, driver = "PostgreSQL", f"psycopg {psycopg.__version__}"
        server = server.split(" on ")[0].removeprefix("PostgreSQL ")
        command += f" --url {make_url(url).render_as_string(hide_password=True)}"
    else:
        import pymysql

        database, driver = "MariaDB", f"PyMySQL {pymysql.__version__}"
    return [
        *section_head(heading, command, server=server, load=load, database=database),
        f"- PHP {php} with Debian's Laravel 8.83; Python {platform.python_version()},"
        f" SQLAlchemy {sa.__version__}, {driver}",
    ]
