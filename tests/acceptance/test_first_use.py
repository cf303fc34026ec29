"""A new user's first steps, through the installed command: which program `bridge` is, which
database it uses, the demo's sandbox, and the one-line errors of a mistyped command."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest

#: Debian's order: /usr/sbin holds iproute2's `bridge`, found before any other on this PATH.
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
#: The variables that could point bridge at a database; a test sets only its own.
_DATABASE_VARIABLES = ("BRIDGE_", "DB_", "DATABASE_URL", "APP_KEY", "QUEUE_", "CACHE_")


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without any database settings, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_DATABASE_VARIABLES)}
    return {**kept, **extra}


def run(
    command: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=env if env is not None else clean_environ(),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *, code: int) -> str:
    """The command failed with `code` and one `Error:` line, no traceback; that line."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- the command name ------------------------------------------------------------------


def test_the_demos_closing_hint_runs_as_printed_with_iproute2_first_on_path(
    bridge_command: str, tmp_path: Path
) -> None:
    env = clean_environ(PATH=DEBIAN_PATH, TMPDIR=str(tmp_path))
    demo = run([bridge_command, "demo"], tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    (hint,) = [line for line in demo.stdout.splitlines() if line.startswith("Retry it with: ")]

    retried = run(shlex.split(hint.removeprefix("Retry it with: ")), tmp_path, env=env)

    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "Moved 1 job(s)" in retried.stdout


def test_python_dash_m_bridge_is_the_same_command(bridge_command: str, tmp_path: Path) -> None:
    python = str(Path(bridge_command).with_name("python"))
    result = run([python, "-m", "bridge", "--version"], tmp_path)
    assert result.returncode == 0 and "bridge, version" in result.stdout


# --- which database ----------------------------------------------------------------------


def _laravel_sqlite(folder: Path) -> Path:
    """A Laravel project's SQLite database with the queue tables (as `bridge migrate` makes)."""
    database = folder / "database" / "database.sqlite"
    database.parent.mkdir(parents=True)
    return database


def test_db_variables_in_the_environment_are_used_without_a_dotenv(
    bridge_command: str, tmp_path: Path
) -> None:
    database = _laravel_sqlite(tmp_path / "app")
    env = clean_environ(DB_CONNECTION="sqlite", DB_DATABASE=str(database))
    migrated = run([bridge_command, "migrate"], tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "DB_CONNECTION in the environment" in migrated.stdout

    listed = run([bridge_command, "failed"], tmp_path, env=env)

    assert listed.returncode == 0, listed.stderr
    assert not (tmp_path / "bridge.sqlite").exists()
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert {"jobs", "failed_jobs", "job_batches"} <= tables


def test_the_environment_wins_over_the_dotenv_as_in_laravel(
    bridge_command: str, tmp_path: Path
) -> None:
    real = _laravel_sqlite(tmp_path / "real")
    (tmp_path / ".env").write_text("DB_CONNECTION=sqlite\nDB_DATABASE=stale.sqlite\n")
    env = clean_environ(DB_DATABASE=str(real))

    migrated = run([bridge_command, "migrate"], tmp_path, env=env)

    assert migrated.returncode == 0, migrated.stderr
    assert str(real) in migrated.stdout
    assert real.exists() and not (tmp_path / "stale.sqlite").exists()


def test_db_url_of_laravel_11_with_a_mysql_scheme(
    bridge_command: str, mysql_url: str, tmp_path: Path
) -> None:
    # mysql+pymysql://root@127.0.0.1:3306/name?charset=utf8mb4 -> mysql://root@...:3306/name
    plain = "mysql://" + mysql_url.split("://", 1)[1].split("?", 1)[0]
    env = clean_environ(DB_URL=plain)
    migrated = run([bridge_command, "migrate"], tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "mysql+pymysql://root@127.0.0.1:3306/" in migrated.stdout
    assert "(from DB_URL in the environment)" in migrated.stdout

    listed = run([bridge_command, "failed"], tmp_path, env=env)

    assert listed.returncode == 0, listed.stderr
    assert "No failed jobs." in listed.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_mysql_url_on_the_command_line_uses_pymysql(
    bridge_command: str, mysql_url: str, tmp_path: Path
) -> None:
    plain = "mysql://" + mysql_url.split("://", 1)[1].split("?", 1)[0]
    assert run([bridge_command, "--database", plain, "migrate"], tmp_path).returncode == 0
    listed = run([bridge_command, "--database", plain, "failed", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize(
    "command",
    [["failed"], ["failed", "show", "1"], ["status"], ["retry-failed", "all", "--yes"]],
    ids=["failed", "show", "status", "retry-failed"],
)
def test_a_reading_command_never_creates_the_sqlite_file(
    bridge_command: str, tmp_path: Path, command: list[str]
) -> None:
    result = run([bridge_command, *command], tmp_path)

    line = assert_one_error_line(result, code=1)
    assert "no SQLite database at" in line and "bridge migrate" in line
    assert list(tmp_path.iterdir()) == []


def test_the_worker_says_which_database_it_uses_and_where_that_came_from(
    bridge_command: str, tmp_path: Path
) -> None:
    database = _laravel_sqlite(tmp_path)
    (tmp_path / ".env").write_text(
        f"DB_CONNECTION=sqlite\nDB_DATABASE={database}\nDB_PASSWORD=hunter2\n"
    )
    (tmp_path / "noop.py").write_text("from bridge.worker import App\napp = App()\n")
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0

    worked = run([bridge_command, "work", "--app", "noop:app", "--stop-when-empty"], tmp_path)

    assert worked.returncode == 0, worked.stderr
    assert f"using sqlite:///{database} (from {tmp_path / '.env'})" in worked.stderr


def test_a_mysql_password_never_shows(bridge_command: str, tmp_path: Path) -> None:
    env = clean_environ(
        DB_CONNECTION="mysql", DB_HOST="127.0.0.1", DB_PORT="1", DB_PASSWORD="hunter2"
    )
    (tmp_path / "noop.py").write_text("from bridge.worker import App\napp = App()\n")
    result = run([bridge_command, "flush"], tmp_path, env=env)
    assert "hunter2" not in result.stdout + result.stderr


# --- the demo's sandbox ------------------------------------------------------------------


def test_the_demo_inside_a_laravel_project_leaves_its_database_alone(
    bridge_command: str, tmp_path: Path
) -> None:
    database = _laravel_sqlite(tmp_path)
    (tmp_path / ".env").write_text(f"DB_CONNECTION=sqlite\nDB_DATABASE={database}\n")
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    sandbox = tmp_path / "tmp"
    sandbox.mkdir()

    demo = run([bridge_command, "demo"], tmp_path, env=clean_environ(TMPDIR=str(sandbox)))

    assert demo.returncode == 0, demo.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from failed_jobs").fetchone() == (0,)
        assert db.execute("select count(*) from jobs").fetchone() == (0,)
    assert str(database) not in demo.stdout


def test_the_demo_runs_on_a_database_the_user_names(bridge_command: str, tmp_path: Path) -> None:
    named = tmp_path / "mine.sqlite"
    demo = run([bridge_command, "--database", f"sqlite:///{named}", "demo"], tmp_path)
    assert demo.returncode == 0, demo.stderr
    with sqlite3.connect(named) as db:
        assert db.execute("select count(*) from failed_jobs").fetchone() == (1,)


# --- one Error: line instead of a traceback ----------------------------------------------


def test_a_malformed_database_url_is_a_usage_error(bridge_command: str, tmp_path: Path) -> None:
    result = run(
        [bridge_command, "--database", "mysql://root@127.0.0.1:abc/shop", "failed"], tmp_path
    )
    line = assert_one_error_line(result, code=2)
    assert "'--database'" in line and "port that is not a number" in line


def test_a_binary_dotenv_is_one_error_line(bridge_command: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"\xff\xfe\x00\x01binary")
    result = run([bridge_command, "failed"], tmp_path)
    line = assert_one_error_line(result, code=1)
    assert ".env is not a text .env file" in line and "--env-file" in line


def test_stubs_into_a_missing_folder_is_a_usage_error(bridge_command: str, tmp_path: Path) -> None:
    (tmp_path / "Jobs").mkdir()
    result = run(
        [bridge_command, "stubs", str(tmp_path / "Jobs"), "-o", "missing/php_classes.py"],
        tmp_path,
    )
    line = assert_one_error_line(result, code=2)
    assert "'-o' / '--output'" in line and "mkdir -p missing" in line


def test_an_app_module_with_a_syntax_error_is_a_usage_error(
    bridge_command: str, tmp_path: Path
) -> None:
    (tmp_path / "broken.py").write_text("def (\n")
    result = run([bridge_command, "work", "--app", "broken:app", "--once"], tmp_path)
    line = assert_one_error_line(result, code=2)
    assert "'--app'" in line and "broken.py, line 1" in line


# --- option values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["work", "--app", "noop:app", "--stop-when-empty", "--backoff", "abc"], "'--backoff'"),
        (["work", "--app", "noop:app", "--stop-when-empty", "--laravel", "banana"], "'--laravel'"),
        (["work", "--app", "noop:app", "--stop-when-empty", "--queue", "a,,b"], "'--queue'"),
        (["dispatch", "App\\Jobs\\X", "--delay", "-5"], "'--delay'"),
    ],
    ids=["backoff", "laravel", "queue", "delay"],
)
def test_a_wrong_option_value_is_refused(
    bridge_command: str, tmp_path: Path, args: list[str], option: str
) -> None:
    (tmp_path / "noop.py").write_text("from bridge.worker import App\napp = App()\n")
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    result = run([bridge_command, *args], tmp_path)
    line = assert_one_error_line(result, code=2)
    assert option in line
    with sqlite3.connect(tmp_path / "bridge.sqlite") as db:
        assert db.execute("select count(*) from jobs").fetchone() == (0,)


def test_database_works_after_the_command_name(bridge_command: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite'}"
    assert run([bridge_command, "migrate", "--database", url], tmp_path).returncode == 0
    listed = run([bridge_command, "failed", "--json", "--database", url], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert not (tmp_path / "bridge.sqlite").exists()


def _failed_rows(database: Path, count: int) -> None:
    with sqlite3.connect(database) as db:
        for n in range(1, count + 1):
            payload = json.dumps(
                {"uuid": f"u-{n}", "displayName": "App\\Jobs\\X", "job": "x", "data": {}}
            )
            db.execute(
                "insert into failed_jobs (id, uuid, connection, queue, payload, exception,"
                " failed_at) values (?, ?, 'database', 'default', ?, 'E', '2026-11-01 00:00:00')",
                (n, f"u-{n}", payload),
            )


def test_repeated_ranges_add_up(bridge_command: str, tmp_path: Path) -> None:
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    _failed_rows(tmp_path / "bridge.sqlite", 7)

    listed = run([bridge_command, "failed", "--range", "1-3", "--range", "5-6", "--json"], tmp_path)

    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == [6, 5, 3, 2, 1]


# --- prompts -----------------------------------------------------------------------------


def test_a_named_id_is_retried_without_a_prompt(bridge_command: str, tmp_path: Path) -> None:
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    _failed_rows(tmp_path / "bridge.sqlite", 2)

    result = run([bridge_command, "retry-failed", "2"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Moved 1 job(s)" in result.stdout


def test_a_sweep_without_a_terminal_says_to_pass_yes(bridge_command: str, tmp_path: Path) -> None:
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    _failed_rows(tmp_path / "bridge.sqlite", 2)

    result = run([bridge_command, "retry-failed", "all"], tmp_path)

    line = assert_one_error_line(result, code=1)
    assert "pass --yes" in line and "Aborted" not in result.stderr
    with sqlite3.connect(tmp_path / "bridge.sqlite") as db:
        assert db.execute("select count(*) from failed_jobs").fetchone() == (2,)


def test_a_prompt_names_the_database(bridge_command: str, tmp_path: Path) -> None:
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    _failed_rows(tmp_path / "bridge.sqlite", 2)

    result = run([bridge_command, "flush"], tmp_path, input="n\n")

    assert result.returncode == 1
    assert f"Delete all failed jobs in sqlite:///{tmp_path / 'bridge.sqlite'}" in result.stderr
    assert "(from sqlite default)?" in result.stderr
    assert "Nothing deleted." in result.stderr


def test_the_app_module_can_sit_next_to_the_stubs_output(
    bridge_command: str, tmp_path: Path
) -> None:
    # The README's layout: myjobs.py (handlers) beside php_classes.py (from `bridge stubs`).
    (tmp_path / "php_classes.py").write_text(
        textwrap.dedent(
            """
            from bridge.laravel.classes import JobClass, Prop
            from bridge.php import Visibility

            SendWelcomeEmail = JobClass(
                name="App\\\\Jobs\\\\SendWelcomeEmail",
                properties=(Prop("email", Visibility.PUBLIC, "string"),),
            )
            """
        )
    )
    (tmp_path / "myjobs.py").write_text(
        textwrap.dedent(
            """
            from bridge.worker import App
            from php_classes import SendWelcomeEmail

            app = App()

            @app.handler(SendWelcomeEmail.name)
            def send(job):
                print("sent to", job["email"])
            """
        )
    )
    assert run([bridge_command, "migrate"], tmp_path).returncode == 0
    sent = run(
        [
            bridge_command,
            "dispatch",
            "App\\Jobs\\SendWelcomeEmail",
            "--set",
            "email=a@b.c",
            "--declarations",
            "php_classes",
        ],
        tmp_path,
    )
    assert sent.returncode == 0, sent.stderr
    worked = run([bridge_command, "work", "--app", "myjobs:app", "--stop-when-empty"], tmp_path)
    assert worked.returncode == 0, worked.stderr
    assert "sent to a@b.c" in worked.stdout
