"""The SQL text of every `jobs` statement the queue runs, built once per table and dialect.

The worker and the dispatcher run the hot ones thousands of times a second. Passing ready text to
`exec_driver_sql` skips SQLAlchemy's per-call statement construction, cache-key generation
and expanding-IN rendering, which at 64 rows per reservation cost more per job than the
database work. The statements are Laravel's; only the placeholder style and identifier
quoting vary by dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from bridge.queue.base import MAX_STORED_ATTEMPTS, NewJob

__all__ = ["INSERT_COLUMNS", "AheadStatements", "JobStatements"]

INSERT_COLUMNS = ("queue", "attempts", "reserved_at", "available_at", "created_at", "payload")
#: Every column, in the order of `JobRow`'s fields.
ROW_COLUMNS = ("id", "queue", "payload", "attempts", "reserved_at", "available_at", "created_at")
# What `reserve` reads, in the order it unpacks.
_RESERVE_COLUMNS = ("id", "queue", "payload", "attempts", "available_at", "created_at")


class JobStatements:
    """SQL text for one `jobs` table on one dialect."""

    def __init__(self, dialect: Dialect, table: sa.Table) -> None:
        preparer = dialect.identifier_preparer
        self._mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._sqlite = dialect.name == "sqlite"
        self._table = preparer.format_table(table)
        self._q = {name: preparer.quote(name) for name in ROW_COLUMNS}
        self._for_update = "" if self._sqlite else " FOR UPDATE"
        columns = ", ".join(self._q[c] for c in INSERT_COLUMNS)
        self._insert_head = f"INSERT INTO {self._table} ({columns}) VALUES "
        self.returning = dialect.name == "postgresql"
        # On MySQL/MariaDB rows are written into the INSERT as literals (`literal_inserts`).
        self.literal_values = dialect.name in ("mysql", "mariadb")

    def _marks(self, count: int) -> str:
        return ", ".join([self._mark] * count)

    def insert(self, rows: int = 1, *, returning_id: bool = False) -> str:
        """INSERT of `rows` rows, values in `INSERT_COLUMNS` order (with the new id's RETURNING
        clause on PostgreSQL when `returning_id`)."""
        values = ", ".join([f"({self._marks(len(INSERT_COLUMNS))})"] * rows)
        tail = f" RETURNING {self._q['id']}" if returning_id and self.returning else ""
        return f"{self._insert_head}{values}{tail}"

    def copy_in(self) -> str:
        """PostgreSQL's COPY of rows in `INSERT_COLUMNS` order from the client."""
        columns = ", ".join(self._q[c] for c in INSERT_COLUMNS)
        return f"COPY {self._table} ({columns}) FROM STDIN"

    def literal_inserts(
        self, jobs: Iterable[NewJob], *, max_rows: int, max_chars: int
    ) -> Iterator[str]:
        """INSERTs of `jobs` with the values written in, each within `max_rows` rows and
        about `max_chars` characters of SQL (a single larger row goes alone). MySQL only.

        pymysql escapes a str parameter character by character, which for a typical payload
        takes longer than the server spends storing the row. A hex literal costs one
        C-level `bytes.hex()`, stands for exactly those bytes whatever the server's
        `sql_mode` (`NO_BACKSLASH_ESCAPES` included), and leaves the statement pure ASCII
        (no `%` for the driver to format, as nothing is bound).
        """
        head = self._insert_head
        rows: list[str] = []
        size = 0
        for job in jobs:
            row = _literal_row(job)
            if rows and (len(rows) >= max_rows or size + len(row) > max_chars):
                yield head + ", ".join(rows)
                rows, size = [], 0
            rows.append(row)
            size += len(row) + 2
        if rows:
            yield head + ", ".join(rows)

    def literal_insert(self, job: NewJob) -> str:
        """The INSERT of one row with its values written in (see `literal_inserts`)."""
        return self._insert_head + _literal_row(job)

    def reserve(self, *, skip_locked: bool) -> str:
        """Laravel's `getNextAvailableJob`: params queue, now, now - retry_after, limit."""
        lock = " SKIP LOCKED" if skip_locked and self._for_update else ""
        return f"{self.candidates()}{self._for_update}{lock}"

    def _available(self) -> str:
        """Laravel's availability condition: params now, now - retry_after."""
        q, m = self._q, self._mark
        return (
            f"(({q['reserved_at']} IS NULL AND {q['available_at']} <= {m})"
            f" OR {q['reserved_at']} <= {m})"
        )

    def candidates(self) -> str:
        """`reserve` without its lock: the rows it would take, read without locking (see
        `_ahead`); params queue, now, now - retry_after, limit.

        On SQLite the payload is read as bytes (the caller decodes them): a payload that is
        not valid UTF-8 would otherwise fail every reservation that reaches its row.
        """
        q, m = self._q, self._mark
        columns = [q[c] for c in _RESERVE_COLUMNS]
        if self._sqlite:
            columns[_RESERVE_COLUMNS.index("payload")] = f"CAST({q['payload']} AS BLOB)"
        return (
            f"SELECT {', '.join(columns)} FROM {self._table}"
            f" WHERE {q['queue']} = {m} AND {self._available()} ORDER BY {q['id']} LIMIT {m}"
        )

    def _lock_candidates(self) -> tuple[str, str]:
        """Head and tail of the locking SELECT (id, attempts) of candidate ids, which go
        between the two; the tail's params: now, now - retry_after.

        No `queue =` here: a row's queue never changes, and with it the optimizer may scan
        the whole queue through its index instead of looking the ids up.
        """
        q = self._q
        return (
            f"SELECT {q['id']}, {q['attempts']} FROM {self._table} WHERE {q['id']} IN (",
            f") AND {self._available()} ORDER BY {q['id']} FOR UPDATE SKIP LOCKED",
        )

    def reserve_returning(self, *, materialized: bool) -> str:
        """A whole reservation as one PostgreSQL statement, for libpq's own placeholders:
        $1 the finished ids to delete (`bigint[]` text), $2 queue, $3 now, $4 now -
        retry_after, $5 limit. See `_ahead_postgres` for why one statement.

        The finished ids are kept out of the candidates: both parts of the statement read
        the same snapshot, and a finished row whose reservation expired would be both.
        `materialized` (PostgreSQL 12+, where a CTE may be inlined) keeps the locking read
        from running more than once; older servers always materialize a CTE.
        """
        q, table = self._q, self._table
        # The attempts as read plus one, as the other paths count them: a row at the
        # column's limit is not counted further, and must still show that it went past.
        columns = ", ".join(
            f"picked.{q[c]} + 1" if c == "attempts" else f"j.{q[c]}" for c in _RESERVE_COLUMNS
        )
        how = "AS MATERIALIZED" if materialized else "AS"
        return (
            f"WITH done AS (DELETE FROM {table} WHERE {q['id']} = ANY($1::bigint[])),"
            f" picked {how} (SELECT {q['id']}, {q['attempts']} FROM {table}"
            f" WHERE {q['queue']} = $2"
            f" AND (({q['reserved_at']} IS NULL AND {q['available_at']} <= $3)"
            f" OR {q['reserved_at']} <= $4) AND {q['id']} <> ALL($1::bigint[])"
            f" ORDER BY {q['id']} LIMIT $5 FOR UPDATE SKIP LOCKED)"
            f" UPDATE {table} AS j SET {q['reserved_at']} = $3,"
            f" {q['attempts']} = {self._counted('j.' + q['attempts'])} FROM picked"
            f" WHERE j.{q['id']} = picked.{q['id']} RETURNING {columns}"
        )

    def _mark_reserved_parts(self) -> tuple[str, str]:
        """`mark_reserved` as head and tail around the ids; the head's param: now."""
        q = self._q
        return (
            f"UPDATE {self._table} SET {q['reserved_at']} = {self._mark},"
            f" {q['attempts']} = {self._counted(q['attempts'])} WHERE {q['id']} IN (",
            ")",
        )

    @staticmethod
    def _counted(attempts: str) -> str:
        """`attempts + 1`, except at the column's limit (`MAX_STORED_ATTEMPTS`)."""
        limit = MAX_STORED_ATTEMPTS
        return f"CASE WHEN {attempts} < {limit} THEN {attempts} + 1 ELSE {attempts} END"

    def mark_reserved(self, count: int) -> str:
        """Set `reserved_at` and count the attempt on `count` ids: params now, *ids."""
        head, tail = self._mark_reserved_parts()
        return f"{head}{self._marks(count)}{tail}"

    def delete_ids(self, count: int) -> str:
        """DELETE of `count` ids: params *ids."""
        return f"DELETE FROM {self._table} WHERE {self._q['id']} IN ({self._marks(count)})"

    def ahead_mysql(
        self,
        quote: Callable[[str, Any], str],
        *,
        queue: str,
        now: int,
        expired: int,
        limit: int,
        finished: Sequence[int | str],
    ) -> AheadStatements:
        """A reservation ahead on MySQL/MariaDB (`_ahead_mysql`), statement by statement,
        its values written in by `quote` (the PyMySQL cursor's `mogrify`: the driver's own
        quoting, as its `execute` would apply it), since the statements go out whole."""
        lock_head, lock_tail = self._lock_candidates()
        mark_head, mark_tail = self._mark_reserved_parts()
        lock_tail = quote(lock_tail, (now, expired))
        mark_head = quote(mark_head, (now,))
        ids = tuple(finished)
        return AheadStatements(
            delete=quote(self.delete_ids(len(ids)), ids) if ids else None,
            candidates=quote(self.candidates(), (queue, now, expired, limit)),
            lock=lambda id_list: f"{lock_head}{id_list}{lock_tail}",
            mark=lambda id_list: f"{mark_head}{id_list}{mark_tail}",
        )

    def _held(self) -> str:
        """The row of one reservation, still held: params id, reserved_at, attempts."""
        q, m = self._q, self._mark
        return f" WHERE {q['id']} = {m} AND {q['reserved_at']} = {m} AND {q['attempts']} = {m}"

    def unreserve(self) -> str:
        """Undo a reservation still held (`_held`'s params)."""
        q = self._q
        return (
            f"UPDATE {self._table} SET {q['reserved_at']} = NULL,"
            f" {q['attempts']} = {q['attempts']} - 1{self._held()}"
        )

    def release_in_place(self, *, undo_attempt: bool) -> str:
        """Free a held row again: params available_at, then `_held`'s."""
        q = self._q
        attempts = f", {q['attempts']} = {q['attempts']} - 1" if undo_attempt else ""
        return (
            f"UPDATE {self._table} SET {q['reserved_at']} = NULL,"
            f" {q['available_at']} = {self._mark}{attempts}{self._held()}"
        )

    def lock_id(self) -> str:
        """Laravel's release: lock the row by id before deleting it; param id."""
        q = self._q
        return (
            f"SELECT {q['id']} FROM {self._table} WHERE {q['id']} = {self._mark}"
            f" LIMIT 1{self._for_update}"
        )

    def clear(self) -> str:
        """Delete a whole queue: param queue."""
        return f"DELETE FROM {self._table} WHERE {self._q['queue']} = {self._mark}"

    def count(self) -> str:
        """Rows of a queue: param queue."""
        return f"SELECT count(*) FROM {self._table} WHERE {self._q['queue']} = {self._mark}"

    def recent_payloads(self) -> str:
        """The newest rows' payloads: param limit."""
        q = self._q
        return (
            f"SELECT {q['payload']} FROM {self._table} ORDER BY {q['id']} DESC LIMIT {self._mark}"
        )

    def rows(self, *, of_queue: bool) -> str:
        """Every row in id order (`ROW_COLUMNS`); with `of_queue`, param queue."""
        q = self._q
        where = f" WHERE {q['queue']} = {self._mark}" if of_queue else ""
        columns = ", ".join(q[c] for c in ROW_COLUMNS)
        return f"SELECT {columns} FROM {self._table}{where} ORDER BY {q['id']}"


@dataclass(frozen=True, slots=True)
class AheadStatements:
    """The SQL of one reservation ahead on MySQL/MariaDB, values written in where they are
    known up front. `lock` and `mark` take ids (a comma-separated list of integers) and
    return the statement."""

    delete: str | None
    candidates: str
    lock: Callable[[str], str]
    mark: Callable[[str], str]


def _literal_row(job: NewJob) -> str:
    # `:d` refuses anything but an int, so nothing else is ever written in bare.
    return (
        f"(X'{_hex(job.queue)}', {job.attempts:d}, NULL, {job.available_at:d},"
        f" {job.created_at:d}, X'{_hex(job.payload)}')"
    )


def _hex(text: str) -> str:
    # surrogateescape as pymysql encodes its queries: the same bytes reach the server.
    return text.encode("utf-8", "surrogateescape").hex()
