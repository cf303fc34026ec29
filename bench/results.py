"""Writing one benchmark's section of bench/RESULTS.md, keeping every other section."""

from __future__ import annotations

from pathlib import Path

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
