"""Which failed jobs a command means: identifiers, `--range` and filters as a `FailedJobFilter`.

Identifiers follow `queue:retry`: a number is a `failed_jobs.id`, anything else a uuid, the
word `all` means every failed job, and explicit ids, uuids and one range add up. Filters
(queue, connection, command name, exception text, failed_at window) narrow whatever the
identifiers chose; `limit` caps the count, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bridge.admin._time import parse_moment
from bridge.queue.base import FailedJobFilter, FailedJobRecord, FailedJobStore

__all__ = ["Selection", "in_given_order", "missing_identifiers", "parse_range", "select_failed"]

ALL = "all"


def parse_range(text: str) -> tuple[int, int]:
    """Read `10-20` as the inclusive id range (10, 20).

    Raises:
        ValueError: Not two ascending non-negative integers joined by `-`.
    """
    low, sep, high = text.strip().partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f"{text!r} is not a range like 10-20")
    first, last = int(low), int(high)
    if first > last:
        raise ValueError(f"{text!r} runs backwards")
    return first, last


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """A command line's choice of failed jobs, before it is turned into a filter."""

    identifiers: tuple[str, ...] = ()
    id_range: str | None = None
    #: Further `--range` values: every range adds its ids, as the identifiers do.
    more_ranges: tuple[str, ...] = ()
    queue: str | None = None
    connection: str | None = None
    command_name: str | None = None
    exception_contains: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None

    @property
    def selects_all(self) -> bool:
        """Whether the identifiers include the word `all`."""
        return any(i.lower() == ALL for i in self.identifiers)

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all was named (no identifier, range or filter)."""
        return not (
            self.identifiers
            or self.id_range
            or self.more_ranges
            or self.queue is not None
            or self.connection is not None
            or self.command_name
            or self.exception_contains
            or self.since
            or self.until
        )

    def to_filter(self, *, now: int, timezone: str) -> FailedJobFilter:
        """The storage filter; `now` and `timezone` resolve `--since 2h` and ISO times.

        Raises:
            ValueError: An identifier, range, time or limit is malformed.
        """
        ids: list[int] = []
        uuids: list[str] = []
        if not self.selects_all:
            for identifier in self.identifiers:
                text = identifier.strip()
                if not text:
                    raise ValueError("an empty id or uuid")
                if text.isdigit():
                    ids.append(int(text))
                else:
                    uuids.append(text)
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, not {self.limit}")
        return FailedJobFilter(
            ids=tuple(ids),
            uuids=tuple(uuids),
            id_range=(
                parse_range(self.id_range) if self.id_range and not self.selects_all else None
            ),
            queue=self.queue,
            connection=self.connection,
            command_name=self.command_name,
            exception_contains=self.exception_contains or None,
            failed_since=(
                parse_moment(self.since, now=now, timezone=timezone) if self.since else None
            ),
            failed_until=(
                parse_moment(self.until, now=now, timezone=timezone) if self.until else None
            ),
            limit=self.limit,
        )

    def ranges(self) -> tuple[tuple[int, int], ...]:
        """Every `--range` as inclusive id bounds, in the order given (none with `all`).

        Raises:
            ValueError: A range is malformed.
        """
        if self.selects_all:
            return ()
        texts = (self.id_range, *self.more_ranges) if self.id_range else self.more_ranges
        return tuple(parse_range(text) for text in texts)

    def to_filters(self, *, now: int, timezone: str) -> tuple[FailedJobFilter, ...]:
        """One storage filter per `--range` (the first also carries the ids and uuids); the
        rows they select together are what the command line named (`select_failed`).

        Raises:
            ValueError: An identifier, range, time or limit is malformed.
        """
        first = self.to_filter(now=now, timezone=timezone)
        if self.selects_all:
            return (first,)
        more = tuple(
            replace(first, ids=(), uuids=(), id_range=parse_range(text))
            for text in self.more_ranges
        )
        return (first, *more)


def select_failed(
    store: FailedJobStore, filters: tuple[FailedJobFilter, ...]
) -> list[FailedJobRecord]:
    """The rows any of `filters` selects, once each, newest first, within the first's limit."""
    if len(filters) == 1:
        return list(store.select(filters[0]))
    found: dict[int, FailedJobRecord] = {}
    for wanted in filters:
        for record in store.select(wanted):
            found.setdefault(record.id, record)
    records = sorted(found.values(), key=lambda r: r.id, reverse=True)
    limit = filters[0].limit
    return records[:limit] if limit else records


def missing_identifiers(
    selection: FailedJobFilter, found: Iterable[FailedJobRecord]
) -> tuple[str, ...]:
    """The explicitly named ids and uuids that no selected record carries, in the given order.

    A range is not checked: `--range 10-20` names whatever exists between the bounds.
    """
    seen_ids: set[int] = set()
    seen_uuids: set[str] = set()
    for record in found:
        seen_ids.add(record.id)
        if record.uuid is not None:
            seen_uuids.add(record.uuid)
    missing: list[str] = [str(i) for i in selection.ids if i not in seen_ids]
    missing += [u for u in selection.uuids if u not in seen_uuids]
    return tuple(missing)


def in_given_order(
    identifiers: Sequence[str],
    records: Iterable[FailedJobRecord],
    id_ranges: Sequence[tuple[int, int]] = (),
) -> list[FailedJobRecord]:
    """`records` in `queue:retry`'s order: the ones named by id or uuid first, as they were
    named (`queue:retry 5 3` pushes 5, then 3), then those of each `--range` in the order
    the ranges were given, each by ascending id, then the rest (`all`, filters) as they
    came (newest first)."""
    position: dict[str, int] = {}
    for index, identifier in enumerate(identifiers):
        position.setdefault(identifier.strip(), index)
    unnamed = len(position)

    def rank(record: FailedJobRecord) -> tuple[int, int, int]:
        by_id = position.get(str(record.id), unnamed)
        by_uuid = position.get(record.uuid, unnamed) if record.uuid is not None else unnamed
        named = min(by_id, by_uuid)
        if named < unnamed:
            return 0, named, 0
        for index, (low, high) in enumerate(id_ranges):
            if low <= record.id <= high:
                return 1, index, record.id
        return 2, 0, 0

    return sorted(records, key=rank)  # stable: the rest keep their order
