"""Laravel's queue tables as SQLAlchemy Core tables, column for column per database.

The factories mirror the migration stubs Laravel 8-12 ships for `jobs`, `failed_jobs` (with
or without the `uuid` column) and `job_batches`, so tables bridge creates are the tables
`php artisan migrate` would have created: `bigint unsigned` ids and `tinyint unsigned`
attempts on MySQL, `bigserial` and `smallint` on PostgreSQL, `integer primary key
autoincrement` on SQLite, index names `{table}_queue_index` / `{table}_uuid_unique`.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.schema import SchemaItem

from bridge.exceptions import SchemaError
from bridge.queue._errors import wrap_exceptions

__all__ = [
    "has_table",
    "inspect_failed_layout",
    "make_batches_table",
    "make_failed_jobs_table",
    "make_jobs_table",
    "migrate",
]

# Laravel's schema builder gives MySQL tables the connection's charset and collation; the
# skeleton's are these, and 4-byte UTF-8 in payloads needs utf8mb4.
_CHARSET, _COLLATE = "utf8mb4", "utf8mb4_unicode_ci"

# `failed_at` is written as PHP's `Y-m-d H:i:s`; SQLAlchemy's SQLite default would append
# microseconds, which Laravel's own readers do not expect.
_SQLITE_SECONDS = sqlite.DATETIME(  # type: ignore[no-untyped-call]
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
)


def _big_id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger()
        .with_variant(mysql.BIGINT(unsigned=True), "mysql", "mariadb")
        .with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def _varchar() -> sa.types.TypeEngine[str]:
    # Laravel's SQLite grammar writes a bare `varchar`, the others `varchar(255)`.
    return sa.String(255).with_variant(sa.String(), "sqlite")


def _long_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _unsigned_int() -> sa.types.TypeEngine[int]:
    return sa.Integer().with_variant(mysql.INTEGER(unsigned=True), "mysql", "mariadb")


def make_jobs_table(metadata: sa.MetaData, name: str = "jobs") -> sa.Table:
    """The `jobs` table of Laravel's database queue driver."""
    return sa.Table(
        name,
        metadata,
        _big_id(),
        sa.Column("queue", _varchar(), nullable=False),
        sa.Column("payload", _long_text(), nullable=False),
        sa.Column(
            "attempts",
            sa.SmallInteger()
            .with_variant(mysql.TINYINT(unsigned=True), "mysql", "mariadb")
            .with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("reserved_at", _unsigned_int(), nullable=True),
        sa.Column("available_at", _unsigned_int(), nullable=False),
        sa.Column("created_at", _unsigned_int(), nullable=False),
        sa.Index(f"{name}_queue_index", "queue"),
        sqlite_autoincrement=True,
        mysql_charset=_CHARSET,
        mysql_collate=_COLLATE,
    )


def make_failed_jobs_table(
    metadata: sa.MetaData, name: str = "failed_jobs", *, uuid: bool = True
) -> sa.Table:
    """The `failed_jobs` table; `uuid=False` gives the id-only layout of Laravel 7 apps."""
    columns: list[SchemaItem] = [_big_id()]
    if uuid:
        columns.append(sa.Column("uuid", _varchar(), nullable=False))
        # MySQL and PostgreSQL get a named unique constraint, SQLite a unique index: each
        # what Laravel's grammar for that database emits for `->unique()`.
        columns.append(
            sa.UniqueConstraint("uuid", name=f"{name}_uuid_unique").ddl_if(
                # A tuple of dialect names is documented; the stub only admits a str.
                dialect=("mysql", "mariadb", "postgresql")  # type: ignore[arg-type]
            )
        )
        columns.append(
            sa.Index(f"{name}_uuid_unique", "uuid", unique=True).ddl_if(dialect="sqlite")
        )
    columns += [
        sa.Column("connection", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("payload", _long_text(), nullable=False),
        sa.Column("exception", _long_text(), nullable=False),
        sa.Column(
            "failed_at",
            sa.TIMESTAMP()
            .with_variant(postgresql.TIMESTAMP(precision=0), "postgresql")
            .with_variant(_SQLITE_SECONDS, "sqlite"),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
    ]
    return sa.Table(
        name,
        metadata,
        *columns,
        sqlite_autoincrement=True,
        mysql_charset=_CHARSET,
        mysql_collate=_COLLATE,
    )


def make_batches_table(metadata: sa.MetaData, name: str = "job_batches") -> sa.Table:
    """The `job_batches` table of Laravel's job batching (9.44+ stub: longtext ids)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", _varchar(), primary_key=True),
        sa.Column("name", _varchar(), nullable=False),
        sa.Column("total_jobs", sa.Integer(), nullable=False),
        sa.Column("pending_jobs", sa.Integer(), nullable=False),
        sa.Column("failed_jobs", sa.Integer(), nullable=False),
        sa.Column("failed_job_ids", _long_text(), nullable=False),
        sa.Column(
            "options", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=True
        ),
        sa.Column("cancelled_at", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.Integer(), nullable=True),
        mysql_charset=_CHARSET,
        mysql_collate=_COLLATE,
    )


def has_table(engine: Engine, name: str) -> bool:
    """Whether the database has a table called `name`."""
    with wrap_exceptions():
        return sa.inspect(engine).has_table(name)


def inspect_failed_layout(engine: Engine, table: str = "failed_jobs") -> bool:
    """Whether `table` has Laravel 8's `uuid` column.

    Raises:
        SchemaError: The table does not exist.
    """
    with wrap_exceptions():
        inspector = sa.inspect(engine)
        if not inspector.has_table(table):
            raise SchemaError(f"table {table!r} does not exist; run `bridge migrate`")
        return any(c["name"] == "uuid" for c in inspector.get_columns(table))


def migrate(
    engine: Engine,
    *,
    jobs_table: str = "jobs",
    failed_table: str = "failed_jobs",
    batches_table: str = "job_batches",
    failed_uuid: bool = True,
) -> list[str]:
    """Create whichever of the three queue tables are missing.

    Existing tables are left exactly as they are (an id-only `failed_jobs` is not upgraded).
    Processes that start at once (a `--concurrency` pool, workers on several hosts) may all
    migrate: a table another one created first counts as existing.

    Returns:
        The names of the tables created here, in creation order.
    """
    metadata = sa.MetaData()
    wanted = [
        make_jobs_table(metadata, jobs_table),
        make_failed_jobs_table(metadata, failed_table, uuid=failed_uuid),
        make_batches_table(metadata, batches_table),
    ]
    with wrap_exceptions():
        return [table.name for table in wanted if _create_if_missing(engine, table)]


def _create_if_missing(engine: Engine, table: sa.Table) -> bool:
    """Create `table` in a transaction of its own; False if it exists, also when another
    process created it between the check and the CREATE (which then fails here)."""
    with engine.connect() as conn:
        if sa.inspect(conn).has_table(table.name):
            return False
    try:
        with engine.begin() as conn:
            table.create(conn)
    except sa_exc.DBAPIError:
        with engine.connect() as conn:
            if sa.inspect(conn).has_table(table.name):
                return False
        raise
    return True
