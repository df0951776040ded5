"""Fast bulk writes for capture, below SQLAlchemy: on the driver connection, inside its transaction.

SQLite gets ``executemany`` with plain tuples; PostgreSQL gets binary ``COPY … FROM STDIN`` rows through
psycopg (no text to format on this side or to parse on the server's).
Both run on the DBAPI connection of a SQLAlchemy :class:`~sqlalchemy.engine.Connection` whose transaction
is open, so the rows commit or roll back with everything else of the capture.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import orjson
from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, LargeBinary, SmallInteger, Table, Text
from sqlalchemy.engine import Connection

__all__ = ["BulkWriter"]

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


JSON_ROWS_MIN: Final = 256
"""SQLite: from this many rows on, a table of integer and text columns is filled by one ``INSERT …
SELECT … FROM json_each(?)`` over the rows as one JSON text (orjson) instead of ``executemany``.

``executemany`` binds each row in Python and releases the interpreter lock around each row's step; while
capture's other threads run Python, every row then waits to take the lock back (up to the 5 ms switch
interval): the inserts took twice their own time. One statement is one step with the lock released
throughout, and SQLite reads the JSON in C. Values come back as they went: integers as ``INTEGER``, text
as ``TEXT``, ``null`` as ``NULL``; tables with floats, booleans or blobs keep ``executemany`` (JSON has no
NaN, and no bytes), and so do rows JSON cannot carry (an integer beyond 64 bits) or SQLite's JSON
functions cannot give back (text holding a NUL character, cut there)."""

JSON_ARROWS: Final = sqlite3.sqlite_version_info >= (3, 38, 0)
"""The SQLite library has ``->>`` (3.38, where JSON became part of the core); older ones get
``executemany``."""

_JSON_SAFE: dict[tuple[str, tuple[str, ...]], bool] = {}


def _json_safe(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether every column is an integer or text column (see :data:`JSON_ROWS_MIN`)."""
    key = (table.name, columns)
    found = _JSON_SAFE.get(key)
    if found is None:
        kinds = [table.c[name].type for name in columns]
        found = _JSON_SAFE[key] = all(
            isinstance(kind, (Integer, Text)) and not isinstance(kind, Boolean) for kind in kinds
        )
    return found


class BulkWriter:
    """Bulk inserts and key look-ups on one connection inside its open transaction."""

    __slots__ = ("_sql", "driver", "postgres")

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        """True on PostgreSQL (COPY), False on SQLite (executemany)."""
        self.driver: Any = connection.connection.driver_connection
        """The psycopg or sqlite3 connection under the SQLAlchemy one."""
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}

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
                sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
            self._sql[key] = sql
        if self.postgres:
            types = _pg_types(table, columns)
            with self.driver.cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
            return
        if len(rows) >= JSON_ROWS_MIN and JSON_ARROWS and _json_safe(table, columns):
            try:
                payload = orjson.dumps(rows)
            except (orjson.JSONEncodeError, TypeError):
                payload = None  # a value JSON cannot carry exactly: row by row below
            if payload is not None and b"\\u0000" not in payload:  # SQLite's JSON text ends at a NUL
                self.execute(self._json_insert(table, columns), (payload,))
                return
        cursor = self.driver.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _json_insert(self, table: Table, columns: tuple[str, ...]) -> str:
        """``INSERT … SELECT`` from one JSON array of rows (SQLite's ``json_each``)."""
        key = (table.name, ("json", *columns))
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(columns)
            values = ", ".join(f"value ->> {i}" for i in range(len(columns)))
            sql = f"INSERT INTO {table.name} ({names}) SELECT {values} FROM json_each(?)"
            self._sql[key] = sql
        return sql

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
        cursor = self.driver.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []
        finally:
            cursor.close()
