"""Shared fixtures: real PHP, real databases, each isolated per test session.

A test that needs PHP or a database *skips* on a developer machine that lacks it, and
*fails* when `CI=true`, so CI can never pass by silently testing less.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bridge.php import _accel
from tests.support import sanitized

# Under the sanitizer run (tests/unit/php_accelerators/test_sanitizers.py), the codec's C
# accelerators are the build with AddressSanitizer and UBSan.
SANITIZED = sanitized.install_from_env()

ROOT = Path(__file__).resolve().parent.parent
PHP_FIXTURES = ROOT / "php_fixtures"
VECTORS = Path(__file__).resolve().parent / "vectors"
LARAVEL_AUTOLOAD = Path("/usr/share/php/Illuminate/autoload.php")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

MYSQL_URL = os.environ.get(
    "BRIDGE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
)
POSTGRES_URL = os.environ.get(
    "BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if IN_CI else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header() -> str | None:
    return f"codec accelerators: sanitized build in {SANITIZED}" if SANITIZED else None


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a missing peer must never pass silently there."""
    if IN_CI:
        pytest.fail(f"required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module", params=["accelerated", "pure-python"])
def codec_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each of the codec's two paths in turn, for a whole test module.

    "accelerated": `loads`/`dumps` take the C fast paths and fall back to the Python codec
    for what those leave. "pure-python": the Python codec alone. Both must give the same
    values and the same errors.
    """
    if request.param == "pure-python":
        with pure_python_codec():
            yield request.param
        return
    if _accel.c_decode is None or _accel.c_encode is None:
        unavailable("the codec's C accelerators are not built (they need a C compiler)")
    yield request.param


@contextmanager
def pure_python_codec() -> Iterator[None]:
    """The C accelerators switched off for the duration."""
    saved = (_accel.c_decode, _accel.c_encode)
    _accel.c_decode = _accel.c_encode = None
    try:
        yield
    finally:
        _accel.c_decode, _accel.c_encode = saved


@pytest.fixture(scope="session")
def bridge_command() -> str:
    """The `bridge` console script installed next to this interpreter."""
    local = Path(sys.executable).with_name("bridge")
    found = str(local) if local.exists() else shutil.which("bridge")
    if found is None:
        pytest.fail("the bridge command is not installed (pip install -e .)")
    return found


@pytest.fixture(scope="session")
def php_binary() -> str:
    """Path of the php CLI."""
    path = shutil.which("php")
    if path is None:
        unavailable("php is not installed")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def laravel(php_binary: str) -> Path:
    """Debian's Laravel 8 autoloader, checked to load."""
    if not LARAVEL_AUTOLOAD.exists():
        unavailable(f"Laravel is not installed at {LARAVEL_AUTOLOAD}")
    probe = subprocess.run(
        [php_binary, "-r", f"require '{LARAVEL_AUTOLOAD}'; echo 'ok';"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.stdout.strip() != "ok":
        unavailable(f"Laravel does not load: {probe.stderr.strip()[:300]}")
    return LARAVEL_AUTOLOAD


def _server_database(base_url: str, dialect: str) -> Iterator[str]:
    """Create a throwaway database on a server so parallel runs never share tables."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"bridge_t_{uuid.uuid4().hex[:12]}"
    url = make_url(base_url)
    try:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            if dialect == "mysql":
                conn.exec_driver_sql(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            else:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        unavailable(f"{dialect} server at {url.render_as_string(hide_password=True)}: {exc}")
        raise
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if dialect == "mysql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
            else:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """URL of a fresh MariaDB/MySQL database for this session."""
    yield from _server_database(MYSQL_URL, "mysql")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session."""
    yield from _server_database(POSTGRES_URL, "postgresql")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'queue.sqlite'}"


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each of the three databases Laravel's database queue supports, in turn."""
    name = request.param
    if name == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue(f"{name}_url"))
