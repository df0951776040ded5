"""The projection's SQL: set-based reads and writes on one connection, inside its transaction.

Every statement takes a whole batch of identifiers at once (PostgreSQL: an array parameter,
``= ANY(%s)``; SQLite: a JSON array, ``IN (SELECT value FROM json_each(?))``), so the projection's cost
per capture chunk is a handful of statements, not a round trip per event. Statements run on the DBAPI
connection under the SQLAlchemy one, like :class:`packtrail.store.bulk.BulkWriter`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final

import orjson
from sqlalchemy.engine import Connection

from packtrail.lifecycle import leaves, tables
from packtrail.lifecycle.facts import EventFacts, facts_of
from packtrail.lifecycle.replay import Deferred, ExceptionRow, Item
from packtrail.store import schema
from packtrail.store.bulk import BulkWriter

__all__ = ["Db"]

_COLUMNS: Final = ", ".join(tables.ITEM_COLUMNS)
_first: Final = itemgetter(0)
_MAX_DEPTH: Final = 64
_INDEXED: Final = frozenset({"gtin", "lot", "expiry", "parent"})
"""Columns SQLite rewrites only when they change: the indexed ones (and expiry, set with the lot)."""
_SQLITE_PLAIN_SET: Final = "UPDATE lifecycle_items SET " + ", ".join(
    f"{name} = ?" for name in tables.ITEM_COLUMNS[1:] if name not in _INDEXED
)
_SQLITE_FULL_SET: Final = "UPDATE lifecycle_items SET " + ", ".join(
    f"{name} = ?" for name in tables.ITEM_COLUMNS[1:]
)
_PG_UPDATE: Final = (
    "UPDATE lifecycle_items AS t SET "
    + ", ".join(f"{name} = u.{name}" for name in tables.ITEM_COLUMNS[1:])
    + " FROM lifecycle_changes AS u WHERE t.epc = u.epc"
)
"""PostgreSQL: rewrite the items copied into ``lifecycle_changes`` (one index probe each)."""
_LEAVES_OF: Final = " parent = ? AND NOT container"
"""The stored leaves of one container: its children that hold nothing."""
_SQLITE_ROWS: Final = f"SELECT {_COLUMNS}, rowid FROM lifecycle_items WHERE"
"""SQLite reads each item's ``rowid`` with it: a rewrite then finds the row directly, without a probe
of the ``epc`` key's index first."""


