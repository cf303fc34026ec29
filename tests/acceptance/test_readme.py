"""README.md's examples run as written, on a machine where `bridge` alone is iproute2's.

Every ```python block runs: one that starts with `# name.py` is written as that file (the
handler module), the others run as scripts. The ```sh blocks marked
`<!-- readme-test: run -->` run together in one bash, in order, with Debian's PATH
(/usr/sbin first) and a `.venv` in the folder standing for the checkout's virtualenv; only
the install line itself (`python3 -m venv ... pip install`) is left to `./dev`, which runs
exactly that. `php_classes.py` comes from `bridge stubs`, as the README says.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import textwrap
from pathlib import Path

from tests.acceptance.test_first_use import DEBIAN_PATH, clean_environ, run

README = Path(__file__).parent.parent.parent / "README.md"
_BLOCK = re.compile(r"(<!-- readme-test: run -->\n)?```(\w+)\n(.*?)```", re.DOTALL)

SEND_INVOICE_PHP = """\
<?php
namespace App\\Jobs;

use Illuminate\\Bus\\Queueable;
use Illuminate\\Contracts\\Queue\\ShouldQueue;
use Illuminate\\Foundation\\Bus\\Dispatchable;
use Illuminate\\Queue\\InteractsWithQueue;
use Illuminate\\Queue\\SerializesModels;

class SendInvoice implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    protected int $invoiceId;
    private ?string $copyTo = null;

    public function __construct(int $invoiceId)
    {
        $this->invoiceId = $invoiceId;
    }

    public function handle(): void
    {
    }
}
"""


def blocks() -> list[tuple[bool, str, str]]:
    """(marked to run, language, text) of every fenced block, in order."""
    return [(bool(m[1]), m[2], m[3]) for m in _BLOCK.finditer(README.read_text())]


def test_readme_examples_run_as_written(
    bridge_command: str, php_binary: str, laravel: Path, tmp_path: Path
) -> None:
    venv = Path(bridge_command).parent.parent
    (tmp_path / ".venv").symlink_to(venv)
    env = clean_environ(PATH=DEBIAN_PATH, TMPDIR=str(tmp_path))
    found = blocks()
    python_blocks = [text for _, lang, text in found if lang == "python"]
    files = [t for t in python_blocks if re.match(r"# (\w+\.py)\n", t)]
    scripts = [t for t in python_blocks if t not in files]
    shell = [text for marked, lang, text in found if marked and lang == "sh"]
    assert files and scripts and len(shell) >= 2

    for text in files:
        name = text.split("\n", 1)[0].removeprefix("# ")
        (tmp_path / name).write_text(text)
    (tmp_path / "app" / "Jobs").mkdir(parents=True)
    (tmp_path / "app" / "Jobs" / "SendInvoice.php").write_text(SEND_INVOICE_PHP)
    stubs = run([bridge_command, "stubs", "app/Jobs", "-o", "php_classes.py"], tmp_path)
    assert stubs.returncode == 0, stubs.stderr

    session = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(shell)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = session.stdout + session.stderr
    assert session.returncode == 0, output
    assert "bridge, version" in session.stdout
    assert "Retry it with: " in session.stdout  # the demo ran
    assert "invoice 42 (attempt 1)" in session.stderr  # myjobs.py handled the dispatched job
    assert "Processed:  App\\Jobs\\SendInvoice" in session.stderr

    python = str(tmp_path / ".venv" / "bin" / "python")
    for number, text in enumerate(scripts):
        script = tmp_path / f"readme_block_{number}.py"
        script.write_text(textwrap.dedent(text))
        done = subprocess.run(
            [python, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"block {number}:\n{text}\n{done.stderr}"
    with sqlite3.connect(tmp_path / "bridge.sqlite") as db:
        (batches,) = db.execute("select count(*) from job_batches").fetchone()
        (jobs,) = db.execute("select count(*) from jobs").fetchone()
    assert batches == 1
    assert jobs == 1 + 1000 + 1 + 2  # dispatch, bulk, chain (one row), batch
