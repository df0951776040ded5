"""Planner statistics the store gathers itself, in a thread of its own, as it grows.

Both planners choose their plans from statistics about the tables (row counts, value distributions),
and neither gathers them for the store on its own: SQLite never does (``ANALYZE`` or ``PRAGMA
optimize`` must be run), and PostgreSQL's autovacuum analyzes the monthly partitions of ``events`` but
never the partitioned parent itself, and may be switched off. A store without them can pick a plan that
reads a whole table for a query an index answers in a millisecond.

So :class:`StatisticsKeeper` counts the events this process captures and, once they reach
:data:`GROWTH` of what the store held when statistics were last gathered (and at least
:data:`MIN_EVENTS`), gathers them again in the background: SQLite ``PRAGMA analysis_limit`` then
``ANALYZE`` (a sample of each index, milliseconds even for a large store), PostgreSQL ``ANALYZE`` of
every table in the store's schema, the partitioned parent included. When the store is opened it also
checks whether a store of :data:`MIN_EVENTS` or more has statistics at all (one loaded by another
process, or before this existed) and gathers them when it has none. A failure is ignored: the next
capture asks again.

>>> keeper = StatisticsKeeper(None)  # no engine: counting only (the arithmetic of the trigger)
>>> keeper.base = 1_000_000  # events when they were last gathered: due after 20% more
>>> keeper.due(100_000), keeper.due(150_000)
(False, True)
"""

from __future__ import annotations

import contextlib
import threading
from typing import Final

from sqlalchemy.engine import Engine

from packtrail.store import schema

__all__ = ["GROWTH", "MIN_EVENTS", "StatisticsKeeper", "gather_statistics", "has_statistics"]

MIN_EVENTS: Final = 50_000
"""Events captured before the statistics are gathered again, at the least."""
GROWTH: Final = 0.2
"""Share of the store's events (as of the last gathering) captured before they are gathered again."""
ANALYSIS_LIMIT: Final = 1000
"""SQLite: rows sampled per index by ``ANALYZE`` (``PRAGMA analysis_limit``)."""


def has_statistics(engine: Engine) -> bool:
    """True when the planner has statistics for ``events`` (SQLite: ``sqlite_stat1`` rows; PostgreSQL:
    the parent table's ``reltuples`` is known)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            exists = connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
            ).first()
            if exists is None:
                return False
            row = connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'events' LIMIT 1"
            ).first()
            return row is not None
        row = connection.exec_driver_sql(
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'events' AND n.nspname = current_schema()"
        ).first()
        return row is not None and row[0] is not None and float(row[0]) >= 0


def gather_statistics(engine: Engine) -> None:
    """Gather the planner's statistics for every table of the store (see the module docstring)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
            return
        tables = [
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            )
        ]
        connection.commit()
        if tables:
            quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in sorted(tables))
            connection.exec_driver_sql(f"ANALYZE {quoted}")
            connection.commit()


def _last_event_pk(engine: Engine) -> int:
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            f"SELECT value FROM {schema.store_counters.name} WHERE name = '{schema.EVENT_PK_COUNTER}'"
        ).first()
        return int(row[0]) if row is not None and row[0] is not None else 0


class StatisticsKeeper:
    """Counts captured events and gathers statistics in a background thread when they are due."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine
        self.base: int | None = None
        """Events in the store when statistics were last gathered (None: not looked at yet)."""
        self._since = 0
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def due(self, events: int) -> bool:
        """Count ``events`` more captured; True when the statistics should be gathered now."""
        with self._lock:
            self._since += events
            return self._since >= max(MIN_EVENTS, int((self.base or 0) * GROWTH))

    def start(self) -> None:
        """Look, in the background, whether a large store has statistics at all (gather them if not)."""
        if self._engine is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="packtrail-statistics", daemon=True)
            self._thread.start()
            self._wanted.set()

    def captured(self, events: int) -> None:
        """A capture stored ``events`` events: gather the statistics in the background when due."""
        if events <= 0 or self._engine is None or self._stopping or not self.due(events):
            return
        self.start()
        self._wanted.set()

    def _run(self) -> None:
        engine = self._engine
        assert engine is not None
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            with contextlib.suppress(Exception):  # the next capture asks again
                first_look = self.base is None
                events = _last_event_pk(engine)
                gather = not first_look or (events >= MIN_EVENTS and not has_statistics(engine))
                if gather:
                    gather_statistics(engine)
                with self._lock:
                    self.base = events
                    if gather:  # a first look that gathered nothing keeps what captures counted meanwhile
                        self._since = 0

    def close(self) -> None:
        """Stop the thread (a gathering under way finishes first)."""
        self._stopping = True
        if self._thread is not None:
            self._wanted.set()
            self._thread.join()
            self._thread = None
