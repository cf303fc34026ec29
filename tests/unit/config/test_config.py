"""Settings resolution: explicit URL, then a Laravel .env, then the SQLite default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import database_url_from_laravel, parse_dotenv, resolve_settings
from bridge.exceptions import ConfigError

LARAVEL_ENV = """\
APP_NAME=Laravel
APP_KEY=base64:Dp3HhO7l4BO2i0GCAnhvgKcvWHMq3wUJNFp0ObptVoQ=
# the database
DB_CONNECTION=mysql
DB_HOST=db.internal
DB_PORT=3307
DB_DATABASE=shop
DB_USERNAME=app
DB_PASSWORD="p@ss word#1"
QUEUE_CONNECTION=database  # workers use the database driver
DB_QUEUE_TABLE=queue_jobs
DB_QUEUE_RETRY_AFTER=120
export APP_TIMEZONE='Europe/Paris'
MAIL_FROM="${APP_NAME} <noreply@example.com>"
"""


def test_parse_dotenv_handles_quotes_comments_export_and_interpolation() -> None:
    env = parse_dotenv(LARAVEL_ENV)
    assert env["DB_PASSWORD"] == "p@ss word#1"
    assert env["QUEUE_CONNECTION"] == "database"
    assert env["APP_TIMEZONE"] == "Europe/Paris"
    assert env["MAIL_FROM"] == "Laravel <noreply@example.com>"


def test_parse_dotenv_rejects_garbage_with_line_number() -> None:
    with pytest.raises(ConfigError, match="line 2"):
        parse_dotenv("A=1\nthis is not an assignment\n")


def test_laravel_env_maps_to_settings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    settings = resolve_settings(database_url=None, cwd=tmp_path, environ={})
    assert settings.database_url == (
        "mysql+pymysql://app:p%40ss%20word%231@db.internal:3307/shop?charset=utf8mb4"
    )
    assert settings.jobs_table == "queue_jobs"
    assert settings.retry_after_seconds == 120
    assert settings.app_key is not None and settings.app_key.startswith("base64:")
    assert settings.timezone == "Europe/Paris"


def test_explicit_url_wins_but_keeps_env_app_key(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(LARAVEL_ENV)
    settings = resolve_settings(database_url="sqlite:///x.db", cwd=tmp_path, environ={})
    assert settings.database_url == "sqlite:///x.db"
    assert settings.app_key is not None
    assert settings.jobs_table == "queue_jobs"


def test_sqlite_default_without_env(tmp_path: Path) -> None:
    settings = resolve_settings(database_url=None, cwd=tmp_path, environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'bridge.sqlite'}"
    assert settings.source == "sqlite default"


def test_sqlite_relative_path_is_relative_to_the_app(tmp_path: Path) -> None:
    url = database_url_from_laravel(
        {"DB_CONNECTION": "sqlite", "DB_DATABASE": "database/app.sqlite"}, base_dir=tmp_path
    )
    assert url == f"sqlite:///{tmp_path / 'database/app.sqlite'}"


def test_unsupported_queue_connection_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("QUEUE_CONNECTION=sqs\n")
    with pytest.raises(ConfigError, match="database and redis queues"):
        resolve_settings(database_url=None, cwd=tmp_path, environ={})


def test_laravel_version_comes_from_the_environment(tmp_path: Path) -> None:
    settings = resolve_settings(
        database_url=None, cwd=tmp_path, environ={"BRIDGE_LARAVEL_VERSION": "10"}
    )
    assert settings.laravel_version == "10"
    assert resolve_settings(database_url=None, cwd=tmp_path, environ={}).laravel_version is None


def test_bridges_own_variables_are_read_from_the_apps_env_file_too(tmp_path: Path) -> None:
    # Found from outside: BRIDGE_LARAVEL_VERSION written into .env beside Laravel's own
    # settings was ignored, and payloads were written for the newest Laravel instead.
    (tmp_path / ".env").write_text(
        "DB_CONNECTION=sqlite\nDB_DATABASE=app.sqlite\n"
        "BRIDGE_LARAVEL_VERSION=8\nBRIDGE_DIALECT=so\n"
    )
    settings = resolve_settings(database_url=None, cwd=tmp_path, environ={})
    assert (settings.laravel_version, settings.dialect) == ("8", "so")
    explicit = resolve_settings(database_url="sqlite:///other.db", cwd=tmp_path, environ={})
    assert (explicit.laravel_version, explicit.dialect) == ("8", "so")
    # The environment wins over the file, as for Laravel's own variables.
    ours = resolve_settings(
        database_url=None, cwd=tmp_path, environ={"BRIDGE_LARAVEL_VERSION": "12.11"}
    )
    assert ours.laravel_version == "12.11"


def test_the_restart_signal_is_looked_for_under_each_laravel_default_cache_prefix(
    tmp_path: Path,
) -> None:
    # Found from outside: Laravel 13's config/cache.php defaults CACHE_PREFIX to
    # Str::slug(APP_NAME).'-cache-' ("my-app-cache-"), and bridge looked only under the
    # underscored defaults of 8 to 12, so queue:restart on a Laravel 13 app with the default
    # configuration never reached bridge's workers, nor bridge restart its workers.
    (tmp_path / ".env").write_text("APP_NAME='My App'\nDB_CONNECTION=sqlite\n")
    settings = resolve_settings(database_url=None, cwd=tmp_path, environ={})
    assert settings.cache_prefixes == ("my_app_cache", "my_app_cache_", "my-app-cache-")
    (tmp_path / ".env").write_text("DB_CONNECTION=sqlite\nCACHE_PREFIX=shop\n")
    assert resolve_settings(database_url=None, cwd=tmp_path, environ={}).cache_prefixes == ("shop",)
