"""Monthly partitions of ``events`` on PostgreSQL, by ``event_time_us`` (microseconds since 1970, UTC).

Each calendar month of 2000–2099 gets its own partition, named after the month, created the first time
an event of that month is captured; events outside those years go to ``events_default``:

>>> partition_for(1_709_287_200_000_000)      # 2024-03-01T10:00:00Z
('events_y2024m03', 1709251200000000, 1711929600000000)
>>> partition_for(0) is None                  # 1970: the default partition
True
>>> months_of([1_709_287_200_000_000, 1_709_287_200_000_001, 0])
['events_y2024m03']

A query with an eventTime range reads only the partitions of those months (partition pruning); one
without reads them all through the parent table, as usual. Partitions are created in a short transaction
of their own, before the capture transaction, so that readers never wait behind the DDL's lock on
``events``; an empty partition left by a failed capture does no harm.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "PartitionManager",
    "likely_months",
    "month_partition",
    "months_of",
    "partition_for",
]

FIRST_YEAR: Final = 2000
"""First year with monthly partitions."""
LAST_YEAR: Final = 2099
"""Last year with monthly partitions; later (and earlier) events go to ``events_default``."""

_LOCK_ID: Final = 0x70617274  # "part": serialises partition creation across processes
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def partition_for(event_time_us: int) -> tuple[str, int, int] | None:
    """(name, first microsecond, first microsecond of the next month) of the month holding
    ``event_time_us``, or None when it falls outside 2000–2099 (``events_default`` holds it)."""
    try:
        moment = datetime.fromtimestamp(event_time_us / 1_000_000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    low, high = _micros(start), _micros(end)
    # float rounding at a month's edge: trust the integer bounds
    if event_time_us < low:
        return partition_for(low - 1)
    if event_time_us >= high:
        return partition_for(high)
    return f"events_y{moment.year:04d}m{moment.month:02d}", low, high


def _partitions(event_times_us: Iterable[int]) -> dict[str, tuple[str, int, int]]:
    """The monthly partitions (name -> (name, low, high)) the times fall in; events are usually close in
    time, so the last month found is tried first."""
    found: dict[str, tuple[str, int, int]] = {}
    low = high = 0
    for value in event_times_us:
        if low <= value < high:
            continue
        month = partition_for(value)
        if month is None:
            continue
        found[month[0]] = month
        _, low, high = month
    return found


def months_of(event_times_us: Iterable[int]) -> list[str]:
    """The names of the monthly partitions ``event_times_us`` fall in, sorted, without repeats."""
    return sorted(_partitions(event_times_us))


def month_partition(year: int, month: int) -> tuple[str, int, int] | None:
    """(name, low, high) of the partition of a calendar month, None outside 2000–2099.

    >>> month_partition(2024, 12)
    ('events_y2024m12', 1733011200000000, 1735689600000000)
    """
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return None
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return f"events_y{year:04d}m{month:02d}", _micros(start), _micros(end)


def likely_months(event_times: Iterable[object]) -> set[tuple[int, int]]:
    """The calendar months (year, month) that events with these ``eventTime`` texts may fall in, read
    from the text alone (no parsing): the month written, and the neighbouring month when the day is
    near a month's edge (the time-zone offset may move the event across it in UTC). A superset, cheap
    enough to run before a capture; texts that do not start ``YYYY-MM-DD`` are skipped.

    >>> sorted(likely_months(["2024-03-01T00:30:00+01:00", "2024-03-15T10:00:00Z", None]))
    [(2024, 2), (2024, 3)]
    """
    found: set[tuple[int, int]] = set()
    seen: set[str] = set()
    for written in event_times:
        if type(written) is not str:
            continue
        head = written[:10]
        if head in seen:
            continue
        seen.add(head)
        try:
            year, month, day = int(head[0:4]), int(head[5:7]), int(head[8:10])
        except ValueError:
            continue
        if not 1 <= month <= 12:
            continue
        found.add((year, month))
        if day <= 1:
            found.add((year - 1, 12) if month == 1 else (year, month - 1))
        elif day >= 28:
            found.add((year + 1, 1) if month == 12 else (year, month + 1))
    return found


class PartitionManager:
    """Creates the monthly partitions captures need, remembering those that exist."""

    __slots__ = ("_engine", "_known")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[str] = set()

    def ensure(self, event_times_us: Iterable[int]) -> list[str]:
        """Create the missing partitions for these event times in a transaction of their own."""
        return self._create(_partitions(event_times_us))

    def ensure_months(self, months: Iterable[tuple[int, int]]) -> list[str]:
        """Create the missing partitions of these (year, month)s in a transaction of their own."""
        wanted = {}
        for year, month in months:
            found = month_partition(year, month)
            if found is not None:
                wanted[found[0]] = found
        return self._create(wanted)

    def missing(self, event_times_us: Iterable[int]) -> list[tuple[str, int, int]]:
        """The partitions these event times need that are not known to exist."""
        return sorted(month for name, month in _partitions(event_times_us).items() if name not in self._known)

    def create_in(self, connection: Connection, months: Iterable[tuple[str, int, int]]) -> list[str]:
        """Create partitions inside the caller's open transaction (this locks ``events`` until it ends:
        the capture's fallback for a month the pre-pass did not foresee). Call :meth:`remember` with
        the names after the commit."""
        created = []
        for name, low, high in months:
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events FOR VALUES FROM ({low}) TO ({high})"
            )
            created.append(name)
        return created

    def remember(self, names: Iterable[str]) -> None:
        """Note partitions as existing (after the transaction that made them committed)."""
        self._known.update(names)

    def _create(self, wanted: dict[str, tuple[str, int, int]]) -> list[str]:
        wanted = {name: month for name, month in wanted.items() if name not in self._known}
        if not wanted:
            return []
        created: list[str] = []
        with self._engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            existing = {
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                        " WHERE i.inhparent = 'events'::regclass"
                    )
                )
            }
            for name, low, high in sorted(wanted.values()):
                if name not in existing:
                    connection.exec_driver_sql(
                        f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({low}) TO ({high})"
                    )
                    created.append(name)
        self._known.update(wanted)
        return created

    def forget(self) -> None:
        """Forget what is known to exist (after partitions were dropped by hand)."""
        self._known.clear()