class Db:
    """The lifecycle tables (and the event log) as seen from one connection in a transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.writer = BulkWriter(connection)
        self.postgres = self.writer.postgres
        self.driver: Any = self.writer.driver
        self.any = "= ANY(%s)" if self.postgres else "IN (SELECT value FROM json_each(?))"
        """The membership test of one list parameter (:meth:`values`)."""
        self.changes_ready = False
        """PostgreSQL: the session's temporary ``lifecycle_changes`` exists (:meth:`key_lookups`)."""
        self.rowids: dict[str, int] = {}
        """SQLite: the ``rowid`` of each item read in this transaction (see :meth:`update_items`)."""
        self._select = f"SELECT {_COLUMNS} FROM lifecycle_items WHERE" if self.postgres else _SQLITE_ROWS

    def _items_where(self, where: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Item rows (``ITEM_COLUMNS``) matching ``where``; on SQLite their rowids are noted."""
        found = self.fetch(f"{self._select} {where}", params)
        if self.postgres:
            return found
        rowids = self.rowids
        rows = []
        for row in found:
            rowids[row[0]] = row[-1]
            rows.append(row[:-1])
        return rows

    def values(self, items: Iterable[Any]) -> Any:
        """A list as one parameter for :attr:`any`."""
        listed = list(items)
        return listed if self.postgres else orjson.dumps(listed).decode()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement written with ``?`` placeholders (``%s`` on PostgreSQL)."""
        if self.postgres:
            sql = sql.replace("?", "%s")
        return self.writer.execute(sql, params)

    # -- items ----------------------------------------------------------------------------------------

    def items(self, epcs: Collection[str], rows: dict[str, tuple[Any, ...]] | None = None) -> dict[str, Item]:
        """The stored items of these identifiers (and, into ``rows``, their rows as read)."""
        if not epcs:
            return {}
        found = self._items_where(f"epc {self.any}", (self.values(epcs),))
        if rows is not None:
            rows.update((row[0], row) for row in found)
        return {row[0]: Item.from_row(row) for row in found}

    def item(self, epc: str) -> Item | None:
        """The stored item of one identifier."""
        rows = self.fetch(f"SELECT {_COLUMNS} FROM lifecycle_items WHERE epc = ?", (epc,))
        return Item.from_row(rows[0]) if rows else None

    def contents(self, epc: str) -> list[str]:
        """What ``epc`` holds now (its direct children), sorted."""
        return sorted(
            row[0] for row in self.fetch("SELECT epc FROM lifecycle_items WHERE parent = ?", (epc,))
        )

    def with_containers(
        self,
        items: dict[str, Item],
        known: Collection[str] = (),
        read: dict[str, tuple[Any, ...]] | None = None,
    ) -> dict[str, Item]:
        """``items`` and, added to it, every stored container inside them (recursively, through the
        index ``ix_lifecycle_items_containers``), except those ``known`` already (their stored rows
        are stale); the rows as read go into ``read``. The packs stay in the database
        (:meth:`leaves_of`, :meth:`apply_to_leaves`)."""
        frontier = [epc for epc, item in items.items() if item.container]
        depth = 0
        while frontier and depth < _MAX_DEPTH:
            depth += 1
            rows = self._items_where(f"parent {self.any} AND container", (self.values(frontier),))
            frontier = []
            for row in rows:
                if row[0] not in items and row[0] not in known:
                    item = items[row[0]] = Item.from_row(row)
                    if read is not None:
                        read[row[0]] = row
                    if item.container:
                        frontier.append(item.epc)
        return items

    def leaves_of(
        self, container: str, known: Collection[str], read: dict[str, tuple[Any, ...]]
    ) -> dict[str, Item]:
        """The stored leaves of ``container`` (its children that hold nothing) but those ``known``
        already; their rows as read go into ``read``."""
        found: dict[str, Item] = {}
        for row in self._items_where("parent = ? AND NOT container", (container,)):
            if row[0] not in known:
                found[row[0]] = Item.from_row(row)
                read[row[0]] = row
        return found

    def apply_to_leaves(
        self, deferred: Mapping[str, Sequence[Deferred]], exclude: Mapping[str, Collection[str]]
    ) -> None:
        """Apply the events noted for containers to their stored leaves, in SQL
        (:mod:`packtrail.lifecycle.leaves`): one statement per :func:`~packtrail.lifecycle.leaves.segments`
        of a container's events (the n-th segments of every container together), each shipping's
        exceptions before it, statements of one shape in one ``executemany``. The leaves in ``exclude``
        (in memory) get no exceptions here, and their rows must be rewritten afterwards (their update
        here is cheaper than leaving them out of it)."""
        any_other = (
            " AND epc <> ALL(?)" if self.postgres else " AND epc NOT IN (SELECT value FROM json_each(?))"
        )
        cut = {container: leaves.segments(noted) for container, noted in deferred.items()}
        rounds = max((len(parts) for parts in cut.values()), default=0)
        with self.writer.lock:  # the capture's writer thread may share the connection
            cursor = self.driver.cursor()
            try:
                for at in range(rounds):
                    flagged: dict[str, list[tuple[Any, ...]]] = {}
                    updates: dict[str, list[tuple[Any, ...]]] = {}
                    for container, parts in cut.items():
                        if at >= len(parts):
                            continue
                        for facts, _ in parts[at]:
                            if facts.biz_step == "shipping":
                                keys: tuple[Any, ...] = (container,)
                                where = _LEAVES_OF
                                others = exclude.get(container)
                                if others:
                                    where, keys = where + any_other, (container, self.values(others))
                                sql = (
                                    leaves.SHIPPED_DECOMMISSIONED + " AND" + where + " ON CONFLICT DO NOTHING"
                                )
                                flagged.setdefault(sql, []).append((facts.pk, *keys))
                        sql, params = leaves.update_of(parts[at])
                        # the leaves in memory get it too: their rows are rewritten afterwards (``always``)
                        updates.setdefault(sql, []).append((*params, container))
                    for sql, rows in flagged.items():
                        cursor.executemany(sql.replace("?", "%s") if self.postgres else sql, rows)
                    for sql, rows in updates.items():
                        if self.postgres:
                            self._update_joined(cursor, sql, rows)
                        else:
                            cursor.executemany(sql + " WHERE" + _LEAVES_OF, rows)
            finally:
                cursor.close()

    def _update_joined(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: ``sql`` (an ``UPDATE lifecycle_items SET …`` with ``?`` placeholders) for the
        leaves of many containers in one statement: each parameter becomes a column of an ``unnest`` of
        arrays (one per parameter, the container last), joined to the leaves by ``parent`` — one
        statement instead of one per container (each planned and sent on its own)."""
        width = len(rows[0])
        columns = [f"c{i}" for i in range(width - 1)]
        names = iter(columns)
        sets = re.sub(r"\?", lambda _: f"u.{next(names)}", sql)
        kinds = [
            "bigint" if any(isinstance(row[i], int) for row in rows) else "text" for i in range(width - 1)
        ]
        arrays = ", ".join(f"%s::{kind}[]" for kind in kinds)
        statement = (
            f"{sets} FROM unnest({arrays}, %s::text[]) AS u({', '.join(columns)}, k)"
            " WHERE lifecycle_items.parent = u.k AND NOT lifecycle_items.container"
        )
        cursor.execute(statement, [list(column) for column in zip(*rows, strict=True)])

    def insert_items(self, items: Iterable[Item]) -> None:
        """Insert new items (COPY on PostgreSQL), in the order of their key: each goes into the ``epc``
        index next to the one before, not at a random place (SQLite, 124,507 items of the pharma
        capture: 0.63 s against 0.82 in the order the projection touched them)."""
        rows = sorted((item.row() for item in items), key=_first)
        self.writer.insert(tables.lifecycle_items, tables.ITEM_COLUMNS, rows)

    def update_items(
        self, changes: Iterable[tuple[tuple[Any, ...], tuple[Any, ...]]], always: Collection[str] = ()
    ) -> None:
        """Rewrite stored items: ``(row as read, row now)`` pairs; unchanged rows are skipped (but those
        of the identifiers in ``always``: their stored rows changed since they were read). SQLite
        leaves the indexed columns out of the rows where they did not change (an index is touched only
        when its columns change); PostgreSQL copies the rows (binary COPY) into the session's temporary
        :data:`~packtrail.lifecycle.tables.lifecycle_changes` and runs one ``UPDATE … FROM`` it (heap-only
        updates when no indexed column changes)."""
        if self.postgres:
            rows = [now for before, now in changes if now != before or now[0] in always]
            if not rows:
                return
            if not self.changes_ready:
                self.writer.execute(tables.CREATE_CHANGES)
            self.writer.insert(tables.lifecycle_changes, tables.ITEM_COLUMNS, rows)
            # one index probe per row (:meth:`key_lookups`: no hash join reading all of the table)
            self.writer.execute(_PG_UPDATE + "; DELETE FROM lifecycle_changes")
            return
        rowids = self.rowids
        batches: dict[str, list[tuple[Any, ...]]] = {}
        for before, now in changes:
            if now == before and now[0] not in always:
                continue
            rowid = rowids.get(now[0])
            key, where = (now[0], " WHERE epc = ?") if rowid is None else (rowid, " WHERE rowid = ?")
            if now[1:4] == before[1:4] and now[12] == before[12]:  # gtin, lot, expiry, parent kept
                batches.setdefault(_SQLITE_PLAIN_SET + where, []).append((*now[4:12], *now[13:], key))
            else:
                batches.setdefault(_SQLITE_FULL_SET + where, []).append((*now[1:], key))
        with self.writer.lock:  # the capture's writer thread may share the connection
            cursor = self.driver.cursor()
            try:
                for sql, params in batches.items():
                    cursor.executemany(sql, params)
            finally:
                cursor.close()

    def bump_items(self, bumps: dict[str, tuple[int, int]]) -> None:
        """Move the last event of stored items forward to ``(eventTime, event_pk)`` (where it is earlier)."""
        if not bumps:
            return
        rows = [(time_us, pk, epc, time_us, pk) for epc, (time_us, pk) in bumps.items()]
        sql = "UPDATE lifecycle_items SET last_time_us = ?, last_pk = ? WHERE epc = ? AND (last_time_us, last_pk) < (?, ?)"
        if self.postgres:
            sql = sql.replace("?", "%s")
        with self.writer.lock:  # the capture's writer thread may share the connection
            cursor = self.driver.cursor()
            try:
                cursor.executemany(sql, rows)
            finally:
                cursor.close()

    def delete_items(self, epcs: Collection[str]) -> None:
        """Delete these identifiers' items and exceptions."""
        if epcs:
            for epc in epcs:
                self.rowids.pop(epc, None)
            self.fetch(f"DELETE FROM lifecycle_items WHERE epc {self.any}", (self.values(epcs),))
            self.fetch(f"DELETE FROM lifecycle_exceptions WHERE epc {self.any}", (self.values(epcs),))

    def insert_exceptions(self, rows: Sequence[ExceptionRow]) -> None:
        """Insert exception rows (each ``(epc, event_pk, reason)`` once)."""
        self.writer.insert(tables.lifecycle_exceptions, tables.EXCEPTION_COLUMNS, list(dict.fromkeys(rows)))

    def exceptions_of(self, epc: str) -> list[tuple[int, str, int | None, str, int, str | None]]:
        """The exceptions of ``epc`` in eventTime order: ``(event_pk, reason, conflicting_pk, eventID,
        eventTime in µs, conflicting eventID)``."""
        found = self.fetch(
            "SELECT event_pk, reason, conflicting_pk FROM lifecycle_exceptions WHERE epc = ?", (epc,)
        )
        if not found:  # most identifiers: no join with the (partitioned) events at all
            return []
        pks = {row[0] for row in found} | {row[2] for row in found if row[2] is not None}
        named = {
            int(pk): (event_id, int(time_us))
            for pk, event_id, time_us in self.fetch(
                f"SELECT event_pk, event_id, event_time_us FROM events WHERE event_pk {self.any}",
                (self.values(sorted(pks)),),
            )
        }
        rows = [
            (int(pk), reason, other, *named[pk], named[other][0] if other in named else None)
            for pk, reason, other in found
            if pk in named
        ]
        rows.sort(key=lambda row: (row[4], row[0]))
        return rows

    def key_lookups(self) -> int:
        """PostgreSQL: plan the rest of this transaction's statements as the key look-ups they are (index
        scans, nested loops, no JIT), and have the temporary ``lifecycle_changes`` ready. Every statement
        of the projection names its rows by key (``epc = ANY(…)``, ``parent = ANY(…)``, a join on the
        key), but a table whose statistics are missing or stale (a store that grew since its last
        ``ANALYZE``) can be planned as a parallel scan of the whole table, and a join of a few hundred
        rows as a hash join reading all of it. Returns :meth:`projected_through`: one round trip in
        all (a flush's fixed cost is paid by every capture, the smallest too)."""
        if not self.postgres:
            return self.projected_through()
        with self.writer.lock:  # the capture's writer thread may share the connection
            cursor = self.driver.cursor()
            try:
                cursor.execute(
                    f"SELECT value FROM lifecycle_meta WHERE name = '{tables.PROJECTED_THROUGH}';"
                    " SET LOCAL enable_seqscan = off; SET LOCAL jit = off;"
                    " SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
                    + tables.CREATE_CHANGES
                )
                rows = cursor.fetchall()
            finally:
                cursor.close()
        self.changes_ready = True
        return int(rows[0][0]) if rows else 0

    def generic_plans(self) -> None:
        """PostgreSQL: plan this transaction's repeated statements once per connection (a custom plan
        of a statement over the partitioned ``events`` costs more than running it)."""
        if self.postgres:
            self.fetch("SET LOCAL plan_cache_mode = force_generic_plan")

    def clear(self) -> None:
        """Empty the projection (before a rebuild)."""
        self.fetch("DELETE FROM lifecycle_exceptions")
        self.fetch("DELETE FROM lifecycle_items")

    # -- the watermark --------------------------------------------------------------------------------

    def projected_through(self) -> int:
        """The last event_pk the projection applied."""
        rows = self.fetch("SELECT value FROM lifecycle_meta WHERE name = ?", (tables.PROJECTED_THROUGH,))
        return int(rows[0][0]) if rows else 0

    def set_projected_through(self, pk: int) -> None:
        """Record that every event up to ``pk`` is applied."""
        self.fetch("UPDATE lifecycle_meta SET value = ? WHERE name = ?", (pk, tables.PROJECTED_THROUGH))

    def behind(self) -> bool:
        """True when events were captured that the projection has not applied (one statement)."""
        rows = self.fetch(
            "SELECT (SELECT value FROM lifecycle_meta WHERE name = ?), (SELECT value FROM store_counters WHERE name = ?)",
            (tables.PROJECTED_THROUGH, schema.EVENT_PK_COUNTER),
        )
        through, last = rows[0]
        return int(through or 0) < int(last or 0)

    def last_event_pk(self) -> int:
        """The last event_pk committed to the log."""
        rows = self.fetch("SELECT value FROM store_counters WHERE name = ?", (schema.EVENT_PK_COUNTER,))
        return int(rows[0][0]) if rows else 0

    # -- the event log --------------------------------------------------------------------------------

    def linked(self, epcs: Collection[str]) -> set[str]:
        """Every identifier that shares an AggregationEvent (or another parentID/childEPCs event) with
        one of ``epcs``, as parent, child or sibling."""
        rows = self.fetch(
            "SELECT DISTINCT b.epc FROM event_epcs a JOIN event_epcs b ON b.event_pk = a.event_pk"
            f" WHERE a.epc {self.any} AND a.role IN (2, 3) AND b.role IN (2, 3)",
            (self.values(epcs),),
        )
        return {row[0] for row in rows}

    def ancestors(self, epc: str) -> set[str]:
        """``epc`` and every container it was ever put into, and theirs. PostgreSQL: one recursive
        statement; SQLite: one statement per level (its planner scans a whole table for each step of
        the recursive form, and a statement costs no round trip there)."""
        if self.postgres:
            rows = self.fetch(
                'WITH RECURSIVE up(epc) AS (SELECT CAST(? AS TEXT) COLLATE "C" UNION SELECT p.epc FROM up'
                " JOIN event_epcs c ON c.epc = up.epc AND c.role = 2"
                " JOIN event_epcs p ON p.event_pk = c.event_pk AND p.role = 3) SELECT epc FROM up",
                (epc,),
            )
            return {row[0] for row in rows}
        found = {epc}
        frontier = [epc]
        for _ in range(_MAX_DEPTH):
            rows = self.fetch(
                "SELECT DISTINCT p.epc FROM event_epcs c JOIN event_epcs p ON p.event_pk = c.event_pk"
                f" AND p.role = 3 WHERE c.epc {self.any} AND c.role = 2",
                (self.values(frontier),),
            )
            frontier = [row[0] for row in rows if row[0] not in found]
            if not frontier:
                break
            found.update(frontier)
        return found

    def events_naming(self, epcs: Collection[str]) -> list[tuple[EventFacts, dict[str, Any]]]:
        """The facts and stored documents of every event naming one of ``epcs``, in ``(eventTime,
        event_pk)`` order (one statement)."""
        rows = self.fetch(
            "SELECT event_pk, event_id, captured_by, document FROM events WHERE event_pk IN"
            f" (SELECT event_pk FROM event_epcs WHERE epc {self.any})",
            (self.values(epcs),),
        )
        return _read_events(rows)

    def event_pks(self, epcs: Collection[str]) -> list[int]:
        """The events naming any of ``epcs``, in event_pk order."""
        if not epcs:
            return []
        rows = self.fetch(
            f"SELECT DISTINCT event_pk FROM event_epcs WHERE epc {self.any} ORDER BY event_pk",
            (self.values(epcs),),
        )
        return [int(row[0]) for row in rows]

    def events(self, pks: Collection[int]) -> list[tuple[EventFacts, dict[str, Any]]]:
        """The facts and stored documents of these events, in ``(eventTime, event_pk)`` order."""
        if not pks:
            return []
        rows = self.fetch(
            f"SELECT event_pk, event_id, captured_by, document FROM events WHERE event_pk {self.any}",
            (self.values(pks),),
        )
        return _read_events(rows)

    def pks_after(self, after: int, through: int, limit: int) -> list[int]:
        """Up to ``limit`` event_pks in ``(after, through]``, ascending."""
        rows = self.fetch(
            "SELECT event_pk FROM events WHERE event_pk > ? AND event_pk <= ? ORDER BY event_pk LIMIT ?",
            (after, through, limit),
        )
        return [int(row[0]) for row in rows]

    def pks_by_time(self, after: tuple[int, int] | None, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` ``(event_time_us, event_pk)`` after ``after``, in that order."""
        if after is None:
            sql = "SELECT event_time_us, event_pk FROM events ORDER BY event_time_us, event_pk LIMIT ?"
            rows = self.fetch(sql, (limit,))
        else:
            sql = (
                "SELECT event_time_us, event_pk FROM events WHERE (event_time_us, event_pk) > (?, ?)"
                " ORDER BY event_time_us, event_pk LIMIT ?"
            )
            rows = self.fetch(sql, (after[0], after[1], limit))
        return [(int(t), int(pk)) for t, pk in rows]


def _read_events(rows: list[tuple[Any, ...]]) -> list[tuple[EventFacts, dict[str, Any]]]:
    """``(event_pk, event_id, captured_by, document)`` rows -> (facts, document), in eventTime order."""
    from packtrail.store.index_rows import event_rows

    found = []
    for pk, event_id, captured_by, document in rows:
        event = orjson.loads(document)
        found.append((facts_of(int(pk), event_rows(event, {}), event_id, captured_by), event))
    found.sort(key=lambda pair: (pair[0].time_us, pair[0].pk))
    return found
