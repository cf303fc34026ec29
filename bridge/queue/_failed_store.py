"""`DatabaseFailedJobStore`: the `failed_jobs` table in either layout.

The layout (with or without `uuid`) is read from the database once, on first use. Rows are
written as Laravel's `queue:work` writes them: payload untouched, `failed_at` the naive
local time the caller passes, truncated to whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.queue._engine import install_sqlite_locking
from bridge.queue._errors import retrying
from bridge.queue._filters import matches
from bridge.queue.base import FailedJobFilter, FailedJobRecord
from bridge.queue.schema import inspect_failed_layout, make_failed_jobs_table

_PAGE = 500
_PRUNE_CHUNK = 1000


class DatabaseFailedJobStore:
    """Laravel's `database-uuids` (or, without `uuid`, `database`) failed-job provider."""

    def __init__(self, *, engine: Engine, table: str = "failed_jobs") -> None:
        """Bind the store to a table; the layout is inspected on first use.

        Args:
            engine: Preferably from `create_engine_for`.
            table: The `failed_jobs` table name (`queue.failed.table`).
        """
        install_sqlite_locking(engine)
        self.engine = engine
        self.table_name = table
        self._table: sa.Table | None = None

    @property
    def has_uuid(self) -> bool:
        """Whether the table has Laravel 8's `uuid` column."""
        return "uuid" in self.table.c

    @property
    def table(self) -> sa.Table:
        """The table, built to match the layout found in the database."""
        if self._table is None:
            uuid = retrying(
                lambda: inspect_failed_layout(self.engine, self.table_name), idempotent=True
            )
            self._table = make_failed_jobs_table(sa.MetaData(), self.table_name, uuid=uuid)
        return self._table

    def log(
        self,
        *,
        uuid: str | None,
        connection: str,
        queue: str,
        payload: str,
        exception: str,
        failed_at: datetime,
    ) -> int:
        """Insert a failed job as Laravel's worker does and return its id.

        `uuid` is ignored in the id-only layout. Not retried after a lost connection: with a
        uuid the unique index would reject the second insert, without one it would duplicate.
        """
        insert = self.insert_statement(uuid, connection, queue, payload, exception, failed_at)

        def run() -> int:
            with self.engine.begin() as conn:
                return inserted_id(conn.execute(insert))

        return retrying(run, idempotent=False)

    def insert_statement(
        self,
        uuid: str | None,
        connection: str,
        queue: str,
        payload: str,
        exception: str,
        failed_at: datetime,
    ) -> sa.Insert:
        """The INSERT of one failed row (`uuid` dropped in the id-only layout)."""
        values: dict[str, Any] = {
            "connection": connection,
            "queue": queue,
            "payload": _stored_text(payload, self.engine),
            "exception": exception,
            "failed_at": failed_at.replace(microsecond=0, tzinfo=None),
        }
        if self.has_uuid:
            values["uuid"] = uuid
        return self.table.insert().values(**values)

    def _where_key(self, id_or_uuid: int | str) -> sa.ColumnElement[bool]:
        c = self.table.c
        if isinstance(id_or_uuid, int):
            return c.id == id_or_uuid
        if not self.has_uuid:
            # The id-only layout names rows by number, also when the number came as text.
            return c.id == int(id_or_uuid) if id_or_uuid.isdigit() else sa.false()
        return c.uuid == id_or_uuid

    def find(self, id_or_uuid: int | str) -> FailedJobRecord | None:
        """Look a failed job up by id or uuid."""
        query = sa.select(self.table).where(self._where_key(id_or_uuid))

        def run() -> FailedJobRecord | None:
            with self.engine.begin() as conn:
                row = conn.execute(query).first()
            return None if row is None else self._record(row)

        return retrying(run, idempotent=True)

    def _record(self, row: sa.Row[Any]) -> FailedJobRecord:
        m = row._mapping
        failed_at = m["failed_at"]
        if isinstance(failed_at, str):  # a SQLite value in a format SQLAlchemy did not parse
            failed_at = datetime.fromisoformat(failed_at)
        return FailedJobRecord(
            id=int(m["id"]),
            uuid=m["uuid"] if self.has_uuid else None,
            connection=m["connection"],
            queue=m["queue"],
            payload=m["payload"],
            exception=m["exception"],
            failed_at=failed_at,
        )

    def _coarse_where(self, selection: FailedJobFilter) -> list[sa.ColumnElement[bool]]:
        # A superset of the matching rows; `matches` decides exactly afterwards.
        c = self.table.c
        where: list[sa.ColumnElement[bool]] = []
        wanted: list[sa.ColumnElement[bool]] = []
        if selection.ids:
            wanted.append(c.id.in_(selection.ids))
        if selection.uuids and self.has_uuid:
            wanted.append(c.uuid.in_(selection.uuids))
        if selection.id_range is not None:
            wanted.append(c.id.between(*selection.id_range))
        if selection.ids or selection.uuids or selection.id_range is not None:
            where.append(sa.or_(sa.false(), *wanted))
        if selection.queue is not None:
            where.append(c.queue == selection.queue)
        if selection.connection is not None:
            where.append(c.connection == selection.connection)
        if selection.exception_contains:
            where.append(c.exception.contains(selection.exception_contains, autoescape=True))
        if selection.failed_since is not None:
            where.append(c.failed_at >= selection.failed_since)
        if selection.failed_until is not None:
            where.append(c.failed_at <= selection.failed_until)
        if selection.command_name:
            short = selection.command_name.rsplit("\\", 1)[-1]
            if short.isascii():  # older payloads \u-escape non-ASCII, so only ASCII narrows
                where.append(c.payload.contains(short, autoescape=True))
        return where

    def select(self, selection: FailedJobFilter) -> Iterator[FailedJobRecord]:
        """Failed jobs matching `selection`, newest (highest id) first.

        Reads in pages of a few hundred rows, each in its own short transaction, so a long
        listing never holds a connection between pages.
        """
        where = self._coarse_where(selection)
        remaining = selection.limit
        before: int | None = None
        while remaining is None or remaining > 0:
            query = (
                sa.select(self.table).where(*where).order_by(self.table.c.id.desc()).limit(_PAGE)
            )
            if before is not None:
                query = query.where(self.table.c.id < before)

            def page(query: sa.Select[Any] = query) -> list[sa.Row[Any]]:
                with self.engine.begin() as conn:
                    return list(conn.execute(query).all())

            rows = retrying(page, idempotent=True)
            for row in rows:
                record = self._record(row)
                if matches(record, selection):
                    yield record
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            return
            if len(rows) < _PAGE:
                return
            before = int(rows[-1]._mapping["id"])

    def forget(self, id_or_uuid: int | str) -> bool:
        """Delete one failed job; False when there was none."""
        statement = self.table.delete().where(self._where_key(id_or_uuid))

        def run() -> bool:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount > 0

        return retrying(run, idempotent=True)

    def flush(self, *, older_than: datetime | None = None) -> int:
        """Delete all failed jobs, or those failed at or before `older_than` (`queue:flush`)."""
        statement = self.table.delete()
        if older_than is not None:
            statement = statement.where(self.table.c.failed_at <= older_than)

        def run() -> int:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount

        return retrying(run, idempotent=True)

    def prune(self, *, before: datetime) -> int:
        """Delete failed jobs failed before `before`, 1000 rows per statement, as Laravel does."""
        t = self.table
        old = t.c.failed_at < before
        if self.engine.dialect.name in {"mysql", "mariadb"}:
            statement = t.delete().where(old).with_dialect_options(mysql_limit=_PRUNE_CHUNK)
        else:
            chunk = sa.select(t.c.id).where(old).limit(_PRUNE_CHUNK).scalar_subquery()
            statement = t.delete().where(t.c.id.in_(chunk))

        def run() -> int:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount

        total = 0
        while deleted := retrying(run, idempotent=True):
            total += deleted
        return total


def inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _stored_text(payload: str, engine: Engine) -> str | sa.ColumnElement[str]:
    """The payload as the INSERT takes it. A payload read from SQLite whose bytes are not
    UTF-8 carries them as lone surrogates (`DatabaseQueue.reserve`): it is written back as
    those very bytes, cast to TEXT (SQLite keeps a cast blob's bytes as they are)."""
    if payload.isascii() or engine.dialect.name != "sqlite":
        return payload
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:
        raw = payload.encode("utf-8", "surrogateescape")
        return sa.cast(sa.literal(raw, sa.LargeBinary), sa.Text)
    return payload
