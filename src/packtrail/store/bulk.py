"""Fast bulk writes for capture, below SQLAlchemy: on the driver connection, inside its transaction.

SQLite gets multi-row ``INSERT … VALUES (…), (…), …`` statements, as many rows each as its parameter limit
allows (:func:`values_batches`); PostgreSQL gets binary ``COPY … FROM STDIN`` rows through psycopg (no text
to format on this side or to parse on the server's). Both run on the DBAPI connection of a SQLAlchemy
:class:`~sqlalchemy.engine.Connection` whose transaction is open, so the rows commit or roll back with
everything else of the capture.

Why not ``executemany`` on SQLite: it steps the statement once per row, and Python's ``sqlite3`` lets go of
the interpreter lock for each step and must take it back after it. While another thread of the process
runs Python (capture's feeding thread checking chunks or applying the lifecycle projection), taking it
back waits for that thread's switch interval (5 ms), every row: 8,192 EPC rows took 8 s instead of
0.016 s beside a busy thread. One statement of thousands of rows is bound while the lock is held and then
runs as one step without it: 0.04 s beside the busy thread, and faster alone too (340,948 EPC rows 0.69–0.72 s
against 0.87–0.95; 100,000 events 0.93–0.94 against 1.03–1.18).

Two threads may use one connection in a large capture (the writer inserts chunks while the calling
thread applies the lifecycle projection to those already written): every statement of a
:class:`BulkWriter` runs holding the connection's :func:`statement_lock`, which every writer on that
connection shares, so statements never interleave (SQLite would otherwise let one thread's changes into
the other's ``rowcount``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any, Final

import orjson
from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, LargeBinary, SmallInteger, Table, Text
from sqlalchemy.engine import Connection

__all__ = ["BulkWriter", "statement_lock", "values_batches"]

_LOCK_KEY: Final = "packtrail.statement_lock"
_LOCKS_LOCK: Final = threading.Lock()


def statement_lock(connection: Connection) -> threading.RLock:
    """The lock every driver-level statement on ``connection``'s DBAPI connection runs under (one per
    DBAPI connection, kept in its ``info``; re-entrant)."""
    info = connection.info
    found = info.get(_LOCK_KEY)
    if found is None:
        with _LOCKS_LOCK:
            found = info.get(_LOCK_KEY)
            if found is None:
                found = info[_LOCK_KEY] = threading.RLock()
    return found


_PG_TYPES: Final = (
    (BigInteger, "int8"),  # before Integer: BigInteger is an Integer
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Float, "float8"),
    (Boolean, "bool"),
    (LargeBinary, "bytea"),
    (Text, "text"),
)


def _pg_type(column: Column[Any]) -> str:
    """The PostgreSQL type name of a column, for binary COPY."""
    kind = column.type
    for python, name in _PG_TYPES:
        if isinstance(kind, python):
            return name
    raise TypeError(f"column {column.table.name}.{column.name}: no binary COPY type for {kind!r}")


_TYPE_CACHE: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _pg_types(table: Table, columns: tuple[str, ...]) -> list[str]:
    key = (table.name, columns)
    found = _TYPE_CACHE.get(key)
    if found is None:
        found = _TYPE_CACHE[key] = [_pg_type(table.c[name]) for name in columns]
    return found


MAX_VARIABLES: Final = 32766
"""SQLite: the most parameters one statement takes here (SQLite's default limit since 3.32; a library built
with a lower ``SQLITE_MAX_VARIABLE_NUMBER`` is asked, :meth:`sqlite3.Connection.getlimit`)."""


def values_batches(count: int, per: int) -> Iterator[tuple[int, int]]:
    """``(start, size)`` of the statements that insert ``count`` rows, at most ``per`` a statement: full
    statements, then the rest as powers of two (so a capture's statements come in a few sizes, each
    prepared once and then taken from the connection's statement cache).

    >>> list(values_batches(21, 8))
    [(0, 8), (8, 8), (16, 4), (20, 1)]
    """
    at = 0
    while at < count:
        left = count - at
        size = per if left >= per else 1 << (left.bit_length() - 1)
        yield at, size
        at += size


MAX_CLAIMS: Final = 48
"""PostgreSQL: the most chunks of one capture whose keys :meth:`BulkWriter.claim` inserts in a savepoint
(a subtransaction each; 48 chunks of 4,096 events: documents up to ~196,000 events)."""
_KEYS_COPY: Final = "COPY event_keys (event_hash, event_id, event_pk) FROM STDIN (FORMAT BINARY)"
_KEY_TYPES: Final = ["text", "text", "int8"]


class BulkWriter:
    """Bulk inserts and key look-ups on one connection inside its open transaction."""

    __slots__ = ("_sql", "_values", "claims", "driver", "lock", "max_variables", "postgres")

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        """True on PostgreSQL (COPY), False on SQLite (multi-row VALUES)."""
        driver: Any = connection.connection.driver_connection
        self.driver = driver
        """The psycopg or sqlite3 connection under the SQLAlchemy one."""
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self.claims = 0
        """Savepoints :meth:`claim` took in this transaction (PostgreSQL)."""
        self.lock = statement_lock(connection)
        """Held while a statement runs (:func:`statement_lock`); hold it too for statements run on
        :attr:`driver` directly."""
        self._values: dict[tuple[str, int], str] = {}
        self.max_variables = MAX_VARIABLES
        """SQLite: parameters per statement at most."""
        if not self.postgres:
            limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self.max_variables = max(1, min(MAX_VARIABLES, int(limit)))

    def _insert_values(self, head: str, width: int, rows: Sequence[Sequence[Any]]) -> int:
        """SQLite: ``head`` (``INSERT … INTO t (columns)``) with multi-row ``VALUES`` for ``rows`` of
        ``width`` values each; returns the rows changed."""
        per = max(1, self.max_variables // width)
        one = "(" + ", ".join("?" * width) + ")"
        changed = 0
        cursor = self.driver.cursor()
        try:
            for at, size in values_batches(len(rows), per):
                sql = self._values.get((head, size))
                if sql is None:
                    sql = self._values[(head, size)] = f"{head} VALUES {', '.join([one] * size)}"
                cursor.execute(sql, list(chain.from_iterable(rows[at : at + size])))
                changed += cursor.rowcount
        finally:
            cursor.close()
        return changed

    def insert(self, table: Table, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (tuples in ``columns`` order) into ``table``."""
        if not rows:
            return
        key = (table.name, columns)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(columns)
            if self.postgres:
                sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
            else:
                sql = f"INSERT INTO {table.name} ({names})"
            self._sql[key] = sql
        with self.lock:
            if self.postgres:
                types = _pg_types(table, columns)
                with self.driver.cursor() as cursor, cursor.copy(sql) as copy:
                    copy.set_types(types)
                    write = copy.write_row
                    for row in rows:
                        write(row)
                return
            self._insert_values(sql, len(columns), rows)

    def claim(self, keys: Sequence[tuple[str, str, int]]) -> bool:
        """Insert ``keys`` ((event_hash, event_id, event_pk) rows) into ``event_keys``; True when every
        one of them went in, none having its hash or its eventID there already.

        This is the deduplication of a chunk whose events are all new (a capture's usual case) done by
        the inserts alone: the unique indexes on the hash and the eventID find a stored key while they
        take the new one, so no look-up runs before (on SQLite 0.55 s less per 100,000 events). When
        this answers False, :meth:`unclaim` takes out again what went in, and :meth:`known` tells which
        events to store.

        SQLite: ``INSERT OR IGNORE``, each key that is there already left out (the others stay in); the
        keys go in sorted by hash, so the inserts walk the primary key's B-tree in one direction instead
        of landing anywhere (the pharma capture's 100,000 keys written alone, chunks of 4,096: 0.56 s
        instead of 0.67).
        PostgreSQL: a ``COPY`` in a savepoint, rolled back at the first key that is there already
        (``INSERT … ON CONFLICT DO NOTHING``, a speculative insertion per row, took 1.95 s per 100,000
        keys). A transaction keeps at most :data:`MAX_CLAIMS` savepoints (PostgreSQL remembers 64
        subtransactions of a transaction in shared memory; past them every other session's snapshot
        checks pay for it); after them this answers False and inserts nothing.
        """
        if not keys:
            return True
        with self.lock:
            if self.postgres:
                return self._claim_by_copy(keys)
            inserted = self._insert_values(  # in hash order: the primary key's B-tree walked forward
                "INSERT OR IGNORE INTO event_keys (event_hash, event_id, event_pk)", 3, sorted(keys)
            )
        return inserted == len(keys)

    def _claim_by_copy(self, keys: Sequence[tuple[str, str, int]]) -> bool:
        import psycopg

        if self.claims >= MAX_CLAIMS:
            return False
        self.claims += 1
        with self.driver.cursor() as cursor:
            cursor.execute("SAVEPOINT packtrail_claim")
            try:
                with cursor.copy(_KEYS_COPY) as copy:
                    copy.set_types(_KEY_TYPES)
                    write = copy.write_row
                    for key in keys:
                        write(key)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT packtrail_claim")
                cursor.execute("RELEASE SAVEPOINT packtrail_claim")
                return False
            cursor.execute("RELEASE SAVEPOINT packtrail_claim")
        return True

    def unclaim(self, keys: Sequence[tuple[str, str, int]]) -> None:
        """Delete those of ``keys`` that :meth:`claim` stored when it answered False (on SQLite: their
        hash with their own event_pk; PostgreSQL rolled them back already)."""
        if self.postgres:
            return
        with self.lock:
            cursor = self.driver.cursor()
            try:
                cursor.executemany(
                    "DELETE FROM event_keys WHERE event_hash = ? AND event_pk = ?",
                    [(key_hash, pk) for key_hash, _, pk in keys],
                )
            finally:
                cursor.close()

    def known(self, keys: Sequence[tuple[str, str]]) -> set[int]:
        """The positions in ``keys`` ((event_hash, event_id) pairs) of those whose hash or eventID is
        already in ``event_keys``.

        The keys travel as one JSON text (far cheaper to send and read than an array parameter), and
        each is an index probe, whatever the planner's statistics say: the table grows inside the
        capture's transaction while the planner may still believe it empty, and would otherwise scan it
        whole for every chunk. (Correlated EXISTS joined by OR stay per-row probes on both backends.)
        """
        if not keys:
            return set()
        payload = orjson.dumps(keys).decode()
        if self.postgres:
            sql = (
                "SELECT v.n - 1 FROM json_array_elements(%s::json) WITH ORDINALITY AS v(p, n)"
                " WHERE EXISTS (SELECT 1 FROM event_keys k WHERE k.event_hash = v.p ->> 0)"
                " OR EXISTS (SELECT 1 FROM event_keys k WHERE k.event_id = v.p ->> 1)"
            )
        else:
            sql = (
                "SELECT j.key FROM json_each(?) AS j"
                " WHERE EXISTS (SELECT 1 FROM event_keys k WHERE k.event_hash = json_extract(j.value, '$[0]'))"
                " OR EXISTS (SELECT 1 FROM event_keys k WHERE k.event_id = json_extract(j.value, '$[1]'))"
            )
        return {int(row[0]) for row in self.execute(sql, (payload,))}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one driver-level statement (``?`` placeholders on SQLite, ``%s`` on PostgreSQL)."""
        with self.lock:
            cursor = self.driver.cursor()
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall()) if cursor.description is not None else []
            finally:
                cursor.close()
